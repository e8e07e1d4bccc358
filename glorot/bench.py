"""Benchmarks: is the data generator fast enough, is the training loop as lean as a minimal one,
and what do the probes cost? Prints figures; never judges them by failing.

    python -m glorot.bench [--quick] [--threads N]

(a) Shapeset images/s against the examples/s a 5x1000 tanh MLP consumes at batch 10 on the CPU
    (target: the generator ≥ 20x faster, and ≥ 50,000 images/s);
(b) updates/s of :func:`glorot.train.train` against a minimal hand-written SGD loop, same model,
    same pre-generated batches, repetitions interleaved, medians (target ratio ≥ 0.95);
(c) the cost of one probe (300 examples, as in Fig. 2) and the probes' share of training time at
    the default profile's schedule (target ≤ 5%);
(d) the same loop comparison on CUDA when a GPU is present.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import torch

from glorot import shapeset
from glorot.config import RunConfig, get_profile
from glorot.data import DataSource
from glorot.models import COSTS, build_model
from glorot.probes import probe
from glorot.train import error_count, jacobian_points, probe_schedule, train

WIDTH, DEPTH, BATCH = 1000, 5, 10  # the paper's network and mini-batch (§2.3)


class Pregenerated(DataSource):
    """A fixed pool of Shapeset images served as batches, so no generation is timed."""

    name = "shapeset"
    n_inputs = shapeset.IMAGE_SIZE**2
    n_classes = len(shapeset.LABEL_NAMES)

    def __init__(self, n: int, seed: int = 0):
        drawn = shapeset.sample(n, np.random.default_rng(seed))
        self.x = torch.from_numpy(drawn.images.reshape(n, -1))
        self.y = torch.from_numpy(drawn.labels)

    def batches(self, batch: int, start: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x) // batch
        order = [(start + k) % n for k in range(n)]
        return [
            (self.x[i * batch : (i + 1) * batch], self.y[i * batch : (i + 1) * batch])
            for i in order
        ]

    def train_batches(self, batch: int, seed: int, start: int = 0) -> Iterator:
        pool = self.batches(batch, start)
        while True:
            yield from pool

    def fixed(self, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[:n], self.y[:n]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def minimal_loop(cfg: RunConfig, source: Pregenerated, updates: int) -> float:
    """Updates/s of the shortest correct SGD loop: forward, cost, grad, fused update."""
    model = build_model(cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(0))
    params, cost = list(model.parameters()), COSTS[cfg.cost]
    pool = [(x.to(cfg.device), y.to(cfg.device)) for x, y in source.batches(cfg.batch)]
    _sync(cfg.device)
    t0 = time.perf_counter()
    for k in range(updates):
        x, y = pool[k % len(pool)]
        grads = torch.autograd.grad(cost(model(x), y), params)
        with torch.no_grad():
            torch._foreach_add_(params, grads, alpha=-cfg.lr)
    _sync(cfg.device)
    return updates / (time.perf_counter() - t0)


def loop_config(updates: int, device: str = "cpu") -> RunConfig:
    """A run measured only at its two ends, on small fixed sets, so the loop itself is timed."""
    return RunConfig(
        width=WIDTH,
        depth=DEPTH,
        batch=BATCH,
        updates=updates,
        probe_every=updates,
        probe_dense=0,
        n_probe=50,
        n_valid=50,
        n_test=50,
        jacobian_examples=0,
        device=device,
    )


def median_time(fn: Callable[[], object], repeats: int, device: str = "cpu") -> float:
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def compare_loops(device: str, updates: int, repeats: int, source: Pregenerated) -> dict:
    cfg = loop_config(updates, device)
    minimal_loop(cfg, source, min(updates, 20))  # warm-up: allocator, kernels
    ours, theirs = [], []
    for i in range(repeats):  # interleaved in ABBA order, so drifts of the machine hit both alike
        for which in ("minimal", "train") if i % 2 == 0 else ("train", "minimal"):
            if which == "minimal":
                theirs.append(minimal_loop(cfg, source, updates))
            else:
                ours.append(train(cfg, source=source).provenance["updates_per_s"])
    return {"train": statistics.median(ours), "minimal": statistics.median(theirs)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m glorot.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer images and updates (~1 min)")
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("GLOROT_THREADS", "1")),
        help="torch threads, for both loops alike (default: GLOROT_THREADS, else 1, as in train)",
    )
    args = parser.parse_args(argv)
    # train() runs with GLOROT_THREADS threads: the minimal loop must get the same number.
    os.environ["GLOROT_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    os.environ["GLOROT_QUIET"] = "1"
    n_images, updates, repeats = (5_000, 100, 3) if args.quick else (20_000, 400, 5)
    rows: list[tuple[str, str, str]] = []

    def row(what: str, value: str, target: str = "") -> None:
        rows.append((what, value, target))
        print(f"  {what:<44} {value:>16}  {target}", flush=True)

    print(
        f"glorot benchmarks: torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        + (", quick" if args.quick else "")
    )
    print(f"  {'measure':<44} {'value':>16}  target")

    # (a) generator against consumption
    shapeset.sample(100, np.random.default_rng(1))  # warm-up
    t_gen = median_time(lambda: shapeset.sample(n_images, np.random.default_rng(2)), 3)
    images_per_s = n_images / t_gen
    row(f"Shapeset generator ({n_images:,} images)", f"{images_per_s:,.0f} img/s", ">= 50,000")
    source = Pregenerated(2_000)
    consumed = BATCH * minimal_loop(loop_config(updates), source, updates)
    row(f"{DEPTH}x{WIDTH} tanh MLP consumes, batch {BATCH}, CPU", f"{consumed:,.0f} ex/s")
    row("generator / consumption", f"{images_per_s / consumed:,.1f}x", ">= 20x")

    # (b) our loop against the minimal one
    loops = compare_loops("cpu", updates, repeats, source)
    row("minimal SGD loop, CPU", f"{loops['minimal']:,.1f} upd/s")
    row("glorot.train loop, CPU", f"{loops['train']:,.1f} upd/s")
    row("train / minimal, CPU (median)", f"{loops['train'] / loops['minimal']:.3f}", ">= 0.95")

    # (c) probes at the default profile's schedule, against that profile's own training speed
    default = get_profile("default").config()
    default_speed = minimal_loop(
        replace(loop_config(updates), width=default.width), source, updates
    )
    row(
        f"{DEPTH}x{default.width} (default profile) minimal loop, CPU",
        f"{default_speed:,.1f} upd/s",
    )
    model = build_model(
        default, source.n_inputs, source.n_classes, torch.Generator().manual_seed(0)
    )
    x_probe, y_probe = source.fixed("probe", default.n_probe)
    k = 1 if args.quick else 3
    t_jac = median_time(lambda: probe(model, x_probe, y_probe, default), k)
    t_plain = median_time(lambda: probe(model, x_probe, y_probe, default, jacobians=False), k)
    x_eval, y_eval = source.fixed("test", min(default.n_test, len(source.x)))
    scale = (default.n_test + default.n_valid) / len(x_eval)
    t_eval = scale * median_time(lambda: error_count(model, x_eval, y_eval), repeats)
    points, with_jac = len(probe_schedule(default)), len(jacobian_points(default))
    t_probes = with_jac * t_jac + (points - with_jac) * t_plain
    t_train = default.updates / default_speed
    total = t_train + t_probes + points * t_eval
    row(
        f"one probe ({default.n_probe} examples, {default.jacobian_examples} Jacobians)",
        f"{t_jac * 1e3:,.0f} ms",
    )
    row("one probe without Jacobians", f"{t_plain * 1e3:,.0f} ms")
    row(f"test + valid error ({default.n_test:,} + {default.n_valid:,})", f"{t_eval * 1e3:,.0f} ms")
    row(
        f"probe share, default profile ({points} points, {with_jac} with Jacobians)",
        f"{100 * t_probes / total:.2f} %",
        "<= 5 %",
    )
    row("test/valid evaluation share, same schedule", f"{100 * points * t_eval / total:.2f} %")
    row(f"default run ({default.updates:,} updates), estimated", f"{total / 60:,.1f} min")

    # (d) CUDA
    if torch.cuda.is_available():
        cuda = compare_loops("cuda", 5 * updates, repeats, source)
        row("minimal SGD loop, CUDA", f"{cuda['minimal']:,.1f} upd/s")
        row("glorot.train loop, CUDA", f"{cuda['train']:,.1f} upd/s")
        row("train / minimal, CUDA (median)", f"{cuda['train'] / cuda['minimal']:.3f}", ">= 0.95")
    else:
        row("CUDA", "not available")
    print("Times depend on the machine and its load; rerun on an idle machine to compare.")


if __name__ == "__main__":
    main()

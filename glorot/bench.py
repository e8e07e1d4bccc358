"""Benchmarks: is the data generator fast enough, how close is the trainer to what this CPU allows,
and what do the probes cost? Prints figures; never judges them by failing.

    glorot bench [--quick] [--threads N]

(a) Shapeset images/s against the examples/s a 5x1000 tanh MLP consumes at batch 10;
(b) for 5x400 and 5x1000 tanh MLPs at batch 10, on the same pre-generated batches, in this process:
    plain autograd with ``torch.optim.SGD``; ``torch.compile`` of that step (in a child process
    with a time limit, as its ratio to plain autograd there); a bare hand-written loop (forward by
    ``addmm``, the backward of §4.2, ``addmm_`` updates, nothing else); and :func:`glorot.train.train`
    with the default profile's probe schedule; and the matrix products of that update alone, the
    ceiling of any loop built on them. The loops alternate in blocks of about 0.1 s inside
    train()'s run (this machine's speed drifts within seconds). Targets: train >= 2.5x
    autograd at 5x400, >= 1.5x at 5x1000, >= 0.9x the bare loop;
(c) the share of a default-profile run (5x400, 40k updates, 27 measurements) spent measuring,
    from the costs of one probe and one evaluation over the run's whole schedule and the speed of
    a run (with --quick, of its first 4,000 updates) (target: probes <= 3 %);
(d) two runs at once, one per core, updates/s each;
(e) the loops on CUDA when a GPU is present.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import torch

from glorot import shapeset
from glorot.config import RunConfig, get_profile, run_threads
from glorot.data import DataSource
from glorot.models import COSTS, build_model
from glorot.probes import probe
from glorot.train import error_count, jacobian_points, probe_schedule, train

DEPTH, BATCH = 5, 10  # the paper's depth and mini-batch (§2.3)
COMPILE_LIMIT_S = 300  # torch.compile gets this long, compilation included
BLOCK_S = 0.1  # loops alternate in blocks of about this many seconds of plain autograd


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
        reps = -(-n // len(self.x))
        return self.x.repeat(reps, 1)[:n], self.y.repeat(reps)[:n]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def _pool(cfg: RunConfig, source: Pregenerated) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.to(cfg.device), y.to(cfg.device)) for x, y in source.batches(cfg.batch)]


def _timed(cfg: RunConfig, step: Callable, pool: list, updates: int, offset: int = 0) -> float:
    """Updates/s of ``step(x, y)`` over ``updates`` batches of ``pool`` from ``offset`` on; each
    cost read back, as the trainer does on the CPU to stop a diverged run at once."""
    _sync(cfg.device)
    t0 = time.perf_counter()
    for k in range(offset, offset + updates):
        step(*pool[k % len(pool)])
    _sync(cfg.device)
    return updates / (time.perf_counter() - t0)


def autograd_step(cfg: RunConfig, source: Pregenerated, compiled: bool = False) -> Callable:
    """The textbook step: zero_grad, forward, cost, backward, ``optim.SGD`` step."""
    model = build_model(cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    cost = COSTS[cfg.cost]

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = cost(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    if not compiled:
        return lambda x, y: step(x, y).item()
    fast = torch.compile(step)
    return lambda x, y: fast(x, y).item()


def bare_step(cfg: RunConfig, source: Pregenerated) -> Callable:
    """The shortest hand-written step: tanh layers by addmm, δ^top = softmax - onehot,
    δ^i = (1 - z²) ⊙ δ^{i+1} W^{i+1}, each W updated in place by addmm_ (α = -ε)."""
    model = build_model(cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(0))
    W = [layer.weight.detach() for layer in model.layers]
    b = [layer.bias.detach() for layer in model.layers]
    rows = torch.arange(cfg.batch, device=cfg.device)

    def step(x, y):
        z = [x]
        for i in range(len(W) - 1):
            z.append(torch.tanh(torch.addmm(b[i], z[-1], W[i].T)))
        logits = torch.addmm(b[-1], z[-1], W[-1].T)
        d = torch.log_softmax(logits, dim=1)
        loss = -d[rows, y].mean()
        d = d.exp_()
        d[rows, y] -= 1
        d /= len(y)
        for i in range(len(W) - 1, -1, -1):
            back = d @ W[i] if i > 0 else None
            W[i].addmm_(d.T, z[i], alpha=-cfg.lr)
            b[i].add_(d.sum(dim=0), alpha=-cfg.lr)
            if i > 0:
                d = back.mul_(1 - z[i] * z[i])
        return loss.item()

    return step


def products_step(cfg: RunConfig, source: Pregenerated) -> Callable:
    """Only the matrix products of one hand-written update, with the shapes and calls of
    :class:`glorot.backprop.Backprop` (forward ``addmm``, backward ``mm``, update ``addmm_``),
    into buffers allocated once: no activation, no cost, no Python between them. No loop that
    computes the paper's update with these products can beat it, so its speed over plain
    autograd's bounds the speed-up any such loop can reach on this machine."""
    model = build_model(cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(0))
    W = [layer.weight.detach() for layer in model.layers]
    b = [layer.bias.detach() for layer in model.layers]
    rows = cfg.batch
    out = [torch.empty(rows, w.shape[0], device=cfg.device) for w in W]
    back = [torch.empty(rows, w.shape[1], device=cfg.device) for w in W]
    WT, outT = [w.T for w in W], [o.T for o in out]  # views taken once, as Backprop takes them

    def step(x, y):
        h = x
        for i in range(len(W)):
            torch.addmm(b[i], h, WT[i], out=out[i])
            h = out[i]
        for i in range(len(W) - 1, -1, -1):
            below = x if i == 0 else out[i - 1]
            if i > 0:
                torch.mm(out[i], W[i], out=back[i])
            W[i].addmm_(outT[i], below, alpha=-1e-12)  # a negligible step: the weights stay put

    return step


def loop_config(width: int, updates: int, device: str = "cpu") -> RunConfig:
    """A run on the default profile's probe schedule (up to ``updates``) and measuring sets."""
    return get_profile("default").config(width=width, updates=updates, device=device)


def _train_speed(cfg: RunConfig, source: Pregenerated) -> tuple[float, float]:
    """Updates/s of train() between measurements, and the share of its time spent measuring."""
    prov = train(cfg, source=source).provenance
    return prov["updates_per_s"], prov["measure_s"] / prov["wall_s"]


class _Interleaved(DataSource):
    """The batches of ``source`` for :func:`glorot.train.train`, with the other loops run between
    blocks of ``block`` of them and everything timed: a block of train() is the time between the
    requests of its first batch and of the one after its last, less nothing, since the other
    loops run outside that span. This machine's speed can halve from one second to the next; a
    ratio of loops timed in alternating blocks a fraction of a second long is not moved by it,
    where one of runs timed a minute apart is."""

    def __init__(self, source: Pregenerated, cfg: RunConfig, steps: dict, pool: list, block: int):
        self.source, self.cfg, self.steps, self.pool, self.block = source, cfg, steps, pool, block
        self.name, self.n_inputs, self.n_classes = source.name, source.n_inputs, source.n_classes
        points = probe_schedule(cfg)
        # A block [k, k + block) whose span holds a measurement (at u in (k, k + block]) is dropped.
        self.clean = lambda k: not any(k < p <= k + block for p in points)
        self.seconds: dict[str, float] = {name: 0.0 for name in [*steps, "train"]}
        self.updates = 0  # per loop, over the clean blocks

    def fixed(self, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.source.fixed(split, n)

    def train_batches(self, batch: int, seed: int, start: int = 0) -> Iterator:
        k, order = start, list(self.steps)
        while True:
            _sync(self.cfg.device)
            t0 = time.perf_counter()
            for j in range(k, k + self.block):
                yield self.pool[j % len(self.pool)]
            _sync(self.cfg.device)
            spent = time.perf_counter() - t0
            if self.clean(k):
                self.seconds["train"] += spent
                self.updates += self.block
                for name in order:
                    self.seconds[name] += self.block / _timed(
                        self.cfg, self.steps[name], self.pool, self.block, offset=k
                    )
                order.reverse()
            k += self.block


def compare_loops(
    width: int, updates: int, repeats: int, device: str = "cpu", block: int | None = None
) -> dict:
    """Updates/s of the four loops, and the share of train()'s time spent measuring (median
    over its ``repeats`` runs). On the CPU train() runs ``repeats`` times for ``updates`` updates
    each and the other loops run between its blocks of ``block`` updates (default: BLOCK_S worth
    of plain autograd; see :class:`_Interleaved`); on CUDA, whose trainer takes its batches 256
    at a time, each loop runs whole in turn, repetitions interleaved."""
    source = Pregenerated(2_000)
    cfg = loop_config(width, updates, device)
    pool = _pool(cfg, source)
    steps = {
        "autograd": autograd_step(cfg, source),
        "bare": bare_step(cfg, source),
        "products": products_step(cfg, source),
    }
    for step in steps.values():
        _timed(cfg, step, pool, 20)  # warm-up: allocator, kernels
    if cfg.device != "cpu":
        return _whole_runs(cfg, source, steps, pool, repeats)
    if block is None:  # about BLOCK_S of the slowest loop, from a first timing of it
        block = max(1, min(updates, round(BLOCK_S * _timed(cfg, steps["autograd"], pool, 20))))
    mixed = _Interleaved(source, cfg, steps, pool, block)
    share = [_train_speed(cfg, mixed)[1] for _ in range(repeats)]
    if mixed.updates == 0:
        raise ValueError(f"no block of {block} updates free of measurements in {updates} updates")
    out = {name: mixed.updates / seconds for name, seconds in mixed.seconds.items()}
    out["measure_share"] = statistics.median(share)
    return out


def _whole_runs(cfg: RunConfig, source: Pregenerated, steps: dict, pool: list, repeats: int):
    speeds: dict[str, list[float]] = {"autograd": [], "bare": [], "products": [], "train": []}
    share = []
    for i in range(repeats):
        order = ["autograd", "bare", "products", "train"]
        for which in order if i % 2 == 0 else order[::-1]:
            if which == "train":
                speed, measuring = _train_speed(cfg, source)
                speeds["train"].append(speed)
                share.append(measuring)
            else:
                speeds[which].append(_timed(cfg, steps[which], pool, cfg.updates))
    out = {k: statistics.median(v) for k, v in speeds.items()}
    out["measure_share"] = statistics.median(share)
    return out


def _compiled_child(width: int, updates: int, threads: int) -> None:
    """In a child process: updates/s of the compiled step and of the plain one, printed."""
    torch.set_num_threads(threads)
    source = Pregenerated(500)
    cfg = loop_config(width, updates)
    pool = _pool(cfg, source)
    plain, fast = autograd_step(cfg, source), autograd_step(cfg, source, compiled=True)
    t0 = time.perf_counter()
    _timed(cfg, fast, pool, 3)  # compiles
    compile_s = time.perf_counter() - t0
    _timed(cfg, plain, pool, 20)
    a, c = [], []
    for _ in range(3):
        a.append(_timed(cfg, plain, pool, updates))
        c.append(_timed(cfg, fast, pool, updates))
    print(f"{statistics.median(c)} {statistics.median(a)} {compile_s}")


def compiled_speed(width: int, updates: int, threads: int) -> str:
    """The compiled step against plain autograd, or why it could not be measured."""
    code = (
        f"from glorot.bench import _compiled_child; _compiled_child({width}, {updates}, {threads})"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=COMPILE_LIMIT_S
        )
    except subprocess.TimeoutExpired:
        return f"not measured: over {COMPILE_LIMIT_S} s"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no message"])[-1]
        return f"fails on this CPU: {last[:80]}"
    compiled, plain, compile_s = map(float, out.stdout.split())
    return (
        f"{compiled:,.0f} upd/s, {compiled / plain:.2f}x autograd (compiled in {compile_s:.0f} s)"
    )


def _one_of_two(width: int, updates: int) -> float:
    torch.set_num_threads(1)
    return _train_speed(loop_config(width, updates), Pregenerated(2_000))[0]


def two_at_once(width: int, updates: int) -> list[float]:
    """Updates/s of each of two runs trained at the same time in two processes."""
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        return list(pool.map(_one_of_two, [width, width], [updates, updates]))


def probe_costs(quick: bool) -> dict:
    """Seconds of one probe with and without Jacobians, and of the test and validation errors of
    one measurement, at the default profile."""
    default = get_profile("default").config()
    source = Pregenerated(default.n_probe)
    model = build_model(
        default, source.n_inputs, source.n_classes, torch.Generator().manual_seed(0)
    )
    x, y = source.fixed("probe", default.n_probe)
    x_test, y_test = source.fixed("test", default.n_test)
    x_valid, y_valid = source.fixed("valid", default.n_valid)
    k = 3 if quick else 5
    probe(model, x, y, default)  # warm-up: allocator, kernels

    def evals():
        return error_count(model, x_test, y_test), error_count(model, x_valid, y_valid)

    def median(fn: Callable[[], object]) -> float:
        return statistics.median(_seconds(fn) for _ in range(k))

    return {
        "jac": median(lambda: probe(model, x, y, default)),
        "plain": median(lambda: probe(model, x, y, default, jacobians=False)),
        "evals": median(evals),
    }


def _seconds(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="glorot bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer updates and repetitions")
    parser.add_argument(
        "--threads",
        type=int,
        default=run_threads(),
        help="torch threads, for every loop alike (default: GLOROT_THREADS, else 1, as in train)",
    )
    args = parser.parse_args(argv)
    # train() runs with GLOROT_THREADS threads: the other loops must get the same number.
    os.environ["GLOROT_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    os.environ["GLOROT_QUIET"] = "1"
    quick = args.quick
    n_images = 5_000 if quick else 20_000
    updates = {400: 1_000, 1000: 400} if quick else {400: 4_000, 1000: 1_500}
    repeats = 3 if quick else 5

    def row(what: str, value: str, target: str = "") -> None:
        print(f"  {what:<48} {value:>22}  {target}", flush=True)

    print(
        f"glorot benchmarks: torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        + (", quick" if quick else "")
    )
    print(f"  {'measure':<48} {'value':>22}  target")

    # (a) generator against consumption
    shapeset.sample(100, np.random.default_rng(1))  # warm-up
    t_gen = statistics.median(
        _seconds(lambda: shapeset.sample(n_images, np.random.default_rng(2))) for _ in range(3)
    )
    images_per_s = n_images / t_gen
    row(f"Shapeset generator ({n_images:,} images)", f"{images_per_s:,.0f} img/s", ">= 50,000")

    # (b) the loops
    targets = {400: 2.5, 1000: 1.5}
    for width, n in updates.items():
        loops = compare_loops(width, n, repeats)
        name = f"{DEPTH}x{width}"
        row(f"{name} plain autograd + optim.SGD", f"{loops['autograd']:,.0f} upd/s")
        row(f"{name} torch.compile of that step", compiled_speed(width, n // 2, args.threads))
        row(f"{name} bare hand-written loop", f"{loops['bare']:,.0f} upd/s")
        row(f"{name} glorot.train, default probe schedule", f"{loops['train']:,.0f} upd/s")
        row(f"{name} its matrix products alone (ceiling)", f"{loops['products']:,.0f} upd/s")
        row(
            f"{name} ceiling / autograd",
            f"{loops['products'] / loops['autograd']:.2f}x",
            "bounds train / autograd",
        )
        row(
            f"{name} train / autograd",
            f"{loops['train'] / loops['autograd']:.2f}x",
            f">= {targets[width]}x",
        )
        row(f"{name} train / bare loop", f"{loops['train'] / loops['bare']:.2f}x", ">= 0.9x")
        row(
            f"{name} train / ceiling",
            f"{loops['train'] / loops['products']:.2f}x",
            "the rest: activations, cost, f', biases",
        )
        if width == 400:
            consumed = BATCH * loops["train"]
            row(f"{name} consumes, batch {BATCH}", f"{consumed:,.0f} ex/s")
            row("generator / consumption", f"{images_per_s / consumed:,.1f}x", ">= 20x")

    # (c) a default run: what its measurements cost against its training, over its whole schedule
    default = get_profile("default").config()
    trained = replace(default, updates=default.probe_every * 2) if quick else default
    speed, share = _train_speed(trained, Pregenerated(2_000))
    costs = probe_costs(quick)
    points, with_jac = len(probe_schedule(default)), len(jacobian_points(default))
    t_probes = with_jac * costs["jac"] + (points - with_jac) * costs["plain"]
    t_evals = points * costs["evals"]
    t_train = default.updates / speed
    total = t_train + t_probes + t_evals
    what = f"default run, {default.updates:,} updates, {points} points"
    row(f"{what}: measuring", f"{100 * (t_probes + t_evals) / total:.2f} %")
    row(f"  probes alone ({with_jac} with Jacobians)", f"{100 * t_probes / total:.2f} %", "<= 3 %")
    row(
        "  one probe, with / without Jacobians",
        f"{costs['jac'] * 1e3:,.0f} / {costs['plain'] * 1e3:,.0f} ms",
    )
    row(
        f"  test and validation errors ({default.n_test:,} + {default.n_valid:,})",
        f"{costs['evals'] * 1e3:,.0f} ms a point",
    )
    if not quick:
        row("  measuring, as timed in that run", f"{100 * share:.2f} %")
    row(f"  estimated wall time ({speed:,.0f} upd/s)", f"{total / 60:,.1f} min")

    # (d) two runs on two cores at once
    both = two_at_once(400, updates[400])
    row("two 5x400 runs at once, upd/s each", " / ".join(f"{s:,.0f}" for s in both))

    # (e) CUDA
    if torch.cuda.is_available():
        cuda = compare_loops(1000, 5 * updates[1000], repeats, device="cuda")
        row("5x1000 plain autograd, CUDA", f"{cuda['autograd']:,.0f} upd/s")
        row("5x1000 bare loop, CUDA", f"{cuda['bare']:,.0f} upd/s")
        row("5x1000 glorot.train, CUDA", f"{cuda['train']:,.0f} upd/s")
    else:
        row("CUDA", "not available")
    print("Times depend on the machine and its load; ratios are of loops timed side by side.")


if __name__ == "__main__":
    main()

"""The SGD loop of §2.3: plain SGD on mini-batches of the online stream, measured on a schedule.

θ ← θ − ε·g with g the mean gradient over a mini-batch; no momentum, no weight decay, no schedule.
At the updates of :func:`probe_schedule` the run measures the network on fixed sets: the probes of
:mod:`glorot.probes` on the 300 monitoring examples (Figs. 2-4, 9, 10), the test and validation
errors (Fig. 11, Table 1) and the mean training loss since the previous measurement.

Between measurements an update is the backward of §4.2 by hand (:class:`glorot.backprop.Backprop`):
forward, δ from the top, each weight matrix updated in place as soon as its δ is known. Nothing
else touches the host except the divergence check (see :func:`train`). The record is
:class:`glorot.run.Run`; checkpoints are :mod:`glorot.checkpoint`.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from glorot import checkpoint as ckpt
from glorot.backprop import Backprop
from glorot.config import PAPER_EPOCH, ConfigError, RunConfig, env_flag, run_threads
from glorot.data import DataSource, make_source
from glorot.models import build_model
from glorot.probes import probe
from glorot.provenance import run_provenance
from glorot.run import Run, stack_evals, stack_probes

EVAL_CHUNK = 2_000  # examples per forward pass when measuring test and validation error
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)  # both end a run with a checkpoint


def quiet() -> bool:
    """True when the environment asks for no progress bars (``GLOROT_QUIET=1``)."""
    return env_flag("GLOROT_QUIET")


def jacobian_points(cfg: RunConfig) -> list[int]:
    """Updates at which probes decompose the layer Jacobians: the start (§4.2.2 is about the
    initialization), every paper epoch of 20k updates, and the end; elsewhere they are NaN."""
    return [u for u in probe_schedule(cfg) if u % PAPER_EPOCH == 0 or u == cfg.updates]


def probe_schedule(cfg: RunConfig) -> list[int]:
    """The updates at which a run is measured: 0; ``probe_dense`` log-spaced points before the first
    ``probe_every`` (probe_every/2, /4, ..., rounded), to see the fast early changes of Fig. 2; then
    every ``probe_every`` updates; always the last update."""
    dense = {round(cfg.probe_every / 2**k) for k in range(1, cfg.probe_dense + 1)}
    regular = set(range(cfg.probe_every, cfg.updates + 1, cfg.probe_every))
    return sorted(u for u in {0, cfg.updates} | dense | regular if 0 <= u <= cfg.updates)


def resolve_device(name: str) -> torch.device:
    """The torch device ``name``; fails before any work when CUDA is asked for but absent."""
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {name!r} asked for but CUDA is not available to this torch "
                f"({torch.__version__}); use device='cpu'"
            )
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {name!r} asked for but only {torch.cuda.device_count()} CUDA device(s) "
                "exist; use cuda:0"
            )
    return device


class _LossWindow:
    """Training costs since the last measurement.

    On the CPU each cost is read as it is computed: reading a scalar there costs nothing next to an
    update, and a diverged run stops at once. On CUDA the costs stay on the device and are read
    once per measurement (or checkpoint), so the loop never waits for the GPU; a diverged run then
    computes on until the next measurement, and the first non-finite cost still gives the exact
    update.
    """

    def __init__(self, eager: bool, start: int, values: np.ndarray | None = None):
        self.eager = eager
        self.start = start  # updates done before the window's first cost
        self.read: list[float] = [] if values is None else values.tolist()
        self.pending: list[torch.Tensor] = []

    def append(self, loss: torch.Tensor) -> bool:
        """Record one cost; False when it is known not to be finite."""
        if self.eager:
            value = loss.item()
            self.read.append(value)
            return math.isfinite(value)
        self.pending.append(loss.detach())
        return True

    def values(self) -> np.ndarray:
        if self.pending:
            self.read.extend(torch.stack(self.pending).cpu().tolist())
            self.pending.clear()
        return np.asarray(self.read, dtype=np.float64)

    def diverged_at(self) -> int | None:
        """The update (from 1) of the first non-finite cost, or None."""
        bad = np.flatnonzero(~np.isfinite(self.values()))
        return None if bad.size == 0 else self.start + int(bad[0]) + 1

    def mean(self) -> float:
        values = self.values()
        return float(values.mean()) if values.size else math.nan


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The predicted class of each example of ``x`` (uint8, on the device), in chunks of
    EVAL_CHUNK."""
    out = torch.empty(len(x), dtype=torch.uint8, device=x.device)
    for i in range(0, len(x), EVAL_CHUNK):
        out[i : i + EVAL_CHUNK] = model(x[i : i + EVAL_CHUNK]).argmax(dim=1)
    return out


def error_count(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Misclassified examples of (x, y), counted on the device."""
    return (predict(model, x) != y).sum()


@contextlib.contextmanager
def _deferred_interrupt(enabled: bool) -> Iterator[threading.Event]:
    """Turn Ctrl-C and SIGTERM into a flag that the loop reads between updates, so a checkpoint is
    never taken halfway through one. A second signal interrupts at once. Only the main thread
    gets signals."""
    flag = threading.Event()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    previous = {sig: signal.signal(sig, handler) for sig in INTERRUPTS}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def on_device(
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]], device: torch.device, block: int = 256
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The same batches, on ``device``. On a GPU they cross in blocks of ``block`` batches through
    pinned memory: a copy per batch from pageable memory would make the host wait for the GPU at
    every update."""
    if device.type == "cpu":
        yield from batches
        return
    while True:
        xs, ys = zip(*(next(batches) for _ in range(block)), strict=True)
        x = torch.stack(xs).pin_memory().to(device, non_blocking=True)  # (block, B, n_in)
        y = torch.stack(ys).pin_memory().to(device, non_blocking=True)  # (block, B)
        yield from zip(x, y, strict=True)


class _Clock:
    """Seconds spent updating and measuring, summed over the sessions of a resumed run.

    Checkpoint writes count in neither. On CUDA the clock waits for the device when it is read,
    which it is only at measurements and checkpoints.
    """

    def __init__(self, device: torch.device, train_s: float = 0.0, measure_s: float = 0.0):
        self.device = device
        self.train_before, self.measure_s = train_s, measure_s
        self.start = time.perf_counter()
        self.other_s = 0.0  # measuring and checkpointing since this process (re)started the run

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    @contextlib.contextmanager
    def apart(self, measuring: bool) -> Iterator[None]:
        t0 = self._now()
        yield
        spent = self._now() - t0
        self.other_s += spent
        if measuring:
            self.measure_s += spent

    @property
    def train_s(self) -> float:
        return self.train_before + self._now() - self.start - self.other_s


def _threads(fn):
    """Run ``fn`` with ``GLOROT_THREADS`` torch threads (default 1, :func:`glorot.config.run_threads`).

    The products of a batch of 10 are too small to gain from several threads: on a 2-core machine
    one thread was up to 18x faster than two whenever another process held a core. Independent
    runs use the cores instead (``run_many`` with several workers). Another thread count rounds
    differently, so it is part of a run's key (:attr:`glorot.config.RunConfig.key`).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = torch.get_num_threads()
        torch.set_num_threads(run_threads())
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(previous)

    return wrapper


@_threads
def train(
    cfg: RunConfig,
    *,
    progress: bool = False,
    checkpoint_path: Path | str | None = None,
    checkpoint_every: int | None = None,
    profile: str | None = None,
    source: DataSource | None = None,
) -> Run:
    """Train an MLP by plain SGD as in §2.3 and measure it at every point of :func:`probe_schedule`.

    - The model comes from ``build_model`` with a generator seeded by ``cfg.seed`` (weights by
      eq. 1 or eq. 16, biases 0); batch k of the run is batch k of the seed's stream, so the same
      config gives the same bytes on the same machine.
    - ``checkpoint_path``: when the file exists the run resumes from it (a damaged one is
      discarded, see :func:`glorot.checkpoint.load`); checkpoints are written there every
      ``checkpoint_every`` updates and when Ctrl-C or SIGTERM stops the run (the signal is taken
      between updates, a checkpoint written, then KeyboardInterrupt raised). A resumed run ends
      with exactly the weights and records of an uninterrupted one. The file is left in place;
      :func:`glorot.store.load_or_run` removes it once the record is stored.
    - Divergence: a non-finite training cost ends the run with ``diverged_at`` set (see
      :class:`Run`). On the CPU every cost is checked as it comes; on CUDA at measurements and
      checkpoints, so the loop never waits for the GPU.
    - A probe statistic that cannot be computed is recorded as not measured (see :class:`Run`);
      it never stops the run.
    - ``source`` replaces ``make_source(cfg)`` (benchmarks, tests); the store never passes one.
    - ``profile`` is only recorded in the provenance.
    """
    cfg.validate()
    if checkpoint_every is not None and (
        not isinstance(checkpoint_every, int) or checkpoint_every < 1
    ):
        raise ConfigError(f"checkpoint_every must be an integer >= 1, got {checkpoint_every!r}")
    device = resolve_device(cfg.device)
    checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
    source = make_source(cfg) if source is None else source
    if source.n_classes > 256:
        raise ConfigError(f"{source.n_classes} classes do not fit the uint8 test predictions")
    schedule = probe_schedule(cfg)
    jacobians_at = set(jacobian_points(cfg)).__contains__

    # The fixed sets are the same for every run (data.py). The probe set is also the batch of an
    # init that looks at data (LSUV).
    x_probe, y_probe = source.fixed("probe", cfg.n_probe)
    model = build_model(
        cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(cfg.seed), x_probe
    )
    state = None
    if checkpoint_path is not None and checkpoint_path.exists():
        state = ckpt.load(checkpoint_path, cfg, model)
    state = state or ckpt.State()
    model.to(device)
    net = Backprop(model, cfg.cost, cfg.batch)

    # They stay on the device for the run.
    x_probe, y_probe = x_probe.to(device), y_probe.to(device)
    x_test, y_test = (t.to(device) for t in source.fixed("test", cfg.n_test))
    x_valid, y_valid = (t.to(device) for t in source.fixed("valid", cfg.n_valid))
    state.test_true = y_test.cpu().numpy().astype(np.uint8)
    test_pred = None if state.test_pred is None else torch.from_numpy(state.test_pred)

    eager = device.type == "cpu"
    window = _LossWindow(eager, state.evals[-1][0] if state.evals else 0, state.window)
    points = schedule[len(state.probes) :]  # measurements still to take, in order
    resumed_at = u = state.updates
    diverged_at: int | None = None
    clock = _Clock(device, state.train_s, state.measure_s)
    batches = on_device(source.train_batches(cfg.batch, cfg.seed, start=u), device)
    bar = tqdm(
        total=cfg.updates,
        initial=u,
        desc=cfg.label,
        unit="upd",
        disable=not progress or quiet(),
        mininterval=1.0,
    )

    def measure() -> None:
        nonlocal window, test_pred
        with clock.apart(measuring=True):
            why_not: list[str] = []
            stats = probe(model, x_probe, y_probe, cfg, jacobians=jacobians_at(u), why_not=why_not)
            state.probes.append(stats)
            state.not_measured += [{"updates": u, "why": why} for why in why_not]
            test_pred = predict(model, x_test)
            wrong = torch.stack(
                [(test_pred != y_test).sum(), error_count(model, x_valid, y_valid)]
            ).tolist()
            test_error, valid_error = wrong[0] / cfg.n_test, wrong[1] / cfg.n_valid
            state.evals.append((u, test_error, valid_error, window.mean()))
            window = _LossWindow(eager, u)
        bar.set_postfix(test_error=f"{test_error:.3f}", refresh=False)

    def checkpoint() -> None:
        with clock.apart(measuring=False):
            state.updates, state.window = u, window.values()
            state.train_s, state.measure_s = clock.train_s, clock.measure_s
            state.test_pred = None if test_pred is None else test_pred.cpu().numpy()
            ckpt.save(checkpoint_path, cfg, model, state, schedule)

    with bar, _deferred_interrupt(checkpoint_path is not None) as interrupted:
        while True:
            if interrupted.is_set():
                checkpoint()
                raise KeyboardInterrupt
            if points and u == points[0]:
                diverged_at = window.diverged_at()
                if diverged_at is not None:
                    break
                points.pop(0)
                measure()
                bar.update(u - bar.n)
            if u == cfg.updates:
                break
            if checkpoint_every and u % checkpoint_every == 0 and u != resumed_at:
                diverged_at = window.diverged_at()
                if diverged_at is not None:
                    break
                checkpoint()
            # The update of §2.3, θ ← θ − ε·g, with g from the backward of §4.2.
            x, y = next(batches)
            if not window.append(net.forward(x, y)):
                diverged_at = window.diverged_at()
                break
            net.update(x, cfg.lr)
            u += 1
            if u % 256 == 0:
                bar.update(u - bar.n)
        if interrupted.is_set():  # a signal during the last measurement: keep the finished run
            checkpoint()
            raise KeyboardInterrupt

    train_s = clock.train_s
    trained = u if diverged_at is None else diverged_at - 1
    provenance = run_provenance(
        model,
        device,
        profile=profile,
        seed=cfg.seed,
        updates=trained,
        train_s=train_s,
        measure_s=clock.measure_s,
    )
    if state.not_measured:
        provenance["not_measured"] = state.not_measured
    return Run(
        config=cfg,
        probes=stack_probes(state.probes, schedule),
        evals=stack_evals(
            state.evals, None if test_pred is None else test_pred.cpu().numpy(), state.test_true
        ),
        diverged_at=diverged_at,
        provenance=provenance,
    )

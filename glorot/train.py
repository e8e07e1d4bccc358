"""The SGD loop of §2.3: plain SGD on mini-batches of the online stream, measured on a schedule.

θ ← θ − ε·g with g the mean gradient over a mini-batch; no momentum, no weight decay, no schedule.
At the updates of :func:`probe_schedule` the run measures the network on fixed sets: the probes of
:mod:`glorot.probes` on the 300 monitoring examples (Figs. 2-4, 9, 10), the test and validation
errors (Fig. 11, Table 1) and the mean training loss since the previous measurement.

Between measurements the loop is the minimal one: forward, cost, ``autograd.grad``, one fused
in-place update. Nothing else touches the host except the divergence check (see :func:`train`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import math
import os
import platform
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from glorot.config import PAPER_EPOCH, ConfigError, RunConfig
from glorot.data import DataSource, make_source
from glorot.models import COSTS, build_model
from glorot.probes import probe

CHECKPOINT_FORMAT = 1
EVAL_CHUNK = 2_000  # examples per forward pass when measuring test and validation error
TIMING_KEYS = ("wall_s", "train_s", "measure_s", "updates_per_s")  # differ between equal runs
# Probe statistics summarised per layer by Run.to_summary (summary name -> probe key).
SUMMARY_KEYS = {
    "activation_mean": "act_mean",
    "activation_std": "act_std",
    "backprop_std": "dC_ds_std",
    "weight_grad_std": "dC_dW_std",
    "jacobian_mean_sv": "jac_mean_sv",
}


def quiet() -> bool:
    """True when the environment asks for no progress bars (``GLOROT_QUIET=1``)."""
    return os.environ.get("GLOROT_QUIET", "") not in ("", "0")


@dataclass(frozen=True, eq=False)
class Run:
    """The record of one run.

    ``probes``: ``updates`` (P,) and every probe statistic stacked over probe points (P, L, ...).
    ``evals``: ``updates`` (P,), ``test_error``, ``valid_error`` (fractions misclassified) and
    ``train_loss`` (mean training cost over the updates since the previous point; NaN at update 0,
    before any training).

    A run whose training cost became NaN or infinite stopped there: ``diverged_at`` is the update
    (counting from 1) whose cost was not finite. Its records hold the points measured before that,
    and its ``final`` errors are NaN: a network whose outputs are not numbers has no error rate, and
    NaN keeps it out of every average and every minimum by accident.
    """

    config: RunConfig
    probes: dict[str, np.ndarray]
    evals: dict[str, np.ndarray]
    diverged_at: int | None = None
    provenance: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.config.key

    @property
    def final(self) -> dict:
        """Test and validation error at the end of training (NaN when the run diverged)."""
        if self.diverged_at is not None:
            return {"test_error": math.nan, "validation_error": math.nan, "diverged": True}
        return {
            "test_error": float(self.evals["test_error"][-1]),
            "validation_error": float(self.evals["valid_error"][-1]),
            "diverged": False,
        }

    def to_summary(self) -> dict:
        """A JSON-ready digest: config, final errors and per-layer statistics at every probe point.

        Values that are not finite (errors of a diverged run, Jacobians not measured) become None,
        so the digest is strict JSON.
        """
        points = []
        for i, updates in enumerate(self.probes["updates"]):
            n_layers = len(self.probes["act_mean"][i])
            layers = [
                {
                    name: _json_float(self.probes[key][i][layer])
                    for name, key in SUMMARY_KEYS.items()
                }
                for layer in range(n_layers)
            ]
            points.append({"updates": int(updates), "layers": layers})
        final = {k: v if isinstance(v, bool) else _json_float(v) for k, v in self.final.items()}
        return {
            "key": self.key,
            "config": self.config.to_dict(),
            "final": final,
            "diverged_at": self.diverged_at,
            "probes": points,
            "provenance": self.provenance,
        }


def _json_float(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


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


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the checkout the package runs from ('+dirty' when modified), else 'unknown'."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return "unknown"
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def weights_sha256(model: torch.nn.Module) -> str:
    """A fingerprint of the parameters: equal runs end with equal bytes."""
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


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
def error_count(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Misclassified examples of (x, y), counted on the device in chunks of EVAL_CHUNK."""
    wrong = torch.zeros((), dtype=torch.int64, device=x.device)
    for i in range(0, len(x), EVAL_CHUNK):
        wrong += (model(x[i : i + EVAL_CHUNK]).argmax(dim=1) != y[i : i + EVAL_CHUNK]).sum()
    return wrong


@contextlib.contextmanager
def _deferred_interrupt(enabled: bool) -> Iterator[threading.Event]:
    """Turn Ctrl-C into a flag that the loop reads between updates, so a checkpoint is never taken
    halfway through one. A second Ctrl-C interrupts at once. Only the main thread gets signals."""
    flag = threading.Event()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class _State:
    """Everything a resumed run needs besides the model: what was measured and how long it took."""

    updates: int = 0
    probes: list[dict[str, np.ndarray]] = field(default_factory=list)
    evals: list[tuple[int, float, float, float]] = field(default_factory=list)
    window: np.ndarray | None = None  # training costs since the last measurement
    train_s: float = 0.0
    measure_s: float = 0.0


def _stack_probes(points: list[dict[str, np.ndarray]], schedule: list[int]) -> dict:
    probes = {"updates": np.asarray(schedule[: len(points)], dtype=np.int64)}
    for key in points[0] if points else ():
        probes[key] = np.stack([p[key] for p in points])
    return probes


def _stack_evals(rows: list[tuple[int, float, float, float]]) -> dict[str, np.ndarray]:
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return {
        "updates": np.asarray(columns[0], dtype=np.int64),
        "test_error": np.asarray(columns[1], dtype=np.float64),
        "valid_error": np.asarray(columns[2], dtype=np.float64),
        "train_loss": np.asarray(columns[3], dtype=np.float64),
    }


def save_checkpoint(
    path: Path, cfg: RunConfig, model: torch.nn.Module, state: _State, schedule: list[int]
) -> None:
    """Model, step and partial records in one npz, written atomically. The data stream is indexed
    by batch number and nothing else is random after initialisation, so no RNG state is needed."""
    from glorot.store import atomic_write_bytes  # here: the store imports this module

    arrays = {f"model.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    arrays |= {f"probe.{k}": v for k, v in _stack_probes(state.probes, schedule).items()}
    arrays |= {f"eval.{k}": v for k, v in _stack_evals(state.evals).items()}
    arrays["window"] = state.window if state.window is not None else np.zeros(0)
    meta = {
        "format": CHECKPOINT_FORMAT,
        "key": cfg.key,
        "updates": state.updates,
        "train_s": state.train_s,
        "measure_s": state.measure_s,
    }
    arrays["meta"] = np.asarray(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, cfg: RunConfig, model: torch.nn.Module) -> _State:
    """Restore ``model`` from the checkpoint at ``path`` and return the partial state."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(str(arrays["meta"]))
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("key") != cfg.key:
        raise ConfigError(
            f"the checkpoint {path} belongs to another run (key {meta.get('key')}, not {cfg.key}); "
            "delete it or pass another checkpoint_path"
        )
    model.load_state_dict(
        {k[6:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("model.")}
    )
    probe_keys = [k[6:] for k in arrays if k.startswith("probe.") and k != "probe.updates"]
    n_points = len(arrays["probe.updates"])
    evals = arrays["eval.updates"], arrays["eval.test_error"], arrays["eval.valid_error"]
    return _State(
        updates=meta["updates"],
        probes=[{k: arrays[f"probe.{k}"][i] for k in probe_keys} for i in range(n_points)],
        evals=[
            (int(u), float(t), float(v), float(loss))
            for u, t, v, loss in zip(*evals, arrays["eval.train_loss"], strict=True)
        ],
        window=arrays["window"],
        train_s=meta["train_s"],
        measure_s=meta["measure_s"],
    )


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
    """Run ``fn`` with ``GLOROT_THREADS`` torch threads (default 1).

    The products of a batch of 10 are too small to gain from several threads: on a 2-core machine
    one thread was up to 18x faster than two whenever another process held a core. Independent
    runs use the cores instead (``run_many`` with several workers).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = torch.get_num_threads()
        torch.set_num_threads(int(os.environ.get("GLOROT_THREADS", "1")))
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
    - ``checkpoint_path``: when the file exists the run resumes from it; checkpoints are written
      there every ``checkpoint_every`` updates and when Ctrl-C stops the run (the interrupt is taken
      between updates, then re-raised). A resumed run ends with exactly the weights and records of
      an uninterrupted one. The file is left in place; :func:`glorot.store.load_or_run` removes it
      once the record is stored.
    - Divergence: a non-finite training cost ends the run with ``diverged_at`` set (see
      :class:`Run`). On the CPU every cost is checked as it comes; on CUDA at measurements and
      checkpoints, so the loop never waits for the GPU.
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
    schedule = probe_schedule(cfg)
    jacobians_at = set(jacobian_points(cfg)).__contains__
    cost = COSTS[cfg.cost]

    # The fixed sets are the same for every run (data.py). The probe set is also the batch of an
    # init that looks at data (LSUV).
    x_probe, y_probe = source.fixed("probe", cfg.n_probe)
    model = build_model(
        cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(cfg.seed), x_probe
    )
    state = _State()
    if checkpoint_path is not None and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, cfg, model)
    model.to(device)
    params = list(model.parameters())

    # They stay on the device for the run.
    x_probe, y_probe = x_probe.to(device), y_probe.to(device)
    x_test, y_test = (t.to(device) for t in source.fixed("test", cfg.n_test))
    x_valid, y_valid = (t.to(device) for t in source.fixed("valid", cfg.n_valid))

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
        nonlocal window
        with clock.apart(measuring=True):
            state.probes.append(probe(model, x_probe, y_probe, cfg, jacobians=jacobians_at(u)))
            wrong = torch.stack(
                [error_count(model, x_test, y_test), error_count(model, x_valid, y_valid)]
            ).tolist()
            test_error, valid_error = wrong[0] / cfg.n_test, wrong[1] / cfg.n_valid
            state.evals.append((u, test_error, valid_error, window.mean()))
            window = _LossWindow(eager, u)
        bar.set_postfix(test_error=f"{test_error:.3f}", refresh=False)

    def checkpoint() -> None:
        with clock.apart(measuring=False):
            state.updates, state.window = u, window.values()
            state.train_s, state.measure_s = clock.train_s, clock.measure_s
            save_checkpoint(checkpoint_path, cfg, model, state, schedule)

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
            # The update of §2.3: θ ← θ − ε·g, g the mean gradient over the mini-batch.
            x, y = next(batches)
            loss = cost(model(x), y)
            if not window.append(loss):
                diverged_at = window.diverged_at()
                break
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                torch._foreach_add_(params, grads, alpha=-cfg.lr)
            u += 1
            if u % 256 == 0:
                bar.update(u - bar.n)
        if interrupted.is_set():  # Ctrl-C during the last measurement: keep the finished run
            checkpoint()
            raise KeyboardInterrupt

    train_s = clock.train_s
    trained = u if diverged_at is None else diverged_at - 1
    provenance = {
        "profile": profile,
        "seed": cfg.seed,
        "updates": trained,
        "device": _device_name(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "git_commit": git_commit(),
        "wall_s": train_s + clock.measure_s,
        "train_s": train_s,
        "measure_s": clock.measure_s,
        "updates_per_s": trained / train_s if train_s > 0 else 0.0,
        "weights_sha256": weights_sha256(model),
    }
    return Run(
        config=cfg,
        probes=_stack_probes(state.probes, schedule),
        evals=_stack_evals(state.evals),
        diverged_at=diverged_at,
        provenance=provenance,
    )

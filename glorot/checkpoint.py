"""Checkpoints of a run in progress: the weights, the step and the partial records, in one file.

The file is an npz written atomically; its ``sha256`` entry covers every other entry (names,
dtypes, shapes and bytes, the ``meta`` JSON included), so a damaged checkpoint is told from a sound
one before anything in it is used. A damaged one is reported, deleted, and the run starts again
from its first update: losing a checkpoint costs time, never a wrong number.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from glorot.config import ConfigError, RunConfig
from glorot.provenance import atomic_write_bytes
from glorot.run import EVAL_COLUMNS, stack_evals, stack_probes

FORMAT = 2


class DamagedCheckpoint(UserWarning):
    """A checkpoint failed verification and was discarded; the run restarts from update 0."""


@dataclass
class State:
    """Everything a resumed run needs besides the model: what was measured and how long it took."""

    updates: int = 0
    probes: list[dict[str, np.ndarray]] = field(default_factory=list)
    evals: list[tuple[int, float, float, float]] = field(default_factory=list)
    window: np.ndarray | None = None  # training costs since the last measurement
    train_s: float = 0.0
    measure_s: float = 0.0
    test_pred: np.ndarray | None = None  # uint8, predictions on the test set at the last point
    test_true: np.ndarray | None = None
    not_measured: list[dict] = field(default_factory=list)  # {"updates", "why"}


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(path: Path, cfg: RunConfig, model: torch.nn.Module, state: State, schedule: list[int]):
    """Model, step and partial records in one npz, written atomically. The data stream is indexed
    by batch number and nothing else is random after initialisation, so no RNG state is needed."""
    arrays = {f"model.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    arrays |= {f"probe.{k}": v for k, v in stack_probes(state.probes, schedule).items()}
    evals = stack_evals(state.evals, state.test_pred, state.test_true)
    arrays |= {f"eval.{k}": v for k, v in evals.items()}
    arrays["window"] = state.window if state.window is not None else np.zeros(0)
    meta = {
        "format": FORMAT,
        "key": cfg.key,
        "updates": state.updates,
        "train_s": state.train_s,
        "measure_s": state.measure_s,
        "not_measured": state.not_measured,
    }
    arrays["meta"] = np.asarray(json.dumps(meta))
    arrays["sha256"] = np.asarray(_digest(arrays))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The verified entries and meta of the checkpoint at ``path``; ValueError says what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        # np.load's own messages about pickles would suggest allow_pickle, which is never right
        raise ValueError(f"not a readable npz ({type(err).__name__})") from None
    stored = arrays.pop("sha256", None)
    if stored is None or stored.dtype.kind != "U" or str(stored) != _digest(arrays):
        raise ValueError("its checksum does not match its contents")
    try:
        meta = json.loads(str(arrays["meta"]))
        if meta["format"] != FORMAT:
            raise ValueError(f"format {meta['format']}, expected {FORMAT}")
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise ValueError(f"no valid meta ({type(err).__name__})") from None
    return arrays, meta


def load(path: Path, cfg: RunConfig, model: torch.nn.Module) -> State | None:
    """Restore ``model`` from the checkpoint at ``path`` and return the partial state.

    A checkpoint that fails verification is deleted with a one-line :class:`DamagedCheckpoint`
    warning and None is returned: the run then starts from scratch. A sound checkpoint of another
    run is refused with a ConfigError (it is not this run's to delete).
    """
    try:
        arrays, meta = _read(path)
    except ValueError as err:
        warnings.warn(
            f"damaged checkpoint {path}: {err}; deleted, the run restarts from update 0",
            DamagedCheckpoint,
            stacklevel=3,
        )
        path.unlink(missing_ok=True)
        return None
    if meta.get("key") != cfg.key:
        raise ConfigError(
            f"the checkpoint {path} belongs to another run (key {meta.get('key')}, not {cfg.key}); "
            "delete it or pass another checkpoint_path"
        )
    model.load_state_dict(
        {k[6:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("model.")}
    )
    probe_keys = [k[6:] for k in arrays if k.startswith("probe.") and k != "probe.updates"]
    n_points = len(arrays["probe.updates"])
    columns = [arrays[f"eval.{name}"] for name in EVAL_COLUMNS]
    return State(
        updates=meta["updates"],
        probes=[{k: arrays[f"probe.{k}"][i] for k in probe_keys} for i in range(n_points)],
        evals=[
            (int(u), float(t), float(v), float(loss))
            for u, t, v, loss in zip(*columns, strict=True)
        ],
        window=arrays["window"],
        train_s=meta["train_s"],
        measure_s=meta["measure_s"],
        test_pred=arrays.get("eval.test_pred"),
        test_true=arrays.get("eval.test_true"),
        not_measured=meta["not_measured"],
    )

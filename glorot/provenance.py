"""Where a result came from, and files written so that no reader ever sees half of one.

The provenance of a run (versions, commit, device, timings, a fingerprint of the final weights) is
kept with its record; :func:`atomic_write_bytes` is how records, checkpoints and claim tables reach
the disk.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part:
    a temporary file in the same directory, flushed to disk, then renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


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


def device_name(device: torch.device) -> str:
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


def run_provenance(
    model: torch.nn.Module,
    device: torch.device,
    *,
    profile: str | None,
    seed: int,
    updates: int,
    train_s: float,
    measure_s: float,
) -> dict:
    """What produced a run and how fast: versions, commit, device, timings, final weights."""
    return {
        "profile": profile,
        "seed": seed,
        "updates": updates,
        "device": device_name(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "git_commit": git_commit(),
        "wall_s": train_s + measure_s,
        "train_s": train_s,
        "measure_s": measure_s,
        "updates_per_s": updates / train_s if train_s > 0 else 0.0,
        "weights_sha256": weights_sha256(model),
    }

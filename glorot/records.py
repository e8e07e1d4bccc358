"""One run's record on disk: written whole or not at all, verified byte for byte when read.

A record is a folder named by the run's key holding

- ``record.npz``: the arrays (``probe.<name>`` stacked over probe points, ``eval.<name>``);
- ``meta.json``: key, config, provenance, ``diverged_at``, the sha256 of every other file of the
  record, and ``meta_sha256``, the sha256 of the rest of meta.json, which is written in one
  canonical form: any edited or damaged byte of any file is detected and the record refused.

It is written complete into a temporary folder beside it and renamed into place, so a reader sees a
whole record or none. The cache of :mod:`glorot.store` and the committed records of
:mod:`glorot.published` hold records of this one format.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np

from glorot.config import ConfigError, RunConfig
from glorot.keylock import temp_name
from glorot.run import Run

FORMAT = 2  # layout of a stored record; bump when it changes
RECORD_FILES = ("record.npz", "meta.json")


def _npz_bytes(arrays: dict[str, np.ndarray], compress: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _meta_digest(meta: dict) -> str:
    """sha256 of meta.json's content without its own checksum."""
    rest = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return _sha256(json.dumps(rest, sort_keys=True, allow_nan=False).encode())


def _meta_text(meta: dict) -> str:
    """The one form in which meta.json is written (and compared when read)."""
    return json.dumps(meta, indent=1, sort_keys=True, allow_nan=False)


def _write_file(path: Path, data: bytes) -> None:
    """A file of a record in its temporary folder, flushed to disk."""
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system can sync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write(run: Run, folder: Path, compress: bool = False) -> Path:
    """Write the record of ``run`` as ``folder``, replacing any record there; returns ``folder``.

    The files go into a temporary folder, meta.json (the checksums of the others) last, and the
    folder is renamed into place: a reader never sees a part of a record. ``compress`` deflates
    the arrays (the committed records); the checksums cover the bytes as written either way.
    """
    arrays = {f"probe.{k}": v for k, v in run.probes.items()}
    arrays |= {f"eval.{k}": v for k, v in run.evals.items()}
    files = {"record.npz": _npz_bytes(arrays, compress)}
    meta = {
        "format": FORMAT,
        "key": run.config.key,
        "config": run.config.to_dict(),
        "diverged_at": run.diverged_at,
        "provenance": strict(run.provenance),
        "files": {name: _sha256(data) for name, data in files.items()},
    }
    meta["meta_sha256"] = _meta_digest(meta)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / temp_name("tmp", run.config.key)
    tmp.mkdir()
    try:
        for name, data in files.items():
            _write_file(tmp / name, data)
        _write_file(tmp / "meta.json", _meta_text(meta).encode("utf-8"))
        _fsync_dir(tmp)
        _place(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _place(tmp: Path, folder: Path) -> None:
    """Rename the complete record ``tmp`` to ``folder``, moving an older record aside first."""
    for _ in range(100):
        try:
            os.rename(tmp, folder)
            _fsync_dir(folder.parent)
            return
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        old = folder.parent / temp_name("old", folder.name)
        with contextlib.suppress(FileNotFoundError):  # another writer moved it first
            os.rename(folder, old)
            shutil.rmtree(old, ignore_errors=True)
    raise OSError(errno.EBUSY, f"could not put the record in place at {folder}")


def strict(value):
    """``value`` with every non-finite float replaced by None: strict JSON (RFC 8259)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def strict_json(value) -> str:
    """JSON text of ``value`` that every parser accepts: NaN and infinities become null."""
    return json.dumps(strict(value), allow_nan=False)


def read(folder: Path, cfg: RunConfig) -> Run | str | None:
    """The verified record in ``folder``; None when there is none; else why it is refused."""
    try:
        present = set(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        raise ConfigError(
            f"cannot read run records in {folder.parent} ({err.strerror}); "
            "point GLOROT_CACHE at a readable folder"
        ) from None
    if "meta.json" not in present:
        return "meta.json is missing"
    try:
        text = (folder / "meta.json").read_bytes().decode("utf-8")
        meta = json.loads(text)
    except OSError as err:
        return f"meta.json is unreadable ({err.strerror})"
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "meta.json is not valid JSON (damaged)"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return "unknown record format"
    if text != _meta_text(meta) or meta.get("meta_sha256") != _meta_digest(meta):
        return "meta.json fails its checksum (edited or damaged)"
    listed = meta.get("files")
    if not isinstance(listed, dict) or present != set(listed) | {"meta.json"}:
        return f"its files {sorted(present)} are not those its meta.json lists"
    if meta.get("key") != cfg.key or meta.get("config") != cfg.to_dict():
        return "its config differs from the one asked for"
    data = {}
    for name, digest in listed.items():
        try:
            data[name] = (folder / name).read_bytes()
        except OSError as err:
            return f"{name} is unreadable ({err.strerror})"
        if _sha256(data[name]) != digest:
            return f"{name} fails its checksum (truncated or damaged)"
    try:
        with np.load(io.BytesIO(data["record.npz"]), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (KeyError, OSError, ValueError) as err:
        return f"record.npz does not load ({err})"
    return Run(
        config=cfg,
        probes={k[6:]: v for k, v in arrays.items() if k.startswith("probe.")},
        evals={k[5:]: v for k, v in arrays.items() if k.startswith("eval.")},
        diverged_at=meta["diverged_at"],
        provenance=meta["provenance"],
    )

"""What an executed chapter was made from, so that a page counts as out of date when it changed:
the stamp of its inputs (cells, parameters, profile, the library's source), and the stored runs it
read.

A run's digest is its record's checksum (``meta_sha256`` of its ``meta.json``, over every file,
:mod:`glorot.store`). While a chapter executes, every run that :mod:`glorot.experiments` (and the
at-init runs of :mod:`glorot.claims.gradients`) hands to it is appended, key and digest, to the
file named by the environment variable :data:`READS_ENV` (nothing is written when it is unset). The
book then keeps {key: digest} in the executed notebook's metadata (:func:`stamp`), and
:func:`changed` lists the runs whose stored digest is no longer the one the page was made from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import nbformat

STAMP_KEY = "glorot"  # notebook metadata entry holding the stamp of the execution
_PACKAGE = Path(__file__).resolve().parent
READS_ENV = "GLOROT_READS"  # file to which an executing chapter appends the runs it reads
METADATA_KEY = "glorot_runs"  # notebook metadata entry: {run key: digest}


def digest(key: str) -> str | None:
    """The digest of the record the store reads for ``key``, committed or cached (None when it
    holds none)."""
    from glorot.store import locate

    folder = locate(key)
    if folder is None:
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return meta.get("meta_sha256")  # covers every file of the record (glorot.store)


def read(runs: Sequence) -> list:
    """Note ``runs`` as read by the executing chapter (when :data:`READS_ENV` is set); returns
    them unchanged, so that it wraps any function that hands runs to a chapter."""
    path = os.environ.get(READS_ENV)
    runs = list(runs)
    if path:
        lines = "".join(
            json.dumps({"key": r.config.key, "digest": digest(r.config.key)}) + "\n" for r in runs
        )
        with open(path, "a", encoding="utf-8") as f:
            f.write(lines)
    return runs


def reads(path: str | Path) -> dict[str, str | None]:
    """{key: digest} of the runs noted in ``path`` (empty when the file does not exist)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return {
        (d := json.loads(line))["key"]: d["digest"] for line in text.splitlines() if line.strip()
    }


def stamp(metadata: dict, runs: Mapping[str, str | None]) -> dict:
    """``metadata`` (a notebook's) with the runs its outputs came from, sorted by key."""
    metadata[METADATA_KEY] = dict(sorted(runs.items()))
    return metadata


def changed(metadata: Mapping) -> list[str]:
    """Keys of the runs a page was made from whose stored record is gone or differs now; empty
    for a page that read no runs (or was executed before digests were kept)."""
    return [k for k, d in metadata.get(METADATA_KEY, {}).items() if digest(k) != d]


@contextlib.contextmanager
def recording() -> Iterator[Path]:
    """While the block runs, chapters executed from this process (their kernels inherit the
    environment) note the runs they read in the yielded file; the file is removed afterwards."""
    fd, name = tempfile.mkstemp(prefix="glorot-reads-", suffix=".jsonl")
    os.close(fd)
    old = os.environ.get(READS_ENV)
    os.environ[READS_ENV] = name
    try:
        yield Path(name)
    finally:
        if old is None:
            os.environ.pop(READS_ENV, None)
        else:
            os.environ[READS_ENV] = old
        Path(name).unlink(missing_ok=True)


def notebook_changed(notebook: str | Path) -> list[str]:
    """:func:`changed` for an executed notebook on disk (empty when it does not exist)."""
    if not Path(notebook).is_file():
        return []
    return changed(nbformat.read(notebook, as_version=4).metadata)


# ---- the stamp of an execution: its inputs, its parameters, the library ------------------------


def package_hash() -> str:
    """A hash of the library's source: results change when the code that makes them changes."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(path.relative_to(_PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _input_cells(nb) -> list:
    """What a reader wrote: cell types, sources and tags, without outputs or injected parameters."""
    return [
        [cell.cell_type, cell.source, sorted(cell.get("metadata", {}).get("tags", []))]
        for cell in nb.cells
        if "injected-parameters" not in cell.get("metadata", {}).get("tags", [])
    ]


def execution_stamp(notebook: Path, params: dict, profile: str) -> str:
    """The stamp of executing ``notebook`` with ``params`` at ``profile``."""
    nb = nbformat.read(notebook, as_version=4)
    payload = json.dumps(
        {
            "cells": _input_cells(nb),
            "parameters": params,
            "profile": profile,
            "package": package_hash(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def stored_stamp(notebook: Path) -> str | None:
    """The stamp an executed notebook carries, or None (never executed, or it failed)."""
    if not notebook.is_file():
        return None
    nb = nbformat.read(notebook, as_version=4)
    return nb.metadata.get(STAMP_KEY, {}).get("stamp")


def write_stamp(notebook: Path, value: str, profile: str) -> None:
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata[STAMP_KEY] = {"stamp": value, "profile": profile}
    nbformat.write(nb, notebook)

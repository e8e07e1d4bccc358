"""Files a command writes for the reader (``--out``): checked before any work starts, then
written whole or not at all."""

from __future__ import annotations

import tempfile
from pathlib import Path

from glorot.checks import ConfigError


def _nearest_folder(path: Path) -> Path:
    """The deepest existing ancestor of ``path``."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def check_out(path: Path, what: str = "--out") -> None:
    """ConfigError unless a file can be written at ``path``; tried with a temporary file that is
    removed at once, so a refused path leaves nothing behind."""
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give a file name inside it")
    parent = _nearest_folder(path)
    if not parent.is_dir():
        raise ConfigError(f"{what} {path}: {parent} is a file, not a folder; choose another path")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as err:
        raise ConfigError(
            f"{what} {path}: cannot write in {parent} ({err.strerror or err}); choose another path"
        ) from None


def write_out(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` whole or not at all, creating its folders; on failure the
    folders this call created go too."""
    from glorot.provenance import atomic_write_bytes

    created = []
    folder = path.parent
    while not folder.exists():
        created.append(folder)
        folder = folder.parent
    try:
        for folder in reversed(created):
            folder.mkdir()
        atomic_write_bytes(path, data)
    except BaseException:
        for folder in created:
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        raise

"""The right to compute one key: a lock file per key, and the debris of writers that died.

A configuration is computed once however many processes ask for it: the one that computes holds
``<cache>/runs/<key>.lock`` (created with O_CREAT | O_EXCL, which works on one machine and on
shared file systems alike); the others wait and then load its record. A lock whose holder died is
broken: on the holder's host when its pid is gone, elsewhere when it has not been refreshed for
``LOCK_STALE_S`` seconds. Temporary files are named after their writer (:func:`temp_name`), so
those of a killed writer are recognised and removed (:func:`clean_debris`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path

LOCK_HEARTBEAT_S = 5.0  # a holder refreshes its lock this often
LOCK_STALE_S = 60.0  # a lock of another host not refreshed for this long is its dead holder's
TEMP_STALE_S = 24 * 3600.0  # temporary files of unknown owners older than this are debris
_HOST = socket.gethostname()


def temp_name(kind: str, key: str) -> str:
    """``.<kind>.<key>.<host>.<pid>.<token>``: who wrote it, so a dead writer's debris is known."""
    return f".{kind}.{key}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or not a pid we can judge: assume it lives
    return True


def _holder(path: Path) -> dict | None:
    """What a lock file says about its holder; None when it is gone; {} while unreadable."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _stale(path: Path, holder: dict) -> bool:
    """A lock is stale when its holder is known dead, or it has not been refreshed for long."""
    if holder.get("host") == _HOST and isinstance(holder.get("pid"), int):
        return not _alive(holder["pid"])
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age > LOCK_STALE_S


class KeyLock:
    """The right to compute one key: a lock file made with O_CREAT | O_EXCL, holding the pid and
    host of its holder, refreshed every ``LOCK_HEARTBEAT_S`` seconds while held."""

    def __init__(self, path: Path):
        self.path = path
        self.token = secrets.token_hex(8)
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or stale); False when a live holder has it."""
        info = {"pid": os.getpid(), "host": _HOST, "token": self.token, "since": time.time()}
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(self.path)
            if holder is not None and _stale(self.path, holder):
                self._break(holder)
            return False
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(info))
                f.flush()
                os.fsync(f.fileno())
        except BaseException:  # a full disk, say: no lock without a holder is left behind
            self.path.unlink(missing_ok=True)
            raise
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()
        return True

    def _break(self, holder: dict) -> None:
        """Remove a dead holder's lock: renamed first, so of several breakers one succeeds."""
        aside = self.path.with_name(temp_name("stale", self.path.name))
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        if _holder(aside) == holder or holder == {}:
            aside.unlink(missing_ok=True)
        else:  # a live holder took the lock in between: give it back
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            aside.unlink(missing_ok=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(LOCK_HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
            self._beat = None
        if (_holder(self.path) or {}).get("token") == self.token:
            self.path.unlink(missing_ok=True)


def clean_debris(runs: Path, key: str) -> None:
    """Remove what killed writers left in ``runs``: every temporary file of ``key`` (the caller
    holds its lock, so none is being written), and others whose writer on this host is dead or
    which are older than ``TEMP_STALE_S``."""
    checkpoints = runs.parent / "checkpoints"
    now = time.time()
    for folder in (runs, checkpoints):
        try:
            names = [n for n in os.listdir(folder) if n.startswith(".")]
        except OSError:
            continue
        for name in names:
            path = folder / name
            parts = name.split(".")  # '', kind, key..., host, pid, token
            mine = key in parts or name.startswith(f".{key}.npz.")
            dead = (
                len(parts) >= 6
                and parts[1] in ("tmp", "old", "stale")
                and parts[-3] == _HOST
                and parts[-2].isdigit()
                and not _alive(int(parts[-2]))
            )
            try:
                old = now - path.lstat().st_mtime > TEMP_STALE_S
            except FileNotFoundError:
                continue
            if mine or dead or old:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

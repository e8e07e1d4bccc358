"""Content-addressed results: one record per run key, verified when read, computed once.

A run is stored in ``<cache>/runs/<cfg.key>/``:

- ``record.npz``: the arrays (``probe.<name>`` stacked over probe points, ``eval.<name>``);
- ``meta.json``: key, config, provenance, ``diverged_at``, the sha256 of every other file of the
  record, and ``meta_sha256``, the sha256 of the rest of meta.json, which is written in one
  canonical form: any edited or damaged byte of any file is detected and the run recomputed.

A record is written complete into a temporary folder beside it and renamed into place, so a
reader sees a whole record or none. While a run is in progress its checkpoint is
``<cache>/checkpoints/<cfg.key>.npz``: an interrupted run resumes from it and ends with the same
numbers as an uninterrupted one (see :func:`glorot.train.train`).

A configuration is computed once however many processes ask for it: the one that computes holds
``<cache>/runs/<cfg.key>.lock`` (created with O_CREAT | O_EXCL, which works on one machine and on
shared file systems alike); the others wait and then load its record. A lock whose holder died is
broken: on the holder's host when its pid is gone, elsewhere when it has not been refreshed for
``LOCK_STALE_S`` seconds. The temporary files of a killed writer are removed when the store next
computes in that folder.

The key covers the whole config, the data generator's version and the code salt
(:attr:`glorot.config.RunConfig.key`), so a changed parameter is a new record, never a stale one.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import hashlib
import io
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from glorot.config import ConfigError, RunConfig, env_path
from glorot.run import Run
from glorot.train import quiet, train

FORMAT = 2  # layout of a stored record; bump when it changes
_REPO = Path(__file__).resolve().parent.parent
RECORD_FILES = ("record.npz", "meta.json")
LOCK_HEARTBEAT_S = 5.0  # a holder refreshes its lock this often
LOCK_STALE_S = 60.0  # a lock of another host not refreshed for this long is its dead holder's
TEMP_STALE_S = 24 * 3600.0  # temporary files of unknown owners older than this are debris
_HOST = socket.gethostname()


def cache_dir() -> Path:
    """Where records live: ``$GLOROT_CACHE``, else ``.glorot-cache`` in the repository (when the
    package sits in a checkout), else ``~/.cache/glorot``."""
    configured = env_path("GLOROT_CACHE")
    if configured is not None:
        return configured
    if (_REPO / "pyproject.toml").is_file() or (_REPO / ".git").exists():
        return _REPO / ".glorot-cache"
    return Path.home() / ".cache" / "glorot"


def run_dir(cfg: RunConfig) -> Path:
    return cache_dir() / "runs" / cfg.key


def checkpoint_path(cfg: RunConfig) -> Path:
    """Where the run of ``cfg`` checkpoints while it is in progress."""
    return cache_dir() / "checkpoints" / f"{cfg.key}.npz"


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
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


def _temp_name(kind: str, key: str) -> str:
    """``.<kind>.<key>.<host>.<pid>.<token>``: who wrote it, so a dead writer's debris is known."""
    return f".{kind}.{key}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}"


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system can sync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save(run: Run) -> Path:
    """Store ``run`` under its key, replacing any record there; returns the record's directory.

    The files go into a temporary folder, meta.json (the checksums of the others) last, and the
    folder is renamed into place: a reader never sees a part of a record.
    """
    folder = run_dir(run.config)
    arrays = {f"probe.{k}": v for k, v in run.probes.items()}
    arrays |= {f"eval.{k}": v for k, v in run.evals.items()}
    files = {"record.npz": _npz_bytes(arrays)}
    meta = {
        "format": FORMAT,
        "key": run.config.key,
        "config": run.config.to_dict(),
        "diverged_at": run.diverged_at,
        "provenance": _strict(run.provenance),
        "files": {name: _sha256(data) for name, data in files.items()},
    }
    meta["meta_sha256"] = _meta_digest(meta)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / _temp_name("tmp", run.config.key)
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
        old = folder.parent / _temp_name("old", folder.name)
        with contextlib.suppress(FileNotFoundError):  # another writer moved it first
            os.rename(folder, old)
            shutil.rmtree(old, ignore_errors=True)
    raise OSError(errno.EBUSY, f"could not put the record in place at {folder}")


def _strict(value):
    """``value`` with every non-finite float replaced by None: strict JSON (RFC 8259)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def strict_json(value) -> str:
    """JSON text of ``value`` that every parser accepts: NaN and infinities become null."""
    return json.dumps(_strict(value), allow_nan=False)


def outcome(run: Run) -> str:
    """How a run ended, in words for a summary or a claims table: 'diverged at update N' (its
    training cost was not finite there, so its errors are not numbers), 'at initialization', or
    'trained N updates'."""
    if run.diverged_at is not None:
        return f"diverged at update {run.diverged_at:,}"
    if run.config.updates == 0:
        return "at initialization"
    return f"trained {run.config.updates:,} updates"


def summary(run: Run) -> dict:
    """:meth:`Run.to_summary` with the run's :func:`outcome`, free of NaN and infinities."""
    return _strict(run.to_summary() | {"outcome": outcome(run)})


def _reject(folder: Path, why: str) -> None:
    warnings.warn(
        f"ignoring the stored run in {folder}: {why}; it will be recomputed", stacklevel=3
    )


def _read(folder: Path, cfg: RunConfig) -> Run | str | None:
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


def _inode(folder: Path) -> int | None:
    try:
        return os.stat(folder).st_ino
    except OSError:
        return None


def _load(cfg: RunConfig) -> Run | str | None:
    folder = run_dir(cfg)
    for _ in range(5):
        before = _inode(folder)
        result = _read(folder, cfg)
        if _inode(folder) == before:
            return result
        # The record was replaced while it was read: read the new one.
    return result


def load(cfg: RunConfig) -> Run | None:
    """The stored record of ``cfg``, or None when there is none or it fails verification.

    A missing record returns None quietly (the normal cold-cache case); a damaged, edited or
    mismatched one returns None with a warning that says why, so the caller recomputes it.
    """
    result = _load(cfg)
    if isinstance(result, str):
        _reject(run_dir(cfg), result)
        return None
    return result


# ---- one computation per key ------------------------------------------------------------------


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
        aside = self.path.with_name(_temp_name("stale", self.path.name))
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


def lock_path(cfg: RunConfig) -> Path:
    return run_dir(cfg).with_name(f"{cfg.key}.lock")


def _clean_debris(runs: Path, key: str) -> None:
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


def check_writable(folder: Path) -> None:
    """ConfigError naming the folder and the fix when records cannot be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ConfigError(
            f"cannot write run records in {folder} ({err.strerror or err}); "
            "point GLOROT_CACHE at a writable folder"
        ) from None


@contextlib.contextmanager
def computing(cfg: RunConfig, *, reuse: bool = True, poll: float = 0.05) -> Iterator[Run | None]:
    """Hold the lock of ``cfg``'s key for as long as the block runs.

    With ``reuse``, yields the stored run when another process stored it while this one waited
    (the block then just returns it); otherwise, or when there is none, yields None with the lock
    held: the block computes the run and this process alone does.
    """
    lock = KeyLock(lock_path(cfg))
    delay, waited = poll, False
    while not lock.try_acquire():
        waited = True
        found = _load(cfg) if reuse else None
        if isinstance(found, Run):
            yield found
            return
        time.sleep(delay)
        delay = min(1.0, delay * 1.5)
    try:
        found = _load(cfg) if reuse and waited else None
        yield found if isinstance(found, Run) else None
    finally:
        lock.release()


def load_or_run(
    cfg: RunConfig, *, progress: bool = False, force: bool = False, profile: str | None = None
) -> Run:
    """The stored run of ``cfg``, training and storing it first when needed.

    Training checkpoints every ``cfg.probe_every`` updates and on Ctrl-C, so a long run that was
    interrupted continues where it stopped. ``force`` discards the stored record and any
    checkpoint and trains afresh. ``profile`` is only recorded in the provenance. Processes that
    ask for the same configuration at once compute it once (see :func:`computing`).
    """
    if not isinstance(cfg, RunConfig):
        raise ConfigError(
            f"expected a RunConfig, got {type(cfg).__name__}; build one with RunConfig()"
        )
    cfg.validate()
    if not force:
        run = load(cfg)
        if run is not None:
            return run
    cfg.check_fits()
    check_writable(run_dir(cfg).parent)
    with computing(cfg, reuse=not force) as stored:
        if stored is not None:
            return stored
        _clean_debris(run_dir(cfg).parent, cfg.key)
        checkpoint = checkpoint_path(cfg)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        if force:
            checkpoint.unlink(missing_ok=True)
        run = train(
            cfg,
            progress=progress,
            checkpoint_path=checkpoint,
            checkpoint_every=cfg.probe_every,
            profile=profile,
        )
        save(run)
        checkpoint.unlink(missing_ok=True)
    return run


def _worker_init() -> None:
    os.environ["GLOROT_QUIET"] = "1"  # one progress bar (the parent's), not one per worker


def run_many(
    cfgs: Sequence[RunConfig],
    workers: int = 1,
    progress: bool = False,
    *,
    executor: concurrent.futures.Executor | None = None,
    profile: str | None = None,
    stage: str = "runs",
) -> list[Run]:
    """The runs of ``cfgs``, in order: stored ones are loaded, missing ones trained and stored.
    ``stage`` names the progress bar ("learning-rate selection", "main runs", ...).

    Runs are independent and content-addressed, so a sweep is a list of configs handed to an
    executor. Locally, ``workers > 1`` uses a process pool of that size (spawned processes; each
    run trains on ``GLOROT_THREADS`` threads, see :func:`glorot.train.train`). Any
    :class:`concurrent.futures.Executor` can be passed instead, which is how the same list goes to a cluster::

        from dask.distributed import Client          # Dask
        runs = run_many(cfgs, executor=Client("scheduler:8786").get_executor())

        from ray.util.multiprocessing import Pool    # Ray: a Pool is not an Executor, so
        with Pool() as pool:                          # map load_or_run over the missing configs
            pool.map(load_or_run, [c for c in cfgs if load(c) is None])

    Workers call :func:`load_or_run` in their own cache (point ``GLOROT_CACHE`` at a shared file
    system to let them share records); each returned run is also stored here, so the caller's cache
    holds every record afterwards either way. Duplicate configs are computed once.
    """
    cfgs = list(cfgs)
    for cfg in cfgs:
        if not isinstance(cfg, RunConfig):
            raise ConfigError(f"run_many takes RunConfigs, got {type(cfg).__name__}")
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    done: dict[str, Run] = {}
    missing: dict[str, RunConfig] = {}
    for cfg in cfgs:
        if cfg.key not in done and cfg.key not in missing:
            run = load(cfg)
            if run is None:
                missing[cfg.key] = cfg
            else:
                done[cfg.key] = run
    if missing:
        done |= _compute(list(missing.values()), workers, progress, executor, profile, stage)
    return [done[cfg.key] for cfg in cfgs]


def _compute(
    cfgs: list[RunConfig],
    workers: int,
    progress: bool,
    executor: concurrent.futures.Executor | None,
    profile: str | None,
    stage: str = "runs",
) -> dict[str, Run]:
    from tqdm import tqdm

    bar = tqdm(total=len(cfgs), desc=stage, unit="run", disable=not progress or quiet())
    runs: dict[str, Run] = {}
    with bar:
        if executor is None and workers == 1:
            for cfg in cfgs:
                runs[cfg.key] = load_or_run(cfg, progress=progress, profile=profile)
                bar.update()
            return runs
        own = executor is None
        if own:
            executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=workers,
                # spawn, not fork: a forked child inherits the parent's OpenMP pool and can hang
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
            )
        try:
            futures = {executor.submit(load_or_run, cfg, profile=profile): cfg for cfg in cfgs}
            for future in concurrent.futures.as_completed(futures):
                run = future.result()
                if not (run_dir(run.config) / "meta.json").exists():
                    save(run)
                runs[run.config.key] = run
                bar.update()
        finally:
            if own:
                executor.shutdown(cancel_futures=True)
    return runs

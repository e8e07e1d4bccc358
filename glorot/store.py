"""Content-addressed results: one record per run key, verified when read, computed once.

A run is stored in ``<cache>/runs/<cfg.key>/`` (the files of :mod:`glorot.records`). Below the
cache lie the committed records of the published book, ``results/<profile>/<key>/``, a read-only
tier (:func:`tiers`): :func:`load` takes a run from there first, so a fresh clone renders the book
without training, and the cache holds what was computed here. ``GLOROT_RECORDS=off`` ignores the
committed records (a recomputation).

While a run is in progress its checkpoint is ``<cache>/checkpoints/<cfg.key>.npz``: an interrupted
run resumes from it and ends with the same numbers as an uninterrupted one (see
:func:`glorot.train.train`). A configuration is computed once however many processes ask for it
(:mod:`glorot.keylock`).

The key covers the whole config, the data generator's version and the code salt
(:attr:`glorot.config.RunConfig.key`), so a changed parameter is a new record, never a stale one.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from glorot.config import ConfigError, RunConfig, env_path
from glorot.environment import RECORDS_CHOICES, env_choice
from glorot.keylock import KeyLock, clean_debris
from glorot.records import read, strict_json, write
from glorot.records import strict as _strict
from glorot.run import Run
from glorot.train import quiet, train

__all__ = ["cache_dir", "load", "load_or_run", "run_many", "save", "strict_json", "tiers"]

_REPO = Path(__file__).resolve().parent.parent
RECORDS_ENV = "GLOROT_RECORDS"  # "off": ignore the committed records (results/)


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


def records_root() -> Path:
    """The folder of the committed records: ``results/`` in the repository."""
    return _REPO / "results"


def tiers() -> list[Path]:
    """The read-only folders of committed records, ``results/<profile>/``, that :func:`load`
    reads before the cache; none when ``GLOROT_RECORDS=off``."""
    if env_choice(RECORDS_ENV, RECORDS_CHOICES, "setting") == "off":
        return []
    root = records_root()
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def locate(key: str) -> Path | None:
    """The folder of the record :func:`load` reads for ``key``: a committed one first, else the
    cache's; None when neither holds it."""
    for folder in [tier / key for tier in tiers()] + [cache_dir() / "runs" / key]:
        if (folder / "meta.json").is_file():
            return folder
    return None


def save(run: Run) -> Path:
    """Store ``run`` in the cache under its key, replacing any record there; returns the folder."""
    folder = run_dir(run.config)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return write(run, folder)


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


def _reject(folder: Path, why: str, then: str = "it will be recomputed") -> None:
    warnings.warn(f"ignoring the stored run in {folder}: {why}; {then}", stacklevel=3)


def _inode(folder: Path) -> int | None:
    try:
        return os.stat(folder).st_ino
    except OSError:
        return None


def _load(cfg: RunConfig) -> Run | str | None:
    folder = run_dir(cfg)
    for _ in range(5):
        before = _inode(folder)
        result = read(folder, cfg)
        if _inode(folder) == before:
            return result
        # The record was replaced while it was read: read the new one.
    return result


def load(cfg: RunConfig) -> Run | None:
    """The stored record of ``cfg``, or None when there is none or it fails verification: the
    committed record when a tier holds it (:func:`tiers`), else the cache's.

    A missing record returns None quietly (the normal cold-cache case); a damaged, edited or
    mismatched one returns None with a warning that says why, so the caller recomputes it.
    """
    for tier in tiers():
        found = read(tier / cfg.key, cfg)
        if isinstance(found, Run):
            return found
        if isinstance(found, str):
            _reject(tier / cfg.key, found, "the cache's record is used, or the run recomputed")
    result = _load(cfg)
    if isinstance(result, str):
        _reject(run_dir(cfg), result)
        return None
    return result


def lock_path(cfg: RunConfig) -> Path:
    return run_dir(cfg).with_name(f"{cfg.key}.lock")


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
        clean_debris(run_dir(cfg).parent, cfg.key)
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
    force: bool = False,
) -> list[Run]:
    """The runs of ``cfgs``, in order: stored ones are loaded, missing ones trained and stored
    (with ``force``, every one is trained again). ``stage`` names the progress bar
    ("learning-rate selection", "main runs", ...).

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
            run = None if force else load(cfg)
            if run is None:
                missing[cfg.key] = cfg
            else:
                done[cfg.key] = run
    if missing:
        done |= _compute(list(missing.values()), workers, progress, executor, profile, stage, force)
    return [done[cfg.key] for cfg in cfgs]


def _compute(
    cfgs: list[RunConfig],
    workers: int,
    progress: bool,
    executor: concurrent.futures.Executor | None,
    profile: str | None,
    stage: str = "runs",
    force: bool = False,
) -> dict[str, Run]:
    from tqdm import tqdm

    bar = tqdm(total=len(cfgs), desc=stage, unit="run", disable=not progress or quiet())
    runs: dict[str, Run] = {}
    with bar:
        if executor is None and workers == 1:
            for cfg in cfgs:
                runs[cfg.key] = load_or_run(cfg, progress=progress, profile=profile, force=force)
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
            futures = {
                executor.submit(load_or_run, cfg, profile=profile, force=force): cfg for cfg in cfgs
            }
            for future in concurrent.futures.as_completed(futures):
                run = future.result()
                if force or not (run_dir(run.config) / "meta.json").exists():
                    save(run)
                runs[run.config.key] = run
                bar.update()
        finally:
            if own:
                executor.shutdown(cancel_futures=True)
    return runs

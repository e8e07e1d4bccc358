"""Content-addressed results: one record per run key, written atomically, verified when read.

A run is stored in ``<cache>/runs/<cfg.key>/``:

- ``record.npz``: the arrays (``probe.<name>`` stacked over probe points, ``eval.<name>``);
- ``meta.json``: key, config, provenance, ``diverged_at`` and the sha256 of ``record.npz``. It is
  written last, so a record without it is incomplete, and its checksum catches a damaged npz;
- ``checkpoint.npz`` while the run is in progress: an interrupted run resumes from it and ends with
  the same numbers as an uninterrupted one (see :func:`glorot.train.train`).

The key covers the whole config, the data generator's version and the code salt
(:attr:`glorot.config.RunConfig.key`), so a changed parameter is a new record, never a stale one.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glorot.config import ConfigError, RunConfig
from glorot.provenance import atomic_write_bytes, atomic_write_text
from glorot.run import Run
from glorot.train import quiet, train

FORMAT = 1  # layout of a stored record; bump when it changes
_REPO = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Where records live: ``$GLOROT_CACHE``, else ``.glorot-cache`` in the repository (when the
    package sits in a checkout), else ``~/.cache/glorot``."""
    if os.environ.get("GLOROT_CACHE"):
        return Path(os.environ["GLOROT_CACHE"]).expanduser()
    if (_REPO / "pyproject.toml").is_file() or (_REPO / ".git").exists():
        return _REPO / ".glorot-cache"
    return Path.home() / ".cache" / "glorot"


def run_dir(cfg: RunConfig) -> Path:
    return cache_dir() / "runs" / cfg.key


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save(run: Run) -> Path:
    """Store ``run`` under its key; returns the record's directory."""
    folder = run_dir(run.config)
    arrays = {f"probe.{k}": v for k, v in run.probes.items()}
    arrays |= {f"eval.{k}": v for k, v in run.evals.items()}
    data = _npz_bytes(arrays)
    meta = {
        "format": FORMAT,
        "key": run.config.key,
        "config": run.config.to_dict(),
        "diverged_at": run.diverged_at,
        "provenance": run.provenance,
        "npz_sha256": hashlib.sha256(data).hexdigest(),
    }
    # The old meta goes first: until the new one is in place the record reads as incomplete.
    with contextlib.suppress(FileNotFoundError):
        (folder / "meta.json").unlink()
    atomic_write_bytes(folder / "record.npz", data)
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=1, sort_keys=True))
    return folder


def _reject(folder: Path, why: str) -> None:
    warnings.warn(
        f"ignoring the stored run in {folder}: {why}; it will be recomputed", stacklevel=3
    )


def load(cfg: RunConfig) -> Run | None:
    """The stored record of ``cfg``, or None when there is none or it fails verification.

    A missing record returns None quietly (the normal cold-cache case); an incomplete, damaged or
    mismatched one returns None with a warning, so the caller recomputes it.
    """
    folder = run_dir(cfg)
    meta_path, npz_path = folder / "meta.json", folder / "record.npz"
    if not meta_path.exists():
        if npz_path.exists():
            _reject(folder, "meta.json is missing (an interrupted write)")
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = npz_path.read_bytes()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        _reject(folder, f"unreadable ({err})")
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        _reject(folder, "unknown record format")
        return None
    if meta.get("key") != cfg.key or meta.get("config") != cfg.to_dict():
        _reject(folder, "its config differs from the one asked for")
        return None
    if hashlib.sha256(data).hexdigest() != meta.get("npz_sha256"):
        _reject(folder, "record.npz fails its checksum (truncated or damaged)")
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as err:
        _reject(folder, f"record.npz does not load ({err})")
        return None
    return Run(
        config=cfg,
        probes={k[6:]: v for k, v in arrays.items() if k.startswith("probe.")},
        evals={k[5:]: v for k, v in arrays.items() if k.startswith("eval.")},
        diverged_at=meta.get("diverged_at"),
        provenance=meta.get("provenance", {}),
    )


def load_or_run(
    cfg: RunConfig, *, progress: bool = False, force: bool = False, profile: str | None = None
) -> Run:
    """The stored run of ``cfg``, training and storing it first when needed.

    Training checkpoints into the run's folder every ``cfg.probe_every`` updates and on Ctrl-C, so a
    long run that was interrupted continues where it stopped. ``force`` discards the stored record
    and any checkpoint and trains afresh. ``profile`` is only recorded in the provenance.
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
    checkpoint = run_dir(cfg) / "checkpoint.npz"
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
) -> list[Run]:
    """The runs of ``cfgs``, in order: stored ones are loaded, missing ones trained and stored.

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
        done |= _compute(list(missing.values()), workers, progress, executor, profile)
    return [done[cfg.key] for cfg in cfgs]


def _compute(
    cfgs: list[RunConfig],
    workers: int,
    progress: bool,
    executor: concurrent.futures.Executor | None,
    profile: str | None,
) -> dict[str, Run]:
    from tqdm import tqdm

    bar = tqdm(total=len(cfgs), desc="runs", unit="run", disable=not progress or quiet())
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

"""Sweeps on a Dask cluster: every run the chosen chapters read, computed by the cluster's workers.

The store is the exchange. A worker trains a run with :func:`glorot.store.load_or_run`, which
writes its record to the worker's ``GLOROT_CACHE``; when that is one folder of a file system
shared by the workers and this machine, the chapters (``glorot book``) then find every run there.
Nothing but a config goes to a worker and nothing but its key comes back.

The learning rate of a model's main run is chosen by short selection runs (§2.3, see
:mod:`glorot.experiments`), so a sweep has two stages: the selection runs (and the runs that
depend on nothing, such as the nets at initialisation), then, once they are all stored, the main
runs at the rates :func:`glorot.experiments.select_lrs` reads from them.

The profile is an argument throughout: the workers receive complete :class:`RunConfig` objects,
so ``GLOROT_PROFILE`` on a worker cannot change what a sweep computes.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from glorot import experiments, provenance, store
from glorot.config import ConfigError, Profile, RunConfig
from glorot.plan import chapter_names, plan
from glorot.train import quiet

EXTRA = "pip install 'glorot[cluster]'"
# "tcp://10.0.0.5:8786", "tls://[::1]:8786" or "scheduler:8786": a Dask scheduler's address.
ADDRESS = re.compile(r"(?:[a-z]+://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+):\d{1,5}")
CONNECT_TIMEOUT_S = 30.0


class ClusterError(ConfigError):
    """The cluster cannot run the sweep (Dask missing, scheduler unreachable, no shared cache)."""


# ---- the cluster ---------------------------------------------------------------------------------


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            f"Dask (dask.distributed) is not installed; install the cluster extra: {EXTRA}"
        ) from None
    return distributed


def check_scheduler(scheduler: str) -> None:
    """``local`` or a scheduler address such as ``tcp://127.0.0.1:8786``."""
    if scheduler != "local" and not ADDRESS.fullmatch(scheduler):
        raise ConfigError(
            f"--scheduler {scheduler!r} is not a Dask scheduler address; "
            "give one such as tcp://10.0.0.5:8786, or local for a cluster on this machine"
        )


@contextlib.contextmanager
def connect(
    scheduler: str, workers: int | None = None, timeout: float = CONNECT_TIMEOUT_S
) -> Iterator:
    """A ``distributed.Client`` of the cluster at ``scheduler``, with at least ``workers`` workers.

    ``local`` starts a cluster on this machine, on the loopback interface: ``workers`` worker
    processes (default :func:`glorot.experiments.workers`) of one thread each, since each run
    trains on its own threads (``GLOROT_THREADS``). For an address, ``workers`` (default 1) is how
    many workers to wait for before the sweep starts.
    """
    check_scheduler(scheduler)
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"--workers must be an integer >= 1, got {workers!r}")
    distributed = _distributed()
    if scheduler == "local":
        with (
            distributed.LocalCluster(
                n_workers=workers or experiments.workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise ClusterError(
            f"cannot reach a Dask scheduler at {scheduler} ({err}); start one with "
            "`dask scheduler`, or use --scheduler local"
        ) from None
    with client:
        try:
            client.wait_for_workers(workers or 1, timeout=timeout)
        except TimeoutError:
            raise ClusterError(
                f"fewer than {workers or 1} worker(s) joined {scheduler} within {timeout:g} s; "
                f"start them with `dask worker {scheduler} --nthreads 1`"
            ) from None
        yield client


def _sees(marker: str) -> tuple[str, bool]:
    """On a worker: its cache folder, and whether the client's marker file is in it."""
    cache = store.cache_dir()
    return str(cache), (cache / marker).exists()


def check_shared_cache(client) -> None:
    """Every worker's ``GLOROT_CACHE`` must be this machine's: a marker written here is looked
    for in each worker's cache folder (the paths may differ; the folder must be the same)."""
    cache = store.cache_dir()
    marker = f".sweep-{uuid.uuid4().hex}"
    provenance.atomic_write_text(
        cache / marker, "a sweep checks that its workers share this folder\n"
    )
    try:
        seen = client.run(_sees, marker)
    finally:
        (cache / marker).unlink(missing_ok=True)
    for worker, (theirs, ok) in sorted(seen.items()):
        if not ok:
            raise ClusterError(
                f"worker {worker} stores runs in {theirs}, which is not this machine's cache "
                f"{cache}; set GLOROT_CACHE on every worker and here to one folder of a shared "
                "file system"
            )


def _task(cfg: RunConfig, profile: str) -> tuple[str, bool]:
    """On a worker: the run of ``cfg`` stored; returns its key and whether it was trained here
    (False when the store already held it)."""
    if store.load(cfg) is not None:
        return cfg.key, False
    store.load_or_run(cfg, profile=profile)
    return cfg.key, True


def compute(
    client, cfgs: Sequence[RunConfig], profile: str, desc: str = "runs", progress: bool = True
) -> int:
    """Store the runs of ``cfgs`` through the cluster's workers; returns how many were trained.

    One task per distinct run, named after its key, so two sweeps on one scheduler share a task.
    A worker that dies mid-run loses nothing: the scheduler gives its task to another worker,
    which resumes from the run's checkpoint. Runs that this machine's store holds already (the
    committed records or the cache) are not sent; each finished run is looked for in that store,
    so a sweep that ends has stored every run where the chapters will look.
    """
    from distributed import as_completed
    from tqdm import tqdm

    by_key = {cfg.key: cfg for cfg in cfgs}
    # Runs this machine's store already holds (committed records or cache) go to no worker.
    held = {key for key in by_key if store.locate(key) is not None}
    futures = [
        client.submit(_task, cfg, profile, key=f"glorot-run-{key}")
        for key, cfg in by_key.items()
        if key not in held
    ]
    trained = 0
    bar = tqdm(
        total=len(by_key), desc=desc, unit="run", disable=True if not progress or quiet() else None
    )
    try:
        with bar:
            bar.update(len(held))
            for future in as_completed(futures):
                key, computed = future.result()
                if key not in by_key:
                    raise ClusterError(
                        f"a worker stored a run under key {key}, which this machine's glorot does "
                        "not know; install the same version of glorot on every worker"
                    )
                if store.locate(key) is None:
                    raise ClusterError(
                        f"run {key} was stored by a worker but is not in {store.cache_dir()}; "
                        "set GLOROT_CACHE on every worker and here to one shared folder"
                    )
                trained += computed
                bar.update()
    finally:
        client.cancel([f for f in futures if not f.done()])
    return trained


@dataclass(frozen=True)
class Outcome:
    """What a sweep did: every run of its plan, how many were trained, and its wall time."""

    keys: tuple[str, ...]
    trained: int
    wall_s: float


def sweep(
    client,
    profile: Profile,
    chapters: Sequence[str] = (),
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Every run of ``chapters`` at ``profile`` stored through ``client``'s cluster: the selection
    and fixed runs first, then the main runs that depend on them."""
    start = time.perf_counter()
    work = plan(profile, chapters)
    check_shared_cache(client)
    first = work.first()
    log(f"{len(first)} selection and independent runs")
    trained = compute(client, first, profile.name, "selections", progress)
    then = work.then()
    log(f"{len(then)} main runs at the selected learning rates")
    trained += compute(client, then, profile.name, "main runs", progress)
    keys = tuple(cfg.key for cfg in first + then)
    return Outcome(keys, trained, time.perf_counter() - start)


def command(profile: str | None, only: Sequence[str], scheduler: str, workers: int | None) -> int:
    """``glorot sweep``: every argument checked, then the sweep; returns the exit code."""
    from glorot.book import resolve_profile

    P = resolve_profile(profile)
    what = ", ".join(chapter_names(only)) if only else "the book"
    with connect(scheduler, workers) as client:
        n = len(client.scheduler_info()["workers"])
        print(f"sweeping the runs of {what} at {P.name} scale on {n} Dask worker(s)")
        outcome = sweep(client, P, only)
    print(
        f"{len(outcome.keys)} runs stored in {store.cache_dir()} ({outcome.trained} trained, "
        f"{len(outcome.keys) - outcome.trained} already stored) in {outcome.wall_s:.1f} s"
    )
    return 0

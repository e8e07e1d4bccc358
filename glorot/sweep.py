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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from glorot import experiments, provenance, store
from glorot.config import ConfigError, Profile, RunConfig
from glorot.train import quiet

EXTRA = "pip install 'glorot[cluster]'"
# "tcp://10.0.0.5:8786", "tls://[::1]:8786" or "scheduler:8786": a Dask scheduler's address.
ADDRESS = re.compile(r"(?:[a-z]+://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+):\d{1,5}")
CONNECT_TIMEOUT_S = 30.0


class ClusterError(ConfigError):
    """The cluster cannot run the sweep (Dask missing, scheduler unreachable, no shared cache)."""


# ---- which runs a chapter reads ------------------------------------------------------------------

Model = tuple[
    str, str, int
]  # (activation, init, depth) of a network whose learning rate is selected


@dataclass(frozen=True)
class Needs:
    """The runs a chapter reads from the store at a profile's scale, with its default parameters.

    ``mains``: (activation, init, depth, seed) of main runs at their selected learning rate;
    ``fixed``: runs that depend on no selection; ``finite``: Table 1 on every finite data set
    present, at the rates selected on Shapeset (the chapters' default ``lr_from``).
    """

    mains: tuple[tuple[str, str, int, int], ...] = ()
    fixed: tuple[RunConfig, ...] = ()
    finite: bool = False

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            mains=tuple(dict.fromkeys(self.mains + other.mains)),
            fixed=tuple(dict.fromkeys(self.fixed + other.fixed)),
            finite=self.finite or other.finite,
        )


def _nothing(profile: Profile) -> Needs:
    """Chapters that compute what they show (Shapeset's statistics, the cost surface)."""
    return Needs()


def _sigmoid(profile: Profile) -> Needs:
    """Fig. 2: the sigmoid network of 4 hidden layers and the one of 5."""
    return Needs(mains=tuple(("sigmoid", "standard", depth, 0) for depth in (4, 5)))


def _tanh_softsign(profile: Profile) -> Needs:
    """Figs. 3, 4 and 10: tanh, softsign and tanh with the normalized init, 5 layers."""
    models = (("tanh", "standard"), ("softsign", "standard"), ("tanh", "normalized"))
    return Needs(mains=tuple((act, init, 5, 0) for act, init in models))


def _gradients_at_init(profile: Profile) -> Needs:
    """Figs. 6-8: the tanh nets at initialisation, standard and normalized."""
    from glorot.claims.gradients import init_config

    return Needs(fixed=tuple(init_config(profile, init) for init in ("standard", "normalized")))


def _gradients_in_training(profile: Profile) -> Needs:
    """Fig. 9 and C11: the main tanh runs, standard and normalized, at every seed."""
    return Needs(
        mains=tuple(
            ("tanh", init, 5, seed) for init in ("standard", "normalized") for seed in profile.seeds
        )
    )


def _error_curves(profile: Profile) -> Needs:
    """Fig. 11, Fig. 12 and Table 1: every row at every seed of the profile, on Shapeset and on
    each finite data set present."""
    return Needs(
        mains=tuple(
            (act, init, 5, seed) for act, init in experiments.TABLE1 for seed in profile.seeds
        ),
        finite=True,
    )


def _beyond(profile: Profile) -> Needs:
    """Chapter 08: the nets at initialisation of the later inits and ReLU, ReLU + He trained beside
    Table 1 (whose runs are chapter 07's)."""
    from glorot.claims.beyond import AT_INIT, init_config

    return Needs(
        mains=(("relu", "he", 5, 0),),
        fixed=tuple(init_config(profile, a, i) for a, i in AT_INIT),
    ) | _error_curves(profile)


def _scorecard(profile: Profile) -> Needs:
    """Every claim: the runs of every other chapter."""
    needs = Needs()
    for of in CHAPTERS.values():
        if of is not _scorecard:
            needs |= of(profile)
    return needs


# Every chapter of the book (the toc's notebooks) -> the runs it reads.
CHAPTERS: dict[str, Callable[[Profile], Needs]] = {
    "01_shapeset": _nothing,
    "02_sigmoid": _sigmoid,
    "03_tanh_softsign": _tanh_softsign,
    "04_cost": _nothing,
    "05_gradients_at_init": _gradients_at_init,
    "06_gradients_in_training": _gradients_in_training,
    "07_error_curves": _error_curves,
    "08_beyond": _beyond,
    "scorecard": _scorecard,
}


def chapter_names(only: Iterable[str] = ()) -> list[str]:
    """The chapters of ``only`` (names such as ``02_sigmoid`` or paths to their notebooks), every
    chapter when empty; a clear error for an unknown one."""
    only = list(only)
    for given in only:
        if Path(given).stem not in CHAPTERS:
            raise ConfigError(f"unknown chapter {given!r}; choose one of {', '.join(CHAPTERS)}")
    return [Path(given).stem for given in only] or list(CHAPTERS)


def present_datasets() -> tuple[str, ...]:
    """The finite data sets whose files are on disk (:func:`glorot.datasets.locate`)."""
    from glorot.datasets import DATASETS, DataMissing, locate

    found = []
    for name in DATASETS:
        try:
            locate(name)
        except DataMissing:
            continue
        found.append(name)
    return tuple(found)


@dataclass(frozen=True)
class Plan:
    """The runs of some chapters at a profile, in the two stages a sweep computes them."""

    profile: Profile
    needs: Needs
    datasets: tuple[str, ...]  # finite data sets to train Table 1 on

    @property
    def models(self) -> dict[int, tuple[tuple[str, str], ...]]:
        """depth -> the models whose learning rate is selected at that depth."""
        models: list[Model] = [(act, init, depth) for act, init, depth, _ in self.needs.mains]
        if self.datasets:
            models += [(act, init, 5) for act, init in experiments.TABLE1]
        by_depth: dict[int, dict[tuple[str, str], None]] = {}
        for act, init, depth in models:
            by_depth.setdefault(depth, {})[(act, init)] = None
        return {depth: tuple(pairs) for depth, pairs in by_depth.items()}

    def first(self) -> list[RunConfig]:
        """The runs that depend on nothing: the selection candidates of every model (those of
        :func:`glorot.experiments.select_lrs`), then the fixed runs."""
        cfgs = [
            cfg
            for depth, pairs in self.models.items()
            for cfg in experiments.selection_configs(self.profile, pairs, depth)
        ]
        return _unique(cfgs + list(self.needs.fixed))

    def then(self) -> list[RunConfig]:
        """The main runs, at the learning rates selected from the stored selection runs (which
        :meth:`first` must have computed: a missing one would be trained here, not on the
        cluster)."""
        P = self.profile
        lrs = {
            (act, init, depth): selection.lr
            for depth, pairs in self.models.items()
            for (act, init), selection in experiments.select_lrs(P, pairs, depth).items()
        }
        cfgs = [
            experiments.main_config(P, act, init, lrs[(act, init, depth)], depth, seed)
            for act, init, depth, seed in self.needs.mains
        ]
        cfgs += [
            experiments.finite_config(P, name, act, init, lrs[(act, init, 5)], seed)
            for name in self.datasets
            for act, init in experiments.TABLE1
            for seed in P.seeds
        ]
        return _unique(cfgs)


def plan(profile: Profile, chapters: Sequence[str] = ()) -> Plan:
    """The runs that ``chapters`` (every chapter when empty) read at ``profile``."""
    needs = Needs()
    for name in chapter_names(chapters):
        needs |= CHAPTERS[name](profile)
    return Plan(profile, needs, present_datasets() if needs.finite else ())


def _unique(cfgs: Iterable[RunConfig]) -> list[RunConfig]:
    return list({cfg.key: cfg for cfg in cfgs}.values())


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
    which resumes from the run's checkpoint. Each finished run is looked for in this machine's
    store, so a sweep that ends has stored every run where the chapters will look.
    """
    from distributed import as_completed
    from tqdm import tqdm

    by_key = {cfg.key: cfg for cfg in cfgs}
    futures = [
        client.submit(_task, cfg, profile, key=f"glorot-run-{key}") for key, cfg in by_key.items()
    ]
    trained = 0
    bar = tqdm(
        total=len(futures), desc=desc, unit="run", disable=True if not progress or quiet() else None
    )
    try:
        with bar:
            for future in as_completed(futures):
                key, computed = future.result()
                if key not in by_key:
                    raise ClusterError(
                        f"a worker stored a run under key {key}, which this machine's glorot does "
                        "not know; install the same version of glorot on every worker"
                    )
                if not (store.run_dir(by_key[key]) / "meta.json").exists():
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

"""The runs of the book, chapter by chapter, and how they are computed before the chapters run.

Each chapter of the toc declares what it reads from the store at a profile's scale (:data:`CHAPTERS`,
a :class:`Needs` each). A :class:`Plan` turns the needs of some chapters into the two stages every
computation of the book follows, locally (:func:`prepare`, ``glorot book``) or on a cluster
(:mod:`glorot.sweep`): the learning-rate selection runs and the runs that depend on nothing, then
the main runs at the rates selected from them (:mod:`glorot.experiments`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from glorot import experiments
from glorot.config import ConfigError, Profile, RunConfig
from glorot.run import Run
from glorot.store import run_many

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
    """Figs. 3, 4 and 10: tanh, softsign and tanh with the normalized init, 5 layers, at every seed
    of the profile (C3-C5 and C12 are judged on each)."""
    models = (("tanh", "standard"), ("softsign", "standard"), ("tanh", "normalized"))
    return Needs(
        mains=tuple((act, init, 5, seed) for act, init in models for seed in profile.seeds)
    )


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
    Table 1 (whose runs are chapter 07's) at every seed of the profile, for B4's paired test."""
    from glorot.claims.beyond import AT_INIT, init_config

    return Needs(
        mains=tuple(("relu", "he", 5, seed) for seed in profile.seeds),
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


def prepare(profile: Profile, progress: bool = False, force: bool = False) -> list[Run]:
    """Compute every run the book reads at ``profile`` before its chapters execute: the first
    stage of its :class:`Plan`, then the second, each as one :func:`run_many`, so a process pool
    keeps every core busy; the chapters then find each run in the store. ``force`` trains every
    one again (``glorot book --recompute``)."""
    work = plan(profile)
    kwargs = dict(workers=experiments.workers(), progress=progress, profile=profile.name)
    runs = run_many(work.first(), stage="selection and independent runs", force=force, **kwargs)
    return runs + run_many(work.then(), stage="main runs", force=force, **kwargs)

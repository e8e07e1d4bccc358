"""The runs the book is made of, defined once so that every chapter asks the store for the same
ones.

The paper selects the learning rate of each model by validation error (§2.3). Here a model's
learning rate comes from short selection runs over the profile's grid; its main run then uses that
rate. The saturation, gradient and error-curve chapters all call :func:`main_run`, so the tanh run
of Fig. 3 is the tanh run of Fig. 9 and of Table 1: one configuration, one key, computed once.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import numpy as np

from glorot.config import ConfigError, Profile, RunConfig, env_int, model_label
from glorot.lineage import read as _read
from glorot.run import Run
from glorot.store import load_or_run, run_many

# Table 1's rows, in the paper's order: (activation, init).
TABLE1 = (
    ("softsign", "standard"),
    ("softsign", "normalized"),
    ("tanh", "standard"),
    ("tanh", "normalized"),
    ("sigmoid", "standard"),
)


def row_label(activation: str, init: str) -> str:
    """Table 1's name of a model: 'Tanh N' is tanh with the normalized init ('ReLU He' for the
    later inits, :func:`glorot.config.model_label`)."""
    return model_label(activation, init)


def workers() -> int:
    """Processes for independent runs: GLOROT_WORKERS, else one per core (at most 8).

    Each run trains on one thread (see :func:`glorot.train.train`), so a sweep fills the cores
    with runs rather than one run with threads.
    """
    default = min(8, os.cpu_count() or 1)
    return env_int("GLOROT_WORKERS", default)


SELECTION_FIELDS = ("updates", "probe_every", "probe_dense", "jacobian_examples", "lr", "seed")
SELECTION_LAST = 3  # validation measurements averaged at the end of each selection run
SELECTION_EVALS = 6  # measurements of a selection run, evenly spaced, the first at update 0
NOISE_SE = 2.0  # candidates closer than this many standard errors of a difference are tied

# The one rule by which every chapter's learning rates are chosen; chapters glue this text.
SELECTION_RULE = (
    f"each candidate rate is scored by its validation error averaged over the last "
    f"{SELECTION_LAST} measurements of its selection run and over the seeds; a candidate whose "
    f"score is within {NOISE_SE:g} standard errors of the difference from the best score is tied "
    "with the best (the standard error of a score is the larger of its spread over seeds / √seeds "
    "and the binomial error of the validation set); among the tied candidates the largest rate "
    "is chosen, the one that moves the network furthest in the same number of updates; a diverged "
    "candidate is never chosen unless all diverged (then the smallest rate)"
)


def selection_config(
    profile: Profile,
    activation: str,
    init: str,
    lr: float,
    depth: int = 5,
    seed: int = 0,
    **overrides,
) -> RunConfig:
    """A short run scored on its last validation measurements (:data:`SELECTION_RULE`); measured
    :data:`SELECTION_EVALS` times, without Jacobians."""
    every = max(1, profile.selection_updates // (SELECTION_EVALS - 1))
    return profile.config(
        activation=activation,
        init=init,
        depth=depth,
        lr=lr,
        seed=seed,
        updates=profile.selection_updates,
        probe_every=every,
        probe_dense=0,
        jacobian_examples=0,
        **overrides,
    )


@dataclass(frozen=True)
class Selection:
    """The outcome of a learning-rate selection (:data:`SELECTION_RULE`): the chosen rate, every
    candidate's score and standard error, and the candidates tied with the best."""

    lr: float
    valid_error: dict[float, float]  # lr -> score: mean validation error (inf when diverged)
    se: dict[float, float]  # lr -> standard error of the score
    tied: tuple[float, ...]  # rates within noise of the best (the best included), ascending
    runs: tuple[Run, ...]  # every selection run, seeds of the first rate first

    @property
    def sure(self) -> bool:
        """True when no other candidate is within noise of the best."""
        return len(self.tied) == 1

    @property
    def verdict(self) -> str:
        """One line on how sure the choice is, for the book."""
        if self.sure:
            return f"ε = {self.lr:g}, clear of the other candidates"
        others = ", ".join(f"{lr:g}" for lr in self.tied if lr != self.lr)
        return f"ε = {self.lr:g}, within noise of {others}: chosen by the rule"


def _last_mean(run: Run) -> float:
    """Mean validation error over the run's last SELECTION_LAST measurements (inf if diverged)."""
    err = np.asarray(run.evals["valid_error"], dtype=float)[-SELECTION_LAST:]
    if run.diverged_at is not None or err.size == 0 or not np.all(np.isfinite(err)):
        return math.inf
    return float(err.mean())


def choose(grid: tuple[float, ...], scores: dict[float, list[float]], n_valid: int) -> Selection:
    """Apply :data:`SELECTION_RULE` to {lr: [score per seed]} (runs filled in by the caller)."""
    mean = {lr: float(np.mean(v)) for lr, v in scores.items()}
    se = {}
    for lr, v in scores.items():
        e = mean[lr]
        if not math.isfinite(e):
            se[lr] = math.inf
            continue
        spread = float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
        se[lr] = max(spread, math.sqrt(max(e * (1 - e), 1e-12) / n_valid))
    finite = [lr for lr in grid if math.isfinite(mean[lr])]
    if not finite:
        return Selection(min(grid), mean, se, tuple(sorted(grid)), ())
    best = min(finite, key=lambda lr: mean[lr])
    tied = tuple(
        lr
        for lr in sorted(finite)
        if mean[lr] - mean[best] <= NOISE_SE * math.hypot(se[lr], se[best])
    )
    return Selection(max(tied), mean, se, tied, ())


def selection_configs(
    profile: Profile,
    models: tuple[tuple[str, str], ...] = TABLE1,
    depth: int = 5,
    seeds: tuple[int, ...] | None = None,
    **overrides,
) -> list[RunConfig]:
    """Every candidate run :func:`select_lrs` reads, model by model, then rate, then seed."""
    seeds = profile.seeds if seeds is None else tuple(seeds)
    # A selection run has its own length and schedule, whatever the main run's.
    overrides = {k: v for k, v in overrides.items() if k not in SELECTION_FIELDS}
    return [
        selection_config(profile, activation, init, lr, depth, seed, **overrides)
        for activation, init in models
        for lr in profile.lr_grid
        for seed in seeds
    ]


def select_lrs(
    profile: Profile,
    models: tuple[tuple[str, str], ...] = TABLE1,
    depth: int = 5,
    progress: bool = False,
    seeds: tuple[int, ...] | None = None,
    force: bool = False,
    **overrides,
) -> dict[tuple[str, str], Selection]:
    """:func:`select_lr` for several models at once: {(activation, init): Selection}.

    Every candidate of every model and seed goes to one :func:`run_many`, so a process pool
    (GLOROT_WORKERS > 1) is kept busy across models instead of waiting at each one.
    """
    grid = profile.lr_grid
    seeds = profile.seeds if seeds is None else tuple(seeds)
    cfgs = selection_configs(profile, models, depth, seeds, **overrides)
    runs = _read(
        run_many(
            cfgs,
            workers=workers(),
            progress=progress,
            profile=profile.name,
            stage="learning-rate selection",
            force=force,
        )
    )
    per_model = len(grid) * len(seeds)
    selections = {}
    for m, model in enumerate(models):
        own = runs[m * per_model : (m + 1) * per_model]
        scores = {
            lr: [_last_mean(r) for r in own[i * len(seeds) : (i + 1) * len(seeds)]]
            for i, lr in enumerate(grid)
        }
        chosen = choose(grid, scores, own[0].config.n_valid)
        selections[model] = dataclasses.replace(chosen, runs=tuple(own))
    return selections


def select_lr(
    profile: Profile,
    activation: str,
    init: str,
    depth: int = 5,
    progress: bool = False,
    **overrides,
) -> Selection:
    """Choose the learning rate of one model over ``profile.lr_grid`` on the validation error of
    short runs, one per seed of the profile (§2.3), by :data:`SELECTION_RULE`."""
    model = (activation, init)
    return select_lrs(profile, (model,), depth, progress, **overrides)[model]


def main_config(
    profile: Profile,
    activation: str,
    init: str,
    lr: float,
    depth: int = 5,
    seed: int = 0,
    **overrides,
) -> RunConfig:
    """The main run of a model at this scale and learning rate ``lr`` (no training: the rate of
    :func:`main_run` comes from :func:`select_lr`)."""
    return profile.config(
        activation=activation, init=init, depth=depth, seed=seed, lr=lr, **overrides
    )


def main_run(
    profile: Profile,
    activation: str,
    init: str,
    depth: int = 5,
    seed: int = 0,
    progress: bool = False,
    **overrides,
) -> Run:
    """The stored (or freshly computed) main run of a model at this scale, at its selected learning
    rate unless ``lr`` is given."""
    lr = overrides.pop("lr", None)
    if lr is None:
        lr = select_lr(profile, activation, init, depth, **overrides).lr
    cfg = main_config(profile, activation, init, lr, depth, seed, **overrides)
    return _read([load_or_run(cfg, progress=progress, profile=profile.name)])[0]


def model_runs(
    profile: Profile,
    models: tuple[tuple[str, str], ...],
    seeds: tuple[int, ...] | None = None,
    progress: bool = False,
    **overrides,
) -> dict[tuple[str, str], list[Run]]:
    """The depth-5 main runs of ``models`` at this scale, every seed of the profile unless
    ``seeds`` says otherwise: {(activation, init): [run per seed]}.

    The selection runs of all the models form one sweep and the main runs another, so each is
    computed once and, with GLOROT_WORKERS > 1, in parallel.
    """
    seeds = profile.seeds if seeds is None else seeds
    if "lr" in overrides:
        lrs = {model: overrides["lr"] for model in models}
    else:
        selections = select_lrs(profile, models, progress=progress, **overrides)
        lrs = {model: selection.lr for model, selection in selections.items()}
    rest = {k: v for k, v in overrides.items() if k != "lr"}
    cfgs = [
        main_config(profile, act, init, lrs[(act, init)], seed=seed, **rest)
        for act, init in models
        for seed in seeds
    ]
    runs = iter(
        _read(
            run_many(
                cfgs, workers=workers(), progress=progress, profile=profile.name, stage="main runs"
            )
        )
    )
    return {(act, init): [next(runs) for _ in seeds] for act, init in models}


def table1_runs(
    profile: Profile, seeds: tuple[int, ...] | None = None, progress: bool = False, **overrides
) -> dict[tuple[str, str], list[Run]]:
    """Every row of Table 1 at this scale: {(activation, init): [run per seed]}
    (:func:`model_runs` of :data:`TABLE1`)."""
    return model_runs(profile, TABLE1, seeds, progress, **overrides)


FINITE_LR = ("shapeset", "select")  # where a finite-set run's learning rate comes from


def finite_config(
    profile: Profile, dataset: str, activation: str, init: str, lr: float, seed: int = 0
) -> RunConfig:
    """A Table 1 model (5 hidden layers) trained on a finite data set, measured ten times.

    Its length is ``profile.finite_updates``: the paper does not say how long it trained on MNIST
    and CIFAR-10; the paper profile gives 100 epochs of MNIST's 50,000 examples at batch 10."""
    updates = profile.finite_updates
    return profile.config(
        dataset=dataset,
        activation=activation,
        init=init,
        lr=lr,
        seed=seed,
        updates=updates,
        probe_every=max(1, updates // 10),
        jacobian_examples=0,
    )


def finite_runs(
    profile: Profile,
    dataset: str,
    seeds: tuple[int, ...] | None = None,
    lr_from: str = "shapeset",
    progress: bool = False,
) -> dict[tuple[str, str], list[Run]]:
    """Every row of Table 1 on a finite data set (MNIST, CIFAR-10, or the Fashion-MNIST stand-in).

    ``lr_from="shapeset"`` reuses each model's learning rate selected on Shapeset (no extra runs);
    ``"select"`` selects it on the data set's own validation split over ``profile.lr_grid``.
    The data set's files must be present (:func:`glorot.datasets.locate`).
    """
    if lr_from not in FINITE_LR:
        raise ConfigError(f"unknown lr_from {lr_from!r}; choose one of {', '.join(FINITE_LR)}")
    seeds = profile.seeds if seeds is None else seeds
    on = {} if lr_from == "shapeset" else {"dataset": dataset}
    lrs = {m: s.lr for m, s in select_lrs(profile, TABLE1, progress=progress, **on).items()}
    cfgs = [
        finite_config(profile, dataset, act, init, lrs[(act, init)], seed)
        for act, init in TABLE1
        for seed in seeds
    ]
    runs = iter(
        _read(
            run_many(
                cfgs,
                workers=workers(),
                progress=progress,
                profile=profile.name,
                stage="finite data sets",
            )
        )
    )
    return {(act, init): [next(runs) for _ in seeds] for act, init in TABLE1}

"""The runs the book is made of, defined once so that every chapter asks the store for the same
ones.

The paper selects the learning rate of each model by validation error (§2.3). Here a model's
learning rate comes from short selection runs over the profile's grid; its main run then uses that
rate. The saturation, gradient and error-curve chapters all call :func:`main_run`, so the tanh run
of Fig. 3 is the tanh run of Fig. 9 and of Table 1: one configuration, one key, computed once.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from glorot.config import ConfigError, Profile, RunConfig, model_label
from glorot.store import load_or_run, run_many
from glorot.train import Run

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
    return max(1, int(os.environ.get("GLOROT_WORKERS", default)))


SELECTION_FIELDS = ("updates", "probe_every", "probe_dense", "jacobian_examples", "lr", "seed")


def selection_config(
    profile: Profile, activation: str, init: str, lr: float, depth: int = 5, **overrides
) -> RunConfig:
    """A short run scored by its final validation error; probed only at its two ends."""
    return profile.config(
        activation=activation,
        init=init,
        depth=depth,
        lr=lr,
        updates=profile.selection_updates,
        probe_every=profile.selection_updates,
        probe_dense=0,
        jacobian_examples=0,
        **overrides,
    )


@dataclass(frozen=True)
class Selection:
    """The outcome of a learning-rate selection: the chosen rate and every candidate's score."""

    lr: float
    valid_error: dict[float, float]  # lr -> final validation error (nan when diverged)
    runs: tuple[Run, ...]


def _score(run: Run) -> float:
    err = run.final["validation_error"]
    return math.inf if run.diverged_at is not None or err != err else err


def select_lrs(
    profile: Profile,
    models: tuple[tuple[str, str], ...] = TABLE1,
    depth: int = 5,
    progress: bool = False,
    **overrides,
) -> dict[tuple[str, str], Selection]:
    """:func:`select_lr` for several models at once: {(activation, init): Selection}.

    Every candidate of every model goes to one :func:`run_many`, so a process pool
    (GLOROT_WORKERS > 1) is kept busy across models instead of waiting at each one.
    """
    grid = profile.lr_grid
    # A selection run has its own length and schedule, whatever the main run's.
    overrides = {k: v for k, v in overrides.items() if k not in SELECTION_FIELDS}
    cfgs = [
        selection_config(profile, activation, init, lr, depth, **overrides)
        for activation, init in models
        for lr in grid
    ]
    runs = run_many(cfgs, workers=workers(), progress=progress, profile=profile.name)
    selections = {}
    for m, model in enumerate(models):
        own = runs[m * len(grid) : (m + 1) * len(grid)]
        scores = [_score(r) for r in own]
        best = min(range(len(own)), key=lambda i: (scores[i], -grid[i]))
        selections[model] = Selection(
            lr=grid[best],
            valid_error={lr: r.final["validation_error"] for lr, r in zip(grid, own, strict=True)},
            runs=tuple(own),
        )
    return selections


def select_lr(
    profile: Profile,
    activation: str,
    init: str,
    depth: int = 5,
    progress: bool = False,
    **overrides,
) -> Selection:
    """Choose the learning rate of one model by validation error over ``profile.lr_grid`` (§2.3).

    Ties go to the larger rate. A tie means that no candidate has learned anything the validation
    set can see yet (sigmoid networks after a short selection run all answer the most frequent
    class): the larger rate is then the one that has moved the network furthest in the budget,
    which is what the paper's 5M-update selection would have rewarded. A diverged candidate is
    never chosen unless all diverged.
    """
    model = (activation, init)
    return select_lrs(profile, (model,), depth, progress, **overrides)[model]


def main_config(
    profile: Profile, activation: str, init: str, depth: int = 5, seed: int = 0, **overrides
) -> RunConfig:
    """The main run of a model at this scale, at its selected learning rate unless ``lr`` is
    given."""
    if "lr" not in overrides:
        overrides["lr"] = select_lr(profile, activation, init, depth, **overrides).lr
    return profile.config(activation=activation, init=init, depth=depth, seed=seed, **overrides)


def main_run(
    profile: Profile,
    activation: str,
    init: str,
    depth: int = 5,
    seed: int = 0,
    progress: bool = False,
    **overrides,
) -> Run:
    """The stored (or freshly computed) main run of a model at this scale."""
    cfg = main_config(profile, activation, init, depth, seed, **overrides)
    return load_or_run(cfg, progress=progress, profile=profile.name)


def table1_runs(
    profile: Profile, seeds: tuple[int, ...] | None = None, progress: bool = False, **overrides
) -> dict[tuple[str, str], list[Run]]:
    """Every row of Table 1 at this scale: {(activation, init): [run per seed]}.

    The selection runs of all five models form one sweep and the main runs another, so each is
    computed once and, with GLOROT_WORKERS > 1, in parallel.
    """
    seeds = profile.seeds if seeds is None else seeds
    if "lr" in overrides:
        lrs = {model: overrides["lr"] for model in TABLE1}
    else:
        selections = select_lrs(profile, TABLE1, progress=progress, **overrides)
        lrs = {model: selection.lr for model, selection in selections.items()}
    cfgs = [
        main_config(profile, act, init, seed=seed, **{**overrides, "lr": lrs[(act, init)]})
        for act, init in TABLE1
        for seed in seeds
    ]
    runs = iter(run_many(cfgs, workers=workers(), progress=progress, profile=profile.name))
    return {(act, init): [next(runs) for _ in seeds] for act, init in TABLE1}


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
    runs = iter(run_many(cfgs, workers=workers(), progress=progress, profile=profile.name))
    return {(act, init): [next(runs) for _ in seeds] for act, init in TABLE1}


# Every model the chapters train at a profile's scale: Table 1's rows at depth 5, and the depth-4
# sigmoid network of Fig. 2 (chapter 02 draws it beside the depth-5 one).
BOOK_MODELS = tuple((act, init, 5) for act, init in TABLE1) + (("sigmoid", "standard", 4),)


def prepare(profile: Profile, progress: bool = False) -> list[Run]:
    """Compute every run the book asks for at ``profile``, before its chapters execute.

    Chapters ask for their runs one at a time; here they are handed to :func:`run_many` in sweeps
    (learning-rate selections, main runs, then each finite data set present on disk), so a process
    pool keeps every core busy. The chapters then find each run in the store.
    """
    from glorot.datasets import DATASETS, DataMissing, locate

    selections = [
        selection_config(profile, act, init, lr, depth)
        for act, init, depth in BOOK_MODELS
        for lr in profile.lr_grid
    ]
    runs = run_many(selections, workers=workers(), progress=progress, profile=profile.name)
    mains = [
        main_config(profile, act, init, depth, seed)
        for act, init, depth in BOOK_MODELS
        for seed in profile.seeds
    ]
    runs += run_many(mains, workers=workers(), progress=progress, profile=profile.name)
    for name in DATASETS:
        try:
            locate(name)
        except DataMissing:
            continue
        runs += [r for rs in finite_runs(profile, name, progress=progress).values() for r in rs]
    return runs

"""The book's canonical runs: learning-rate selection and the sweeps of ``prepare``."""

import numpy as np
import pytest

from glorot import datasets, experiments
from glorot.config import get_profile
from glorot.run import Run

P = get_profile("smoke")
BEST_LR = P.lr_grid[-1]


def fake_run(cfg, valid_error=None, diverged=False):
    """A record whose final validation error is lowest at BEST_LR (no training)."""
    if valid_error is None:
        valid_error = 0.2 if cfg.lr == BEST_LR else 0.5
    evals = {
        "updates": np.array([0, cfg.updates]),
        "test_error": np.array([0.9, valid_error]),
        "valid_error": np.array([0.9, valid_error]),
        "train_loss": np.array([np.nan, 1.0]),
    }
    return Run(cfg, {"updates": np.array([0])}, evals, cfg.updates if diverged else None)


@pytest.fixture
def sweeps(monkeypatch):
    """Record every sweep handed to run_many, answering with fake records."""
    calls = []

    def run_many(cfgs, workers=1, progress=False, profile=None):
        calls.append(list(cfgs))
        return [fake_run(c) for c in cfgs]

    monkeypatch.setattr(experiments, "run_many", run_many)
    return calls


def test_selection_picks_the_lowest_validation_error(sweeps):
    selection = experiments.select_lr(P, "tanh", "normalized")
    assert selection.lr == BEST_LR
    assert set(selection.valid_error) == set(P.lr_grid)
    (cfgs,) = sweeps
    assert all(c.updates == P.selection_updates and c.jacobian_examples == 0 for c in cfgs)


def test_selection_never_prefers_a_diverged_run(monkeypatch):
    monkeypatch.setattr(
        experiments,
        "run_many",
        lambda cfgs, **_: [fake_run(c, 0.0, diverged=c.lr == BEST_LR) for c in cfgs],
    )
    assert experiments.select_lr(P, "tanh", "standard").lr == P.lr_grid[0]


def test_ties_go_to_the_larger_rate(monkeypatch):
    monkeypatch.setattr(experiments, "run_many", lambda cfgs, **_: [fake_run(c, 0.8) for c in cfgs])
    assert experiments.select_lr(P, "sigmoid", "standard").lr == max(P.lr_grid)


def test_main_run_length_does_not_leak_into_selection(sweeps):
    cfg = experiments.main_config(P, "sigmoid", "standard", depth=4, updates=123)
    assert cfg.updates == 123 and cfg.lr == BEST_LR and cfg.depth == 4
    assert all(c.updates == P.selection_updates for c in sweeps[0])


def test_prepare_sweeps_selections_then_mains_then_present_finite_sets(sweeps, monkeypatch):
    def locate(name, root=None):
        if name != "fashion-mnist":
            raise datasets.DataMissing(name)

    monkeypatch.setattr(datasets, "locate", locate)
    experiments.prepare(P)
    selections, finite = sweeps[0], sweeps[-1]
    (mains,) = [s for s in sweeps if s[0].updates == P.updates]
    models = experiments.BOOK_MODELS
    assert len(selections) == len(models) * len(P.lr_grid)
    assert {(c.activation, c.init, c.depth) for c in mains} == set(models)
    assert all(c.lr == BEST_LR and c.updates == P.updates for c in mains)
    assert {c.dataset for c in finite} == {"fashion-mnist"} and len(finite) == 5
    assert all(c.updates == P.finite_updates for c in finite)

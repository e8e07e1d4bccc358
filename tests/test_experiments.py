"""The book's canonical runs: learning-rate selection (its noise rule) and the sweeps of
``prepare``."""

import dataclasses
import math

import numpy as np
import pytest

from glorot import datasets, experiments, plan
from glorot.config import get_profile
from glorot.run import Run

P = get_profile("smoke")
P3 = dataclasses.replace(P, seeds=(0, 1, 2))
BEST_LR = P.lr_grid[-1]


def fake_run(cfg, valid_error=None, diverged=False):
    """A record whose last validation measurements are lowest at BEST_LR (no training)."""
    if valid_error is None:
        valid_error = 0.2 if cfg.lr == BEST_LR else 0.5
    curve = np.array([0.9, 0.7, valid_error + 0.01, valid_error, valid_error - 0.01])
    evals = {
        "updates": np.linspace(0, cfg.updates, len(curve)).astype(np.int64),
        "test_error": curve,
        "valid_error": curve,
        "train_loss": np.ones(len(curve)),
    }
    return Run(cfg, {"updates": np.array([0])}, evals, cfg.updates if diverged else None)


@pytest.fixture
def sweeps(monkeypatch):
    """Record every sweep handed to run_many, answering with fake records."""
    calls = []

    def run_many(cfgs, workers=1, progress=False, profile=None, stage="runs", force=False):
        calls.append(list(cfgs))
        return [fake_run(c) for c in cfgs]

    monkeypatch.setattr(experiments, "run_many", run_many)
    monkeypatch.setattr(plan, "run_many", run_many)
    return calls


def test_selection_scores_the_last_measurements_of_every_seed(sweeps):
    selection = experiments.select_lr(P3, "tanh", "normalized")
    assert selection.lr == BEST_LR and selection.sure
    assert selection.valid_error[BEST_LR] == pytest.approx(0.2)  # mean of the last three
    assert set(selection.valid_error) == set(P.lr_grid)
    (cfgs,) = sweeps
    assert len(cfgs) == len(P.lr_grid) * 3 and {c.seed for c in cfgs} == {0, 1, 2}
    assert all(c.updates == P.selection_updates and c.jacobian_examples == 0 for c in cfgs)
    # Enough measurements to average the last SELECTION_LAST of them.
    assert P.selection_updates // cfgs[0].probe_every + 1 >= experiments.SELECTION_LAST
    assert len(selection.runs) == len(cfgs)


def test_candidates_within_noise_are_tied_and_the_largest_rate_is_chosen():
    grid = (0.01, 0.03, 0.1)
    # 0.03 is best by 0.5 points; 0.1 within noise of it (seed spread 1 point); 0.01 far behind.
    scores = {0.01: [0.40, 0.41, 0.39], 0.03: [0.20, 0.21, 0.19], 0.1: [0.205, 0.215, 0.195]}
    s = experiments.choose(grid, scores, n_valid=2_000)
    assert s.tied == (0.03, 0.1) and s.lr == 0.1 and not s.sure
    assert "within noise of 0.03" in s.verdict
    # The same gap with no spread over seeds on 100,000 validation examples is not noise.
    tight = {lr: [np.mean(v)] * 3 for lr, v in scores.items()}
    s = experiments.choose(grid, tight, n_valid=100_000)
    assert s.tied == (0.03,) and s.lr == 0.03 and s.sure and "clear" in s.verdict


def test_the_noise_rule_uses_the_binomial_error_when_seeds_agree():
    # One seed, 2,000 validation examples: se of 20% is 0.89 points, so 1 point apart is a tie.
    s = experiments.choose((0.01, 0.1), {0.01: [0.20], 0.1: [0.21]}, n_valid=2_000)
    assert s.se[0.01] == pytest.approx(math.sqrt(0.2 * 0.8 / 2_000)) and s.lr == 0.1


def test_selection_never_prefers_a_diverged_run(monkeypatch):
    monkeypatch.setattr(
        experiments,
        "run_many",
        lambda cfgs, **_: [fake_run(c, 0.05, diverged=c.lr == BEST_LR) for c in cfgs],
    )
    s = experiments.select_lr(P, "tanh", "standard")
    assert s.lr == P.lr_grid[0] and s.valid_error[BEST_LR] == math.inf


def test_when_every_candidate_diverged_the_smallest_rate_is_chosen():
    s = experiments.choose((0.01, 0.1), {0.01: [math.inf], 0.1: [math.inf]}, n_valid=500)
    assert s.lr == 0.01


def test_ties_at_chance_go_to_the_larger_rate(monkeypatch):
    monkeypatch.setattr(experiments, "run_many", lambda cfgs, **_: [fake_run(c, 0.8) for c in cfgs])
    assert experiments.select_lr(P, "sigmoid", "standard").lr == max(P.lr_grid)


def test_the_rule_is_written_once_and_quoted():
    assert "SELECTION_RULE" in experiments.select_lr.__doc__
    assert "largest rate" in experiments.SELECTION_RULE
    assert f"last {experiments.SELECTION_LAST} measurements" in experiments.SELECTION_RULE


def test_main_config_is_pure_and_main_run_length_does_not_leak_into_selection(sweeps, monkeypatch):
    cfg = experiments.main_config(P, "sigmoid", "standard", 0.05, depth=4, updates=123)
    assert cfg.lr == 0.05 and cfg.updates == 123 and sweeps == []
    monkeypatch.setattr(experiments, "load_or_run", lambda cfg, **_: fake_run(cfg))
    run = experiments.main_run(P, "sigmoid", "standard", depth=4, updates=123)
    assert run.config.updates == 123 and run.config.lr == BEST_LR and run.config.depth == 4
    assert all(c.updates == P.selection_updates for c in sweeps[0])


def test_prepare_sweeps_selections_then_mains_then_present_finite_sets(sweeps, monkeypatch):
    def locate(name, root=None):
        if name != "fashion-mnist":
            raise datasets.DataMissing(name)

    monkeypatch.setattr(datasets, "locate", locate)
    plan.prepare(P3)
    first, then = sweeps[0], sweeps[-1]
    selections = [c for c in first if c.updates == P.selection_updates]
    models = {(c.activation, c.init, c.depth) for c in selections}
    # Table 1's models at depth 5, the depth-4 sigmoid net of Fig. 2 and ReLU + He (chapter 08)
    assert models == {(a, i, 5) for a, i in experiments.TABLE1} | {
        ("sigmoid", "standard", 4),
        ("relu", "he", 5),
    }
    assert len(selections) == len(models) * len(P.lr_grid) * 3
    assert all(c.updates == 0 for c in first if c not in selections)  # the nets at init
    mains = [c for c in then if c.dataset == "shapeset"]
    # Every seed of the Table 1 models and of ReLU + He (B4's paired test); the depth-4 sigmoid
    # net of Fig. 2 on the first seed.
    assert len(mains) == 6 * 3 + 1
    assert {(c.activation, c.init, c.depth) for c in mains} == models
    assert all(c.lr == BEST_LR and c.updates == P.updates for c in mains)
    finite = [c for c in then if c.dataset != "shapeset"]
    assert {c.dataset for c in finite} == {"fashion-mnist"} and len(finite) == 5 * 3
    assert all(c.updates == P.finite_updates for c in finite)

"""Paired tests of test errors: McNemar's exact test against hand-computed values, the paired
bootstrap against the binomial standard error, and the record fields they need."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glorot.config import RunConfig
from glorot.run import Run
from glorot.stats import (
    PAPER_ALPHA,
    MissingPredictions,
    Resamples,
    binomial_two_sided,
    mcnemar,
    p_vs_best,
    wrong,
)


def test_exact_binomial_tail_by_hand():
    # X ~ Bin(10, 1/2): P(X <= 1) = 11/1024, two-sided 22/1024.
    assert binomial_two_sided(1, 10) == pytest.approx(22 / 1024)
    assert binomial_two_sided(9, 10) == pytest.approx(22 / 1024)
    assert binomial_two_sided(5, 10) == 1.0 and binomial_two_sided(0, 0) == 1.0


def test_exact_binomial_tail_of_a_large_count_matches_the_normal_approximation():
    # 2,000 discordant examples split 1,100 / 900: z = 200 / sqrt(2000) = 4.47 (continuity: 4.45).
    p = binomial_two_sided(900, 2000)
    assert p == pytest.approx(math.erfc((100 - 0.5) / math.sqrt(500) / math.sqrt(2)), rel=0.05)
    assert p < PAPER_ALPHA


def test_mcnemar_counts_discordant_examples_over_seeds():
    a = np.array([[1, 1, 0, 0, 1], [1, 0, 0, 0, 0]], dtype=bool)
    b = np.array([[1, 0, 0, 1, 0], [0, 0, 0, 0, 0]], dtype=bool)
    t = mcnemar(a, b)
    assert (t.b, t.c) == (3, 1) and t.p == pytest.approx(binomial_two_sided(1, 4))
    assert "3/1 discordant" in t.text
    with pytest.raises(ValueError, match="same seeds"):
        mcnemar(a, b[:1])


def test_p_vs_best_is_one_for_the_best_and_small_for_a_clearly_worse_model():
    rng = np.random.default_rng(0)
    good = rng.random((3, 2000)) < 0.10
    bad = good | (rng.random((3, 2000)) < 0.05)  # wrong wherever good is, and more
    close = good ^ (rng.random((3, 2000)) < 0.002)
    p = p_vs_best({"good": good, "bad": bad, "close": close})
    assert p["good"] == 1.0 and p["bad"] < 1e-10 and p["close"] > PAPER_ALPHA


def test_bootstrap_interval_of_one_error_is_the_binomial_one():
    n = 4000
    w = np.zeros(n, dtype=bool)
    w[: n // 5] = True  # 20% wrong
    iv = Resamples({"m": w}).interval(lambda d: d["m"])
    se = math.sqrt(0.2 * 0.8 / n)
    assert iv.estimate == pytest.approx(0.2)
    # ±2.81 standard errors for a 99.5% interval.
    assert iv.hi - iv.estimate == pytest.approx(2.807 * se, rel=0.1)
    assert iv.estimate - iv.lo == pytest.approx(2.807 * se, rel=0.1)
    assert iv.level == 1 - PAPER_ALPHA


def test_bootstrap_is_paired_identical_models_differ_by_exactly_zero():
    rng = np.random.default_rng(1)
    a = rng.random(1000) < 0.3
    b = a.copy()
    iv = Resamples({"a": a, "b": b}).interval(lambda d: np.asarray(d["a"]) - d["b"])
    assert iv.lo == iv.hi == 0.0


def test_bootstrap_is_deterministic():
    w = np.random.default_rng(2).random((2, 500)) < 0.4
    one = Resamples({"m": w}).interval(lambda d: d["m"])
    assert Resamples({"m": w}).interval(lambda d: d["m"]) == one


def _run(pred, true, seed=0, diverged=None):
    cfg = RunConfig(width=8, updates=10, n_test=len(true), seed=seed)
    evals = {"updates": np.array([10]), "test_pred": pred, "test_true": true}
    return Run(cfg, {"updates": np.array([10])}, evals, diverged)


def test_wrong_compares_predictions_with_labels_per_seed():
    true = np.array([0, 1, 2, 3], dtype=np.uint8)
    runs = [_run(np.array([0, 1, 0, 3], np.uint8), true), _run(true.copy(), true, 1)]
    assert wrong(runs).tolist() == [[False, False, True, False], [False] * 4]
    assert wrong([_run(true, true, diverged=5)]).all()  # a diverged run answers nothing


def test_wrong_names_a_record_without_predictions_and_what_to_do():
    run = _run(np.zeros(3, np.uint8), np.zeros(3, np.uint8))
    del run.evals["test_pred"]
    with pytest.raises(MissingPredictions, match=r"evals\['test_pred'\].*delete"):
        wrong([run])


def test_wrong_refuses_runs_tested_on_other_examples():
    a = _run(np.zeros(3, np.uint8), np.zeros(3, np.uint8))
    b = _run(np.zeros(3, np.uint8), np.ones(3, np.uint8), seed=1)
    with pytest.raises(ValueError, match="one test set"):
        wrong([a, b])

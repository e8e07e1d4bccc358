"""The two-proportion z-test against known values and against the 2×2 chi-square test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glorot.stats import PAPER_ALPHA, differs_from_best, normal_sf, p_vs_best, two_proportion_z


@pytest.mark.parametrize(
    ("z", "tail"),
    # Standard normal table: the 5%, 1% and 0.5% two-sided critical values.
    [(0.0, 0.5), (1.959963985, 0.025), (2.575829304, 0.005), (2.807033768, 0.0025)],
)
def test_normal_tail_matches_the_table(z, tail):
    assert normal_sf(z) == pytest.approx(tail, rel=1e-8)


def test_z_test_of_a_hand_computed_example():
    # 50% vs 40% on 100 examples each: pooled 0.45, se = sqrt(0.45·0.55·0.02) = 0.0703562.
    t = two_proportion_z(0.5, 100, 0.4, 100)
    assert t.z == pytest.approx(0.1 / math.sqrt(0.45 * 0.55 * 0.02))
    assert t.z == pytest.approx(1.421338, abs=1e-6)
    assert t.p == pytest.approx(0.155218, abs=1e-6)
    assert two_proportion_z(0.4, 100, 0.5, 100).z == pytest.approx(-t.z)


@pytest.mark.parametrize(("a", "n1", "c", "n2"), [(45, 100, 30, 120), (1627, 10_000, 1560, 10_000)])
def test_z_squared_is_the_chi_square_of_the_2x2_table(a, n1, c, n2):
    # The pooled z-test equals Pearson's chi-square test (1 d.o.f., no continuity correction) of
    # the table [[a, n1 - a], [c, n2 - c]]: chi2 = N (ad - bc)^2 / (row and column products).
    b, d = n1 - a, n2 - c
    chi2 = (n1 + n2) * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    t = two_proportion_z(a / n1, n1, c / n2, n2)
    assert t.z**2 == pytest.approx(chi2)
    assert t.p == pytest.approx(math.erfc(math.sqrt(chi2 / 2)))


def test_level_holds_under_the_null_by_simulation():
    # Two runs with the same true error: a test at level 0.05 rejects about 5% of the time.
    rng = np.random.default_rng(0)
    n, e = 2_000, 0.3
    errors = rng.binomial(n, e, size=(4_000, 2)) / n
    rejected = np.mean([two_proportion_z(a, n, b, n).p < 0.05 for a, b in errors])
    assert 0.04 < rejected < 0.06


def test_equal_extremes_do_not_differ():
    assert two_proportion_z(0.0, 10, 0.0, 20).p == 1.0
    assert two_proportion_z(1.0, 10, 1.0, 20).p == 1.0


@pytest.mark.parametrize(("e", "n", "match"), [(16.3, 100, "percentage"), (0.1, 0, ">= 1")])
def test_bad_input_is_named(e, n, match):
    with pytest.raises(ValueError, match=match):
        two_proportion_z(e, n, 0.1, 100)


def test_column_against_its_best():
    # Table 1's Shapeset column as if each had been measured on 10,000 test examples.
    column = {"Softsign": 0.1627, "Softsign N": 0.1606, "Tanh": 0.2715, "Tanh N": 0.1560}
    p = p_vs_best(column, 10_000)
    assert p["Tanh N"] == 1.0
    assert p["Tanh"] == pytest.approx(two_proportion_z(0.2715, 10_000, 0.1560, 10_000).p)
    assert differs_from_best(column, 10_000) == {
        "Softsign": False,  # 0.67 points on 10,000: z ≈ 1.3
        "Softsign N": False,
        "Tanh": True,
        "Tanh N": False,
    }
    assert PAPER_ALPHA == 0.005


def test_a_diverged_run_is_compared_with_nothing():
    p = p_vs_best({"a": 0.2, "b": math.nan, "c": 0.5}, 500)
    assert p["a"] == 1.0 and math.isnan(p["b"]) and p["c"] < PAPER_ALPHA
    assert all(math.isnan(v) for v in p_vs_best({"a": math.nan}, 500).values())

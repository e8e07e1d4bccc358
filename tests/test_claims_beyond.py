"""B1-B6 say ✔ on data that fits the claim, ✗ on data that breaks it, and B4 'not reached' before
any network has learned."""

import numpy as np
import pytest

from glorot.claims import Verdict, beyond

OK, NO, NR = Verdict.PASS, Verdict.FAIL, Verdict.NOT_REACHED


def test_b1():
    m = {"standard": np.array([0.3, 0.17]), "normalized": np.array([0.45, 0.38])}
    assert beyond.check_b1(m, {k: v * 1.03 for k, v in m.items()}).verdict == OK
    assert beyond.check_b1(m, {k: v * 1.2 for k, v in m.items()}).verdict == NO


def test_b2():
    m = {"standard": np.array([0.55, 0.57]), "normalized": np.array([0.85, 0.9])}
    chi = {"standard": 1 / 3, "normalized": 1.0}
    assert beyond.check_b2(m, m, chi).verdict == OK
    assert beyond.check_b2(m, {k: v * 1.5 for k, v in m.items()}, chi).verdict == NO
    assert beyond.check_b2(m, m, {"standard": 1 / 3, "normalized": 1.2}).verdict == NO


def test_b3():
    xavier = 0.5 * 2 ** (-np.arange(5) / 2)
    he = np.full(5, 0.6)
    assert beyond.check_b3(xavier, he).verdict == OK
    assert beyond.check_b3(he, he).verdict == NO
    assert beyond.check_b3(xavier, xavier).verdict == NO


def _outcomes(n: int, rate: float, seed: int, seeds: int = 3) -> np.ndarray:
    """(seeds, n) misclassifications, each example wrong with probability ``rate``."""
    return np.random.default_rng(seed).random((seeds, n)) < rate


def test_b4_pass_fail_and_not_reached_by_paired_intervals():
    relu = beyond.RELU_LABEL
    tanh_n = _outcomes(2_000, 0.20, 1)
    table = {"Tanh N": tanh_n, "Sigmoid": _outcomes(2_000, 0.80, 2)}
    # ReLU wrong where Tanh N is, and on 1 % more: 1 point behind, well inside the 2-point margin.
    close = tanh_n | _outcomes(2_000, 0.01, 3)
    assert beyond.check_b4({relu: close, **table}, 40_000).verdict == OK
    # 10 points behind the best, on the same examples: significantly outside the margin.
    far = tanh_n | _outcomes(2_000, 0.125, 4)
    result = beyond.check_b4({relu: far, **table}, 40_000)
    assert result.verdict == NO and "McNemar" in result.measured
    # 2 points behind on independent errors over 300 examples: the interval straddles the margin.
    small = {"Tanh N": _outcomes(300, 0.20, 5), relu: _outcomes(300, 0.22, 6)}
    assert beyond.check_b4(small, 40_000).verdict == NR
    # Every network at chance: an ordering says nothing, even one far outside the margin.
    chance = {"Tanh N": _outcomes(2_000, 0.80, 7), relu: _outcomes(2_000, 0.83, 8) | tanh_n}
    assert beyond.check_b4(chance, 400).verdict == NR


def test_b4_needs_relu_and_a_table1_row():
    with pytest.raises(ValueError, match="ReLU He"):
        beyond.check_b4({"Tanh N": _outcomes(10, 0.2, 0)}, 400)


def test_b5():
    assert beyond.check_b5({"tanh": np.full(5, 0.6), "relu": np.full(5, 0.6)}).verdict == OK
    assert beyond.check_b5({"tanh": 0.6 * 0.8 ** np.arange(5)}).verdict == NO


def test_b6():
    g = {"mean_sq": 0.05, "rel_var": 40.0}
    assert beyond.check_b6(g, {"mean_sq": 0.05, "rel_var": 1.2}, 32).verdict == OK
    assert beyond.check_b6(g, {"mean_sq": 0.05, "rel_var": 20.0}, 32).verdict == NO
    assert beyond.check_b6(g, {"mean_sq": 0.5, "rel_var": 1.2}, 32).verdict == NO


def test_statements_are_found():
    from glorot.claims import statement_of

    assert "LSUV" in statement_of("B5")

"""B1-B6 say ✔ on data that fits the claim, ✗ on data that breaks it, and B4 'not reached' before
any network has learned."""

import numpy as np

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


def test_b4():
    table = {"Tanh N": 20.0, "Sigmoid": 80.0}
    assert beyond.check_b4(21.0, table, 40_000).verdict == OK
    assert beyond.check_b4(30.0, table, 40_000).verdict == NO
    assert beyond.check_b4(82.0, {"Tanh N": 81.0}, 400).verdict == NR


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

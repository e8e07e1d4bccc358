"""The saturation claims C1-C5 and C12 on synthetic curves and histograms: each check passes on data
that shows the claim, fails on data that breaks it, and is not reached on runs too short to tell."""

import numpy as np
import pytest

from glorot.claims import ROUNDING, Verdict
from glorot.claims import distributions as D
from glorot.claims import saturation as sat
from glorot.probes import act_bins

PASS, FAIL, NOT_REACHED = Verdict.PASS, Verdict.FAIL, Verdict.NOT_REACHED
LONG = np.array([0, 5_000, 20_000, 40_000, 500_000, 1_000_000, 2_000_000, 2_800_000])
SHORT = np.array([0, 100, 200, 400])


def sigmoid_means(updates, top, lower):
    """act_mean (P, L): layers 1..L-1 move linearly from 0.5 to ``lower`` by update 20k (then
    stay), the top layer follows ``top`` (a function of the updates)."""
    ramp = np.clip(updates / 20_000, 0, 1)[:, None]
    lower = 0.5 + ramp * (np.asarray(lower) - 0.5)
    return np.column_stack([lower, top(updates)])


def saturating_top(updates):
    return np.where(updates >= 5_000, 0.02, 0.5)


def escaping_top(updates):
    return np.where(updates >= 2_000_000, 0.3, saturating_top(updates))


# ---- helpers --------------------------------------------------------------------------------


def test_crossings_first_probe_at_or_above_threshold():
    p98 = np.array([[0.5, 0.2], [0.95, 0.3], [0.9, 0.99]])
    assert D.crossings([0, 10, 20], p98) == [10, 20]
    assert D.crossings([0, 10, 20], p98, threshold=0.999) == [None, None]


def test_checks_name_shape_errors():
    with pytest.raises(ValueError, match="per-layer statistic"):
        sat.check_c1(LONG, np.zeros(len(LONG)))


# ---- C1 -------------------------------------------------------------------------------------


def test_c1_passes_when_top_saturates_and_lower_layers_rise_in_order():
    r = sat.check_c1(LONG, sigmoid_means(LONG, saturating_top, [0.55, 0.65, 0.8]))
    assert r.verdict is PASS and r.id == "C1"
    assert "0.020" in r.measured  # the top layer's mean at the end of the early window


def test_c1_is_judged_at_the_end_of_the_early_window():
    # The top layer escapes much later (C2): C1 still holds early in training.
    r = sat.check_c1(LONG, sigmoid_means(LONG, escaping_top, [0.55, 0.65, 0.8]))
    assert r.verdict is PASS
    assert "40,000" in r.measured


@pytest.mark.parametrize(
    "top, lower",
    [
        (lambda u: np.full(u.shape, 0.5), [0.55, 0.65, 0.8]),  # the top layer never saturates
        (saturating_top, [0.8, 0.65, 0.55]),  # lower means increase from the top layer down
        (saturating_top, [0.45, 0.65, 0.8]),  # layer 1 below 0.5
    ],
)
def test_c1_fails_when_broken(top, lower):
    assert sat.check_c1(LONG, sigmoid_means(LONG, top, lower)).verdict is FAIL


def test_c1_not_reached_on_a_short_run_that_has_not_saturated_yet():
    flat = sigmoid_means(SHORT, lambda u: np.full(u.shape, 0.49), [0.5, 0.51, 0.52])
    assert sat.check_c1(SHORT, flat).verdict is NOT_REACHED


# ---- C2 -------------------------------------------------------------------------------------


def c2_args(updates, top4=escaping_top, layer1=(0.0, 0.2), top5=saturating_top):
    """Depth-4 means and saturated fractions, depth-5 means; layer 1's saturated fraction moves
    from ``layer1[0]`` to ``layer1[1]`` at update 1M."""
    mean4 = sigmoid_means(updates, top4, [0.55, 0.65, 0.8])
    saturated4 = np.zeros_like(mean4)
    saturated4[:, 0] = np.where(updates >= 1_000_000, layer1[1], layer1[0])
    mean5 = sigmoid_means(updates, top5, [0.55, 0.6, 0.65, 0.8])
    return updates, mean4, saturated4, updates, mean5


def test_c2_passes_when_depth4_escapes_and_depth5_does_not():
    r = sat.check_c2(*c2_args(LONG))
    assert r.verdict is PASS and r.id == "C2"


@pytest.mark.parametrize(
    "change",
    [
        {"top4": saturating_top},  # depth 4 never escapes
        {"top5": escaping_top},  # depth 5 escapes too
        {"top5": lambda u: np.full(u.shape, 0.5)},  # depth 5 never saturates in the first place
        {"layer1": (0.2, 0.0)},  # layer 1 desaturates instead
    ],
)
def test_c2_fails_when_broken(change):
    assert sat.check_c2(*c2_args(LONG, **change)).verdict is FAIL


def test_c2_not_reached_before_two_million_updates_and_reports_the_top_layer():
    short = LONG[LONG <= 1_000_000]
    r = sat.check_c2(*c2_args(short))
    assert r.verdict is NOT_REACHED
    assert "0.020 at the end" in r.measured and "2,000,000" in r.measured


# ---- C3, C4, C12 ----------------------------------------------------------------------------


def p98_curves(updates, cross_at, start=0.4, end=0.99):
    """98th percentiles (P, L): layer l jumps from ``start`` to ``end`` at ``cross_at[l]``
    (None: never)."""
    return np.column_stack(
        [
            np.where(updates >= c, end, start) if c is not None else np.full(updates.shape, start)
            for c in cross_at
        ]
    ).astype(float)


def test_c3_passes_when_layers_saturate_in_order():
    cross = [5_000, 40_000, 40_000, 1_000_000, 2_000_000]  # ties at one probe are allowed
    r = sat.check_c3(LONG, p98_curves(LONG, cross))
    assert r.verdict is PASS and r.id == "C3"
    assert "layer 4 at 1,000,000" in r.measured


@pytest.mark.parametrize(
    "cross",
    [
        [40_000, 5_000, 500_000, 1_000_000, 2_000_000],  # layer 2 before layer 1
        [None, 5_000, None, None, None],  # layer 2 without layer 1
        [40_000] * 5,  # all at once
        [5_000, 40_000, None, None, None],  # in order, but a long run never finishes
    ],
)
def test_c3_fails_when_broken(cross):
    assert sat.check_c3(LONG, p98_curves(LONG, cross)).verdict is FAIL


def test_c3_not_reached_when_a_short_run_is_in_order_so_far():
    r = sat.check_c3(SHORT, p98_curves(SHORT, [200, None, None, None, None]))
    assert r.verdict is NOT_REACHED
    assert "layer 2 never" in r.measured


TANH_CROSSES = [5_000, 40_000, 500_000, 1_000_000, 2_000_000]


@pytest.mark.parametrize("check, claim", [(sat.check_c4, "C4"), (sat.check_c12, "C12")])
def test_c4_c12_pass_when_layers_stay_below_tanh_saturation_together(check, claim):
    p98 = p98_curves(LONG, [None] * 5, start=0.8) + np.linspace(0, 0.1, 5)
    r = check(LONG, p98, LONG, p98_curves(LONG, TANH_CROSSES))
    assert r.verdict is PASS and r.id == claim


@pytest.mark.parametrize("check", [sat.check_c4, sat.check_c12])
@pytest.mark.parametrize(
    "updates, p98",
    [
        (SHORT, p98_curves(SHORT, [100, None, None, None, None], start=0.8)),  # saturates
        (LONG, p98_curves(LONG, [None] * 5, start=0.8) - np.linspace(0, 0.5, 5)),  # spread
    ],
)
def test_c4_c12_fail_when_broken(check, updates, p98):
    assert check(updates, p98, LONG, p98_curves(LONG, TANH_CROSSES)).verdict is FAIL


@pytest.mark.parametrize("check", [sat.check_c4, sat.check_c12])
def test_c4_c12_a_clear_saturation_decides_whatever_a_probe_near_the_threshold_says(check):
    """A layer far past the threshold breaks "no layer saturates" even when another probe, on the
    way up, landed within rounding of it; a layer that only touches the threshold decides
    nothing."""
    tanh = p98_curves(LONG, TANH_CROSSES)
    clear = p98_curves(LONG, [100_000, None, None, None, None], start=0.8)
    clear[3, 0] = sat.SATURATED_P98 * (1 + ROUNDING / 2)  # within rounding, before the crossing
    assert check(LONG, clear, LONG, tanh).verdict is FAIL
    touch = p98_curves(LONG, [None] * 5, start=0.8) + np.linspace(0, 0.1, 5)
    touch[-1, 0] = sat.SATURATED_P98 * (1 + ROUNDING / 2)  # reaches it, within rounding only
    assert check(LONG, touch, LONG, tanh).verdict is NOT_REACHED
    tanh_near = tanh.copy()
    tanh_near[2, 0] = sat.SATURATED_P98 * (1 - ROUNDING / 2)  # the contrast run, near it on the way
    assert check(LONG, clear, LONG, tanh_near).verdict is FAIL


@pytest.mark.parametrize("check", [sat.check_c4, sat.check_c12])
def test_c4_c12_not_reached_on_short_runs_without_contrast(check):
    spread = p98_curves(SHORT, [None] * 5, start=0.5) - np.linspace(0, 0.45, 5)
    tanh = p98_curves(SHORT, [None] * 5)  # tanh has not saturated either
    assert check(SHORT, spread, SHORT, tanh).verdict is NOT_REACHED


# ---- C5 -------------------------------------------------------------------------------------

EDGES = act_bins("tanh")


def histograms(samples: np.ndarray, layers: int = 5) -> np.ndarray:
    """(L, bins) fractions of ``samples`` on the activation bins, the same for every layer."""
    h = np.histogram(np.clip(samples, -1, 1), EDGES)[0] / samples.size
    return np.tile(h, (layers, 1))


RNG = np.random.default_rng(0)
SIGNS = RNG.choice([-1.0, 1.0], 20_000)
TANH_END = histograms(
    np.concatenate([SIGNS[:6_000] * (1 - RNG.exponential(0.01, 6_000)), RNG.normal(0, 0.1, 14_000)])
)
SOFTSIGN_END = histograms(SIGNS * RNG.normal(0.7, 0.08, 20_000))
CENTRED = histograms(RNG.normal(0, 0.3, 20_000))


def test_fold_sums_mirror_bins_and_rejects_asymmetric_edges():
    abs_edges, folded = D.fold(SOFTSIGN_END, EDGES)
    assert np.allclose(abs_edges, np.linspace(0, 1, 26))
    assert np.allclose(folded.sum(axis=1), SOFTSIGN_END.sum(axis=1))
    with pytest.raises(ValueError, match="symmetric about 0"):
        D.fold(SOFTSIGN_END, act_bins("sigmoid"))


def test_c5_passes_on_tanh_modes_at_0_and_1_and_softsign_knees():
    r = sat.check_c5(TANH_END, 2_800_000, SOFTSIGN_END, 2_800_000, EDGES)
    assert r.verdict is PASS and r.id == "C5"


@pytest.mark.parametrize(
    "tanh, softsign",
    [
        (CENTRED, SOFTSIGN_END),  # tanh without mass at the asymptotes
        (TANH_END, CENTRED),  # softsign's mode at 0
        (TANH_END, TANH_END),  # softsign's modes at the asymptotes and 0
    ],
)
def test_c5_fails_when_broken(tanh, softsign):
    assert sat.check_c5(tanh, 2_800_000, softsign, 2_800_000, EDGES).verdict is FAIL


def test_c5_not_reached_on_short_runs():
    assert sat.check_c5(CENTRED, 400, CENTRED, 400, EDGES).verdict is NOT_REACHED

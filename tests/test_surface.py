"""The Fig. 5 surfaces against a direct evaluation of the network and finite differences."""

import numpy as np
import pytest
import torch

from glorot.config import ConfigError
from glorot.models import COSTS
from glorot.surface import (
    Surface,
    SurfaceSpec,
    costs_at,
    plateau_mask,
    plateau_share,
    problem,
    surface,
    surfaces,
)

SPEC = SurfaceSpec(n_in=4, n_hidden=3, n_out=3, n_examples=25, grid=9, extent=3.0, seed=1)


def _direct(spec: SurfaceSpec, cost: str, w1: float, w2: float) -> float:
    """The cost of the network with W1[0,0] = w1 and W2[0,0] = w2, one plain forward pass."""
    prob = problem(spec)
    W1, W2 = prob.W1.clone(), prob.W2.clone()
    W1[0, 0], W2[0, 0] = w1, w2
    logits = torch.tanh(prob.x @ W1.T) @ W2.T
    return float(COSTS[cost](logits, prob.y))


@pytest.mark.parametrize("cost", ["nll", "quadratic"])
def test_grid_values_equal_direct_evaluation(cost):
    s = surface(SPEC, cost)
    for i, j in [(0, 0), (2, 7), (4, 4), (8, 1)]:
        expected = _direct(SPEC, cost, w1=s.axis[j], w2=s.axis[i])  # rows are w2, columns w1
        assert s.cost[i, j] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("cost", ["nll", "quadratic"])
def test_gradients_equal_finite_differences(cost):
    s = surface(SPEC, cost)
    prob, h = problem(SPEC), 1e-6
    for i, j in [(1, 2), (3, 6), (7, 7)]:
        w1 = torch.tensor([s.axis[j] - h, s.axis[j] + h, s.axis[j], s.axis[j]], dtype=torch.float64)
        w2 = torch.tensor([s.axis[i], s.axis[i], s.axis[i] - h, s.axis[i] + h], dtype=torch.float64)
        c = costs_at(prob, cost, w1, w2).detach().numpy()
        assert s.dC_dw1[i, j] == pytest.approx((c[1] - c[0]) / (2 * h), rel=1e-6, abs=1e-9)
        assert s.dC_dw2[i, j] == pytest.approx((c[3] - c[2]) / (2 * h), rel=1e-6, abs=1e-9)


def test_the_other_weights_keep_their_drawn_values():
    prob = problem(SPEC)
    drawn = torch.tensor([float(prob.W1[0, 0])], dtype=torch.float64)
    out = torch.tensor([float(prob.W2[0, 0])], dtype=torch.float64)
    at_drawn = costs_at(prob, "nll", drawn, out)
    logits = torch.tanh(prob.x @ prob.W1.T) @ prob.W2.T
    assert float(at_drawn[0]) == pytest.approx(float(COSTS["nll"](logits, prob.y)), rel=1e-12)


def test_same_seed_same_surface_other_seed_other_surface():
    a, b = surfaces(SPEC), surfaces(SPEC)
    c = surfaces(SurfaceSpec(**{**SPEC.__dict__, "seed": 2}))
    np.testing.assert_array_equal(a["nll"].cost, b["nll"].cost)
    assert not np.allclose(a["nll"].cost, c["nll"].cost)


def _synthetic(g1: np.ndarray) -> Surface:
    zeros = np.zeros_like(g1)
    return Surface("nll", np.arange(g1.shape[0]), zeros, g1, zeros)


def test_plateau_share_counts_points_below_the_fraction_of_the_largest_slope():
    g = np.array([[0.0, 0.01], [0.5, 1.0]])  # max 1: below 5% are 0 and 0.01
    s = _synthetic(g)
    assert plateau_share(s, 0.05) == 0.5
    np.testing.assert_array_equal(plateau_mask(s, 0.05), [[True, True], [False, False]])
    assert plateau_share(s, 0.6) == 0.75
    # scale-free: multiplying the cost (hence its gradient) by 100 changes nothing
    assert plateau_share(_synthetic(100 * g), 0.05) == 0.5
    with pytest.raises(ValueError, match="plateau fraction"):
        plateau_share(s, 1.5)


def test_bad_specs_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match="n_out must be an integer >= 2"):
        SurfaceSpec(n_out=1)
    with pytest.raises(ConfigError, match="extent must be > 0"):
        SurfaceSpec(extent=0)
    with pytest.raises(ConfigError, match="grid must be an integer"):
        SurfaceSpec(grid=0)
    with pytest.raises(ConfigError, match="unknown cost 'mse'; choose one of nll, quadratic"):
        surface(SPEC, "mse")

"""The §4.2 predictions against simulations of the networks they describe and against exact
identities (eqs. 1, 5, 13, 16; the quarter-circle law)."""

import math

import numpy as np
import pytest
import torch

from glorot import theory
from glorot.config import RunConfig
from glorot.data import make_source
from glorot.models import INITS, build_model
from glorot.probes import act_bins, probe


def test_weight_variances_are_those_of_eqs_1_and_16():
    sizes = theory.layer_sizes(1024, 1000, 2, 9)
    assert sizes == [1024, 1000, 1000, 9]
    np.testing.assert_allclose(
        theory.weight_variances("standard", sizes), [1 / 3072, 1 / 3000, 1 / 3000]
    )
    np.testing.assert_allclose(
        theory.weight_variances("normalized", sizes), [2 / 2024, 2 / 2000, 2 / 1009]
    )


def _linear_net(init: str, sizes: list[int], n: int, seed: int = 0):
    """A network with f(s) = s (the linear regime, exactly) and its per-layer s, z and dC/ds."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, sizes[0], generator=g, dtype=torch.float64)  # not centred, like pixels
    y = torch.randint(0, sizes[-1], (n,), generator=g)
    Ws = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=False):
        bound = INITS[init](a, b)
        u = torch.rand(b, a, generator=g, dtype=torch.float64)
        Ws.append(((u * 2 - 1) * bound).requires_grad_(True))
    s, h = [], x
    for W in Ws[:-1]:
        s.append(h @ W.T)
        h = s[-1]
    logits = h @ Ws[-1].T
    logits.retain_grad()
    for t in s:
        t.retain_grad()
    torch.nn.functional.cross_entropy(logits, y).backward()
    return x, s, logits, y


@pytest.mark.parametrize("init", ["standard", "normalized"])
def test_eq5_and_eq13_hold_exactly_in_a_linear_network(init):
    sizes = theory.layer_sizes(300, 400, 3, 9)
    x, s, logits, _ = _linear_net(init, sizes, n=200)
    var = theory.weight_variances(init, sizes)
    forward = theory.forward_variances(sizes, var, float((x**2).mean()))
    measured = [float((t.detach() ** 2).mean()) for t in s]  # second moments (zero-mean weights)
    np.testing.assert_allclose(measured, forward, rtol=0.15)

    out_var = float(logits.grad.var())
    backward = theory.backward_variances(sizes, var, out_var)
    measured = [float(t.grad.var()) for t in s]
    np.testing.assert_allclose(measured, backward, rtol=0.15)
    # the standard init shrinks each step by n Var[W] = 1/3 (eq. 13); the normalized keeps it
    step = backward[:-1] / backward[1:]
    np.testing.assert_allclose(step, 1 / 3 if init == "standard" else 1.0, rtol=1e-12)


def test_output_gradient_variance_is_exact_for_a_uniform_softmax():
    n, k = 30, 9
    logits = torch.zeros(n, k, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, k, (n,), generator=torch.Generator().manual_seed(0))
    torch.nn.functional.cross_entropy(logits, y).backward()
    g = logits.grad
    assert float(g.mean()) == pytest.approx(0, abs=1e-15)
    assert float((g**2).mean()) == pytest.approx(theory.output_gradient_variance(k, n), rel=1e-12)


def test_eq14_is_level_across_equal_layers():
    sizes = theory.layer_sizes(1000, 1000, 5, 9)
    for init in ("standard", "normalized"):
        var = theory.weight_variances(init, sizes)
        fwd = theory.forward_variances(sizes, var, 1.0)
        bwd = theory.backward_variances(sizes, var, 1.0)
        w = theory.weight_gradient_variances(fwd, bwd, 1.0)
        np.testing.assert_allclose(w, w[0], rtol=1e-12)


def test_quarter_circle_density_mean_and_a_sampled_matrix():
    edge = 1.7
    grid = np.linspace(0, edge, 200_001)
    pdf = theory.quarter_circle_pdf(grid, edge)
    assert np.trapezoid(pdf, grid) == pytest.approx(1, abs=1e-4)
    assert np.trapezoid(grid * pdf, grid) == pytest.approx(theory.quarter_circle_mean(edge), 1e-4)
    assert theory.quarter_circle_pdf(np.array([-0.1, edge + 0.1]), edge).tolist() == [0, 0]
    # an n x n iid matrix of variance σ²: mean singular value (8/3π)σ√n (reference §2)
    n, sigma = 400, 0.05
    W = torch.randn(n, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * sigma
    sv = torch.linalg.svdvals(W).numpy()
    assert sv.mean() == pytest.approx(8 / (3 * math.pi) * sigma * math.sqrt(n), rel=0.02)
    assert theory.quarter_circle_mean(theory.quarter_circle_scale(sigma**2, n)) == pytest.approx(
        8 / (3 * math.pi) * sigma * math.sqrt(n)
    )


def test_mean_df2_from_histograms():
    edges = act_bins("tanh")
    centres = (edges[:-1] + edges[1:]) / 2
    one_bin = np.zeros_like(centres)
    one_bin[37] = 1.0
    two_bins = np.zeros_like(centres)
    two_bins[[0, 25]] = [0.25, 0.75]
    df2 = theory.mean_df2(np.stack([one_bin, two_bins]), "tanh")
    assert df2[0] == pytest.approx((1 - centres[37] ** 2) ** 2)
    expected = 0.25 * (1 - centres[0] ** 2) ** 2 + 0.75 * (1 - centres[25] ** 2) ** 2
    assert df2[1] == pytest.approx(expected)


@pytest.mark.parametrize("init", ["standard", "normalized"])
def test_predictions_match_a_tanh_network_at_init(init):
    """The Jacobians of a 5x256 tanh net on Shapeset follow the quarter-circle law with f'; with
    the standard init the upper layers are in the linear regime: their variances change by
    n Var[W] = 1/3 per layer (eq. 5), and the back-propagated ones follow eq. 13."""
    cfg = RunConfig(activation="tanh", init=init, width=256, depth=5, jacobian_examples=1)
    source = make_source(cfg)
    x, y = source.fixed("probe", 300)
    model = build_model(cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(0))
    p = probe(model, x, y, cfg)
    sizes = theory.layer_sizes(source.n_inputs, 256, 5, source.n_classes)
    pred = theory.predictions(init, "tanh", sizes, float((x**2).mean()), 300, p["act_hist"])
    assert np.isnan(pred["jac_mean_sv"][0])  # layer 1 is 256 x 1024: no square law
    np.testing.assert_allclose(p["jac_mean_sv"][1:], pred["jac_mean_sv"][1:], rtol=0.08)
    if init == "standard":
        act_var = p["act_std"].astype(float) ** 2
        np.testing.assert_allclose(act_var[2:] / act_var[1:-1], 1 / 3, rtol=0.15)
        np.testing.assert_allclose(p["dC_ds_std"] ** 2, pred["dC_ds_var"], rtol=0.35)

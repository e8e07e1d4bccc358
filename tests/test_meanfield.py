"""Mean-field theory by quadrature, the new inits, and the Jacobian spectra of deep nets."""

import math

import numpy as np
import pytest
import torch

from glorot import isometry, meanfield
from glorot.config import ConfigError, RunConfig, model_label
from glorot.models import MLP


def test_quadrature_matches_closed_forms():
    # ReLU: E[max(0, √q z)²] = q/2 exactly (z = 0 is not a node), E[relu'²] = 1/2.
    assert meanfield.gaussian_mean("relu", "f", 2.0, 2) == pytest.approx(1.0, rel=1e-12)
    assert meanfield.gaussian_mean("relu", "df", 2.0, 2) == pytest.approx(0.5, rel=1e-12)
    # tanh near 0 is linear: E[tanh(√q z)²] ≈ q for small q.
    assert meanfield.gaussian_mean("tanh", "f", 1e-6, 2) == pytest.approx(1e-6, rel=1e-5)


def test_chi1_and_depth_scale_of_the_paper_inits():
    chi_s = float(meanfield.chi1("tanh", meanfield.init_sigma_w2("standard", "tanh", 1000)))
    chi_n = float(meanfield.chi1("tanh", meanfield.init_sigma_w2("normalized", "tanh", 1000)))
    assert chi_s == pytest.approx(1 / 3)
    assert float(meanfield.depth_scale(chi_s)) == pytest.approx(1 / math.log(3))  # 0.91 layers
    assert meanfield.phase(chi_s) == "ordered" and meanfield.phase(chi_n) == "critical"
    assert meanfield.phase(float(meanfield.chi1("tanh", 2.0))) == "chaotic"
    assert float(meanfield.chi1("relu", 2.0)) == pytest.approx(1.0)  # He's init is critical


def test_variance_map_reproduces_the_tanh_normalized_prediction():
    # sigma_w^2 = 1 in every layer from E[x²] = 0.3473: sd 0.466, 0.396, 0.349, 0.315, 0.289.
    sizes = [1000] * 6 + [9]
    out = meanfield.forward("tanh", sizes, np.full(6, 1 / 1000), 0.3473)
    np.testing.assert_allclose(out["sd"], [0.4666, 0.3960, 0.3492, 0.3154, 0.2895], atol=2e-4)
    np.testing.assert_allclose(out["sd"], np.sqrt(out["m2"]), rtol=1e-9)  # odd φ: mean 0
    assert np.all(out["grad_ratio"] < 1)


def test_variance_map_is_eq_5_in_the_linear_regime():
    sizes = [100] * 4 + [10]
    var = np.full(4, 1 / 300)  # standard init: sigma_w^2 = 1/3
    out = meanfield.forward("tanh", sizes, var, 1e-4)
    np.testing.assert_allclose(out["m2"], 1e-4 * (1 / 3) ** np.arange(1, 4), rtol=1e-3)


def test_weight_variances_refuse_a_data_dependent_init():
    with pytest.raises(ConfigError, match="lsuv"):
        meanfield.weight_variances("lsuv", "tanh", [10, 10, 2])
    v = meanfield.weight_variances("he", "relu", [100, 50, 2])
    assert v[0] == pytest.approx(2 / 100) and v[1] == pytest.approx(2 / 50)


def test_orthogonal_and_lsuv_inits():
    g = torch.Generator().manual_seed(0)
    net = MLP(40, 30, 3, 5, "tanh", init="orthogonal", generator=g)
    w = net.layers[1].weight
    torch.testing.assert_close(w @ w.T, torch.eye(30), atol=1e-5, rtol=0)
    x = torch.rand(200, 40, generator=g)
    with pytest.raises(ConfigError, match="needs data"):
        MLP(40, 30, 3, 5, "tanh", init="lsuv", generator=g)
    net = MLP(40, 30, 3, 5, "tanh", init="lsuv", generator=g, data=x)
    h = x
    for layer in net.layers[:-1]:
        s = layer(h)
        assert abs(float(s.detach().var()) - 1) < 0.1
        h = torch.tanh(s)
    assert model_label("relu", "he") == "ReLU He" and model_label("tanh", "normalized") == "Tanh N"
    assert RunConfig(activation="tanh", init="lsuv").label == "Tanh LSUV d5"


def test_relu_he_trains_and_is_probed(tmp_path):
    from glorot.train import train

    cfg = RunConfig(
        activation="relu",
        init="he",
        width=16,
        depth=2,
        updates=20,
        probe_every=10,
        probe_dense=0,
        n_probe=20,
        n_valid=20,
        n_test=20,
        jacobian_examples=2,
    )
    run = train(cfg)
    assert np.isfinite(run.probes["jac_mean_sv"][0]).all()
    assert run.probes["act_saturated"].max() == 0  # unbounded above: never saturated


def test_orthogonal_jacobian_spreads_less_than_gaussian():
    x = torch.rand(2, 64, generator=torch.Generator().manual_seed(1))
    out = {
        k: isometry.jacobian_singular_values(x, k, "tanh", 32, (1, 8), 1.0)
        for k in isometry.WEIGHTS
    }
    g, o = (isometry.spectrum_summary(out[k][8]) for k in ("gaussian", "orthogonal"))
    assert g["rel_var"] > 3 * o["rel_var"]
    assert out["gaussian"][8].shape == (2, 32)
    with pytest.raises(ValueError, match="depths"):
        isometry.jacobian_singular_values(x, "gaussian", "tanh", 32, (0,))

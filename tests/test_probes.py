"""The probes against references: gradients from ``loss.backward()``, Jacobians from autograd, and
the paper's statements about 5x1000 tanh networks at initialisation (Figs. 6-8, §4.2.2; C7-C10)."""

import copy
import math

import numpy as np
import pytest
import torch

from glorot import probes
from glorot.config import RunConfig
from glorot.data import make_source
from glorot.models import ACTIVATIONS, COSTS, MLP, build_model
from glorot.probes import PERCENTILES, act_bins, grad_bins, probe

KEYS = (
    "act_mean act_std act_pct absact_pct act_saturated act_hist dC_ds_std dC_ds_pct dC_ds_hist "
    "dC_dW_std dC_dW_hist saturated_97 update_ratio jac_mean_sv jac_sv"
).split()


def _small(activation="tanh", n_in=20, width=30, depth=3, n_out=5, n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    model = MLP(n_in, width, depth, n_out, activation, init="normalized", generator=g)
    x = torch.rand(n, n_in, generator=g)
    y = torch.randint(0, n_out, (n,), generator=g)
    return model, x, y


def _cfg(**kw):
    return RunConfig(**{"width": 30, "depth": 3, "jacobian_examples": 3, **kw})


def _np_hist(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """numpy's histogram as a fraction, values beyond the edges counted in the end bins."""
    inside = np.clip(values, edges[0], np.nextafter(edges[-1], -np.inf))
    return np.histogram(inside, edges)[0] / values.size


def test_bins_are_fixed_and_cover_the_ranges():
    for name, act in ACTIVATIONS.items():
        edges = act_bins(name)
        # An activation unbounded above (ReLU) gets a finite top, the same for every run.
        hi = act.hi if np.isfinite(act.hi) else act.lo + probes.UNBOUNDED_HI
        assert edges[0] == act.lo and edges[-1] == hi and len(edges) == probes.ACT_BINS + 1
    edges = grad_bins()
    assert np.all(np.diff(edges) > 0)
    np.testing.assert_allclose(edges, -edges[::-1])  # mirrored
    assert edges[-1] == 1.0 and len(edges) - 1 == 97
    # equal width in log10 |g|: GRAD_BINS_PER_DECADE bins per decade
    np.testing.assert_allclose(np.diff(np.log10(edges[edges > 0])), 1 / probes.GRAD_BINS_PER_DECADE)


@pytest.mark.parametrize("cost", ["nll", "quadratic"])
def test_probe_statistics_equal_those_from_loss_backward(cost):
    model, x, y = _small()
    out = probe(model, x, y, _cfg(cost=cost))
    assert sorted(out) == sorted(KEYS)

    # reference: a clone of the model, gradients from .backward() into .grad and retained s.grad
    clone = copy.deepcopy(model)
    s, z, logits = clone.forward_all(x)
    for s_l in s:
        s_l.retain_grad()
    COSTS[cost](logits, y).backward()
    gedges, aedges = grad_bins(), act_bins("tanh")
    for i, (s_l, z_l, layer) in enumerate(zip(s, z, clone.layers[:-1], strict=True)):
        z_np, ds, dw = z_l.detach().numpy().ravel(), s_l.grad.numpy().ravel(), layer.weight.grad
        dw = dw.numpy().ravel()
        np.testing.assert_allclose(out["act_mean"][i], z_np.mean(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(out["act_std"][i], z_np.std(), rtol=1e-5)
        np.testing.assert_allclose(out["act_pct"][i], np.percentile(z_np, PERCENTILES), rtol=1e-5)
        np.testing.assert_allclose(
            out["absact_pct"][i], np.percentile(np.abs(z_np), PERCENTILES), rtol=1e-5
        )
        np.testing.assert_allclose(out["act_saturated"][i], np.mean(np.abs(z_np) > 0.9))
        np.testing.assert_allclose(out["saturated_97"][i], np.mean(np.abs(z_np) > 0.97))
        np.testing.assert_allclose(out["act_hist"][i], _np_hist(z_np, aedges), atol=1e-6)
        np.testing.assert_allclose(out["dC_ds_std"][i], ds.std(), rtol=1e-5)
        np.testing.assert_allclose(
            out["dC_ds_pct"][i], np.percentile(ds, PERCENTILES), rtol=1e-4, atol=1e-12
        )
        np.testing.assert_allclose(out["dC_ds_hist"][i], _np_hist(ds, gedges), atol=1e-6)
        np.testing.assert_allclose(out["dC_dW_std"][i], dw.std(), rtol=1e-5)
        np.testing.assert_allclose(out["dC_dW_hist"][i], _np_hist(dw, gedges), atol=1e-6)
    for key in ("act_hist", "dC_ds_hist", "dC_dW_hist"):
        np.testing.assert_allclose(out[key].sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softsign"])
@pytest.mark.parametrize("cost", ["nll", "quadratic"])
def test_probe_internals_equal_retained_gradients(activation, cost):
    """∂C/∂s and ∂C/∂W come from the hand-written backward; autograd agrees to float32 rounding."""
    model, x, y = _small(activation=activation)
    s, z, dC_ds, dC_dW = probes.forward_backward(model, x, y, cost)
    clone = copy.deepcopy(model)
    s_ref, z_ref, logits = clone.forward_all(x)
    for s_l in s_ref:
        s_l.retain_grad()
    COSTS[cost](logits, y).backward()
    for i in range(3):
        torch.testing.assert_close(s[i], s_ref[i].detach(), rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(z[i], z_ref[i].detach(), rtol=1e-6, atol=1e-7)
        scale = s_ref[i].grad.abs().max().item()
        torch.testing.assert_close(dC_ds[i], s_ref[i].grad, rtol=1e-5, atol=1e-6 * scale)
        scale = clone.layers[i].weight.grad.abs().max().item()
        torch.testing.assert_close(
            dC_dW[i], clone.layers[i].weight.grad, rtol=1e-5, atol=1e-6 * scale
        )


def test_probe_leaves_grad_and_hooks_untouched():
    model, x, y = _small()
    marked = [torch.full_like(p, 3.0) for p in model.parameters()]
    for i, p in enumerate(model.parameters()):
        p.grad = marked[i].clone() if i % 2 == 0 else None  # a mix of set and unset .grad
    with torch.no_grad():  # the caller's grad mode does not matter
        probe(model, x, y, _cfg())
    assert torch.is_grad_enabled()
    for i, p in enumerate(model.parameters()):
        if i % 2 == 0:
            assert torch.equal(p.grad, marked[i])
        else:
            assert p.grad is None
        assert p.requires_grad and not p._backward_hooks
    for m in model.modules():
        assert not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks)


def test_statistics_cross_to_the_host_once(monkeypatch):
    model, x, y = _small()
    calls = {"cpu": 0, "item": 0}
    cpu, item = torch.Tensor.cpu, torch.Tensor.item

    def counted(name, method):
        def wrapper(self, *args, **kwargs):
            calls[name] += 1
            return method(self, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(torch.Tensor, "cpu", counted("cpu", cpu))
    monkeypatch.setattr(torch.Tensor, "item", counted("item", item))
    probe(model, x, y, _cfg())
    assert calls == {"cpu": 1, "item": 0}


def _explicit_spectra(model, x):
    """Mean and example-averaged sorted singular values of autograd's Jacobians dz^l / dz^(l-1)."""
    means, spectra = [], []
    with torch.no_grad():
        _, z, _ = model.forward_all(x)
    for i, layer in enumerate(model.layers[:-1]):
        below = x if i == 0 else z[i - 1]

        def layer_map(h, layer=layer):
            return model.activation.f(layer(h))

        jacobians = torch.stack(
            [torch.autograd.functional.jacobian(layer_map, h.double()) for h in below.double()]
        )
        sv = torch.linalg.svdvals(jacobians)  # (E, r) decreasing
        means.append(sv.mean().item())
        spectra.append(sv.mean(dim=0).numpy())
    return np.array(means), spectra


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("n_in", [20, 12])  # fewer inputs than units: fewer singular values
def test_jacobian_singular_values_equal_those_of_autograds_jacobian(activation, n_in):
    model, x, y = _small(activation=activation, n_in=n_in, width=16, depth=3)
    model = model.double()  # the explicit Jacobian below is in double precision too
    out = probe(model, x.double(), y, _cfg(width=16, jacobian_examples=3))
    means, spectra = _explicit_spectra(model, x[:3].double())
    assert out["jac_sv"].shape == (3, 16)
    # The probe takes square roots of Gram eigenvalues: absolute error up to ~sqrt(eps) sigma_max,
    # in the float32 of the returned arrays.
    np.testing.assert_allclose(out["jac_mean_sv"], means, rtol=1e-5)
    for i, sv in enumerate(spectra):
        np.testing.assert_allclose(out["jac_sv"][i, : len(sv)], sv, rtol=1e-5, atol=1e-5 * sv[0])
        assert np.isnan(out["jac_sv"][i, len(sv) :]).all()
    assert len(spectra[0]) == min(n_in, 16)


def test_float32_jacobian_spectrum_is_accurate_to_sqrt_eps():
    model, x, y = _small(n_in=40, width=64, depth=2)
    out = probe(model, x, y, _cfg(width=64, depth=2, jacobian_examples=2))
    means, spectra = _explicit_spectra(model.double(), x[:2].double())
    np.testing.assert_allclose(out["jac_mean_sv"], means, rtol=1e-4)
    for i, sv in enumerate(spectra):
        atol = math.sqrt(torch.finfo(torch.float32).eps) * sv[0]
        np.testing.assert_allclose(out["jac_sv"][i, : len(sv)], sv, atol=atol)


def test_without_jacobian_examples_the_jacobian_arrays_are_nan_with_stable_shapes():
    model, x, y = _small()
    with_jac = probe(model, x, y, _cfg(jacobian_examples=2))
    without = probe(model, x, y, _cfg(jacobian_examples=0))
    assert {k: v.shape for k, v in with_jac.items()} == {k: v.shape for k, v in without.items()}
    assert np.isnan(without["jac_mean_sv"]).all() and np.isnan(without["jac_sv"]).all()
    np.testing.assert_array_equal(without["act_pct"], with_jac["act_pct"])


def test_probe_refuses_a_probe_set_that_does_not_fit():
    model, x, y = _small()
    with pytest.raises(ValueError, match=r"pass x of shape \(N, 20\)"):
        probe(model, x[:, :10], y, _cfg())
    with pytest.raises(ValueError, match="jacobian_examples"):
        probe(model, x[:2], y[:2], _cfg(jacobian_examples=3))


# ---- the paper's 5x1000 tanh networks at initialisation (Figs. 6-8, §4.2.2) ----------------------

# The mean singular value of an n x n matrix of iid entries of variance sigma^2, over sigma sqrt(n):
# the mean of the quarter-circle law.
QUARTER_CIRCLE_MEAN = 8 / (3 * math.pi)


@pytest.fixture(scope="module")
def at_init():
    """Probes of the paper's tanh networks (5 x 1000) at init, both inits, on the probe set."""
    out = {}
    for init in ("standard", "normalized"):
        cfg = RunConfig(activation="tanh", init=init, width=1000, depth=5, jacobian_examples=4)
        source = make_source(cfg)
        x, y = source.fixed("probe", cfg.n_probe)  # the 300 Shapeset images every run is probed on
        model = build_model(
            cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(0)
        )
        with torch.no_grad():
            s, _, _ = model.forward_all(x[: cfg.jacobian_examples])
        mean_df = np.array([ACTIVATIONS["tanh"].df(s_l).mean().item() for s_l in s])
        out[init] = probe(model, x, y, cfg) | {"mean_df": mean_df}
    return out


def test_c10_mean_jacobian_singular_value_follows_random_matrix_theory(at_init):
    """J = diag(f'(s)) W with W iid of variance sigma^2: the mean singular value is about
    (8 / 3 pi) sigma sqrt(n) times the mean of f' (0.849 sigma sqrt(n); reference §2). With f' close
    to 1 at init and 1000 units the prediction holds to about 2% (layer 1 is 1000 x 1024); 3% is
    allowed."""
    for init in ("standard", "normalized"):
        var_w = [1 / 3072] + [1 / 3000] * 4 if init == "standard" else [2 / 2024] + [2 / 2000] * 4
        n_in = [1024] + [1000] * 4
        predicted = [
            QUARTER_CIRCLE_MEAN * math.sqrt(n * v) * d
            for n, v, d in zip(n_in, var_w, at_init[init]["mean_df"], strict=True)
        ]
        np.testing.assert_allclose(at_init[init]["jac_mean_sv"], predicted, rtol=0.03)


def test_c10_mean_singular_value_is_about_half_standard_and_eight_tenths_normalized(at_init):
    """§4.2.2: ≈0.5 (standard) and ≈0.8 (normalized). Random-matrix theory gives 0.849/sqrt(3) =
    0.490 and 0.849 before f'; tanh' = 1 - z^2 lowers each layer by the mean z^2 of the examples:
    up to 0.1 with standard init and 0.25 with normalized init, the most in layer 1, whose inputs
    (pixels in [0, 1]) are not centred. Hence the tolerances on the mean over layers, 0.49 ± 0.05
    and 0.80 ± 0.10, and every normalized layer above every standard one."""
    standard, normalized = at_init["standard"]["jac_mean_sv"], at_init["normalized"]["jac_mean_sv"]
    assert abs(standard.mean() - 0.49) < 0.05
    assert abs(normalized.mean() - 0.80) < 0.10
    assert normalized.min() > standard.max()


def test_c7_activations_narrow_with_standard_init_and_stay_level_with_normalized(at_init):
    """Eq. 5: Var[z^(l+1)] / Var[z^l] = n Var[W] (linear regime), times the squeeze of tanh. So the
    std ratio between successive layers is sqrt(1/3) = 0.577 or less (standard; +0.03 for the
    per-unit means that the uncentred inputs leave in z), and 1 times the squeeze, which is > 0.8
    while the activation std is below 0.5 (normalized)."""
    standard = at_init["standard"]["act_std"]
    normalized = at_init["normalized"]["act_std"]
    assert np.all(standard[1:] / standard[:-1] < 0.577 + 0.03)
    assert np.all(normalized[1:] / normalized[:-1] > 0.8)
    assert np.all(normalized < 0.5)
    # the histograms: the central 2 bins (|z| < 0.04) gain mass upward with standard init only
    centre = slice(probes.ACT_BINS // 2 - 1, probes.ACT_BINS // 2 + 1)
    central = {k: v["act_hist"][:, centre].sum(axis=1) for k, v in at_init.items()}
    assert np.all(np.diff(central["standard"]) > 0)
    assert central["normalized"].max() < 2 * central["normalized"].min()


def test_c8_backpropagated_gradients_shrink_downward_with_standard_init_only(at_init):
    """Eq. 13: Var[dC/ds^l] / Var[dC/ds^(l+1)] = n Var[W] tanh'^2: std ratio (lower / upper) about
    0.577 (standard) and 1 times tanh' (> 0.8 here) (normalized)."""
    standard = at_init["standard"]["dC_ds_std"]
    normalized = at_init["normalized"]["dC_ds_std"]
    assert np.all(standard[:-1] / standard[1:] < 0.577 + 0.03)
    assert np.all(normalized[:-1] / normalized[1:] > 0.8)
    assert standard[-1] / standard[0] > 5  # (1/0.577)^4 = 9 in the linear regime


def test_c9_weight_gradients_are_roughly_level_with_both_inits(at_init):
    """Eq. 14: Var[dC/dW^l] is the same for every layer. 'Roughly': the largest layer std within 1.5
    times the smallest, while the back-propagated gradients spread by > 5x with standard init."""
    for init in ("standard", "normalized"):
        std = at_init[init]["dC_dW_std"]
        assert std.max() / std.min() < 1.5


def test_update_ratio_is_one_sgd_step_of_a_mini_batch_against_the_weights():
    """log10 std(ε ∂C/∂W) / std(W), the gradient of the first ``batch`` probe examples by autograd;
    and the share near an asymptote is NaN for ReLU, whose zeros are no asymptote."""
    model, x, y = _small()
    cfg = _cfg(lr=0.05, batch=10)
    out = probe(model, x, y, cfg)
    clone = copy.deepcopy(model)
    COSTS["nll"](clone(x[:10]), y[:10]).backward()
    want = [
        np.log10(
            0.05 * layer.weight.grad.std(correction=0) / layer.weight.detach().std(correction=0)
        )
        for layer in clone.layers[:-1]
    ]
    np.testing.assert_allclose(out["update_ratio"], [w.item() for w in want], rtol=1e-4)
    relu, x, y = _small(activation="relu")
    assert np.isnan(probe(relu, x, y, cfg)["saturated_97"]).all()


@pytest.mark.parametrize("n", [1, 2, 7, 300, 120_001])
def test_percentiles_by_selection_equal_those_of_a_sort(n):
    """The CPU's selection picks the very elements a sort would, NaN and infinities included."""
    from glorot.probes import PERCENTILES, _percentiles

    g = torch.Generator().manual_seed(n)
    values = torch.randn(3, n, generator=g)
    if n > 2:
        values[1, :: max(1, n // 5)] = float("nan")
        values[2, 0], values[2, -1] = float("inf"), -float("inf")
    values[0, : n // 2] = 0.25  # ties
    q = torch.tensor(PERCENTILES, dtype=torch.float64) / 100
    ordered = values.sort(dim=1).values
    pos = q * (n - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp_max(n - 1)
    frac = pos - lo
    by_sort = ordered[:, lo] * (1 - frac) + ordered[:, hi] * frac
    assert torch.equal(_percentiles(values, q).isnan(), by_sort.isnan())
    same = ~by_sort.isnan()
    assert torch.equal(_percentiles(values, q)[same], by_sort[same])


def _edge_cases(edges: torch.Tensor, shape: tuple[int, int], spread: float) -> torch.Tensor:
    """Values over and beyond the edges' range, with every edge and both its float32 neighbours,
    zeros of both signs and the non-finite values planted in them."""
    g = torch.Generator().manual_seed(0)
    values = torch.randn(shape, generator=g) * spread
    up, down = torch.tensor(np.inf), torch.tensor(-np.inf)
    planted = torch.cat(
        [
            edges,
            torch.nextafter(edges, down),
            torch.nextafter(edges, up),
            torch.tensor([0.0, -0.0, np.inf, -np.inf, np.nan]),
        ]
    )
    values.view(-1)[: len(planted)] = planted
    return values


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softsign", "relu"])
def test_activation_bins_by_arithmetic_equal_a_binary_search(activation):
    edges = torch.as_tensor(probes.act_bins(activation), dtype=torch.float32)
    values = _edge_cases(edges, (3, 4_000), float(edges[-1] - edges[0]) / 2) + edges.mean()
    expected = torch.bucketize(values, edges[1:-1], right=True)
    assert torch.equal(probes._bins(values, edges, "linear"), expected)
    assert torch.equal(probes._hist(values, edges, "linear"), probes._hist(values, edges))


@pytest.mark.parametrize("spread", [1e-14, 1e-9, 1e-4, 1.0, 10.0])
def test_gradient_bins_by_arithmetic_equal_a_binary_search(spread):
    edges = torch.as_tensor(probes.grad_bins(), dtype=torch.float32)
    values = _edge_cases(edges, (3, 4_000), spread)
    expected = torch.bucketize(values, edges[1:-1], right=True)
    assert torch.equal(probes._bins(values, edges, "mirrored_log"), expected)
    assert torch.equal(probes._hist(values, edges, "mirrored_log"), probes._hist(values, edges))


def test_unknown_bin_spacing_is_refused():
    with pytest.raises(ValueError, match="unknown spacing"):
        probes._bins(torch.zeros(1, 3), torch.linspace(0, 1, 4), "cubic")

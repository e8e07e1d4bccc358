"""Activations, inits and costs against their formulas (§2.3, eqs. 1, 16); building the MLP."""

import math

import pytest
import torch
import torch.nn.functional as F

from glorot.config import ConfigError, RunConfig
from glorot.models import ACTIVATIONS, COSTS, INITS, MLP, build_model, lookup


def _uniform_var_tolerance(bound: float, n: int, sds: float = 5.0) -> float:
    """``sds`` standard errors of the sample variance of n draws from U[-b, b].

    Var = b^2/3 and the fourth central moment is b^4/5, so Var[sample var] = (b^4/5 - b^4/9) / n.
    """
    return sds * math.sqrt((bound**4 / 5 - bound**4 / 9) / n)


@pytest.mark.parametrize(
    "name, formula",
    [
        ("sigmoid", lambda s: 1 / (1 + torch.exp(-s))),
        ("tanh", lambda s: (torch.exp(s) - torch.exp(-s)) / (torch.exp(s) + torch.exp(-s))),
        ("softsign", lambda s: s / (1 + s.abs())),
    ],
)
def test_activation_matches_its_formula_and_derivative(name, formula):
    act = ACTIVATIONS[name]
    s = torch.linspace(-6, 6, 241, dtype=torch.float64, requires_grad=True)
    z = act.f(s)
    torch.testing.assert_close(z, formula(s))
    (autograd_df,) = torch.autograd.grad(z.sum(), s)
    torch.testing.assert_close(act.df(s.detach()), autograd_df)
    assert act.lo < z.min().item() and z.max().item() < act.hi


@pytest.mark.parametrize(
    "name, saturated, unsaturated",
    [
        ("sigmoid", [0.01, 0.049, 0.951, 0.99], [0.051, 0.5, 0.949]),
        ("tanh", [-0.99, -0.901, 0.901, 0.99], [-0.899, 0.0, 0.5, 0.899]),
        ("softsign", [-0.95, 0.91], [-0.85, 0.0, 0.7]),
    ],
)
def test_saturation_is_within_a_tenth_of_the_half_range_of_an_asymptote(
    name, saturated, unsaturated
):
    act = ACTIVATIONS[name]
    assert act.saturated(torch.tensor(saturated)).all()
    assert not act.saturated(torch.tensor(unsaturated)).any()


def test_init_bounds_match_the_papers_table():
    # reference §1: bounds for the shapes of the paper's networks
    for (n_in, n_out), (standard, normalized) in {
        (1024, 1000): (0.03125, 0.05445),
        (784, 1000): (0.03571, 0.05799),
        (3072, 1000): (0.01804, 0.03839),
        (1000, 9): (0.03162, 0.07711),
    }.items():
        assert INITS["standard"](n_in, n_out) == pytest.approx(standard, abs=5e-6)
        assert INITS["normalized"](n_in, n_out) == pytest.approx(normalized, abs=5e-6)


@pytest.mark.parametrize("init", ["standard", "normalized"])
def test_init_variances_follow_eqs_1_and_16_and_biases_are_zero(init):
    n_in, width, n_out = 1024, 1000, 9
    model = MLP(
        n_in, width, 2, n_out, "tanh", init=init, generator=torch.Generator().manual_seed(1)
    )
    for layer in model.layers:
        fan_in, fan_out = layer.in_features, layer.out_features
        W = layer.weight.detach().double()
        bound = INITS[init](fan_in, fan_out)
        # eq. 1: n Var[W] = 1/3 with n the fan-in; eq. 16: Var[W] = 2 / (n_j + n_j+1)
        expected = 1 / (3 * fan_in) if init == "standard" else 2 / (fan_in + fan_out)
        assert W.var(correction=0).item() == pytest.approx(
            expected, abs=_uniform_var_tolerance(bound, W.numel())
        )
        assert W.mean().item() == pytest.approx(0, abs=5 * bound / math.sqrt(3 * W.numel()))
        assert W.abs().max().item() <= bound
        assert torch.equal(layer.bias, torch.zeros(fan_out))
        if W.numel() >= 10**6:
            assert W.abs().max().item() > bound * (1 - 1e-4)  # the whole interval is used


def test_build_model_is_deterministic_given_the_generator_and_leaves_global_rng_alone():
    cfg = RunConfig(width=50, depth=3)
    global_state = torch.get_rng_state()
    a = build_model(cfg, 20, 9, torch.Generator().manual_seed(7))
    b = build_model(cfg, 20, 9, torch.Generator().manual_seed(7))
    c = build_model(cfg, 20, 9, torch.Generator().manual_seed(8))
    assert torch.equal(torch.get_rng_state(), global_state)
    for (name, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(p, q), name
        if name.endswith("weight"):
            assert not torch.equal(p, r), name
    assert [layer.weight.shape for layer in a.layers] == [(50, 20), (50, 50), (50, 50), (9, 50)]


def test_forward_all_is_consistent_with_forward():
    model = MLP(12, 16, 3, 5, "softsign", generator=torch.Generator().manual_seed(0))
    x = torch.rand(7, 12, generator=torch.Generator().manual_seed(1))
    s, z, logits = model.forward_all(x)
    assert len(s) == len(z) == 3
    for layer, s_l, z_l, below in zip(model.layers[:-1], s, z, [x, *z[:-1]], strict=True):
        torch.testing.assert_close(s_l, below @ layer.weight.T + layer.bias)
        torch.testing.assert_close(z_l, F.softsign(s_l))
    torch.testing.assert_close(logits, model(x))


def test_costs_match_their_definitions():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 9, generator=g, dtype=torch.float64)
    y = torch.randint(0, 9, (6,), generator=g)
    p = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    nll = -p[torch.arange(6), y].log().mean()
    quadratic = sum(((p[i] - torch.eye(9, dtype=p.dtype)[y[i]]) ** 2).sum() for i in range(6)) / 6
    torch.testing.assert_close(COSTS["nll"](logits, y), nll)
    torch.testing.assert_close(COSTS["quadratic"](logits, y), quadratic)


def test_unknown_names_and_bad_sizes_are_refused_with_the_choices():
    with pytest.raises(ConfigError, match="unknown activation 'tahn'; choose one of sigmoid, tanh"):
        MLP(4, 4, 1, 2, "tahn")
    with pytest.raises(ConfigError, match="unknown init 'xavier'; choose one of standard, norm"):
        MLP(4, 4, 1, 2, "tanh", init="xavier")
    with pytest.raises(ConfigError, match="unknown cost 'mse'; choose one of nll, quadratic"):
        lookup(COSTS, "cost", "mse")
    with pytest.raises(ConfigError, match="width must be an integer >= 1, got 0"):
        MLP(4, 0, 1, 2, "tanh")
    with pytest.raises(ConfigError, match="n_out must be an integer >= 1"):
        build_model(RunConfig(width=4, depth=1), 4, 0, torch.Generator())

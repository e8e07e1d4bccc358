"""glorot.registry is the one source of the names of activations, inits and costs: a throwaway
activation and init registered there (with their functions in glorot.models) are accepted by
RunConfig, trained, probed and named in a claim, with no other change."""

from __future__ import annotations

import math

import pytest
import torch

from glorot import config, models, registry
from glorot.claims import saturation
from glorot.config import RunConfig


@pytest.fixture
def throwaway(monkeypatch, tmp_path):
    """'scaledtanh' (1.7159 tanh(2s/3), LeCun 1998) and 'halfnormalized' (half eq. 16's bound),
    registered for the test only, in a cache of their own."""
    a, b = 1.7159, 2 / 3

    def f(s, out=None):
        return torch.tanh(s * b, out=out).mul_(a) if out is not None else a * torch.tanh(b * s)

    def df(s):
        return a * b * (1 - torch.tanh(b * s) ** 2)

    def dz(z, out=None):
        out = torch.mul(z, z, out=out)
        return out.div_(-a * a).add_(1).mul_(a * b)

    entry = registry.ActivationEntry("scaledtanh", "Scaled tanh", -a, a, 1 / (a * b))
    monkeypatch.setitem(registry.ACTIVATIONS, entry.name, entry)
    monkeypatch.setitem(
        models.ACTIVATIONS, entry.name, models.with_functions(entry.name, f, df, dz)
    )
    init = registry.InitEntry("halfnormalized", " N/2", "half normalized")
    monkeypatch.setitem(registry.INITS, init.name, init)
    bound = lambda fan_in, fan_out: 0.5 * models.normalized_bound(fan_in, fan_out)  # noqa: E731
    monkeypatch.setitem(models.WEIGHT_DRAWS, init.name, models.uniform_draw(bound))
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "cache"))
    return entry, init


def test_the_names_are_the_registrys():
    assert config.ACTIVATION_NAMES == tuple(registry.ACTIVATIONS) == tuple(models.ACTIVATIONS)
    assert config.INIT_NAMES == tuple(registry.INITS) == tuple(models.WEIGHT_DRAWS)
    assert config.COST_NAMES == tuple(registry.COSTS) == tuple(models.COSTS)
    for name, act in models.ACTIVATIONS.items():
        assert (act.lo, act.hi) == (registry.ACTIVATIONS[name].lo, registry.ACTIVATIONS[name].hi)
    assert [config.model_label(a, i) for a, i in [("tanh", "normalized"), ("relu", "he")]] == [
        "Tanh N",
        "ReLU He",
    ]
    assert models.ORTHOGONAL_GAIN == {
        "sigmoid": 4.0,
        "tanh": 1.0,
        "softsign": 1.0,
        "relu": math.sqrt(2),
    }


def test_a_registered_activation_and_init_train_and_are_named_in_a_claim(throwaway):
    from glorot.store import load_or_run

    entry, init = throwaway
    assert "scaledtanh" in config.ACTIVATION_NAMES and "halfnormalized" in config.INIT_NAMES
    small = dict(width=8, depth=2, batch=10, probe_every=2, probe_dense=0, n_probe=20)
    small |= dict(n_valid=20, n_test=20, jacobian_examples=1, lr=0.01)
    cfgs = [
        RunConfig(activation="scaledtanh", init="halfnormalized", updates=4, **small),
        RunConfig(
            activation="scaledtanh", init="halfnormalized", updates=4, **(small | {"depth": 3})
        ),
    ]
    runs = [load_or_run(c) for c in cfgs]
    assert runs[0].config.label == "Scaled tanh N/2 d2"
    assert runs[0].probes["act_mean"].shape == (3, 2)  # updates 0, 2, 4; two layers
    assert runs[0].probes["act_mean"].max() <= entry.hi
    c1, c2 = saturation.sigmoid_claims(runs[0], runs[1], "smoke")
    assert c1.id == "C1" and "Scaled tanh N/2 d2" in c1.scale
    assert "Scaled tanh N/2 d3" in c2.scale


def test_an_unregistered_name_is_refused_with_the_registered_ones():
    with pytest.raises(config.ConfigError, match="choose one of sigmoid, tanh, softsign, relu"):
        RunConfig(activation="scaledtanh")

"""Claims C6-C11: each check passes on data that satisfies its claim (real networks at init, real
cost surfaces) and fails on data that breaks it; C11 says NOT_REACHED on too short a run."""

import numpy as np
import pytest
import torch

from glorot.claims import Verdict
from glorot.claims import gradients as G
from glorot.config import PROFILES, RunConfig
from glorot.data import make_source
from glorot.models import build_model
from glorot.probes import probe
from glorot.surface import SurfaceSpec, plateau_share, surfaces

PASS, FAIL, NOT_REACHED = Verdict.PASS, Verdict.FAIL, Verdict.NOT_REACHED


@pytest.fixture(scope="module")
def at_init() -> dict[str, dict[str, np.ndarray]]:
    """Probes of 5-layer tanh nets at init on the Shapeset probe set, per init. 256 units: every
    quantity of C7-C10 depends on n Var[W] only, which does not depend on the width."""
    out = {}
    for init in ("standard", "normalized"):
        cfg = RunConfig(activation="tanh", init=init, width=256, depth=5, jacobian_examples=1)
        source = make_source(cfg)
        x, y = source.fixed("probe", cfg.n_probe)
        g = torch.Generator().manual_seed(0)
        out[init] = probe(build_model(cfg, source.n_inputs, source.n_classes, g), x, y, cfg)
    return out


@pytest.mark.parametrize(
    "check, key",
    [(G.check_c7, "act_std"), (G.check_c8, "dC_ds_std"), (G.check_c10, "jac_mean_sv")],
)
def test_at_init_claims_hold_on_real_nets_and_fail_with_the_inits_swapped(at_init, check, key):
    s, n = at_init["standard"][key], at_init["normalized"][key]
    assert check(s, n).verdict == PASS
    assert check(n, s).verdict == FAIL


def test_c7_c8_fail_when_nothing_changes_across_layers(at_init):
    flat = np.full(5, 0.3)
    assert G.check_c7(flat, at_init["normalized"]["act_std"]).verdict == FAIL
    assert G.check_c8(flat, at_init["normalized"]["dC_ds_std"]).verdict == FAIL
    # a normalized init whose layers changed as fast as the standard one's is not "level"
    shrinking = at_init["standard"]["act_std"]
    assert G.check_c7(shrinking, shrinking).verdict == FAIL


def test_c9_level_weight_gradients_pass_spread_ones_fail(at_init):
    s, n = at_init["standard"]["dC_dW_std"], at_init["normalized"]["dC_dW_std"]
    assert G.check_c9(s, n).verdict == PASS
    # back-propagated gradients of the standard init do spread: as weight gradients they fail
    assert G.check_c9(at_init["standard"]["dC_ds_std"], n).verdict == FAIL
    assert G.check_c9(s, n * np.array([1, 1, 1, 1, 2])).verdict == FAIL


def test_c10_tolerance_edges():
    assert G.check_c10([0, 0.55, 0.55, 0.55, 0.55], [0, 0.75, 0.75, 0.75, 0.75]).verdict == PASS
    # layer 1 does not count: only the square layers 2..L
    assert G.check_c10([9, 0.5, 0.5, 0.5, 0.5], [9, 0.8, 0.8, 0.8, 0.8]).verdict == PASS
    assert G.check_c10([0, 0.65, 0.65, 0.65, 0.65], [0, 0.8, 0.8, 0.8, 0.8]).verdict == FAIL
    assert G.check_c10([0, 0.5, 0.5, 0.5, 0.5], [0, 0.65, 0.65, 0.65, 0.65]).verdict == FAIL


def test_c6_on_the_default_surfaces_and_swapped():
    s = surfaces(SurfaceSpec())
    nll, quad = plateau_share(s["nll"]), plateau_share(s["quadratic"])
    assert G.check_c6(nll, quad).verdict == PASS
    assert G.check_c6(quad, nll).verdict == FAIL
    assert G.check_c6(0.1, 0.15).verdict == FAIL  # more, but not twice as much


def _training(updates: np.ndarray, spread_end: float) -> np.ndarray:
    """(P, 5) weight-gradient stds whose max/min over layers grows from 1 to ``spread_end``."""
    growth = np.linspace(0, 1, len(updates))[:, None] * np.linspace(0, 1, 5)[None, :]
    return 1e-3 * spread_end ** (-growth)


def seeds(u, *spreads):
    """(S, P, L) probes of one seed per spread."""
    return np.stack([_training(u, x) for x in spreads])


def test_c11_pass_fail_and_not_reached_over_seeds():
    u = np.array([0, 1_000, 5_000, 10_000, 20_000, 30_000, 40_000])
    diverging, level = seeds(u, 5.0, 4.5, 6.0), seeds(u, 1.2, 1.1, 1.3)
    assert G.check_c11(u, diverging, u, level).verdict == PASS
    assert G.check_c11(u, level, u, level).verdict == FAIL  # nothing diverged
    assert G.check_c11(u, diverging, u, diverging).verdict == FAIL  # normalized diverged too
    assert G.check_c11(u, level, u, diverging).verdict == FAIL  # swapped
    # The seeds disagree: one diverges, two stay level. Neither side is significant.
    mixed = G.check_c11(u, seeds(u, 5.0, 1.2, 1.3), u, level)
    assert mixed.verdict == NOT_REACHED and "seeds that agree" in mixed.measured
    # One seed alone decides nothing, whatever it shows.
    one = G.check_c11(u, diverging[:1], u, level[:1])
    assert one.verdict == NOT_REACHED and "1 seed" in one.measured
    short = np.array([0, 50, 100, 200, 400])
    # A short run that already shows the claim in every seed passes; one that does not is not
    # reached: it cannot refute a claim about training.
    assert G.check_c11(short, seeds(short, 5, 5, 5), short, seeds(short, 1, 1, 1)).verdict == PASS
    result = G.check_c11(short, seeds(short, 1.2, 1.2, 1.2), short, seeds(short, 1, 1, 1))
    assert result.verdict == NOT_REACHED and "400 updates" in result.measured


def test_c11_refuses_unpaired_seeds():
    u = np.array([0, 20_000, 40_000])
    with pytest.raises(ValueError, match="pair them"):
        G.check_c11(u, seeds(u, 5, 5, 5), u, seeds(u, 1, 1))


def test_late_spread_uses_the_second_half_of_the_run():
    u = np.array([0, 10, 20, 30, 40])
    std = np.ones((5, 3))
    std[:2, 0] = 10.0  # spread 10 early only
    assert G.late_spread(u, std) == 1.0
    std[3:, 0] = 4.0
    assert G.late_spread(u, std) == 4.0


def test_init_configs_are_the_paper_net_at_update_0():
    for profile in PROFILES.values():
        cfg = G.init_config(profile, "normalized")
        assert (cfg.activation, cfg.init, cfg.depth, cfg.updates) == ("tanh", "normalized", 5, 0)
        assert cfg.width == (256 if profile.name == "smoke" else 1000)
        assert cfg.jacobian_examples == profile.jacobian_examples

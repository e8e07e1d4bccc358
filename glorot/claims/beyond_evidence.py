"""The evidence of claims B1-B6 (:mod:`glorot.claims.beyond`) from the store: the at-init nets of
B1-B3 and B5, mean-field predictions for them, the Jacobian spectra of B6 and our Table 1 errors.
"""

from __future__ import annotations

import numpy as np

from glorot.config import PROFILES, Profile, RunConfig
from glorot.run import Run

# The Jacobian study of B6 by profile name, as the Profile's isometry_* fields set it (smoke keeps
# it to 8 layers of 64 units on 2 examples); chapter 08 reads it.
ISOMETRY = {
    name: dict(width=p.isometry_width, depth=p.isometry_depth, examples=p.isometry_examples)
    for name, p in PROFILES.items()
}
ISOMETRY_DEPTHS = (1, 2, 4, 8, 16, 32)
AT_INIT = (
    ("tanh", "standard"),
    ("tanh", "normalized"),
    ("tanh", "orthogonal"),
    ("tanh", "lsuv"),
    ("relu", "normalized"),
    ("relu", "he"),
    ("relu", "orthogonal"),
    ("relu", "lsuv"),
)


def init_config(
    profile: Profile, activation: str, init: str, width: int | None = None
) -> RunConfig:
    """A 5-layer net at initialisation (0 updates), as in chapter 05: the tanh nets with the
    paper's inits are the very runs of Figs. 6-8."""
    from glorot.claims.gradients import init_width

    return profile.config(
        activation=activation,
        init=init,
        depth=5,
        updates=0,
        width=init_width(profile) if width is None else width,
    )


def init_runs(
    profile: Profile, models=AT_INIT, width: int | None = None
) -> dict[tuple[str, str], Run]:
    """{(activation, init): Run} of the at-init nets, from the store."""
    from glorot.store import run_many

    cfgs = [init_config(profile, a, i, width) for a, i in models]
    return dict(zip(models, run_many(cfgs, profile=profile.name), strict=True))


def at_init(run: Run) -> dict[str, np.ndarray]:
    """The probe statistics of a run at update 0, per layer."""
    return {k: v[0] for k, v in run.probes.items() if k != "updates"}


def meanfield_predictions(run: Run) -> dict[str, np.ndarray]:
    """:func:`glorot.meanfield.forward` for the network of ``run``, from the second moment of its
    own probe inputs."""
    from glorot import meanfield, theory
    from glorot.data import make_source

    cfg = run.config
    source = make_source(cfg)
    x, _ = source.fixed("probe", cfg.n_probe)
    sizes = theory.layer_sizes(source.n_inputs, cfg.width, cfg.depth, source.n_classes)
    weight_var = meanfield.weight_variances(cfg.init, cfg.activation, sizes)
    return meanfield.forward(cfg.activation, sizes, weight_var, float((x.double() ** 2).mean()))


def paper_chi1(width: int = 1000) -> dict[str, float]:
    """χ₁ of a square tanh layer under the paper's two inits."""
    from glorot import meanfield

    return {
        init: float(meanfield.chi1("tanh", meanfield.init_sigma_w2(init, "tanh", width)))
        for init in ("standard", "normalized")
    }


def isometry_spectra(profile: Profile, x) -> dict[str, dict[int, np.ndarray]]:
    """{weights: {depth: singular values (E, width)}} of B6 at the profile's scale (its
    ``isometry_*`` fields), tanh at σ_w² = 1, the Jacobians taken at the first probe inputs ``x``."""
    import torch

    from glorot.isometry import WEIGHTS, jacobian_singular_values

    depths = [d for d in ISOMETRY_DEPTHS if d <= profile.isometry_depth]
    return {
        kind: jacobian_singular_values(
            x[: profile.isometry_examples],
            kind,
            "tanh",
            profile.isometry_width,
            depths,
            1.0,
            torch.Generator().manual_seed(0),
        )
        for kind in WEIGHTS
    }


def trained_runs(profile: Profile) -> dict[tuple[str, str], list[Run]]:
    """The main runs of Table 1's models and of ReLU + He at ``profile``, every seed of the profile:
    {(activation, init): [run per seed]}."""
    from glorot.experiments import TABLE1, model_runs

    return model_runs(profile, (*TABLE1, ("relu", "he")))


def trained_outcomes(profile: Profile, runs: dict[tuple[str, str], list[Run]] | None = None):
    """Table 1's column on Shapeset at ``profile`` with ReLU + He added as a row
    (:class:`glorot.claims.table1.Column`), from ``runs`` (default :func:`trained_runs`): the
    per-example test outcomes of B4."""
    from glorot.claims.table1 import column

    return column("shapeset", trained_runs(profile) if runs is None else runs, profile.name)

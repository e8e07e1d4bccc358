"""Claims C6-C11: the cost surfaces (Fig. 5), gradients and Jacobians at initialisation (Figs. 6-8,
§4.2.2) and the spread of weight gradients during training (Fig. 9).

Each ``check_*`` takes measured arrays, per hidden layer with the first layer first, and returns a
:class:`~glorot.claims.ClaimResult`. The thresholds come from the linear-regime theory of §4.2
(:mod:`glorot.theory`): with the standard init each 1000 -> 1000 layer multiplies the variance of
activations (eq. 5) and of back-propagated gradients (eq. 13) by n Var[W] = 1/3, so their standard
deviations change by a factor √(1/3) = 0.58 per layer; with the normalized init that factor is 1.
:data:`LAYER_RATIO` = 3^(-1/4) = 0.76 sits halfway between the two on a log scale and decides which
of the two a measured layer-to-layer ratio is closer to.

:func:`evaluate` recomputes the chapters' verdicts from stored runs (for the scorecard).
"""

from __future__ import annotations

import math

import numpy as np

from glorot.claims import MIN_SEEDS, ClaimResult, Condition, judge, past
from glorot.config import PAPER_EPOCH, Profile, RunConfig, get_profile
from glorot.run import Run

LAYER_RATIO = 3**-0.25  # halfway (in log) between √(1/3) (standard) and 1 (normalized)
PLATEAU_RATIO = 2.0  # C6: the quadratic cost's plateau share must be at least twice the NLL's
WEIGHT_GRAD_SPREAD = math.sqrt(3)  # C9: max/min over layers below one standard-init step of eq. 13
PAPER_SV = {"standard": 0.5, "normalized": 0.8}  # C10: §4.2.2
SV_TOLERANCE = 0.1  # C10
DIVERGED_SPREAD = 2.0  # C11: standard-init weight gradients differ by 2x or more across layers
LEVEL_FACTOR = 2.0  # C11: the normalized init's spread is at most half the standard init's
MIN_UPDATES = PAPER_EPOCH  # C11: the run must be at least one of Fig. 9's epochs long


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in np.asarray(values, dtype=float)) + "]"


def _name(profile: Profile | str | None) -> str:
    return profile.name if isinstance(profile, Profile) else str(profile or "")


# ---- C6: cost surfaces (Fig. 5) ------------------------------------------------------------------


def check_c6(share_nll: float, share_quadratic: float, scale: str = "") -> ClaimResult:
    """C6: the quadratic cost has more severe plateaus than the cross-entropy.

    ``share_*``: fraction of the grid whose gradient norm is below
    :data:`glorot.surface.PLATEAU_FRACTION` of the surface's own maximum
    (:func:`glorot.surface.plateau_share`). PASS when the quadratic share exceeds
    :data:`PLATEAU_RATIO` times the cross-entropy's (beyond rounding, :func:`glorot.claims.past`).
    """
    excess = share_quadratic - PLATEAU_RATIO * share_nll
    return judge(
        "C6",
        f"plateau share (|∇C| < 5% of its maximum on the grid): quadratic > "
        f"{PLATEAU_RATIO:g} × cross-entropy",
        f"quadratic {share_quadratic:.1%}, cross-entropy {share_nll:.1%}",
        [past("quadratic − 2 × cross-entropy > 0", excess, 0.0, True, scale=share_quadratic)],
        scale,
        "04_cost",
    )


# ---- C7-C10: at initialisation (Figs. 6-8, §4.2.2) -----------------------------------------------


def _ratios_up(std: np.ndarray) -> np.ndarray:
    """std of layer l+1 over std of layer l, l = 1..L-1."""
    std = np.asarray(std, dtype=float)
    return std[1:] / std[:-1]


def _level(name: str, ratios: np.ndarray) -> list[Condition]:
    return [
        past(f"{name} > {LAYER_RATIO:.2f}", float(np.min(ratios)), LAYER_RATIO, True),
        past(f"{name} < {1 / LAYER_RATIO:.2f}", float(np.max(ratios)), 1 / LAYER_RATIO, False),
    ]


def _shrinks_vs_level(
    id_: str, quantity: str, rs: np.ndarray, rn: np.ndarray, scale: str
) -> ClaimResult:
    """Layer-to-layer ratios ``rs`` (standard init) all below :data:`LAYER_RATIO` and ``rn``
    (normalized) all within (LAYER_RATIO, 1/LAYER_RATIO): the verdict of C7 and of C8."""
    conditions = [
        past(f"standard {quantity} < {LAYER_RATIO:.2f}", float(np.max(rs)), LAYER_RATIO, False),
        *_level(f"normalized {quantity}", rn),
    ]
    return judge(
        id_,
        f"{quantity} < {LAYER_RATIO:.2f} at every layer (standard) and within "
        f"({LAYER_RATIO:.2f}, {1 / LAYER_RATIO:.2f}) (normalized)",
        f"ratios standard {_fmt(rs)}, normalized {_fmt(rn)}",
        conditions,
        scale,
        "05_gradients_at_init",
    )


def check_c7(act_std_standard, act_std_normalized, scale: str = "") -> ClaimResult:
    """C7 (Fig. 6): activations narrow toward higher layers with the standard init and stay similar
    with the normalized init.

    Per-layer std of z^l (L,). PASS when every ratio std(z^(l+1)) / std(z^l) is below
    :data:`LAYER_RATIO` for the standard init and within (LAYER_RATIO, 1/LAYER_RATIO) for the
    normalized init.
    """
    rs, rn = _ratios_up(act_std_standard), _ratios_up(act_std_normalized)
    return _shrinks_vs_level("C7", "std(z^(l+1)) / std(z^l)", rs, rn, scale)


def check_c8(dC_ds_std_standard, dC_ds_std_normalized, scale: str = "") -> ClaimResult:
    """C8 (Fig. 7): back-propagated gradients shrink toward lower layers with the standard init and
    stay roughly constant with the normalized init.

    Per-layer std of ∂C/∂s^l (L,). PASS when every ratio std(∂C/∂s^l) / std(∂C/∂s^(l+1)) (one layer
    down) is below :data:`LAYER_RATIO` for the standard init and within
    (LAYER_RATIO, 1/LAYER_RATIO) for the normalized init.
    """
    rs = 1 / _ratios_up(dC_ds_std_standard)
    rn = 1 / _ratios_up(dC_ds_std_normalized)
    return _shrinks_vs_level("C8", "std(∂C/∂s^l) / std(∂C/∂s^(l+1))", rs, rn, scale)


def layer_spread(std) -> np.ndarray:
    """max over layers / min over layers of a per-layer std, along the last axis."""
    std = np.asarray(std, dtype=float)
    return std.max(axis=-1) / std.min(axis=-1)


def check_c9(dC_dW_std_standard, dC_dW_std_normalized, scale: str = "") -> ClaimResult:
    """C9 (Fig. 8, eq. 14): weight gradients are roughly constant across layers, with either init.

    Per-layer std of ∂C/∂W^l (L,). PASS when, for both inits, the largest over the smallest is below
    :data:`WEIGHT_GRAD_SPREAD` = √3: less than one layer's change of the standard init's
    back-propagated gradients (eq. 13), which span 3^((L-1)/2) = 9x over five layers.
    """
    ss, sn = layer_spread(dC_dW_std_standard), layer_spread(dC_dW_std_normalized)
    return judge(
        "C9",
        f"max/min over layers of std(∂C/∂W^l) < √3 = {WEIGHT_GRAD_SPREAD:.2f} for both inits",
        f"standard {ss:.2f}, normalized {sn:.2f}",
        [
            past(f"{init} spread < √3", float(v), WEIGHT_GRAD_SPREAD, False)
            for init, v in (("standard", ss), ("normalized", sn))
        ],
        scale,
        "05_gradients_at_init",
    )


def square_layers_mean(mean_sv) -> float:
    """Mean over layers 2..L of the per-layer mean singular value: the square hidden-to-hidden
    Jacobians that §4.2.2 and the quarter-circle law speak of (layer 1 maps the n_0 inputs)."""
    return float(np.mean(np.asarray(mean_sv, dtype=float)[1:]))


def check_c10(mean_sv_standard, mean_sv_normalized, scale: str = "") -> ClaimResult:
    """C10 (§4.2.2): the mean singular value of the layer Jacobians is ≈0.5 (standard) and ≈0.8
    (normalized).

    Per-layer mean singular values (L,), averaged over layers 2..L (:func:`square_layers_mean`).
    PASS when each is within :data:`SV_TOLERANCE` = 0.1 of the paper's value. The quarter-circle law
    gives (8/3π)σ√n = 0.49 (standard) and 0.85 (normalized) before f'; tanh' lowers them to about
    0.48 and 0.74-0.78 in a 5x1000 net, so ±0.1 takes in the effect of f' and the paper's one
    significant digit, and still separates the two inits (0.6 < 0.7).
    """
    ms, mn = square_layers_mean(mean_sv_standard), square_layers_mean(mean_sv_normalized)
    return judge(
        "C10",
        f"mean singular value of J^l over layers 2..L within ±{SV_TOLERANCE:g} of 0.5 "
        "(standard) and of 0.8 (normalized)",
        f"standard {ms:.3f}, normalized {mn:.3f}",
        [
            past(
                f"|{init} − {PAPER_SV[init]:g}| < {SV_TOLERANCE:g}",
                abs(v - PAPER_SV[init]),
                SV_TOLERANCE,
                False,
            )
            for init, v in (("standard", ms), ("normalized", mn))
        ],
        scale,
        "05_gradients_at_init",
    )


# ---- C11: during training (Fig. 9) ---------------------------------------------------------------


def late_spread(updates, dC_dW_std) -> float:
    """Median over the probes of the second half of a run of :func:`layer_spread`.

    ``updates`` (P,) and ``dC_dW_std`` (P, L) as in ``Run.probes``."""
    updates = np.asarray(updates)
    late = updates >= updates[-1] / 2
    return float(np.median(layer_spread(np.asarray(dC_dW_std)[late])))


def across_seeds(
    name: str, values: np.ndarray, threshold: float, above: bool, refutable: bool, settle: str
) -> Condition:
    """A condition on one value per seed: it holds on the mean; it is significant only when every
    seed falls on the same side, beyond rounding, and there are at least :data:`MIN_SEEDS` seeds
    (the seed-to-seed spread is the noise of a measurement on one training run)."""
    values = np.asarray(values, dtype=float)
    sides = [past(name, float(v), threshold, above) for v in values]
    holds = bool(np.mean(values) > threshold if above else np.mean(values) < threshold)
    agree = all(c.significant and c.holds == holds for c in sides)
    return Condition(name, holds, agree and values.size >= MIN_SEEDS, refutable, settle)


def check_c11(
    updates_standard,
    dC_dW_std_standard,
    updates_normalized,
    dC_dW_std_normalized,
    scale: str = "",
) -> ClaimResult:
    """C11 (Fig. 9): during training the spread of weight gradients across layers grows with the
    standard init and stays level with the normalized init.

    ``updates_*`` (P,) and ``dC_dW_std_*`` (S, P, L) (or one run's (P, L)) from the probes of the
    runs of S seeds, seed s of one init paired with seed s of the other. The spread at a probe is
    max/min over layers of std(∂C/∂W^l) (≈1 at init, eq. 14); a run's spread is its median over the
    second half of the run (:func:`late_spread`). Two conditions, per seed: the standard init's
    spread exceeds :data:`DIVERGED_SPREAD`, and it exceeds :data:`LEVEL_FACTOR` times the
    normalized init's (as log ratio > 0). Each is significant when every one of at least
    :data:`MIN_SEEDS` seeds agrees (:func:`across_seeds`); runs probed for fewer than
    :data:`MIN_UPDATES` updates (one epoch of 20k, the unit of Fig. 9's time axis) cannot refute it.
    """
    done = min(int(np.asarray(updates_standard)[-1]), int(np.asarray(updates_normalized)[-1]))
    std_s = np.asarray(dC_dW_std_standard, dtype=float)
    std_n = np.asarray(dC_dW_std_normalized, dtype=float)
    std_s, std_n = (
        (std_s[None] if std_s.ndim == 2 else std_s),
        (std_n[None] if std_n.ndim == 2 else std_n),
    )
    if std_s.shape[0] != std_n.shape[0]:
        raise ValueError(
            f"{std_s.shape[0]} standard-init seeds against {std_n.shape[0]} normalized: pair them"
        )
    ss = np.array([late_spread(updates_standard, s) for s in std_s])
    sn = np.array([late_spread(updates_normalized, s) for s in std_n])
    refutable = done >= MIN_UPDATES
    settle = f"≥ {MIN_SEEDS} seeds that agree" + (
        "" if refutable else f", and runs of ≥ {MIN_UPDATES:,} updates"
    )
    conditions = [
        across_seeds(
            f"standard > {DIVERGED_SPREAD:g}", ss, DIVERGED_SPREAD, True, refutable, settle
        ),
        across_seeds(
            f"standard > {LEVEL_FACTOR:g} × normalized",
            np.log(ss / (LEVEL_FACTOR * sn)),
            0.0,
            True,
            refutable,
            settle,
        ),
    ]
    per_seed = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(ss, sn, strict=True))
    return judge(
        "C11",
        f"median over the second half of training of max/min over layers of "
        f"std(∂C/∂W^l): standard > {DIVERGED_SPREAD:g} and > {LEVEL_FACTOR:g} × normalized, in "
        f"every one of ≥ {MIN_SEEDS} seeds; runs shorter than {MIN_UPDATES:,} updates cannot "
        "refute it",
        f"standard {ss.mean():.2f}, normalized {sn.mean():.2f} (mean over {ss.size} "
        f"seed{'s' * (ss.size > 1)}; per seed standard/normalized {per_seed}) after {done:,} "
        "updates",
        conditions,
        scale,
        "06_gradients_in_training",
    )


# ---- the runs these claims are measured on -------------------------------------------------------


def init_width(profile: Profile) -> int:
    """Width of the at-init nets (:attr:`Profile.init_width`): the paper's 1000 units at every
    scale but smoke (256 units, so that the Jacobian decompositions take a moment). Every ratio of
    C7-C10 is independent of the width in the theory of §4.2, since n Var[W] is."""
    return profile.init_width


def init_config(
    profile: Profile, init: str, width: int | None = None, jacobian_examples: int | None = None
) -> RunConfig:
    """The 5-layer tanh net of Figs. 6-8 at initialisation (0 updates: probed once, at init)."""
    return profile.config(
        activation="tanh",
        init=init,
        depth=5,
        updates=0,
        width=init_width(profile) if width is None else width,
        jacobian_examples=(
            profile.jacobian_examples if jacobian_examples is None else jacobian_examples
        ),
    )


def init_runs(profile: Profile, width: int | None = None, jacobian_examples: int | None = None):
    """{init: Run} of the at-init nets, standard and normalized, from the store."""
    from glorot.lineage import read
    from glorot.store import load_or_run

    inits = ("standard", "normalized")
    runs = read(
        load_or_run(init_config(profile, init, width, jacobian_examples), profile=profile.name)
        for init in inits
    )
    return dict(zip(inits, runs, strict=True))


def at_init(run: Run) -> dict[str, np.ndarray]:
    """The probe statistics of a run at its first probe point (update 0), per layer."""
    return {k: v[0] for k, v in run.probes.items() if k != "updates"}


def init_checks(runs: dict[str, Run], scale: str = "") -> list[ClaimResult]:
    """C7-C10 from the at-init runs {"standard": Run, "normalized": Run}."""
    s, n = at_init(runs["standard"]), at_init(runs["normalized"])
    return [
        check_c7(s["act_std"], n["act_std"], scale),
        check_c8(s["dC_ds_std"], n["dC_ds_std"], scale),
        check_c9(s["dC_dW_std"], n["dC_dW_std"], scale),
        check_c10(s["jac_mean_sv"], n["jac_mean_sv"], scale),
    ]


def training_check(standard, normalized, scale: str = "") -> ClaimResult:
    """C11 from the main runs of tanh with the standard and the normalized init: one run each, or
    a list of runs per init (one per seed, in the same seed order)."""
    standard = [standard] if isinstance(standard, Run) else list(standard)
    normalized = [normalized] if isinstance(normalized, Run) else list(normalized)
    n = min(min(len(r.probes["updates"]) for r in runs) for runs in (standard, normalized))
    return check_c11(
        standard[0].probes["updates"][:n],
        np.stack([r.probes["dC_dW_std"][:n] for r in standard]),
        normalized[0].probes["updates"][:n],
        np.stack([r.probes["dC_dW_std"][:n] for r in normalized]),
        scale,
    )


def surface_check(spec=None, scale: str = "") -> ClaimResult:
    """C6 on the surfaces of ``spec`` (default :class:`glorot.surface.SurfaceSpec`)."""
    from glorot.surface import SurfaceSpec, plateau_share, surfaces

    s = surfaces(SurfaceSpec() if spec is None else spec)
    return check_c6(plateau_share(s["nll"]), plateau_share(s["quadratic"]), scale)


def evaluate(profile: Profile | str) -> list[ClaimResult]:
    """C6-C11 at ``profile`` from the chapters' default parameters and the stored runs (runs that
    are missing are computed)."""
    profile = get_profile(profile) if isinstance(profile, str) else profile
    scale = _name(profile)
    return [
        surface_check(scale=scale),
        *init_checks(init_runs(profile), scale),
        training_check(*training_runs(profile), f"{scale}, seeds {list(profile.seeds)}"),
    ]


def training_runs(profile: Profile) -> tuple[list[Run], list[Run]]:
    """The tanh main runs of every seed of the profile, standard and normalized init (C11)."""
    from glorot.experiments import main_run

    return tuple(
        [main_run(profile, "tanh", init, seed=seed) for seed in profile.seeds]
        for init in ("standard", "normalized")
    )

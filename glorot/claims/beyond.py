"""Claims B1-B6: what came after the paper, measured with the book's probes at initialisation and
on Shapeset.

- B1, B2: mean-field theory (Poole et al. 2016, Schoenholz et al. 2017, :mod:`glorot.meanfield`)
  predicts the activations and the back-propagated gradients of the paper's tanh networks layer by
  layer, and calls the standard init ordered and the normalized init critical.
- B3, B4: ReLU with He's init (He et al. 2015): the scale of the activations at init, and training
  beside Table 1's models.
- B5: LSUV (Mishkin & Matas 2016) gives every layer the same activation scale.
- B6: dynamical isometry (Pennington et al. 2017): Gaussian against orthogonal weights (Saxe et al.
  2014) at the critical variance.

Each ``check_*`` takes measured arrays (per hidden layer, first layer first) and returns a
:class:`~glorot.claims.ClaimResult`; :func:`evaluate` recomputes them from stored runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from glorot.claims import ClaimResult, Condition, Verdict, decide, judge
from glorot.claims.beyond_evidence import (  # noqa: F401  (chapter 08 reads these as claims.*)
    AT_INIT,
    ISOMETRY,
    ISOMETRY_DEPTHS,
    at_init,
    init_config,
    init_runs,
    isometry_spectra,
    meanfield_predictions,
    paper_chi1,
    trained_outcomes,
    trained_runs,
)
from glorot.claims.errors import (
    LEARNED,
    SHAPESET_CHANCE,
    judged,
    learned_spec,
    measured_text,
    seeds_text,
)
from glorot.config import Profile, get_profile, model_label
from glorot.run import Run
from glorot.stats import PAPER_ALPHA, Resamples, mcnemar

FIGURE = "08_beyond"
RELU_LABEL = model_label("relu", "he")

STATEMENTS: dict[str, str] = {
    "B1": "Mean-field theory: the variance map q^(l+1) = σ_w² E[φ(√q z)²] predicts every layer's "
    "activation scale at initialisation (tanh, 5 layers, standard and normalized init; Poole et al. "
    "2016).",
    "B2": "Back-propagated gradients change by √χ per layer down, χ = σ_w² E[φ'(√q z)²]: the "
    "standard init is ordered (χ₁ = 1/3, depth scale ξ ≈ 0.9 layers), the normalized init critical "
    "(χ₁ = 1) (Schoenholz et al. 2017).",
    "B3": "ReLU at init: with the normalized (Xavier) init the activation scale shrinks by about "
    "1/√2 per layer; with He's init, Var W = 2/n_in, it holds (He et al. 2015).",
    "B4": "ReLU with He's init trains on Shapeset at least as well as the best of Table 1's models "
    "(He et al. 2015).",
    "B5": "LSUV, orthonormal weights rescaled until each layer's output variance is 1 ± 0.1, gives "
    "every layer the same activation scale at init (Mishkin & Matas 2016).",
    "B6": "Dynamical isometry: at the critical variance the input-output Jacobian of a deep tanh "
    "network has the same mean squared singular value with Gaussian and orthogonal weights, but a "
    "far wider spread with Gaussian ones (Pennington et al. 2017).",
}

MF_TOLERANCE = 0.05  # B1: relative error of the predicted root second moment, every layer
GRAD_TOLERANCE = 0.10  # B2: relative error of the predicted gradient ratio, every layer
RELU_XAVIER_RATIO = 1 / math.sqrt(2)  # B3: σ_w² E[relu'²] = 1 · 1/2 per layer, in std: 1/√2
RELU_TOLERANCE = 0.10  # B3: relative, per layer; finite width moves q by ~√(2/n) per layer
LEARNED_MARGIN = 2.0  # B4: points of test error above the best Table 1 model still "as well"
LSUV_LEVEL = 0.10  # B5: every layer's activation scale within 10% of the layer below
SAME_MEAN_SQ = 1.5  # B6: mean squared singular values within a factor 1.5 of each other
SPREAD_FACTOR = 5.0  # B6: Gaussian relative variance of σ² at least 5x the orthogonal one


def _decided(ok: bool, reached: bool = True, settle: str = "") -> Verdict:
    """The shared policy (:func:`glorot.claims.decide`) on one condition: measurements at
    initialization are exact, so the condition is decided unless the run has not ``reached`` the
    regime the claim is about."""
    return decide([Condition("criterion", bool(ok), significant=reached, settle=settle)]).verdict


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in np.asarray(values, dtype=float)) + "]"


def rms(act_mean, act_std) -> np.ndarray:
    """Root second moment √E[z²] = √(mean² + std²): what the variance map predicts."""
    return np.sqrt(np.asarray(act_mean, float) ** 2 + np.asarray(act_std, float) ** 2)


def _worst_relative(measured, predicted) -> float:
    m, p = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    return float(np.max(np.abs(p / m - 1)))


# ---- B1, B2: mean-field theory -------------------------------------------------------------------


def check_b1(
    measured: Mapping[str, np.ndarray], predicted: Mapping[str, np.ndarray], scale: str = ""
) -> ClaimResult:
    """B1: ``measured`` and ``predicted`` root second moments √E[(z^l)²] per layer, by init.

    PASS when the prediction is within :data:`MF_TOLERANCE` (relative) of the measurement at every
    layer of every init."""
    worst = {init: _worst_relative(measured[init], predicted[init]) for init in measured}
    ok = all(w <= MF_TOLERANCE for w in worst.values())
    return ClaimResult(
        id="B1",
        criterion=f"|predicted / measured − 1| ≤ {MF_TOLERANCE:.0%} for √E[z²] at every layer",
        measured="; ".join(
            f"{init}: measured {_fmt(measured[init])}, predicted {_fmt(predicted[init])} "
            f"(worst {worst[init]:.1%})"
            for init in measured
        ),
        verdict=_decided(ok),
        scale=scale,
        figure=FIGURE,
    )


def check_b2(
    measured: Mapping[str, np.ndarray],
    predicted: Mapping[str, np.ndarray],
    chi: Mapping[str, float],
    scale: str = "",
) -> ClaimResult:
    """B2: ``measured`` ratios std(∂C/∂s^l) / std(∂C/∂s^(l+1)) (L−1,) by init, against the
    mean-field ``predicted`` √χ^l (:func:`glorot.meanfield.forward`), and ``chi`` = χ₁ at the fixed
    point of the standard and the normalized init.

    PASS when every predicted ratio is within :data:`GRAD_TOLERANCE` of the measured one, χ₁ < 1
    for the standard init (ordered) and χ₁ = 1 for the normalized init (critical,
    :func:`glorot.meanfield.phase`)."""
    from glorot.meanfield import depth_scale, phase

    worst = {init: _worst_relative(measured[init], predicted[init]) for init in measured}
    phases = {init: phase(c) for init, c in chi.items()}
    ok = (
        all(w <= GRAD_TOLERANCE for w in worst.values())
        and phases.get("standard") == "ordered"
        and phases.get("normalized") == "critical"
    )
    xi = {init: float(depth_scale(c)) for init, c in chi.items()}
    return ClaimResult(
        id="B2",
        criterion=f"|√χ^l / measured gradient ratio − 1| ≤ {GRAD_TOLERANCE:.0%} at every layer; "
        "χ₁ < 1 (standard) and χ₁ = 1 (normalized)",
        measured="; ".join(
            f"{init}: measured {_fmt(measured[init])}, √χ^l {_fmt(predicted[init])} "
            f"(worst {worst[init]:.1%})"
            for init in measured
        )
        + "; "
        + ", ".join(
            f"{init} χ₁ = {chi[init]:.3f} ({phases[init]}, ξ = {xi[init]:.3g})" for init in chi
        ),
        verdict=_decided(ok),
        scale=scale,
        figure=FIGURE,
    )


# ---- B3: ReLU at init ----------------------------------------------------------------------------


def check_b3(rms_xavier, rms_he, scale: str = "") -> ClaimResult:
    """B3: root second moments √E[(z^l)²] (L,) of a ReLU net with the normalized (Xavier) and with
    He's init. PASS when every layer-to-layer ratio is within :data:`RELU_TOLERANCE` (relative) of
    1/√2 (Xavier) and of 1 (He)."""
    rx = np.asarray(rms_xavier, float)[1:] / np.asarray(rms_xavier, float)[:-1]
    rh = np.asarray(rms_he, float)[1:] / np.asarray(rms_he, float)[:-1]
    ok = bool(
        np.all(np.abs(rx / RELU_XAVIER_RATIO - 1) <= RELU_TOLERANCE)
        and np.all(np.abs(rh - 1) <= RELU_TOLERANCE)
    )
    return ClaimResult(
        id="B3",
        criterion=f"√E[z²] ratio layer l+1 / l within ±{RELU_TOLERANCE:.0%} of 1/√2 = "
        f"{RELU_XAVIER_RATIO:.3f} (Xavier) and of 1 (He) at every layer",
        measured=f"ratios Xavier {_fmt(rx)} (mean {rx.mean():.3f}), He {_fmt(rh)} "
        f"(mean {rh.mean():.3f})",
        verdict=_decided(ok),
        scale=scale,
        figure=FIGURE,
    )


# ---- B4: ReLU + He on Shapeset -------------------------------------------------------------------


def check_b4(
    outcomes: Mapping[str, np.ndarray],
    updates: int,
    chance: float = SHAPESET_CHANCE,
    scale: str = "",
) -> ClaimResult:
    """B4: per-example test outcomes after ``updates`` updates, {model: (seeds, test examples)
    booleans, True = misclassified}, of ReLU + He (:data:`RELU_LABEL`) and of Table 1's models.

    Judged like C13-C15, by 99.5 % paired-bootstrap intervals over the test examples, seeds pooled
    (the same examples for every model): ✔ when ReLU He − the best Table 1 model is below
    :data:`LEARNED_MARGIN` points and its interval too; ✗ when the interval lies above the margin;
    both only once a network has learned, 10 points below a constant guess (significantly): an
    ordering of networks at chance says nothing. Otherwise not reached."""
    rows = [r for r in outcomes if r != RELU_LABEL]
    if RELU_LABEL not in outcomes or not rows:
        raise ValueError(
            f"B4 compares {RELU_LABEL} with Table 1's models: give the outcomes of both, got "
            f"{', '.join(outcomes) or 'none'}"
        )

    def behind(d):
        best = np.minimum.reduce([np.asarray(d[r]) for r in rows])
        return 100 * (np.asarray(d[RELU_LABEL]) - best)

    R = Resamples(outcomes)
    below_chance = learned_spec(chance, list(outcomes), "network")
    _, best_of_all, level, _ = below_chance
    learned = R.interval(best_of_all).hi < level
    specs = [
        (f"{RELU_LABEL} − best of Table 1 < {LEARNED_MARGIN:g}", behind, LEARNED_MARGIN, False),
        below_chance,
    ]
    settle = (
        "more seeds or test examples" if learned else "a network 10 points below a constant guess"
    )
    conditions, texts = judged(R, specs, learned, settle)
    best = min(rows, key=lambda r: R.point[r])
    test = mcnemar(outcomes[RELU_LABEL], outcomes[best])
    return judge(
        "B4",
        f"test error of {RELU_LABEL} − best of Table 1 < {LEARNED_MARGIN:g} points, significant at "
        f"p < {PAPER_ALPHA} (paired bootstrap), once a network is {LEARNED:g} points below chance",
        measured=measured_text(outcomes, updates, texts, f"{RELU_LABEL} vs {best} {test.text}"),
        conditions=conditions,
        scale=scale,
        figure=FIGURE,
    )


# ---- B5: LSUV ------------------------------------------------------------------------------------


def check_b5(rms_lsuv: Mapping[str, np.ndarray], scale: str = "") -> ClaimResult:
    """B5: root second moments √E[(z^l)²] (L,) of LSUV nets, by activation. PASS when every
    layer-to-layer ratio is within :data:`LSUV_LEVEL` of 1 for every activation."""
    ratios = {a: np.asarray(r, float)[1:] / np.asarray(r, float)[:-1] for a, r in rms_lsuv.items()}
    ok = all(bool(np.all(np.abs(r - 1) <= LSUV_LEVEL)) for r in ratios.values())
    return ClaimResult(
        id="B5",
        criterion=f"√E[z²] ratio layer l+1 / l within 1 ± {LSUV_LEVEL:g} at every layer",
        measured="; ".join(f"{a}: {_fmt(r)}" for a, r in ratios.items()),
        verdict=_decided(ok),
        scale=scale,
        figure=FIGURE,
    )


# ---- B6: dynamical isometry ----------------------------------------------------------------------


def check_b6(
    gaussian: Mapping[str, float], orthogonal: Mapping[str, float], depth: int, scale: str = ""
) -> ClaimResult:
    """B6: :func:`glorot.isometry.spectrum_summary` of the deepest net's Jacobian for each kind of
    weights. PASS when the mean squared singular values are within a factor
    :data:`SAME_MEAN_SQ` of each other and the Gaussian relative variance of σ² is at least
    :data:`SPREAD_FACTOR` times the orthogonal one."""
    m = gaussian["mean_sq"] / orthogonal["mean_sq"]
    spread = gaussian["rel_var"] / orthogonal["rel_var"]
    ok = 1 / SAME_MEAN_SQ <= m <= SAME_MEAN_SQ and spread >= SPREAD_FACTOR
    return ClaimResult(
        id="B6",
        criterion=f"depth {depth}: E[σ²] Gaussian / orthogonal within ×{SAME_MEAN_SQ:g}; "
        f"Var[σ²]/E[σ²]² Gaussian ≥ {SPREAD_FACTOR:g} × orthogonal",
        measured=f"E[σ²] {gaussian['mean_sq']:.3g} vs {orthogonal['mean_sq']:.3g} (×{m:.2f}); "
        f"Var[σ²]/E[σ²]² {gaussian['rel_var']:.3g} vs {orthogonal['rel_var']:.3g} "
        f"(×{spread:.1f})",
        verdict=_decided(ok),
        scale=scale,
        figure=FIGURE,
    )


def checks(
    runs: Mapping[tuple[str, str], Run],
    outcomes: Mapping[str, np.ndarray],
    updates: int,
    spectra: Mapping[str, Mapping[int, np.ndarray]],
    scale: str = "",
) -> list[ClaimResult]:
    """B1-B6 from the at-init runs (:func:`~glorot.claims.beyond_evidence.init_runs`), the test
    outcomes of ReLU + He and of Table 1's rows after ``updates`` updates
    (:func:`~glorot.claims.beyond_evidence.trained_outcomes`) and the Jacobian spectra
    (:func:`~glorot.claims.beyond_evidence.isometry_spectra`)."""
    from glorot.isometry import spectrum_summary

    at = {model: at_init(r) for model, r in runs.items()}
    root = {model: rms(a["act_mean"], a["act_std"]) for model, a in at.items()}
    paper = ("standard", "normalized")
    mf = {init: meanfield_predictions(runs[("tanh", init)]) for init in paper}
    grads = {
        init: at[("tanh", init)]["dC_ds_std"][:-1] / at[("tanh", init)]["dC_ds_std"][1:]
        for init in paper
    }
    deepest = max(spectra["gaussian"])
    return [
        check_b1(
            {i: root[("tanh", i)] for i in paper}, {i: np.sqrt(mf[i]["m2"]) for i in paper}, scale
        ),
        check_b2(grads, {i: mf[i]["grad_ratio"] for i in paper}, paper_chi1(), scale),
        check_b3(root[("relu", "normalized")], root[("relu", "he")], scale),
        check_b4(outcomes, updates, scale=f"{scale}, {seeds_text(outcomes)}".lstrip(", ")),
        check_b5({a: root[(a, "lsuv")] for a in ("tanh", "relu")}, scale),
        check_b6(
            spectrum_summary(spectra["gaussian"][deepest]),
            spectrum_summary(spectra["orthogonal"][deepest]),
            deepest,
            scale,
        ),
    ]


def evaluate(profile: Profile | str) -> list[ClaimResult]:
    """B1-B6 at ``profile`` from the stored runs (runs that are missing are computed)."""
    from glorot.data import make_source

    P = get_profile(profile) if isinstance(profile, str) else profile
    runs = init_runs(P)
    cfg = runs[AT_INIT[0]].config
    x, _ = make_source(cfg).fixed("probe", cfg.n_probe)
    trained = trained_outcomes(P)
    return checks(runs, trained.outcomes, trained.updates, isometry_spectra(P, x), P.name)

"""Claims C1-C5 and C12: saturation of the hidden units during training (§3, Figs. 2-4 and 10).

Each ``check_*`` takes arrays as a run records them (``updates`` (P,), per-layer statistics (P, L))
and returns a :class:`ClaimResult` whose criterion states its thresholds. A check is made of
conditions weighed by the one verdict policy, :func:`glorot.claims.decide`: a measurement within
rounding of its threshold decides nothing, and a condition about something the paper sees late in
training cannot be refuted by a run shorter than the paper's (it is then not reached, unless it
already holds).

The 98th percentile of Figs. 3 and 10 is read as a percentile of |z| (the paper does not say of
what): tanh and softsign are odd and the network's activations are symmetric in sign, so |z| puts
both asymptotes on one scale; for a symmetric distribution it equals the 99th percentile of z.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from glorot.claims import ROUNDING, ClaimResult, Condition, judge, over_seeds, past
from glorot.claims.distributions import (  # noqa: F401  (chapter 03 reads these as S.*)
    CENTRE,
    DIP,
    KNEE,
    OUTER,
    OUTER_MASS,
    P98,
    SATURATED_P98,
    as_arrays,
    crossings,
    crossings_text,
    fold,
    histogram_modes,
    p98,
    sign_asymmetry,
)
from glorot.config import PAPER_EPOCH, Profile, get_profile
from glorot.probes import act_bins

# C1: "drops to ≈0 early": below 0.1 by the end of the first two epochs of 20k updates (Fig. 2's
# first markers; a public MNIST reproduction saw 0.03 within two epochs).
EARLY_UPDATES = 2 * PAPER_EPOCH
SATURATED_MEAN = 0.1  # a sigmoid layer whose mean activation is below this is saturated at 0
LOWER_MEAN = 0.5  # the lower layers' means "stay above 0.5"
# C2: the top layer leaves saturation "around epoch 100".
ESCAPE_UPDATES = 100 * PAPER_EPOCH
# C3-C5, C12 are about long training: the length of the paper's runs (Fig. 2: ~140 epochs).
LONG_UPDATES = 140 * PAPER_EPOCH
# "Together": the layers' 98th percentiles lie within 0.2 of one another at the end. At init with
# the standard init they span about 0.4 (1000 units: 0.47 in layer 1 down to 0.04 in layer 5 for
# softsign), because the init shrinks the activations from one layer to the next (eq. 5).
TOGETHER_SPREAD = 0.2


def _late(ran: int, needed: int) -> dict:
    """Keywords of a condition that only a run of ``needed`` updates can refute."""
    return dict(refutable=ran >= needed, settle=f"runs of ≥ {needed:,} updates")


def _clear_of(values, threshold: float) -> bool:
    """No value within rounding of ``threshold``: comparisons with it cannot flip on noise."""
    values = np.asarray(values, dtype=float)
    return bool(np.all(np.abs(values - threshold) > ROUNDING * abs(threshold)))


def _saturation(p98, threshold: float = SATURATED_P98) -> tuple[bool, bool]:
    """Whether some layer's 98th percentile ever reaches ``threshold``, and whether the data tell
    that from rounding: some value beyond the :data:`~glorot.claims.ROUNDING` band above it when
    one reaches it, every value below the band when none does. A probe that happens to land within
    rounding of the threshold on the way up decides nothing either way."""
    values = np.asarray(p98, dtype=float)
    band = ROUNDING * abs(threshold)
    reached = bool(np.any(values >= threshold))
    if reached:
        return True, bool(np.any(values > threshold + band))
    return False, bool(np.all(values < threshold - band))


def _fmt(values) -> str:
    return ", ".join(f"{v:.2f}" for v in np.asarray(values, dtype=float))


def check_c1(updates, act_mean) -> ClaimResult:
    """C1 (Fig. 2): at the last probe within the first EARLY_UPDATES (or of the run, if shorter)
    the top layer's mean activation is below SATURATED_MEAN, every lower layer's mean is above
    LOWER_MEAN, and the lower layers' means decrease from the top layer down (layer L-1 highest,
    layer 1 lowest: the paper's "decreasing as we go from the output layer to the input layer").

    ``act_mean`` (P, L) of a sigmoid network, first layer first.
    """
    updates, act_mean = as_arrays(updates, act_mean)
    i = int(np.flatnonzero(updates <= EARLY_UPDATES)[-1])
    top, lower = act_mean[i, -1], act_mean[i, :-1]
    ordered = bool(np.all(np.diff(lower) > 0))
    late = _late(int(updates[-1]), EARLY_UPDATES)
    conditions = [
        past(f"top-layer mean < {SATURATED_MEAN}", float(top), SATURATED_MEAN, False, **late),
        past(f"lower means > {LOWER_MEAN}", float(lower.min()), LOWER_MEAN, True, **late),
        past(
            "lower means increase from layer 1 up",
            float(np.diff(lower).min()) if lower.size > 1 else 1.0,
            0.0,
            True,
            scale=float(np.abs(lower).max()),
            **late,
        ),
    ]
    return judge(
        "C1",
        (
            f"at the last probe within the first {EARLY_UPDATES:,} updates: top-layer mean "
            f"< {SATURATED_MEAN}, every lower layer's mean > {LOWER_MEAN}, and the lower layers' "
            "means increase from layer 1 up (decrease from the top layer down)"
        ),
        (
            f"at update {int(updates[i]):,}: top-layer mean {top:.3f}; layers 1-{len(lower)}: "
            f"{_fmt(lower)} ({'ordered' if ordered else 'not ordered'})"
        ),
        conditions,
    )


def check_c2(updates, act_mean, act_saturated, deep_updates, deep_act_mean) -> ClaimResult:
    """C2 (Fig. 2); only a run of at least ESCAPE_UPDATES can refute it (a shorter one that
    already shows all of it passes):

    - the network of ``act_mean`` (the paper's depth 4) escapes: its top layer's mean, after
      falling below SATURATED_MEAN, is above it again at the end;
    - meanwhile layer 1 starts to saturate: its fraction of saturated units (``act_saturated``) is
      higher at the end than when the top layer's mean was lowest;
    - the deeper network of ``deep_act_mean`` (depth 5) never escapes: its top layer's mean falls
      below SATURATED_MEAN and stays below it at every later probe.
    """
    updates, act_mean = as_arrays(updates, act_mean)
    _, act_saturated = as_arrays(updates, act_saturated)
    deep_updates, deep_act_mean = as_arrays(deep_updates, deep_act_mean)
    top, deep_top = act_mean[:, -1], deep_act_mean[:, -1]
    ran = min(int(updates[-1]), int(deep_updates[-1]))
    low = int(np.argmin(top))
    fell = top[low] < SATURATED_MEAN
    escaped = fell and top[-1] > SATURATED_MEAN
    deep_fell = np.flatnonzero(deep_top < SATURATED_MEAN)
    stuck = deep_fell.size > 0 and bool(np.all(deep_top[deep_fell[0] :] < SATURATED_MEAN))
    late = _late(ran, ESCAPE_UPDATES)
    clear = _clear_of(top, SATURATED_MEAN) and _clear_of(deep_top, SATURATED_MEAN)
    conditions = [
        Condition("depth-4 top layer escapes", bool(escaped), clear, **late),
        past(
            "layer 1 saturates meanwhile",
            float(act_saturated[-1, 0] - act_saturated[low, 0]),
            0.0,
            True,
            scale=max(float(act_saturated[-1, 0]), 1e-3),
            **late,
        ),
        Condition("depth-5 top layer never escapes", bool(stuck), clear, **late),
    ]
    measured = (
        f"after {int(updates[-1]):,} updates (depth {act_mean.shape[1]}): top-layer mean "
        f"{top[-1]:.3f} at the end, lowest {top[low]:.3f} at update {int(updates[low]):,}; "
        f"layer 1 saturated fraction {act_saturated[low, 0]:.3f} then, {act_saturated[-1, 0]:.3f} "
        f"at the end. After {int(deep_updates[-1]):,} updates (depth {deep_act_mean.shape[1]}): "
        f"top-layer mean {deep_top[-1]:.3f} at the end, highest after its fall "
        + (f"{deep_top[deep_fell[0] :].max():.3f}" if deep_fell.size else "n/a (never fell)")
    )
    return judge(
        "C2",
        (
            f"runs of >= {ESCAPE_UPDATES:,} updates: the depth-{act_mean.shape[1]} top-layer "
            f"mean falls below {SATURATED_MEAN} and is above it at the end; layer 1's saturated "
            "fraction at the end exceeds its value when the top layer was lowest; the "
            f"depth-{deep_act_mean.shape[1]} top-layer mean falls below {SATURATED_MEAN} and "
            "never rises above it again"
        ),
        measured,
        conditions,
    )


def check_c3(updates, p98) -> ClaimResult:
    """C3 (Fig. 3 top): tanh layers saturate one after another, layer 1 first.

    A layer saturates at the first probe where its 98th percentile of |z| (``p98`` (P, L)) reaches
    SATURATED_P98. FAIL when the order is broken (a layer saturated while a lower one has not, or
    before it) or when all layers saturate at one probe; PASS when every layer has saturated in
    order (ties allowed: the probes are coarse); otherwise NOT_REACHED until LONG_UPDATES.
    """
    updates, p98 = as_arrays(updates, p98)
    times = crossings(updates, p98)
    done = [t for t in times if t is not None]
    prefix = all(t is not None for t in times[: len(done)])  # crossed layers are 1..k
    in_order = prefix and bool(np.all(np.diff(done) >= 0))
    ran = int(updates[-1])
    clear = _clear_of(p98, SATURATED_P98)
    at_once = len(done) == len(times) and done[0] == done[-1]
    conditions = [
        Condition("layers saturate in order, layer 1 first", in_order, clear),
        Condition("not all at once", not at_once, clear),
        Condition(
            "every layer saturates", len(done) == len(times), clear, **_late(ran, LONG_UPDATES)
        ),
    ]
    return judge(
        "C3",
        (
            f"update at which each layer's 98th percentile of |z| first reaches {SATURATED_P98}: "
            "all layers reach it, layer 1 first and each layer no earlier than the one below, not "
            f"all at once (runs shorter than {LONG_UPDATES:,} updates that are in order so far: "
            "not reached)"
        ),
        (f"after {ran:,} updates: {crossings_text(times)}; final 98th percentiles {_fmt(p98[-1])}"),
        conditions,
    )


def _like_softsign(claim: str, what: str, updates, p98, tanh_updates, tanh_p98) -> ClaimResult:
    """C4 and C12: a network whose layers saturate less than standard-init tanh, and together.

    - less: none of its layers' 98th percentile of |z| ever reaches SATURATED_P98. Judged once the
      standard-init tanh run of the same scale has a saturated layer (the contrast is visible), or
      at LONG_UPDATES; a saturated layer is a FAIL at any length.
    - together: at the end the layers' 98th percentiles lie within TOGETHER_SPREAD of one another;
      a wider spread is NOT_REACHED until LONG_UPDATES.
    """
    updates, p98 = as_arrays(updates, p98)
    times = crossings(updates, p98)
    tanh_times = crossings(tanh_updates, tanh_p98)
    ran = int(updates[-1])
    saturated, saturated_clear = _saturation(p98)
    contrast, contrast_clear = _saturation(tanh_p98)
    spread = float(p98[-1].max() - p98[-1].min())
    late = _late(ran, LONG_UPDATES)
    conditions = [
        Condition("no layer saturates", not saturated, saturated_clear),
        Condition(
            "the standard-init tanh run has a saturated layer", contrast, contrast_clear, **late
        ),
        past(f"final spread < {TOGETHER_SPREAD}", spread, TOGETHER_SPREAD, False, **late),
    ]
    return judge(
        claim,
        (
            f"{what}: no layer's 98th percentile of |z| reaches {SATURATED_P98} while the "
            f"standard-init tanh run has a layer that does (else judged at {LONG_UPDATES:,} "
            f"updates); at the end the layers' 98th percentiles lie within {TOGETHER_SPREAD} of "
            f"one another (a wider spread is not reached before {LONG_UPDATES:,} updates)"
        ),
        (
            f"after {ran:,} updates: final 98th percentiles {_fmt(p98[-1])} (spread {spread:.2f}); "
            f"saturated layers: {crossings_text(times)}; standard-init tanh: "
            f"{crossings_text(tanh_times)}"
        ),
        conditions,
    )


def check_c4(updates, p98, tanh_updates, tanh_p98) -> ClaimResult:
    """C4 (Fig. 3 bottom): softsign layers (``p98`` (P, L)) saturate less than the standard-init
    tanh layers (``tanh_p98``), and together; see :func:`_like_softsign`."""
    return _like_softsign("C4", "softsign, standard init", updates, p98, tanh_updates, tanh_p98)


def check_c12(updates, p98, tanh_updates, tanh_p98) -> ClaimResult:
    """C12 (Fig. 10): tanh with the normalized init (``p98`` (P, L)) behaves like softsign: the
    same criterion as C4, against the standard-init tanh run (``tanh_p98``)."""
    return _like_softsign("C12", "tanh, normalized init", updates, p98, tanh_updates, tanh_p98)


def check_c5(tanh_hist, tanh_updates: int, softsign_hist, softsign_updates: int, edges):
    """C5 (Fig. 4): end-of-training histograms (L, bins) on ``edges``, averaged over layers and
    folded onto |z| (:func:`histogram_modes`).

    - tanh: modes at the asymptotes and at 0: the asymptotes hold at least OUTER_MASS of the
      values, and both the highest centre bin and the highest asymptote bin stand at least DIP
      times as high as the lowest bin between them;
    - softsign: the highest bin overlaps the knees KNEE (neither at 0 nor at ±1).

    A part that does not hold is NOT_REACHED until its run has LONG_UPDATES.
    """
    tanh, soft = histogram_modes(tanh_hist, edges), histogram_modes(softsign_hist, edges)
    lo, hi = soft["mode"]
    t_late, s_late = _late(tanh_updates, LONG_UPDATES), _late(softsign_updates, LONG_UPDATES)
    conditions = [
        past(
            f"tanh mass at |z| > {OUTER} > {OUTER_MASS:.0%}",
            tanh["outer_mass"],
            OUTER_MASS,
            True,
            **t_late,
        ),
        past(
            f"tanh centre > {DIP:g} × dip",
            tanh["centre"] - DIP * tanh["dip"],
            0.0,
            True,
            scale=tanh["centre"],
            **t_late,
        ),
        past(
            f"tanh asymptote > {DIP:g} × dip",
            tanh["outer"] - DIP * tanh["dip"],
            0.0,
            True,
            scale=tanh["outer"],
            **t_late,
        ),
        Condition(
            "softsign's highest bin at the knees",
            bool(lo <= KNEE[1] and hi >= KNEE[0]),
            soft["mode_margin"] > ROUNDING,
            **s_late,
        ),
    ]
    return judge(
        "C5",
        (
            f"histograms averaged over layers, folded onto |z|: tanh has >= {OUTER_MASS:.0%} of "
            f"its values at |z| > {OUTER} and its highest bins at |z| < {CENTRE} and at |z| > "
            f"{OUTER} both >= {DIP:g}x the lowest bin between; softsign's highest bin overlaps "
            f"|z| in [{KNEE[0]}, {KNEE[1]}] (runs shorter than {LONG_UPDATES:,} updates: not "
            "reached unless it holds)"
        ),
        (
            f"tanh after {tanh_updates:,} updates: {tanh['outer_mass']:.1%} at |z| > {OUTER}, "
            f"centre {tanh['centre']:.3f}, asymptote {tanh['outer']:.3f}, dip {tanh['dip']:.3f}; "
            f"softsign after {softsign_updates:,} updates: highest bin |z| in "
            f"[{lo:.2f}, {hi:.2f}]"
        ),
        conditions,
    )


# ---- from runs ---------------------------------------------------------------------------------


def scale(profile: Profile | str, runs) -> str:
    """The scale a claim was measured at: the profile and, per run, its length, width and rate."""
    name = profile.name if isinstance(profile, Profile) else str(profile)
    parts = [
        f"{r.config.label} ({int(r.probes['updates'][-1]):,} updates, width {r.config.width}, "
        f"lr {r.config.lr:g})"
        for r in runs
    ]
    return f"{name}: " + "; ".join(parts)


def sigmoid_claims(run, deep, profile: Profile | str) -> list[ClaimResult]:
    """C1 on the sigmoid run ``run`` (the paper's depth 4), C2 on it and the deeper ``deep``."""
    c1 = check_c1(run.probes["updates"], run.probes["act_mean"])
    c2 = check_c2(
        run.probes["updates"],
        run.probes["act_mean"],
        run.probes["act_saturated"],
        deep.probes["updates"],
        deep.probes["act_mean"],
    )
    return [
        replace(c1, scale=scale(profile, [run]), figure="02_sigmoid"),
        replace(c2, scale=scale(profile, [run, deep]), figure="02_sigmoid"),
    ]


def _tanh_softsign_one(tanh, softsign, tanh_n) -> list[tuple[ClaimResult, list]]:
    """C3, C4, C5 and C12 on the runs of one seed, each with the runs it read."""
    t_upd = tanh.probes["updates"]
    s_upd, n_upd = softsign.probes["updates"], tanh_n.probes["updates"]
    return [
        (check_c3(t_upd, p98(tanh)), [tanh]),
        (check_c4(s_upd, p98(softsign), t_upd, p98(tanh)), [softsign, tanh]),
        (
            check_c5(
                tanh.probes["act_hist"][-1],
                int(t_upd[-1]),
                softsign.probes["act_hist"][-1],
                int(s_upd[-1]),
                act_bins(tanh.config.activation),  # softsign's bins are the same: z in [-1, 1]
            ),
            [tanh, softsign],
        ),
        (check_c12(n_upd, p98(tanh_n), t_upd, p98(tanh)), [tanh_n, tanh]),
    ]


# C4 and C12 compare a model with the standard-init tanh: they rest on MIN_SEEDS seeds or more.
COMPARISONS = ("C4", "C12")


def tanh_softsign_claims(tanh, softsign, tanh_n, profile: Profile | str) -> list[ClaimResult]:
    """C3, C4, C5 and C12 from the tanh, softsign (standard init) and tanh N runs: one run of each,
    or a list of runs per model, one per seed in the same order. Each claim is judged on every seed
    and the verdicts combined by :func:`glorot.claims.over_seeds` (C4 and C12, which compare
    models, need :data:`~glorot.claims.MIN_SEEDS` seeds that agree)."""
    per_model = [list(r) if isinstance(r, (list, tuple)) else [r] for r in (tanh, softsign, tanh_n)]
    if len({len(runs) for runs in per_model}) != 1:
        raise ValueError(
            "tanh, softsign and tanh N runs of different numbers of seeds: give one run per seed "
            f"of each ({', '.join(str(len(r)) for r in per_model)} given)"
        )
    seeds = [r.config.seed for r in per_model[0]]
    per_seed = [_tanh_softsign_one(*runs) for runs in zip(*per_model, strict=True)]
    results = []
    for k in range(len(per_seed[0])):
        first, runs = per_seed[0][k]
        combined = over_seeds([one[k][0] for one in per_seed], seeds, first.id in COMPARISONS)
        where = scale(profile, runs) + (f"; seeds {seeds}" if len(seeds) > 1 else "")
        results.append(replace(combined, scale=where, figure="03_tanh_softsign"))
    return results


def evaluate(profile: Profile | str) -> list[ClaimResult]:
    """C1-C5 and C12 from the book's canonical runs at ``profile`` (computed if not stored): C3-C5
    and C12 on every seed of the profile."""
    from glorot.experiments import main_run

    P = profile if isinstance(profile, Profile) else get_profile(profile)
    sigmoid = [main_run(P, "sigmoid", "standard", depth=d) for d in (4, 5)]
    tanh, softsign, tanh_n = (
        [main_run(P, act, init, depth=5, seed=seed) for seed in P.seeds]
        for act, init in (("tanh", "standard"), ("softsign", "standard"), ("tanh", "normalized"))
    )
    return sigmoid_claims(*sigmoid, P) + tanh_softsign_claims(tanh, softsign, tanh_n, P)

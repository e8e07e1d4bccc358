"""Checks S1-S5 of chapter 01: Shapeset-3x2 as generated against the laws it is meant to follow
(paper §2.1, the original generator's settings in reference §5).

:func:`measure` draws the first n images of a seed's training stream (the very images a run with
that seed trains on) in chunks and keeps what the chapter shows: labels, factors, each object's
distance to the border and overlap re-measured from its factors, each image's foreground and outline
pixels, pixel sums and grey-level counts.
The measurements are in :mod:`glorot.claims.shapeset_measure`; the checks are pure functions of
those arrays, and :func:`evaluate` does it all for a profile.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from glorot import shapeset
from glorot.claims import ClaimResult, Condition, decide
from glorot.claims.shapeset_measure import (  # noqa: F401  (chapter 01 reads these as claims.*)
    RING,
    ShapesetStats,
    centre_rule_ratio,
    class_means,
    compare_rules,
    expected_pixel_mean,
    measure,
    overlap_pairs,
    rule_table,
)
from glorot.config import Profile, get_profile

STATEMENTS: dict[str, str] = {
    "S1": "Class frequencies follow the original generator's law: 1/6 for each single shape, 1/9 "
    "for each mixed pair, 1/18 for each same-shape pair (1 or 2 objects with probability ½ each, "
    "shapes independent and uniform).",
    "S2": "Always answering the most frequent class errs 5/6 = 83.3% of the time, so the "
    "sigmoid's 82.61% on Shapeset (Table 1) is chance level.",
    "S3": "Every object lies inside the image, with a margin of one pixel.",
    "S4": "The second object does not overlap the first by more than 50% of its area (§2.1), as "
    "the original generator judged it (its overlap estimate).",
    "S5": "The objects are as large as the original generator drew them (pygame 1.8.1's polygon "
    "fill): per class, the mean foreground area and outline match the original's.",
}

P_MIN = 1e-3  # S1: the law is rejected below this chi-square p-value
SIGMAS = 3.0  # S2: tolerance in standard errors of the most frequent class's frequency
TOLERANCE = 1e-9  # S3: floating-point slack on the one-pixel margin
PAPER_SIGMOID_ERROR = 0.8261  # Table 1: sigmoid, 5 hidden layers, Shapeset test error

# S5: the original generator's figures (reference §5: its code at the Shapeset-3x2 settings, pygame
# 1.8.1's fill, REFERENCE_IMAGES images), mean pixels per label 0-8 of the foreground (the pixels
# unlike the image's most frequent grey level) and of its outline (foreground pixels with a
# background 4-neighbour).
REFERENCE_AREA = np.array([97.9, 143.8, 215.5, 198.1, 275.6, 248.6, 169.7, 232.2, 317.4])
REFERENCE_OUTLINE = np.array([36.9, 41.0, 46.0, 63.3, 64.7, 64.4, 62.8, 63.8, 64.7])
REFERENCE_IMAGES = 40_000
REFERENCE_REJECTIONS = 0.97  # rejected candidates per image that asked for a second object
SIZE_TOLERANCE = 0.03  # S5: largest relative deviation of a class mean from the reference's


def _profile(profile: Profile | str) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


def n_images(profile: Profile | str) -> int:
    """Images the chapter measures at ``profile`` (:attr:`Profile.shapeset_images`)."""
    return _profile(profile).shapeset_images


def n_pairs(profile: Profile | str) -> int:
    """Candidate object pairs on which the overlap rules are compared at ``profile``
    (:attr:`Profile.overlap_pairs`)."""
    return _profile(profile).overlap_pairs


def law_text() -> str:
    """The class law as a small table: label id, class, probability (a fraction), and the error
    of a constant guess. Depends on nothing measured."""
    width = max(map(len, shapeset.LABEL_NAMES))
    rows = [f"{'id':>2}  {'class':<{width}}  law"]
    for label, (name, p) in enumerate(zip(shapeset.LABEL_NAMES, shapeset.CLASS_PROBS, strict=True)):
        rows.append(f"{label:>2}  {name:<{width}}  {Fraction(p).limit_denominator(1000)}")
    rows.append(f"constant guess: {shapeset.constant_guess_error():.1%} error")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- checks


def check_class_law(counts: np.ndarray, scale: str = "") -> ClaimResult:
    """S1: Pearson's chi-square test of the class counts (9,) against ``shapeset.CLASS_PROBS``."""
    counts = np.asarray(counts)
    stat, dof, p = shapeset.chi_square(counts, shapeset.CLASS_PROBS)
    freqs = ", ".join(f"{f:.4f}" for f in counts / counts.sum())
    return ClaimResult(
        id="S1",
        criterion=f"chi-square goodness of fit to 1/6, 1/9, 1/18: p > {P_MIN:g}",
        measured=f"χ² = {stat:.2f} ({dof} dof), p = {p:.3g}; frequencies {freqs} "
        f"over {int(counts.sum()):,} images",
        verdict=decide([Condition("S1", bool(p > P_MIN))]).verdict,
        scale=scale,
        figure="01_shapeset: class frequencies",
    )


def check_constant_guess(counts: np.ndarray, scale: str = "") -> ClaimResult:
    """S2: the error of always answering the most frequent class, 1 − max frequency, is the law's
    ``shapeset.constant_guess_error()`` within SIGMAS standard errors of that frequency."""
    counts = np.asarray(counts)
    n = counts.sum()
    top = counts.max() / n
    error = 1.0 - top
    se = np.sqrt(top * (1.0 - top) / n)
    expected = shapeset.constant_guess_error()
    return ClaimResult(
        id="S2",
        criterion=f"|1 − max frequency − {expected:.4f}| ≤ {SIGMAS:g} standard errors",
        measured=f"constant-guess error {error:.4f} ± {se:.4f} "
        f"(most frequent: {shapeset.LABEL_NAMES[int(counts.argmax())]}); "
        f"Table 1 sigmoid {PAPER_SIGMOID_ERROR:.2%}",
        verdict=decide([Condition("S2", bool(abs(error - expected) <= SIGMAS * se))]).verdict,
        scale=scale,
        figure="01_shapeset: class frequencies",
    )


def check_margin(margin: np.ndarray, border: np.ndarray, scale: str = "") -> ClaimResult:
    """S3: every present object's vertices lie at least 1 px from the image's edge, and no object
    pixel falls in the outer ring of the image. ``margin`` NaN marks an absent object."""
    margin, border = np.asarray(margin), np.asarray(border)
    present = ~np.isnan(margin)
    smallest = float(margin[present].min())
    hits = int(border[present].sum())
    return ClaimResult(
        id="S3",
        criterion=f"every vertex ≥ {shapeset.MARGIN:g} px from the edge; no object pixel on the "
        "outer row or column",
        measured=f"smallest margin {smallest:.3f} px over {int(present.sum()):,} objects; "
        f"{hits} objects touch the outer ring",
        verdict=decide(
            [Condition("S3", bool(smallest >= shapeset.MARGIN - TOLERANCE and hits == 0))]
        ).verdict,
        scale=scale,
        figure="01_shapeset: factors",
    )


def check_overlap(
    judged: np.ndarray,
    pixels: np.ndarray,
    rule: str = shapeset.DEFAULT_OVERLAP,
    scale: str = "",
) -> ClaimResult:
    """S4: over the images that hold two objects (NaN elsewhere), the overlap ``judged`` by the
    generator's rule ``rule`` never exceeds ``shapeset.MAX_OVERLAP``. ``pixels``, the fraction of
    the first object's pixels under the second, says how far the paper's wording on areas holds."""
    judged, pixels = np.asarray(judged), np.asarray(pixels)
    two = ~np.isnan(judged)
    worst = float(judged[two].max())
    above = int((judged[two] > shapeset.MAX_OVERLAP).sum())
    on_pixels = pixels[two] > shapeset.MAX_OVERLAP
    return ClaimResult(
        id="S4",
        criterion=f"overlap by the generator's rule ({rule}) ≤ {shapeset.MAX_OVERLAP:.0%} in "
        "every two-object image",
        measured=f"largest {worst:.3f} over {int(two.sum()):,} two-object images; {above} above "
        f"{shapeset.MAX_OVERLAP:.0%}. On the pixels, {on_pixels.mean():.2%} of them cover more "
        f"than half of the first object (largest {float(pixels[two].max()):.3f})",
        verdict=decide([Condition("S4", bool(worst <= shapeset.MAX_OVERLAP))]).verdict,
        scale=scale,
        figure="01_shapeset: factors",
    )


def size_deviations(labels: np.ndarray, area: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Relative deviations (2, 9) of the per-class mean area (row 0) and outline (row 1) from the
    original generator's (``REFERENCE_AREA``, ``REFERENCE_OUTLINE``)."""
    means = np.stack([class_means(labels, area), class_means(labels, outline)])
    return means / np.stack([REFERENCE_AREA, REFERENCE_OUTLINE]) - 1.0


def size_errors(labels: np.ndarray, area: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Two standard errors (2, 9) of the per-class means of area and outline, relative to the
    reference's figures (the reference's own sampling error is not included)."""
    k = len(shapeset.LABEL_NAMES)
    counts = np.bincount(labels, minlength=k)
    errors = []
    for values, reference in ((area, REFERENCE_AREA), (outline, REFERENCE_OUTLINE)):
        mean = class_means(labels, values)
        mean_sq = class_means(labels, np.asarray(values, dtype=float) ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            errors.append(2 * np.sqrt(np.maximum(mean_sq - mean**2, 0) / counts) / reference)
    return np.stack(errors)


def size_text(labels: np.ndarray, area: np.ndarray, outline: np.ndarray) -> str:
    """Per-class mean foreground area and outline beside the original generator's, as a table."""
    means = [class_means(labels, area), class_means(labels, outline)]
    dev = size_deviations(labels, area, outline)
    width = max(map(len, shapeset.LABEL_NAMES))
    head = f"{'id':>2}  {'class':<{width}}  {'area':>6} {'orig.':>6} {'dev.':>6}"
    rows = [head + f"   {'outline':>7} {'orig.':>6} {'dev.':>6}"]
    for y, name in enumerate(shapeset.LABEL_NAMES):
        rows.append(
            f"{y:>2}  {name:<{width}}  {means[0][y]:6.1f} {REFERENCE_AREA[y]:6.1f} "
            f"{dev[0, y]:+6.1%}   {means[1][y]:7.1f} {REFERENCE_OUTLINE[y]:6.1f} {dev[1, y]:+6.1%}"
        )
    return "\n".join(rows)


def check_object_size(
    labels: np.ndarray, area: np.ndarray, outline: np.ndarray, scale: str = ""
) -> ClaimResult:
    """S5: every class's mean foreground area and outline (``foreground``) within SIZE_TOLERANCE
    of the original generator's; settled on REFERENCE_IMAGES images or more (the size of the
    reference sample), not reached on fewer."""
    labels = np.asarray(labels)
    dev = size_deviations(labels, np.asarray(area), np.asarray(outline))
    worst = np.nanmax(np.abs(dev), axis=1)
    at = np.nanargmax(np.abs(dev), axis=1)
    names = shapeset.LABEL_NAMES
    ok = bool(np.isfinite(dev).all() and worst.max() <= SIZE_TOLERANCE)
    return ClaimResult(
        id="S5",
        criterion=f"per-class mean foreground area and outline within ±{SIZE_TOLERANCE:.0%} of "
        f"the original generator's ({REFERENCE_IMAGES:,} images), on ≥ {REFERENCE_IMAGES:,} images",
        measured=f"largest deviation: area {dev[0, at[0]]:+.1%} ({names[at[0]]}), outline "
        f"{dev[1, at[1]]:+.1%} ({names[at[1]]}) over {len(labels):,} images",
        verdict=decide(
            [
                Condition(
                    "S5",
                    ok,
                    significant=len(labels) >= REFERENCE_IMAGES,
                    settle=f"a sample of at least {REFERENCE_IMAGES:,} images",
                )
            ]
        ).verdict,
        scale=scale,
        figure="01_shapeset: object sizes",
    )


def scale_text(profile: Profile | str, stats: ShapesetStats) -> str:
    """Where the numbers come from, for a ClaimResult's ``scale``."""
    return (
        f"{_profile(profile).name}: the first {stats.n:,} images of the training stream of "
        f"seed {stats.seed}"
    )


def checks(stats: ShapesetStats, profile: Profile | str) -> list[ClaimResult]:
    """S1-S5 on measured statistics."""
    scale = scale_text(profile, stats)
    g = stats.geometry
    return [
        check_class_law(stats.counts, scale),
        check_constant_guess(stats.counts, scale),
        check_margin(g.margin, g.border, scale),
        check_overlap(g.judged(), g.overlap, scale=scale),
        check_object_size(stats.labels, stats.area, stats.outline, scale),
    ]


def evaluate(profile: Profile | str, seed: int = 0, pixel_range: str = "01") -> list[ClaimResult]:
    """The chapter's claims computed from scratch at ``profile``."""
    return checks(measure(n_images(profile), seed, pixel_range), profile)

"""Checks S1-S5 of chapter 01: Shapeset-3x2 as generated against the laws it is meant to follow
(paper §2.1, the original generator's settings in reference §5).

:func:`measure` draws the first n images of a seed's training stream (the very images a run with
that seed trains on) in chunks and keeps what the chapter shows: labels, factors, each object's
distance to the border and overlap re-measured from its factors, each image's foreground and outline
pixels, pixel sums and grey-level counts.
The checks are pure functions of those arrays; :func:`evaluate` does it all for a profile.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from fractions import Fraction

import numpy as np

from glorot import data, raster, shapeset
from glorot.claims import ClaimResult, Condition, decide
from glorot.config import PROFILES, ConfigError, Profile

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

# Images measured at each profile: as many as the original's figures of S5 at least; the rarest
# classes (1/18) get about 2,200 each at smoke.
N_IMAGES: dict[str, int] = {
    "smoke": 40_000,
    "default": 200_000,
    "long": 1_000_000,
    "paper": 1_000_000,
}
# Candidate (first, second) object pairs, and images drawn with each rule, on which the two overlap
# rules are compared.
N_PAIRS: dict[str, int] = {"smoke": 10_000, "default": 100_000, "long": 500_000, "paper": 500_000}
EXAMPLES_PER_CLASS = 4  # Fig. 1
P_MIN = 1e-3  # S1: the law is rejected below this chi-square p-value
SIGMAS = 3.0  # S2: tolerance in standard errors of the most frequent class's frequency
TOLERANCE = 1e-9  # S3: floating-point slack on the one-pixel margin
PAPER_SIGMOID_ERROR = 0.8261  # Table 1: sigmoid, 5 hidden layers, Shapeset test error
PAIRS_ENTROPY = int.from_bytes(b"glorot overlap pairs", "big")  # not a stream of data.py
RULES_ENTROPY = int.from_bytes(b"glorot overlap rules", "big")  # nor these
CENTRE_ENTROPY = int.from_bytes(b"glorot centre rule", "big")

# S5: the original generator's figures (reference §5: its code at the Shapeset-3x2 settings, pygame
# 1.8.1's fill, REFERENCE_IMAGES images), mean pixels per label 0-8 of the foreground (the pixels
# unlike the image's most frequent grey level) and of its outline (foreground pixels with a
# background 4-neighbour).
REFERENCE_AREA = np.array([97.9, 143.8, 215.5, 198.1, 275.6, 248.6, 169.7, 232.2, 317.4])
REFERENCE_OUTLINE = np.array([36.9, 41.0, 46.0, 63.3, 64.7, 64.4, 62.8, 63.8, 64.7])
REFERENCE_IMAGES = 40_000
REFERENCE_REJECTIONS = 0.97  # rejected candidates per image that asked for a second object
SIZE_TOLERANCE = 0.03  # S5: largest relative deviation of a class mean from the reference's

RING = np.ones((shapeset.IMAGE_SIZE,) * 2, dtype=bool)  # the outer rows and columns of pixels
RING[1:-1, 1:-1] = False


def _profile_name(profile: Profile | str) -> str:
    name = profile.name if isinstance(profile, Profile) else profile
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return name


def n_images(profile: Profile | str) -> int:
    """Images the chapter measures at ``profile`` (``N_IMAGES``)."""
    return N_IMAGES[_profile_name(profile)]


def n_pairs(profile: Profile | str) -> int:
    """Candidate object pairs on which the overlap rules are compared at ``profile``."""
    return N_PAIRS[_profile_name(profile)]


def law_text() -> str:
    """The class law as a small table: label id, class, probability (a fraction), and the error
    of a constant guess. Depends on nothing measured."""
    width = max(map(len, shapeset.LABEL_NAMES))
    rows = [f"{'id':>2}  {'class':<{width}}  law"]
    for label, (name, p) in enumerate(zip(shapeset.LABEL_NAMES, shapeset.CLASS_PROBS, strict=True)):
        rows.append(f"{label:>2}  {name:<{width}}  {Fraction(p).limit_denominator(1000)}")
    rows.append(f"constant guess: {shapeset.constant_guess_error():.1%} error")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- measurement


def expected_pixel_mean(pixel_range: str = "01") -> float:
    """E[x] of every pixel: with probability ½ it shows a dark level, else a light one (a pixel is
    background or object, and the two schemes swap which is which), each uniform over its range."""
    value = shapeset.PIXEL_RANGES[pixel_range].astype(np.float64)
    dark, light = (
        value[lo : hi + 1].mean() for lo, hi in (shapeset.DARK_LEVELS, shapeset.LIGHT_LEVELS)
    )
    return float((dark + light) / 2)


def stream_chunk(seed: int, c: int, pixel_range: str = "01") -> shapeset.ShapesetBatch:
    """Chunk ``c`` (``data.CHUNK`` images, with their factors) of the training stream of ``seed``:
    the images ``data.ShapesetSource.train_batches`` yields, drawn from the same generator."""
    spawn_key = (data.TRAIN, seed, c)
    rng = np.random.default_rng(np.random.SeedSequence(data.ENTROPY, spawn_key=spawn_key))
    return shapeset.sample(data.CHUNK, rng, pixel_range)


@dataclass(frozen=True)
class Geometry:
    """Objects measured on their pixels, re-rendered from the factors (one row per image)."""

    margin: np.ndarray  # (n, 2) px from the nearest vertex to the image's edge; NaN: absent
    border: np.ndarray  # (n, 2) bool: the object has a pixel in the outer ring of the image
    overlap: np.ndarray  # (n,) fraction of the first object's pixels under the second; NaN: one
    estimate: np.ndarray  # (n,) the original's estimate of that fraction; NaN: one object
    visible: np.ndarray  # (n, 3) pixels showing the background, the first, the second object

    def judged(self, rule: str = shapeset.DEFAULT_OVERLAP) -> np.ndarray:
        """The overlap (n,) by the rule of that name (``shapeset.OVERLAP_RULES``)."""
        return {"exact": self.overlap, "estimate": self.estimate}[rule]


def render_objects(factors: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Masks (n, 2, 32, 32) of each image's objects re-rendered from their factors (as
    ``shapeset.object_masks``) and each object's margin (n, 2): px from its nearest vertex to the
    image's edge, NaN where the object is absent."""
    present = factors["shapes"] >= 0
    size = shapeset.IMAGE_SIZE
    masks = np.zeros((len(present), 2, size, size), dtype=bool)
    margin = np.full(present.shape, np.nan)
    for j in range(2):
        idx = np.flatnonzero(present[:, j])
        vertices = shapeset.polygon_vertices(*(factors[k][idx, j] for k in shapeset.OBJECT_FACTORS))
        masks[idx, j] = shapeset.rasterize(vertices, factors["shapes"][idx, j])
        # The objects are convex: their vertices are their extreme points.
        margin[idx, j] = np.minimum(vertices.min(axis=(1, 2)), size - vertices.max(axis=(1, 2)))
    return masks, margin


def overlap_estimates(factors: dict[str, np.ndarray]) -> np.ndarray:
    """The original's overlap estimate (n,) of each image's second object over its first,
    recomputed from the factors (``shapeset.overlap_estimate``); NaN where there is one object."""
    two = np.flatnonzero(factors["shapes"][:, 1] >= 0)
    first, second = (
        shapeset.make_objects(*(factors[k][two, j] for k in shapeset.OBJECT_FACTORS))
        for j in (0, 1)
    )
    estimate = np.full(len(factors["shapes"]), np.nan)
    estimate[two] = shapeset.overlap_estimate(first, second)
    return estimate


def object_geometry(masks: np.ndarray, margin: np.ndarray, estimate: np.ndarray) -> Geometry:
    """Measure the objects of each image on their masks and margins (``render_objects``), with
    the original's overlap ``estimate`` (``overlap_estimates``)."""
    size = shapeset.IMAGE_SIZE
    area = masks.sum(axis=(2, 3))  # (n, 2)
    covered = (masks[:, 0] & masks[:, 1]).sum(axis=(1, 2))
    two = ~np.isnan(margin[:, 1])
    overlap = np.where(two, covered / np.maximum(area[:, 0], 1), np.nan)
    visible = np.stack(
        [size * size - area[:, 0] - area[:, 1] + covered, area[:, 0] - covered, area[:, 1]], axis=1
    )
    return Geometry(margin, (masks & RING).any(axis=(2, 3)), overlap, estimate, visible)


def foreground(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and outline pixels (n,) of each image, as the original generator's figures of S5
    count them: the foreground is the pixels unlike the image's most frequent grey level, the outline
    the foreground pixels with a background 4-neighbour (pixels off the image are none).

    An image holds at most three levels (background and two objects): its smallest, its largest and
    the largest below that are all of them, and the most frequent is counted among those.
    """
    x = images.reshape(len(images), -1)
    top = x.max(axis=1)
    below = np.where(x < top[:, None], x, -np.inf).max(axis=1)
    levels = np.stack([x.min(axis=1), below, top], axis=1)  # (n, 3)
    counts = (x[:, None, :] == levels[:, :, None]).sum(axis=2)
    mode = levels[np.arange(len(x)), counts.argmax(axis=1)]
    fg = images != mode[:, None, None]
    bg = ~fg
    touches = np.zeros_like(fg)
    touches[:, 1:] |= bg[:, :-1]
    touches[:, :-1] |= bg[:, 1:]
    touches[:, :, 1:] |= bg[:, :, :-1]
    touches[:, :, :-1] |= bg[:, :, 1:]
    return fg.sum(axis=(1, 2)), (fg & touches).sum(axis=(1, 2))


def class_means(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean (9,) of ``values`` over the images of each label (NaN for a label absent)."""
    k = len(shapeset.LABEL_NAMES)
    counts = np.bincount(labels, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(labels, weights=values, minlength=k) / counts


def level_counts(factors: dict[str, np.ndarray], visible: np.ndarray) -> np.ndarray:
    """Pixels (256,) at each grey level: background and object levels weighted by the pixels that
    show them (the second object is drawn over the first)."""
    levels = np.concatenate([factors["background"][:, None], factors["levels"]], axis=1)
    shown = visible > 0  # an absent object (level -1) shows no pixel
    return np.bincount(levels[shown], weights=visible[shown], minlength=256)


@dataclass(frozen=True)
class ShapesetStats:
    """What chapter 01 measures on the first ``n`` images of the training stream of ``seed``."""

    n: int
    seed: int
    pixel_range: str
    labels: np.ndarray  # (n,)
    factors: dict[str, np.ndarray]  # shapeset.sample's factors, (n, ...) each
    geometry: Geometry
    area: np.ndarray  # (n,) foreground pixels of each image (``foreground``)
    outline: np.ndarray  # (n,) outline pixels of each image
    pixel_sum: np.ndarray  # (32, 32) sum of the pixel values over the images
    pixel_sumsq: np.ndarray  # (32, 32) sum of their squares
    levels: np.ndarray  # (256,) pixels at each grey level
    occupancy: np.ndarray  # (32, 32) images in which the pixel belongs to an object
    examples: np.ndarray  # (9, EXAMPLES_PER_CLASS, 32, 32): the stream's first images of each class

    @property
    def counts(self) -> np.ndarray:
        """Images (9,) of each class."""
        return np.bincount(self.labels, minlength=len(shapeset.LABEL_NAMES))

    @property
    def pixel_mean(self) -> np.ndarray:
        """Mean image (32, 32)."""
        return self.pixel_sum / self.n

    @property
    def pixel_std(self) -> np.ndarray:
        """Standard deviation (32, 32) of each pixel over the images."""
        return np.sqrt(np.maximum(self.pixel_sumsq / self.n - self.pixel_mean**2, 0.0))

    @property
    def object_probability(self) -> np.ndarray:
        """Probability (32, 32) that a pixel belongs to an object."""
        return self.occupancy / self.n

    @property
    def mean(self) -> float:
        """Mean of every input x (all pixels of all images)."""
        return float(self.pixel_sum.sum() / (self.n * self.pixel_sum.size))

    @property
    def var(self) -> float:
        """Var[x] over all pixels of all images: the Var[x] of eq. 5 (§4.2)."""
        return float(self.pixel_sumsq.sum() / (self.n * self.pixel_sum.size) - self.mean**2)


def _check_measure_args(n, seed, pixel_range) -> None:
    for name, value, minimum in (("n", n, 1), ("seed", seed, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if pixel_range not in shapeset.PIXEL_RANGES:
        raise ConfigError(
            f"unknown pixel range {pixel_range!r}; choose one of {', '.join(shapeset.PIXEL_RANGES)}"
        )


def measure(n: int, seed: int = 0, pixel_range: str = "01") -> ShapesetStats:
    """Measure the first ``n`` images of the training stream of ``seed``, one chunk at a time
    (the images themselves are not kept: 1M of them would take 4 GB)."""
    _check_measure_args(n, seed, pixel_range)
    size = shapeset.IMAGE_SIZE
    labels, factors, geometries, sizes = [], [], [], []
    pixel_sum = np.zeros((size, size))
    pixel_sumsq = np.zeros((size, size))
    occupancy = np.zeros((size, size), dtype=np.int64)
    examples = None
    for c in range(-(-n // data.CHUNK)):
        batch = stream_chunk(seed, c, pixel_range)
        if examples is None:  # the first chunk (2,000 images) has every class many times over
            k = EXAMPLES_PER_CLASS
            picks = [
                np.flatnonzero(batch.labels == y)[:k] for y in range(len(shapeset.LABEL_NAMES))
            ]
            examples = np.stack([batch.images[i] for i in picks])
        take = min(data.CHUNK, n - c * data.CHUNK)
        images = batch.images[:take]
        labels.append(batch.labels[:take])
        factors.append({key: value[:take] for key, value in batch.factors.items()})
        masks, margin = render_objects(factors[-1])
        geometries.append(object_geometry(masks, margin, overlap_estimates(factors[-1])))
        sizes.append(foreground(images))
        occupancy += masks.any(axis=1).sum(axis=0)
        pixel_sum += images.sum(axis=0, dtype=np.float64)
        pixel_sumsq += np.square(images, dtype=np.float64).sum(axis=0)
    factors = {key: np.concatenate([f[key] for f in factors]) for key in factors[0]}
    geometry = Geometry(
        *(np.concatenate([getattr(g, f.name) for g in geometries]) for f in fields(Geometry))
    )
    return ShapesetStats(
        n=n,
        seed=seed,
        pixel_range=pixel_range,
        labels=np.concatenate(labels),
        factors=factors,
        geometry=geometry,
        area=np.concatenate([a for a, _ in sizes]),
        outline=np.concatenate([o for _, o in sizes]),
        pixel_sum=pixel_sum,
        pixel_sumsq=pixel_sumsq,
        levels=level_counts(factors, geometry.visible),
        occupancy=occupancy,
        examples=examples,
    )


def overlap_pairs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Overlap (exact, estimate) of n candidate (first, second) object pairs drawn with the
    generator's laws (``shapeset.candidate_pairs``) from a generator of their own."""
    rng = np.random.default_rng(np.random.SeedSequence(PAIRS_ENTROPY, spawn_key=(seed,)))
    return shapeset.candidate_pairs(n, rng)


def centre_rule_ratio(n: int, seed: int = 0) -> np.ndarray:
    """Pixels (3,) that the rule "a pixel is in when its centre is" gives, as a fraction of those
    of pygame's fill, for triangles, parallelograms and ellipses: the first objects of n images
    drawn from a generator of their own."""
    _check_measure_args(n, seed, "01")
    rng = np.random.default_rng(np.random.SeedSequence(CENTRE_ENTROPY, spawn_key=(seed,)))
    f = shapeset.sample(n, rng).factors
    ratios = []
    for shape_id, k in enumerate(shapeset.N_VERTICES):
        idx = np.flatnonzero(f["shapes"][:, 0] == shape_id)
        vertices = shapeset.polygon_vertices(*(f[key][idx, 0] for key in shapeset.OBJECT_FACTORS))
        vertices = vertices[:, :k]
        fill = raster.span_area(raster.fill_spans(vertices)).sum()
        ratios.append(raster.centre_rule(vertices).sum() / fill)
    return np.array(ratios)


def rule_table(exact: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Fractions (2, 2) of candidates: rows accepted/rejected by the exact rule, columns by the
    original's estimate. The off-diagonal sum is ``shapeset.overlap_disagreement``."""
    reject_exact = np.asarray(exact) > shapeset.MAX_OVERLAP
    reject_estimate = np.asarray(estimate) > shapeset.MAX_OVERLAP
    table = np.zeros((2, 2))
    np.add.at(table, (reject_exact.astype(int), reject_estimate.astype(int)), 1.0)
    return table / max(len(reject_exact), 1)


@dataclass(frozen=True)
class RuleStats:
    """What an overlap rule does to the images drawn with it (``compare_rules``)."""

    rule: str
    asked: int  # images that drew a second object (two objects, or one after MAX_REJECTIONS)
    rejections: float  # rejected candidates per such image
    redrawn: float  # share of them with at least one rejection
    fallbacks: int  # images left with one object after MAX_REJECTIONS
    second_area: float  # mean pixels of the accepted second objects
    first_covered: float  # mean fraction of the first object's pixels under the second
    above_half: float  # share of two-object images whose second covers over half the first's pixels


def rule_stats(rule: str, batches) -> RuleStats:
    """Summarise images drawn with overlap rule ``rule`` (an iterable of ShapesetBatch)."""
    rejections, second, covered, n_objects = [], [], [], []
    for batch in batches:
        f = batch.factors
        masks = shapeset.object_masks(f)
        area = masks.sum(axis=(2, 3))
        rejections.append(f["rejections"])
        n_objects.append(f["n_objects"])
        second.append(area[:, 1])
        covered.append((masks[:, 0] & masks[:, 1]).sum(axis=(1, 2)) / area[:, 0])
    rejections, second, covered, n_objects = map(
        np.concatenate, (rejections, second, covered, n_objects)
    )
    asked = (n_objects == 2) | (rejections > 0)
    two = n_objects == 2
    return RuleStats(
        rule=rule,
        asked=int(asked.sum()),
        rejections=float(rejections[asked].mean()),
        redrawn=float((rejections[asked] > 0).mean()),
        fallbacks=int((rejections >= shapeset.MAX_REJECTIONS).sum()),
        second_area=float(second[two].mean()),
        first_covered=float(covered[two].mean()),
        above_half=float((covered[two] > shapeset.MAX_OVERLAP).mean()),
    )


def compare_rules(n: int, seed: int = 0) -> dict[str, RuleStats]:
    """Each overlap rule of ``shapeset.OVERLAP_RULES`` on n images drawn with it, in chunks of
    ``data.CHUNK``, from generators of their own (the same seed for every rule)."""
    _check_measure_args(n, seed, "01")
    out = {}
    for rule in shapeset.OVERLAP_RULES:
        rng = np.random.default_rng(np.random.SeedSequence(RULES_ENTROPY, spawn_key=(seed,)))
        sizes = [min(data.CHUNK, n - start) for start in range(0, n, data.CHUNK)]
        out[rule] = rule_stats(rule, (shapeset.sample(m, rng, overlap=rule) for m in sizes))
    return out


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
        f"{_profile_name(profile)}: the first {stats.n:,} images of the training stream of "
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

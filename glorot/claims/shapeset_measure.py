"""The measurements behind checks S1-S5 of chapter 01 (:mod:`glorot.claims.shapeset`).

:func:`measure` draws the first n images of a seed's training stream (the very images a run with
that seed trains on) in chunks and keeps what the chapter shows: labels, factors, each object's
distance to the border and overlap re-measured from its factors, each image's foreground and outline
pixels, pixel sums and grey-level counts. :func:`compare_rules` and :func:`centre_rule_ratio`
compare the original generator's overlap estimate and placement with the exact ones.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from glorot import data, raster, shapeset
from glorot.config import check_choice, check_integral

EXAMPLES_PER_CLASS = 4  # Fig. 1
PAIRS_ENTROPY = int.from_bytes(b"glorot overlap pairs", "big")  # not a stream of data.py
RULES_ENTROPY = int.from_bytes(b"glorot overlap rules", "big")  # nor these
CENTRE_ENTROPY = int.from_bytes(b"glorot centre rule", "big")

RING = np.ones((shapeset.IMAGE_SIZE,) * 2, dtype=bool)  # the outer rows and columns of pixels
RING[1:-1, 1:-1] = False


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
    check_integral("n", n, 1)
    check_integral("seed", seed, 0)
    check_choice("pixel range", pixel_range, tuple(shapeset.PIXEL_RANGES))


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

"""Shapeset-3x2: 32×32 grey images of one or two triangles, parallelograms or ellipses (paper §2.1).

The generator follows the authors' public one (``Polygongen``, Shapeset-3x2 settings, reference §5):

1. objects per image uniform over {1, 2}; each shape uniform over {triangle, parallelogram,
   ellipse}, independently, so the 9 classes are *not* balanced (1/6, 1/9, 1/18; ``CLASS_PROBS``);
2. an object is a regular polygon (3, 4 or 20 vertices, the 20-gon standing for the ellipse) in a
   circle of radius 0.5, pre-rotated by a few steps, scaled by two factors U(0.2, 0.8)·32 px
   (larger first), rotated back so that its base stays flat, then rotated by k·2π/255
   (``glorot.polygons``);
3. its centre is uniform over the positions that keep every vertex inside [1, 31], i.e. a margin of
   one pixel;
4. grey levels: light objects (140–255) on a dark background (0–114), or the reverse, each with
   probability 1/2; the background level is drawn once per image, each object has its own;
5. a second object that overlaps the first too much, by the original's estimate (``glorot.overlap``;
   ``sample(..., overlap="exact")`` judges on the pixels instead), is redrawn (new scales and
   position); after 50 rejections the image keeps one object and its label says so;
6. polygons filled as pygame 1.8.1's ``draw.polygon`` did (``glorot.raster``), without
   anti-aliasing, the second drawn over the first.

Images are [row y, column x]; the original's arrays were [x, y], a transpose.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from glorot import raster
from glorot.overlap import DEFAULT_OVERLAP as DEFAULT_OVERLAP
from glorot.overlap import OVERLAP_RULES as OVERLAP_RULES
from glorot.overlap import Objects as Objects
from glorot.overlap import overlap_estimate as overlap_estimate
from glorot.overlap import overlap_exact as overlap_exact
from glorot.polygons import MAX_VERTICES as MAX_VERTICES
from glorot.polygons import N_VERTICES as N_VERTICES
from glorot.polygons import ROTATION_RESOLUTION as ROTATION_RESOLUTION
from glorot.polygons import polygon_area as polygon_area
from glorot.polygons import polygon_outline as polygon_outline
from glorot.polygons import polygon_vertices as polygon_vertices

# Bump when a change of code changes the images, labels or factors drawn from a given seed.
VERSION = "shapeset-2"

IMAGE_SIZE = 32
MARGIN = 1.0  # pixels kept free on every side of every object
SHAPE_NAMES = ("triangle", "parallelogram", "ellipse")
SCALE_RANGE = (0.2, 0.8)  # times IMAGE_SIZE: the two scaling factors in pixels
DARK_LEVELS = (0, 114)  # int(0.45·255): inclusive range of dark grey levels
LIGHT_LEVELS = (140, 255)  # int(0.55·255)
MAX_OVERLAP = 0.5  # a second object may cover at most half of the first (by the rule in force)
MAX_REJECTIONS = 50  # after this many rejected candidates the image keeps one object

LABEL_NAMES = (
    "triangle",
    "parallelogram",
    "ellipse",
    "triangle+parallelogram",
    "parallelogram+ellipse",
    "triangle+ellipse",
    "two triangles",
    "two parallelograms",
    "two ellipses",
)

# The shapes each label stands for, in label-id order.
LABEL_SHAPES = ((0,), (1,), (2,), (0, 1), (1, 2), (0, 2), (0, 0), (1, 1), (2, 2))

# _PAIR_LABEL[a + 1, b + 1]: label of an image holding shapes a and b (-1: no object).
_PAIR_LABEL = np.full((len(SHAPE_NAMES) + 1,) * 2, -1, dtype=np.int64)
for _label, _pair in enumerate(LABEL_SHAPES):
    if len(_pair) == 1:
        _PAIR_LABEL[_pair[0] + 1, 0] = _label
    else:  # the order in which the two objects were drawn does not matter
        _PAIR_LABEL[_pair[0] + 1, _pair[1] + 1] = _PAIR_LABEL[_pair[1] + 1, _pair[0] + 1] = _label

# Grey level (0..255) -> pixel value, one lookup table per pixel range ("01": /255 as in the
# original's later configuration, "pm1": its example script's [-1, 1]).
PIXEL_RANGES: dict[str, np.ndarray] = {
    "01": (np.arange(256) / 255.0).astype(np.float32),
    "pm1": (np.arange(256) / 255.0 * 2.0 - 1.0).astype(np.float32),
}


def label_of(shapes: np.ndarray) -> np.ndarray:
    """Label ids (reference §5) of images with object shape ids ``shapes`` (n, 2), -1 absent."""
    shapes = np.asarray(shapes)
    if shapes.ndim != 2 or shapes.shape[1] != 2:
        raise ValueError(f"shapes must have shape (n, 2), got {shapes.shape}")
    if shapes.size and (shapes.min() < -1 or shapes.max() >= len(SHAPE_NAMES)):
        raise ValueError(f"shape ids must lie in -1..{len(SHAPE_NAMES) - 1}")
    labels = _PAIR_LABEL[shapes[:, 0] + 1, shapes[:, 1] + 1]
    if (labels < 0).any():
        raise ValueError("every image needs a first object (shape id >= 0 in column 0)")
    return labels


def _class_law() -> np.ndarray:
    """Class probabilities implied by 1 or 2 objects (1/2 each) of independent uniform shapes."""
    k = len(SHAPE_NAMES)
    probs = np.zeros(len(LABEL_NAMES))
    single = np.array([[a, -1] for a in range(k)])
    np.add.at(probs, label_of(single), 0.5 / k)
    pairs = np.array([[a, b] for a in range(k) for b in range(k)])
    np.add.at(probs, label_of(pairs), 0.5 / k**2)
    return probs


# Ignores the rare images that fall back to one object after MAX_REJECTIONS (see sample()).
CLASS_PROBS: np.ndarray = _class_law()


def constant_guess_error() -> float:
    """Test error of always answering the most frequent class: 1 − max(CLASS_PROBS) (= 5/6)."""
    return float(1.0 - CLASS_PROBS.max())


def chi_square(counts, probs) -> tuple[float, int, float]:
    """Pearson's chi-square goodness of fit of ``counts`` to ``probs``: (statistic, dof, p-value).

    The p-value is the upper tail Q(dof/2, stat/2) of the chi-square law (regularised incomplete
    gamma function, computed by torch so that no extra dependency is needed).
    """
    import torch

    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    if counts.shape != probs.shape or counts.ndim != 1 or counts.size < 2:
        raise ValueError("counts and probs must be 1-d arrays of the same length (>= 2)")
    if not np.isclose(probs.sum(), 1.0) or (probs <= 0).any():
        raise ValueError("probs must be positive and sum to 1")
    expected = counts.sum() * probs
    stat = float(((counts - expected) ** 2 / expected).sum())
    dof = counts.size - 1
    p = torch.special.gammaincc(
        torch.tensor(dof / 2, dtype=torch.float64), torch.tensor(stat / 2, dtype=torch.float64)
    )
    return stat, dof, float(p)


# ----------------------------------------------------------------------------- pixels


def _spans(vertices: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Row spans (m, 32, 2) of objects of any shapes, filled as pygame 1.8.1 did (``raster``); the
    vertex count (3, 4, 20) is looped over so that no padded vertex is scanned."""
    spans = np.empty((len(shapes), IMAGE_SIZE, 2), dtype=np.int8)
    for shape_id, k in enumerate(N_VERTICES):
        idx = np.flatnonzero(shapes == shape_id)
        if idx.size:
            spans[idx] = raster.fill_spans(vertices[idx, :k])
    return spans


def rasterize(vertices: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Masks (m, 32, 32) bool of the objects, [row y, column x], as pygame 1.8.1 filled them."""
    return raster.span_masks(_spans(vertices, shapes))


# ----------------------------------------------------------------------------- sampling


def _draw_pre_rotation(rng: np.random.Generator, shapes: np.ndarray) -> np.ndarray:
    """Pre-rotation in steps of 2π/255 (0..254, the top ones being small negative angles).

    As the original: u uniform in [0, 255 // K), the upper half mapped to negative angles by
    u → min(255 − 254 // K + u, 254); its quirk (step 254 twice as likely) is kept.
    """
    k = np.asarray(N_VERTICES)[shapes]
    r = ROTATION_RESOLUTION
    u = rng.integers(0, r // k)
    return np.where(u > (r - 1) // (2 * k), np.minimum(r - (r - 1) // k + u, r - 1), u)


def _draw_scales(rng: np.random.Generator, m: int) -> np.ndarray:
    """Two scaling factors U(0.2, 0.8)·32 px, larger first so that the base stays the long side."""
    scales = rng.uniform(*SCALE_RANGE, size=(m, 2)) * IMAGE_SIZE
    return -np.sort(-scales, axis=1)


def _place(rng: np.random.Generator, outline: np.ndarray) -> np.ndarray:
    """Centres (m, 2) uniform over the positions keeping every vertex in [1, 31] on both axes."""
    lo = MARGIN - outline.min(axis=1)
    hi = IMAGE_SIZE - MARGIN - outline.max(axis=1)
    return lo + rng.random(lo.shape) * (hi - lo)


def _draw_objects(rng, shapes, pre_rotation, rotation) -> Objects:
    """Draw scales and positions of objects whose shape and rotations are given; render them."""
    scales = _draw_scales(rng, len(shapes))
    outline = polygon_outline(shapes, scales, pre_rotation, rotation)
    positions = _place(rng, outline)
    vertices = outline + positions[:, None, :]
    return Objects(shapes, scales, positions, vertices, _spans(vertices, shapes))


def make_objects(shapes, scales, pre_rotation, rotation, positions) -> Objects:
    """Objects (with their vertices and pixels) from their factors, e.g. to test overlap rules."""
    vertices = polygon_vertices(shapes, scales, pre_rotation, rotation, positions)
    return Objects(shapes, scales, positions, vertices, _spans(vertices, shapes))


def _draw_levels(rng: np.random.Generator, scheme: np.ndarray, size) -> np.ndarray:
    """Grey levels: light where scheme is 0, dark where 1 (``scheme`` broadcast to ``size``)."""
    light = rng.integers(LIGHT_LEVELS[0], LIGHT_LEVELS[1] + 1, size=size)
    dark = rng.integers(DARK_LEVELS[0], DARK_LEVELS[1] + 1, size=size)
    return np.where(scheme == 0, light, dark)


@dataclass(frozen=True)
class ShapesetBatch:
    """Images (n, 32, 32) float32, labels (n,) int64 and the factors that generated them."""

    images: np.ndarray
    labels: np.ndarray
    factors: dict[str, np.ndarray]


def _as_generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy Generator or a seed (int >= 0), got {rng!r}; "
        "pass e.g. np.random.default_rng(0)"
    )


def _check_args(n, pixel_range: str, overlap: str) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be an integer >= 0 (number of images), got {n!r}")
    if pixel_range not in PIXEL_RANGES:
        raise ValueError(
            f"unknown pixel range {pixel_range!r}; choose one of {', '.join(PIXEL_RANGES)}"
        )
    if overlap not in OVERLAP_RULES:
        raise ValueError(
            f"unknown overlap rule {overlap!r}; choose one of {', '.join(OVERLAP_RULES)}"
        )
    return int(n)


def sample(
    n: int, rng, pixel_range: str = "01", *, overlap: str = DEFAULT_OVERLAP
) -> ShapesetBatch:
    """Draw n Shapeset-3x2 images (paper §2.1, the original generator's settings: module docstring).

    ``rng`` is a ``np.random.Generator`` (an int seed is accepted too); it is the only source of
    randomness. The draws are vectorised, so image i depends on n as well as on the generator state.

    Factors (per image; -1 or NaN where an object is absent): ``n_objects``, ``shapes`` (n, 2),
    ``scales`` (n, 2, 2) px, ``pre_rotation`` and ``rotation`` (n, 2) steps of 2π/255, ``positions``
    (n, 2, 2) centre (x, y), ``background`` level, ``levels`` (n, 2) object levels, ``scheme``
    (0: light objects on dark, 1: the reverse), ``overlap`` (fraction of the first object covered by
    the second, by the chosen rule), ``rejections`` (second objects redrawn).
    """
    n = _check_args(n, pixel_range, overlap)
    rng = _as_generator(rng)
    rule = OVERLAP_RULES[overlap]

    n_objects = rng.integers(1, 3, size=n)
    scheme = rng.integers(0, 2, size=n)
    background = _draw_levels(rng, 1 - scheme, n)
    levels = _draw_levels(rng, scheme[:, None], (n, 2))
    shapes = rng.integers(0, len(SHAPE_NAMES), size=(n, 2))
    pre_rotation = _draw_pre_rotation(rng, shapes)
    rotation = rng.integers(
        0, ROTATION_RESOLUTION - 1, size=(n, 2)
    )  # the original's randint(0, 254)

    first = _draw_objects(rng, shapes[:, 0], pre_rotation[:, 0], rotation[:, 0])
    scales = np.full((n, 2, 2), np.nan)
    positions = np.full((n, 2, 2), np.nan)
    spans2 = raster.empty_spans(n)  # until a second object is accepted
    overlap_frac = np.full(n, np.nan)
    rejections = np.zeros(n, dtype=np.int64)
    scales[:, 0], positions[:, 0] = first.scales, first.positions

    # The second object keeps its shape and rotations; only its scales and position are redrawn.
    pending = np.flatnonzero(n_objects == 2)
    for _ in range(MAX_REJECTIONS):
        if pending.size == 0:
            break
        second = _draw_objects(
            rng, shapes[pending, 1], pre_rotation[pending, 1], rotation[pending, 1]
        )
        first_here = Objects(
            first.shapes[pending],
            first.scales[pending],
            first.positions[pending],
            first.vertices[pending],
            first.spans[pending],
        )
        frac = rule(first_here, second)
        ok = frac <= MAX_OVERLAP
        done = pending[ok]
        scales[done, 1], positions[done, 1] = second.scales[ok], second.positions[ok]
        spans2[done], overlap_frac[done] = second.spans[ok], frac[ok]
        pending = pending[~ok]
        rejections[pending] += 1
    n_objects[pending] = 1  # MAX_REJECTIONS reached: the image keeps its first object

    absent = n_objects == 1
    shapes[absent, 1] = -1
    pre_rotation[absent, 1] = -1
    rotation[absent, 1] = -1
    levels[absent, 1] = -1

    value = PIXEL_RANGES[pixel_range]
    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    images[:] = value[background][:, None, None]
    np.copyto(images, value[levels[:, :1, None]], where=raster.span_masks(first.spans))
    np.copyto(images, value[levels[:, 1:, None]], where=raster.span_masks(spans2))  # over the first

    factors = {
        "n_objects": n_objects.astype(np.int64),
        "shapes": shapes.astype(np.int64),
        "scales": scales,
        "pre_rotation": pre_rotation.astype(np.int64),
        "rotation": rotation.astype(np.int64),
        "positions": positions,
        "background": background.astype(np.int64),
        "levels": levels.astype(np.int64),
        "scheme": scheme.astype(np.int64),
        "overlap": overlap_frac,
        "rejections": rejections,
    }
    return ShapesetBatch(images, label_of(shapes), factors)


# The factors that fix an object's pixels, in the order polygon_vertices takes them.
OBJECT_FACTORS = ("shapes", "scales", "pre_rotation", "rotation", "positions")


def object_masks(factors: dict[str, np.ndarray]) -> np.ndarray:
    """Masks (n, 2, 32, 32) of each image's objects re-rendered from its factors (absent: empty)."""
    n = len(factors["shapes"])
    masks = np.zeros((n, 2, IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    for j in range(2):
        idx = np.flatnonzero(factors["shapes"][:, j] >= 0)
        verts = polygon_vertices(*(factors[k][idx, j] for k in OBJECT_FACTORS))
        masks[idx, j] = rasterize(verts, factors["shapes"][idx, j])
    return masks


def candidate_pairs(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Overlap of n random (first object, candidate second object) pairs by both rules.

    Pairs are drawn with the generator's laws (shapes, rotations, scales, positions), before any
    rejection. Returns (exact, estimate), each (n,).
    """
    n = _check_args(n, "01", "exact")
    rng = _as_generator(rng)
    objects = []
    for _ in range(2):
        shapes = rng.integers(0, len(SHAPE_NAMES), size=n)
        pre_rotation = _draw_pre_rotation(rng, shapes)
        rotation = rng.integers(0, ROTATION_RESOLUTION - 1, size=n)
        objects.append(_draw_objects(rng, shapes, pre_rotation, rotation))
    return overlap_exact(*objects), overlap_estimate(*objects)


def overlap_disagreement(n: int, rng) -> float:
    """How often the exact rule and the original's estimate disagree on rejecting a candidate."""
    exact, estimate = candidate_pairs(n, rng)
    return float(np.mean((exact > MAX_OVERLAP) != (estimate > MAX_OVERLAP))) if n else math.nan

"""Shapeset-3x2: 32×32 grey images of one or two triangles, parallelograms or ellipses (paper §2.1).

The generator follows the authors' public one (``Polygongen``, Shapeset-3x2 settings, reference §5):

1. objects per image uniform over {1, 2}; each shape uniform over {triangle, parallelogram,
   ellipse}, independently, so the 9 classes are *not* balanced (1/6, 1/9, 1/18; ``CLASS_PROBS``);
2. an object is a regular polygon (3, 4 or 20 vertices, the 20-gon standing for the ellipse) in a
   circle of radius 0.5, pre-rotated by a few steps, scaled by two factors U(0.2, 0.8)·32 px
   (larger first), rotated back so that its base stays flat, then rotated by k·2π/255;
3. its centre is uniform over the positions that keep every vertex inside [1, 31], i.e. a margin of
   one pixel;
4. grey levels: light objects (140–255) on a dark background (0–114), or the reverse, each with
   probability 1/2; the background level is drawn once per image, each object has its own;
5. a second object covering more than half of the first is redrawn (new scales and position); after
   50 rejections the image keeps one object and its label says so;
6. filled polygons without anti-aliasing, the second drawn over the first.

Rasterisation: a pixel is inside when its centre is (edges included). The polygons are convex, so on
each pixel row the inside is one span, bounded by the edges' half-planes; spans are computed for the
whole batch at once and only the vertex count (3, 4, 20) is looped over.

Overlap: the paper's rule is stated on areas ("may not overlap the first by more than 50% of its
area"), so the generator measures it exactly on the pixels: the fraction of the first object's
pixels covered by the second (``overlap_exact``). The original code used a cheap estimate instead
(``overlap_estimate``, kept to measure how often the two disagree: ``overlap_disagreement``);
``sample(..., overlap="estimate")`` generates with it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Bump when a change of code changes the images, labels or factors drawn from a given seed.
VERSION = "shapeset-1"

IMAGE_SIZE = 32
MARGIN = 1.0  # pixels kept free on every side of every object
SHAPE_NAMES = ("triangle", "parallelogram", "ellipse")
N_VERTICES = (3, 4, 20)  # the ellipse is a 20-gon, as in the original generator
MAX_VERTICES = max(N_VERTICES)
SCALE_RANGE = (0.2, 0.8)  # times IMAGE_SIZE: the two scaling factors in pixels
ROTATION_RESOLUTION = 255  # rotations are multiples of 2π/255
DARK_LEVELS = (0, 114)  # int(0.45·255): inclusive range of dark grey levels
LIGHT_LEVELS = (140, 255)  # int(0.55·255)
MAX_OVERLAP = 0.5  # a second object may cover at most half of the first
MAX_REJECTIONS = 50  # after this many rejected candidates the image keeps one object
SCHEME_NAMES = ("light objects on dark background", "dark objects on light background")

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


# ----------------------------------------------------------------------------- geometry


def _regular_polygon(k: int) -> np.ndarray:
    """k points on the circle of radius 0.5, with one edge horizontal (the original's n_sided)."""
    t = np.arange(k) / k + 1 / (2 * k) + 1 / 4
    points = 0.5 * np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t)], axis=-1)
    # Repeat the last vertex up to MAX_VERTICES: the zero-length edges it adds change nothing.
    return np.concatenate([points, np.repeat(points[-1:], MAX_VERTICES - k, axis=0)])


_BASE_POLYGONS = np.stack([_regular_polygon(k) for k in N_VERTICES])  # (3, MAX_VERTICES, 2)


def _rotate(points: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Rotate (m, K, 2) points counter-clockwise by theta (m,) radians."""
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    x, y = points[..., 0], points[..., 1]
    return np.stack([x * c - y * s, x * s + y * c], axis=-1)


def polygon_outline(
    shapes: np.ndarray, scales: np.ndarray, pre_rotation: np.ndarray, rotation: np.ndarray
) -> np.ndarray:
    """Vertices (m, MAX_VERTICES, 2) in pixels, relative to the object's centre.

    Regular polygon → pre-rotation θ1 → scaling by (s0, s1) → rotation by −atan(s1/s0·tan θ1), which
    brings the base edge back to horizontal → final rotation θ3 (the original's r1, s, r2, r3).
    ``pre_rotation`` and ``rotation`` count steps of 2π/255.
    """
    step = 2 * np.pi / ROTATION_RESOLUTION
    theta1 = pre_rotation * step
    points = _rotate(_BASE_POLYGONS[shapes], theta1) * scales[:, None, :]
    theta2 = -np.arctan(scales[:, 1] / scales[:, 0] * np.tan(theta1))
    return _rotate(points, theta2 + rotation * step)


def polygon_vertices(
    shapes: np.ndarray,
    scales: np.ndarray,
    pre_rotation: np.ndarray,
    rotation: np.ndarray,
    positions: np.ndarray,
) -> np.ndarray:
    """Vertices (m, MAX_VERTICES, 2) as (x, y) pixel coordinates; pixel (row r, col c) spans
    [c, c+1) × [r, r+1). Triangles and parallelograms repeat their last vertex."""
    return polygon_outline(shapes, scales, pre_rotation, rotation) + positions[:, None, :]


def polygon_area(vertices: np.ndarray) -> np.ndarray:
    """Analytic area (m,) of polygons (m, K, 2) by the shoelace formula."""
    x, y = vertices[..., 0], vertices[..., 1]
    return 0.5 * np.abs((x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y).sum(-1))


_CENTRES = np.arange(IMAGE_SIZE) + 0.5  # pixel centres along either axis
_CENTRES32 = _CENTRES.astype(np.float32)
_COLUMNS = np.arange(IMAGE_SIZE)


def _convex_spans(vertices: np.ndarray) -> np.ndarray:
    """Per-row spans (m, 32, 2) int8, first and last inside column (empty when first > last), of
    counter-clockwise convex polygons (m, K, 2); a pixel is inside when its centre is.

    Inside means ex·(y − py) − ey·(x − px) >= 0 for every edge (p, e): on row y an edge with ey < 0
    bounds x from below by x(y) = px + ex/ey·(y − py), one with ey > 0 from above, and the
    horizontal edges only say ymin <= y <= ymax. Our shapes are affine images of regular polygons,
    whose edges come in antiparallel pairs (triangles aside: 2 of 3 at most), so at most
    ceil(K/2) edges bound each side: only those are evaluated on the 32 rows.
    """
    e = np.roll(vertices, -1, axis=1) - vertices  # (m, K, 2)
    ey = e[..., 1]
    slope = np.divide(e[..., 0], ey, out=np.zeros_like(ey), where=ey != 0)
    offset = vertices[..., 0] - slope * vertices[..., 1]  # x(y) = offset + slope·y
    half = (vertices.shape[1] + 1) // 2
    order = np.argsort(ey, axis=1)  # most negative (lower bounds) first

    def bound(idx, side, fill, reduce):
        # float32 halves the memory traffic of the one large array, (m, K/2, 32).
        keep = np.take_along_axis(side, idx, 1)[..., None]
        a = np.where(keep, np.take_along_axis(offset, idx, 1)[..., None], fill).astype(np.float32)
        b = np.where(keep, np.take_along_axis(slope, idx, 1)[..., None], 0.0).astype(np.float32)
        return reduce(a + b * _CENTRES32, axis=1)  # (m, 32)

    lo = bound(order[:, :half], ey < 0, -np.inf, np.max)
    hi = bound(order[:, -half:], ey > 0, np.inf, np.min)
    y = vertices[..., 1]
    rows = (_CENTRES >= y.min(1, keepdims=True)) & (_CENTRES <= y.max(1, keepdims=True))
    # Column c is inside when lo <= c + 0.5 <= hi.
    first = np.clip(np.ceil(lo - 0.5), 0, IMAGE_SIZE)
    last = np.where(rows, np.clip(np.floor(hi - 0.5), -1, IMAGE_SIZE - 1), -1)
    return np.stack([first, last], axis=-1).astype(np.int8)


def _spans(vertices: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Row spans (m, 32, 2) of objects of any shapes; only the vertex count (3, 4, 20) is looped."""
    spans = np.empty((len(shapes), IMAGE_SIZE, 2), dtype=np.int8)
    for shape_id, k in enumerate(N_VERTICES):
        idx = np.flatnonzero(shapes == shape_id)
        if idx.size:
            spans[idx] = _convex_spans(vertices[idx, :k])
    return spans


# _ROW_MASKS[33·first + last + 1]: the mask of one row whose span is first..last.
_ROW_MASKS = (
    (_COLUMNS >= np.arange(IMAGE_SIZE + 1)[:, None, None])
    & (_COLUMNS <= np.arange(-1, IMAGE_SIZE)[None, :, None])
).reshape((IMAGE_SIZE + 1) ** 2, IMAGE_SIZE)


def _span_masks(spans: np.ndarray) -> np.ndarray:
    """Masks (m, 32, 32) bool from row spans (m, 32, 2), by a table look-up (fast)."""
    idx = spans[..., 0].astype(np.intp) * (IMAGE_SIZE + 1) + spans[..., 1] + 1
    return np.take(_ROW_MASKS, idx, axis=0)


def _span_area(spans: np.ndarray) -> np.ndarray:
    """Pixels inside (m,) from row spans."""
    return np.maximum(spans[..., 1].astype(np.int64) - spans[..., 0] + 1, 0).sum(-1)


def rasterize(vertices: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Masks (m, 32, 32) bool of the objects (no anti-aliasing); rows are y, columns x."""
    return _span_masks(_spans(vertices, shapes))


# ----------------------------------------------------------------------------- overlap


@dataclass(frozen=True)
class Objects:
    """Objects of a batch, one per row: what the overlap rules need."""

    shapes: np.ndarray  # (m,) shape ids
    scales: np.ndarray  # (m, 2) pixels, larger first
    positions: np.ndarray  # (m, 2) centre (x, y)
    vertices: np.ndarray  # (m, MAX_VERTICES, 2)
    spans: np.ndarray  # (m, 32, 2) first and last inside column of each row


def overlap_exact(first: Objects, second: Objects) -> np.ndarray:
    """Fraction of the first objects' pixels covered by the second ones (m,)."""
    both = np.stack(
        [
            np.maximum(first.spans[..., 0], second.spans[..., 0]),
            np.minimum(first.spans[..., 1], second.spans[..., 1]),
        ],
        axis=-1,
    )
    return _span_area(both) / np.maximum(_span_area(first.spans), 1)


def overlap_estimate(first: Objects, second: Objects) -> np.ndarray:
    """The original generator's estimate of the same fraction (m,), from vertices and centres only.

    With d the distance between the centres and P the sum of the two objects' extents towards each
    other (largest projections of their vertices on the line of centres), the objects may touch when
    P >= d; the estimate is then area(second)/area(first) · (1 − 2^(−(P − d)/d)), else 0. The
    original divides by zero when the centres coincide; the limit d → 0 (factor 1) is used instead.
    """
    direction = second.positions - first.positions  # (m, 2)
    d = np.linalg.norm(direction, axis=1)
    unit = direction / np.where(d > 0, d, 1.0)[:, None]
    reach1 = np.einsum("mkj,mj->mk", first.vertices - first.positions[:, None], unit).max(1)
    reach2 = np.einsum("mkj,mj->mk", second.vertices - second.positions[:, None], -unit).max(1)
    excess = reach1 + reach2 - d
    factor = np.where(d > 0, 1.0 - np.exp2(-excess / np.where(d > 0, d, 1.0)), 1.0)
    ratio = polygon_area(second.vertices) / polygon_area(first.vertices)
    return np.where(excess >= 0, ratio * factor, 0.0)


OVERLAP_RULES: dict[str, Callable[[Objects, Objects], np.ndarray]] = {
    "exact": overlap_exact,
    "estimate": overlap_estimate,
}


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


def sample(n: int, rng, pixel_range: str = "01", *, overlap: str = "exact") -> ShapesetBatch:
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
    spans2 = np.zeros_like(first.spans)
    spans2[..., 0] = IMAGE_SIZE  # empty rows until a second object is accepted
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
    np.copyto(images, value[levels[:, :1, None]], where=_span_masks(first.spans))
    np.copyto(images, value[levels[:, 1:, None]], where=_span_masks(spans2))  # over the first

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

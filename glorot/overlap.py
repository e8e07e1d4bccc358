"""Does a second object overlap the first too much? Two rules (paper §2.1, reference §5).

The paper: the second object "may not overlap the first by more than 50% of its area". The original
generator judged it with a cheap estimate from the objects' vertices, centres and areas
(``overlap_estimate``), which rejects more candidates than the fraction of the first object's pixels
that the second covers (``overlap_exact``) would; the estimate is the default, as in the original.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from glorot import raster
from glorot.polygons import polygon_area


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
    both = raster.intersect_spans(first.spans, second.spans)
    return raster.span_area(both) / np.maximum(raster.span_area(first.spans), 1)


def overlap_estimate(first: Objects, second: Objects) -> np.ndarray:
    """The original generator's estimate of the same fraction (m,), from vertices and centres only.

    With d the distance from the first object's centre, **truncated to integers** as the original's
    was, to the second's, and P the sum of the two objects' extents towards each other (largest
    projections of their vertices, relative to their own centres, on the line of centres), the
    objects may touch when P >= d; the estimate is then area(second)/area(first) · (1 − 2^(−(P −
    d)/d)), else 0. The original divides by zero when the centres coincide; the limit d → 0
    (factor 1) is used instead.
    """
    centre = np.trunc(first.positions)
    direction = second.positions - centre  # (m, 2)
    d = np.linalg.norm(direction, axis=1)
    unit = direction / np.where(d > 0, d, 1.0)[:, None]
    reach1 = np.einsum("mkj,mj->mk", first.vertices - first.positions[:, None], unit).max(1)
    reach2 = np.einsum("mkj,mj->mk", second.vertices - second.positions[:, None], -unit).max(1)
    excess = reach1 + reach2 - d
    factor = np.where(d > 0, 1.0 - np.exp2(-excess / np.where(d > 0, d, 1.0)), 1.0)
    ratio = polygon_area(second.vertices) / polygon_area(first.vertices)
    return np.where(excess >= 0, ratio * factor, 0.0)


# How a second object's overlap with the first is judged, by name.
OVERLAP_RULES: dict[str, Callable[[Objects, Objects], np.ndarray]] = {
    "estimate": overlap_estimate,
    "exact": overlap_exact,
}
DEFAULT_OVERLAP = "estimate"

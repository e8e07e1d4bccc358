"""Filled polygons as pygame 1.8.1's ``pygame.draw.polygon`` (width 0) drew them, for a batch.

Shapeset-3x2's images were drawn by that call (reference §5), and its fill is not the rule "a pixel is
in when its centre is" (``centre_rule``): it gives more pixels, about one more per row. Its
algorithm (``draw_fillpoly``):

1. every vertex is truncated to integers, toward zero;
2. every integer row y from the smallest to the largest vertex y is scanned (rows outside the image
   are clipped away);
3. on row y, each non-horizontal edge, its ends ordered so that y1 < y2, crosses when
   y1 <= y < y2, or when y is the largest vertex y and y1 < y <= y2; it crosses at
   x = (y − y1)·(x2 − x1) / (y2 − y1) + x1 in integer arithmetic, the quotient truncated toward
   zero (C's division);
4. the crossings of the row are sorted and each consecutive pair [x_a, x_b] is filled, both ends
   included (and clipped to the image).

A convex polygon stays y-monotone when its vertices are truncated (truncation never reverses the
order of two y values), so every row it spans has exactly two crossings, one per monotone chain,
and its fill is the one span [min, max] of them. A polygon whose vertices all truncate to one row
has no crossing at all and draws nothing, as in pygame 1.8.1.

Masks are [row y, column x]; pygame's surfaces (and the original generator's arrays) are [x, y], a
transpose. Rows are spans (first, last inside column; empty when first > last), turned into masks
by a table look-up.
"""

from __future__ import annotations

import numpy as np

SIZE = 32  # pixels per side of the image
_ROWS = np.arange(SIZE, dtype=np.float32)
_NONE = np.float32(np.inf)  # the sentinel of "no crossing"


def fill_spans(vertices: np.ndarray) -> np.ndarray:
    """Row spans (m, 32, 2) int8 of the filled polygons (m, K, 2) (x, y), as pygame 1.8.1 fills
    convex polygons (module docstring); the edges are looped over, the batch and rows vectorised.

    The crossings are computed in float32: (y − y1)·(x2 − x1) and y2 − y1 are small integers, exact
    in float32, and their correctly rounded quotient truncates to C's integer quotient.
    """
    # Toward zero, as pygame's int conversion of a point; integers held in float32 from here on.
    v = np.trunc(vertices).astype(np.float32)
    x, y = v[..., 0], v[..., 1]
    top = y.max(axis=1)  # (m,) the largest vertex y
    lo = np.full((len(v), SIZE), _NONE)
    hi = np.full((len(v), SIZE), -_NONE)
    for k in range(v.shape[1]):
        xa, ya, xb, yb = x[:, k], y[:, k], x[:, k - 1], y[:, k - 1]
        up = ya < yb
        x1, x2 = np.where(up, xa, xb), np.where(up, xb, xa)
        y1, y2 = np.minimum(ya, yb), np.maximum(ya, yb)
        # Rows y1..last crossed: y < y2, or y == y2 when y2 is the polygon's largest y.
        last = y2 - 1 + (y2 == top)
        last = np.where(y1 < y2, last, -1)  # a horizontal edge crosses no row
        crosses = (_ROWS >= y1[:, None]) & (_ROWS <= last[:, None])  # (m, 32)
        at = _ROWS - y1[:, None]
        at *= (x2 - x1)[:, None]
        at /= np.maximum(y2 - y1, 1)[:, None]
        np.trunc(at, out=at)
        at += x1[:, None]
        np.minimum(lo, at, out=lo, where=crosses)
        np.maximum(hi, at, out=hi, where=crosses)
    first = np.clip(lo, 0, SIZE)
    last = np.clip(hi, -1, SIZE - 1)
    return np.stack([first, last], axis=-1).astype(np.int8)


# _ROW_MASKS[33·first + last + 1]: the mask of one row whose span is first..last.
_COLUMNS = np.arange(SIZE)
_ROW_MASKS = (
    (_COLUMNS >= np.arange(SIZE + 1)[:, None, None])
    & (_COLUMNS <= np.arange(-1, SIZE)[None, :, None])
).reshape((SIZE + 1) ** 2, SIZE)


def span_masks(spans: np.ndarray) -> np.ndarray:
    """Masks (m, 32, 32) bool, [row y, column x], from row spans (m, 32, 2), by a table look-up."""
    idx = spans[..., 0].astype(np.intp) * (SIZE + 1) + spans[..., 1] + 1
    return np.take(_ROW_MASKS, idx, axis=0)


def span_area(spans: np.ndarray) -> np.ndarray:
    """Pixels inside (m,) from row spans (m, 32, 2)."""
    return np.maximum(spans[..., 1].astype(np.int64) - spans[..., 0] + 1, 0).sum(-1)


def intersect_spans(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row spans of the pixels in both a and b (convex objects: one span per row each)."""
    return np.stack([np.maximum(a[..., 0], b[..., 0]), np.minimum(a[..., 1], b[..., 1])], axis=-1)


def centre_rule(vertices: np.ndarray) -> np.ndarray:
    """Masks (m, 32, 32) of counter-clockwise convex polygons (m, K, 2) by the rule "a pixel is in
    when its centre is" (edges included): not pygame's fill, the one it is compared with."""
    centre = np.arange(SIZE) + 0.5
    x, y = np.meshgrid(centre, centre)  # x[row, col] = the column's centre
    inside = np.ones((len(vertices), SIZE, SIZE), dtype=bool)
    for k in range(vertices.shape[1]):
        p = vertices[:, k, :, None, None]
        e = vertices[:, (k + 1) % vertices.shape[1], :, None, None] - p
        inside &= e[:, 0] * (y - p[:, 1]) - e[:, 1] * (x - p[:, 0]) >= 0
    return inside


def empty_spans(m: int) -> np.ndarray:
    """Row spans (m, 32, 2) of empty masks."""
    spans = np.empty((m, SIZE, 2), dtype=np.int8)
    spans[..., 0], spans[..., 1] = SIZE, -1
    return spans

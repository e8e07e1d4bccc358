"""pygame 1.8.1's polygon fill (``glorot.raster``) against polygons worked by hand and against a
line-by-line transcription of its ``draw_fillpoly``."""

import numpy as np
import pytest

from glorot import raster as R
from glorot import shapeset as S
from glorot.claims import shapeset_measure as M


def _c_div(a: int, b: int) -> int:
    """C's integer division: the quotient truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def draw_fillpoly(points, size=32) -> np.ndarray:
    """pygame 1.8.1's draw_fillpoly, one pixel row and one edge at a time; mask [y, x]."""
    vx, vy = [int(p[0]) for p in points], [int(p[1]) for p in points]
    n, mask = len(vx), np.zeros((size, size), dtype=bool)
    for y in range(min(vy), max(vy) + 1):
        crossings = []
        for i in range(n):
            y1, y2, x1, x2 = vy[i - 1], vy[i], vx[i - 1], vx[i]
            if y1 == y2:
                continue
            if y1 > y2:
                y1, y2, x1, x2 = y2, y1, x2, x1
            if y1 <= y < y2 or (y == max(vy) and y1 < y <= y2):
                crossings.append(_c_div((y - y1) * (x2 - x1), y2 - y1) + x1)
        crossings.sort()
        for a, b in zip(crossings[::2], crossings[1::2], strict=True):
            if 0 <= y < size and max(a, 0) <= min(b, size - 1):
                mask[y, max(a, 0) : min(b, size - 1) + 1] = True
    return mask


def fill(points) -> np.ndarray:
    return R.span_masks(R.fill_spans(np.asarray([points], dtype=float)))[0]


def rows(mask) -> dict[int, tuple[int, int]]:
    """{row: (first, last column)} of a mask whose rows are single spans."""
    out = {}
    for y in np.flatnonzero(mask.any(axis=1)):
        cols = np.flatnonzero(mask[y])
        assert np.array_equal(cols, np.arange(cols[0], cols[-1] + 1))
        out[int(y)] = (int(cols[0]), int(cols[-1]))
    return out


def test_triangle_with_fractional_vertices():
    # Truncated to (1, 1), (5, 1), (2, 5). The right edge (5, 1)-(2, 5) crosses row y at
    # 5 + trunc(-3·(y − 1) / 4): -0.75 → 0, -1.5 → -1, -2.25 → -2 (a floor would give 4, 3, 2 on
    # rows 2-4); the left edge (1, 1)-(2, 5) at 1 + trunc((y − 1)/4). Row 5 is the largest y: only
    # the edges that end there cross it, at 2 and 2. Both ends of every span are filled.
    mask = fill([(1.7, 1.2), (5.5, 1.3), (2.5, 5.99)])
    assert rows(mask) == {1: (1, 5), 2: (1, 5), 3: (1, 4), 4: (1, 3), 5: (2, 2)}
    assert mask.sum() == 18


def test_polygons_of_one_row_and_of_two():
    # Every vertex truncates to row 7: no edge is left that is not horizontal, nothing is drawn.
    assert not fill([(3.2, 7.5), (9.8, 7.1), (6.0, 7.9)]).any()
    # (2, 7), (10, 7), (6, 8): row 7 from the horizontal base's ends; row 8, the largest, where the
    # two slanted edges end: 2 + 1·4 = 6 and 10 − 1·4 = 6.
    assert rows(fill([(2.0, 7.0), (10.9, 7.3), (6.5, 8.4)])) == {7: (2, 10), 8: (6, 6)}


def test_polygon_touching_the_image_edge():
    # (-2.5, 10) truncates toward zero, to (-2, 10), not to -3. Left crossings 8 − y on rows 2-9
    # and y − 12 on rows 10-18, right edge at x = 6; columns left of 0 are clipped away.
    mask = fill([(-2.5, 10.0), (6.0, 2.0), (6.0, 18.0)])
    expected = {y: (max(8 - y, 0), 6) for y in range(2, 10)}
    expected |= {y: (max(y - 12, 0), 6) for y in range(10, 19)}
    assert rows(mask) == expected and mask.sum() == 77
    # With a floor, (-3, 10): row 13 would start at column 0, not 1.
    assert rows(fill([(-3.0, 10.0), (6.0, 2.0), (6.0, 18.0)]))[13] == (0, 6)
    # Rows and columns past the image are clipped: a square from (-3.5, 28.2) to (5.2, 35.6).
    square = fill([(-3.5, 28.2), (5.2, 28.2), (5.2, 35.6), (-3.5, 35.6)])
    assert rows(square) == {y: (0, 5) for y in range(28, 32)}


def test_hand_worked_polygons_agree_with_the_transcription():
    polygons = [
        [(1.7, 1.2), (5.5, 1.3), (2.5, 5.99)],
        [(3.2, 7.5), (9.8, 7.1), (6.0, 7.9)],
        [(2.0, 7.0), (10.9, 7.3), (6.5, 8.4)],
        [(-2.5, 10.0), (6.0, 2.0), (6.0, 18.0)],
        [(-3.5, 28.2), (5.2, 28.2), (5.2, 35.6), (-3.5, 35.6)],
    ]
    for points in polygons:
        assert np.array_equal(fill(points), draw_fillpoly(points))


@pytest.mark.parametrize("shape_id", range(len(S.SHAPE_NAMES)))
def test_generated_objects_agree_with_the_transcription(shape_id):
    """Every object of the generator, filled for the whole batch, equals pygame's fill pixel for
    pixel; the vertex order (clockwise or not) does not matter."""
    f = S.sample(1_500, np.random.default_rng(11)).factors
    idx = np.flatnonzero(f["shapes"][:, 0] == shape_id)
    k = S.N_VERTICES[shape_id]
    v = S.polygon_vertices(*(f[key][idx, 0] for key in S.OBJECT_FACTORS))[:, :k]
    reference = np.stack([draw_fillpoly(p) for p in v])
    assert np.array_equal(R.span_masks(R.fill_spans(v)), reference)
    assert np.array_equal(R.span_masks(R.fill_spans(v[:, ::-1])), reference)
    assert np.array_equal(S.rasterize(v, f["shapes"][idx, 0]), reference)


def test_the_pixel_centre_rule_gives_fewer_pixels():
    """The rule "a pixel is in when its centre is" gives about 0.85 / 0.88 / 0.90 of pygame's
    pixels for triangles, parallelograms and ellipses (as measured against pygame 1.8.1)."""
    ratios = M.centre_rule_ratio(6_000, seed=0)
    assert ratios == pytest.approx([0.85, 0.88, 0.90], abs=0.01)
    assert np.array_equal(M.centre_rule_ratio(6_000, seed=0), ratios)


def test_centre_rule_by_hand():
    # A 3 × 2 rectangle from (1.2, 1.6) to (4.2, 3.6): centres x in {1.5, 2.5, 3.5}, y in {2.5, 3.5}.
    # Counter-clockwise in (x, y), as the generator's polygons are.
    v = np.array([[(1.2, 1.6), (4.2, 1.6), (4.2, 3.6), (1.2, 3.6)]])
    mask = R.centre_rule(v)[0]
    assert rows(mask) == {2: (1, 3), 3: (1, 3)}
    # pygame's fill of the same: (1, 1)-(4, 3), rows 1-3, columns 1-4.
    assert rows(fill(v[0])) == {1: (1, 4), 2: (1, 4), 3: (1, 4)}


def test_span_helpers():
    spans = R.fill_spans(np.array([[(2.0, 3.0), (9.0, 3.0), (9.0, 6.0), (2.0, 6.0)]]))
    assert R.span_area(spans)[0] == 8 * 4 == R.span_masks(spans).sum()
    other = R.fill_spans(np.array([[(5.0, 5.0), (12.0, 5.0), (12.0, 9.0), (5.0, 9.0)]]))
    both = R.intersect_spans(spans, other)
    assert R.span_area(both)[0] == 5 * 2  # columns 5-9 of rows 5-6
    assert np.array_equal(R.span_masks(both), R.span_masks(spans) & R.span_masks(other))
    assert R.span_area(R.empty_spans(3)).tolist() == [0, 0, 0]
    assert not R.span_masks(R.empty_spans(1)).any()

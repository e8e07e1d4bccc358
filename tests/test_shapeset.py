"""The Shapeset-3x2 generator, checked against its definition (paper §2.1, reference §5)."""

from fractions import Fraction

import numpy as np
import pytest

from glorot import shapeset as S


@pytest.fixture(scope="module")
def batch():
    return S.sample(20_000, np.random.default_rng(0))


@pytest.fixture(scope="module")
def masks(batch):
    return S.object_masks(batch.factors)


def _factors_equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_same_seed_same_bytes_other_seed_other_images():
    a, b = (S.sample(500, np.random.default_rng(7)) for _ in range(2))
    assert a.images.tobytes() == b.images.tobytes()
    assert np.array_equal(a.labels, b.labels) and _factors_equal(a.factors, b.factors)
    assert S.sample(500, 7).images.tobytes() == a.images.tobytes()  # an int seed is the same
    assert S.sample(500, np.random.default_rng(8)).images.tobytes() != a.images.tobytes()


def test_types_and_shapes(batch):
    n = len(batch.labels)
    assert batch.images.shape == (n, 32, 32) and batch.images.dtype == np.float32
    assert batch.labels.dtype == np.int64
    assert all(len(v) == n for v in batch.factors.values())
    empty = S.sample(0, np.random.default_rng(0))
    assert empty.images.shape == (0, 32, 32) and empty.labels.shape == (0,)


def test_class_law_is_derived_from_independent_uniform_shapes():
    third = Fraction(1, 3)
    single, mixed, same = third / 2, 2 * third * third / 2, third * third / 2
    expected = [single] * 3 + [mixed] * 3 + [same] * 3
    assert np.allclose(S.CLASS_PROBS, [float(p) for p in expected])
    assert expected[:3] == [Fraction(1, 6)] * 3 and mixed == Fraction(1, 9)
    assert same == Fraction(1, 18)
    assert S.constant_guess_error() == pytest.approx(5 / 6)


def test_chi_square_p_value_matches_closed_form():
    # With 2 degrees of freedom the chi-square upper tail is exp(-x/2).
    counts, probs = np.array([30, 50, 20]), np.array([0.25, 0.5, 0.25])
    stat, dof, p = S.chi_square(counts, probs)
    assert dof == 2 and stat == pytest.approx(25 / 25 + 0 + 25 / 25)
    assert p == pytest.approx(np.exp(-stat / 2))


def test_class_frequencies_follow_the_law():
    labels = S.sample(60_000, np.random.default_rng(1)).labels
    counts = np.bincount(labels, minlength=9)
    assert S.chi_square(counts, S.CLASS_PROBS)[2] > 1e-3
    # The same test rejects the balanced law that the original frequencies are not.
    assert S.chi_square(counts, np.full(9, 1 / 9))[2] < 1e-9


def test_labels_follow_the_factors(batch):
    f = batch.factors
    assert np.array_equal(batch.labels, S.label_of(f["shapes"]))
    assert np.array_equal(f["n_objects"], (f["shapes"] >= 0).sum(1))
    assert ((f["n_objects"] == 1) == (batch.labels < 3)).all()
    with pytest.raises(ValueError, match="first object"):
        S.label_of(np.array([[-1, 0]]))


def test_label_ids_are_the_reference_ones():
    # reference §5: 0 triangle, 1 parallelogram, 2 ellipse, 3 triangle+parallelogram,
    # 4 parallelogram+ellipse, 5 triangle+ellipse, 6-8 two triangles, parallelograms, ellipses
    t, p, e, _ = 0, 1, 2, -1
    pairs = [(t, _), (p, _), (e, _), (t, p), (p, e), (t, e), (t, t), (p, p), (e, e)]
    assert S.SHAPE_NAMES == ("triangle", "parallelogram", "ellipse")
    assert S.label_of(np.array(pairs)).tolist() == list(range(9))
    mixed = np.array(pairs[3:6])
    assert S.label_of(mixed[:, ::-1]).tolist() == [3, 4, 5]  # the order of drawing does not matter
    assert len(S.LABEL_NAMES) == 9 and S.LABEL_NAMES[5] == "triangle+ellipse"


def test_factors_in_their_ranges(batch):
    f = batch.factors
    present = f["shapes"] >= 0
    s = f["scales"][present]
    assert (s >= 0.2 * 32).all() and (s <= 0.8 * 32).all() and (s[:, 0] >= s[:, 1]).all()
    assert set(np.unique(f["rotation"][present])) == set(range(254))
    assert ((f["pre_rotation"][present] >= 0) & (f["pre_rotation"][present] <= 254)).all()
    light, dark = f["scheme"] == 0, f["scheme"] == 1
    # every level of the ranges occurs: dark 0-114, light 140-255
    dark_levels, light_levels = set(range(115)), set(range(140, 256))
    assert set(f["background"][light]) == dark_levels and set(f["background"][dark]) == light_levels
    lv = f["levels"]
    assert set(lv[light][present[light]]) == light_levels
    assert set(lv[dark][present[dark]]) == dark_levels
    assert (lv[~present] == -1).all() and np.isnan(f["scales"][~present]).all()


def test_both_grey_schemes_about_half_the_time(batch):
    scheme = batch.factors["scheme"]
    sigma = 0.5 / np.sqrt(len(scheme))
    assert abs(scheme.mean() - 0.5) < 4 * sigma
    assert abs(batch.factors["n_objects"].mean() - 1.5) < 4 * sigma


def test_image_is_background_then_objects_drawn_in_order(batch, masks):
    f = batch.factors
    expected = np.broadcast_to(f["background"][:, None, None], batch.images.shape).copy()
    for j in range(2):
        expected = np.where(masks[:, j], f["levels"][:, j, None, None], expected)
    assert np.array_equal(batch.images, (expected / 255.0).astype(np.float32))


def test_pm1_is_the_affine_image_of_01():
    a = S.sample(300, np.random.default_rng(3), "01").images
    b = S.sample(300, np.random.default_rng(3), "pm1").images
    assert np.allclose(b, 2 * a - 1, atol=1e-6)
    assert b.min() >= -1 and b.max() <= 1 and a.min() >= 0 and a.max() <= 1


def test_every_object_inside_with_one_pixel_margin(batch, masks):
    assert not masks[:, :, [0, -1], :].any() and not masks[:, :, :, [0, -1]].any()
    f = batch.factors
    for j in range(2):
        idx = np.flatnonzero(f["shapes"][:, j] >= 0)
        v = S.polygon_vertices(*(f[k][idx, j] for k in S.OBJECT_FACTORS))
        assert v.min() >= 1 - 1e-9 and v.max() <= 31 + 1e-9
    assert masks[:, 0].any(axis=(1, 2)).all()  # no object vanishes


def _pairs(factors, two):
    return [S.make_objects(*(factors[k][two, j] for k in S.OBJECT_FACTORS)) for j in (0, 1)]


def test_second_object_judged_by_the_originals_estimate(batch, masks):
    f = batch.factors
    two = np.flatnonzero(f["n_objects"] == 2)
    estimate = S.overlap_estimate(*_pairs(f, two))
    assert S.DEFAULT_OVERLAP == "estimate"
    assert estimate.max() <= S.MAX_OVERLAP and np.allclose(estimate, f["overlap"][two])
    assert np.isnan(f["overlap"][f["n_objects"] == 1]).all()
    assert (f["rejections"] > 0).any()  # the rule did act
    # The estimate is not the pixels: a few second objects cover more than half of the first.
    first, second = masks[two, 0], masks[two, 1]
    covered = (first & second).sum((1, 2)) / first.sum((1, 2))
    assert 0 < (covered > S.MAX_OVERLAP).mean() < 0.01


def test_exact_rule_keeps_the_second_object_to_half_of_the_first_on_the_pixels():
    b = S.sample(5_000, np.random.default_rng(0), overlap="exact")
    two = b.factors["n_objects"] == 2
    masks = S.object_masks(b.factors)
    first, second = masks[two, 0], masks[two, 1]
    covered = (first & second).sum((1, 2)) / first.sum((1, 2))
    assert covered.max() <= S.MAX_OVERLAP
    assert np.allclose(covered, b.factors["overlap"][two])
    # It rejects fewer candidates than the estimate does (about 0.4 against 0.95 per image).
    estimate = S.sample(5_000, np.random.default_rng(0)).factors
    asked = [(f["n_objects"] == 2) | (f["rejections"] > 0) for f in (b.factors, estimate)]
    per_image = [
        f["rejections"][a].mean() for f, a in zip((b.factors, estimate), asked, strict=True)
    ]
    assert per_image[0] < 0.6 < 0.8 < per_image[1]


def test_after_max_rejections_the_image_keeps_one_object(monkeypatch):
    reject_all = lambda first, second: np.ones(len(first.shapes))  # noqa: E731
    monkeypatch.setitem(S.OVERLAP_RULES, "reject-all", reject_all)
    b = S.sample(400, np.random.default_rng(4), overlap="reject-all")
    f = b.factors
    asked = f["rejections"] > 0
    assert asked.any() and (f["rejections"][asked] == S.MAX_REJECTIONS).all()
    assert (f["n_objects"] == 1).all() and (b.labels < 3).all() and (f["shapes"][:, 1] == -1).all()


def test_rendered_area_exceeds_the_polygons_by_pygames_fill(batch, masks):
    """pygame's fill takes both ends of every row's span: about one pixel per row more than the
    polygon's area, so the ratio falls as objects grow."""
    f = batch.factors
    shapes = f["shapes"][:, 0]
    v = S.polygon_vertices(*(f[k][:, 0] for k in S.OBJECT_FACTORS))
    area = S.polygon_area(v)
    height = np.floor(v[..., 1].max(1)) - np.floor(v[..., 1].min(1))  # rows - 1
    pixels = masks[:, 0].sum((1, 2))
    for shape_id in range(3):
        here = shapes == shape_id
        extra = (pixels - area)[here] / (height[here] + 1)
        assert 0.5 < extra.mean() < 1.5  # per row, on average


def test_outline_is_the_scaled_regular_polygon_with_a_flat_base():
    rng = np.random.default_rng(5)
    for shape_id, k in enumerate(S.N_VERTICES):
        m = 200
        shapes = np.full(m, shape_id)
        scales = np.sort(rng.uniform(6.4, 25.6, (m, 2)), axis=1)[:, ::-1]
        pre = rng.integers(0, 255, m)
        regular = S.polygon_outline(shapes[:1], np.ones((1, 2)), np.zeros(1), np.zeros(1))[0, :k]
        # area of the regular k-gon in a circle of radius 0.5, scaled by s0·s1
        expected = 0.5 * k * np.sin(2 * np.pi / k) * 0.25 * scales.prod(1)
        flat = S.polygon_outline(shapes, scales, pre, np.zeros(m))[:, :k]
        assert np.allclose(S.polygon_area(flat), expected)
        base = np.flatnonzero(np.isclose(np.diff(regular[:, 1], append=regular[:1, 1]), 0))
        assert base.size >= 1  # the regular polygon has a horizontal base ...
        edge = np.roll(flat, -1, axis=1) - flat
        assert np.allclose(edge[:, base, 1], 0, atol=1e-9)  # ... still horizontal after θ1, s, θ2


def test_pre_rotation_follows_the_original_mapping():
    pre = S.sample(20_000, np.random.default_rng(6)).factors
    for shape_id, k in enumerate(S.N_VERTICES):
        steps = pre["pre_rotation"][pre["shapes"] == shape_id]
        u = np.arange(255 // k)
        allowed = np.where(u > 254 // (2 * k), np.minimum(255 - 254 // k + u, 254), u)
        assert set(np.unique(steps)) == set(allowed.tolist())


def test_overlap_measures_on_simple_cases():
    rng = np.random.default_rng(9)
    pair = S.candidate_pairs(2000, rng)
    assert all(a.shape == (2000,) and (a >= 0).all() for a in pair)
    assert (pair[0] <= 1).all()
    zero = np.zeros(2)
    # A parallelogram's scales are the diagonals of its sides (circle of radius 0.5): a rectangle
    # 20 × 10 px centred on (16.5, 16.5) and two 4 × 4 squares. Half-pixel vertices keep clear of
    # the truncation: the fill takes columns 6..26 and rows 11..21 of the rectangle, 231 pixels.
    big = S.make_objects(
        np.array([1, 1]),
        np.sqrt(2) * np.array([[20.0, 10.0]] * 2),
        zero,
        zero,
        np.full((2, 2), 16.5),
    )
    # identical objects: covered entirely; the estimate's limit d -> 0 gives the area ratio 1
    assert (S.overlap_exact(big, big) == 1).all()
    assert S.overlap_estimate(big, big) == pytest.approx(1)
    # a 4 px square (5 × 5 pixels filled) in the corner of the rectangle: covers 25/231 of it, and
    # all of itself
    small = S.make_objects(
        np.array([1, 1]),
        np.full((2, 2), 4 * np.sqrt(2)),
        zero,
        zero,
        np.array([[8.5, 13.5], [24.5, 19.5]]),
    )
    assert S.overlap_exact(big, small) == pytest.approx([25 / 231, 25 / 231])
    assert S.overlap_exact(small, big) == pytest.approx([1, 1])
    # apart: no overlap by either measure
    far = S.make_objects(
        np.array([1, 1]),
        np.full((2, 2), 4 * np.sqrt(2)),
        zero,
        zero,
        np.array([[3.0, 3.0], [28.0, 28.0]]),
    )
    assert (S.overlap_exact(small, far) == 0).all() and (S.overlap_estimate(small, far) == 0).all()
    rate = S.overlap_disagreement(2000, np.random.default_rng(10))
    assert 0 <= rate <= 1


def _squares(side, positions):
    """Axis-aligned squares of ``side`` px centred on ``positions`` (m, 2)."""
    m = len(positions)
    zero = np.zeros(m)
    scales = np.full((m, 2), side * np.sqrt(2))
    return S.make_objects(np.ones(m, dtype=int), scales, zero, zero, np.asarray(positions, float))


def test_overlap_estimate_from_the_first_objects_truncated_centre():
    # Two 4 px squares: each reaches 2 px towards the other, P = 4. From the first's centre
    # (10.9, 10.0), truncated to (10, 10), to the second's (13, 10): d = 3, P − d = 1, and the
    # estimate is (equal areas) 1 − 2^(−1/3) = 0.206; from the centre itself it would be
    # 1 − 2^(−1.9/2.1) = 0.466.
    first = _squares(4.0, [[10.9, 10.0]])
    second = _squares(4.0, [[13.0, 10.0]])
    assert S.overlap_estimate(first, second)[0] == pytest.approx(1 - 2 ** (-1 / 3))
    # The second object's centre is not truncated: (13.9, 10) is 3.9 px from (10, 10).
    second = _squares(4.0, [[13.9, 10.0]])
    assert S.overlap_estimate(first, second)[0] == pytest.approx(1 - 2 ** (-0.1 / 3.9))
    # Along y too, and the area ratio multiplies: a 6 px square below (10.4, 10.7) -> (10, 10).
    big = _squares(6.0, [[10.0, 14.0]])  # reaches 3 px up: P − d = 2 + 3 − 4 = 1
    assert S.overlap_estimate(_squares(4.0, [[10.4, 10.7]]), big)[0] == pytest.approx(
        36 / 16 * (1 - 2 ** (-1 / 4))
    )
    # Out of reach from the truncated centre (P − d < 0): no overlap, whatever the areas.
    assert S.overlap_estimate(first, _squares(4.0, [[15.0, 10.0]]))[0] == 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n=-1, rng=0), ValueError, "n must be an integer >= 0"),
        (dict(n=2.5, rng=0), ValueError, "n must be an integer"),
        (dict(n=10, rng=0, pixel_range="0255"), ValueError, "unknown pixel range '0255'; choose"),
        (dict(n=10, rng=0.5), TypeError, "numpy Generator or a seed"),
        (dict(n=10, rng=None), TypeError, "numpy Generator or a seed"),
        (dict(n=10, rng=-3), TypeError, "numpy Generator or a seed"),
        (dict(n=10, rng=0, overlap="area"), ValueError, "unknown overlap rule 'area'"),
    ],
)
def test_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        S.sample(**kwargs)

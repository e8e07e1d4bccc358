"""Chapter 01's measurements and checks S1-S4: ✔ on the generator's output, ✗ on data that breaks
each claim (uniform classes, an object moved to the border, a second object on top of the first)."""

import dataclasses

import numpy as np
import pytest

from glorot import data, shapeset
from glorot.claims import STATEMENTS, ClaimResult, Verdict
from glorot.claims import shapeset as C
from glorot.config import ConfigError

PASS, FAIL = Verdict.PASS, Verdict.FAIL


@pytest.fixture(scope="module")
def stats():
    return C.measure(4_000, seed=0)


@pytest.fixture(scope="module")
def chunk():
    return C.stream_chunk(0, 0)


def _replace(factors, **changes):
    return {**{k: v.copy() for k, v in factors.items()}, **changes}


# ---- what is measured ------------------------------------------------------------------------


def test_measured_images_are_the_training_stream_of_the_seed():
    source = data.ShapesetSource()
    per_chunk = data.CHUNK // 10
    for c, start in ((0, 0), (1, per_chunk)):
        x, y = next(source.train_batches(batch=10, seed=3, start=start))
        drawn = C.stream_chunk(3, c)
        assert np.array_equal(drawn.images[:10].reshape(10, -1), x.numpy())
        assert np.array_equal(drawn.labels[:10], y.numpy())


def test_measure_is_deterministic_and_a_prefix_of_a_longer_measure(stats):
    again = C.measure(2_500, seed=0)
    assert np.array_equal(again.labels, stats.labels[:2_500])
    assert np.array_equal(again.geometry.overlap, stats.geometry.overlap[:2_500], equal_nan=True)
    assert np.array_equal(again.examples, stats.examples)
    assert not np.array_equal(C.measure(2_500, seed=1).labels, again.labels)


def test_overlap_on_pixels_equals_the_generators_own(stats):
    assert np.array_equal(
        np.isnan(stats.geometry.overlap), stats.factors["n_objects"] == 1
    )  # measured exactly where there is a second object
    assert np.allclose(stats.geometry.overlap, stats.factors["overlap"], equal_nan=True)


def test_pixel_statistics_match_the_images(chunk):
    stats = C.measure(data.CHUNK, seed=0)
    x = chunk.images.astype(np.float64)
    assert np.allclose(stats.pixel_mean, x.mean(0)) and np.allclose(stats.pixel_std, x.std(0))
    assert stats.mean == pytest.approx(x.mean()) and stats.var == pytest.approx(x.var())
    # Grey levels counted from the factors and visible areas = a histogram of the pixels.
    direct = np.bincount(np.rint(x * 255).astype(int).ravel(), minlength=256)
    assert np.array_equal(stats.levels, direct)
    on_object = (x != x[:, :1, :1]).mean(0)  # the corner is background (one-pixel margin)
    assert np.all(stats.object_probability >= on_object)  # same level as background is possible
    assert np.abs(stats.object_probability - on_object).max() < 0.02


def test_every_pixel_has_the_expected_mean_of_the_two_schemes(stats):
    assert C.expected_pixel_mean("01") == pytest.approx((57 + 197.5) / 2 / 255)
    assert C.expected_pixel_mean("pm1") == pytest.approx(
        2 * C.expected_pixel_mean("01") - 1, abs=1e-6
    )  # float32 pixel values
    # Each image's mean pixel has a std below 0.5: the average of 4,000 is within 0.01 of it.
    assert abs(stats.mean - C.expected_pixel_mean("01")) < 0.01
    assert np.abs(stats.pixel_mean - C.expected_pixel_mean("01")).max() < 5 * 0.5 / np.sqrt(4_000)


def test_examples_are_the_first_images_of_each_class(stats, chunk):
    assert stats.examples.shape == (9, C.EXAMPLES_PER_CLASS, 32, 32)
    for label, images in enumerate(stats.examples):
        first = np.flatnonzero(chunk.labels == label)[: C.EXAMPLES_PER_CLASS]
        assert np.array_equal(images, chunk.images[first])


def test_rule_table_off_diagonal_is_the_generators_disagreement():
    n, seed = 3_000, 5
    exact, estimate = shapeset.candidate_pairs(n, np.random.default_rng(seed))
    table = C.rule_table(exact, estimate)
    assert table.sum() == pytest.approx(1.0)
    expected = shapeset.overlap_disagreement(n, np.random.default_rng(seed))
    assert table[0, 1] + table[1, 0] == pytest.approx(expected)


def test_sample_sizes_per_profile_and_bad_arguments():
    assert C.n_images("smoke") < C.n_images("default") < C.n_images("paper")
    assert set(C.N_IMAGES) == set(C.N_PAIRS)
    with pytest.raises(ConfigError, match="unknown profile 'huge'; choose one of smoke"):
        C.n_images("huge")
    with pytest.raises(ConfigError, match="n must be an integer >= 1"):
        C.measure(0)
    with pytest.raises(ConfigError, match="unknown pixel range 'x'; choose one of 01, pm1"):
        C.measure(10, pixel_range="x")


def test_law_text_states_the_law_and_the_constant_guess():
    text = C.law_text()
    assert text.count("1/6") == 3 and text.count("1/9") == 3 and text.count("1/18") == 3
    assert "83.3%" in text


# ---- S1, S2: the class law ---------------------------------------------------------------------


def test_class_law_holds_on_the_generator_and_fails_on_uniform_classes(stats):
    assert C.check_class_law(stats.counts).verdict is PASS
    uniform = np.full(9, 2_000)
    result = C.check_class_law(uniform)
    assert result.verdict is FAIL and "p = " in result.measured


def test_constant_guess_error_is_five_sixths_and_not_for_uniform_classes(stats):
    assert C.check_constant_guess(stats.counts).verdict is PASS
    exact = np.rint(shapeset.CLASS_PROBS * 18_000).astype(int)  # the law itself: 1 − 1/6
    assert C.check_constant_guess(exact).verdict is PASS
    assert "0.8333" in C.check_constant_guess(exact).measured
    assert C.check_constant_guess(np.full(9, 2_000)).verdict is FAIL  # 1 − 1/9 = 0.889
    # One class in excess by 10 standard errors also breaks it.
    tilted = exact.copy()
    tilted[0] += int(10 * np.sqrt(18_000 * (1 / 6) * (5 / 6)))
    assert C.check_constant_guess(tilted).verdict is FAIL


# ---- S3: the one-pixel margin ------------------------------------------------------------------


def test_margin_holds_on_the_generator(stats):
    result = C.check_margin(stats.geometry.margin, stats.geometry.border)
    assert result.verdict is PASS
    present = ~np.isnan(stats.geometry.margin)
    assert np.nanmin(stats.geometry.margin) >= shapeset.MARGIN - C.TOLERANCE
    assert present.sum() == stats.factors["n_objects"].sum()


@pytest.mark.parametrize("shift", [0.6, 3.0])
def test_margin_fails_on_an_object_moved_towards_the_border(chunk, shift):
    factors = {k: v[:50] for k, v in chunk.factors.items()}
    i = 0
    vertices = shapeset.polygon_vertices(*(factors[k][:1, 0] for k in shapeset.OBJECT_FACTORS))
    positions = factors["positions"].copy()
    positions[i, 0, 0] -= vertices[0, :, 0].min() - (1.0 - shift)  # leftmost vertex: 1 − shift
    masks, margin = C.render_objects(_replace(factors, positions=positions))
    geometry = C.object_geometry(masks, margin)
    assert margin[i, 0] == pytest.approx(1.0 - shift)
    assert C.check_margin(geometry.margin, geometry.border).verdict is FAIL
    if shift > 1.0:  # past the edge: it covers pixels of the outer column too
        assert geometry.border[i, 0]


def test_margin_fails_on_a_pixel_on_the_border_alone(stats):
    border = stats.geometry.border.copy()
    border[7, 0] = True
    assert C.check_margin(stats.geometry.margin, border).verdict is FAIL


# ---- S4: the overlap limit ---------------------------------------------------------------------


def test_overlap_limit_holds_on_the_generator(stats):
    result = C.check_overlap(stats.geometry.overlap)
    assert result.verdict is PASS
    assert np.nanmax(stats.geometry.overlap) <= shapeset.MAX_OVERLAP


def test_overlap_limit_fails_on_a_second_object_drawn_on_the_first(chunk):
    factors = {k: v[:50] for k, v in chunk.factors.items()}
    i = int(np.flatnonzero(factors["n_objects"] == 2)[0])
    changes = {}
    for key in shapeset.OBJECT_FACTORS:  # the second object becomes a copy of the first
        value = factors[key].copy()
        value[i, 1] = value[i, 0]
        changes[key] = value
    geometry = C.object_geometry(*C.render_objects(_replace(factors, **changes)))
    assert geometry.overlap[i] == 1.0
    result = C.check_overlap(geometry.overlap)
    assert result.verdict is FAIL and "1 above 50%" in result.measured


# ---- results, statements, evaluate -------------------------------------------------------------


def test_every_check_has_a_statement_beside_the_papers(stats):
    results = C.checks(stats, "smoke")
    assert [r.id for r in results] == ["S1", "S2", "S3", "S4"]
    for r in results:
        assert isinstance(r, ClaimResult) and r.statement == C.STATEMENTS[r.id]
        assert r.to_dict()["statement"] == C.STATEMENTS[r.id]
        assert r.scale.startswith("smoke: the first 4,000 images")
    assert dataclasses.replace(results[0], id="C1").statement == STATEMENTS["C1"]
    with pytest.raises(KeyError, match="unknown claim id 'S99'"):
        _ = dataclasses.replace(results[0], id="S99").statement


def test_evaluate_computes_the_claims_of_a_profile(monkeypatch):
    monkeypatch.setitem(C.N_IMAGES, "smoke", 3_000)
    results = C.evaluate("smoke")
    assert [r.verdict for r in results] == [PASS] * 4
    assert "3,000 images" in results[0].scale

"""The online Shapeset stream and the fixed held-out sets: reproducible, resumable, disjoint."""

import itertools

import numpy as np
import pytest
import torch

from glorot import data, shapeset
from glorot.config import ConfigError, RunConfig


@pytest.fixture(scope="module")
def source():
    return data.ShapesetSource()


def _take(iterator, k):
    return list(itertools.islice(iterator, k))


def _rows(x):
    return {row.tobytes() for row in x.numpy()}


def test_batches_have_the_interface_shapes(source):
    x, y = next(source.train_batches(10, seed=0))
    assert x.shape == (10, source.n_inputs) == (10, 1024) and x.dtype == torch.float32
    assert y.shape == (10,) and y.dtype == torch.int64 and source.n_classes == 9
    assert x.min() >= 0 and x.max() <= 1 and 0 <= y.min() and y.max() < 9


def test_stream_is_the_chunked_generator_output(source):
    """The first batches are chunk 0 of the seed: SeedSequence(ENTROPY, (TRAIN, seed, 0))."""
    seed = 3
    key = np.random.SeedSequence(data.ENTROPY, spawn_key=(data.TRAIN, seed, 0))
    drawn = shapeset.sample(data.CHUNK, np.random.default_rng(key))
    batches = _take(source.train_batches(50, seed), 3)
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    assert np.array_equal(x.numpy(), drawn.images[:150].reshape(150, 1024))
    assert np.array_equal(y.numpy(), drawn.labels[:150])


@pytest.mark.parametrize("batch", [10, 7, 2500])  # 7 straddles chunks, 2500 spans two
def test_resumed_stream_equals_uninterrupted_one(source, batch):
    t = (data.CHUNK // batch) if batch < data.CHUNK else 1
    fresh = _take(source.train_batches(batch, seed=1), t + 2)
    resumed = _take(source.train_batches(batch, seed=1, start=t), 2)
    for (xa, ya), (xb, yb) in zip(fresh[t:], resumed, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(fresh[0][0], fresh[1][0])


def test_seeds_give_different_streams(source):
    a = next(source.train_batches(10, seed=0))[0]
    b = next(source.train_batches(10, seed=1))[0]
    assert not _rows(a) & _rows(b)
    assert torch.equal(a, next(data.ShapesetSource().train_batches(10, seed=0))[0])


def test_fixed_sets_are_deterministic_distinct_and_off_the_training_stream(source):
    sets = {split: source.fixed(split, 300) for split in data.SPLITS}
    again = data.ShapesetSource().fixed("probe", 2500)  # a new source, a longer set: same prefix
    assert torch.equal(sets["probe"][0], again[0][:300]) and torch.equal(
        sets["probe"][1], again[1][:300]
    )
    rows = {split: _rows(x) for split, (x, _) in sets.items()}
    assert len(rows["probe"] | rows["valid"] | rows["test"]) == 900
    seen = set()
    for seed in (0, 1):
        for x, _ in _take(source.train_batches(500, seed), 4):
            seen |= _rows(x)
    assert len(seen) == 4000 and not seen & (rows["probe"] | rows["valid"] | rows["test"])


def test_pixel_range_pm1(source):
    x01 = next(source.train_batches(20, seed=2))[0]
    xpm1 = next(data.ShapesetSource("pm1").train_batches(20, seed=2))[0]
    assert torch.allclose(xpm1, 2 * x01 - 1, atol=1e-6) and xpm1.min() < 0


def test_make_source_and_its_registry(monkeypatch):
    src = data.make_source(RunConfig(pixel_range="pm1", dataset="shapeset"))
    assert isinstance(src, data.DataSource) and src.pixel_range == "pm1" and src.name == "shapeset"
    monkeypatch.delitem(data.SOURCES, "cifar10")
    with pytest.raises(ConfigError, match="'cifar10' has no data source; available: shapeset"):
        data.make_source(RunConfig(dataset="cifar10"))
    monkeypatch.setitem(data.SOURCES, "cifar10", lambda cfg: "a cifar source")
    assert data.make_source(RunConfig(dataset="cifar10")) == "a cifar source"


def test_finite_sets_say_where_their_files_go(monkeypatch, tmp_path):
    from glorot.datasets import DataMissing

    monkeypatch.setenv("GLOROT_DATA", str(tmp_path))
    with pytest.raises(DataMissing, match=str(tmp_path / "cifar10")):
        data.make_source(RunConfig(dataset="cifar10"))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s: s.train_batches(0, 0), "batch must be an integer >= 1"),
        (lambda s: s.train_batches(10, -1), "seed must be an integer >= 0"),
        (lambda s: s.train_batches(10, 0, start=-2), "start must be an integer >= 0"),
        (lambda s: s.train_batches(10, 1.5), "seed must be an integer"),
        (lambda s: s.fixed("train", 10), "unknown split 'train'; choose one of probe, valid, test"),
        (lambda s: s.fixed("test", 0), "n must be an integer >= 1"),
    ],
)
def test_bad_arguments_fail_at_the_call(source, call, match):
    with pytest.raises(ValueError, match=match):
        call(source)  # not at the first next(): the iterator is never advanced here


def test_unknown_pixel_range():
    with pytest.raises(ConfigError, match="unknown pixel range '0-1'; choose one of 01, pm1"):
        data.ShapesetSource("0-1")

"""Readers of the finite data sets, on tiny files written in the real formats."""

import gzip

import numpy as np
import pytest
import torch

from glorot import datasets
from glorot.datasets import DataCorrupt, DataMissing, FiniteSource


def write_idx(path, array, gz=True):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def make_mnist(root, name="mnist", n_train=10_012, n_test=40, gz=True):
    """An MNIST-format set: training images carry their index mod 256 in pixel 0."""
    folder = root / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    x_train[:, 0, 0] = np.arange(n_train) % 256
    y_train = np.arange(n_train) % 10
    x_test = rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    y_test = (np.arange(n_test) * 3) % 10
    suffix = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", x_train, gz)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", y_train, gz)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", x_test, gz)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", y_test, gz)
    return x_train, y_train, x_test, y_test


def make_cifar(root, per_batch=8):
    folder = root / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for k, name in enumerate(names):
        labels = (np.arange(per_batch) + k) % 10
        pixels = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        pixels[:, 0] = k  # which file each record came from
        np.concatenate([labels[:, None].astype(np.uint8), pixels], axis=1).tofile(folder / name)


@pytest.fixture(autouse=True)
def fresh_cache():
    datasets.load_splits.cache_clear()
    yield
    datasets.load_splits.cache_clear()


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, a, gz)
    np.testing.assert_array_equal(datasets.read_idx(path), a)


def test_idx_rejects_bad_magic_and_truncation(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataCorrupt, match="magic"):
        datasets.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataCorrupt, match="truncated"):
        datasets.read_idx(tmp_path / "short")


def test_mnist_splits_are_the_papers(tmp_path):
    x_train, y_train, x_test, y_test = make_mnist(tmp_path, gz=False)
    splits = datasets.load_splits("mnist", str(tmp_path))
    n_train = len(x_train) - 10_000  # the last 10,000 training images validate
    assert len(splits["train"][0]) == n_train and len(splits["valid"][0]) == 10_000
    np.testing.assert_array_equal(splits["valid"][1], y_train[n_train:])
    np.testing.assert_array_equal(splits["test"][0], x_test)


def test_finite_source_batches_cover_an_epoch_and_resume(tmp_path):
    make_mnist(tmp_path, name="fashion-mnist", gz=False)  # uncompressed: checked by structure
    src = FiniteSource("fashion-mnist", root=tmp_path)
    assert (src.n_inputs, src.n_classes) == (784, 10)
    batches = src.train_batches(batch=4, seed=3)
    first_epoch = [next(batches) for _ in range(3)]  # 12 training examples, 3 batches
    ids = torch.cat([(x[:, 0] * 255).round().long() for x, _ in first_epoch])
    assert sorted(ids.tolist()) == list(range(12))  # every training example once
    resumed = src.train_batches(batch=4, seed=3, start=4)
    fresh = src.train_batches(batch=4, seed=3)
    for _ in range(4):
        next(fresh)
    for _ in range(3):
        (xa, ya), (xb, yb) = next(resumed), next(fresh)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    other = next(src.train_batches(batch=4, seed=4))[0]
    assert not torch.equal(other, first_epoch[0][0])


def test_finite_source_fixed_sets_and_pixel_range(tmp_path):
    _, _, x_test, y_test = make_mnist(tmp_path, gz=False)
    src = FiniteSource("mnist", pixel_range="pm1", root=tmp_path)
    x, y = src.fixed("probe", 5)
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_allclose(x.numpy(), x_test[:5].reshape(5, -1) / 255 * 2 - 1, atol=1e-6)
    assert y.tolist() == y_test[:5].tolist()
    with pytest.raises(ValueError, match="has 40"):
        src.fixed("test", 41)
    with pytest.raises(ValueError, match="unknown split"):
        src.fixed("train", 1)


def test_cifar_binary_splits(tmp_path):
    make_cifar(tmp_path)
    splits = datasets.load_splits("cifar10", str(tmp_path))
    x, y = splits["train"]
    assert x.shape == (32, 3, 32, 32) and set(x[:, 0, 0, 0]) == {0, 1, 2, 3}
    assert set(splits["valid"][0][:, 0, 0, 0]) == {4}  # batch 5 validates
    assert set(splits["test"][0][:, 0, 0, 0]) == {5}
    assert FiniteSource("cifar10", root=tmp_path).n_inputs == 3072


def test_cifar_rejects_a_wrong_file(tmp_path):
    make_cifar(tmp_path)
    (tmp_path / "cifar10" / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(b"x" * 100)
    with pytest.raises(DataCorrupt, match="not a CIFAR-10 binary batch"):
        datasets.load_splits("cifar10", str(tmp_path))


def test_missing_data_says_where_to_put_it(tmp_path):
    with pytest.raises(DataMissing) as e:
        datasets.locate("mnist", tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "mnist") in msg and "train-images-idx3-ubyte.gz" in msg
    assert "GLOROT_DATA" in msg


def test_checksum_mismatch_is_refused(tmp_path):
    make_mnist(tmp_path)  # gzipped under the published names, but not the published bytes
    with pytest.raises(DataCorrupt, match="md5"):
        datasets.verify("mnist", tmp_path)


def test_uncompressed_copies_are_checked_by_structure(tmp_path):
    make_mnist(tmp_path, gz=False)
    assert all("unknown md5" in s for s in datasets.verify("mnist", tmp_path).values())


def test_unknown_dataset_lists_choices():
    with pytest.raises(ValueError, match="choose one of mnist, fashion-mnist, cifar10"):
        datasets.locate("imagenet")

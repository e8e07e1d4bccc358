"""The finite data sets of §2.2 (MNIST, CIFAR-10) and the offline stand-in Fashion-MNIST.

Files are read in their published formats: MNIST and Fashion-MNIST as IDX files (gzipped or not),
CIFAR-10 in its binary version (records of one label byte and 3072 pixel bytes, so nothing downloaded
is ever unpickled). The splits are the paper's: MNIST 50,000 / 10,000 / 10,000 (the last 10,000
training images validate); CIFAR-10 40,000 / 10,000 / 10,000 (batch 5 validates).

Files are looked for in ``<data dir>/<name>/``; the data directory is the argument ``data_dir``, else
the environment variable ``GLOROT_DATA``, else ``data/`` in the repository.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from glorot.config import ConfigError, check_choice, env_path
from glorot.sources import DataSource

ENTROPY = 0x5EED_F1417E  # root of the finite sets' shuffling streams


class DataMissing(FileNotFoundError):
    """A data set's files are not where they are looked for; the message says where to put them."""


class DataCorrupt(ValueError):
    """A data set's file is present but not what it should be."""


@dataclass(frozen=True)
class FileSpec:
    name: str  # file name as published
    md5: str | None  # md5 of the published file, when known
    alternatives: tuple[str, ...] = ()  # names under which the same content is accepted


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    shape: tuple[int, ...]  # of one image
    n_classes: int
    files: tuple[FileSpec, ...]
    url: str | None  # where the files (or their archive) can be downloaded
    archive_md5: str | None = None  # for a data set published as one archive
    system_dirs: tuple[str, ...] = ()  # where a system package installs it
    # Published sizes (train, test) a recompressed copy must have when its md5 differs.
    recompressed: tuple[int, int] | None = None

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.shape))


def _idx_files(md5s: dict[str, str | None]) -> tuple[FileSpec, ...]:
    return tuple(FileSpec(name, md5, (name.removesuffix(".gz"),)) for name, md5 in md5s.items())


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        shape=(28, 28),
        n_classes=10,
        files=_idx_files(
            {
                "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            }
        ),
        url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST (stand-in, not MNIST)",
        shape=(28, 28),
        n_classes=10,
        files=_idx_files(
            {
                "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
            }
        ),
        url=None,
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        # Some distributions recompress the files: such a copy is accepted by its structure.
        recompressed=(60_000, 10_000),
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        title="CIFAR-10",
        shape=(3, 32, 32),
        n_classes=10,
        files=tuple(
            FileSpec(f"cifar-10-batches-bin/{n}", None)
            for n in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        ),
        url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        archive_md5="c32a1d4ab5d03f1284b67883e8d87530",
    ),
}


def data_dir(path: str | Path | None = None) -> Path:
    """The data directory: ``path``, else $GLOROT_DATA, else ``data/`` beside the package."""
    if path is not None:
        return Path(path)
    configured = env_path("GLOROT_DATA")
    if configured is not None:
        return configured
    return Path(__file__).resolve().parent.parent / "data"


def _spec(name: str) -> DatasetSpec:
    return DATASETS[check_choice("data set", name, tuple(DATASETS))]


def md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def locate(name: str, root: str | Path | None = None) -> Path:
    """The folder holding every file of data set ``name``, or DataMissing saying where to put them."""
    spec = _spec(name)
    candidates = [data_dir(root) / name, *map(Path, spec.system_dirs)]
    for folder in candidates:
        if all(_find(folder, f) is not None for f in spec.files):
            return folder
    wanted = ", ".join(f.name for f in spec.files)
    how = (
        f"run `glorot data download {name}` or download them from {spec.url}"
        if spec.url
        else "on Debian systems `apt-get install dataset-fashion-mnist` installs them"
    )
    raise DataMissing(
        f"{spec.title} not found: put {wanted} in {candidates[0]} "
        f"(or point GLOROT_DATA at a folder holding {name}/); {how}"
    )


def _find(folder: Path, f: FileSpec) -> Path | None:
    for candidate in (f.name, *f.alternatives):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def verify(name: str, root: str | Path | None = None) -> dict[str, str]:
    """Check every file of data set ``name``: its structure (IDX magic, dimensions and label range;
    CIFAR-10 record size and labels), and its md5 where the published one is known.

    Returns {file: status}; a file that is not what it should be raises DataCorrupt, so it is
    never used.
    """
    spec = _spec(name)
    folder = locate(name, root)
    paths = {f.name: _find(folder, f) for f in spec.files}
    counts = {f: _check_structure(spec, path) for f, path in paths.items()}
    if spec.name != "cifar10":
        for split in ("train", "t10k"):
            images, labels = (
                counts[f"{split}-images-idx3-ubyte.gz"],
                counts[f"{split}-labels-idx1-ubyte.gz"],
            )
            if images != labels:
                raise DataCorrupt(
                    f"{folder}: {split} has {images} images but {labels} labels; "
                    "delete the files and download them again"
                )
    status = {}
    for f in spec.files:
        path = paths[f.name]
        if f.md5 is None or path.name != f.name:
            status[f.name] = "structure ok, unknown md5 (not the published file name)"
            continue
        got = md5(path)
        if got == f.md5:
            status[f.name] = "ok (md5 and structure)"
        elif spec.recompressed and counts[f.name] in spec.recompressed:
            status[f.name] = "structure ok, recompressed copy (md5 differs from the published one)"
        else:
            raise DataCorrupt(
                f"{path} has md5 {got}, expected {f.md5}: delete it and download it again"
            )
    return status


def _check_structure(spec: DatasetSpec, path: Path) -> int:
    """The number of examples in ``path``, or DataCorrupt when it is not a file of ``spec``."""
    if spec.name == "cifar10":
        return len(read_cifar_bin(path)[1])
    try:
        array = read_idx(path)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataCorrupt(f"{path} is not a readable IDX file ({err}); download it again") from None
    want = (1,) if "labels" in path.name else (1 + len(spec.shape),)
    if array.ndim != want[0] or ("images" in path.name and array.shape[1:] != spec.shape):
        raise DataCorrupt(
            f"{path} holds an array of shape {array.shape}, not {spec.title}'s; download it again"
        )
    if "labels" in path.name and array.max(initial=0) >= spec.n_classes:
        raise DataCorrupt(f"{path} holds labels above {spec.n_classes - 1}; download it again")
    return len(array)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, into an array of its declared shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataCorrupt(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise DataCorrupt(
            f"{path} is truncated or padded: header says {dims}, holds {len(raw) - offset} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def read_cifar_bin(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch: records of 1 label byte + 3072 pixel bytes (3×32×32)."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        raise DataCorrupt(f"{path} is not a CIFAR-10 binary batch ({raw.size} bytes)")
    records = raw.reshape(-1, 3073)
    labels = records[:, 0].astype(np.int64)
    if labels.max(initial=0) > 9:
        raise DataCorrupt(f"{path} holds labels above 9: not a CIFAR-10 binary batch")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


@lru_cache(maxsize=4)
def load_splits(name: str, root: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'train' | 'valid' | 'test': (uint8 images, int64 labels)} with the paper's splits."""
    spec = _spec(name)
    folder = locate(name, root)
    verify(name, root)
    if name == "cifar10":
        parts = [read_cifar_bin(_find(folder, f)) for f in spec.files]
        splits = {
            "train": tuple(np.concatenate([p[i] for p in parts[:4]]) for i in (0, 1)),
            "valid": parts[4],
            "test": parts[5],
        }
    else:
        x_train, y_train, x_test, y_test = (read_idx(_find(folder, f)) for f in spec.files)
        if x_train.shape[1:] != spec.shape or len(x_train) != len(y_train):
            raise DataCorrupt(f"{folder}: training images {x_train.shape} do not match labels")
        y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
        n_train = len(x_train) - 10_000
        splits = {
            "train": (x_train[:n_train], y_train[:n_train]),
            "valid": (x_train[n_train:], y_train[n_train:]),
            "test": (x_test, y_test),
        }
    for split, (x, y) in splits.items():
        if len(x) != len(y) or y.max(initial=0) >= spec.n_classes:
            raise DataCorrupt(f"{spec.title} {split} split: images and labels disagree")
    return splits


class FiniteSource(DataSource):
    """A finite data set behind the same interface as the Shapeset stream.

    Training batches visit the training split in a fresh random order each epoch (the order of epoch
    e depends on the seed and e only), so batch t is reproducible from (seed, t) and a run resumes
    exactly. The probe set is the first ``n`` test examples, as the paper monitors 300 test examples.
    """

    def __init__(self, name: str, pixel_range: str = "01", root: str | Path | None = None):
        spec = _spec(name)
        self.name = name
        self.n_inputs = spec.n_inputs
        self.n_classes = spec.n_classes
        self.pixel_range = pixel_range
        self.splits = load_splits(name, None if root is None else str(root))

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        z = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
        return z * 2 - 1 if self.pixel_range == "pm1" else z

    def train_batches(
        self, batch: int, seed: int, start: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.splits["train"]
        per_epoch = len(x) // batch
        if per_epoch < 1:
            raise ValueError(f"batch {batch} exceeds the {len(x)} training examples")
        epoch, first = divmod(start, per_epoch)
        while True:
            rng = np.random.default_rng(np.random.SeedSequence(ENTROPY, spawn_key=(seed, epoch)))
            order = rng.permutation(len(x))
            for i in range(first, per_epoch):
                idx = order[i * batch : (i + 1) * batch]
                yield self._tensor(x[idx]), torch.from_numpy(y[idx])
            epoch, first = epoch + 1, 0

    def fixed(self, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        name = "test" if split == "probe" else split
        check_choice("split", split, ("probe", "valid", "test"))
        x, y = self.splits[name]
        if n > len(x):
            raise ValueError(f"{split} set of {n} requested; {self.name} {name} has {len(x)}")
        return self._tensor(x[:n]), torch.from_numpy(y[:n])


def download(name: str, root: str | Path | None = None) -> Path:
    """Download a data set's published files into the data directory and verify them.

    A download that fails leaves nothing behind: what it wrote (and the folder, when it made it)
    is removed.
    """
    spec = _spec(name)
    if spec.url is None:
        raise ConfigError(
            f"{spec.title} is not downloaded by glorot; `glorot data where {name}` says where "
            "its files go"
        )
    folder = data_dir(root) / name
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if spec.archive_md5:
            archive = folder / Path(spec.url).name
            written.append(archive)
            _fetch(spec.url, archive)
            if md5(archive) != spec.archive_md5:
                raise DataCorrupt(f"{spec.url} did not match its published md5; try again later")
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                written += [folder / m.name for m in members]
                tar.extractall(folder, members=members, filter="data")
        else:
            for f in spec.files:
                written.append(folder / f.name)
                _fetch(spec.url + f.name, folder / f.name)
        verify(name, root)
    except BaseException:
        for path in reversed(written):
            if path.is_file() or path.is_symlink():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        for path in made:
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        raise
    return folder


def _fetch(url: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise DataMissing(
                f"could not download {url} ({e}); put the file at {path} by hand"
            ) from e
        raise

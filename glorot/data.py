"""Data sources: the online Shapeset-3x2 stream (paper §2.1: every mini-batch is fresh) and the
fixed held-out sets every run is measured on.

Reproducibility without state: the stream of a seed is cut into chunks of ``CHUNK`` images, and
chunk c is drawn from its own generator, ``SeedSequence(ENTROPY, spawn_key=(stream, seed, c))``.
Batch t of a run is therefore a function of (seed, t) alone, so a resumed run sees exactly the
batches an uninterrupted one would. The fixed sets (probe, valid, test) are the first n images of
streams of their own, the same for every run seed and independent of every training stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from glorot import shapeset
from glorot.config import ConfigError, RunConfig, check_choice, check_integral
from glorot.datasets import FiniteSource
from glorot.sources import DataSource

ENTROPY = int.from_bytes(b"glorot shapeset", "big")  # root of every stream of images
CHUNK = 2_000  # images drawn at once: large enough to vectorise, small enough to resume cheaply
TRAIN = 0  # stream id of the training streams (one per run seed)
SPLITS = {"probe": 1, "valid": 2, "test": 3}  # stream ids of the fixed sets


class ShapesetSource(DataSource):
    """Shapeset-3x2 (``glorot.shapeset``) as 1024 pixels and 9 classes, generated online."""

    name = "shapeset"
    n_inputs = shapeset.IMAGE_SIZE**2
    n_classes = len(shapeset.LABEL_NAMES)

    def __init__(self, pixel_range: str = "01") -> None:
        self.pixel_range = check_choice("pixel range", pixel_range, tuple(shapeset.PIXEL_RANGES))

    def __repr__(self) -> str:
        return f"ShapesetSource(pixel_range={self.pixel_range!r})"

    def _chunk(self, stream: int, seed: int, c: int) -> tuple[Tensor, Tensor]:
        """Images c·CHUNK .. (c+1)·CHUNK − 1 of a stream, flattened to (CHUNK, 1024)."""
        rng = np.random.default_rng(np.random.SeedSequence(ENTROPY, spawn_key=(stream, seed, c)))
        drawn = shapeset.sample(CHUNK, rng, self.pixel_range)
        x = torch.from_numpy(drawn.images.reshape(CHUNK, self.n_inputs))
        return x, torch.from_numpy(drawn.labels)

    def _examples(self, stream: int, seed: int, first: int, batch: int):
        """Endless consecutive slices of ``batch`` examples of a stream, from example ``first``."""
        c, offset = divmod(first, CHUNK)
        x, y = self._chunk(stream, seed, c)
        while True:
            xs, ys = [], []
            need = batch
            while need:
                if offset == CHUNK:
                    c, offset = c + 1, 0
                    x, y = self._chunk(stream, seed, c)
                take = min(need, CHUNK - offset)
                xs.append(x[offset : offset + take])
                ys.append(y[offset : offset + take])
                offset, need = offset + take, need - take
            yield (xs[0], ys[0]) if len(xs) == 1 else (torch.cat(xs), torch.cat(ys))

    def train_batches(
        self, batch: int, seed: int, start: int = 0
    ) -> Iterator[tuple[Tensor, Tensor]]:
        # Checked here, not inside the generator, so that a bad argument fails at the call.
        batch = check_integral("batch", batch, 1)
        seed = check_integral("seed", seed, 0)
        start = check_integral("start", start, 0)
        return self._examples(TRAIN, seed, start * batch, batch)

    def fixed(self, split: str, n: int) -> tuple[Tensor, Tensor]:
        check_choice("split", split, tuple(SPLITS))
        n = check_integral("n", n, 1)
        return next(self._examples(SPLITS[split], 0, 0, n))


# Data set name -> maker of its source from a run's config; finite data sets register here too.
def _finite(cfg: RunConfig) -> DataSource:
    return FiniteSource(cfg.dataset, cfg.pixel_range)  # reads its files when first asked for data


SOURCES: dict[str, Callable[[RunConfig], DataSource]] = {
    "shapeset": lambda cfg: ShapesetSource(cfg.pixel_range),
    "mnist": _finite,
    "fashion-mnist": _finite,
    "cifar10": _finite,
}


def make_source(cfg: RunConfig) -> DataSource:
    """The data source of a run (``cfg.dataset``, ``cfg.pixel_range``)."""
    if cfg.dataset not in SOURCES:
        raise ConfigError(
            f"data set {cfg.dataset!r} has no data source; available: {', '.join(SOURCES)}"
        )
    return SOURCES[cfg.dataset](cfg)

"""The interface every data set implements: what training needs from it. Its own module, so that
the data sets (:mod:`glorot.data`, :mod:`glorot.datasets`) and the trainer import it without
importing each other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from torch import Tensor


class DataSource(ABC):
    """What training needs from a data set: an endless training stream and fixed held-out sets."""

    name: str
    n_inputs: int
    n_classes: int

    @abstractmethod
    def train_batches(
        self, batch: int, seed: int, start: int = 0
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Endless (x (batch, n_inputs) float32, y (batch,) int64) CPU tensors; the k-th item is
        batch number ``start + k`` of the stream of ``seed``."""

    @abstractmethod
    def fixed(self, split: str, n: int) -> tuple[Tensor, Tensor]:
        """The first n examples of the held-out set ``split`` (probe, valid or test), the same for
        every run seed and disjoint from the training stream."""

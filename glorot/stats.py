"""Paired significance of differences between test errors (Table 1: "statistically different at
p = 0.005").

Every run of a profile is scored on the same test examples (:mod:`glorot.data`), and its record
keeps the class it predicted for each of them (``run.evals["test_pred"]``, beside the labels
``run.evals["test_true"]``). Two models are therefore compared example by example, which is
sharper than comparing two error rates as if they came from independent samples:

- **McNemar's test** for "A and B differ": of the examples one model gets wrong and the other right
  (b wrong only for A, c wrong only for B), under the null each is A's with probability 1/2, so
  p = P(|X − d/2| ≥ |b − d/2|) for X ~ Binomial(d = b + c, 1/2), computed exactly.
- **A paired bootstrap over examples** for any other statistic of the models' error rates (a
  difference against a tolerance, C15's difference of differences): the test examples are resampled
  with replacement, the same indices for every model and every seed, and the statistic's
  ``1 − alpha`` percentile interval is read off the resamples.

Seeds are pooled: the error of a model is its mean over seeds and examples, and seed s of model A is
paired with seed s of model B on each example. The paper's level is ``PAPER_ALPHA`` = 0.005.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PAPER_ALPHA = 0.005  # Table 1's level of significance
BOOTSTRAP_REPS = 10_000  # resamples of the test set: 25 of them in each 0.25% tail
BOOTSTRAP_SEED = 20100513  # a fixed stream: the same data always give the same interval


class MissingPredictions(ValueError):
    """A run record lacks the per-example test predictions a paired test needs."""


def wrong(runs: Sequence) -> np.ndarray:
    """(S, n) booleans, True where seed s misclassified test example i, from run records that carry
    ``evals["test_pred"]`` and ``evals["test_true"]``; every run must see the same test labels."""
    rows, labels = [], None
    for run in runs:
        missing = [k for k in ("test_pred", "test_true") if k not in run.evals]
        if missing:
            raise MissingPredictions(
                f"the record of {run.config.label} (seed {run.config.seed}, key {run.config.key}) "
                f"has no evals[{missing[0]!r}]: it predates per-example test predictions; delete "
                "it from the cache (or bump glorot.config.CODE_SALT) so that it is trained again"
            )
        pred = np.asarray(run.evals["test_pred"])
        true = np.asarray(run.evals["test_true"])
        if labels is None:
            labels = true
        elif true.shape != labels.shape or np.any(true != labels):
            raise ValueError(
                f"{run.config.label} seed {run.config.seed} was tested on other examples than the "
                "first run; a paired test needs one test set"
            )
        if run.diverged_at is not None or pred.shape != true.shape:
            rows.append(np.ones(true.shape, dtype=bool))  # a diverged network answers nothing
        else:
            rows.append(pred != true)
    if labels is None:
        raise ValueError("no runs given")
    return np.stack(rows)


def _check(outcomes: np.ndarray, name: str = "outcomes") -> np.ndarray:
    a = np.asarray(outcomes, dtype=bool)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"{name}: expected (seeds, examples) booleans, got shape {a.shape}")
    return a


def binomial_two_sided(k: int, n: int) -> float:
    """P(|X − n/2| ≥ |k − n/2|) for X ~ Binomial(n, 1/2), exactly (in log space, any n)."""
    if n == 0:
        return 1.0
    k = min(k, n - k)
    log_terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
        for i in range(k + 1)
    ]
    top = max(log_terms)
    tail = math.exp(top) * sum(math.exp(t - top) for t in log_terms)
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class McNemar:
    b: int  # examples only the first model gets wrong (over all seeds)
    c: int  # examples only the second model gets wrong
    p: float  # two-sided, exact

    @property
    def text(self) -> str:
        return f"p = {self.p:.2g} (McNemar, {self.b}/{self.c} discordant)"


def mcnemar(first, second) -> McNemar:
    """McNemar's exact test of two models' (S, n) outcomes (True = wrong), seed s paired with seed
    s on each example."""
    a, b = _check(first, "first"), _check(second, "second")
    if a.shape != b.shape:
        raise ValueError(
            f"outcomes of different shapes {a.shape} and {b.shape}: pair the same "
            "seeds on the same test set"
        )
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    return McNemar(only_a, only_b, binomial_two_sided(only_a, only_a + only_b))


def p_vs_best(outcomes: Mapping[str, np.ndarray]) -> dict[str, float]:
    """For each model of a column, McNemar's p of its difference from the column's lowest error
    (1.0 for the lowest itself)."""
    errors = {k: float(_check(v).mean()) for k, v in outcomes.items()}
    best = min(errors, key=errors.get)
    return {k: 1.0 if k == best else mcnemar(v, outcomes[best]).p for k, v in outcomes.items()}


@dataclass(frozen=True)
class Interval:
    """A statistic of error rates (fractions) and its paired-bootstrap interval."""

    estimate: float
    lo: float
    hi: float
    level: float  # e.g. 0.995

    def scaled(self, k: float) -> Interval:
        return Interval(self.estimate * k, self.lo * k, self.hi * k, self.level)

    def text(self, unit: str = "") -> str:
        return (
            f"{self.estimate:+.2f}{unit} [{self.lo:+.2f}, {self.hi:+.2f}] "
            f"({self.level:.1%} paired bootstrap)"
        )


class Resamples:
    """The models' error rates on ``reps`` bootstrap resamples of the test examples (the same
    resampled examples for every model and seed); :meth:`interval` reads any statistic of them.

    An example enters a statistic only through its row of per-model error rates over the seeds,
    which takes few distinct values (with S seeds, each is one of 0, 1/S, ..., 1). Resampling n
    examples with replacement is therefore drawing how many times each distinct row is picked,
    one multinomial draw per resample: exact, and independent of n in cost."""

    def __init__(
        self,
        outcomes: Mapping[str, np.ndarray],
        reps: int = BOOTSTRAP_REPS,
        seed: int = BOOTSTRAP_SEED,
    ):
        per_example = {k: _check(v, k).mean(axis=0) for k, v in outcomes.items()}
        sizes = {v.shape[0] for v in per_example.values()}
        if len(sizes) != 1:
            raise ValueError(f"models scored on test sets of different sizes {sorted(sizes)}")
        n = sizes.pop()
        rows, counts = np.unique(
            np.column_stack(list(per_example.values())), axis=0, return_counts=True
        )
        picks = np.random.default_rng(seed).multinomial(n, counts / n, size=reps)
        draws = picks @ rows / n  # (reps, models)
        self.point = {k: float(v.mean()) for k, v in per_example.items()}
        self.draws = {k: draws[:, j] for j, k in enumerate(per_example)}
        self.n = n

    def interval(
        self,
        statistic: Callable[[Mapping[str, np.ndarray]], np.ndarray],
        alpha: float = PAPER_ALPHA,
    ) -> Interval:
        """``statistic`` maps {model: error rates} (floats or arrays over resamples) to values;
        its estimate on the data and its two-sided ``1 − alpha`` percentile interval."""
        values = np.asarray(statistic(self.draws), dtype=float)
        lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        return Interval(float(statistic(self.point)), float(lo), float(hi), 1 - alpha)

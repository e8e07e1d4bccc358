"""Reproduce committed records: retrain chosen runs from scratch and compare them, array by array,
with what ``results/<profile>/`` holds (``glorot records verify``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from glorot.config import ConfigError, Profile, check_int
from glorot.published import audit, describe, folder
from glorot.records import read
from glorot.run import Run


@dataclass(frozen=True)
class Comparison:
    """A committed record against the same run retrained here."""

    key: str
    run: str
    arrays: int  # arrays compared
    identical: int  # of them bitwise equal
    max_abs: float  # largest absolute difference over every float array
    final_committed: float  # final test error (fraction)
    final_again: float
    predictions_agree: float  # fraction of test examples given the same class
    seconds: float

    @property
    def verdict(self) -> str:
        if self.identical == self.arrays:
            return "identical"
        gap = abs(self.final_committed - self.final_again)
        return f"differs: test error {100 * gap:.2f} points apart, max |Δ| {self.max_abs:.2g}"


def compare(committed: Run, again: Run, seconds: float = math.nan) -> Comparison:
    """Array by array: how far ``again`` is from ``committed`` (timings aside)."""
    pairs = [(committed.probes, again.probes), (committed.evals, again.evals)]
    n = same = 0
    worst = 0.0
    for a, b in pairs:
        for name in sorted(set(a) | set(b)):
            n += 1
            x, y = a.get(name), b.get(name)
            if x is None or y is None or x.shape != y.shape:
                worst = math.inf
                continue
            if np.array_equal(x, y, equal_nan=True):
                same += 1
                continue
            d = np.abs(x.astype(np.float64) - y.astype(np.float64))
            worst = max(worst, float(np.nanmax(d)) if np.isfinite(d).any() else math.inf)
    pred_a, pred_b = committed.evals.get("test_pred"), again.evals.get("test_pred")
    agree = float(np.mean(pred_a == pred_b)) if pred_a is not None and pred_b is not None else 0.0
    return Comparison(
        key=committed.key,
        run=describe(committed.config),
        arrays=n,
        identical=same,
        max_abs=worst,
        final_committed=committed.final["test_error"],
        final_again=again.final["test_error"],
        predictions_agree=agree,
        seconds=seconds,
    )


def verify(
    profile: Profile,
    k: int = 1,
    keys: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> list[Comparison]:
    """Retrain ``keys`` (else the ``k`` cheapest committed records that were trained) from
    scratch, without the store, and compare each with its committed record."""
    from glorot.train import train

    found = audit(profile)
    committed = {key: found.planned[key].config for key in found.committed}
    unknown = [key for key in keys if key not in committed]
    if unknown:
        raise ConfigError(
            f"no committed record of {', '.join(unknown)} at {profile.name} scale; "
            f"`glorot records check --profile {profile.name}` lists them"
        )
    if not keys:
        check_int("k", k, 1)
        # the cheapest trained ones first; a net at initialization proves little
        keys = sorted(
            committed, key=lambda key: (committed[key].updates == 0, committed[key].updates, key)
        )[:k]
    out = []
    for key in keys:
        cfg = committed[key]
        stored = read(folder(profile) / key, cfg)
        if not isinstance(stored, Run):
            raise ConfigError(f"the committed record {key} does not verify: {stored}")
        log(f"retraining {key} ({describe(cfg)})")
        start = time.perf_counter()
        again = train(cfg, profile=profile.name)  # from scratch: no store, no checkpoint
        result = compare(stored, again, time.perf_counter() - start)
        log(
            f"  {result.verdict}; {result.identical} of {result.arrays} arrays bitwise equal; "
            f"final test error {100 * result.final_committed:.2f} % committed, "
            f"{100 * result.final_again:.2f} % again; {100 * result.predictions_agree:.2f} % of "
            f"test predictions agree ({result.seconds:.0f} s)"
        )
        out.append(result)
    return out

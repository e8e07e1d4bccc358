"""Significance of differences between test errors (Table 1: "statistically different at
p = 0.005").

The paper names the level of its test but not the test. Its runs are compared by their error rates
on a test set of n examples, so the test used here is the two-proportion z-test: with errors e1, e2
measured on n1, n2 examples and the pooled rate e = (e1·n1 + e2·n2) / (n1 + n2),

    z = (e1 − e2) / sqrt(e · (1 − e) · (1/n1 + 1/n2)),    p = P(|Z| ≥ |z|) = erfc(|z| / √2).

Two networks are scored on the *same* test examples, so their errors are positively correlated
and McNemar's test on the paired predictions would be the sharper test; the run records keep error
rates, not predictions, so the unpaired test is used. Ignoring a positive correlation overstates the
variance of the difference: the z-test is conservative here, never the reverse. Errors averaged
over seeds are compared with n = the test-set size (the seeds see the same examples, so they add
no examples).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

PAPER_ALPHA = 0.005  # Table 1's level of significance


@dataclass(frozen=True)
class ZTest:
    z: float  # > 0 when the first error is the larger
    p: float  # two-sided


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _check_rate(name: str, e: float, n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name}: the number of test examples must be an integer >= 1, got {n!r}")
    if not 0.0 <= e <= 1.0:
        raise ValueError(
            f"{name}: an error rate is a fraction in [0, 1], got {e!r} (a percentage?)"
        )


def two_proportion_z(e1: float, n1: int, e2: float, n2: int) -> ZTest:
    """The pooled two-proportion z-test of error rates ``e1`` on ``n1`` and ``e2`` on ``n2``
    examples (fractions, not percentages)."""
    _check_rate("first", e1, n1)
    _check_rate("second", e2, n2)
    pooled = (e1 * n1 + e2 * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0.0:  # both rates 0 or both 1: nothing differs
        return ZTest(z=0.0, p=1.0)
    z = (e1 - e2) / se
    return ZTest(z=z, p=math.erfc(abs(z) / math.sqrt(2.0)))


def p_vs_best(errors: Mapping[str, float], n: int) -> dict[str, float]:
    """For each entry of a column of error rates on ``n`` test examples, the p-value of its
    difference from the column's lowest error (1.0 for the lowest itself; NaN for a NaN error,
    e.g. a diverged run, which is compared with nothing)."""
    finite = {k: e for k, e in errors.items() if e == e}
    if not finite:
        return {k: math.nan for k in errors}
    best = min(finite, key=finite.get)
    return {
        k: math.nan if e != e else 1.0 if k == best else two_proportion_z(e, n, finite[best], n).p
        for k, e in errors.items()
    }


def differs_from_best(
    errors: Mapping[str, float], n: int, alpha: float = PAPER_ALPHA
) -> dict[str, bool]:
    """Whether each error differs from the column's lowest at level ``alpha`` (Table 1's bold)."""
    return {k: p < alpha for k, p in p_vs_best(errors, n).items()}

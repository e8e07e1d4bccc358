"""What the saturation claims read in a layer's distribution of activations z (§3, Figs. 3, 4, 10):
the 98th percentile of |z| over training and when it first reaches saturation, how symmetric in
sign z is (which that reading relies on), and the end-of-training histogram folded onto |z| with
its modes (C5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from glorot.probes import PERCENTILES

# C5, on the histogram folded onto |z|: the asymptotes are |z| > 0.9 (the saturation rule of
# glorot.models), the centre is |z| < 0.1, the knees of softsign are 0.6 <= |z| <= 0.8.
OUTER, CENTRE, KNEE = 0.9, 0.1, (0.6, 0.8)
OUTER_MASS = 0.02  # the asymptotes hold at least 2% of the values (then p98 of |z| > 0.9)
DIP = 2.0  # a mode stands at least twice as high as the lowest bin between 0.1 and 0.9
P98 = PERCENTILES.index(98)  # column of the 98th percentile in act_pct / absact_pct
# A tanh layer is saturated when its 98th percentile of |z| reaches 0.95: there tanh' = 1 - z²
# = 0.0975, under a tenth of its value at 0, for the top 2% of the layer's activations.
SATURATED_P98 = 0.95


def p98(run) -> np.ndarray:
    """The 98th percentile of |z| of every layer at every probe (P, L)."""
    return run.probes["absact_pct"][:, :, P98]


def sign_asymmetry(act_pct) -> float:
    """How far activations are from symmetric in sign, which the |z| reading of the 98th
    percentile relies on: the largest |2nd + 98th percentile of z| over probes and layers of
    ``act_pct`` (P, L, 5); 0 for a symmetric distribution, against percentiles of order 1."""
    pct = np.asarray(act_pct, dtype=float)
    return float(np.abs(pct[..., PERCENTILES.index(2)] + pct[..., P98]).max())


def fold(hist, edges) -> tuple[np.ndarray, np.ndarray]:
    """A histogram over z on edges symmetric about 0, folded onto |z|: (|z| edges, fractions).

    ``hist`` (..., bins); the last axis is folded. The sign symmetry of tanh and softsign networks
    makes the two halves mirror images, so folding loses nothing and pools their counts.
    """
    hist, edges = np.asarray(hist, dtype=float), np.asarray(edges, dtype=float)
    n = hist.shape[-1]
    if n % 2 or len(edges) != n + 1 or not np.allclose(edges, -edges[::-1]):
        raise ValueError(
            f"cannot fold a histogram of {n} bins on edges from {edges[0]} to {edges[-1]}: it "
            "needs an even number of bins on edges symmetric about 0 (probes.act_bins of tanh "
            "or softsign)"
        )
    half = n // 2
    return edges[half:], hist[..., half:] + hist[..., :half][..., ::-1]


def histogram_modes(hist, edges) -> dict:
    """What C5 reads in an end-of-training histogram (L, bins) averaged over its layers and folded
    onto |z|: mass at the asymptotes (|z| > OUTER) and the heights of the centre (|z| < CENTRE),
    of the asymptotes and of the lowest bin between them; the |z| bin of the highest bin, and by
    how much (relative) it stands above the runner-up (``mode_margin``)."""
    abs_edges, f = fold(np.asarray(hist, dtype=float).mean(axis=0), edges)
    centres = (abs_edges[:-1] + abs_edges[1:]) / 2
    middle = (centres >= CENTRE) & (centres <= OUTER)
    top = int(np.argmax(f))
    runner_up = float(np.partition(f, -2)[-2]) if f.size > 1 else 0.0
    return {
        "mode_margin": float((f[top] - runner_up) / max(f[top], 1e-12)),
        "outer_mass": float(f[centres > OUTER].sum()),
        "centre": float(f[centres < CENTRE].max()),
        "outer": float(f[centres > OUTER].max()),
        "dip": float(f[middle].min()),
        "mode": (float(abs_edges[top]), float(abs_edges[top + 1])),
    }


def as_arrays(updates, stat) -> tuple[np.ndarray, np.ndarray]:
    """``updates`` (P,) and a per-layer statistic (P, L) of a run as arrays, checked."""
    updates, stat = np.asarray(updates), np.asarray(stat, dtype=float)
    if stat.ndim != 2 or stat.shape[0] != updates.shape[0] or updates.ndim != 1:
        raise ValueError(
            f"expected updates (P,) and a per-layer statistic (P, L), got {updates.shape} and "
            f"{stat.shape}; pass run.probes['updates'] and e.g. run.probes['act_mean']"
        )
    if updates.size == 0:
        raise ValueError("the run has no probe point; it diverged before its first measurement")
    return updates, stat


def crossings(updates, p98, threshold: float = SATURATED_P98) -> list[int | None]:
    """Per layer, the first probed update at which the 98th percentile of |z| reaches
    ``threshold`` (None when it never does)."""
    updates, p98 = as_arrays(updates, p98)
    hit = p98 >= threshold
    return [int(updates[np.argmax(h)]) if h.any() else None for h in hit.T]


def crossings_text(times: Sequence[int | None]) -> str:
    return ", ".join(
        f"layer {i + 1} {'never' if t is None else f'at {t:,}'}" for i, t in enumerate(times)
    )

"""How a result moves with the length of training: the same runs read at earlier points.

Every run measures its test error along the way on the same test examples (its ``evals``), so a
long run also shows what a shorter one would have reached, without training anything again: the
first points of a 200k-update run are the default scale's 40k updates on the same seeds (at the
long scale's learning rates, which may differ from the default's selection).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from glorot.run import Run


def error_at(run: Run, updates: int) -> float:
    """Test error (fraction) of ``run`` measured at ``updates`` (NaN when it was not measured
    there, or the run had diverged by then)."""
    points = np.asarray(run.evals["updates"])
    hit = np.flatnonzero(points == updates)
    if hit.size == 0 or (run.diverged_at is not None and run.diverged_at <= updates):
        return math.nan
    return float(np.asarray(run.evals["test_error"])[hit[0]])


def lengths(runs: Sequence[Run], wanted: Sequence[int]) -> list[int]:
    """Those of ``wanted`` at which every run was measured, and the end of training, ascending."""
    common = set.intersection(*(set(map(int, r.evals["updates"])) for r in runs)) if runs else set()
    end = {min(int(r.config.updates) for r in runs)} if runs else set()
    return sorted((set(wanted) & common) | (end & common))


def _cell(values: Sequence[float]) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float) * 100
    if v.size == 0:
        return "—"
    if v.size == 1:
        return f"{v[0]:.2f}"
    return f"{v.mean():.2f} ± {v.std(ddof=1):.2f}"


def by_length_markdown(
    runs: Mapping[str, Sequence[Run]],
    wanted: Sequence[int],
    paper: Mapping[str, float] | None = None,
    names: Mapping[int, str] | None = None,
) -> str:
    """A Markdown table: one row per model, its test error (%) mean ± sd over its runs at each
    common point of ``wanted`` (and at the end), then the paper's value when given.
    ``names`` labels some columns (e.g. {40_000: "default's length"})."""
    every = [r for rs in runs.values() for r in rs]
    points = lengths(every, wanted)
    names = names or {}
    head = [f"{u:,} updates" + (f" ({names[u]})" if u in names else "") for u in points]
    if paper is not None:
        head.append("paper")
    rows = [
        "| model | " + " | ".join(head) + " |",
        "|---|" + "---|" * len(head),
    ]
    for label, rs in runs.items():
        cells = [_cell([error_at(r, u) for r in rs]) for u in points]
        if paper is not None:
            value = paper.get(label)
            cells.append("—" if value is None else f"{value:.2f}")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)

"""Helpers for the chapters: the scale a chapter runs at, figure captions, and claim verdicts.

A chapter calls :func:`setup` first, draws its figures with :mod:`glorot.figures`, writes each
caption with :func:`caption`, and ends with :func:`claims_table` and :func:`glue_claims`, which
pastes every verdict into the prose.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from IPython.display import Markdown

from glorot.claims import ClaimResult
from glorot.config import Profile, profile_from_env
from glorot.markdown import cell, table


def setup(profile: str = "default") -> Profile:
    """The profile a chapter runs at: ``profile`` from its parameters cell unless the environment
    variable ``GLOROT_PROFILE`` overrides it (CI runs every chapter at ``smoke``). Also makes the
    kernel draw figures inline whatever ``MPLBACKEND`` it inherited, sets the book's plotting
    theme and silences progress bars, whose output would fill the notebook."""
    from glorot.figures import theme

    os.environ["GLOROT_QUIET"] = "1"
    draw_inline()
    theme()
    return profile_from_env(profile)


def draw_inline() -> None:
    """In a Jupyter kernel, switch matplotlib to the inline backend: a kernel started with
    ``MPLBACKEND=Agg`` (common on headless servers) would otherwise display no figure at all.
    Outside a kernel (a script, the tests) the backend is left alone."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.run_line_magic("matplotlib", "inline")


def _profile_name(profile: Profile | str) -> str:
    return profile.name if isinstance(profile, Profile) else str(profile)


def _distinct(values: Iterable) -> str:
    return ", ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in dict.fromkeys(values))


def caption(runs, profile: Profile | str, chapter: str | None = None) -> str:
    """The provenance sentence of a figure: which runs made it (a run or several), at which scale,
    and the command that re-makes it (``glorot run <chapter> -p profile <profile>``)."""
    runs = [runs] if hasattr(runs, "config") else list(runs)
    name = _profile_name(profile)
    labels = "; ".join(f"{r.config.label} (`{r.config.key}`)" for r in runs)
    configs = [r.config for r in runs]
    scale = (
        f"{_distinct(c.updates for c in configs)} updates, "
        f"width {_distinct(c.width for c in configs)}, "
        f"batch {_distinct(c.batch for c in configs)}, "
        f"seed {_distinct(c.seed for c in configs)}"
    )
    command = (
        f"glorot run {chapter} -p profile {name}" if chapter else f"glorot book --profile {name}"
    )
    return f"Runs: {labels}. Scale: {name} ({scale}). Re-make: `{command}`."


def claims_table(results: Sequence[ClaimResult]) -> Markdown:
    """The chapter's claims as a Markdown table: id, the paper's statement, measured, verdict."""
    rows = ([r.id, *map(cell, (r.statement, r.measured, r.verdict))] for r in results)
    return Markdown(table(["claim", "the paper says", "measured", "verdict"], rows))


def glue_claims(results: Sequence[ClaimResult], chapter: str, profile: Profile | str) -> None:
    """Glue every claim's verdict and measured value (``C1_verdict``, ``C1_measured``: quote them
    in the prose with ``{glue:text}`C1_verdict```). ``chapter`` and ``profile`` name where the
    results come from; the scorecard recomputes them (:func:`glorot.scorecard.scorecard`).

    The glued values are not displayed (``display=False``), so the cell shows nothing twice."""
    from myst_nb import glue

    for r in results:
        glue(f"{r.id}_verdict", str(r.verdict), display=False)
        glue(f"{r.id}_measured", r.measured, display=False)

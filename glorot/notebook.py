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


def setup(profile: str = "long", show: bool = True) -> Profile:
    """The profile a chapter runs at: ``profile`` from its parameters cell unless the environment
    variable ``GLOROT_PROFILE`` overrides it (CI runs every chapter at ``smoke``). Also makes the
    kernel draw figures inline whatever ``MPLBACKEND`` it inherited, sets the book's plotting
    theme and silences progress bars, whose output would fill the notebook. With ``show``, the
    cell displays the scale and the records the page is made from (:func:`glorot.published.note`)."""
    from glorot.figures import theme

    os.environ["GLOROT_QUIET"] = "1"
    draw_inline()
    theme()
    chosen = profile_from_env(profile)
    if show:
        from IPython.display import display

        from glorot.published import note

        display(Markdown(note(chosen)))
    return chosen


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


def show_source(*objects, docstring: bool = False) -> Markdown:
    """The library's own lines that implement an equation, shown beside it: the source of each of
    ``objects`` (functions, methods, classes) as read from the installed package, with its file
    and line numbers, so that the page shows the code that ran, never a copy. The docstring is
    left out unless ``docstring``."""
    import ast
    import inspect
    import textwrap
    from pathlib import Path

    parts = []
    for obj in objects:
        lines, start = inspect.getsourcelines(obj)
        code = textwrap.dedent("".join(lines))
        if not docstring:
            node = ast.parse(code).body[0]
            first = node.body[0] if getattr(node, "body", None) else None
            is_doc = isinstance(first, ast.Expr) and isinstance(
                getattr(first, "value", None), ast.Constant
            )
            if is_doc and isinstance(first.value.value, str):
                kept = code.splitlines(keepends=True)
                code = "".join(kept[: first.lineno - 1] + kept[first.end_lineno :])
        where = Path(inspect.getsourcefile(obj)).resolve()
        package = Path(__file__).resolve().parent.parent
        shown = where.relative_to(package) if where.is_relative_to(package) else where.name
        end = start + len(lines) - 1
        parts.append(f"`{shown}`, lines {start}–{end}:\n\n```python\n{code.rstrip()}\n```")
    return Markdown("\n\n".join(parts))

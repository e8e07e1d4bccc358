"""Notebooks built in code for the tests: a parameterized demo chapter and cells with outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent

# The chapter of the fixture book: a parameters cell of literals, a cell that derives from them
# and glues the result, and prose that pastes it.
DEMO_PARAMETERS = 'profile = "long"\nn = 3\nscale = 0.5\nlabel = "demo"\ndepth = None  # int'
DEMO_BODY = (
    "from myst_nb import glue\n"
    "from glorot.notebook import setup\n"
    "P = setup(profile)\n"
    "glue('square', n * n, display=False)\n"
    "print(P.name, n * n)"
)
DEMO_PROSE = "# A demo chapter\n\nThe square of $n$ is {glue:text}`square` {cite}`glorot10a`."
INTRO = (
    "# Fixture book\n\nThe paper {cite}`glorot10a`, with math: $\\sqrt{6}$.\n\n"
    "```{bibliography}\n```\n"
)


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    # nbval only compares cells that were run: give each code cell an execution count.
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = i + 1
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def code(source: str, *, tags: tuple[str, ...] = (), outputs=()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def demo_notebook(extra: str = "") -> nbformat.NotebookNode:
    """The fixture chapter; ``extra`` appends a code cell (e.g. one that fails)."""
    cells = [
        nbformat.v4.new_markdown_cell(DEMO_PROSE),
        code(DEMO_PARAMETERS, tags=("parameters",)),
        code(DEMO_BODY),
    ]
    if extra:
        cells.append(code(extra))
    return notebook(*cells)

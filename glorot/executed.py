"""What an executed chapter must hold, and what it must not: its figures, and no machine paths or
copies of the notebook it was executed from."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

FIGURE_TAG = "figure"  # a code cell so tagged must display an image
# papermill's record in an executed notebook, cut to what does not repeat the notebook itself
PAPERMILL_KEPT = ("version", "parameters", "duration")


def _images(cell) -> int:
    return sum(
        any(mime.startswith("image/") for mime in output.get("data", {}))
        for output in cell.get("outputs", ())
    )


def figure_cells(nb) -> list[int]:
    """Indices of the code cells tagged :data:`FIGURE_TAG`: each must display an image."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and FIGURE_TAG in cell.get("metadata", {}).get("tags", [])
    ]


def missing_figures(declared, executed) -> list[int] | None:
    """What ``executed`` lacks of the figures ``declared`` (the notebook before execution) says it
    makes: the indices of tagged cells without an image. A notebook that tags no cell must show
    at least one image if its stored outputs held any (``[]`` when that fails); None: all there."""
    cells = figure_cells(declared)
    if cells:
        # Injected parameters shift the indices; the tag travels with the cell.
        missing = [i for i in figure_cells(executed) if not _images(executed.cells[i])]
        return missing or None
    had = sum(_images(c) for c in declared.cells)
    return [] if had and not sum(_images(c) for c in executed.cells) else None


def tidy(nb, roots: Sequence[Path] = ()) -> None:
    """Drop what an execution leaves that is no part of the chapter: papermill's record of its
    input (a nested copy of the previous notebook, outputs included) and paths, and the timings
    of every cell, which change at every execution. Text outputs that name a folder under one of
    ``roots`` (the repository) name it relative to it: ``data/mnist``, not the build machine's."""
    record = nb.metadata.get("papermill", {})
    nb.metadata["papermill"] = {k: record[k] for k in PAPERMILL_KEPT if k in record}
    prefixes = [f"{Path(root).resolve()}{os.sep}" for root in roots]
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", ()):
            _relative_paths(output, prefixes)


def _relative_paths(output, prefixes: Sequence[str]) -> None:
    def strip(text: str) -> str:
        for prefix in prefixes:
            text = text.replace(prefix, "")
        return text

    if "text" in output:
        output["text"] = strip(output["text"])
    if "traceback" in output:
        output["traceback"] = [strip(line) for line in output["traceback"]]
    for mime, value in output.get("data", {}).items():
        if isinstance(value, str) and not mime.startswith("image/"):
            output["data"][mime] = strip(value)

"""pytest configuration for the notebook checks (nbval) of the chapters in book/.

nbval compares every MIME type of a checked cell's outputs except a fixed skip list (PNG images,
metadata, ...). Glued values are stored under ``application/papermill.record/<type>``, so without
this hook a glued float or figure in a checked cell would be compared byte for byte and fail at
any other scale. The glue keys are added to nbval's skip list; what a cell prints stays checked.
"""

from __future__ import annotations

GLUE_PREFIX = "application/papermill.record/"  # myst_nb.ext.glue.GLUE_PREFIX


def _glue_keys(notebook) -> set[str]:
    """Glue keys of every type IPython can display, plus any other stored in ``notebook``."""
    from IPython.core.formatters import DisplayFormatter

    keys = {GLUE_PREFIX + mime for mime in DisplayFormatter().formatters}
    for cell in notebook.cells:
        for output in cell.get("outputs", ()):
            keys |= {k for k in output.get("data", {}) if k.startswith(GLUE_PREFIX)}
    return keys


def pytest_collection_modifyitems(items) -> None:
    done = set()
    for item in items:
        collector = item.parent
        if id(collector) in done or not hasattr(collector, "skip_compare"):
            continue
        done.add(id(collector))
        collector.skip_compare = (*collector.skip_compare, *sorted(_glue_keys(collector.nb)))

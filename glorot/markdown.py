"""Pipe tables in Markdown: the one shape of every table the book prints from code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def cell(text) -> str:
    """Text that fits in one cell of a Markdown table (pipes escaped, newlines as spaces)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def row(cells: Iterable) -> str:
    """One line of a pipe table: ``| a | b |``."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(header: Sequence, rows: Iterable[Iterable], align: Sequence[str] | None = None) -> str:
    """A pipe table: the ``header`` line, the rule (``align``: one of ``---``, ``---:`` per
    column; left-aligned by default), then one line per row. Cells are written as given."""
    rule = "|" + "|".join(align if align is not None else ["---"] * len(header)) + "|"
    return "\n".join([row(header), rule, *(row(r) for r in rows)])

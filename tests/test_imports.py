"""Every module of glorot imports, and no two modules import each other, directly or through others.

The graph is read from the source: each ``import glorot.x`` and ``from glorot[.x] import y`` of a
module, at its top level or inside a function, is an edge to the glorot module it names (``y`` when
``y`` is itself a module). A cycle is found by a depth-first search, which the synthetic graphs
below exercise.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "glorot"


def module_names() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (a package is its ``__init__``)."""
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imported(path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The glorot modules that the module in ``path`` imports, anywhere in its body."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:
                    targets.add(sub)
                elif node.module in modules:
                    targets.add(node.module)
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imported(path, modules) - {name} for name, path in modules.items()}


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` ({node: successors}) as [a, b, ..., a], or None when it has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for succ in sorted(graph.get(node, ())):
            if state.get(succ) == 1:
                return path[path.index(succ) :] + [succ]
            if succ not in state and (cycle := visit(succ)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None  # a diamond is no cycle
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": {"y"}, "y": {"y2"}, "y2": {"y"}}) == ["y", "y2", "y"]


def test_the_graph_sees_imports_inside_functions(tmp_path):
    (tmp_path / "m.py").write_text(
        "import glorot.a\n\ndef f():\n    from glorot.b import name\n    from glorot import c\n"
    )
    modules = {n: Path() for n in ("glorot", "glorot.a", "glorot.b", "glorot.c")}
    assert imported(tmp_path / "m.py", modules) == {"glorot.a", "glorot.b", "glorot.c"}


def test_glorot_has_no_import_cycle():
    graph = import_graph()
    assert "glorot.data" in graph and "glorot.claims.errors" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(module_names()))
def test_every_module_imports(name):
    importlib.import_module(name)

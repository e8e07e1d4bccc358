"""The run record: test predictions kept compactly and served back by the store; no import
cycle between the modules that write records."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
from test_train import one_thread, tiny  # noqa: F401

import glorot
import glorot.store as store
from glorot.train import train


def test_test_predictions_round_trip_through_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "cache"))
    cfg = tiny()
    run = store.load_or_run(cfg)
    pred, true = run.evals["test_pred"], run.evals["test_true"]
    assert pred.dtype == true.dtype == np.uint8 and pred.shape == true.shape == (cfg.n_test,)
    assert np.mean(pred != true) == run.final["test_error"]  # the predictions of the last point
    loaded = store.load(cfg)
    assert loaded is not None
    for key in ("test_pred", "test_true"):
        assert loaded.evals[key].dtype == np.uint8
        np.testing.assert_array_equal(loaded.evals[key], run.evals[key])


def test_predictions_of_a_diverged_run_are_those_of_its_last_measurement():
    cfg = tiny(
        activation="sigmoid", lr=1e37, updates=20, probe_every=2, probe_dense=0, jacobian_examples=0
    )
    run = train(cfg)
    assert run.diverged_at is not None
    last = run.evals["test_error"][-1]
    assert np.mean(run.evals["test_pred"] != run.evals["test_true"]) == last


def _imports(path: Path) -> set[str]:
    """The glorot modules ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("glorot"):
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("glorot")}
    return found


def test_no_import_cycle_in_the_package():
    root = Path(glorot.__file__).parent
    modules = {
        "glorot." + ".".join(p.relative_to(root).with_suffix("").parts): p
        for p in root.rglob("*.py")
        if p.name != "__init__.py"
    }
    graph = {m: _imports(p) & set(modules) for m, p in modules.items()}
    assert "glorot.store" not in graph["glorot.train"]  # the cycle there was

    def reaches(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo += graph[module]
        return seen

    # The modules that train, record and store runs: none is reachable from itself.
    for module in ("store", "train", "checkpoint", "run", "provenance", "backprop", "probes"):
        assert f"glorot.{module}" not in reaches(f"glorot.{module}"), module

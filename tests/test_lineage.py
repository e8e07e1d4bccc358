"""The runs a chapter read, kept with its outputs: recorded while it executes, stamped into the
notebook, and reported as changed when the store's record is no longer the one it read."""

from __future__ import annotations

import json

import nbformat
import numpy as np

from glorot import lineage
from glorot.config import RunConfig
from glorot.run import Run
from glorot.store import run_dir, save


def stored(tmp_path, monkeypatch, value=0.5, seed=0):
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "cache"))
    cfg = RunConfig(width=8, updates=10, seed=seed)
    evals = {"updates": np.array([10]), "test_error": np.array([value])}
    run = Run(cfg, {"updates": np.array([10])}, evals)
    save(run)
    return run


def test_nothing_is_written_unless_a_chapter_is_being_recorded(tmp_path, monkeypatch):
    monkeypatch.delenv(lineage.READS_ENV, raising=False)
    run = stored(tmp_path, monkeypatch)
    assert lineage.read([run]) == [run]
    assert not list(tmp_path.glob("*.jsonl"))


def test_recorded_runs_are_stamped_and_a_rewritten_record_is_reported(tmp_path, monkeypatch):
    run = stored(tmp_path, monkeypatch)
    nb_path = tmp_path / "chapter.ipynb"
    nb = nbformat.v4.new_notebook()
    with lineage.recording() as reads:
        lineage.read([run])
        lineage.stamp(nb.metadata, lineage.reads(reads))
    nbformat.write(nb, nb_path)
    assert not reads.exists()  # the record of reads is temporary
    key = run.config.key
    meta = nbformat.read(nb_path, as_version=4).metadata[lineage.METADATA_KEY]
    assert meta == {key: json.loads((run_dir(run.config) / "meta.json").read_text())["meta_sha256"]}
    assert lineage.notebook_changed(nb_path) == []
    stored(tmp_path, monkeypatch, value=0.25)  # the same key, other numbers (another machine)
    assert lineage.notebook_changed(nb_path) == [key]


def test_a_deleted_record_counts_as_changed_and_an_unstamped_page_as_unchanged(
    tmp_path, monkeypatch
):
    run = stored(tmp_path, monkeypatch)
    metadata = lineage.stamp({}, {run.config.key: lineage.digest(run.config.key)})
    (run_dir(run.config) / "meta.json").unlink()
    assert lineage.changed(metadata) == [run.config.key]
    assert lineage.changed({}) == []
    assert lineage.notebook_changed(tmp_path / "missing.ipynb") == []

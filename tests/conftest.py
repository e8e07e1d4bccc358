"""Fixtures: a tiny book (the repository's configuration, one parameterized chapter) in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from fixture_notebooks import INTRO, REPO, demo_notebook


@pytest.fixture
def fixture_book(tmp_path: Path) -> Path:
    """A book in tmp_path with the repository's _config.yml and references, an intro, the demo
    chapter ``01_demo`` and a toc entry ``book/02_later`` that does not exist yet."""
    (tmp_path / "book").mkdir()
    shutil.copy(REPO / "_config.yml", tmp_path / "_config.yml")
    shutil.copy(REPO / "book" / "references.bib", tmp_path / "book" / "references.bib")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n"
        "  - file: book/01_demo\n  - file: book/02_later\n"
    )
    (tmp_path / "book" / "intro.md").write_text(INTRO)
    nbformat.write(demo_notebook(), tmp_path / "book" / "01_demo.ipynb")
    return tmp_path


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run records and claim files go to a fresh cache, not the repository's."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GLOROT_CACHE", str(cache))
    return cache


@pytest.fixture
def counted(monkeypatch) -> list:
    """Records every training the store starts (the configs, in order)."""
    import glorot.store as store
    from glorot.train import train

    calls = []

    def counting_train(cfg, **kwargs):
        calls.append(cfg)
        return train(cfg, **kwargs)

    monkeypatch.setattr(store, "train", counting_train)
    return calls

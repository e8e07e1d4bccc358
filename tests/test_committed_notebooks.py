"""The committed chapters as a reader downloads them: lean, and free of the build machine.

``glorot book`` tidies every notebook it executes (:func:`glorot.book.tidy`): papermill's record
of its input, a full copy of the previous notebook with its images, nested once per execution,
is dropped, and with it the paths of the machine that executed it.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from fixture_notebooks import REPO

from glorot import book, executed

MAX_BYTES = 8_000_000  # all committed notebooks together
# An absolute path of a build machine: a home, a temporary or a system folder.
MACHINE_PATH = re.compile(r"(?<![\w.:/])/(?:home|root|tmp|work|Users|usr|opt|var|mnt|srv)/[\w.-]+")

NOTEBOOKS = sorted(book.chapters(REPO).items())


def _params():
    return [pytest.param(path, id=name) for name, path in NOTEBOOKS]


def test_committed_notebooks_weigh_at_most_8_mb_together():
    sizes = {name: path.stat().st_size for name, path in NOTEBOOKS}
    assert sum(sizes.values()) <= MAX_BYTES, sizes


@pytest.mark.parametrize("path", _params())
def test_a_committed_notebook_keeps_no_copy_of_an_earlier_execution(path):
    nb = nbformat.read(path, as_version=4)
    assert set(nb.metadata.get("papermill", {})) <= set(executed.PAPERMILL_KEPT)
    for cell in nb.cells:
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata


@pytest.mark.parametrize("path", _params())
def test_a_committed_notebook_names_no_path_of_the_build_machine(path):
    found = sorted(set(MACHINE_PATH.findall(path.read_text())))
    assert not found, f"{path.name}: {found}"


def test_the_machine_path_pattern_finds_absolute_paths_and_spares_urls_and_relative_ones():
    text = "see /home/ann/data and /work/main/book/x.ipynb; https://example.org/usr/x; ./tmp/y"
    assert MACHINE_PATH.findall(text) == ["/home/ann", "/work/main"]

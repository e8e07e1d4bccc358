"""The book pipeline: toc, parameters, stamps, papermill execution, the HTML build, and nbval."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from fixture_notebooks import REPO, code, demo_notebook, notebook

from glorot import book, parameters
from glorot import executed as checks
from glorot.config import PROFILES, ConfigError

SMOKE = PROFILES["smoke"]

# ---- the table of contents -----------------------------------------------------------------------


def test_toc_files_follow_parts_chapters_and_sections(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: One\n    chapters:\n      - file: book/a\n        sections:\n"
        "          - file: book/a1\n  - caption: Two\n    chapters:\n      - file: book/b\n"
    )
    assert book.toc_files(tmp_path) == ["book/intro", "book/a", "book/a1", "book/b"]


def test_repository_toc_is_the_book_root_then_notebook_chapters():
    files = book.toc_files(REPO)
    assert files[0] == "book/intro" and (REPO / "book" / "intro.md").is_file()
    assert all(f.startswith("book/") for f in files)
    assert len(set(files)) == len(files)
    for f in files[1:]:
        assert not (REPO / f"{f}.md").exists(), f"{f} should be a notebook, not a page"


def test_chapters_are_the_toc_entries_that_exist_as_notebooks(fixture_book):
    assert list(book.chapters(fixture_book)) == ["01_demo"]
    assert book.missing_files(fixture_book) == ["book/02_later"]
    with pytest.raises(ConfigError, match="unknown chapter '02_later'; choose one of 01_demo"):
        book.chapter_path(fixture_book, "02_later")


# ---- parameters ----------------------------------------------------------------------------------


def spec(default: str, type_name: str = "None", help: str = "") -> dict:
    return {"default": default, "inferred_type_name": type_name, "help": help}


@pytest.mark.parametrize(
    ("default", "text", "value"),
    [
        ("3", "5", 5),
        ("0.01", "1", 1.0),  # an int is a float
        ("0.01", "3e-3", 0.003),
        ('"tanh"', "softsign", "softsign"),
        ('"x"', "123", "123"),  # a string parameter takes the text as given
        ("False", "True", True),
        ("(1, 2)", "[3, 4]", (3, 4)),
    ],
)
def test_coerce_accepts_values_of_the_default_type(default, text, value):
    got = parameters.coerce("p", text, spec(default))
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("default", "text", "expected"),
    [("3", "3.5", "int"), ("3", "x", "int"), ("3", "True", "int"), ("0.1", "fast", "float")],
)
def test_coerce_rejects_values_of_another_type(default, text, expected):
    with pytest.raises(ConfigError, match=f"parameter 'p' takes a value of type {expected}"):
        parameters.coerce("p", text, spec(default))


def test_coerce_uses_the_declared_type_of_a_none_default():
    assert parameters.coerce("depth", "5", spec("None", help="int")) == 5
    assert parameters.coerce("lr", "1", spec("None", type_name="float")) == 1.0
    with pytest.raises(ConfigError, match="type int"):
        parameters.coerce("depth", "deep", spec("None", help="int"))
    # Undeclared: anything goes.
    assert parameters.coerce("x", "deep", spec("None", help="any value")) == "deep"


def test_profile_parameter_must_name_a_profile():
    assert parameters.coerce("profile", "smoke", spec('"default"')) == "smoke"
    with pytest.raises(ConfigError, match="unknown profile 'huge'; choose one of smoke, default"):
        parameters.coerce("profile", "huge", spec('"default"'))


def test_check_parameters_names_the_notebooks_parameters(fixture_book):
    nb = fixture_book / "book" / "01_demo.ipynb"
    assert book.check_parameters(nb, [("n", "4"), ("depth", "2")]) == {"n": 4, "depth": 2}
    with pytest.raises(ConfigError, match="choose one of profile, n, scale, label, depth"):
        book.check_parameters(nb, [("width", "4")])


def test_run_name_is_a_file_name():
    name = book.run_name("02_sigmoid", {"depth": 5, "label": "a b/c"})
    assert name == "02_sigmoid-depth5-labelabc.ipynb"


# ---- stamps --------------------------------------------------------------------------------------


def test_stamp_changes_with_inputs_and_parameters_but_not_outputs(fixture_book):
    nb_path = fixture_book / "book" / "01_demo.ipynb"
    base = book.stamp(nb_path, {}, "smoke")
    assert book.stamp(nb_path, {}, "smoke") == base
    assert book.stamp(nb_path, {"n": 4}, "smoke") != base
    assert book.stamp(nb_path, {}, "default") != base
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="9\n")]
    nbformat.write(nb, nb_path)
    assert book.stamp(nb_path, {}, "smoke") == base
    nb.cells[2].source += "\nprint('more')"
    nbformat.write(nb, nb_path)
    assert book.stamp(nb_path, {}, "smoke") != base


# ---- execution and the HTML build ----------------------------------------------------------------


def _outputs_text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.slow
def test_smoke_book_executes_into_a_copy_and_builds_offline_html(fixture_book, isolated_cache):
    source = fixture_book / "book" / "01_demo.ipynb"
    committed = source.read_bytes()
    lines = []
    target = book.execute_book(fixture_book, SMOKE, progress=False, log=lines.append)

    assert target == fixture_book / "_build" / "smoke"
    assert source.read_bytes() == committed, "a smoke run must not touch the committed notebook"
    executed = nbformat.read(target / "book" / "01_demo.ipynb", as_version=4)
    assert "smoke 9" in _outputs_text(executed)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert executed.metadata["glorot"]["profile"] == "smoke"
    assert lines[0] == "[1/1] 01_demo: executing at smoke scale"

    lines.clear()
    book.execute_book(fixture_book, SMOKE, progress=False, log=lines.append)
    assert lines == ["[1/1] 01_demo: up to date"]

    index = book.build_html(target, log=lines.append)
    assert "not yet written, left out of the book: book/02_later" in lines
    site = index.parent
    assert index.is_file()
    page = (site / "book" / "01_demo.html").read_text()
    assert '<span class="pasted-text">9</span>' in page  # the glued value, pasted
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert "cdn.jsdelivr" not in text and "mathjax@" not in text.lower(), html
        # Every script and stylesheet is a relative path: the site works from file://.
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", text):
            for url in re.findall(r'(?:src|href)="([^"]+)"', tag):
                assert "://" not in url and not url.startswith("/"), (html.name, tag)


@pytest.mark.slow
def test_the_published_book_executes_in_place(fixture_book, isolated_cache):
    source = fixture_book / "book" / "01_demo.ipynb"
    stale = nbformat.read(source, as_version=4)  # as left by an execution at smoke scale
    injected = nbformat.v4.new_code_cell('profile = "smoke"')
    injected.metadata["tags"] = ["injected-parameters"]
    stale.cells.insert(2, injected)
    nbformat.write(stale, source)
    target = book.execute_book(fixture_book, PROFILES[book.PUBLISHED], progress=False, log=print)
    assert target == fixture_book
    executed = nbformat.read(source, as_version=4)
    assert f"{book.PUBLISHED} 9" in _outputs_text(executed)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert book.stored_stamp(source) == book.stamp(source, {}, book.PUBLISHED)


@pytest.mark.slow
def test_a_failing_chapter_is_named_and_its_notebook_written(fixture_book, isolated_cache):
    nbformat.write(
        demo_notebook(extra="raise ValueError('boom')"), fixture_book / "book" / "01_demo.ipynb"
    )
    with pytest.raises(book.ChapterError, match="chapter 01_demo failed") as info:
        book.execute_book(fixture_book, SMOKE, progress=False, log=print)
    failed = nbformat.read(info.value.notebook, as_version=4)
    assert "boom" in str(failed.cells[-1].outputs)
    assert book.stored_stamp(info.value.notebook) is None  # so the next run executes it again


# ---- nbval ---------------------------------------------------------------------------------------


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def glued(value: str) -> dict:
    return {
        "output_type": "display_data",
        "data": {"application/papermill.record/text/plain": value},
        "metadata": {"scrapbook": {"name": "x", "mime_prefix": "application/papermill.record/"}},
    }


def checks_notebook(*, checked: str, unchecked: str, glue: str, timing: str, marker: str):
    """Cells whose stored outputs are given; the code prints 4, 5, glues 0.25, prints a time."""
    check = ("nbval-check-output",)
    return notebook(
        code("print(2 + 2)", tags=check, outputs=[stream(checked)]),
        code("print(2 + 3)", outputs=[stream(unchecked)]),
        code(
            "from myst_nb import glue\nglue('x', 0.25, display=False)",
            tags=check,
            outputs=[glued(glue)],
        ),
        code("print('took 0.01 s at 0x7f00aa11bb22')", tags=check, outputs=[stream(timing)]),
        code("# NBVAL_CHECK_OUTPUT\nprint(6)", outputs=[stream(marker)]),
    )


def nbval_outcomes(folder: Path) -> dict[str, str]:
    """Run the README's nbval command on ``folder``; return {'<notebook>::Cell i': outcome}."""
    shutil.copy(REPO / "conftest.py", folder / "conftest.py")
    report = folder / "report.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            f"--nbval-sanitize-with={REPO / 'tests' / 'nbval_sanitize.cfg'}",
            f"--rootdir={folder}",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            str(folder),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[f"{Path(case.get('classname', '')).name}::{case.get('name')}"] = (
            "failed" if failed else "passed"
        )
    return outcomes


@pytest.mark.slow
def test_nbval_fails_exactly_when_a_checked_output_changes(tmp_path):
    good = dict(
        checked="4\n", unchecked="5\n", glue="0.25", timing="took 3.2 s at 0x55d1c0ffee00\n"
    )
    nbformat.write(checks_notebook(**good, marker="6\n"), tmp_path / "good.ipynb")
    # Altered: the checked cell, the unchecked one, the glued value; a line marker cell.
    bad = dict(good, checked="5\n", unchecked="7\n", glue="0.5")
    nbformat.write(checks_notebook(**bad, marker="7\n"), tmp_path / "bad.ipynb")

    outcomes = nbval_outcomes(tmp_path)
    assert {k: v for k, v in outcomes.items() if k.startswith("good")} == {
        f"good.ipynb::Cell {i}": "passed" for i in range(5)
    }
    # Only the tagged cell (0) and the `# NBVAL_CHECK_OUTPUT` cell (4) fail: the unchecked cell
    # is not compared in lax mode, the glued value is skipped, the time and address sanitised.
    assert {k: v for k, v in outcomes.items() if k.startswith("bad")} == {
        "bad.ipynb::Cell 0": "failed",
        "bad.ipynb::Cell 1": "passed",
        "bad.ipynb::Cell 2": "passed",
        "bad.ipynb::Cell 3": "passed",
        "bad.ipynb::Cell 4": "failed",
    }


# ---- the chapters' own conventions ---------------------------------------------------------------

CHAPTERS = sorted(book.chapters(REPO).items())


@pytest.mark.parametrize(("name", "path"), CHAPTERS, ids=[name for name, _ in CHAPTERS])
def test_chapter_parameters_are_literals_and_markers_are_on_their_own_line(name, path):
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{name}: exactly one cell tagged 'parameters'"
    for statement in ast.parse(params[0].source).body:
        assert isinstance(statement, (ast.Assign, ast.AnnAssign)), f"{name}: assignments only"
        ast.literal_eval(statement.value)  # raises on anything but a plain literal
    for cell in nb.cells:
        for line in cell.source.splitlines():
            # nbval ignores a marker that follows code on the same line.
            if "NBVAL_" in line:
                assert line.strip().startswith("#"), f"{name}: marker after code: {line!r}"


# ---- parameters checked by the run configuration ---------------------------------------------


def test_a_none_default_takes_the_type_that_opens_its_comment():
    comment = spec("None", help="int; None: the profile's number of updates")
    assert parameters.coerce("updates", "100", comment) == 100
    with pytest.raises(ConfigError, match="parameter 'updates' takes a value of type int"):
        parameters.coerce("updates", "abc", comment)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"depth": -1}, "depth must be an integer >= 1, got -1"),
        ({"depth": 0}, "depth must be an integer >= 1, got 0"),
        ({"width": 0}, "width must be an integer >= 1, got 0"),
        ({"lr": -1.0}, "learning rate must be a finite number in (0, "),
        ({"updates": -5}, "updates must be an integer >= 0, got -5"),
        ({"pixel_range": "0255"}, "unknown pixel range '0255'; choose one of"),
    ],
)
def test_run_values_out_of_range_are_refused_with_the_range(values, message):
    with pytest.raises(ConfigError, match=f"chapter 02_sigmoid: parameter {re.escape(message)}"):
        book.check_run_values(values, SMOKE, "02_sigmoid")


def test_run_values_in_range_and_other_parameters_pass():
    book.check_run_values({"depth": 4, "lr": None, "grid": 81, "n_in": 10}, SMOKE, "04_cost")


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (("depth", "-1"), "depth must be an integer >= 1, got -1"),
        (("depth", "0"), "depth must be an integer >= 1, got 0"),
        (("lr", "-1"), "learning rate must be a finite number in (0, "),
        (("updates", "abc"), "parameter 'updates' takes a value of type int"),
    ],
)
def test_glorot_run_refuses_a_bad_value_before_a_kernel_starts(tmp_path, capsys, param, message):
    from glorot import cli

    out = tmp_path / "run.ipynb"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "02_sigmoid", "-p", *param, "--out", str(out), "--profile", "smoke"])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists(), "no notebook is left behind"


def test_width_zero_is_refused_for_the_chapter_that_takes_a_width(tmp_path, capsys):
    from glorot import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "05_gradients_at_init", "-p", "width", "0", "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    assert "width must be an integer >= 1, got 0" in capsys.readouterr().err


# ---- what an executed chapter holds ----------------------------------------------------------

PNG = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}}


def test_missing_figures_names_the_tagged_cells_without_an_image():
    declared = notebook(code("a", tags=("figure",)), code("b"), code("c", tags=("figure",)))
    executed = notebook(
        code("a", tags=("figure",), outputs=[PNG]), code("b"), code("c", tags=("figure",))
    )
    assert book.missing_figures(declared, executed) == [2]
    executed.cells[2].outputs = [nbformat.from_dict(PNG)]
    assert book.missing_figures(declared, executed) is None


def test_an_untagged_chapter_must_show_some_figure_if_it_did_before():
    had = notebook(code("plot()", outputs=[PNG]), code("print(1)"))
    assert book.missing_figures(had, notebook(code("plot()"), code("print(1)"))) == []
    assert book.missing_figures(had, had) is None
    never = notebook(code("print(1)"))
    assert book.missing_figures(never, never) is None


def test_tidy_drops_papermills_nested_input_paths_and_timings():
    nb = notebook(code("x = 1"))
    nested = {"metadata": {"papermill": {"input_path": {"cells": ["..."] * 100}}}}
    nb.metadata["papermill"] = {
        "input_path": nested,
        "output_path": "/home/someone/glorot/book/x.ipynb",
        "parameters": {"profile": "smoke"},
        "version": "2.7.0",
        "duration": 1.5,
        "environment_variables": {},
    }
    nb.cells[0].metadata["papermill"] = {"duration": 0.1, "start_time": "2026-01-01"}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    nb.cells[0].outputs = [
        nbformat.from_dict(stream("put the files in /srv/build/glorot/data/mnist\n")),
        nbformat.from_dict(
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {
                    "text/markdown": "in `/srv/build/glorot/data/cifar10`",
                    "image/png": "/srv/",
                },
            }
        ),
    ]
    book.tidy(nb, [Path("/srv/build/glorot")])
    assert nb.cells[0].outputs[0].text == "put the files in data/mnist\n"
    assert nb.cells[0].outputs[1].data["text/markdown"] == "in `data/cifar10`"
    assert nb.metadata["papermill"] == {
        "version": "2.7.0",
        "parameters": {"profile": "smoke"},
        "duration": 1.5,
    }
    assert "papermill" not in nb.cells[0].metadata and "execution" not in nb.cells[0].metadata


FIGURE_CELL = "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"


@pytest.mark.slow
def test_a_figure_lost_to_a_non_inline_backend_fails_naming_the_chapter(
    fixture_book, isolated_cache
):
    # A kernel that switches to Agg itself (as MPLBACKEND=Agg once did) shows no figure.
    nb = demo_notebook()
    nb.cells.append(
        code("import matplotlib\nmatplotlib.use('Agg')\n" + FIGURE_CELL, tags=("figure",))
    )
    nbformat.write(nb, fixture_book / "book" / "01_demo.ipynb")
    with pytest.raises(book.FigureError, match=r"chapter 01_demo executed without its figures"):
        book.execute_book(fixture_book, SMOKE, progress=False, log=print)


@pytest.mark.slow
def test_a_chapter_executed_with_mplbackend_agg_shows_its_figures(
    tmp_path, isolated_cache, monkeypatch
):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    source = REPO / "book" / "04_cost.ipynb"
    out = tmp_path / "04_cost.ipynb"
    book.execute(source, out, params={"profile": "smoke"}, profile=SMOKE, progress=False)
    executed = nbformat.read(out, as_version=4)
    tagged = checks.figure_cells(executed)
    assert len(tagged) == len(checks.figure_cells(nbformat.read(source, as_version=4))) >= 2
    assert all(checks._images(executed.cells[i]) for i in tagged)
    assert set(executed.metadata["papermill"]) <= set(checks.PAPERMILL_KEPT)

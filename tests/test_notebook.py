"""The chapters' helpers: profile setup, figure captions, the claims table and glued verdicts."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from glorot import notebook
from glorot.claims import ClaimResult, Verdict
from glorot.config import PROFILES, ConfigError, RunConfig


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("GLOROT_PROFILE", raising=False)
    monkeypatch.delenv("GLOROT_QUIET", raising=False)


def test_setup_returns_the_profile_and_silences_progress(clean_env):
    assert notebook.setup("smoke") is PROFILES["smoke"]
    assert os.environ["GLOROT_QUIET"] == "1"


def test_setup_is_overridden_by_the_environment(clean_env, monkeypatch):
    monkeypatch.setenv("GLOROT_PROFILE", "smoke")
    assert notebook.setup("default").name == "smoke"
    with pytest.raises(ConfigError, match="unknown profile"):
        monkeypatch.setenv("GLOROT_PROFILE", "tiny")
        notebook.setup("default")


def fake_run(**fields) -> SimpleNamespace:
    return SimpleNamespace(config=RunConfig(**fields))


def test_caption_names_runs_scale_and_command():
    a = fake_run(activation="tanh", width=64, updates=400)
    b = fake_run(activation="softsign", init="normalized", width=64, updates=400)
    text = notebook.caption([a, b], PROFILES["smoke"], chapter="03_tanh_softsign")
    assert f"Tanh d5 (`{a.config.key}`)" in text
    assert f"Softsign N d5 (`{b.config.key}`)" in text
    assert "Scale: smoke (400 updates, width 64, batch 10, seed 0)" in text
    assert text.endswith("Re-make: `glorot run 03_tanh_softsign -p profile smoke`.")


def test_caption_of_one_run_and_of_mixed_scales():
    one = notebook.caption(fake_run(updates=0), "default")
    assert "(0 updates," in one and "`glorot book --profile default`" in one
    mixed = notebook.caption((fake_run(updates=n) for n in (0, 40_000, 40_000)), "default")
    assert "(0, 40,000 updates," in mixed


RESULTS = [
    ClaimResult("C9", "max/min of std over layers < 2", "ratio 1.3 | 1.1", Verdict.PASS, "smoke"),
    ClaimResult("C10", "|mean sv - 0.5| < 0.1", "0.71", Verdict.FAIL, "smoke"),
]


def test_claims_table_has_one_row_per_claim():
    table = notebook.claims_table(RESULTS).data.splitlines()
    assert table[0] == "| claim | the paper says | measured | verdict |"
    assert len(table) == 2 + len(RESULTS)
    assert table[2].startswith("| C9 | At init, weight gradients are roughly constant")
    assert "ratio 1.3 \\| 1.1" in table[2]  # a | in a value does not split the row
    assert table[2].endswith("| ✔ |") and table[3].endswith("| ✗ |")


def test_glue_claims_glues_every_verdict_and_value_hidden(isolated_cache, monkeypatch):
    import myst_nb.ext.glue

    shown = []
    monkeypatch.setattr(myst_nb.ext.glue, "ipy_display", lambda data, **kw: shown.append(data))
    assert notebook.glue_claims(RESULTS, "05_gradients_at_init", PROFILES["smoke"]) is None

    # Glued under hidden keys (not displayed twice), read in the prose with {glue:text}.
    assert shown == [
        {"application/papermill.record/text/plain": text}
        for text in ("'✔'", "'ratio 1.3 | 1.1'", "'✗'", "'0.71'")
    ]
    assert not isolated_cache.exists()  # nothing is left on disk: the scorecard recomputes


def test_setup_leaves_the_backend_alone_outside_a_kernel(clean_env):
    import matplotlib

    before = matplotlib.get_backend()
    notebook.setup("smoke")
    assert matplotlib.get_backend() == before


@pytest.mark.slow
def test_setup_draws_inline_in_a_kernel_started_with_mplbackend_agg(tmp_path, monkeypatch):
    # Executed by papermill directly, without glorot.book's kernel environment: nbval and
    # Jupyter start kernels that way, with the caller's MPLBACKEND.
    import nbformat
    import papermill
    from fixture_notebooks import REPO, code
    from fixture_notebooks import notebook as make_notebook

    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    source = make_notebook(
        code(
            "from glorot.notebook import setup\nsetup('smoke')\n"
            "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()"
        )
    )
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(source, str(out), kernel_name="python3", progress_bar=False)
    outputs = nbformat.read(out, as_version=4).cells[0].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_show_source_shows_the_library_lines_with_their_place_and_no_docstring():
    import inspect

    from glorot.models import normalized_bound

    text = notebook.show_source(normalized_bound).data
    lines, start = inspect.getsourcelines(normalized_bound)
    assert f"`glorot/models.py`, lines {start}–{start + len(lines) - 1}:" in text
    assert "return math.sqrt(6 / (fan_in + fan_out))" in text
    assert "Eq. 16" not in text  # the docstring is left out
    assert "Eq. 16" in notebook.show_source(normalized_bound, docstring=True).data

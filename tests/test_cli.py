"""The ``glorot`` command: bad input fails early with exit code 2 and the valid choices; the
commands that do work write what they say."""

from __future__ import annotations

import json

import numpy as np
import pytest

from glorot import book
from glorot.cli import main


def fails(argv: list[str], capsys) -> str:
    """Run ``glorot argv``; assert it exits with code 2 and return what it wrote to stderr."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.fixture
def in_book(fixture_book, monkeypatch):
    monkeypatch.chdir(fixture_book / "book")  # glorot finds the book from any folder inside it
    return fixture_book


@pytest.fixture
def no_execution(monkeypatch):
    """Any attempt to execute a notebook fails the test: errors must come before any work."""

    def refuse(*args, **kwargs):
        raise AssertionError("a notebook was executed although the arguments were invalid")

    monkeypatch.setattr(book, "execute", refuse)


def test_run_unknown_chapter_lists_the_chapters(in_book, no_execution, capsys):
    err = fails(["run", "02_sigmiod"], capsys)
    assert "unknown chapter '02_sigmiod'; choose one of 01_demo" in err


def test_run_unknown_parameter_lists_the_parameters(in_book, no_execution, capsys):
    err = fails(["run", "01_demo", "-p", "dpeth", "5"], capsys)
    assert "unknown parameter 'dpeth'" in err
    assert "choose one of profile, n, scale, label, depth" in err


def test_run_wrong_type(in_book, no_execution, capsys):
    err = fails(["run", "01_demo", "-p", "n", "many"], capsys)
    assert "parameter 'n' takes a value of type int (default 3), got 'many'" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "01_demo", "-p", "profile", "huge"],
        ["run", "01_demo", "--profile", "huge"],
        ["book", "--profile", "huge"],
        ["train", "--profile", "huge"],
    ],
)
def test_unknown_profile_lists_the_profiles(argv, in_book, no_execution, capsys):
    err = fails(argv, capsys)
    assert "huge" in err and "smoke" in err and "default" in err and "paper" in err


def test_book_unknown_chapter(in_book, no_execution, capsys):
    err = fails(["book", "--only", "01_demo", "99_nothing"], capsys)
    assert "unknown chapter '99_nothing'; choose one of 01_demo" in err


def test_no_book_found(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(book, "_PACKAGE", tmp_path / "glorot")
    assert "no book found" in fails(["run", "01_demo"], capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--out", "x.jpg"], "the file name must end in .png or .npz"),
        (["--out", "x"], "the file name must end in .png or .npz"),
        (["--n", "-3", "--out", "x.npz"], "--n must be an integer >= 1"),
        (["--n", "0", "--out", "x.npz"], "--n must be an integer >= 1"),
        (["--seed", "-1", "--out", "x.npz"], "--seed must be an integer >= 0"),
        (["--n", "ten", "--out", "x.npz"], "invalid int value: 'ten'"),
    ],
)
def test_shapeset_bad_arguments(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert message in fails(["shapeset", *argv], capsys)
    assert list(tmp_path.iterdir()) == []


def test_shapeset_npz_holds_images_labels_and_factors(tmp_path, capsys):
    from glorot.shapeset import LABEL_NAMES, sample

    out = tmp_path / "examples.npz"
    assert main(["shapeset", "--n", "12", "--seed", "3", "--out", str(out)]) == 0
    data = np.load(out)
    assert data["images"].shape == (12, 32, 32) and data["images"].dtype == np.float32
    assert data["labels"].shape == (12,) and data["labels"].dtype.kind == "i"
    assert set(data["labels"]) <= set(range(len(LABEL_NAMES)))
    # The same draw as the library's, factors included.
    reference = sample(12, np.random.default_rng(3))
    np.testing.assert_array_equal(data["images"], reference.images)
    for name, values in reference.factors.items():
        np.testing.assert_array_equal(data[name], values)
    assert str(out) in capsys.readouterr().out


def test_shapeset_png_is_an_image(tmp_path):
    out = tmp_path / "grid.png"
    assert main(["shapeset", "--n", "6", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--activation", "tahn"], "unknown activation 'tahn'; choose one of sigmoid, tanh"),
        (["--init", "xavier"], "unknown init 'xavier'; choose one of standard, normalized"),
        (["--depth", "0"], "depth must be an integer >= 1"),
        (["--lr", "-1"], "learning rate must be a finite number in (0,"),
        (["--updates", "-5"], "updates must be an integer >= 0"),
        (["--width", "wide"], "invalid int value: 'wide'"),
    ],
)
def test_train_bad_values_fail_before_any_work(argv, message, monkeypatch, capsys):
    import glorot.store

    def refuse(*args, **kwargs):
        raise AssertionError("training started although the arguments were invalid")

    monkeypatch.setattr(glorot.store, "load_or_run", refuse)
    assert message in fails(["train", "--profile", "smoke", *argv], capsys)


def test_train_json_at_initialization(isolated_cache, capsys):
    pytest.importorskip("glorot.store")
    argv = ["train", "--json", "--updates", "0", "--width", "16", "--depth", "2"]
    assert main([*argv, "--profile", "smoke"]) == 0
    summary = json.loads(capsys.readouterr().out)  # exactly one JSON document
    assert {"key", "config", "final", "diverged_at", "probes", "provenance"} <= set(summary)
    assert summary["config"]["width"] == 16 and summary["config"]["depth"] == 2
    assert summary["config"]["updates"] == 0
    assert [p["updates"] for p in summary["probes"]] == [0]
    assert len(summary["probes"][0]["layers"]) == 2
    # Stored under its key: a second call loads it instead of training again.
    assert main([*argv, "--profile", "smoke"]) == 0
    assert json.loads(capsys.readouterr().out)["key"] == summary["key"]
    assert any(isolated_cache.rglob(f"*{summary['key']}*"))


def test_data_where_says_where_to_put_missing_files(tmp_path, capsys):
    assert main(["data", "where", "mnist", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "mnist") in err and "t10k-labels-idx1-ubyte.gz" in err


def test_data_verify_reports_each_file(tmp_path, capsys):
    from test_datasets import make_mnist

    make_mnist(tmp_path, gz=False)
    assert main(["data", "verify", "mnist", "--dir", str(tmp_path)]) == 0
    assert "train-images-idx3-ubyte.gz: structure ok, unknown md5" in capsys.readouterr().out


def test_data_unknown_set_lists_the_choices(capsys):
    assert "choose one of mnist, fashion-mnist, cifar10" in fails(["data", "where", "svhn"], capsys)

"""The results store: where it lives, atomic writes, verified loads, recomputation, sweeps."""

from __future__ import annotations

import concurrent.futures
import json
import os
from pathlib import Path

import numpy as np
import pytest
from test_train import Interrupting, assert_same_run, ctrl_c, one_thread, tiny  # noqa: F401

import glorot.provenance as provenance
import glorot.store as store
from glorot.config import ConfigError
from glorot.data import make_source
from glorot.train import train


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_dir_honours_environment(cache, tmp_path, monkeypatch):
    assert store.cache_dir() == cache
    monkeypatch.setenv("GLOROT_CACHE", "~/somewhere")
    assert store.cache_dir() == Path.home() / "somewhere"
    monkeypatch.delenv("GLOROT_CACHE")
    repo = Path(store.__file__).resolve().parent.parent
    assert store.cache_dir() == repo / ".glorot-cache"  # the package sits in a checkout


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    provenance.atomic_write_text(path, "first")
    provenance.atomic_write_bytes(path, b"second")
    assert path.read_bytes() == b"second"
    assert os.listdir(path.parent) == ["f.txt"]  # no temporary file left


def test_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    provenance.atomic_write_text(path, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        provenance.atomic_write_text(path, "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_load_or_run_trains_once_then_loads(counted):
    cfg = tiny()
    first = store.load_or_run(cfg, profile="smoke")
    assert len(counted) == 1 and first.provenance["profile"] == "smoke"
    folder = store.run_dir(cfg)
    assert sorted(os.listdir(folder)) == ["meta.json", "record.npz"]  # checkpoint removed
    again = store.load_or_run(cfg)
    assert len(counted) == 1
    assert_same_run(first, again)
    assert again.provenance == first.provenance
    assert again.final == first.final
    store.load_or_run(cfg, force=True)
    assert len(counted) == 2


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def _garble_meta(path: Path) -> None:
    path.write_text(path.read_text()[:-20])


def _edit_meta_config(path: Path) -> None:
    meta = json.loads(path.read_text())
    meta["config"]["lr"] = 123.0
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "damage, name",
    [
        (_flip_byte, "record.npz"),
        (_truncate, "record.npz"),
        (os.remove, "meta.json"),
        (_garble_meta, "meta.json"),
        (_edit_meta_config, "meta.json"),
    ],
)
def test_damaged_record_is_detected_and_recomputed(damage, name, counted):
    cfg = tiny(updates=20)
    original = store.load_or_run(cfg)
    damage(store.run_dir(cfg) / name)
    with pytest.warns(UserWarning, match="recomputed"):
        assert store.load(cfg) is None
    with pytest.warns(UserWarning):
        again = store.load_or_run(cfg)
    assert len(counted) == 2
    assert_same_run(original, again)
    assert store.load(cfg) is not None  # the record is whole again


def test_missing_record_loads_as_none_quietly(recwarn):
    assert store.load(tiny()) is None
    assert len(recwarn) == 0


def test_interrupted_run_resumes_in_the_store(counted):
    cfg = tiny()
    checkpoint = store.checkpoint_path(cfg)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint_path=checkpoint, source=Interrupting(make_source(cfg), 41, ctrl_c))
    assert checkpoint.exists()
    resumed = store.load_or_run(cfg)
    assert not checkpoint.exists()
    assert_same_run(train(cfg), resumed)


def test_bad_input_fails_before_work(cache):
    cfg = tiny()
    object.__setattr__(cfg, "width", 0)
    with pytest.raises(ConfigError, match="width"):
        store.load_or_run(cfg)
    with pytest.raises(ConfigError, match="RunConfig"):
        store.load_or_run({"width": 16})
    with pytest.raises(ConfigError, match="workers"):
        store.run_many([tiny()], workers=0)
    assert not cache.exists()  # nothing was written


def test_run_many_keeps_order_and_computes_each_key_once(counted):
    a, b = tiny(updates=10), tiny(updates=10, seed=1)
    store.load_or_run(b)
    runs = store.run_many([a, b, a])
    assert [r.config for r in runs] == [a, b, a]
    assert counted == [b, a]  # b was stored already; a once although asked twice


def test_run_many_with_any_executor():
    cfgs = [tiny(updates=10), tiny(updates=10, lr=0.1)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = store.run_many(cfgs, executor=pool)
    assert [r.config for r in runs] == cfgs
    for cfg, run in zip(cfgs, runs, strict=True):
        assert_same_run(store.load(cfg), run)


def test_run_many_in_worker_processes():
    cfgs = [tiny(updates=10, seed=3)]  # one run: each spawned worker first spends seconds importing
    runs = store.run_many(cfgs, workers=2)
    for cfg, run in zip(cfgs, runs, strict=True):
        assert run.config == cfg
        assert_same_run(store.load(cfg), run)
        np.testing.assert_array_equal(run.evals["updates"], [0, 5, 10])


def test_a_diverged_run_says_so_in_its_summary():
    diverged = store.load_or_run(tiny(updates=20, lr=1e38, activation="sigmoid"))
    assert diverged.diverged_at is not None
    assert store.outcome(diverged) == f"diverged at update {diverged.diverged_at}"
    digest = json.loads(store.strict_json(store.summary(diverged)))  # strict: no NaN, no Infinity
    assert digest["outcome"].startswith("diverged at update")
    assert digest["final"]["test_error"] is None
    assert store.outcome(store.load_or_run(tiny(updates=0))) == "at initialization"
    assert store.outcome(store.load_or_run(tiny(updates=10))) == "trained 10 updates"
    assert (
        store.strict_json({"x": float("inf"), "y": [float("nan"), 1.0]})
        == '{"x": null, "y": [null, 1.0]}'
    )


def test_a_run_on_other_threads_has_a_key_of_its_own(counted, monkeypatch):
    """Two threads round differently from one: a record of one is never served to the other."""
    cfg = tiny()
    monkeypatch.delenv("GLOROT_THREADS", raising=False)
    one = cfg.key
    monkeypatch.setenv("GLOROT_THREADS", "1")
    assert cfg.key == one  # one thread, said or not: the same key (the committed records')
    store.load_or_run(cfg, profile="smoke")
    monkeypatch.setenv("GLOROT_THREADS", "2")
    assert cfg.key != one
    assert store.load(cfg) is None  # the one-thread record is not served
    two = store.load_or_run(cfg, profile="smoke")
    assert len(counted) == 2 and "2 threads" in two.provenance["device"]
    monkeypatch.setenv("GLOROT_THREADS", "1")
    assert store.load(cfg) is not None and store.load(cfg).provenance["device"].endswith(
        "1 threads)"
    )

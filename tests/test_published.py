"""The committed records: a read-only tier below the cache, exported, audited and re-verified."""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import pytest
from test_train import assert_same_run, tiny

import glorot.store as store
from glorot import lineage, plan, published, reproduce
from glorot.book import PUBLISHED
from glorot.config import ConfigError, get_profile
from glorot.records import read

REPO = Path(__file__).resolve().parent.parent
SMOKE = get_profile("smoke")


@pytest.fixture
def tier(tmp_path, monkeypatch, isolated_cache) -> Path:
    """A repository whose committed records live in tmp_path/results, and one chapter that reads
    two tiny runs."""
    root = tmp_path / "results"
    monkeypatch.setattr(store, "records_root", lambda: root)
    monkeypatch.delenv(store.RECORDS_ENV, raising=False)
    runs = (tiny(seed=0), tiny(seed=1))
    monkeypatch.setattr(plan, "CHAPTERS", {"09_demo": lambda p: plan.Needs(fixed=runs)})
    return root


def test_exported_records_are_read_before_the_cache(tier, counted):
    first = store.run_many([tiny(seed=0), tiny(seed=1)])
    assert len(counted) == 2
    before = published.audit(SMOKE)
    assert sorted(before.cached) == sorted(r.key for r in first) and not before.committed
    after = published.export(SMOKE, log=lambda line: None)
    assert after.complete and sorted(after.committed) == sorted(r.key for r in first)
    shutil.rmtree(store.cache_dir())  # a fresh clone: the committed records alone
    for run in first:
        again = store.load(run.config)
        assert_same_run(run, again)
        assert store.locate(run.key).parent == tier / "smoke"
        assert lineage.digest(run.key) is not None
    assert store.run_many([tiny(seed=0)])[0].key == first[0].key
    assert len(counted) == 2  # nothing was trained again
    # committed records are compressed and carry no checkpoint
    names = {p.name for p in (tier / "smoke").rglob("*") if p.is_file()}
    assert names == {"record.npz", "meta.json", published.MANIFEST}
    manifest = json.loads((tier / "smoke" / published.MANIFEST).read_text())
    assert manifest["keys"] == sorted(r.key for r in first) and manifest["exported_on"]["cpu"]


def test_records_off_ignores_the_committed_tier(tier, counted, monkeypatch):
    store.run_many([tiny(seed=0)])
    published.export(SMOKE, log=lambda line: None)
    shutil.rmtree(store.cache_dir())
    monkeypatch.setenv(store.RECORDS_ENV, "off")
    assert store.tiers() == []
    assert store.load(tiny(seed=0)) is None


def test_a_damaged_committed_record_is_refused_with_a_warning(tier, counted):
    run = store.run_many([tiny(seed=0)])[0]
    published.export(SMOKE, log=lambda line: None)
    shutil.rmtree(store.cache_dir())
    npz = tier / "smoke" / run.key / "record.npz"
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.warns(UserWarning, match="record.npz fails its checksum"):
        assert store.load(run.config) is None


def test_a_stale_record_is_named_with_its_chapter_and_what_changed(tier, counted):
    store.run_many([tiny(seed=0), tiny(seed=1)])
    published.export(SMOKE, log=lambda line: None)
    # The code now asks for another learning rate on seed 1: its committed record is stale.
    changed = dataclasses.replace(tiny(seed=1), lr=0.02)
    plan.CHAPTERS["09_demo"] = lambda p: plan.Needs(fixed=(tiny(seed=0), changed))
    found = published.audit(SMOKE)
    assert not found.complete
    assert [s.key for s in found.stale] == [tiny(seed=1).key]
    stale = found.stale[0]
    assert stale.chapters == ("09_demo",) and "lr" in stale.why and "seed 1" in stale.run
    assert [p.config.key for p in found.missing] == [changed.key]
    text = "\n".join(found.lines())
    assert "stale: " + tiny(seed=1).key in text and "09_demo" in text and "to compute" in text
    pruned = published.export(SMOKE, prune=True, log=lambda line: None)
    assert not pruned.stale and not (tier / "smoke" / tiny(seed=1).key).exists()


def test_a_record_of_another_code_salt_is_stale(tier, counted):
    run = store.run_many([tiny(seed=0)])[0]
    published.export(SMOKE, log=lambda line: None)
    folder = tier / "smoke" / run.key
    folder.rename(
        folder.with_name("0" * 20)
    )  # the same config under a key the code no longer makes
    stale = published.audit(SMOKE).stale
    assert len(stale) == 1 and "code salt" in stale[0].why


def test_verify_retrains_and_compares(tier, counted):
    runs = (tiny(seed=0), tiny(seed=1, updates=40))
    plan.CHAPTERS["09_demo"] = lambda p: plan.Needs(fixed=runs)
    store.run_many(runs)
    published.export(SMOKE, log=lambda line: None)
    lines = []
    (result,) = reproduce.verify(SMOKE, k=1, log=lines.append)
    assert result.key == tiny(seed=1, updates=40).key  # the cheapest
    assert result.verdict == "identical" and result.identical == result.arrays > 0
    assert result.predictions_agree == 1.0 and "identical" in lines[-1]


def test_compare_says_how_far_two_runs_are(tier, counted):
    a, b = store.run_many([tiny(seed=0), tiny(seed=0, lr=0.06)])
    result = reproduce.compare(a, b)
    assert result.identical < result.arrays and result.verdict.startswith("differs")
    assert result.max_abs > 0


def test_verify_refuses_an_unknown_key(tier):
    with pytest.raises(ConfigError, match="no committed record of nope"):
        reproduce.verify(SMOKE, keys=["nope"])


def test_the_committed_records_are_complete_small_and_read_without_training(monkeypatch):
    """The published book's records: every run its chapters read, none stale, within budget,
    every one verified, and the audit trains nothing."""
    folder = REPO / "results" / PUBLISHED
    if not folder.is_dir():
        pytest.skip(f"no committed records in {folder}")

    def refuse(cfg, **kwargs):
        raise AssertionError(f"the audit trained {cfg.key}")

    monkeypatch.setattr(store, "train", refuse)
    assert published.size(folder) <= published.BUDGET_BYTES
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = published.audit(get_profile(PUBLISHED))
    assert found.complete, "\n".join(found.lines())
    for key in found.committed:
        cfg = found.planned[key].config
        assert not isinstance(read(folder / key, cfg), str), key
        meta = json.loads((folder / key / "meta.json").read_text())
        assert {"git_commit", "torch", "device", "wall_s"} <= set(meta["provenance"])

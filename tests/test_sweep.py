"""Sweeps on a Dask cluster, on the loopback interface: the smoke book's runs on two worker
processes, a worker killed mid-run, a second sweep that trains nothing, and a scheduler and workers
started as separate processes the way a cluster's are."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from glorot import book, cli, experiments, plan, store, sweep
from glorot.config import PROFILES, ConfigError

REPO = Path(__file__).resolve().parent.parent
SMOKE = PROFILES["smoke"]


def _no_training(*args, **kwargs):
    raise AssertionError("a run was trained in the test process, not found in the store")


@pytest.fixture
def store_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any run the test process asks for must come from the store: training here fails."""
    monkeypatch.setenv("GLOROT_WORKERS", "1")  # a missing run would be trained in this process
    monkeypatch.setattr(store, "train", _no_training)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A LocalCluster of two worker processes sharing a fresh cache with this process. The
    environment asks for the default profile, which an explicit profile must override."""
    root = tmp_path_factory.mktemp("cluster")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GLOROT_CACHE", str(root / "cache"))
        mp.setenv("GLOROT_DATA", str(root / "data"))  # no finite data set: a fixed plan
        mp.setenv("GLOROT_PROFILE", "default")
        mp.setenv("GLOROT_QUIET", "1")
        with sweep.connect("local", workers=2) as client:
            yield client


def _records(cache: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.parent.name: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in (cache / "runs").glob("*/meta.json")
    }


def test_the_tests_install_the_cluster_extra():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert extras["cluster"] and set(extras["cluster"]) <= set(extras["test"])


# ---- the plan ------------------------------------------------------------------------------------


def test_every_chapter_of_the_book_says_which_runs_it_reads():
    assert set(plan.CHAPTERS) == set(book.chapters(REPO))


def test_a_chapter_plan_selects_its_models_first():
    work = plan.plan(SMOKE, ["book/06_gradients_in_training.ipynb"])
    assert work.models == {5: (("tanh", "standard"), ("tanh", "normalized"))}
    first = work.first()
    assert len(first) == 2 * len(SMOKE.lr_grid)
    assert {c.updates for c in first} == {SMOKE.selection_updates}
    assert {c.lr for c in first} == set(SMOKE.lr_grid)


def test_the_scorecard_reads_every_other_chapter_s_runs():
    card = plan.plan(SMOKE, ["scorecard"])
    for name in plan.CHAPTERS:
        part = plan.plan(SMOKE, [name])
        assert set(part.needs.mains) <= set(card.needs.mains), name
        assert {c.key for c in part.first()} <= {c.key for c in card.first()}, name
    assert card.needs.fixed and card.needs.finite


def test_finite_sets_need_table1_s_selections():
    work = plan.Plan(SMOKE, plan.Needs(finite=True), datasets=("mnist",))
    assert work.models == {5: experiments.TABLE1}


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--only", "09_nothing", "--scheduler", "local"], "unknown chapter '09_nothing'"),
        (["--scheduler", "scheduler"], "--scheduler 'scheduler' is not a Dask scheduler address"),
        (["--scheduler", "local", "--workers", "0"], "--workers must be an integer >= 1"),
    ],
)
def test_a_bad_argument_ends_the_sweep_before_it_starts(argv, problem, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["sweep", "--profile", "smoke", *argv])
    assert exit.value.code == 2
    assert problem in capsys.readouterr().err


def test_without_dask_the_message_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(SystemExit) as exit:
        cli.main(["sweep", "--profile", "smoke", "--scheduler", "local"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "pip install 'glorot[cluster]'" in err
    assert err.count("\n") == 1


def test_an_unreachable_scheduler_is_named():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        ConfigError, match=f"cannot reach a Dask scheduler at tcp://127.0.0.1:{port}"
    ):
        with sweep.connect(f"tcp://127.0.0.1:{port}", timeout=2):
            pass


# ---- a LocalCluster of two worker processes ------------------------------------------------------


def test_the_smoke_book_on_two_workers_then_again_trains_nothing(cluster, store_only):
    cache = store.cache_dir()
    outcome = sweep.sweep(cluster, SMOKE, progress=False, log=lambda line: None)
    assert outcome.trained == len(outcome.keys) > 0
    # Every run of every chapter is stored: the scorecard reads them all and trains nothing.
    from glorot import scorecard

    assert scorecard.gather(SMOKE)
    records = _records(cache)
    assert set(records) == set(outcome.keys)
    work = plan.plan(SMOKE)
    for cfg in work.first() + work.then():  # the explicit profile, not $GLOROT_PROFILE (default)
        assert store.load(cfg).provenance["profile"] == "smoke"
        assert cfg.n_valid == SMOKE.n_valid

    again = sweep.sweep(cluster, SMOKE, progress=False, log=lambda line: None)
    assert again.trained == 0
    assert again.keys == outcome.keys
    assert _records(cache) == records  # not one record rewritten


def test_a_worker_killed_mid_run_loses_nothing(cluster, tmp_path, monkeypatch):
    long = SMOKE.config(activation="tanh", lr=0.05, updates=4000, probe_every=250)
    checkpoint = store.checkpoint_path(long)
    pids = cluster.run(os.getpid)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(sweep.compute, cluster, [long], "smoke", progress=False)
        deadline = time.monotonic() + 120
        while not checkpoint.exists():  # the run is under way and has saved its progress
            assert time.monotonic() < deadline and not pending.done()
            time.sleep(0.02)
        task = f"glorot-run-{long.key}"
        worker = next(w for w, tasks in cluster.processing().items() if task in tasks)
        os.kill(pids[worker], signal.SIGKILL)
        assert pending.result(timeout=300) == 1  # retried on a live worker, trained once
    run = store.load(long)
    assert run is not None and run.probes["updates"][-1] == long.updates
    assert not checkpoint.exists()
    # The same numbers as a run that was never interrupted.
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "uninterrupted"))
    reference = store.load_or_run(long)
    assert run.provenance["weights_sha256"] == reference.provenance["weights_sha256"]
    for name, values in reference.evals.items():
        np.testing.assert_array_equal(run.evals[name], values, err_msg=name)


def test_workers_that_do_not_share_the_cache_are_refused(cluster, tmp_path, monkeypatch):
    sweep.check_shared_cache(cluster)  # the workers' cache is this process's
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "elsewhere"))
    with pytest.raises(ConfigError, match="which is not this machine's cache"):
        sweep.check_shared_cache(cluster)


def test_runs_of_the_committed_records_go_to_no_worker(cluster, tmp_path, monkeypatch):
    """A run that the committed records hold (and the cache does not) counts as stored: the sweep
    sends it to no worker, trains nothing and stores nothing in the cache."""
    cfgs = [
        SMOKE.config(activation="tanh", lr=0.05, updates=30, probe_every=10, seed=seed)
        for seed in (7, 8)
    ]
    assert sweep.compute(cluster, cfgs, "smoke", progress=False) == 2
    tier = tmp_path / "results" / "smoke"
    tier.mkdir(parents=True)
    for cfg in cfgs:
        store.run_dir(cfg).rename(tier / cfg.key)  # committed, no longer cached
    monkeypatch.setattr(store, "records_root", lambda: tmp_path / "results")
    monkeypatch.setattr(sweep, "_task", _no_training)  # nothing may reach a worker
    assert sweep.compute(cluster, cfgs, "smoke", progress=False) == 0
    assert all(not store.run_dir(cfg).exists() for cfg in cfgs)
    assert all(store.locate(cfg.key) == tier / cfg.key for cfg in cfgs)


# ---- a scheduler and two workers started by hand -------------------------------------------------


def test_a_scheduler_and_two_workers_started_by_hand(tmp_path, monkeypatch, store_only):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GLOROT_CACHE": str(tmp_path / "cache"),
        "GLOROT_DATA": str(tmp_path / "data"),
        "GLOROT_PROFILE": "default",  # overridden by --profile
        "GLOROT_QUIET": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    dask = [sys.executable, "-m", "dask"]
    commands = [
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        *[[*dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"]]
        * 2,
    ]
    logs = [tmp_path / f"process{i}.log" for i in range(len(commands))]
    procs = [
        subprocess.Popen(c, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        for c, log in zip(commands, logs, strict=True)
    ]
    try:
        swept = subprocess.run(
            [sys.executable, "-m", "glorot.cli", "sweep", "--profile", "smoke"]
            + ["--only", "06_gradients_in_training", "--scheduler", address, "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    daemons = "\n".join(log.read_text()[-2000:] for log in logs)
    assert swept.returncode == 0, swept.stdout + swept.stderr + daemons
    assert "on 2 Dask worker(s)" in swept.stdout
    # Chapter 06's runs are in the store, at smoke scale.
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "cache"))
    for init in ("standard", "normalized"):
        run = experiments.main_run(SMOKE, "tanh", init)
        assert run.provenance["profile"] == "smoke"

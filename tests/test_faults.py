"""Faults the store survives: damaged or edited records, a writer killed mid-write, a full disk,
several processes asking for one configuration, a reader meeting a write in progress."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from test_train import assert_same_run, tiny

import glorot.keylock as keylock
import glorot.records as records
import glorot.store as store
from glorot.train import train

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A finished run and a diverged one, trained once and stored in a template cache."""
    template = tmp_path_factory.mktemp("template")
    old = os.environ.get("GLOROT_CACHE")
    os.environ["GLOROT_CACHE"] = str(template)
    try:
        finished = store.load_or_run(tiny(updates=20))
        diverged = store.load_or_run(tiny(updates=20, lr=1e38, activation="sigmoid"))
    finally:
        if old is None:
            del os.environ["GLOROT_CACHE"]
        else:
            os.environ["GLOROT_CACHE"] = old
    assert finished.diverged_at is None and diverged.diverged_at is not None
    return template, finished, diverged


def _copy(template: Path, cache: Path) -> None:
    shutil.copytree(template, cache)


# ---- damage -------------------------------------------------------------------------------------


def _set_json(**changes):
    def damage(folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text())
        meta.update(changes)
        (folder / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))

    return damage


def _flip(name: str, where: float):
    def damage(folder: Path) -> None:
        data = bytearray((folder / name).read_bytes())
        data[int(where * (len(data) - 1))] ^= 0x01
        (folder / name).write_bytes(bytes(data))

    return damage


def _edit_config(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta["config"]["lr"] = 123.0
    (folder / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))


def _re_sign(folder: Path) -> None:
    """An edit that recomputes the checksum of meta.json but not of the npz it lists."""
    meta = json.loads((folder / "meta.json").read_text())
    meta["files"]["record.npz"] = "0" * 64
    meta["meta_sha256"] = records._meta_digest(meta)
    (folder / "meta.json").write_text(records._meta_text(meta))


DAMAGE = {
    "diverged_at set on a finished run": ("finished", _set_json(diverged_at=3)),
    "diverged_at cleared on a diverged run": ("diverged", _set_json(diverged_at=None)),
    "provenance edited": ("finished", _set_json(provenance={"profile": "paper"})),
    "format changed": ("finished", _set_json(format=1)),
    "config edited": ("finished", _edit_config),
    "meta bit flipped at the start": ("finished", _flip("meta.json", 0.0)),
    "meta bit flipped in the middle": ("diverged", _flip("meta.json", 0.5)),
    "meta bit flipped at the end": ("finished", _flip("meta.json", 1.0)),
    "meta truncated": ("finished", lambda f: (f / "meta.json").write_text("{")),
    "meta emptied": ("finished", lambda f: (f / "meta.json").write_bytes(b"")),
    "meta not UTF-8": ("finished", lambda f: (f / "meta.json").write_bytes(b"\xff\xfe")),
    "meta removed": ("finished", lambda f: (f / "meta.json").unlink()),
    "npz bit flipped": ("finished", _flip("record.npz", 0.5)),
    "npz truncated": ("finished", lambda f: (f / "record.npz").write_bytes(b"PK")),
    "npz removed": ("diverged", lambda f: (f / "record.npz").unlink()),
    "stray file added": ("finished", lambda f: (f / "extra.npy").write_bytes(b"x")),
    "npz checksum re-signed": ("finished", _re_sign),
    "meta a JSON list": ("finished", lambda f: (f / "meta.json").write_text("[]")),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damage_is_detected_reported_and_recomputed(case, stored, cache, counted):
    template, finished, diverged = stored
    which, damage = DAMAGE[case]
    original = finished if which == "finished" else diverged
    _copy(template, cache)
    damage(store.run_dir(original.config))
    with pytest.warns(UserWarning, match="it will be recomputed"):
        assert store.load(original.config) is None
    with pytest.warns(UserWarning):
        again = store.load_or_run(original.config)
    assert len(counted) == 1 and again.diverged_at == original.diverged_at
    assert_same_run(original, again)
    assert store.load(original.config) is not None  # whole again


def test_single_bit_flips_of_meta_are_refused(stored, cache):
    """One bit of every byte of the diverged run's meta.json (a different bit from byte to byte),
    and of every fourth byte of the finished run's: never served."""
    template, finished, diverged = stored
    _copy(template, cache)
    for run, step in ((diverged, 1), (finished, 4)):
        path = store.run_dir(run.config) / "meta.json"
        clean = path.read_bytes()
        served = []
        for i in range(0, len(clean), step):
            data = bytearray(clean)
            data[i] ^= 1 << (i % 8)
            path.write_bytes(bytes(data))
            if not isinstance(store._load(run.config), str):
                served.append(i)
        path.write_bytes(clean)
        assert served == []
        assert store.load(run.config) is not None


def test_a_reader_never_sees_a_write_in_progress(stored, cache):
    """Records replaced over and over while another thread reads: whole or absent, never damaged."""
    template, finished, _ = stored
    _copy(template, cache)
    results: list = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            results.append(store._load(finished.config))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(40):
            store.save(finished)
    finally:
        stop.set()
        reader.join()
    assert results and not [r for r in results if isinstance(r, str)]
    assert any(r is not None for r in results)


# ---- killed writers and the debris they leave --------------------------------------------------

KILLED_WRITER = """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from test_train import tiny
    import glorot.records as records
    import glorot.store as store

    real = records._write_file
    def dying(path, data):
        if path.name == "meta.json":  # the record's last file: killed half-way through it
            with open(path, "wb") as f:
                f.write(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        real(path, data)

    records._write_file = dying
    store.load_or_run(tiny(updates=20))
"""


def test_kill_9_during_a_write_loses_nothing_and_leaves_no_debris(cache, counted):
    cfg = tiny(updates=20)
    script = textwrap.dedent(KILLED_WRITER.format(tests=str(REPO / "tests")))
    env = {**os.environ, "PYTHONPATH": str(REPO), "GLOROT_QUIET": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=120)
    assert done.returncode == -9
    runs = store.run_dir(cfg).parent
    debris = sorted(p.name for p in runs.iterdir())
    assert any(n.startswith(".tmp.") for n in debris) and f"{cfg.key}.lock" in debris
    assert store.load(cfg) is None  # nothing half-written is visible, and no warning
    run = store.load_or_run(cfg)  # the dead writer's lock is broken at once (same host)
    assert len(counted) == 1
    assert sorted(p.name for p in runs.iterdir()) == [cfg.key]
    assert_same_run(train(cfg), run)


def test_stale_temporary_files_are_removed_by_owner_and_age(cache, counted):
    cfg = tiny(updates=10)
    runs = store.run_dir(cfg).parent
    runs.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    dead_pid = int(dead.stdout)
    names = {
        "dead local writer": f".tmp.{'a' * 20}.{keylock._HOST}.{dead_pid}.0badc0de",
        "live local writer": f".tmp.{'b' * 20}.{keylock._HOST}.{os.getpid()}.0badc0de",
        "old, other host": f".tmp.{'c' * 20}.elsewhere.1.0badc0de",
        "fresh, other host": f".tmp.{'d' * 20}.elsewhere.1.0badc0de",
    }
    for name in names.values():
        (runs / name).mkdir()
    old = time.time() - 2 * keylock.TEMP_STALE_S
    os.utime(runs / names["old, other host"], (old, old))
    checkpoints = runs.parent / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / f".{cfg.key}.npz.k1ll3d.tmp").write_bytes(b"half a checkpoint")
    store.load_or_run(cfg)
    left = {p.name for p in runs.iterdir()}
    assert names["live local writer"] in left and names["fresh, other host"] in left
    assert not {names["dead local writer"], names["old, other host"]} & left
    assert list(checkpoints.iterdir()) == []


def test_a_lock_is_stale_only_when_its_holder_is_gone(cache, tmp_path):
    path = tmp_path / "k.lock"
    path.write_text("{}")
    here = {"host": keylock._HOST, "pid": os.getpid()}
    assert not keylock._stale(path, here)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    assert keylock._stale(path, {"host": keylock._HOST, "pid": int(gone.stdout)})
    elsewhere = {"host": "elsewhere", "pid": 1}
    assert not keylock._stale(path, elsewhere)  # refreshed just now
    old = time.time() - 2 * keylock.LOCK_STALE_S
    os.utime(path, (old, old))
    assert keylock._stale(path, elsewhere)


# ---- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs where root may mount one; None otherwise."""
    target = tmp_path / "small"
    target.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(target)], capture_output=True
    )
    yield target if done.returncode == 0 else None
    if done.returncode == 0:
        subprocess.run(["umount", str(target)], check=False)


def _fill(folder: Path) -> None:
    with open(folder / "filler", "wb", buffering=0) as f:
        with pytest.raises(OSError) as info:
            while True:
                f.write(b"\0" * 4096)
    assert info.value.errno == 28


def test_a_full_disk_corrupts_nothing(small_disk, cache, monkeypatch, counted):
    cfg = tiny(updates=20)
    real_write = records._write_file
    if small_disk is not None:  # a real full disk
        monkeypatch.setenv("GLOROT_CACHE", str(small_disk / "cache"))
        store.check_writable(store.run_dir(cfg).parent)
        _fill(small_disk)
    else:  # else the record's writes fail as they would on one

        def full(path, data):
            raise OSError(28, "No space left on device", str(path))

        monkeypatch.setattr(records, "_write_file", full)
    with pytest.raises(OSError) as info:
        store.load_or_run(cfg)
    assert info.value.errno == 28
    runs = store.run_dir(cfg).parent
    assert list(runs.iterdir()) == []  # no record, no temporary folder, no lock
    assert store.load(cfg) is None
    if small_disk is not None:
        (small_disk / "filler").unlink()
    else:
        monkeypatch.setattr(records, "_write_file", real_write)
    again = store.load_or_run(cfg)  # with space again, the run is computed and stored whole
    assert store.load(cfg) is not None
    assert_same_run(train(cfg), again)


# ---- one computation per key ------------------------------------------------------------------


def test_threads_asking_for_one_key_compute_it_once(counted):
    cfg = tiny(updates=20)
    runs: list = []
    threads = [
        threading.Thread(target=lambda: runs.append(store.load_or_run(cfg))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(counted) == 1 and len(runs) == 6
    for run in runs[1:]:
        assert_same_run(runs[0], run)


CONCURRENT = """
    import sys
    sys.path.insert(0, {tests!r})
    from test_train import tiny
    import glorot.store as store
    from glorot.train import train

    def counting(cfg, **kwargs):
        with open({log!r}, "a") as f:
            f.write("trained\\n")
        return train(cfg, **kwargs)

    store.train = counting
    print(store.load_or_run(tiny(updates=40)).provenance["weights_sha256"])
"""


def test_processes_asking_for_one_key_compute_it_once(cache, tmp_path):
    log = tmp_path / "trainings.log"
    script = textwrap.dedent(CONCURRENT.format(tests=str(REPO / "tests"), log=str(log)))
    env = {**os.environ, "PYTHONPATH": str(REPO), "GLOROT_QUIET": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert log.read_text().splitlines() == ["trained"]
    assert len(set(outputs)) == 1  # every process got the same weights

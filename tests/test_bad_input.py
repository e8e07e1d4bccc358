"""Every bad argument, environment variable or path ends the command with exit code 2 and one
line on stderr naming the problem: no traceback, no work started, no file left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import glorot.cli
import glorot.config
import glorot.records
import glorot.store
from glorot.cli import main

REPO = Path(__file__).resolve().parent.parent
HUGE_SEED = str(2**64)
MEMORY = 16 * 2**30  # the machine every refusal below is judged against, whatever runs the tests


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """cwd and cache in tmp_path, a 16 GiB machine, and any training or execution refused."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GLOROT_CACHE", str(tmp_path / "cache"))
    for name in ("GLOROT_THREADS", "GLOROT_WORKERS", "GLOROT_PROFILE", "GLOROT_DATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(glorot.config, "memory_limit", lambda device="cpu": MEMORY)
    monkeypatch.setattr(glorot.cli, "memory_limit", lambda device="cpu": MEMORY)

    def refuse(*args, **kwargs):
        raise AssertionError("work started although the input was invalid")

    monkeypatch.setattr(glorot.store, "train", refuse)
    from glorot import bench, book

    monkeypatch.setattr(book, "execute", refuse)
    monkeypatch.setattr(bench, "compare_loops", refuse)
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "a_folder").mkdir()
    return tmp_path


@pytest.fixture
def readonly_mount(tmp_path):
    """A read-only tmpfs, where root may mount one; else the test is skipped."""
    target = tmp_path / "ro"
    target.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(target)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here")
    yield target
    subprocess.run(["umount", str(target)], check=False)


def refused(argv: list[str], capsys, code: int = 2) -> str:
    """Run ``glorot argv`` in-process; assert the exit code and one line on stderr; return it."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == code
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    return err


T = ["train", "--profile", "smoke"]
S = ["shapeset"]

# (argv, environment, what the message must name); {tmp} is the sandbox folder.
CASES = [
    # learning rates: not finite, not positive, beyond float32, not a number
    (T + ["--lr", "inf"], {}, "learning rate"),
    (T + ["--lr", "1e999"], {}, "learning rate"),
    (T + ["--lr=-inf"], {}, "learning rate"),
    (T + ["--lr", "nan"], {}, "learning rate"),
    (T + ["--lr", "1e39"], {}, "largest float32"),
    (T + ["--lr", "0"], {}, "learning rate"),
    (T + ["--lr", "-1"], {}, "learning rate"),
    (T + ["--lr", "fast"], {}, "invalid float value"),
    # seeds
    (T + ["--seed", HUGE_SEED], {}, "seed must be an integer in [0,"),
    (T + ["--seed", "-1"], {}, "seed must be an integer >= 0"),
    (T + ["--seed", "1.5"], {}, "invalid int value"),
    # devices
    (T + ["--device", "cuda:abc"], {}, "unknown device 'cuda:abc'"),
    (T + ["--device", "cudax"], {}, "unknown device 'cudax'"),
    (T + ["--device", "gpu"], {}, "unknown device 'gpu'"),
    (T + ["--device", ""], {}, "unknown device ''"),
    (T + ["--device", "cuda:-1"], {}, "unknown device"),
    (T + ["--device", "cuda:99999"], {}, "unknown device"),
    # sizes that cannot fit, and shapes out of their domain
    (T + ["--width", "10000000"], {}, "needs about"),
    (["train", "--profile", "default", "--batch", "1000000"], {}, "needs about"),
    (T + ["--depth", "1000000000", "--width", "1"], {}, "needs about"),
    (T + ["--updates", str(10**12)], {}, "measurements"),
    (T + ["--updates", "-1"], {}, "updates must be an integer >= 0"),
    (T + ["--width", "0"], {}, "width must be an integer >= 1"),
    (T + ["--width", "-5"], {}, "width must be an integer >= 1"),
    (T + ["--width", "wide"], {}, "invalid int value: 'wide'"),
    (T + ["--width", "1e3"], {}, "invalid int value"),
    (T + ["--depth", "-1"], {}, "depth must be an integer >= 1"),
    (T + ["--depth", "0"], {}, "depth must be an integer >= 1"),
    (T + ["--batch", "0"], {}, "batch must be an integer >= 1"),
    (T + ["--batch", str(2**70)], {}, "batch must be an integer in"),
    # names
    (T + ["--activation", "relux"], {}, "unknown activation 'relux'"),
    (T + ["--activation", ""], {}, "unknown activation ''"),
    (T + ["--init", "xavier"], {}, "unknown init 'xavier'"),
    (["train", "--profile", "huge"], {}, "invalid choice: 'huge'"),
    (T + ["--epochs", "3"], {}, "unrecognized arguments"),
    ([], {}, "required"),
    (["fly"], {}, "invalid choice: 'fly'"),
    # the environment, parsed once at the start
    (T, {"GLOROT_THREADS": "abc"}, "GLOROT_THREADS='abc'"),
    (T, {"GLOROT_THREADS": "0"}, "GLOROT_THREADS='0'"),
    (T, {"GLOROT_THREADS": "-3"}, "GLOROT_THREADS='-3'"),
    (T, {"GLOROT_THREADS": "1.5"}, "GLOROT_THREADS='1.5'"),
    (T, {"GLOROT_WORKERS": "many"}, "GLOROT_WORKERS='many'"),
    (T, {"GLOROT_WORKERS": "0"}, "GLOROT_WORKERS='0'"),
    (["train"], {"GLOROT_PROFILE": "huge"}, "unknown profile 'huge' in environment variable"),
    (["bench"], {"GLOROT_THREADS": "0"}, "GLOROT_THREADS='0'"),
    # a cache that cannot hold records
    (T + ["--updates", "0"], {"GLOROT_CACHE": "/dev/null/x"}, "GLOROT_CACHE"),
    (T + ["--updates", "0"], {"GLOROT_CACHE": "{tmp}/a_file/cache"}, "GLOROT_CACHE"),
    (T + ["--updates", "0"], {"GLOROT_CACHE": "/proc/glorot-cache"}, "GLOROT_CACHE"),
    (T + ["--updates", "0"], {"GLOROT_CACHE": "/sys/glorot-cache"}, "GLOROT_CACHE"),
    # shapeset
    (S + ["--n", str(10**9), "--out", "x.npz"], {}, "GiB of memory"),
    (S + ["--n", "0", "--out", "x.npz"], {}, "--n must be an integer >= 1"),
    (S + ["--n", "-3", "--out", "x.npz"], {}, "--n must be an integer >= 1"),
    (S + ["--n", "ten", "--out", "x.npz"], {}, "invalid int value"),
    (S + ["--seed", HUGE_SEED, "--out", "x.npz"], {}, "--seed must be an integer in"),
    (S + ["--seed", "-2", "--out", "x.npz"], {}, "--seed must be an integer >= 0"),
    (S + ["--out", "/proc/x.npz"], {}, "cannot write in /proc"),
    (S + ["--out", "/sys/x.png"], {}, "cannot write in /sys"),
    (S + ["--out", "{tmp}/a_file/x.npz"], {}, "is a file, not a folder"),
    (S + ["--out", "{tmp}/a_file/deeper/x.npz"], {}, "is a file, not a folder"),
    (S + ["--out", "{tmp}/a_folder"], {}, "must end in .png or .npz"),
    (S + ["--out", "{tmp}/a_folder.npz"], {}, None),  # made a folder below
    (S + ["--out", "x.jpg"], {}, "must end in .png or .npz"),
    (S, {}, "required: --out"),
    # data
    (["data", "download", "fashion-mnist"], {}, "is not downloaded by glorot"),
    (["data", "where", "svhn"], {}, "unknown data set 'svhn'"),
    (["data", "verify", "imagenet"], {}, "unknown data set 'imagenet'"),
    (["data", "fetch", "mnist"], {}, "invalid choice: 'fetch'"),
    (["data", "where", "mnist", "--dir", "{tmp}/a_file"], {}, "is a file, not a folder"),
    # bench
    (["bench", "--threads", "0"], {}, "--threads must be an integer in [1, 4096]"),
    (["bench", "--threads", "-2"], {}, "--threads must be an integer in [1, 4096]"),
    (["bench", "--threads", "lots"], {}, "invalid int value"),
]


@pytest.mark.parametrize(("argv", "env", "names"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_and_exit_2(argv, env, names, sandbox, monkeypatch, capsys):
    (sandbox / "a_folder.npz").mkdir()
    argv = [a.replace("{tmp}", str(sandbox)) for a in argv]
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("{tmp}", str(sandbox)))
    before = tree(sandbox)
    err = refused(argv, capsys)
    if names is not None:
        assert names in err
    assert tree(sandbox) == before  # no file left behind


def test_read_only_mount(sandbox, readonly_mount, monkeypatch, capsys):
    err = refused(S + ["--out", str(readonly_mount / "x.npz")], capsys)
    assert "Read-only file system" in err
    monkeypatch.setenv("GLOROT_CACHE", str(readonly_mount / "cache"))
    assert "GLOROT_CACHE" in refused(T + ["--updates", "0"], capsys)
    assert list(readonly_mount.iterdir()) == []


@pytest.fixture
def in_book(fixture_book, sandbox, monkeypatch):
    monkeypatch.chdir(fixture_book / "book")
    return fixture_book


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["run", "01_demo", "-p", "depth", "0"], "depth must be an integer >= 1"),
        (["run", "01_demo", "-p", "depth", "1000000000"], "needs about"),
        (["run", "01_demo", "--out", "/proc/x.ipynb"], "cannot write in /proc"),
        (["run", "01_demo", "--out", "{tmp}"], "is a folder"),
        (["run", "01_demo", "--profile", "huge"], "invalid choice: 'huge'"),
        (["run", "01_demo", "-p", "profile", "huge"], "huge"),
        (["run", "99_none"], "unknown chapter '99_none'"),
        (["run", "01_demo", "-p", "n", "many"], "parameter 'n' takes a value of type int"),
        (["book", "--only", "99_none"], "unknown chapter '99_none'"),
    ],
)
def test_chapter_commands_refuse_bad_input(argv, names, in_book, capsys):
    argv = [a.replace("{tmp}", str(in_book)) for a in argv]
    before = tree(in_book)
    assert names in refused(argv, capsys)
    assert tree(in_book) == before


def test_interrupt_ends_with_one_line_and_130(sandbox, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(glorot.store, "train", interrupted)
    err = refused(T + ["--updates", "0", "--width", "8", "--depth", "1"], capsys, code=130)
    assert "interrupted" in err
    assert not list((sandbox / "cache" / "runs").glob("*.lock"))  # the lock went with it


def test_disk_full_is_one_line_and_leaves_no_record(sandbox, monkeypatch, capsys):
    from glorot.train import train

    monkeypatch.setattr(glorot.store, "train", train)

    def full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(glorot.records, "_write_file", full)
    argv = T + ["--updates", "0", "--width", "8", "--depth", "1", "--json"]
    assert "no space left" in refused(argv, capsys)
    runs = sandbox / "cache" / "runs"
    assert [p.name for p in runs.iterdir()] == []  # no record, no temporary folder, no lock


# ---- the same through a real process: the interpreter's own exit path, and signals -------------


def _glorot(*argv: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "GLOROT_QUIET": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "glorot.cli", *argv],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (T + ["--lr", "inf"], {}),
        (T + ["--seed", HUGE_SEED], {}),
        (T, {"GLOROT_THREADS": "abc"}),
    ],
)
def test_bad_input_in_a_process(argv, env, tmp_path):
    proc = _glorot(*argv, env={"GLOROT_CACHE": str(tmp_path / "c"), **env}, cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_training_is_one_line_and_130(signum, tmp_path):
    cache = tmp_path / "c"
    argv = T + ["--updates", "1000000", "--width", "8", "--depth", "1", "--json"]
    proc = _glorot(*argv, env={"GLOROT_CACHE": str(cache)}, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        # The loop has checkpointed once: it runs, with its handler of both signals in place. (A
        # signal that lands while Python imports a module can leave the import machinery stuck.)
        while not list(cache.glob("checkpoints/*.npz")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert list(cache.glob("runs/*.lock"))  # training holds the key's lock
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # never leave a million-update run behind a failed test
    assert proc.returncode == 130 and out == ""
    assert err.count("\n") == 1 and "interrupted" in err and "Traceback" not in err
    assert not list(cache.glob("runs/*.lock"))

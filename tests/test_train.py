"""The SGD loop: its schedule, its update rule against a textbook loop, determinism, exact resume,
divergence and input checks."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import signal

import numpy as np
import pytest
import torch

from glorot.backprop import Backprop
from glorot.checkpoint import DamagedCheckpoint
from glorot.checkpoint import load as load_checkpoint
from glorot.config import ConfigError, RunConfig
from glorot.data import DataSource, make_source
from glorot.models import COSTS, build_model
from glorot.provenance import weights_sha256
from glorot.run import TIMING_KEYS, Run
from glorot.train import _LossWindow, error_count, jacobian_points, probe_schedule, train


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on a small shared machine more threads only wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(**overrides) -> RunConfig:
    base = dict(
        width=16,
        depth=2,
        updates=60,
        probe_every=20,
        probe_dense=2,
        n_probe=20,
        n_valid=50,
        n_test=50,
        jacobian_examples=2,
        lr=0.05,
    )
    return RunConfig(**(base | overrides))


class Interrupting(DataSource):
    """A source that acts (sends Ctrl-C, raises) when it hands out batch number ``at``."""

    def __init__(self, inner: DataSource, at: int, action):
        self.inner, self.at, self.action = inner, at, action
        self.name, self.n_inputs, self.n_classes = inner.name, inner.n_inputs, inner.n_classes

    def train_batches(self, batch, seed, start=0):
        for k, item in enumerate(self.inner.train_batches(batch, seed, start), start):
            if k == self.at:
                self.action()
            yield item

    def fixed(self, split, n):
        return self.inner.fixed(split, n)


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def crash() -> None:
    raise RuntimeError("machine lost")


def assert_same_run(a: Run, b: Run) -> None:
    """Equal records, byte for byte, and equal final weights; only timings may differ."""
    assert a.diverged_at == b.diverged_at
    for mine, theirs in ((a.probes, b.probes), (a.evals, b.evals)):
        assert mine.keys() == theirs.keys()
        for key in mine:
            assert mine[key].dtype == theirs[key].dtype, key
            assert mine[key].shape == theirs[key].shape, key
            assert mine[key].tobytes() == theirs[key].tobytes(), key
    strip = {k: v for k, v in a.provenance.items() if k not in TIMING_KEYS}
    assert strip == {k: v for k, v in b.provenance.items() if k not in TIMING_KEYS}


# --- schedule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "updates, every, dense",
    [(60, 20, 2), (40_000, 2_000, 6), (2_800_000, 20_000, 8), (45, 20, 3), (7, 20, 4), (0, 5, 3)],
)
def test_schedule_properties(updates, every, dense):
    cfg = tiny(updates=updates, probe_every=every, probe_dense=dense)
    points = probe_schedule(cfg)
    assert points[0] == 0 and points[-1] == updates
    assert points == sorted(set(points))  # increasing, no duplicates
    regular = [u for u in points if u >= every]
    assert regular == sorted({*range(every, updates + 1, every), updates} - set(range(every)))
    early = [u for u in points if 0 < u < every]
    expected = {round(every / 2**k) for k in range(1, dense + 1)} - {0}
    last = {updates} if updates < every else set()  # the last update is always measured
    assert early == sorted({u for u in expected if u <= updates} | last - {0})


def test_schedule_dense_points_are_log_spaced():
    points = probe_schedule(tiny(updates=40_000, probe_every=2_048, probe_dense=5))
    early = [u for u in points if 0 < u < 2_048]
    assert early == [64, 128, 256, 512, 1024]  # each twice the one before


def test_schedule_deduplicates_rounded_points():
    # 4/2, 4/4, 4/8 = 0.5 -> 0, 4/16 -> 0: the dense points collapse onto 2, 1 and 0.
    assert probe_schedule(tiny(updates=10, probe_every=4, probe_dense=6)) == [0, 1, 2, 4, 8, 10]


# --- the loop ---------------------------------------------------------------------------------


def test_train_is_plain_sgd_and_measures_what_it_says():
    """Against a textbook loop (loss.backward, p -= lr * grad) on the same batches: equal within
    float32 rounding, since the update is computed by hand; and exactly the hand-written step."""
    cfg = tiny(updates=30, probe_every=10, probe_dense=0)
    run = train(cfg)

    source = make_source(cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build_model(cfg, source.n_inputs, source.n_classes, gen)
    by_hand = copy.deepcopy(model)
    net = Backprop(by_hand, cfg.cost, cfg.batch)
    batches = source.train_batches(cfg.batch, cfg.seed)
    losses = []
    for _ in range(cfg.updates):
        x, y = next(batches)
        model.zero_grad()
        loss = COSTS[cfg.cost](model(x), y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-cfg.lr)
        losses.append(loss.item())
        net.forward(x, y)
        net.update(x, cfg.lr)

    assert run.provenance["weights_sha256"] == weights_sha256(by_hand)
    for a, b in zip(by_hand.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    assert run.diverged_at is None
    np.testing.assert_array_equal(run.evals["updates"], [0, 10, 20, 30])
    np.testing.assert_array_equal(run.probes["updates"], [0, 10, 20, 30])
    assert math.isnan(run.evals["train_loss"][0])  # nothing trained before update 0
    expected_loss = [np.mean(losses[i : i + 10]) for i in (0, 10, 20)]
    np.testing.assert_allclose(run.evals["train_loss"][1:], expected_loss, rtol=1e-6)
    x_test, y_test = source.fixed("test", cfg.n_test)
    x_valid, y_valid = source.fixed("valid", cfg.n_valid)
    with torch.no_grad():
        pred = model(x_test).argmax(1)
        test_error = (pred != y_test).double().mean().item()
        valid_error = (model(x_valid).argmax(1) != y_valid).double().mean().item()
    assert run.final == {
        "test_error": test_error,
        "validation_error": valid_error,
        "diverged": False,
    }
    assert run.evals["test_pred"].dtype == run.evals["test_true"].dtype == np.uint8
    np.testing.assert_array_equal(run.evals["test_pred"], pred.numpy())
    np.testing.assert_array_equal(run.evals["test_true"], y_test.numpy())
    assert run.probes["act_mean"].shape == (4, cfg.depth)
    assert run.provenance["seed"] == cfg.seed and run.provenance["device"].startswith("cpu")


def test_error_count_in_chunks_matches_one_pass():
    cfg = tiny()
    source = make_source(cfg)
    model = build_model(cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(1))
    x, y = source.fixed("test", 4_500)  # more than two chunks of EVAL_CHUNK
    with torch.no_grad():
        expected = (model(x).argmax(1) != y).sum().item()
    assert error_count(model, x, y).item() == expected


def test_same_config_same_bytes():
    cfg = tiny()
    assert_same_run(train(cfg), train(cfg))


def test_jacobians_are_decomposed_at_the_start_each_paper_epoch_and_the_end():
    cfg = tiny(updates=45_000, probe_every=15_000, probe_dense=0)
    assert jacobian_points(cfg) == [0, 45_000]
    assert jacobian_points(tiny(updates=40_000, probe_every=10_000)) == [0, 20_000, 40_000]
    run = train(tiny())
    sv = run.probes["jac_mean_sv"]  # (P, L)
    measured = [u in (0, run.config.updates) for u in run.probes["updates"]]
    assert np.isfinite(sv[measured]).all() and np.isnan(sv[~np.array(measured)]).all()


def test_another_seed_another_run():
    a, b = train(tiny(updates=20)), train(tiny(updates=20, seed=1))
    assert a.provenance["weights_sha256"] != b.provenance["weights_sha256"]


def test_resume_after_ctrl_c_equals_uninterrupted(tmp_path):
    cfg = tiny()
    whole = train(cfg)
    path = tmp_path / "ckpt.npz"
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint_path=path, source=Interrupting(make_source(cfg), 33, ctrl_c))
    assert signal.getsignal(signal.SIGINT) is handler  # the loop's handler is gone again
    # The interrupt is taken after the update that used batch 33.
    model = build_model(cfg, 1024, 9, torch.Generator().manual_seed(cfg.seed))
    state = load_checkpoint(path, cfg, model)
    assert state.updates == 34 and len(state.probes) == 4  # measured at 0, 5, 10, 20
    assert_same_run(whole, train(cfg, checkpoint_path=path))


def test_resume_from_periodic_checkpoint_after_a_crash(tmp_path):
    cfg = tiny()
    whole = train(cfg)
    path = tmp_path / "ckpt.npz"
    with pytest.raises(RuntimeError, match="machine lost"):
        train(
            cfg,
            checkpoint_path=path,
            checkpoint_every=25,
            source=Interrupting(make_source(cfg), 57, crash),
        )
    model = build_model(cfg, 1024, 9, torch.Generator().manual_seed(cfg.seed))
    assert load_checkpoint(path, cfg, model).updates == 50  # the last multiple of 25 before 57
    assert_same_run(whole, train(cfg, checkpoint_path=path, checkpoint_every=25))


def test_checkpoint_of_another_run_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        train(tiny(), checkpoint_path=path, source=Interrupting(make_source(tiny()), 3, ctrl_c))
    with pytest.raises(ConfigError, match="belongs to another run"):
        train(tiny(lr=0.1), checkpoint_path=path)


def first_nonfinite_update(cfg: RunConfig) -> int:
    """Reference: the update (from 1) whose cost is first not finite, by a textbook loop."""
    source = make_source(cfg)
    model = build_model(
        cfg, source.n_inputs, source.n_classes, torch.Generator().manual_seed(cfg.seed)
    )
    batches = source.train_batches(cfg.batch, cfg.seed)
    for update in range(1, cfg.updates + 1):
        x, y = next(batches)
        loss = COSTS[cfg.cost](model(x), y)
        if not torch.isfinite(loss):
            return update
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-cfg.lr)
    raise AssertionError("the reference run did not diverge")


def test_diverging_run_is_recorded_not_raised():
    # Cross-entropy of a saturated net stays finite at any sane rate; only a float32 overflow of
    # the weights makes the cost NaN.
    cfg = tiny(
        activation="sigmoid", lr=1e37, updates=20, probe_every=2, probe_dense=0, jacobian_examples=0
    )
    expected = first_nonfinite_update(cfg)
    assert expected > 1  # the blow-up takes a few updates, so the check is not trivial
    run = train(cfg)
    assert run.diverged_at == expected
    assert run.final["diverged"] is True
    assert math.isnan(run.final["test_error"]) and math.isnan(run.final["validation_error"])
    # Points up to the last one before the divergence were measured, none after.
    measured = [u for u in probe_schedule(cfg) if u < expected]
    np.testing.assert_array_equal(run.evals["updates"], measured)
    np.testing.assert_array_equal(run.probes["updates"], measured)
    summary = json.loads(json.dumps(run.to_summary(), allow_nan=False))
    assert summary["final"] == {"test_error": None, "validation_error": None, "diverged": True}


@pytest.mark.parametrize("eager", [True, False])
def test_loss_window_finds_the_first_nonfinite_cost(eager):
    """Both ways of reading costs (each one at once on the CPU, deferred on a GPU) agree."""
    window = _LossWindow(eager, start=40, values=np.array([1.0, 2.0]))
    results = [window.append(torch.tensor(v)) for v in (3.0, math.inf, math.nan, 4.0)]
    assert results == ([True, False, False, True] if eager else [True] * 4)
    assert window.diverged_at() == 44  # the 4th cost after update 40 is the first bad one
    finite = _LossWindow(eager, start=0)
    for v in (1.0, 2.0, 4.5):
        finite.append(torch.tensor(v))
    assert finite.diverged_at() is None and finite.mean() == 2.5
    assert math.isnan(_LossWindow(eager, start=0).mean())


def test_summary_is_strict_json_and_matches_the_record():
    cfg = tiny(jacobian_examples=0)
    run = train(cfg)
    summary = json.loads(json.dumps(run.to_summary(), allow_nan=False))
    assert summary["key"] == cfg.key and summary["config"] == cfg.to_dict()
    assert [p["updates"] for p in summary["probes"]] == probe_schedule(cfg)
    last = summary["probes"][-1]["layers"]
    assert len(last) == cfg.depth
    assert last[1]["activation_std"] == float(run.probes["act_std"][-1, 1])
    assert last[0]["weight_grad_std"] == float(run.probes["dC_dW_std"][-1, 0])
    assert last[0]["jacobian_mean_sv"] is None  # not measured with jacobian_examples=0
    assert summary["final"]["test_error"] == run.final["test_error"]


# --- input checks and devices -----------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value", [("depth", 0), ("width", 0), ("lr", 0.0), ("lr", -0.1), ("batch", 0)]
)
def test_bad_config_fails_before_work(field, value):
    with pytest.raises(ConfigError, match=field if field != "lr" else "learning rate"):
        dataclasses.replace(tiny(), **{field: value})
    # A config altered behind the dataclass's back is caught by the entry point too.
    cfg = tiny()
    object.__setattr__(cfg, field, value)
    with pytest.raises(ConfigError):
        train(cfg)


def test_bad_checkpoint_every():
    with pytest.raises(ConfigError, match="checkpoint_every"):
        train(tiny(), checkpoint_every=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_cuda_asked_for_but_absent():
    with pytest.raises(ConfigError, match="CUDA is not available"):
        train(tiny(device="cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_run_matches_cpu_run_closely():
    cpu, cuda = train(tiny()), train(tiny(device="cuda"))
    assert cuda.provenance["device"].startswith("cuda")
    np.testing.assert_allclose(cuda.evals["train_loss"], cpu.evals["train_loss"], rtol=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_divergence_found_at_the_same_update():
    cfg = tiny(
        activation="sigmoid", lr=1e37, updates=20, probe_every=2, probe_dense=0, jacobian_examples=0
    )
    assert train(dataclasses.replace(cfg, device="cuda")).diverged_at == train(cfg).diverged_at


def test_progress_bar_silent_when_quiet(monkeypatch, capsys):
    monkeypatch.setenv("GLOROT_QUIET", "1")
    train(tiny(updates=5), progress=True)
    monkeypatch.delenv("GLOROT_QUIET")
    train(tiny(updates=5), progress=False)
    assert capsys.readouterr().err == ""
    train(tiny(updates=5), progress=True)
    assert "upd" in capsys.readouterr().err


# --- faults: signals, damaged checkpoints, probes that cannot be computed -------------------


def sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_checkpoints_then_raises_and_resume_is_exact(tmp_path):
    cfg = tiny()
    whole = train(cfg)
    path = tmp_path / "ckpt.npz"
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint_path=path, source=Interrupting(make_source(cfg), 41, sigterm))
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    model = build_model(cfg, 1024, 9, torch.Generator().manual_seed(cfg.seed))
    assert load_checkpoint(path, cfg, model).updates == 42  # nothing after the signal is lost
    assert_same_run(whole, train(cfg, checkpoint_path=path))


def _flip_byte(path, where: float) -> None:
    data = bytearray(path.read_bytes())
    data[int(where * (len(data) - 1))] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),  # truncated
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(os.urandom(3000)),
        lambda p: p.write_bytes(b"\x80\x04\x95" + os.urandom(100)),  # looks like a pickle
        lambda p: _flip_byte(p, 0.02),
        lambda p: _flip_byte(p, 0.5),
        lambda p: _flip_byte(p, 0.97),
    ],
    ids=["truncated", "empty", "random", "pickle", "flip-start", "flip-middle", "flip-end"],
)
def test_damaged_checkpoint_is_reported_discarded_and_the_run_restarts(tmp_path, damage):
    cfg = tiny()
    whole = train(cfg)
    path = tmp_path / "ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint_path=path, source=Interrupting(make_source(cfg), 33, ctrl_c))
    damage(path)
    with pytest.warns(DamagedCheckpoint, match="damaged checkpoint") as caught:
        again = train(cfg, checkpoint_path=path)
    message = str(caught[0].message)
    assert "\n" not in message and "allow_pickle" not in message
    assert not path.exists()  # discarded
    assert_same_run(whole, again)  # recomputed from update 0: the same numbers


def test_checkpoint_checksum_covers_the_meta(tmp_path):
    """A checkpoint rewritten with another step count inside a sound zip is still caught."""
    cfg = tiny()
    path = tmp_path / "ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint_path=path, source=Interrupting(make_source(cfg), 33, ctrl_c))
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.asarray(json.dumps(meta | {"updates": 30}))
    np.savez(path, **arrays)
    model = build_model(cfg, 1024, 9, torch.Generator().manual_seed(cfg.seed))
    with pytest.warns(DamagedCheckpoint, match="checksum"):
        assert load_checkpoint(path, cfg, model) is None


def test_a_probe_that_cannot_be_computed_is_recorded_not_measured(monkeypatch):
    cfg = tiny()
    whole = train(cfg)
    eigvalsh = torch.linalg.eigvalsh
    calls = []

    def failing_after_the_first_point(a):
        calls.append(1)
        if len(calls) > cfg.depth:
            raise torch.linalg.LinAlgError("linalg.eigh: The algorithm failed to converge")
        return eigvalsh(a)

    monkeypatch.setattr(torch.linalg, "eigvalsh", failing_after_the_first_point)
    run = train(cfg)
    assert run.diverged_at is None
    jac = run.probes["jac_mean_sv"]
    assert np.isfinite(jac[0]).all() and np.isnan(jac[-1]).all()
    assert np.isnan(run.probes["jac_sv"][-1]).all()
    why = "Jacobian spectra: linalg.eigh: The algorithm failed to converge"
    assert run.provenance["not_measured"] == [{"updates": cfg.updates, "why": why}]
    # Everything else is measured as in a run whose probes all succeed.
    for key in ("act_std", "dC_ds_std", "dC_dW_std"):
        np.testing.assert_array_equal(run.probes[key], whole.probes[key])
    np.testing.assert_array_equal(run.evals["test_error"], whole.evals["test_error"])
    assert "not_measured" not in whole.provenance


def test_not_measured_survives_a_resume(tmp_path, monkeypatch):
    def failing(a):
        raise torch.linalg.LinAlgError("no convergence")

    monkeypatch.setattr(torch.linalg, "eigvalsh", failing)
    cfg = tiny()
    whole = train(cfg)
    path = tmp_path / "ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint_path=path, source=Interrupting(make_source(cfg), 33, ctrl_c))
    resumed = train(cfg, checkpoint_path=path)
    assert [n["updates"] for n in resumed.provenance["not_measured"]] == [0, cfg.updates]
    assert_same_run(whole, resumed)

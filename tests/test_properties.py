"""Properties, checked on generated inputs: config validation accepts exactly the valid values and
fails only with ConfigError; the store gives back what it was given."""

from __future__ import annotations

import contextlib
import math
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_train import tiny

import glorot.store as store
from glorot import config
from glorot.config import ConfigError, RunConfig
from glorot.train import Run

INTS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2**63 - 1, 2**63, 2**64]),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.none(),
)
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.text(max_size=5),
)
NAMES = st.one_of(st.text(max_size=12), st.sampled_from(config.ACTIVATION_NAMES), st.none())
DEVICES = st.one_of(
    st.sampled_from(["cpu", "cuda", "cuda:0", "cuda:12", "cuda:", "cuda:x", "CPU", " cpu"]),
    st.text(max_size=10),
)

FIELD = st.sampled_from(["depth", "width", "batch", "updates", "seed", "probe_every", "n_probe"])


def _valid_int(value, minimum: int) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and minimum <= value <= config.INT_MAX
    )


@settings(max_examples=300, deadline=None)
@given(name=FIELD, value=INTS)
def test_integer_fields_accept_exactly_their_domain(name, value):
    minimum = 0 if name in ("updates", "seed") else 1
    ok = _valid_int(value, minimum)
    base = dict(updates=0, probe_every=1, n_probe=10, jacobian_examples=0)
    try:
        cfg = RunConfig(**{**base, name: value})
    except ConfigError as err:
        assert not ok or "measurements" in str(err)  # too many probe points is refused too
        assert name in str(err)
    else:
        assert ok and getattr(cfg, name) == value


@settings(max_examples=300, deadline=None)
@given(lr=FLOATS)
def test_learning_rate_is_finite_positive_and_fits_float32(lr):
    ok = (
        isinstance(lr, (int, float))
        and not isinstance(lr, bool)
        and math.isfinite(lr)
        and 0 < lr <= config.LR_MAX
    )
    try:
        RunConfig(lr=lr)
    except ConfigError as err:
        assert not ok and "learning rate" in str(err)
    else:
        assert ok and np.isfinite(np.float32(lr))


@settings(max_examples=200, deadline=None)
@given(activation=NAMES, device=DEVICES)
def test_names_and_devices(activation, device):
    ok = activation in config.ACTIVATION_NAMES and bool(config.DEVICE_PATTERN.fullmatch(device))
    try:
        RunConfig(activation=activation, device=device)
    except ConfigError:
        assert not ok
    else:
        assert ok


@settings(max_examples=100, deadline=None)
@given(
    width=st.integers(1, 10**8),
    depth=st.integers(1, 10**4),
    batch=st.integers(1, 10**8),
    memory=st.integers(2**20, 2**45),
)
def test_a_run_that_fits_is_never_refused_and_one_that_does_not_always_is(
    width, depth, batch, memory
):
    cfg = RunConfig(width=width, depth=depth, batch=batch, updates=0)
    need = cfg.memory_bytes()
    assert need >= 4 * width * width * (depth - 1)  # at least the weights
    try:
        cfg.check_fits(available=memory)
    except ConfigError as err:
        assert need > memory and "GiB" in str(err)
    else:
        assert need <= memory


@contextlib.contextmanager
def _env(name: str, value: str):
    """Set an environment variable for one example (a monkeypatch fixture would span them all)."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=8))
def test_environment_integers(raw):
    try:
        with _env("GLOROT_THREADS", raw):
            value = config.env_int("GLOROT_THREADS", 1)
    except ConfigError as err:
        assert "GLOROT_THREADS" in str(err)
    except ValueError:  # a NUL byte: the OS itself refuses it
        assert "\0" in raw
    else:
        assert 1 <= value <= 4096
        assert raw.strip() == "" or int(raw) == value


# ---- the store: save then load gives back the run --------------------------------------------

ARRAYS = st.dictionaries(
    st.text(st.characters(categories=["Ll", "Nd"]), min_size=1, max_size=8),
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int64]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
    ),
    max_size=4,
)
JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53), 2**53),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    probes=ARRAYS,
    evals=ARRAYS,
    diverged_at=st.one_of(st.none(), st.integers(1, 10**9)),
    provenance=st.dictionaries(st.text(max_size=8), JSON, max_size=4),
)
def test_save_then_load_gives_back_the_run(
    probes, evals, diverged_at, provenance, tmp_path_factory
):
    cfg = tiny()
    run = Run(cfg, probes=probes, evals=evals, diverged_at=diverged_at, provenance=provenance)
    with _env("GLOROT_CACHE", str(tmp_path_factory.mktemp("cache"))):
        store.save(run)
        back = store.load(cfg)
        store.save(back)  # replacing a record keeps one whole record
        left = sorted(os.listdir(store.run_dir(cfg).parent))
    assert left == [cfg.key]
    assert back is not None
    assert back.diverged_at == diverged_at
    assert back.provenance == store._strict(provenance)  # NaN and infinities become null
    for mine, theirs in ((probes, back.probes), (evals, back.evals)):
        assert set(mine) == set(theirs)
        assert all(_same(mine[k], theirs[k]) for k in mine)

"""Run configurations, the three scales (profiles) and the stable key of a run.

A run is fully described by a frozen :class:`RunConfig`; its defaults are the paper's values (§2.3).
Variants come from ``dataclasses.replace`` or :meth:`Profile.config`, never from mutation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass

from glorot import registry
from glorot.checks import (  # noqa: F401  (the checks are imported from here across glorot)
    DEVICE_PATTERN,
    INT_MAX,
    LR_MAX,
    ConfigError,
    check_choice,
    check_device,
    check_int,
    check_integral,
    check_lr,
)
from glorot.environment import (  # noqa: F401
    ENVIRONMENT,
    RECORDS_CHOICES,
    env_choice,
    env_flag,
    env_int,
    env_path,
)
from glorot.registry import model_label

# Bump when a change of code changes the numbers a run produces: every stored result is then recomputed.
CODE_SALT = "glorot-results-3"

DATASET_NAMES = ("shapeset", "mnist", "fashion-mnist", "cifar10")
PIXEL_RANGES = ("01", "pm1")
PAPER_EPOCH = 20_000  # "epochs of 20k mini-batch updates" (Fig. 2)
INPUTS = {"shapeset": 1024, "mnist": 784, "fashion-mnist": 784, "cifar10": 3072}  # per example
MAX_PROBE_POINTS = 100_000  # measurements of one run; the schedule is held in memory


# The names of activations, inits and costs are those of glorot.registry, read when asked for so
# that an entry registered later counts: ACTIVATION_NAMES, INIT_NAMES, COST_NAMES.
_REGISTERED = {
    "ACTIVATION_NAMES": registry.ACTIVATIONS,
    "INIT_NAMES": registry.INITS,
    "COST_NAMES": registry.COSTS,
}


def __getattr__(name: str):
    if name in _REGISTERED:
        return tuple(_REGISTERED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB"


@dataclass(frozen=True)
class RunConfig:
    """One training run of an MLP by plain SGD (paper §2.3). Defaults are the paper's values."""

    dataset: str = "shapeset"
    activation: str = "tanh"  # sigmoid | tanh | softsign | relu
    init: str = "standard"  # standard (eq. 1) | normalized (eq. 16) | he | orthogonal | lsuv
    depth: int = 5  # hidden layers
    width: int = 1000  # units per hidden layer
    cost: str = "nll"  # nll (-log P(y|x)) | quadratic (Fig. 5)
    lr: float = 0.01  # epsilon; the paper selects it per model on validation error
    batch: int = 10  # mini-batch of 10 consecutive examples
    updates: int = 2_800_000  # ~140 epochs of 20k updates (Fig. 2)
    probe_every: int = PAPER_EPOCH  # probes and evaluations every k updates after the dense start
    probe_dense: int = 6  # extra log-spaced probes before the first probe_every (k/2, k/4, ...)
    n_probe: int = 300  # the fixed monitoring set (Fig. 2)
    n_valid: int = 10_000
    n_test: int = 10_000
    jacobian_examples: int = 4  # probe examples whose layer Jacobians are decomposed
    pixel_range: str = "01"  # "01": [0, 1]; "pm1": [-1, 1]
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        check_choice("dataset", self.dataset, DATASET_NAMES)
        check_choice("activation", self.activation, tuple(registry.ACTIVATIONS))
        check_choice("init", self.init, tuple(registry.INITS))
        check_choice("cost", self.cost, tuple(registry.COSTS))
        check_choice("pixel range", self.pixel_range, PIXEL_RANGES)
        for name in ("depth", "width", "batch", "probe_every", "n_probe", "n_valid", "n_test"):
            check_int(name, getattr(self, name), 1)
        for name in ("updates", "jacobian_examples", "seed"):
            check_int(name, getattr(self, name), 0)
        # 2**-62 of probe_every is below one update: more dense points would all coincide.
        check_int("probe_dense", self.probe_dense, 0, 62)
        check_lr(self.lr)
        if self.jacobian_examples > self.n_probe:
            raise ConfigError(
                f"jacobian_examples ({self.jacobian_examples}) exceeds n_probe ({self.n_probe})"
            )
        check_device(self.device)
        points = self.updates // self.probe_every + self.probe_dense + 2
        if points > MAX_PROBE_POINTS:
            raise ConfigError(
                f"{self.updates:,} updates probed every {self.probe_every:,} make about "
                f"{points:,} measurements (at most {MAX_PROBE_POINTS:,}); raise probe_every to "
                f"at least {self.updates // (MAX_PROBE_POINTS - self.probe_dense - 2) + 1:,}"
            )

    def memory_bytes(self) -> int:
        """A generous estimate of the memory a run needs (float32 throughout): parameters with
        their gradients and checkpoint copies, the activations of a mini-batch, of an evaluation
        chunk and of the probe set, the layer Jacobians of the probe (eq. 11's products), and the
        fixed sets. Used to refuse a run that cannot fit before any allocation."""
        n_in, w, d = INPUTS[self.dataset], self.width, self.depth
        params = n_in * w + (d - 1) * w * w + 10 * w + d * w + 10
        activations = 3 * d * w * (self.batch + 2_000 + 2 * self.n_probe)
        jacobians = 2 * d * self.jacobian_examples * w * w
        data = n_in * (self.n_probe + self.n_valid + self.n_test + 2 * max(self.batch, 2_000))
        return 4 * (5 * params + activations + jacobians + data) + 2**16 * d

    def check_fits(self, available: int | None = None) -> None:
        """ConfigError, stating the size needed, when the run cannot fit in ``available`` bytes
        (default: the memory of the run's device, see :func:`memory_limit`)."""
        need = self.memory_bytes()
        available = memory_limit(self.device) if available is None else available
        if available and need > available:
            raise ConfigError(
                f"this run needs about {_gib(need)} of memory (width {self.width:,}, depth "
                f"{self.depth}, batch {self.batch:,}) and {self.device} has {_gib(available)}; "
                "lower the width, the depth or the batch"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def key(self) -> str:
        """Content address: a hash of every field plus the code salt (and the generator version).

        On the CPU the thread count a run computes with (:func:`run_threads`) changes its numbers
        by rounding, so a run on other than one thread has a key of its own: a record computed on
        two threads is never served to a run on one, nor the other way round."""
        from glorot.shapeset import VERSION as generator_version

        content = {"config": self.to_dict(), "salt": CODE_SALT, "generator": generator_version}
        threads = run_threads() if self.device == "cpu" else 1
        if threads != 1:
            content["threads"] = threads
        payload = json.dumps(content, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    @property
    def label(self) -> str:
        """Short human label, e.g. 'tanh N d5' (N = normalized init, as in Table 1)."""
        return f"{model_label(self.activation, self.init)} d{self.depth}"


@dataclass(frozen=True)
class Profile:
    """A scale at which the whole book can be executed."""

    name: str
    description: str
    width: int
    updates: int  # updates of a main run
    probe_every: int
    probe_dense: int
    n_valid: int
    n_test: int
    jacobian_examples: int
    lr: float  # learning rate of runs that do not select it
    lr_grid: tuple[float, ...]  # learning rates tried when the chapter selects one
    selection_updates: int  # updates of each selection run
    seeds: tuple[int, ...]  # seeds of the final runs of Table 1
    finite_updates: int  # updates of a run on a finite data set (Fig. 12)
    timeout: int  # seconds allowed to execute one chapter
    # Chapter 01: images measured (at least as many as the original's figures of S5: the rarest
    # classes, 1/18, get about 2,200 each at smoke), and candidate object pairs (and images drawn
    # with each rule) on which the two overlap rules are compared.
    shapeset_images: int
    overlap_pairs: int
    # Chapters 05 and 08: width of the nets at initialisation, the paper's 1000 units but where the
    # Jacobian decompositions must be cheap.
    init_width: int
    # Chapter 08, B6: the deepest net (and its width) whose Jacobian spectra are taken, at
    # isometry_examples probe inputs.
    isometry_width: int
    isometry_depth: int
    isometry_examples: int

    def config(self, **overrides) -> RunConfig:
        """A RunConfig at this scale; keyword arguments override any field."""
        base = dict(
            width=self.width,
            updates=self.updates,
            probe_every=self.probe_every,
            probe_dense=self.probe_dense,
            n_valid=self.n_valid,
            n_test=self.n_test,
            jacobian_examples=self.jacobian_examples,
            lr=self.lr,
        )
        unknown = set(overrides) - {f.name for f in dataclasses.fields(RunConfig)}
        if unknown:
            names = ", ".join(f.name for f in dataclasses.fields(RunConfig))
            raise ConfigError(f"unknown run parameter(s) {sorted(unknown)}; valid: {names}")
        base.update(overrides)
        return RunConfig(**base)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="smoke",
            description="every chapter in seconds: narrow nets, a few hundred updates (CI, nbval)",
            width=64,
            updates=400,
            probe_every=100,
            probe_dense=3,
            n_valid=500,
            n_test=500,
            jacobian_examples=2,
            lr=0.05,
            lr_grid=(0.05, 0.2),
            selection_updates=200,
            seeds=(0,),
            finite_updates=200,
            timeout=600,
            shapeset_images=40_000,
            overlap_pairs=10_000,
            init_width=256,
            isometry_width=64,
            isometry_depth=8,
            isometry_examples=2,
        ),
        Profile(
            name="default",
            description="5-layer nets of 400 units for two epochs of 20k updates, on a laptop CPU",
            width=400,
            updates=40_000,
            probe_every=2_000,
            probe_dense=6,
            n_valid=2_000,
            n_test=2_000,
            jacobian_examples=4,
            lr=0.01,
            lr_grid=(0.01, 0.03, 0.1),
            selection_updates=5_000,
            seeds=(0, 1, 2),
            finite_updates=5_000,
            timeout=3_600,
            shapeset_images=200_000,
            overlap_pairs=100_000,
            init_width=1_000,
            isometry_width=256,
            isometry_depth=32,
            isometry_examples=4,
        ),
        Profile(
            name="long",
            description=(
                "the book as published: 5-layer nets of 400 units for 200k updates (10 epochs of "
                "20k), 3 seeds, computed once in about 2 hours on 2 cores"
            ),
            width=400,
            updates=200_000,
            probe_every=PAPER_EPOCH,
            probe_dense=6,
            n_valid=10_000,
            n_test=10_000,
            jacobian_examples=4,
            lr=0.01,
            lr_grid=(0.01, 0.03, 0.1),
            selection_updates=20_000,
            seeds=(0, 1, 2),
            finite_updates=40_000,
            timeout=6 * 3600,
            shapeset_images=1_000_000,
            overlap_pairs=500_000,
            init_width=1_000,
            isometry_width=256,
            isometry_depth=32,
            isometry_examples=10,
        ),
        Profile(
            name="paper",
            description="the paper's scale: 1000 units, batch 10, 2.8M updates (needs a GPU)",
            width=1000,
            updates=2_800_000,
            probe_every=PAPER_EPOCH,
            probe_dense=8,
            n_valid=10_000,
            n_test=10_000,
            jacobian_examples=10,
            lr=0.01,
            lr_grid=(0.001, 0.003, 0.01, 0.03, 0.1),
            selection_updates=500_000,
            seeds=(0, 1, 2),
            finite_updates=500_000,
            timeout=7 * 24 * 3600,
            shapeset_images=1_000_000,
            overlap_pairs=500_000,
            init_width=1_000,
            isometry_width=256,
            isometry_depth=32,
            isometry_examples=10,
        ),
    )
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name``, always; without a name, ``$GLOROT_PROFILE`` or ``default``."""
    if name is None:
        name = env_choice("GLOROT_PROFILE", tuple(PROFILES), "profile") or "default"
    check_choice("profile", name, tuple(PROFILES))
    return PROFILES[name]


def profile_from_env(declared: str) -> Profile:
    """The profile of a chapter that declares ``declared``: ``$GLOROT_PROFILE`` overrides it (CI
    runs every chapter at ``smoke``)."""
    return get_profile(env_choice("GLOROT_PROFILE", tuple(PROFILES), "profile") or declared)


def memory_limit(device: str = "cpu") -> int | None:
    """Bytes of memory of ``device``: the physical memory for the CPU, the card's for CUDA (None
    when unknown)."""
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            index = int(device.partition(":")[2] or 0)
            if index < torch.cuda.device_count():
                return torch.cuda.get_device_properties(index).total_memory
        return None
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def run_threads() -> int:
    """The torch threads a run on the CPU computes with: ``GLOROT_THREADS``, else 1 (the products
    of a batch of 10 gain nothing from more; runs use the cores side by side instead)."""
    return env_int("GLOROT_THREADS", 1)


def check_environment() -> None:
    """Parse every GLOROT_* variable once, so that a bad one fails at the start with its name."""
    env_choice("GLOROT_PROFILE", tuple(PROFILES), "profile")
    run_threads()
    env_int("GLOROT_WORKERS", 1)
    env_choice("GLOROT_RECORDS", RECORDS_CHOICES, "setting")
    for name in ("GLOROT_CACHE", "GLOROT_DATA"):
        env_path(name)

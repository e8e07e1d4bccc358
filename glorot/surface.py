"""Fig. 5: the cost of a one-hidden-layer tanh network as a function of two of its weights.

The paper draws the cross-entropy and the quadratic cost against "two weights (one at each layer)"
of a two-layer network on random inputs and targets, and does not say more. Here every choice is a
field of :class:`SurfaceSpec`: ``n_examples`` inputs x ~ N(0, 1)^n_in with labels drawn uniformly
from ``n_out`` classes, ``n_hidden`` tanh units, weights from the normalized init (eq. 16) and zero
biases. The two weights are W1[0, 0] (input 0 -> hidden unit 0) and W2[0, 0] (hidden unit 0 ->
output 0): one path through the network, so that the second weight reads what the first one
writes. Both sweep [-extent, extent] on a ``grid`` x ``grid`` lattice while every other weight
keeps its drawn value.

The whole grid is one batched forward pass: the network's weights are expanded to one copy per grid
point (G, ...), and the gradient with respect to the two swept weights comes from one backward pass
through the sum of the G costs (the grid points do not interact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from glorot.config import ConfigError
from glorot.models import COSTS, INITS

# A grid point is on a plateau when the cost's gradient there is below this fraction of the
# largest gradient on the grid (C6).
PLATEAU_FRACTION = 0.05


@dataclass(frozen=True)
class SurfaceSpec:
    """The network, data and grid of Fig. 5 (the paper gives none of them)."""

    n_in: int = 10
    n_hidden: int = 10
    n_out: int = 2
    n_examples: int = 100
    grid: int = 81  # points per axis
    extent: float = 10.0  # each swept weight spans [-extent, extent]
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_in", "n_hidden", "n_examples", "grid"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.n_out, int) or self.n_out < 2:
            raise ConfigError(
                f"n_out must be an integer >= 2 (a softmax needs two classes), got {self.n_out!r}"
            )
        if not self.extent > 0:
            raise ConfigError(f"extent must be > 0, got {self.extent!r}; try 10.0")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {self.seed!r}")


@dataclass(frozen=True)
class Problem:
    """The random data and the network around the two swept weights (float64)."""

    x: Tensor  # (N, n_in)
    y: Tensor  # (N,)
    W1: Tensor  # (n_hidden, n_in), first layer
    W2: Tensor  # (n_out, n_hidden), output layer


@dataclass(frozen=True)
class Surface:
    """A cost on the grid: ``cost[i, j]`` at (w1, w2) = (``axis[j]``, ``axis[i]``), as
    ``np.meshgrid`` lays it out, and its gradient with respect to (w1, w2)."""

    cost_name: str
    axis: np.ndarray  # (grid,)
    cost: np.ndarray  # (grid, grid)
    dC_dw1: np.ndarray  # (grid, grid)
    dC_dw2: np.ndarray  # (grid, grid)

    @property
    def grad_norm(self) -> np.ndarray:
        return np.hypot(self.dC_dw1, self.dC_dw2)


def problem(spec: SurfaceSpec) -> Problem:
    """Draw the inputs, the labels and the weights of ``spec`` from one generator seeded ``seed``."""
    g = torch.Generator().manual_seed(spec.seed)
    x = torch.randn(spec.n_examples, spec.n_in, generator=g, dtype=torch.float64)
    y = torch.randint(0, spec.n_out, (spec.n_examples,), generator=g)

    def uniform(fan_out: int, fan_in: int) -> Tensor:
        b = INITS["normalized"](fan_in, fan_out)
        u = torch.rand(fan_out, fan_in, generator=g, dtype=torch.float64)
        return u * 2 * b - b

    return Problem(x, y, uniform(spec.n_hidden, spec.n_in), uniform(spec.n_out, spec.n_hidden))


def costs_at(prob: Problem, cost: str, w1: Tensor, w2: Tensor) -> Tensor:
    """The mean cost over the examples with W1[0, 0] = ``w1[g]`` and W2[0, 0] = ``w2[g]``, for
    every point g of the flat (G,) tensors; differentiable in ``w1`` and ``w2``."""
    if cost not in COSTS:
        raise ConfigError(f"unknown cost {cost!r}; choose one of {', '.join(COSTS)}")
    n_points = w1.shape[0]
    # Zero the swept entries, then add them back per grid point: (G, H, I) and (G, K, H).
    mask1 = torch.ones_like(prob.W1)
    mask1[0, 0] = 0
    mask2 = torch.ones_like(prob.W2)
    mask2[0, 0] = 0
    W1 = (prob.W1 * mask1).expand(n_points, -1, -1).clone()
    W2 = (prob.W2 * mask2).expand(n_points, -1, -1).clone()
    W1[:, 0, 0] = w1
    W2[:, 0, 0] = w2
    z = torch.tanh(torch.einsum("ni,ghi->gnh", prob.x, W1))  # (G, N, H)
    logits = torch.einsum("gnh,gkh->gnk", z, W2)  # (G, N, K)
    return torch.func.vmap(lambda lg: COSTS[cost](lg, prob.y))(logits)  # (G,)


def surface(spec: SurfaceSpec, cost: str, prob: Problem | None = None) -> Surface:
    """The cost ``cost`` (``"nll"`` or ``"quadratic"``) and its gradient over the grid of ``spec``."""
    prob = problem(spec) if prob is None else prob
    axis = torch.linspace(-spec.extent, spec.extent, spec.grid, dtype=torch.float64)
    w2_grid, w1_grid = torch.meshgrid(axis, axis, indexing="ij")  # rows: w2, columns: w1
    w1 = w1_grid.reshape(-1).clone().requires_grad_(True)
    w2 = w2_grid.reshape(-1).clone().requires_grad_(True)
    c = costs_at(prob, cost, w1, w2)
    dw1, dw2 = torch.autograd.grad(c.sum(), (w1, w2))
    shape = (spec.grid, spec.grid)
    return Surface(
        cost_name=cost,
        axis=axis.numpy(),
        cost=c.detach().reshape(shape).numpy(),
        dC_dw1=dw1.reshape(shape).numpy(),
        dC_dw2=dw2.reshape(shape).numpy(),
    )


def surfaces(spec: SurfaceSpec) -> dict[str, Surface]:
    """Both costs of Fig. 5 on the same network and data: {"nll": ..., "quadratic": ...}."""
    prob = problem(spec)
    return {cost: surface(spec, cost, prob) for cost in COSTS}


def plateau_mask(s: Surface, fraction: float = PLATEAU_FRACTION) -> np.ndarray:
    """Grid points where the gradient norm is below ``fraction`` of its maximum on the grid.

    Relative to the surface's own largest slope, so the measure does not depend on the scale of the
    cost (-log P is unbounded, the quadratic cost lies in [0, 2])."""
    if not 0 < fraction < 1:
        raise ValueError(f"plateau fraction must be in (0, 1), got {fraction!r}; try 0.05")
    g = s.grad_norm
    return g < fraction * g.max()


def plateau_share(s: Surface, fraction: float = PLATEAU_FRACTION) -> float:
    """Fraction of the grid on a plateau (:func:`plateau_mask`)."""
    return float(plateau_mask(s, fraction).mean())


def caption(spec: SurfaceSpec, profile: str) -> str:
    """The provenance sentence of Fig. 5: the network, the data and the grid, which no profile
    changes, and the command that re-makes it."""
    return (
        f"Network: {spec.n_in} inputs x ~ N(0, 1), {spec.n_hidden} tanh units, {spec.n_out} "
        f"softmax outputs, normalized init, zero biases; {spec.n_examples} examples with random "
        f"labels; seed {spec.seed}. Grid: W1[0,0] and W2[0,0] over [-{spec.extent:g}, "
        f"{spec.extent:g}], {spec.grid} x {spec.grid} points. The same at every scale ({profile}). "
        f"Re-make: `glorot run 04_cost -p profile {profile}`."
    )

"""The networks of the paper: activations, initialisations, costs and the MLP (§2.3, §4.2).

A hidden layer computes ``s = z W^T + b`` (pre-activation) and ``z = f(s)`` (activation), with
``z^0`` the input. The output layer is linear and feeds a softmax. Every parameter is drawn from an
explicit ``torch.Generator``: weights uniform with the half-width of the chosen init, biases zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from glorot.config import ConfigError, RunConfig

T = TypeVar("T")

# A unit counts as saturated when its activation lies within 10% of the half-range from an
# asymptote: |z - centre| > 0.9 * half-range, i.e. |z| > 0.9 for tanh and softsign, z < 0.05 or
# z > 0.95 for the sigmoid. The rule is stated on z, as the paper's Figs. 2-4 and 10 are, and is the
# same for all three functions; there tanh' and sigmoid' have fallen to 19% of their value at 0
# (softsign' to 1%).
SATURATION = 0.9


def lookup(registry: dict[str, T], what: str, name: str) -> T:
    """``registry[name]``, or a ConfigError that lists the valid names."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown {what} {name!r}; choose one of {', '.join(registry)}") from None


@dataclass(frozen=True)
class Activation:
    """A hidden-unit non-linearity ``z = f(s)`` with its derivative and the range of ``z``."""

    name: str
    f: Callable[[Tensor], Tensor]
    df: Callable[[Tensor], Tensor]  # f'(s), used for the layer Jacobians diag(f'(s)) W (eq. 17)
    lo: float  # lower asymptote of z
    hi: float  # upper asymptote of z

    def saturated(self, z: Tensor) -> Tensor:
        """Boolean mask of activations within 10% of the half-range from an asymptote."""
        centre, half = (self.hi + self.lo) / 2, (self.hi - self.lo) / 2
        return (z - centre).abs() > SATURATION * half


def _dsigmoid(s: Tensor) -> Tensor:
    z = torch.sigmoid(s)
    return z * (1 - z)


def _dtanh(s: Tensor) -> Tensor:
    return 1 - torch.tanh(s) ** 2


def _dsoftsign(s: Tensor) -> Tensor:
    return (1 + s.abs()) ** -2


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", torch.sigmoid, _dsigmoid, 0.0, 1.0),  # 1 / (1 + e^-s)
        Activation("tanh", torch.tanh, _dtanh, -1.0, 1.0),
        Activation("softsign", F.softsign, _dsoftsign, -1.0, 1.0),  # s / (1 + |s|)
    )
}


def standard_bound(fan_in: int, fan_out: int) -> float:
    """Eq. 1: W ~ U[-1/sqrt(n), 1/sqrt(n)] with n the fan-in, so n Var[W] = 1/3."""
    return 1 / math.sqrt(fan_in)


def normalized_bound(fan_in: int, fan_out: int) -> float:
    """Eq. 16: W ~ U[-sqrt(6)/sqrt(n_j + n_j+1), +...], so Var[W] = 2 / (n_j + n_j+1) (eq. 12)."""
    return math.sqrt(6 / (fan_in + fan_out))


INITS: dict[str, Callable[[int, int], float]] = {
    "standard": standard_bound,
    "normalized": normalized_bound,
}


def nll(logits: Tensor, y: Tensor) -> Tensor:
    """-log P(y|x) under the softmax output (§2.3), mean over the batch."""
    return F.cross_entropy(logits, y)


def quadratic(logits: Tensor, y: Tensor) -> Tensor:
    """Squared error between the softmax output and the one-hot target (Fig. 5), summed over
    classes, mean over the batch."""
    p = torch.softmax(logits, dim=1)  # (B, K)
    target = F.one_hot(y, p.shape[1]).to(p.dtype)
    return ((p - target) ** 2).sum(dim=1).mean()


COSTS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"nll": nll, "quadratic": quadratic}


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units and a linear output layer of ``n_out`` logits.

    Weights are drawn from U[-b, b] with b = ``INITS[init](fan_in, fan_out)`` and biases are zero.
    ``generator=None`` draws from PyTorch's global generator; :func:`build_model` always passes one.
    """

    def __init__(
        self,
        n_in: int,
        width: int,
        depth: int,
        n_out: int,
        activation: str,
        *,
        init: str = "standard",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("n_in", n_in), ("width", width), ("depth", depth), ("n_out", n_out)):
            _check_size(name, value)
        self.activation = lookup(ACTIVATIONS, "activation", activation)
        bound = lookup(INITS, "init", init)
        sizes = [n_in] + [width] * depth + [n_out]
        # skip_init: the weights are drawn below, so PyTorch's own init (non-zero biases, global
        # generator) is never run.
        self.layers = nn.ModuleList(
            nn.utils.skip_init(nn.Linear, a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        device = generator.device if generator is not None else torch.device("cpu")
        with torch.no_grad():
            for layer in self.layers:
                b = bound(layer.in_features, layer.out_features)
                u = torch.rand(layer.weight.shape, generator=generator, device=device)
                layer.weight.copy_(u.mul_(2 * b).sub_(b))
                layer.bias.zero_()

    @property
    def depth(self) -> int:
        return len(self.layers) - 1

    def forward_all(self, x: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
        """Pre-activations ``s`` and activations ``z`` of every hidden layer (first layer first),
        and the logits."""
        s, z = [], []
        h = x  # (B, n_in)
        for layer in self.layers[:-1]:
            s.append(layer(h))  # (B, width)
            h = self.activation.f(s[-1])
            z.append(h)
        return s, z, self.layers[-1](h)

    def forward(self, x: Tensor) -> Tensor:
        h = x
        for layer in self.layers[:-1]:
            h = self.activation.f(layer(h))
        return self.layers[-1](h)  # (B, n_out)


def build_model(cfg: RunConfig, n_in: int, n_out: int, generator: torch.Generator) -> MLP:
    """The network of a run, with its weights drawn from ``generator``, on ``cfg.device``."""
    model = MLP(
        n_in, cfg.width, cfg.depth, n_out, cfg.activation, init=cfg.init, generator=generator
    )
    return model.to(cfg.device)

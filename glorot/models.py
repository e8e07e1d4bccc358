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


def _drelu(s: Tensor) -> Tensor:
    return (s > 0).to(s.dtype)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", torch.sigmoid, _dsigmoid, 0.0, 1.0),  # 1 / (1 + e^-s)
        Activation("tanh", torch.tanh, _dtanh, -1.0, 1.0),
        Activation("softsign", F.softsign, _dsoftsign, -1.0, 1.0),  # s / (1 + |s|)
        # max(0, s) (He et al. 2015): unbounded above, so no unit ever counts as saturated.
        Activation("relu", F.relu, _drelu, 0.0, math.inf),
    )
}


def standard_bound(fan_in: int, fan_out: int) -> float:
    """Eq. 1: W ~ U[-1/sqrt(n), 1/sqrt(n)] with n the fan-in, so n Var[W] = 1/3."""
    return 1 / math.sqrt(fan_in)


def normalized_bound(fan_in: int, fan_out: int) -> float:
    """Eq. 16: W ~ U[-sqrt(6)/sqrt(n_j + n_j+1), +...], so Var[W] = 2 / (n_j + n_j+1) (eq. 12)."""
    return math.sqrt(6 / (fan_in + fan_out))


def he_bound(fan_in: int, fan_out: int) -> float:
    """He et al. (2015): Var[W] = 2/n_in, as U[-sqrt(6/n_in), +...]; for ReLU, which zeroes half
    of its inputs, n_in Var[W] = 2 keeps the second moment of the activations across layers."""
    return math.sqrt(6 / fan_in)


# Uniform inits U[-b, b]: name -> b(fan_in, fan_out).
INITS: dict[str, Callable[[int, int], float]] = {
    "standard": standard_bound,
    "normalized": normalized_bound,
    "he": he_bound,
}

# Gain of the orthogonal init per activation: 1/f'(0) (1/2 for ReLU, which passes half its units),
# so that each layer is an isometry in the linear regime: sigma_w^2 E[f'(s)^2] = 1 near s = 0, the
# critical point chi_1 = 1 of mean-field theory (Poole et al. 2016) for the odd functions.
ORTHOGONAL_GAIN = {"sigmoid": 4.0, "tanh": 1.0, "softsign": 1.0, "relu": math.sqrt(2)}


def orthogonal(
    shape: tuple[int, int], gain: float, generator: torch.Generator | None, device=None
) -> Tensor:
    """Saxe et al. (2014): a random (out, in) matrix with orthonormal rows (out <= in) or columns,
    times ``gain``: the Q of the QR decomposition of a Gaussian matrix, with the signs of R's
    diagonal taken out so that Q is uniform (Haar) over the orthogonal matrices."""
    rows, cols = shape
    a = torch.randn(max(shape), min(shape), generator=generator, device=device)
    q, r = torch.linalg.qr(a)  # (max, min) with orthonormal columns
    q = q * torch.sign(torch.diagonal(r))
    return gain * (q if rows >= cols else q.T)


def _uniform_draw(bound: Callable[[int, int], float]):
    def draw(shape, activation: str, generator, device) -> Tensor:
        b = bound(shape[1], shape[0])
        return torch.rand(shape, generator=generator, device=device).mul_(2 * b).sub_(b)

    return draw


def _orthogonal_draw(shape, activation: str, generator, device) -> Tensor:
    return orthogonal(shape, ORTHOGONAL_GAIN[activation], generator, device)


# Every init: name -> draw((out, in), activation name, generator, device) -> weights.
WEIGHT_DRAWS = {name: _uniform_draw(bound) for name, bound in INITS.items()} | {
    "orthogonal": _orthogonal_draw,
    "lsuv": _orthogonal_draw,  # orthonormal start, then lsuv() on data
}

LSUV_TOL = 0.1  # Mishkin & Matas (2016): stop when |Var[s] - 1| < 0.1 ...
LSUV_MAX_PASSES = 10  # ... or after 10 rescalings of a layer


@torch.no_grad()
def lsuv(model: MLP, x: Tensor, tol: float = LSUV_TOL, max_passes: int = LSUV_MAX_PASSES) -> None:
    """Layer-sequential unit-variance init (Mishkin & Matas 2016, Alg. 1), in place: from the first
    layer to the output, divide the layer's weights by the std of its output s (over all units and
    examples of the batch ``x``) until that variance is within 1 +- ``tol``, at most ``max_passes``
    times per layer. The weights start orthonormal; the biases stay 0."""
    h = x
    for i, layer in enumerate(model.layers):
        for _ in range(max_passes):
            var = layer(h).var()
            if abs(float(var) - 1) < tol:
                break
            layer.weight.div_(var.sqrt())
        h = layer(h)
        if i < len(model.layers) - 1:
            h = model.activation.f(h)


# Inits that look at data once the weights are drawn: name -> rescale(model, batch) in place.
DATA_INITS: dict[str, Callable[[MLP, Tensor], None]] = {"lsuv": lsuv}


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

    Weights are drawn by ``WEIGHT_DRAWS[init]`` (U[-b, b] with b = ``INITS[init](fan_in, fan_out)``
    for the uniform inits) and biases are zero. An init of ``DATA_INITS`` (LSUV) then rescales the
    weights on the batch ``data`` (the probe set), which it requires.
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
        data: Tensor | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("n_in", n_in), ("width", width), ("depth", depth), ("n_out", n_out)):
            _check_size(name, value)
        self.activation = lookup(ACTIVATIONS, "activation", activation)
        draw = lookup(WEIGHT_DRAWS, "init", init)
        rescale = DATA_INITS.get(init)
        if rescale is not None and data is None:
            raise ConfigError(f"init {init!r} needs data: pass data=x, a batch of inputs")
        sizes = [n_in] + [width] * depth + [n_out]
        # skip_init: the weights are drawn below, so PyTorch's own init (non-zero biases, global
        # generator) is never run.
        self.layers = nn.ModuleList(
            nn.utils.skip_init(nn.Linear, a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        device = generator.device if generator is not None else torch.device("cpu")
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.copy_(draw(layer.weight.shape, activation, generator, device))
                layer.bias.zero_()
        if rescale is not None:
            rescale(self, data.to(device))

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


def build_model(
    cfg: RunConfig, n_in: int, n_out: int, generator: torch.Generator, data: Tensor | None = None
) -> MLP:
    """The network of a run, with its weights drawn from ``generator``, on ``cfg.device``;
    ``data`` is the batch an init of ``DATA_INITS`` needs (the run's probe set)."""
    model = MLP(
        n_in,
        cfg.width,
        cfg.depth,
        n_out,
        cfg.activation,
        init=cfg.init,
        generator=generator,
        data=data,
    )
    return model.to(cfg.device)

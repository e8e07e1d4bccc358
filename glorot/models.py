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

from glorot import registry
from glorot.config import ConfigError, RunConfig, check_choice, check_int

T = TypeVar("T")

# A unit counts as saturated when its activation lies within 10% of the half-range from an
# asymptote: |z - centre| > 0.9 * half-range, i.e. |z| > 0.9 for tanh and softsign, z < 0.05 or
# z > 0.95 for the sigmoid. The rule is stated on z, as the paper's Figs. 2-4 and 10 are, and is the
# same for all three functions; there tanh' and sigmoid' have fallen to 19% of their value at 0
# (softsign' to 1%).
SATURATION = 0.9


def lookup(registry: dict[str, T], what: str, name: str) -> T:
    """``registry[name]``, or a ConfigError that lists the valid names."""
    return registry[check_choice(what, name, tuple(registry))]


@dataclass(frozen=True)
class Activation:
    """A hidden-unit non-linearity ``z = f(s)`` with its derivative, as the backward of §4.2 needs it.

    ``f(s, out=None)`` and ``dz(z, out=None)`` write into ``out`` when it is given, so a training step
    allocates nothing. ``dz`` is f'(s) written from z = f(s) (tanh: 1 - z², sigmoid: z(1 - z)): the
    backward has z already, and reading it is cheaper than recomputing f'(s). ``df(s)`` is the same
    derivative from s, exact where z has rounded to an asymptote; the layer Jacobians (eq. 17) use it.
    ``lo`` and ``hi`` are the range of z, used only to bin and to call units saturated; the trainer
    never assumes a bounded range.
    """

    name: str
    f: Callable[..., Tensor]
    df: Callable[[Tensor], Tensor]
    dz: Callable[..., Tensor]
    lo: float  # lower asymptote of z
    hi: float  # upper asymptote of z

    def saturated(self, z: Tensor) -> Tensor:
        """Boolean mask of activations within 10% of the half-range from an asymptote."""
        centre, half = (self.hi + self.lo) / 2, (self.hi - self.lo) / 2
        return (z - centre).abs() > SATURATION * half


def _dsigmoid(s: Tensor) -> Tensor:
    z = torch.sigmoid(s)
    return z * (1 - z)


def _dsigmoid_z(z: Tensor, out: Tensor | None = None) -> Tensor:
    """z(1 - z)."""
    out = torch.sub(1, z, out=out)
    return out.mul_(z)


def _dtanh(s: Tensor) -> Tensor:
    return 1 - torch.tanh(s) ** 2


def _dtanh_z(z: Tensor, out: Tensor | None = None) -> Tensor:
    """1 - z²."""
    out = torch.mul(z, z, out=out)
    return torch.sub(1, out, out=out)


def _softsign(s: Tensor, out: Tensor | None = None) -> Tensor:
    """s / (1 + |s|); differentiable by autograd when no ``out`` is given."""
    if out is None:
        return F.softsign(s)
    torch.abs(s, out=out)
    return torch.div(s, out.add_(1), out=out)


def _dsoftsign(s: Tensor) -> Tensor:
    return (1 + s.abs()) ** -2


def _dsoftsign_z(z: Tensor, out: Tensor | None = None) -> Tensor:
    """(1 - |z|)², since 1 + |s| = 1 / (1 - |z|)."""
    out = torch.abs(z, out=out)
    return torch.sub(1, out, out=out).square_()


def _relu(s: Tensor, out: Tensor | None = None) -> Tensor:
    """max(0, s) (He et al. 2015)."""
    return torch.clamp_min(s, 0) if out is None else torch.clamp_min(s, 0, out=out)


def _drelu(s: Tensor) -> Tensor:
    return (s > 0).to(s.dtype)


def _drelu_z(z: Tensor, out: Tensor | None = None) -> Tensor:
    """1 where z > 0, else 0: sign(z), since z >= 0."""
    return torch.sign(z, out=out)


def with_functions(name: str, f, df, dz) -> Activation:
    """The activation ``name`` of :data:`glorot.registry.ACTIVATIONS` (its bounds) with its
    functions."""
    entry = registry.ACTIVATIONS[name]
    return Activation(name, f, df, dz, entry.lo, entry.hi)


# The functions of every activation of glorot.registry (which holds its name, label and bounds).
ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        with_functions("sigmoid", torch.sigmoid, _dsigmoid, _dsigmoid_z),  # 1 / (1 + e^-s)
        with_functions("tanh", torch.tanh, _dtanh, _dtanh_z),
        with_functions("softsign", _softsign, _dsoftsign, _dsoftsign_z),
        with_functions("relu", _relu, _drelu, _drelu_z),  # unbounded above: never saturated
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

# Gain of the orthogonal init per activation (glorot.registry.ActivationEntry.orthogonal_gain).
ORTHOGONAL_GAIN = {name: a.orthogonal_gain for name, a in registry.ACTIVATIONS.items()}


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


def uniform_draw(bound: Callable[[int, int], float]):
    """The draw of U[-b, b] weights, b = ``bound(fan_in, fan_out)``: an entry of WEIGHT_DRAWS."""

    def draw(shape, activation: str, generator, device) -> Tensor:
        b = bound(shape[1], shape[0])
        return torch.rand(shape, generator=generator, device=device).mul_(2 * b).sub_(b)

    return draw


def _orthogonal_draw(shape, activation: str, generator, device) -> Tensor:
    return orthogonal(shape, registry.ACTIVATIONS[activation].orthogonal_gain, generator, device)


# Every init: name -> draw((out, in), activation name, generator, device) -> weights.
WEIGHT_DRAWS = {name: uniform_draw(bound) for name, bound in INITS.items()} | {
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


def _nll_delta(logits: Tensor, y: Tensor, out: Tensor, minus: Tensor) -> tuple[Tensor, Tensor]:
    """∂C/∂logits = (softmax - onehot) / B into ``out`` (B, K); returns the cost (mean -log p_y).

    ``minus`` is a (B, 1) column of -1 on the device (preallocated by the caller): the onehot is
    subtracted by ``scatter_add_``, one call where indexing takes three, to the same bits."""
    column = y.view(-1, 1)
    torch._log_softmax(logits, 1, False, out=out)
    loss = out.gather(1, column).mean().neg_()
    out.exp_()
    out.scatter_add_(1, column, minus)
    return loss, out.div_(len(y))


def _quadratic_delta(
    logits: Tensor, y: Tensor, out: Tensor, minus: Tensor
) -> tuple[Tensor, Tensor]:
    """∂C/∂logits of C = mean Σ_k (p_k - t_k)² into ``out``; returns the cost.

    With g = 2 (p - t) / B = ∂C/∂p, the softmax gives ∂C/∂l_j = p_j (g_j - Σ_k g_k p_k).
    ``minus`` as for the nll."""
    p = torch._softmax(logits, 1, False)
    out.copy_(p)
    out.scatter_add_(1, y.view(-1, 1), minus)  # p - t
    loss = out.square().sum(dim=1).mean()
    out.mul_(2 / len(y))
    dot = (out * p).sum(dim=1, keepdim=True)
    return loss, out.sub_(dot).mul_(p)


@dataclass(frozen=True)
class Cost:
    """A training cost of the softmax output: its value (callable as ``cost(logits, y)``, the
    autograd reference) and ``delta(logits, y, out, minus) -> (cost, ∂C/∂logits)``, the start of
    the backward of §4.2 (δ^top); ``minus`` is a (B, 1) column of -1."""

    name: str
    value: Callable[[Tensor, Tensor], Tensor]
    delta: Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]

    def __call__(self, logits: Tensor, y: Tensor) -> Tensor:
        return self.value(logits, y)


COSTS: dict[str, Cost] = {
    c.name: c
    for c in (Cost("nll", nll, _nll_delta), Cost("quadratic", quadratic, _quadratic_delta))
}


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
            check_int(name, value, 1)
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

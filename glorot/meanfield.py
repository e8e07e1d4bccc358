"""Mean-field theory of a random network at initialisation (Poole et al. 2016, Schoenholz et al.
2017), by Gauss-Hermite quadrature.

In a wide layer with zero-mean weights of variance σ_w²/n_in, the pre-activation ``s`` of a unit is
Gaussian over the draw of the weights, with a second moment ``q`` that one layer maps to the next:

    q^(l+1) = σ_w² E_z[φ(√q^l z)²] + σ_b²,   z ~ N(0, 1)                  (variance map)

and a back-propagated gradient's variance is multiplied, one layer down, by

    χ^l = σ_w² E_z[φ'(√q^l z)²],                                         (eq. 13 with φ')

whose value χ₁ at the fixed point q* of the map says whether the network is ordered (χ₁ < 1:
gradients vanish over the depth scale ξ = −1/ln χ₁ layers) or chaotic (χ₁ > 1: they explode).

Layers are numbered as in :mod:`glorot.theory`: ``sizes = [n_0, ..., n_L, n_out]`` and
``weight_var[k-1] = Var[W^k]``, so σ_w² of layer k is n_(k-1) Var[W^k]. The first layer's
``q^1 = σ_w² E[x²]`` comes from the measured second moment of the inputs, which need not be centred
(Shapeset pixels lie in [0, 1]): with zero-mean weights ``s^1`` is still centred. The biases are 0
in every network of the book (σ_b² = 0) unless a caller says otherwise.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from glorot.config import ConfigError
from glorot.models import ACTIVATIONS, INITS, ORTHOGONAL_GAIN, lookup

# Gauss-Hermite nodes: exact for polynomials of degree < 200. An even number keeps z = 0 off the
# nodes, so the step of ReLU's φ' at 0 splits the weights exactly in half by symmetry.
QUADRATURE_POINTS = 100


@functools.cache
def _nodes(n: int = QUADRATURE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of E_z[g(z)] for z ~ N(0, 1) (probabilists' Hermite polynomials)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / w.sum()


def _apply(fn, s: np.ndarray) -> np.ndarray:
    """An activation's torch function (:data:`glorot.models.ACTIVATIONS`) on a float64 array."""
    return fn(torch.from_numpy(np.asarray(s, dtype=np.float64))).numpy()


def gaussian_mean(activation: str, what: str, q, power: int = 1) -> np.ndarray:
    """E_z[g(√q z)^power] for g = the activation's ``f`` (what="f") or ``df`` (what="df"),
    elementwise over the second moments ``q`` (any shape)."""
    act = lookup(ACTIVATIONS, "activation", activation)
    fn = {"f": act.f, "df": act.df}[what]
    q = np.asarray(q, dtype=float)
    z, w = _nodes()
    values = _apply(fn, np.sqrt(q)[..., None] * z) ** power  # (..., nodes)
    return values @ w


def weight_variances(init: str, activation: str, sizes: list[int]) -> np.ndarray:
    """Var[W^k], k = 1..L+1, of an init that does not look at data: b²/3 for the uniform inits
    U[-b, b] (:data:`glorot.models.INITS`), gain²/max(n_in, n_out) for the orthogonal init (unit
    rows or columns, times :data:`glorot.models.ORTHOGONAL_GAIN`)."""
    pairs = list(zip(sizes[:-1], sizes[1:], strict=False))
    if init == "orthogonal":
        gain = ORTHOGONAL_GAIN[activation]
        return np.array([gain**2 / max(a, b) for a, b in pairs])
    if init not in INITS:
        raise ConfigError(
            f"init {init!r} has no variance before it sees data; choose one of "
            f"{', '.join((*INITS, 'orthogonal'))}"
        )
    bound = INITS[init]
    return np.array([bound(a, b) ** 2 / 3 for a, b in pairs])


def forward(
    activation: str,
    sizes: list[int],
    weight_var: np.ndarray,
    x_moment,
    sigma_b2: float = 0.0,
) -> dict[str, np.ndarray]:
    """The variance map through the hidden layers from E[x²] = ``x_moment``.

    ``x_moment`` is the mean of x² over pixels and examples (one q^1 for the whole set), or an
    array of one example's mean each, in which case every statistic is averaged over the examples.
    Returns, per hidden layer l = 1..L (first layer first):

    - ``q``: E[s²] (averaged over examples when ``x_moment`` is an array);
    - ``m2`` = E[z²] and ``mean`` = E[z] of the activations z = φ(s);
    - ``sd``: √(m2 − mean²), the standard deviation of z over all units and examples (what the
      probes measure as ``act_std``); for odd φ it equals √m2, the root second moment;
    - ``df2``: E[φ'(s)²];
    - ``grad_ratio`` (L−1,): std(∂C/∂s^l) / std(∂C/∂s^(l+1)) = √(n_(l+1) Var[W^(l+1)] E[φ'(s^l)²])
      for l = 1..L−1 (eq. 13 with the mean-field E[φ'²]).
    """
    depth = len(sizes) - 2
    sigma_w2 = np.asarray(sizes[:-1]) * np.asarray(weight_var)  # n_(k-1) Var[W^k]
    q = sigma_w2[0] * np.asarray(x_moment, dtype=float) + sigma_b2
    out = {k: np.empty(depth) for k in ("q", "m2", "mean", "sd", "df2")}
    for layer in range(depth):
        m2 = gaussian_mean(activation, "f", q, 2)
        mean = gaussian_mean(activation, "f", q)
        out["q"][layer] = np.mean(q)
        out["m2"][layer] = np.mean(m2)
        out["mean"][layer] = np.mean(mean)
        out["df2"][layer] = np.mean(gaussian_mean(activation, "df", q, 2))
        q = sigma_w2[layer + 1] * m2 + sigma_b2
    out["sd"] = np.sqrt(out["m2"] - out["mean"] ** 2)
    back_gain = np.asarray(sizes[2:-1]) * np.asarray(weight_var[1:-1])  # n_(l+1) Var[W^(l+1)]
    out["grad_ratio"] = np.sqrt(back_gain * out["df2"][:-1])
    return out


FIXED_POINT_TOL = 1e-10  # relative change of q at which the iteration stops
Q_ZERO = 1e-24  # the fixed point q* = 0, as the limit q -> 0+ (where ReLU's φ' is still 1/2)


def fixed_point(
    activation: str, sigma_w2, sigma_b2: float = 0.0, q0: float = 1.0, iterations: int = 2000
) -> np.ndarray:
    """The stable fixed point q* of the variance map, elementwise over ``sigma_w2``.

    With σ_b² = 0 and φ(0) = 0, q = 0 is a fixed point, stable when the map's slope there,
    σ_w² E[φ'(0+)²], is at most 1: q* is then 0 (returned as :data:`Q_ZERO`, since the map reaches
    it only as 1/l at the critical point). Elsewhere q* comes from iterating the map from ``q0``;
    an unbounded φ (ReLU) whose map grows without limit is stopped at 1e12."""
    sigma_w2 = np.asarray(sigma_w2, dtype=float)
    q = np.full_like(sigma_w2, Q_ZERO)
    at_zero = np.zeros(sigma_w2.shape, dtype=bool)
    if sigma_b2 == 0 and float(gaussian_mean(activation, "f", 0.0)) == 0:
        at_zero = sigma_w2 * gaussian_mean(activation, "df", Q_ZERO, 2) <= 1
    w = sigma_w2[~at_zero]
    p = np.full_like(w, q0)
    for _ in range(iterations):
        new = np.minimum(w * gaussian_mean(activation, "f", p, 2) + sigma_b2, 1e12)
        done = np.all(np.abs(new - p) <= FIXED_POINT_TOL * p)
        p = new
        if done:
            break
    q[~at_zero] = p
    return q


def chi1(activation: str, sigma_w2, sigma_b2: float = 0.0) -> np.ndarray:
    """χ₁ = σ_w² E[φ'(√q* z)²] at the fixed point q* (Poole et al. 2016; Schoenholz et al. 2017):
    < 1 ordered, > 1 chaotic, 1 critical."""
    sigma_w2 = np.asarray(sigma_w2, dtype=float)
    q_star = fixed_point(activation, sigma_w2, sigma_b2)
    return sigma_w2 * gaussian_mean(activation, "df", q_star, 2)


def depth_scale(chi) -> np.ndarray:
    """ξ = 1/|ln χ₁|: the number of layers over which a gradient's variance changes by a factor e
    (−1/ln χ₁ in the ordered phase, Schoenholz et al. 2017); infinite at χ₁ = 1."""
    chi = np.asarray(chi, dtype=float)
    with np.errstate(divide="ignore"):
        return 1 / np.abs(np.log(chi))


def init_sigma_w2(init: str, activation: str, width: int) -> float:
    """σ_w² = n Var[W] of a square ``width`` x ``width`` hidden layer under an init."""
    return float(width * weight_variances(init, activation, [width, width, width])[0])


CRITICAL_TOLERANCE = 1e-9  # |χ₁ − 1| below which a point counts as critical in :func:`phase`


def phase(chi: float) -> str:
    """'ordered' (χ₁ < 1), 'critical' (χ₁ = 1) or 'chaotic' (χ₁ > 1)."""
    if math.isclose(chi, 1.0, abs_tol=CRITICAL_TOLERANCE):
        return "critical"
    return "ordered" if chi < 1 else "chaotic"

"""What §4.2 predicts for a network at initialisation: variances in the linear regime (eqs. 5, 13,
14) and the spectrum of the layer Jacobians from random-matrix theory (§4.2.2).

Layers are numbered as in :mod:`glorot.models`: hidden layer l = 1..L computes
``s^l = z^(l-1) W^l`` and ``z^l = f(s^l)`` with ``z^0 = x``; the output layer L+1 gives the logits.
``sizes = [n_0, n_1, ..., n_L, n_out]`` and ``weight_var[k-1] = Var[W^k]`` for k = 1..L+1.

The linear regime (f(s) ≈ s, f'(s) ≈ 1) turns each layer into a product of variances:

- eq. 5, forward:  Var[z^l] = E[x²] · Π_{k=1..l} n_(k-1) Var[W^k];
- eq. 13, backward: Var[∂C/∂s^l] = Var[∂C/∂s^out] · Π_{k=l+1..L+1} n_k Var[W^k];
- eq. 14, weights: Var[∂C/∂W^l] ∝ Var[z^(l-1)] · Var[∂C/∂s^l], the same for every layer when the
  hidden layers have equal widths.

The weights have zero mean, so what the first layer carries forward is the second moment E[x²] of
the inputs (the paper's Var[x] for centred inputs; Shapeset pixels in [0, 1] are not centred).
"""

from __future__ import annotations

import math

import numpy as np

from glorot.models import INITS, lookup

# Mean singular value of an n x n matrix with iid entries of variance σ², in units of σ√n: the
# quarter-circle law on [0, 2σ√n] has mean 8/(3π) (reference §2).
QUARTER_CIRCLE_MEAN = 8 / (3 * math.pi)

# f'(s) written as a function of z = f(s), so that it can be averaged over activation histograms.
DF_OF_Z = {
    "tanh": lambda z: 1 - z**2,
    "sigmoid": lambda z: z * (1 - z),
    "softsign": lambda z: (1 - np.abs(z)) ** 2,
}


def layer_sizes(n_in: int, width: int, depth: int, n_out: int) -> list[int]:
    """``[n_0, n_1, ..., n_L, n_out]`` of an MLP with ``depth`` hidden layers of ``width`` units."""
    return [n_in] + [width] * depth + [n_out]


def weight_variances(init: str, sizes: list[int]) -> np.ndarray:
    """Var[W^k] = b²/3 of the uniform U[-b, b] of ``init`` (eq. 1: 1/(3 n_in); eq. 16:
    2/(n_in + n_out)), for k = 1..L+1."""
    bound = lookup(INITS, "init", init)
    return np.array([bound(a, b) ** 2 / 3 for a, b in zip(sizes[:-1], sizes[1:], strict=False)])


def forward_variances(sizes: list[int], weight_var: np.ndarray, x_moment: float) -> np.ndarray:
    """Eq. 5: Var[z^l] for l = 1..L in the linear regime, from E[x²] = ``x_moment``."""
    gains = np.asarray(sizes[:-2]) * np.asarray(weight_var[:-1])  # n_(k-1) Var[W^k], k = 1..L
    return x_moment * np.cumprod(gains)


def output_gradient_variance(n_classes: int, n_examples: int) -> float:
    """Var[∂C/∂s^out] of the mean -log P(y|x) over ``n_examples`` when the softmax is uniform.

    At initialisation the logits are near 0, so P = 1/K and ∂C/∂s^out = (P - onehot(y)) / N, whose
    K components have mean 0 and mean square (K - 1)/K² / N² whatever the labels.
    """
    k = n_classes
    return (k - 1) / k**2 / n_examples**2


def backward_variances(
    sizes: list[int], weight_var: np.ndarray, out_var: float, df2: np.ndarray | None = None
) -> np.ndarray:
    """Eq. 13: Var[∂C/∂s^l] for l = 1..L, from the output gradient's variance ``out_var``.

    ``df2`` (L,) is E[f'(s^l)²] per hidden layer; the default, 1 everywhere, is the linear regime
    of the paper. Passing the measured values keeps the same equation but lets the non-linearity
    shrink the gradient at each layer it crosses.
    """
    depth = len(sizes) - 2
    df2 = np.ones(depth) if df2 is None else np.asarray(df2, dtype=float)
    gains = np.asarray(sizes[2:]) * np.asarray(weight_var[1:])  # n_k Var[W^k], k = 2..L+1
    out = np.empty(depth)
    var = out_var
    for layer in range(depth - 1, -1, -1):  # from the top hidden layer down
        var = var * gains[layer] * df2[layer]
        out[layer] = var
    return out


def weight_gradient_variances(forward: np.ndarray, backward: np.ndarray, x_moment: float):
    """Eq. 14: Var[z^(l-1)] · Var[∂C/∂s^l] for l = 1..L (one example's weight gradient).

    Only the profile across layers is a prediction: the gradient of a mean cost sums the products
    of all examples, whose common parts (the class frequencies of the set) do not cancel, so the
    measured scale differs from one example's by a factor shared by every layer.
    """
    inputs = np.concatenate([[x_moment], forward[:-1]])  # Var[z^(l-1)], with z^0 = x
    return inputs * backward


def mean_df2(act_hist: np.ndarray, activation: str) -> np.ndarray:
    """E[f'(s)²] per layer from activation histograms (L, bins) on :func:`glorot.probes.act_bins`,
    using f' as a function of z (:data:`DF_OF_Z`) at the bin centres."""
    from glorot.probes import act_bins

    edges = act_bins(activation)
    centres = (edges[:-1] + edges[1:]) / 2
    df = lookup(DF_OF_Z, "activation", activation)(centres)
    hist = np.asarray(act_hist, dtype=float)
    return (hist * df**2).sum(axis=-1) / hist.sum(axis=-1)


def quarter_circle_scale(weight_var: float, n: int, df2: float = 1.0) -> float:
    """The edge 2σ√n of the quarter-circle law for J = diag(f'(s)) W, W n x n with iid entries of
    variance ``weight_var``. f' enters through its mean square ``df2``: the law is exact when f' is
    the same for every unit and keeps the exact mean square of the singular values otherwise."""
    return 2 * math.sqrt(weight_var * n * df2)


def quarter_circle_pdf(sv: np.ndarray, edge: float) -> np.ndarray:
    """Density of the singular values of a large square iid matrix: (4/(π a²)) √(a² - x²) on
    [0, a], with a = ``edge`` = 2σ√n."""
    sv = np.asarray(sv, dtype=float)
    inside = (sv >= 0) & (sv <= edge)
    return np.where(inside, 4 / (math.pi * edge**2) * np.sqrt(np.clip(edge**2 - sv**2, 0, None)), 0)


def quarter_circle_mean(edge):
    """Mean singular value under :func:`quarter_circle_pdf`: (8/3π)σ√n = (4/3π)·edge."""
    return QUARTER_CIRCLE_MEAN * edge / 2


def predictions(
    init: str,
    activation: str,
    sizes: list[int],
    x_moment: float,
    n_examples: int,
    act_hist: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every at-init prediction for one network, per hidden layer (L,).

    Keys: ``act_var`` (eq. 5), ``dC_ds_var`` (eq. 13, linear regime), ``dC_ds_var_df``
    (eq. 13 with the measured E[f'²], only with ``act_hist``), ``dC_dW_var`` (eq. 14, per example),
    ``jac_edge`` and ``jac_mean_sv`` (quarter-circle law for the square layers 2..L; NaN for layer 1,
    whose matrix is n_1 x n_0; with ``act_hist`` f' enters through its measured mean square).
    """
    var = weight_variances(init, sizes)
    depth = len(sizes) - 2
    out_var = output_gradient_variance(sizes[-1], n_examples)
    forward = forward_variances(sizes, var, x_moment)
    backward = backward_variances(sizes, var, out_var)
    df2 = np.ones(depth) if act_hist is None else mean_df2(act_hist, activation)
    edges = np.array(
        [
            quarter_circle_scale(var[k], sizes[k], df2[k]) if sizes[k] == sizes[k + 1] else np.nan
            for k in range(depth)
        ]
    )
    out = {
        "act_var": forward,
        "dC_ds_var": backward,
        "dC_dW_var": weight_gradient_variances(forward, backward, x_moment),
        "jac_edge": edges,
        "jac_mean_sv": quarter_circle_mean(edges),
    }
    if act_hist is not None:
        out["dC_ds_var_df"] = backward_variances(sizes, var, out_var, df2)
    return out

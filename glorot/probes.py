"""What is measured on the fixed probe set (Fig. 2): activations, gradients and Jacobian spectra.

For each hidden layer l (first layer first) :func:`probe` records

- activations ``z^l``: mean, std, the 2/25/50/75/98th percentiles of z and of |z| (the paper does
  not say which one Figs. 3 and 10 show), the fraction of saturated units
  (``Activation.saturated``) and a histogram on :func:`act_bins` (Figs. 2-4, 6, 10);
- back-propagated gradients ``dC_ds^l`` = ∂C/∂s^l: std, the same percentiles, a histogram on
  :func:`grad_bins` (Fig. 7, eq. 13);
- weight gradients ``dC_dW^l`` = ∂C/∂W^l of the weights into layer l: std and a histogram on
  :func:`grad_bins` (Figs. 8, 9, eq. 14);
- singular values of the layer Jacobians J^l = ∂z^l/∂z^(l-1) = diag(f'(s^l)) W^l (eq. 17), with
  z^0 = x, for the first ``cfg.jacobian_examples`` probe examples (§4.2.2).

C is the mean cost (``cfg.cost``) over the probe set, so ∂C/∂s of one example is 1/N of the gradient
of that example's own cost. Histograms hold fractions of the values (each row sums to 1); values
outside the edges are counted in the outermost bins.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from glorot.backprop import Backprop
from glorot.config import RunConfig
from glorot.models import ACTIVATIONS, MLP, lookup

PERCENTILES = (2, 25, 50, 75, 98)
ACT_BINS = 50  # equal bins over the range of z
# Gradients span many orders of magnitude across layers, inits and training time, so their bins are
# fixed and log-spaced in magnitude, mirrored for negative values: one scheme for every layer and
# every run, so any two histograms can be overlaid. The central bin (-1e-12, 1e-12) holds zeros.
GRAD_DECADES = (-12, 0)  # magnitudes 1e-12 .. 1
GRAD_BINS_PER_DECADE = 4


# Top of the histograms of an activation unbounded above (ReLU): a few times the scale of z at
# initialisation with He's init, whose second moment is about that of the inputs (< 1).
UNBOUNDED_HI = 4.0


def act_bins(activation: str) -> np.ndarray:
    """Edges of the activation histograms: ACT_BINS equal bins over [lo, hi] of the activation
    (over [lo, lo + UNBOUNDED_HI] when z is unbounded above; larger values land in the last bin)."""
    act = lookup(ACTIVATIONS, "activation", activation)
    hi = act.hi if np.isfinite(act.hi) else act.lo + UNBOUNDED_HI
    return np.linspace(act.lo, hi, ACT_BINS + 1)


def grad_bins() -> np.ndarray:
    """Edges of the gradient histograms: -1 .. -1e-12, 1e-12 .. 1, GRAD_BINS_PER_DECADE per decade.

    The bins are [edge_i, edge_i+1); there are 2 * 12 * 4 + 1 = 97 of them.
    """
    lo, hi = GRAD_DECADES
    magnitudes = np.logspace(lo, hi, (hi - lo) * GRAD_BINS_PER_DECADE + 1)
    return np.concatenate([-magnitudes[::-1], magnitudes])


def forward_backward(
    model: MLP, x: Tensor, y: Tensor, cost: str
) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor]]:
    """``s``, ``z``, ``dC_ds`` and ``dC_dW`` of every hidden layer for the mean cost over (x, y).

    They come from the backward that trains the network (:class:`glorot.backprop.Backprop`), so
    the probes show the very gradients of §4.2 that update the weights. The weights are left as
    they were.
    """
    net = Backprop(model, cost, len(x))
    with torch.no_grad():
        _, dW, _ = net.gradients(x, y)
    depth = len(net.s)
    return net.s, net.z, net.delta[:depth], dW[:depth]


NEAR_ASYMPTOTE = 0.03  # |tanh| > 0.97, the common rule of thumb; sigmoid z < 0.03 or > 0.97


def _near_asymptote(activation, Z: Tensor) -> Tensor:
    """Share of each layer's activations (L, M) within NEAR_ASYMPTOTE of an asymptote; NaN for an
    activation with an unbounded side (ReLU: its zeros are not an asymptote)."""
    if not (math.isfinite(activation.lo) and math.isfinite(activation.hi)):
        return torch.full((Z.shape[0],), float("nan"), device=Z.device)
    near = (Z - activation.lo < NEAR_ASYMPTOTE) | (activation.hi - Z < NEAR_ASYMPTOTE)
    return near.float().mean(dim=1)


def _update_ratio(model: MLP, x: Tensor, y: Tensor, cfg: RunConfig) -> Tensor:
    """log10 of std(ε ∂C/∂W) / std(W) per hidden layer: the size of one SGD update of a mini-batch
    (the first ``cfg.batch`` probe examples) against the weights it changes; about -3 is the common
    rule of thumb for a healthy rate."""
    _, _, _, dC_dW = forward_backward(model, x, y, cfg.cost)
    return torch.stack(
        [
            torch.log10(cfg.lr * g.std(correction=0) / layer.weight.std(correction=0))
            for g, layer in zip(dC_dW, model.layers, strict=False)
        ]
    )


def _hist(values: Tensor, edges: Tensor, spacing: str | None = None) -> Tensor:
    """Fraction of each row of ``values`` (R, M) in each bin [edge_i, edge_i+1) -> (R, bins).

    What falls below the first edge or above the last lands in the end bins. The bin of a value is
    the number of inner edges at or below it, as a binary search finds it (``torch.bucketize``).
    When ``spacing`` says how the edges were made (``"linear"``: :func:`act_bins`;
    ``"mirrored_log"``: :func:`grad_bins`) the bins come from :func:`_bins` instead: the same bins,
    several times faster."""
    rows, n_bins = values.shape[0], len(edges) - 1
    if spacing is None:
        idx = torch.bucketize(values, edges[1:-1], right=True)  # (R, M) in 0 .. n_bins-1
    else:
        idx = _bins(values, edges, spacing)
    idx += n_bins * torch.arange(rows, device=values.device)[:, None]
    counts = torch.bincount(idx.flatten(), minlength=rows * n_bins)
    return counts.view(rows, n_bins) / values.shape[1]


def _bins(values: Tensor, edges: Tensor, spacing: str) -> Tensor:
    """``torch.bucketize(values, edges[1:-1], right=True)``, by arithmetic checked against the edges.

    A value's position t among the bins (``"linear"``: equal bins from edges[0] to edges[-1];
    ``"mirrored_log"``: GRAD_BINS_PER_DECADE bins per decade of |value| from 10^GRAD_DECADES[0] on
    each side of a central bin, the side given by the sign) gives its bin as floor(t), up to one
    bin where float32 rounds t across an integer. Each estimate is then compared with the two
    edges of its bin and moved by one where the value lies outside them, so the bins are those of
    the binary search exactly; NaN lands in the last bin, as there.
    """
    last = len(edges) - 2
    if spacing == "linear":
        lo, hi = float(edges[0]), float(edges[-1])
        t = (values - lo).mul_((last + 1) / (hi - lo))
    elif spacing == "mirrored_log":
        t = values.abs().log10_().sub_(GRAD_DECADES[0]).mul_(GRAD_BINS_PER_DECADE)
        # magnitude bin -1 (the central bin) .. top -> bins 0 .. 2 top, by the sign
        top = last // 2
        t = t.clamp_(-0.5, top + 0.5).floor_().add_(1).copysign_(values).add_(top + 0.5)
    else:
        raise ValueError(f"unknown spacing {spacing!r}; choose linear or mirrored_log")
    t = t.nan_to_num_(nan=last, posinf=last, neginf=0).clamp_(0, last)
    idx = t.long()  # t >= 0: truncation is floor
    # Bin i holds below[i] <= v < above[i]; nothing compares >= NaN, so +inf stays in the last bin.
    below = torch.cat([edges.new_tensor([-math.inf]), edges[1:-1]])
    above = torch.cat([edges[1:-1], edges.new_tensor([math.nan])])
    flat = idx.view(-1)
    idx.sub_((values < below.index_select(0, flat).view_as(values)).long())
    idx.add_((values >= above.index_select(0, flat).view_as(values)).long())
    return idx


def _percentiles(values: Tensor, q: Tensor) -> Tensor:
    """Quantiles ``q`` of each row of ``values`` (R, M) -> (R, len(q)), interpolated linearly
    between order statistics as ``np.percentile`` does (``torch.quantile`` stops at 2^24 values)."""
    pos = q * (values.shape[1] - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp_max(values.shape[1] - 1)
    frac = pos - lo
    ordered = _order_statistics(values, torch.cat([lo, hi]))
    return ordered[:, : len(q)] * (1 - frac) + ordered[:, len(q) :] * frac


def _order_statistics(values: Tensor, ranks: Tensor) -> Tensor:
    """The values of ``ranks`` (0-based) in each row of ``values`` sorted ascending, NaN last:
    ``values.sort(dim=1).values[:, ranks]``. On the CPU a selection (numpy's introselect, one
    pass for every rank) takes the place of the sort, several times faster for the probes'
    rows of 10^5 values; the values selected are the same elements, bit for bit."""
    if values.device.type != "cpu":
        return values.sort(dim=1).values[:, ranks]
    wanted = np.unique(ranks.numpy())
    picked = np.partition(values.numpy(), wanted, axis=1)
    return torch.from_numpy(picked[:, ranks.numpy()])


def jacobian_spectra(model: MLP, x: Tensor, s: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Singular values of J^l = diag(f'(s^l)) W^l (eq. 17) for the E examples in ``x`` (E, n_in).

    ``s[l]`` holds the pre-activations of layer l for those examples (E, width). Returns the mean
    singular value of each layer over examples and values (L,), and the spectrum sorted in
    decreasing order and averaged over examples (L, width), NaN-padded where a layer has fewer than
    ``width`` singular values (a first layer with n_in < width).

    The singular values are the square roots of the eigenvalues of the smaller Gram matrix, J J^T or
    J^T J. For the first, diag(d) W W^T diag(d), the product W W^T is shared by all examples, and a
    symmetric eigensolver is about twice as fast as an SVD. The price is precision at the bottom of
    the spectrum: absolute errors up to about sqrt(eps) * sigma_max (~3e-4 sigma_max in float32),
    which does not move the mean or the shape of the spectrum.
    """
    width = model.layers[0].out_features
    means, spectra = [], []
    for layer, s_l in zip(model.layers[:-1], s, strict=True):
        d = model.activation.df(s_l)  # (E, out)
        W = layer.weight  # (out, in)
        if W.shape[0] <= W.shape[1]:
            gram = d[:, :, None] * (W @ W.T) * d[:, None, :]  # (E, out, out)
        else:
            dW = d[:, :, None] * W  # (E, out, in)
            gram = dW.mT @ dW  # (E, in, in)
        try:
            eig = torch.linalg.eigvalsh(gram)
        except torch.linalg.LinAlgError:
            eig = None
        if eig is None or not torch.isfinite(eig).all():
            # ReLU's f' is 0 on about half of the units: a Gram matrix with hundreds of zero
            # eigenvalues, on which the float32 solver can fail (an error or NaN); float64 does not.
            eig = torch.linalg.eigvalsh(gram.double()).to(gram.dtype)
        sv = eig.clamp_min_(0).sqrt_().flip(-1)  # (E, r), decreasing
        means.append(sv.mean())
        padded = torch.full((width,), float("nan"), device=sv.device)
        padded[: sv.shape[1]] = sv.mean(dim=0)
        spectra.append(padded)
    return torch.stack(means), torch.stack(spectra)


def probe(
    model: MLP,
    x: Tensor,
    y: Tensor,
    cfg: RunConfig,
    jacobians: bool = True,
    why_not: list[str] | None = None,
) -> dict[str, np.ndarray]:
    """Statistics of every hidden layer on the probe set (x, y); arrays of shape (L, ...).

    Keys: act_mean, act_std, act_pct, absact_pct, act_saturated, act_hist, dC_ds_std, dC_ds_pct,
    dC_ds_hist, dC_dW_std, dC_dW_hist, saturated_97, update_ratio, jac_mean_sv, jac_sv.
    Percentiles are PERCENTILES, stds are over all units and examples (or weights) of a layer,
    histograms use :func:`act_bins` and :func:`grad_bins`. With ``cfg.jacobian_examples == 0`` or
    ``jacobians=False`` (they are three quarters of a probe's cost) the jac_* arrays are NaN. They
    are NaN too when the eigensolver does not converge (weights blown up by too large a learning
    rate): the reason is appended to ``why_not`` and the other statistics are kept.
    """
    n_in, depth = model.layers[0].in_features, len(model.layers) - 1
    width = model.layers[0].out_features
    if x.ndim != 2 or x.shape[1] != n_in or y.shape != x.shape[:1]:
        raise ValueError(
            f"probe set of shape x {tuple(x.shape)}, y {tuple(y.shape)} does not fit a network "
            f"with {n_in} inputs; pass x of shape (N, {n_in}) and y of shape (N,)"
        )
    if cfg.jacobian_examples > x.shape[0]:
        raise ValueError(
            f"jacobian_examples ({cfg.jacobian_examples}) exceeds the {x.shape[0]} probe examples"
        )
    device = model.layers[0].weight.device
    x, y = x.to(device), y.to(device)
    s, z, dC_ds, dC_dW = forward_backward(model, x, y, cfg.cost)

    with torch.no_grad():
        Z = torch.stack(z).flatten(1)  # (L, N * width)
        G = torch.stack(dC_ds).flatten(1)  # (L, N * width)
        # float64 positions: in float32, q * (M - 1) is off by a few hundredths at M = 300k
        q = torch.tensor(PERCENTILES, device=device, dtype=torch.float64) / 100
        act_edges = torch.as_tensor(act_bins(model.activation.name), device=device, dtype=Z.dtype)
        grad_edges = torch.as_tensor(grad_bins(), device=device, dtype=Z.dtype)
        stats = {
            "act_mean": Z.mean(dim=1),
            "act_std": Z.std(dim=1, correction=0),
            "act_pct": _percentiles(Z, q),  # (L, 5)
            "absact_pct": _percentiles(Z.abs(), q),
            "act_saturated": model.activation.saturated(Z).float().mean(dim=1),
            "act_hist": _hist(Z, act_edges, "linear"),
            "dC_ds_std": G.std(dim=1, correction=0),
            "dC_ds_pct": _percentiles(G, q),
            "dC_ds_hist": _hist(G, grad_edges, "mirrored_log"),
            # Layer 1's weights have another shape than the others: one row per layer.
            "dC_dW_std": torch.stack([g.std(correction=0) for g in dC_dW]),
            "dC_dW_hist": torch.cat(
                [_hist(g.reshape(1, -1), grad_edges, "mirrored_log") for g in dC_dW]
            ),
            "saturated_97": _near_asymptote(model.activation, Z),
            "update_ratio": _update_ratio(model, x[: cfg.batch], y[: cfg.batch], cfg),
        }
        stats["jac_mean_sv"] = torch.full((depth,), float("nan"), device=device)
        stats["jac_sv"] = torch.full((depth, width), float("nan"), device=device)
        k = cfg.jacobian_examples if jacobians else 0
        if k > 0:
            try:
                stats["jac_mean_sv"], stats["jac_sv"] = jacobian_spectra(
                    model, x[:k], [s_l[:k] for s_l in s]
                )
            except torch.linalg.LinAlgError as err:
                if why_not is None:
                    raise
                why_not.append(f"Jacobian spectra: {str(err).splitlines()[0]}")
    return _to_host(stats)


def _to_host(stats: dict[str, Tensor]) -> dict[str, np.ndarray]:
    """One device-to-host copy for all statistics of a probe, split back into named arrays."""
    flat = torch.cat([t.reshape(-1).float() for t in stats.values()]).cpu().numpy()
    out, start = {}, 0
    for key, t in stats.items():
        out[key] = flat[start : start + t.numel()].reshape(tuple(t.shape))
        start += t.numel()
    return out

"""Figures of the cost surfaces (Fig. 5), the gradients at initialisation (Figs. 6-8, §4.2.2) and
during training (Fig. 9). Pure functions: arrays in, a Figure out; one colour per hidden layer.

Dictionaries keyed by init name ("standard", "normalized") hold one array per init; per-layer arrays
have the first hidden layer first.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from glorot import registry
from glorot.figures import MAX_WIDTH, layer_color, legend_outside
from glorot.markdown import table
from glorot.theory import quarter_circle_pdf

SURFACE_CMAP = "viridis"  # one colour map for both costs of Fig. 5
COST_LABELS = {"nll": "cross-entropy  −log P(y|x)", "quadratic": "quadratic  ‖softmax − onehot‖²"}
INIT_LABELS = {
    name: f"{registry.INITS[name].title} init ({registry.INITS[name].reference})"
    for name in ("standard", "normalized")
}
# The two inits are told apart by two colours far apart on the layers' scale.
INIT_COLORS = {"standard": layer_color(0), "normalized": layer_color(3)}
NOT_MEASURED = "not measured"  # a table cell without a value (a layer whose Jacobian is not square)


def _layer_label(i: int) -> str:
    return f"layer {i + 1}"


def layer_table(columns: Mapping, *, fmt: str = ".3g") -> str:
    """A Markdown table with one row per hidden layer: ``columns`` {header: (L,) values}; a value
    that is not finite (NaN: not measured, or not predicted) reads "not measured"."""
    names = list(columns)
    values = [np.asarray(columns[n], dtype=float) for n in names]
    rows = (
        [i + 1, *(format(v[i], fmt) if np.isfinite(v[i]) else NOT_MEASURED for v in values)]
        for i in range(len(values[0]))
    )
    return table(["layer", *names], rows)


def log_ticks(axis, lo: float, hi: float) -> None:
    """Numbered ticks on a log ``axis`` spanning ``lo`` to ``hi``: powers of ten where the range
    holds three or more, else 1-2-5 steps, else every integer multiple, so that even a range
    inside one decade shows numbers."""
    decades = np.log10(hi) - np.log10(lo)
    subs = (1.0,) if decades >= 2 else (1.0, 2.0, 5.0) if decades >= 1 else np.arange(1.0, 10.0)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


# ---- Fig. 5 --------------------------------------------------------------------------------------


def cost_surfaces_3d(surfaces: Mapping, *, elev: float = 30, azim: float = -60) -> Figure:
    """Fig. 5 as surfaces: each cost over (W1[0,0], W2[0,0]), side by side, coloured with the same
    colour map from its own minimum to its own maximum. ``surfaces``: {cost: glorot.surface.Surface}.
    """
    fig = plt.figure(figsize=(5.2 * len(surfaces), 4.6))
    for k, (name, s) in enumerate(surfaces.items()):
        ax = fig.add_subplot(1, len(surfaces), k + 1, projection="3d")
        w1, w2 = np.meshgrid(s.axis, s.axis)
        surf = ax.plot_surface(
            w1, w2, s.cost, cmap=SURFACE_CMAP, linewidth=0, antialiased=True, rcount=60, ccount=60
        )
        ax.view_init(elev=elev, azim=azim)
        ax.set_xlabel("W1[0,0] (first layer)")
        ax.set_ylabel("W2[0,0] (output layer)")
        ax.set_title(COST_LABELS.get(name, name))
        fig.colorbar(surf, ax=ax, shrink=0.6, pad=0.1, label="cost")
    return fig


def cost_contours(surfaces: Mapping, plateaus: Mapping, *, levels: int = 20) -> Figure:
    """Fig. 5 as maps: filled contours of each cost (same colour map, ``levels`` equal steps from
    its minimum to its maximum), with the plateau points (``plateaus``: {cost: bool (grid, grid)})
    hatched."""
    fig, axes = plt.subplots(1, len(surfaces), figsize=(5.2 * len(surfaces), 4.4), squeeze=False)
    for ax, (name, s) in zip(axes[0], surfaces.items(), strict=True):
        w1, w2 = np.meshgrid(s.axis, s.axis)
        filled = ax.contourf(w1, w2, s.cost, levels=levels, cmap=SURFACE_CMAP)
        mask = np.asarray(plateaus[name], dtype=float)
        ax.contourf(w1, w2, mask, levels=[0.5, 1.5], colors="none", hatches=["////"])
        ax.contour(w1, w2, mask, levels=[0.5], colors="white", linewidths=0.8)
        ax.set_xlabel("W1[0,0] (first layer)")
        ax.set_ylabel("W2[0,0] (output layer)")
        ax.set_title(f"{COST_LABELS.get(name, name)}\nplateau (hatched): {mask.mean():.1%}")
        ax.set_aspect("equal")
        fig.colorbar(filled, ax=ax, shrink=0.85)
    fig.tight_layout()
    return fig


# ---- Figs. 6-8 -----------------------------------------------------------------------------------


def _by_init(data: Mapping, draw, *, sharex=True, sharey=True, width=6.4) -> Figure:
    fig, axes = plt.subplots(
        len(data), 1, figsize=(width, 2.6 * len(data)), sharex=sharex, sharey=sharey, squeeze=False
    )
    for ax, (init, values) in zip(axes[:, 0], data.items(), strict=True):
        draw(ax, values)
        ax.set_title(INIT_LABELS.get(init, init))
    legend_outside(axes[0, 0])
    fig.tight_layout()
    return fig


def activation_histograms(hists: Mapping, edges: np.ndarray, *, xlabel: str = "z") -> Figure:
    """Fig. 6: normalized histograms of the activations of each hidden layer, one panel per init.

    ``hists``: {init: (L, bins) fractions}; ``edges``: the bins' edges (bins + 1,)."""
    centres = (edges[:-1] + edges[1:]) / 2

    def draw(ax, h):
        for i, row in enumerate(np.asarray(h)):
            ax.plot(centres, row, color=layer_color(i), label=_layer_label(i))
        ax.set_ylabel("fraction")
        ax.set_xlabel(f"activation value ${xlabel}$")

    return _by_init(hists, draw)


def magnitude_histogram(hist: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fold histograms on mirrored bins (:func:`glorot.probes.grad_bins`) into histograms of |g|.

    Returns the magnitude bins' edges (m + 1,), from the central (zero) bin's upper edge up, and the
    fractions (..., m) with the central bin left out (zeros have no place on a log axis)."""
    hist = np.asarray(hist, dtype=float)
    n = hist.shape[-1]
    mid = n // 2  # the central bin holds |g| < the smallest edge
    positive = hist[..., mid + 1 :]
    negative = hist[..., :mid][..., ::-1]
    return edges[mid + 1 :], positive + negative


def gradient_histograms(hists: Mapping, edges: np.ndarray, *, quantity: str) -> Figure:
    """Figs. 7 and 8: normalized histograms of the magnitude of gradients of each layer on a log
    axis (equal bins in log|g|), one panel per init. The paper draws the signed values on a linear
    axis; on a log axis a layer's shift shows its scale directly.

    ``hists``: {init: (L, bins)} on ``edges`` (:func:`glorot.probes.grad_bins`); ``quantity``:
    the axis label, e.g. "|∂C/∂s|"."""
    mag_edges, _ = magnitude_histogram(next(iter(hists.values())), edges)
    centres = np.sqrt(mag_edges[:-1] * mag_edges[1:])
    folded = {init: magnitude_histogram(h, edges)[1] for init, h in hists.items()}
    # Show only the decades that hold the values: from the first to the last bin with 0.1%.
    mass = np.max([f.max(axis=0) for f in folded.values()], axis=0)
    used = np.flatnonzero(mass > 1e-3)
    lo, hi = mag_edges[used[0]], mag_edges[used[-1] + 1]

    def draw(ax, f):
        for i, row in enumerate(f):
            ax.plot(centres, row, color=layer_color(i), label=_layer_label(i))
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylabel("fraction")
        ax.set_xlabel(quantity)

    return _by_init(folded, draw)


def variances_vs_theory(measured: Mapping, predicted: Mapping) -> Figure:
    """Variance per layer of z (eq. 5), ∂C/∂s (eq. 13) and ∂C/∂W (eq. 14): measured (markers and
    solid lines) against the linear-regime prediction (dashed), one colour per init.

    ``measured``: {init: {"act_var", "dC_ds_var", "dC_dW_var": (L,)}}; ``predicted``: the same keys
    from :func:`glorot.theory.predictions`, plus optionally "dC_ds_var_df" (dotted: eq. 13 with the
    measured E[f'²]). Eq. 14 predicts a profile, not a scale: its curve is scaled to the measured
    geometric mean of each init."""
    panels = (
        ("act_var", r"$\mathrm{Var}[z^l]$  (eq. 5)"),
        ("dC_ds_var", r"$\mathrm{Var}[\partial C/\partial s^l]$  (eq. 13)"),
        ("dC_dW_var", r"$\mathrm{Var}[\partial C/\partial W^l]$  (eq. 14, profile)"),
    )
    colors = INIT_COLORS
    # One panel per row: three side by side would be shrunk to a third of the column each.
    fig, axes = plt.subplots(3, 1, figsize=(MAX_WIDTH - 0.5, 7.8), sharex=True)
    for ax, (key, title) in zip(axes, panels, strict=True):
        for init in measured:
            m = np.asarray(measured[init][key], dtype=float)
            p = np.asarray(predicted[init][key], dtype=float)
            layers = np.arange(1, len(m) + 1)
            if key == "dC_dW_var":
                p = p * np.exp(np.mean(np.log(m)) - np.mean(np.log(p)))
            c = colors.get(init, None)
            ax.plot(layers, m, "o-", color=c, label=f"{init}: measured")
            ax.plot(layers, p, "--", color=c, label=f"{init}: linear regime")
            if key == "dC_ds_var" and "dC_ds_var_df" in predicted[init]:
                ax.plot(
                    layers,
                    predicted[init]["dC_ds_var_df"],
                    ":",
                    color=c,
                    label=f"{init}: × $E[f'^2]$",
                )
        ax.set_yscale("log")
        ax.set_xticks(layers)
        ax.set_title(title)
    axes[-1].set_xlabel("hidden layer")
    legend_outside(axes[1])
    fig.tight_layout()
    return fig


def jacobian_mean_sv(measured: Mapping, predicted: Mapping, paper: Mapping) -> Figure:
    """Mean singular value of the layer Jacobians per layer (§4.2.2): measured (markers), the
    quarter-circle prediction (dashed, square layers only) and the paper's value (dotted line).

    ``measured``, ``predicted``: {init: (L,)}; ``paper``: {init: value}."""
    colors = INIT_COLORS
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for init, m in measured.items():
        m = np.asarray(m, dtype=float)
        layers = np.arange(1, len(m) + 1)
        c = colors.get(init, None)
        ax.plot(layers, m, "o-", color=c, label=f"{init}: measured")
        ax.plot(
            layers, predicted[init], "s--", color=c, mfc="none", label=f"{init}: quarter circle"
        )
        ax.axhline(paper[init], color=c, ls=":", lw=1, label=f"{init}: paper ≈{paper[init]:g}")
    ax.set_xticks(layers)
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("mean singular value of $J^l$")
    ax.set_ylim(0, 1)
    legend_outside(ax)
    fig.tight_layout()
    return fig


def jacobian_spectra(spectra: Mapping, edges: Mapping, *, bins: int = 40) -> Figure:
    """Histograms (densities) of the singular values of J^l per layer, one panel per init, against
    the quarter-circle law of each square layer (dashed, same colour).

    ``spectra``: {init: (L, k) singular values, NaN-padded}; ``edges``: {init: (L,) the law's edge
    2σ√n·√E[f'²], NaN where the layer is not square (no curve drawn)}."""
    top = max(np.nanmax(s) for s in spectra.values())
    grid = np.linspace(0, top * 1.05, 400)
    bin_edges = np.linspace(0, top * 1.05, bins + 1)

    def draw(ax, item):
        spectrum, edge = item
        for i, (sv, a) in enumerate(zip(np.asarray(spectrum), np.asarray(edge), strict=True)):
            sv = sv[np.isfinite(sv)]
            ax.hist(
                sv,
                bins=bin_edges,
                density=True,
                histtype="step",
                color=layer_color(i),
                label=_layer_label(i),
            )
            if np.isfinite(a):
                ax.plot(grid, quarter_circle_pdf(grid, a), "--", color=layer_color(i), lw=1)
        ax.set_xlabel("singular value of $J^l$")
        ax.set_ylabel("density")

    data = {init: (spectra[init], edges[init]) for init in spectra}
    return _by_init(data, draw, sharey=False)


# ---- Fig. 9 --------------------------------------------------------------------------------------


def std_in_training(updates: Mapping, std: Mapping, *, quantity: str) -> Figure:
    """Fig. 9: the standard deviation of a per-layer quantity over training, one line per layer,
    one panel per init, log scales. ``updates``: {init: (P,)}; ``std``: {init: (P, L)}."""
    data = {init: (np.asarray(updates[init]), np.asarray(std[init])) for init in std}
    values = np.concatenate([s.ravel() for _, s in data.values()])
    values = values[np.isfinite(values) & (values > 0)]

    def draw(ax, item):
        u, s = item
        x = np.maximum(u, 1)  # update 0 (init) drawn at 1 on the log axis
        for i in range(s.shape[1]):
            ax.plot(x, s[:, i], "o-", ms=3, color=layer_color(i), label=_layer_label(i))
        ax.set_xscale("log")
        ax.set_yscale("log")
        log_ticks(ax.yaxis, values.min(), values.max())
        ax.set_xlabel("updates (init drawn at 1)")
        ax.set_ylabel(f"std of {quantity}")

    return _by_init(data, draw, sharey=True, width=7)


def spread_in_training(updates: Mapping, spread: Mapping, *, threshold: float) -> Figure:
    """The spread across layers (max/min over layers of the std of ∂C/∂W^l) over training, one
    line per init, with the C11 threshold. ``updates``, ``spread``: {init: (P,)}."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for init, s in spread.items():
        x = np.maximum(np.asarray(updates[init]), 1)
        ax.plot(x, s, "o-", ms=3, color=INIT_COLORS.get(init), label=INIT_LABELS.get(init, init))
    ax.axhline(threshold, color="grey", ls=":", lw=1, label=f"spread {threshold:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    values = np.concatenate([np.asarray(s, dtype=float) for s in spread.values()] + [[threshold]])
    values = values[np.isfinite(values) & (values > 0)]
    log_ticks(ax.yaxis, values.min(), values.max())
    ax.set_xlabel("updates (init drawn at 1)")
    ax.set_ylabel(r"max/min over layers of std($\partial C/\partial W^l$)")
    legend_outside(ax)
    fig.tight_layout()
    return fig

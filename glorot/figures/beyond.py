"""Figures of the chapter beyond the paper: mean-field theory over the measured statistics, the
order-to-chaos map, ReLU's scales, Jacobian spectra by init and by depth, and ReLU + He trained
beside Table 1.

Pure functions: arrays in, a Figure out. Where a figure's lines are layers or depths, their colours
run along one sequential palette (light = shallow, dark = deep), so that depth reads as a ramp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from glorot import registry
from glorot.figures import MAX_WIDTH, layer_color, legend_outside
from glorot.figures.errors import PAPER_COLOR, config_style, error_curves
from glorot.figures.saturation import short
from glorot.markdown import table
from glorot.run import Run

SEQUENTIAL = "viridis_r"  # light (shallow) to dark (deep)
# Each init's line style and legend name, from glorot.registry.
INIT_STYLE = {name: i.style for name, i in registry.INITS.items()}
INIT_NAMES = {name: i.legend for name, i in registry.INITS.items()}
FONT = 10  # points: 14 px at 100 dpi, legible at 800 px


def ramp(n: int) -> list:
    """``n`` colours along :data:`SEQUENTIAL`, from light (first) to dark (last)."""
    cmap = plt.get_cmap(SEQUENTIAL)
    return [cmap(0.15 + 0.8 * i / max(1, n - 1)) for i in range(n)]


def chi1_map(
    sigma_w2: np.ndarray,
    chi: Mapping[str, np.ndarray],
    marks: Mapping[str, tuple[float, float]],
) -> Figure:
    """χ₁ over σ_w² for each activation (``chi``: {activation: (G,)}) with the inits ``marks``
    ({label: (σ_w², χ₁)}) marked; the critical line χ₁ = 1 separates order from chaos."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for (name, values), color in zip(chi.items(), ramp(len(chi)), strict=True):
        ax.plot(sigma_w2, values, color=color, label=name)
    ax.axhline(1, color=PAPER_COLOR, linestyle=":", linewidth=1)
    for label, (x, y) in marks.items():
        ax.plot([x], [y], "o", color="black", markersize=6, zorder=3)
        ax.annotate(label, (x, y), xytext=(6, -14), textcoords="offset points", fontsize=FONT)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\sigma_w^2 = n\,\mathrm{Var}[W]$")
    ax.set_ylabel(r"$\chi_1 = \sigma_w^2\,E[\phi'(\sqrt{q^*}z)^2]$")
    ax.text(0.02, 0.95, "chaotic", transform=ax.transAxes, fontsize=FONT, va="top")
    ax.text(0.98, 0.04, "ordered", transform=ax.transAxes, fontsize=FONT, ha="right")
    ax.legend(fontsize=FONT, loc="lower right", bbox_to_anchor=(1, 0.1))
    fig.tight_layout()
    return fig


def meanfield_overlay(
    measured: Mapping[str, Mapping[str, np.ndarray]],
    predicted: Mapping[str, Mapping[str, np.ndarray]],
    *,
    ylabel: str = r"$\sqrt{E[z^2]}$",
) -> Figure:
    """One panel per activation: the measured per-layer statistic (markers) of each init and the
    mean-field prediction (line). ``measured[activation][init]`` and ``predicted`` likewise, (L,);
    an init missing from ``predicted`` (LSUV, which depends on data) is drawn measured only."""
    fig, axes = plt.subplots(1, len(measured), figsize=(4.0 * len(measured), 3.6), squeeze=False)
    for ax, (activation, by_init) in zip(axes[0], measured.items(), strict=True):
        for init, values in by_init.items():
            style = INIT_STYLE.get(init, {})
            layers = np.arange(1, len(values) + 1)
            ax.plot(
                layers,
                values,
                marker=style.get("marker", "o"),
                linestyle="none",
                color=style.get("color"),
                label=INIT_NAMES.get(init, init),
            )
            if init in predicted.get(activation, {}):
                ax.plot(
                    layers,
                    predicted[activation][init],
                    color=style.get("color"),
                    linestyle=style.get("linestyle", "-"),
                    linewidth=1,
                )
        ax.set_yscale("log")
        ax.set_title(activation, fontsize=FONT + 1)
        ax.set_xlabel("hidden layer $l$")
        ax.set_xticks(layers)
        ax.legend(fontsize=FONT - 1)
    axes[0, 0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def layer_spectra(spectra: Mapping[str, np.ndarray], *, bins: int = 40) -> Figure:
    """Singular values of the layer Jacobians J^l at init, one panel per init (``spectra``:
    {label: (L, width)} as ``jac_sv`` of the probes, NaN-padded), one line per layer on the
    sequential palette."""
    n = len(spectra)
    cols = min(n, 2)  # two panels a row: legible at the column's width
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(MAX_WIDTH, 2.9 * rows), sharex=True, sharey=True, squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    top = max(float(np.nanmax(s)) for s in spectra.values())
    edges = np.linspace(0, top * 1.02, bins + 1)
    for ax, (label, sv) in zip(axes.flat, spectra.items(), strict=False):
        for i, (values, color) in enumerate(zip(sv, ramp(len(sv)), strict=True)):
            values = values[np.isfinite(values)]
            ax.hist(
                values, bins=edges, density=True, histtype="step", color=color, label=f"{i + 1}"
            )
        ax.set_title(label, fontsize=FONT + 1)
    for ax in axes[-1]:
        ax.set_xlabel("singular value of $J^l$")
    for ax in axes[:, 0]:
        ax.set_ylabel("density")
    axes[0, -1].legend(title="layer", fontsize=FONT - 1, title_fontsize=FONT - 1)
    fig.tight_layout()
    return fig


def depth_spectra(
    spectra: Mapping[str, Mapping[int, np.ndarray]],
    predicted_mean_sq: Mapping[int, float] | None = None,
) -> Figure:
    """Dynamical isometry: for each kind of weights ({kind: {depth: singular values (E, width)}})
    the density of log10 σ of the input-output Jacobian by depth (sequential palette), and a last
    panel with E[σ²] and Var[σ²]/E[σ²]² over depth (``predicted_mean_sq``: the mean-field product
    of the χ^l, drawn as a line)."""
    kinds = list(spectra)
    # The densities side by side, the summary over depth below them, at the column's width.
    fig = plt.figure(figsize=(MAX_WIDTH, 6.4))
    grid = fig.add_gridspec(2, len(kinds))
    axes = [fig.add_subplot(grid[0, i]) for i in range(len(kinds))]
    axes.append(fig.add_subplot(grid[1, :]))
    all_sv = np.concatenate([np.ravel(s) for k in kinds for s in spectra[k].values()])
    positive = all_sv[all_sv > 0]
    edges = np.linspace(np.log10(positive.min()), np.log10(positive.max()) + 0.05, 60)
    for ax, kind in zip(axes[:-1], kinds, strict=True):
        depths = sorted(spectra[kind])
        for depth, color in zip(depths, ramp(len(depths)), strict=True):
            sv = np.ravel(spectra[kind][depth])
            ax.hist(
                np.log10(sv[sv > 0]),
                bins=edges,
                density=True,
                histtype="step",
                color=color,
                label=f"{depth}",
            )
        ax.set_title(kind, fontsize=FONT + 1)
        ax.set_xlabel(r"$\log_{10}\sigma$ of $\partial z^L/\partial x$")
    axes[0].set_ylabel("density")
    axes[len(kinds) - 1].legend(title="depth $L$", fontsize=FONT - 1, title_fontsize=FONT - 1)
    ax = axes[-1]
    for kind, style in zip(kinds, ("-", "--"), strict=False):
        depths = sorted(spectra[kind])
        sq = np.array([np.mean(np.ravel(spectra[kind][d]) ** 2) for d in depths])
        rel = np.array([np.var(np.ravel(spectra[kind][d]) ** 2) for d in depths]) / sq**2
        ax.plot(depths, rel, "o", linestyle=style, color="black", label=rf"{kind}: Var/E$^2$")
        ax.plot(
            depths, sq, "s", linestyle=style, color=PAPER_COLOR, label=rf"{kind}: $E[\sigma^2]$"
        )
    if predicted_mean_sq:
        d = sorted(predicted_mean_sq)
        ax.plot(
            d, [predicted_mean_sq[k] for k in d], color="#0173b2", label=r"mean field $\Pi\chi^l$"
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("depth $L$")
    legend_outside(ax, fontsize=FONT - 1)
    fig.tight_layout()
    return fig


def _beside_style(label: str) -> dict:
    """Table 1's models in their chapter-07 styles, any other model (ReLU He) in black."""
    style = config_style(label)
    return (
        style if style["color"] != PAPER_COLOR else dict(color="black", linestyle="-", linewidth=2)
    )


def errors_beside(runs: Mapping[str, Sequence[Run]], *, chance: float | None = None) -> Figure:
    """Test error (%) against updates as chapter 07 draws it (:func:`error_curves`: the mean over
    seeds, each seed a thin line), Table 1's models in their styles and any other model (ReLU He)
    in black."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    error_curves(runs, ax=ax, chance=chance, legend=False, style=_beside_style)
    ax.legend(fontsize=FONT - 1)
    fig.tight_layout()
    return fig


def depth_table(depths: Sequence[int], columns: Mapping, *, fmt: str = ".3g") -> str:
    """A Markdown table with one row per depth: ``columns`` {header: values, one per depth}."""
    names = list(columns)
    rows = (
        [depth, *(format(float(columns[n][i]), fmt) for n in names)]
        for i, depth in enumerate(depths)
    )
    return table(["depth", *names], rows)


def training_health(runs: Mapping[str, Run]) -> Figure:
    """Two cheap probes over training, one column per model: the share of each layer's units
    within 0.03 of an asymptote (top; |tanh| > 0.97) and log10 of one SGD update's size against
    its weights (bottom; the dashed line at -3 is the common rule of thumb)."""
    fig, axes = plt.subplots(
        2, len(runs), figsize=(MAX_WIDTH, 4.4), sharex=True, sharey="row", squeeze=False
    )
    for col, (label, run) in enumerate(runs.items()):
        updates = run.probes["updates"]
        for key, ax in zip(("saturated_97", "update_ratio"), axes[:, col], strict=True):
            values = run.probes[key]
            for layer in range(values.shape[1]):
                ax.plot(
                    updates,
                    values[:, layer],
                    color=layer_color(layer),
                    lw=1.2,
                    label=f"layer {layer + 1}",
                )
        axes[0, col].set_title(label, fontsize=10)
        axes[1, col].axhline(-3, color="0.5", lw=0.8, ls="--")
        axes[1, col].set_xlabel("updates")
        axes[1, col].xaxis.set_major_locator(MaxNLocator(nbins=3))
        axes[1, col].xaxis.set_major_formatter(FuncFormatter(lambda x, _: short(x)))
    axes[0, 0].set_ylabel("share near an\nasymptote")
    axes[1, 0].set_ylabel(r"$\log_{10}$ update / weight")
    legend_outside(axes[0, -1], fontsize=9)
    fig.tight_layout()
    return fig

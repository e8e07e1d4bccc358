"""Figs. 2, 3, 4 and 10: the activations of each hidden layer during training, on the 300 probe
examples, and their histograms at the end.

Every curve is drawn against the number of updates, with the paper's "epochs of 20k mini-batch
updates" on a second axis on top; one colour per layer (:func:`glorot.figures.layer_color`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from glorot.config import PAPER_EPOCH
from glorot.figures import layer_color, legend_outside
from glorot.figures.errors import config_style
from glorot.probes import PERCENTILES, act_bins
from glorot.run import Run

P98 = PERCENTILES.index(98)


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.2, 3.4)) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def short(x: float) -> str:
    """An axis number in few characters: 1500 -> 1.5k, 2000000 -> 2M."""
    for size, unit in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:g}{unit}"
    return f"{x:g}"


def updates_axis(ax: Axes) -> None:
    """Updates on the x axis (at most six ticks, 20k for 20,000, so that labels never run
    together) and the paper's epochs of 20k updates on top."""
    ax.set_xlabel("updates (mini-batches of 10)")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: short(x)))
    top = ax.secondary_xaxis(
        "top", functions=(lambda u: u / PAPER_EPOCH, lambda e: e * PAPER_EPOCH)
    )
    top.xaxis.set_major_locator(MaxNLocator(nbins=6))
    top.set_xlabel(f"epochs of {PAPER_EPOCH // 1000}k updates (the paper's axis)")


def _title(run: Run) -> str:
    return f"{run.config.label}, {run.config.init} init, lr {run.config.lr:g}"


def _layers(run: Run) -> range:
    return range(run.probes["act_mean"].shape[1])


def mean_std(run: Run, *, ax: Axes | None = None) -> Figure:
    """Fig. 2: mean activation of each hidden layer during training (line and markers), ± one
    standard deviation over the layer's units and the probe examples (shaded)."""
    fig, ax = _axes(ax)
    updates, mean, std = run.probes["updates"], run.probes["act_mean"], run.probes["act_std"]
    for i in _layers(run):
        color = layer_color(i)
        ax.plot(updates, mean[:, i], marker="o", markersize=3, color=color, label=f"Layer {i + 1}")
        ax.fill_between(
            updates, mean[:, i] - std[:, i], mean[:, i] + std[:, i], color=color, alpha=0.15, lw=0
        )
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("activation $z$: mean ± std")
    ax.set_title(_title(run))
    updates_axis(ax)
    legend_outside(ax)
    return fig


def percentile_std(run: Run, *, ax: Axes | None = None, threshold: float | None = None) -> Figure:
    """Figs. 3 and 10: the 98th percentile of |z| of each layer (markers alone) and the standard
    deviation of z (solid lines with markers) during training; ``threshold`` (the level at which a
    layer counts as saturated) is drawn dotted."""
    fig, ax = _axes(ax)
    updates = run.probes["updates"]
    p98, std = run.probes["absact_pct"][:, :, P98], run.probes["act_std"]
    for i in _layers(run):
        color = layer_color(i)
        ax.plot(updates, p98[:, i], linestyle="none", marker="^", markersize=4, color=color)
        ax.plot(updates, std[:, i], marker="o", markersize=3, color=color, label=f"Layer {i + 1}")
    if threshold is not None:
        ax.axhline(threshold, color="0.4", linestyle=":", linewidth=1)
    # Two proxy entries say which marker is which statistic.
    ax.plot([], [], linestyle="none", marker="^", color="0.3", label="98th percentile of $|z|$")
    ax.plot([], [], marker="o", markersize=3, color="0.3", label="std of $z$")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("98th pct of $|z|$, std of $z$")
    ax.set_title(_title(run))
    updates_axis(ax)
    legend_outside(ax)
    return fig


def saturated_fraction(run: Run, *, ax: Axes | None = None) -> Figure:
    """The fraction of each layer's activations within 10% of an asymptote (|z| > 0.9 for tanh
    and softsign) during training: a measure the paper does not plot."""
    fig, ax = _axes(ax)
    updates, frac = run.probes["updates"], run.probes["act_saturated"]
    for i in _layers(run):
        color = layer_color(i)
        ax.plot(updates, frac[:, i], marker="o", markersize=3, color=color, label=f"Layer {i + 1}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("fraction saturated")
    ax.set_title(_title(run))
    updates_axis(ax)
    legend_outside(ax)
    return fig


def end_histograms(run: Run, *, ax: Axes | None = None) -> Figure:
    """Fig. 4: the normalized histogram of each layer's activations at the end of training, over
    the layer's units and the probe examples (fractions per bin of width 0.04)."""
    fig, ax = _axes(ax)
    edges = act_bins(run.config.activation)
    centres = (edges[:-1] + edges[1:]) / 2
    hist = run.probes["act_hist"][-1]
    for i in _layers(run):
        ax.plot(centres, hist[i], color=layer_color(i), label=f"Layer {i + 1}")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("activation value $z$")
    ax.set_ylabel("fraction of values")
    updates = int(run.probes["updates"][-1])
    ax.set_title(f"{run.config.label}, {run.config.init} init, after {updates:,} updates")
    legend_outside(ax)
    return fig


def panels(
    draw: Callable[..., Figure],
    runs: Sequence[Run],
    *,
    columns: int = 1,
    size: tuple[float, float] = (6.2, 3.4),
    **kwargs,
) -> Figure:
    """One panel per run drawn by ``draw`` (one of this module's functions), ``columns`` per row;
    the paper stacks its panels (Figs. 2, 3), and so does the book: with a legend beside each
    panel, one column fills the page's width (:data:`glorot.figures.MAX_WIDTH`)."""
    rows = -(-len(runs) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False
    )
    for ax in axes.flat[len(runs) :]:
        ax.axis("off")
    for ax, run in zip(axes.flat, runs, strict=False):  # extra axes were turned off
        draw(run, ax=ax, **kwargs)
    fig.tight_layout()
    return fig


def end_p98_by_seed(
    runs: dict[str, Sequence[Run]], *, ax: Axes | None = None, threshold: float | None = None
) -> Figure:
    """C4 and C12 on every seed: the 98th percentile of |z| of each layer at the end of training,
    one thin line per seed and a thick one for the mean over seeds, per model (``runs``: {Table 1
    label: runs, one per seed}); ``threshold`` (a saturated layer) dotted."""
    fig, ax = _axes(ax)
    for label, model_runs in runs.items():
        style = config_style(label)
        ends = [r.probes["absact_pct"][-1, :, P98] for r in model_runs]
        layers = range(1, len(ends[0]) + 1)
        for end in ends:
            ax.plot(layers, end, color=style["color"], linewidth=0.7, alpha=0.45)
        mean = sum(ends) / len(ends)
        seeds = f"{len(ends)} seed{'s' * (len(ends) > 1)}"
        ax.plot(layers, mean, marker="o", markersize=4, label=f"{label} ({seeds})", **style)
    if threshold is not None:
        ax.axhline(threshold, color="0.4", linestyle=":", linewidth=1)
    ax.set_xticks(list(layers))
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("98th pct of $|z|$ at the end")
    ax.set_ylim(0, 1.05)
    legend_outside(ax)
    return fig

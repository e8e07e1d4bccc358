"""Figs. 11 and 12 and Table 1: test error during training, the learning-rate selection, and our
Table 1 beside the paper's.

Here a colour stands for a configuration of Table 1, not a layer: softsign in blues, tanh in
oranges, sigmoid in green; the normalized init (N) is drawn solid, the standard init dashed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from glorot.figures import legend_outside
from glorot.registry import model_colours
from glorot.run import Run

CONFIG_COLORS: dict[str, str] = model_colours()  # by Table 1 name, from glorot.registry
PAPER_COLOR = "#949494"


def config_style(label: str) -> dict:
    """Line style of a Table 1 configuration: its colour, solid for N (normalized), else dashed."""
    return {
        "color": CONFIG_COLORS.get(label, PAPER_COLOR),
        "linestyle": "-" if label.endswith(" N") else "--",
    }


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def seed_curves(runs: Sequence[Run]) -> tuple[np.ndarray, np.ndarray]:
    """Test error (%) of runs that differ only in their seed: (updates, errors (seeds, updates))
    at every update measured in all of them (a diverged run stops early, so the curves do too)."""
    common = set.intersection(*(set(r.evals["updates"].tolist()) for r in runs))
    updates = np.array(sorted(common), dtype=np.int64)
    errors = np.stack(
        [100 * r.evals["test_error"][np.searchsorted(r.evals["updates"], updates)] for r in runs]
    )
    return updates, errors


def error_curves(
    runs: Mapping[str, Sequence[Run]],
    *,
    ax: Axes | None = None,
    title: str = "",
    chance: float | None = None,
    legend: bool = True,
    style: Callable[[str], dict] = config_style,
) -> Figure:
    """Figs. 11, 12: test error (%) against updates for each configuration: the mean over seeds,
    and one thin line per seed when there are several (the spread between seeds).

    ``runs``: {Table 1 label: runs of that configuration, one per seed}; ``chance``: the error (%)
    of a constant guess, drawn as a dotted line; ``style``: a label's line style.
    """
    fig, ax = _axes(ax, (7.6, 4.2))
    for label, model_runs in runs.items():
        updates, errors = seed_curves(model_runs)
        style_of = style(label)
        ax.plot(updates, errors.mean(axis=0), label=label, **style_of)
        if len(model_runs) > 1:
            for e in errors:
                ax.plot(updates, e, color=style_of["color"], linewidth=0.6, alpha=0.45)
    if chance is not None:
        ax.axhline(chance, color=PAPER_COLOR, linestyle=":", label="constant guess")
    ax.set_xlabel("updates (mini-batches of 10)")
    ax.set_ylabel("test error (%)")
    ax.set_title(title)
    if legend:
        legend_outside(ax)
    return fig


def error_curves_panels(panels: Mapping[str, Mapping[str, Sequence[Run]]]) -> Figure:
    """Fig. 12: :func:`error_curves` side by side, one panel per data set ({title: runs})."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 1.6, 4.0), squeeze=False)
    for i, (ax, (title, runs)) in enumerate(zip(axes[0], panels.items(), strict=True)):
        error_curves(runs, ax=ax, title=title, legend=i == len(panels) - 1)
    fig.tight_layout()
    return fig


def lr_selection(
    valid_error: Mapping[str, Mapping[float, float]],
    chosen: Mapping[str, float],
    *,
    se: Mapping[str, Mapping[float, float]] | None = None,
    ax: Axes | None = None,
    title: str = "",
) -> Figure:
    """Validation error (%) of the selection runs (the score of
    :data:`glorot.experiments.SELECTION_RULE`) against the learning rate, one line per
    configuration, with ± ``se`` (its standard error) as whiskers when given; the chosen rate
    circled (§2.3: the rate is chosen by validation error). A diverged candidate is not drawn."""
    fig, ax = _axes(ax, (7.6, 4.2))
    for label, errors in valid_error.items():
        lrs = [lr for lr in sorted(errors) if np.isfinite(errors[lr])]
        style = config_style(label)
        yerr = None if se is None else [100 * se[label][lr] for lr in lrs]
        ax.errorbar(
            lrs,
            [100 * errors[lr] for lr in lrs],
            yerr=yerr,
            marker="o",
            capsize=3,
            label=label,
            **style,
        )
        best = chosen[label]
        if np.isfinite(errors[best]):
            ax.plot(
                best,
                100 * errors[best],
                marker="o",
                markersize=13,
                fillstyle="none",
                color=style["color"],
                linestyle="none",
            )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate ε")
    ax.set_ylabel("validation error (%)")
    ax.set_title(title)
    legend_outside(ax)
    return fig


def table1_comparison(
    ours: Mapping[str, Mapping[str, float]],
    paper: Mapping[str, Mapping[str, float]],
    *,
    lo: Mapping[str, Mapping[str, float]] | None = None,
    hi: Mapping[str, Mapping[str, float]] | None = None,
    titles: Mapping[str, str] | None = None,
) -> Figure:
    """Table 1 as bars: for each data set of ``ours`` a panel with, per configuration, the paper's
    error (grey, when the paper has that data set) beside ours (its colour; whiskers: the spread
    over seeds, from ``lo`` to ``hi``, e.g. mean ± sd). One legend above the panels."""
    sets = list(ours)
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 4.2), squeeze=False)
    for ax, d in zip(axes[0], sets, strict=True):
        labels = list(ours[d])
        x = np.arange(len(labels))
        has_paper = d in paper
        width = 0.4 if has_paper else 0.7
        if has_paper:
            ax.bar(
                x - width / 2,
                [paper[d][k] for k in labels],
                width,
                color=PAPER_COLOR,
                label="paper",
            )
        mine = np.array([ours[d][k] for k in labels])
        colors = [CONFIG_COLORS.get(k, PAPER_COLOR) for k in labels]
        yerr = None
        if lo is not None and hi is not None:
            yerr = np.array(
                [[mine[i] - lo[d][k], hi[d][k] - mine[i]] for i, k in enumerate(labels)]
            ).T
        ax.bar(
            x + width / 2 if has_paper else x,
            mine,
            width,
            color=colors,
            yerr=yerr,
            capsize=3,
            label="ours",
        )
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_ylabel("test error (%)")
        ax.set_title((titles or {}).get(d, d))
    handles, names = [], []
    for ax in axes[0]:
        for h, n in zip(*ax.get_legend_handles_labels(), strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.legend(handles, names, loc="upper center", ncol=len(names), bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig

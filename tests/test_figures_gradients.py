"""The gradient figures and tables as a reader sees them: numbers on every axis, no NaN, depth
as a sequential colour, legends beside the data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from glorot.figures import MAX_WIDTH, layer_color  # noqa: E402
from glorot.figures import gradients as F  # noqa: E402


def _luminance(color: str) -> float:
    r, g, b = mcolors.to_rgb(color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_layer_colours_run_from_dark_to_light_with_depth():
    shades = [_luminance(layer_color(i)) for i in range(5)]
    assert shades == sorted(shades) and shades[-1] - shades[0] > 0.4
    assert layer_color(7) == layer_color(4)  # past the paper's depth: the lightest shade


def test_layer_table_says_not_measured_instead_of_nan():
    table = F.layer_table({"measured": [0.5, 0.25], "predicted": [np.nan, 0.3]})
    assert "nan" not in table.lower()
    assert table.splitlines()[2] == "| 1 | 0.5 | not measured |"


def _labelled_ticks(ax) -> list[str]:
    ax.figure.canvas.draw()
    lo, hi = ax.get_ylim()
    return [
        t.get_text()
        for t, v in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)
        if t.get_text() and lo <= v <= hi
    ]


def test_the_spread_plot_numbers_its_y_axis_even_within_one_decade():
    updates = {"standard": np.array([0, 10, 100]), "normalized": np.array([0, 10, 100])}
    spread = {"standard": np.array([1.2, 3.0, 4.1]), "normalized": np.array([1.3, 1.5, 1.9])}
    fig = F.spread_in_training(updates, spread, threshold=2.0)
    assert len(_labelled_ticks(fig.axes[0])) >= 3
    plt.close(fig)


def test_the_variance_figure_stacks_its_panels_and_keeps_its_legend_off_the_data():
    layers = 5
    m = {
        "act_var": np.linspace(1, 0.1, layers),
        "dC_ds_var": np.linspace(1e-8, 1e-7, layers),
        "dC_dW_var": np.full(layers, 1e-5),
    }
    fig = F.variances_vs_theory({"standard": m, "normalized": m}, {"standard": m, "normalized": m})
    assert fig.get_size_inches()[0] <= MAX_WIDTH
    axes = fig.axes
    assert len({round(ax.get_position().x0, 3) for ax in axes}) == 1, "one panel per row"
    fig.canvas.draw()
    legend = next(ax.get_legend() for ax in axes if ax.get_legend())
    box, panel = legend.get_window_extent(), axes[1].get_window_extent()
    assert box.x0 >= panel.x1, "the legend sits right of the data"
    # mathtext, not raw carets: Var[z^l] is set as $\mathrm{Var}[z^l]$
    assert all(ax.get_title().startswith(r"$\mathrm{Var}[") for ax in axes)
    plt.close(fig)

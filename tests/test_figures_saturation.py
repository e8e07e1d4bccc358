"""The saturation figures on a synthetic run record: one curve per layer in the layer's colour, the
plotted values are the record's, and the paper's epochs appear on a second axis."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from glorot.config import PAPER_EPOCH, RunConfig  # noqa: E402
from glorot.figures import layer_color  # noqa: E402
from glorot.figures import saturation as figs  # noqa: E402
from glorot.probes import ACT_BINS, act_bins  # noqa: E402
from glorot.run import Run  # noqa: E402

L, UPDATES = 3, np.array([0, 1_000, 20_000, 40_000])


def fake_run(activation="tanh") -> Run:
    rng = np.random.default_rng(0)
    P = len(UPDATES)
    hist = rng.random((P, L, ACT_BINS))
    probes = {
        "updates": UPDATES,
        "act_mean": rng.random((P, L)),
        "act_std": rng.random((P, L)) / 4,
        "act_pct": np.sort(rng.uniform(-1, 1, (P, L, 5)), axis=-1),
        "absact_pct": np.sort(rng.random((P, L, 5)), axis=-1),
        "act_saturated": rng.random((P, L)),
        "act_hist": hist / hist.sum(axis=-1, keepdims=True),
    }
    cfg = RunConfig(activation=activation, depth=L, width=8, updates=int(UPDATES[-1]))
    return Run(config=cfg, probes=probes, evals={})


def layer_lines(ax):
    return [line for line in ax.get_lines() if line.get_label().startswith("Layer")]


@pytest.mark.parametrize(
    "draw, key",
    [
        (figs.mean_std, "act_mean"),
        (figs.percentile_std, "act_std"),
        (figs.saturated_fraction, "act_saturated"),
    ],
)
def test_curves_over_training_one_per_layer_in_its_colour(draw, key):
    run = fake_run()
    fig = draw(run)
    ax = fig.axes[0]
    lines = layer_lines(ax)
    assert len(lines) == L
    for i, line in enumerate(lines):
        assert mcolors.same_color(line.get_color(), layer_color(i))
        assert np.array_equal(line.get_xdata(), UPDATES)
        assert np.allclose(line.get_ydata(), run.probes[key][:, i])
    # The secondary axis on top shows epochs of 20k updates.
    top = [child for child in ax.child_axes if "epochs" in child.get_xlabel()]
    assert len(top) == 1
    fig.canvas.draw()
    assert np.allclose(np.array(top[0].get_xlim()) * PAPER_EPOCH, ax.get_xlim())
    plt.close(fig)


def test_percentile_markers_are_98th_percentile_of_abs_z_and_threshold_drawn():
    run = fake_run()
    fig = figs.percentile_std(run, threshold=0.95)
    ax = fig.axes[0]
    markers = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    for i in range(L):
        assert any(np.allclose(m.get_ydata(), run.probes["absact_pct"][:, i, -1]) for m in markers)
    assert any(np.allclose(line.get_ydata(), 0.95) for line in ax.get_lines())
    plt.close(fig)


def test_end_histograms_plot_the_last_probe_on_bin_centres():
    run = fake_run("softsign")
    fig = figs.end_histograms(run)
    lines = layer_lines(fig.axes[0])
    edges = act_bins("softsign")
    for i, line in enumerate(lines):
        assert np.allclose(line.get_xdata(), (edges[:-1] + edges[1:]) / 2)
        assert np.allclose(line.get_ydata(), run.probes["act_hist"][-1, i])
    plt.close(fig)


def test_panels_one_per_run_on_given_axes():
    runs = [fake_run(), fake_run("softsign"), fake_run()]
    fig = figs.panels(figs.end_histograms, runs, columns=2)
    drawn = [ax for ax in fig.axes if ax.axison]
    assert len(drawn) == 3
    assert "Softsign" in drawn[1].get_title()
    plt.close(fig)

"""The book's figures: one pure function per paper figure (arrays or a run in, a Figure out).

Hidden layers are coloured on one sequential scale (:func:`layer_color`), dark for the first layer
to light for the fifth, so that depth reads as colour and "layer 3" has the same colour from the
saturation plots (Figs. 2, 3, 10) to the gradient histograms (Figs. 6 to 9).

Figures are drawn for the width at which the book shows them: at most :data:`MAX_WIDTH` inches
at 100 dpi fills the ~800 px content column at its natural size, so that text set at 9 pt or more
(:func:`theme`) reads at 12 px or more; panels are stacked rather than set side by side.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import colormaps
from matplotlib.figure import Figure

MAX_WIDTH = 8.0  # inches: 800 px at the inline backend's 100 dpi, the content column's width
LAYER_CMAP = "viridis"  # sequential and colour-blind safe
LAYER_RANGE = (0.0, 0.85)  # the part of the map used: its palest yellow is lost on white
PAPER_DEPTH = 5  # the paper's networks have 5 hidden layers: the scale runs over 5 colours

# Categorical colours (groups, models, data sets), not layers:
# Seaborn's colour-blind-safe palette, written out so that the colours do not change with the
# seaborn version. Index 0 is the first hidden layer (the paper's "Layer 1").
LAYER_COLORS: tuple[str, ...] = (
    "#0173b2",
    "#de8f05",
    "#029e73",
    "#d55e00",
    "#cc78bc",
    "#ca9161",
    "#fbafe4",
    "#949494",
)


def layer_color(i: int, depth: int = PAPER_DEPTH) -> str:
    """Colour of hidden layer ``i`` (0 for the first hidden layer) of ``depth``: a shade of the
    sequential :data:`LAYER_CMAP`, darkest for layer 1; deeper layers past ``depth`` keep the
    lightest shade."""
    lo, hi = LAYER_RANGE
    t = min(i, depth - 1) / max(depth - 1, 1)
    r, g, b, _ = colormaps[LAYER_CMAP](lo + (hi - lo) * t)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def legend_outside(ax, **kwargs) -> None:
    """The legend of ``ax`` to the right of its data, never over it."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def theme() -> None:
    """Set the plotting style of the book: seaborn's white grid, the layer palette, tight saves."""
    sns.set_theme(context="notebook", style="whitegrid", palette=list(LAYER_COLORS))
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            # 9 pt at 100 dpi is 12.5 px on the page: legible at the figure's natural width.
            "font.size": 10,
            "axes.titlesize": 10,
            "axes.labelsize": 10,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 9,
            "legend.title_fontsize": 9,
        }
    )


def shapeset_grid(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    columns: int = 8,
    size: float = 1.3,
) -> Figure:
    """Fig. 1: Shapeset-3x2 examples in a grid, each titled with its class.

    ``images`` (n, 32, 32) in [0, 1] or [-1, 1]; ``labels`` (n,) class ids; ``names`` the class
    names in label-id order (default: ``glorot.shapeset.LABEL_NAMES``).
    """
    if names is None:
        from glorot.shapeset import LABEL_NAMES

        names = LABEL_NAMES
    images = np.asarray(images)
    n = len(images)
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(size * columns, size * rows + 0.3), squeeze=False
    )
    # Both pixel ranges show black as the lowest level and white as the highest.
    lo = -1.0 if images.min(initial=0.0) < 0 else 0.0
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label in zip(axes.flat, images, labels, strict=True):
        ax.imshow(image, cmap="gray", vmin=lo, vmax=1.0, interpolation="nearest")
        ax.set_title(names[int(label)], fontsize=7)
    fig.tight_layout()
    return fig

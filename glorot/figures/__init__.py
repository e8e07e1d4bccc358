"""The book's figures: one pure function per paper figure (arrays or a run in, a Figure out).

Every figure uses one palette, one colour per hidden layer, so that "layer 3" has the same colour
from the saturation plots (Figs. 2, 3, 10) to the gradient histograms (Figs. 6 to 9).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

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


def layer_color(i: int) -> str:
    """Colour of hidden layer ``i`` (0 for the first hidden layer); cycles past the palette."""
    return LAYER_COLORS[i % len(LAYER_COLORS)]


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

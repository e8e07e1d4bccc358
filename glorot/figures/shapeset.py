"""Figures of chapter 01: Shapeset-3x2's examples (Fig. 1), class law, factors and pixel statistics.

Pure functions: arrays in, a Figure out. Grey images are drawn with black as the lowest level of
their pixel range and white as the highest, one image pixel per square, no smoothing. The book's
pages are about 800 px wide and figures are drawn at 100 dpi: at most WIDTH inches wide, so that
they are shown at their own size and no text is below 7 pt (about 10 px).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from glorot import shapeset
from glorot.figures import LAYER_COLORS

GAP = 2  # pixels between the tiles of a mosaic
WIDTH = 7.8  # inches: the widest figure shown at its own size on the book's page
SMALL = 8  # pt: legends and notes inside the axes
_GREY = plt.get_cmap("gray").with_extremes(bad="white")  # NaN: the gaps between tiles


def mosaic(examples: np.ndarray, gap: int = GAP) -> np.ndarray:
    """Tile images (columns, rows, h, w) into one array: column j holds examples[j], top down;
    the gaps are NaN."""
    columns, rows, h, w = examples.shape
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    for j in range(columns):
        for i in range(rows):
            out[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = examples[
                j, i
            ]
    return out


def _pixel_limits(images: np.ndarray) -> tuple[float, float]:
    """Black and white of a pixel range: [-1, 1] if any value is negative, else [0, 1]."""
    return (-1.0 if np.nanmin(images) < 0 else 0.0), 1.0


def _wrapped(name: str) -> str:
    return name.replace("+", "+\n").replace("two ", "two\n")


def examples_figure(
    examples: np.ndarray,
    names: Sequence[str] = shapeset.LABEL_NAMES,
    *,
    enlarge: int = 3,
    dpi: int = 100,
) -> Figure:
    """Fig. 1: examples (classes, k, 32, 32) of every class, one column per class, drawn twice:
    at their own size (one image pixel per screen pixel at ``dpi``) and enlarged ``enlarge`` times,
    with the class names."""
    tiles = mosaic(np.asarray(examples, dtype=float))
    vmin, vmax = _pixel_limits(tiles)
    h, w = (s / dpi for s in tiles.shape)  # inches at actual size
    pad, label = 0.35, 0.75  # inches: titles, class names under the enlarged mosaic
    width = enlarge * w
    height = pad + h + pad + enlarge * h + label
    fig = plt.figure(figsize=(width, height), dpi=dpi)
    small = fig.add_axes((0, (label + enlarge * h + pad) / height, w / width, h / height))
    large = fig.add_axes((0, label / height, 1, enlarge * h / height))
    for ax in (small, large):
        ax.imshow(tiles, cmap=_GREY, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
    side = examples.shape[-1] + GAP
    large.set_xticks(np.arange(len(names)) * side + (side - GAP) / 2 - 0.5)
    large.set_xticklabels([_wrapped(n) for n in names], fontsize=8)
    large.tick_params(length=0)
    small.set_title("32 × 32 pixels, as the network sees them", fontsize=9, loc="left")
    large.set_title(f"enlarged × {enlarge}", fontsize=9, loc="left")
    return fig


def class_frequencies(
    counts: np.ndarray,
    probs: np.ndarray = shapeset.CLASS_PROBS,
    names: Sequence[str] = shapeset.LABEL_NAMES,
    *,
    ax: plt.Axes | None = None,
) -> Figure:
    """Measured class frequencies (bars, with 95% binomial intervals) against the law ``probs``
    (black ticks): 1/6 for a single shape, 1/9 for a mixed pair, 1/18 for a same-shape pair."""
    counts = np.asarray(counts, dtype=float)
    n = counts.sum()
    freq = counts / n
    half = 1.96 * np.sqrt(freq * (1 - freq) / n)
    fig, ax = plt.subplots(figsize=(7, 3.6)) if ax is None else (ax.figure, ax)
    y = np.arange(len(names))
    groups = np.asarray(
        [len(s) - 1 + (len(s) == 2 and s[0] == s[1]) for s in shapeset.LABEL_SHAPES]
    )
    colors = [LAYER_COLORS[g] for g in groups]  # single, mixed pair, same-shape pair
    ax.barh(y, freq, xerr=half, color=colors, alpha=0.8, error_kw={"lw": 1, "capsize": 2})
    ax.scatter(probs, y, marker="|", s=400, color="black", linewidths=2, zorder=3, label="law")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel(f"frequency over {int(n):,} images")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    return fig


def _densities_of_sorted_uniforms(lo: float, hi: float, x: np.ndarray):
    """Densities of the larger and the smaller of two independent U(lo, hi) draws."""
    return 2 * (x - lo) / (hi - lo) ** 2, 2 * (hi - x) / (hi - lo) ** 2


def factor_distributions(
    factors: dict[str, np.ndarray], overlap: np.ndarray, estimate: np.ndarray | None = None
) -> Figure:
    """Distributions of the generating factors of n images (``shapeset.sample``'s factors), two
    panels a row: scales against the law of two sorted uniforms, final rotations, grey levels by
    role and scheme, the overlap of the second object over the first (``overlap``, measured on
    pixels, and the original's ``estimate`` of it if given; NaN for one object), rejected second
    objects per image, and the centres of the first objects."""
    fig, axes = plt.subplots(3, 2, figsize=(WIDTH, 10.5))
    present = factors["shapes"] >= 0
    c0, c1, c2 = LAYER_COLORS[:3]

    ax = axes[0, 0]
    scales = factors["scales"][present]  # (objects, 2), larger first
    lo, hi = (s * shapeset.IMAGE_SIZE for s in shapeset.SCALE_RANGE)
    bins = np.linspace(lo, hi, 31)
    ax.hist(scales[:, 0], bins, density=True, color=c0, alpha=0.6, label="larger factor")
    ax.hist(scales[:, 1], bins, density=True, color=c1, alpha=0.6, label="smaller factor")
    x = np.linspace(lo, hi, 100)
    big, small = _densities_of_sorted_uniforms(lo, hi, x)
    ax.plot(x, big, color="black", lw=1, label="law of the max / min\nof two uniforms")
    ax.plot(x, small, color="black", lw=1)
    ax.set(xlabel="scaling factor (px)", ylabel="density", title="scales")
    ax.legend(fontsize=SMALL)

    ax = axes[0, 1]
    steps = shapeset.ROTATION_RESOLUTION - 1  # the original draws randint(0, 254): 0..253
    degrees = 360 / shapeset.ROTATION_RESOLUTION
    count, edges = np.histogram(factors["rotation"][present], np.arange(0, steps + 1, 2))
    ax.stairs(count / count.sum() / 2, edges * degrees, fill=True, color=c0, alpha=0.8)
    ax.axhline(1 / steps, color="black", lw=1, label=f"uniform over {steps} steps")
    ax.set(xlabel="final rotation (degrees)", ylabel="fraction of objects per step")
    ax.set(title="rotations", ylim=(0, 1.6 / steps))
    ax.legend(fontsize=SMALL, loc="lower center")

    ax = axes[1, 0]
    # Bins of 5 dark levels (0..114) and of 4 light ones (140..255): whole levels in each.
    dark, light = shapeset.DARK_LEVELS, shapeset.LIGHT_LEVELS
    edges = (
        np.concatenate([np.arange(dark[0], dark[1] + 2, 5), np.arange(light[0], light[1] + 2, 4)])
        - 0.5
    )
    for scheme, style in zip((0, 1), ("-", "--"), strict=True):
        here = factors["scheme"] == scheme
        roles = (
            ("background", factors["background"][here], c0),
            ("objects", factors["levels"][here][present[here]], c1),
        )
        for role, levels, color in roles:
            count, _ = np.histogram(levels, edges)
            ax.stairs(
                count / count.sum() / np.diff(edges),
                edges,
                ls=style,
                color=color,
                lw=1.5,
                label=role if scheme == 0 else None,
            )
    for style, name in (("-", "light objects"), ("--", "dark objects")):
        ax.plot([], [], color="black", ls=style, lw=1.5, label=name)
    ax.axvspan(dark[1] + 0.5, light[0] - 0.5, color="0.9")
    ax.set(xlabel="grey level (0–255)", ylabel="fraction per level", title="grey levels")
    ax.set_ylim(0, 1.6 / (dark[1] + 1))
    ax.legend(fontsize=SMALL, loc="upper center", ncol=2)

    ax = axes[1, 1]
    two = overlap[~np.isnan(overlap)]
    # Bins (k-1)/40 < x <= k/40, so that 50% exactly (allowed) falls left of the limit.
    bins = 40
    count = np.bincount(np.ceil(two * bins).astype(int), minlength=bins + 1)
    ax.stairs(count[1:], np.arange(bins + 1) / bins, fill=True, color=c0, alpha=0.8, label="pixels")
    if estimate is not None:
        judged = estimate[~np.isnan(estimate)]
        est = np.bincount(np.ceil(judged * bins).astype(int), minlength=bins + 1)
        ax.stairs(
            est[1:], np.arange(bins + 1) / bins, color=c1, lw=1.5, label="original's estimate"
        )
    ax.axvline(shapeset.MAX_OVERLAP, color="black", lw=1, ls="--", label="half the first object")
    ax.text(
        0.98,
        0.55,
        f"no overlap\non the pixels: {count[0] / max(len(two), 1):.0%}",
        transform=ax.transAxes,
        ha="right",
        fontsize=SMALL,
    )
    ax.set(
        xlabel="fraction of the first object under the second",
        ylabel="images",
        title="overlap (two-object images)",
    )
    ax.legend(fontsize=SMALL)

    ax = axes[2, 0]
    rejected = factors["rejections"][factors["n_objects"] == 2]
    count = np.bincount(rejected)
    ax.bar(np.arange(len(count)), count, color=c0, alpha=0.8)
    ax.set_yscale("log")
    ax.set(xlabel="second objects redrawn", ylabel="images", title="rejections per image")

    ax = axes[2, 1]
    centres = factors["positions"][:, 0]  # the first object of every image
    edges = np.arange(shapeset.IMAGE_SIZE + 1)
    ax.hist2d(centres[:, 0], centres[:, 1], bins=[edges, edges], cmap="viridis")
    ax.set(xlabel="$x$ (px)", ylabel="$y$ (px)", title="centre of the first object", aspect="equal")
    ax.invert_yaxis()  # image coordinates: row 0 at the top
    ax.grid(False)
    fig.tight_layout()
    return fig


def overlap_rules(
    exact: np.ndarray, estimate: np.ndarray, *, top: float = 1.5, ax: plt.Axes | None = None
) -> Figure:
    """Overlap of candidate second objects measured on pixels (``shapeset.overlap_exact``) against
    the original generator's estimate (``shapeset.overlap_estimate``, shown up to ``top``, larger
    values in the top row), with the 50% limit of each and the share of candidates in each
    quadrant: the off-diagonal quadrants are those on which the two rules disagree."""
    fig, ax = plt.subplots(figsize=(5.6, 4.6)) if ax is None else (ax.figure, ax)
    exact, estimate = np.asarray(exact), np.asarray(estimate)
    bins = [np.linspace(0, 1, 51), np.linspace(0, top, 51)]
    shown = np.minimum(estimate, top * (1 - 1e-9))
    *_, image = ax.hist2d(exact, shown, bins=bins, norm=LogNorm(), cmap="viridis")
    fig.colorbar(image, ax=ax, label="candidates")
    limit = shapeset.MAX_OVERLAP
    ax.axvline(limit, color="black", lw=1)
    ax.axhline(limit, color="black", lw=1)
    n = max(len(exact), 1)
    for x_high in (False, True):
        for y_high in (False, True):
            share = ((exact > limit) == x_high) & ((estimate > limit) == y_high)
            x = 0.75 if x_high else 0.25
            y = (limit + top) / 2 if y_high else limit / 2
            ax.text(
                x,
                y,
                f"{share.sum() / n:.2%}",
                ha="center",
                va="center",
                fontsize=9,
                bbox={"facecolor": "white", "alpha": 0.8, "lw": 0},
            )
    ax.set(
        xlabel="exact: pixels of the first under the second",
        ylabel="original's estimate",
        title="accept a second object? two rules",
    )
    ax.grid(False)
    return fig


def pixel_statistics(
    pixel_mean: np.ndarray,
    pixel_std: np.ndarray,
    object_probability: np.ndarray,
    level_counts: np.ndarray,
    level_values: np.ndarray,
) -> Figure:
    """The mean image, each pixel's standard deviation, the probability that a pixel belongs to an
    object, and the histogram of all pixel values (``level_counts`` pixels at grey level i, whose
    value is ``level_values[i]``) with its mean and standard deviation: the Var[x] of eq. 5."""
    fig, grid = plt.subplots(2, 2, figsize=(WIDTH, 6.8))
    axes = grid.ravel()
    maps = (
        (pixel_mean, "mean image"),
        (pixel_std, "sd of each pixel"),
        (object_probability, "P(pixel is on an object)"),
    )
    for ax, (image, title) in zip(axes, maps, strict=False):
        shown = ax.imshow(image, cmap="viridis", interpolation="nearest")
        fig.colorbar(shown, ax=ax, fraction=0.046)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    ax = axes[3]
    p = level_counts / level_counts.sum()
    mean = float((p * level_values).sum())
    std = float(np.sqrt((p * (level_values - mean) ** 2).sum()))
    step = level_values[1] - level_values[0]
    ax.stairs(
        p,
        np.append(level_values, level_values[-1] + step) - step / 2,
        fill=True,
        color=LAYER_COLORS[0],
    )
    ax.axvline(mean, color="black", lw=1, label=f"mean {mean:.3f}")
    for x in (mean - std, mean + std):
        ax.axvline(x, color="black", lw=1, ls="--")
    ax.plot([], [], color="black", lw=1, ls="--", label=f"mean ± sd ({std:.3f})")
    ax.set(xlabel="pixel value $x$", ylabel="fraction of pixels", title="all pixels")
    ax.set_ylim(0, 1.5 * p.max())
    ax.legend(fontsize=SMALL, loc="upper center")
    fig.tight_layout()
    return fig


def object_sizes(
    deviations: np.ndarray,
    errors: np.ndarray,
    tolerance: float,
    names: Sequence[str] = shapeset.LABEL_NAMES,
) -> Figure:
    """Per-class mean foreground area and outline against the original generator's: relative
    ``deviations`` (2, 9) (row 0 area, row 1 outline) with ``errors`` (2, 9) (two standard errors
    of the measured means, relative to the reference), inside the band ±``tolerance``."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2))
    y = np.arange(len(names))
    ax.axvspan(-100 * tolerance, 100 * tolerance, color="0.92", label=f"±{tolerance:.0%}")
    ax.axvline(0, color="black", lw=1)
    panels = (
        ("area (foreground pixels)", LAYER_COLORS[0], -0.15),
        ("outline", LAYER_COLORS[1], 0.15),
    )
    for row, (what, color, shift) in enumerate(panels):
        ax.errorbar(
            100 * deviations[row],
            y + shift,
            xerr=100 * errors[row],
            fmt="o",
            color=color,
            capsize=2,
            label=what,
        )
    limit = 100 * max(1.5 * tolerance, float(np.nanmax(np.abs(deviations) + errors)) * 1.1)
    ax.set_xlim(-limit, limit)
    ax.set_yticks(y, names)
    ax.set_ylim(len(names) - 0.5, -1.4)  # label 0 at the top, room for the legend
    ax.set_xlabel("measured / original's − 1 (%)")
    ax.grid(axis="y", visible=False)
    ax.legend(fontsize=SMALL, ncol=3, loc="upper center")
    return fig


def caption(
    what: str, profile: str, seed: int, *, n_images: int | None = None, pixel_range: str = "01"
) -> str:
    """Provenance of a figure of chapter 01: ``what`` it shows (sample and size), the scale, the
    seed and the command that re-makes it (``glorot run 01_shapeset`` with the parameters given)."""
    command = f"glorot run 01_shapeset --profile {profile} -p seed {seed}"
    if n_images is not None:
        command += f" -p n_images {n_images}"
    if pixel_range != "01":
        command += f" -p pixel_range {pixel_range}"
    pixels = "[0, 1]" if pixel_range == "01" else "[-1, 1]"
    return f"{what}; pixels in {pixels}. Scale: {profile}, seed {seed}. Re-make: `{command}`."

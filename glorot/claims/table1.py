"""Our Table 1 and the paper's: the five models of Table 1 by name, the paper's test errors, our
columns summarised from stored runs (:class:`Column`, :func:`gather`) and their Markdown tables.

The claims on these numbers (C13-C16) are in :mod:`glorot.claims.errors`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from IPython.display import Markdown

from glorot.config import Profile
from glorot.experiments import TABLE1, Selection, row_label
from glorot.markdown import table
from glorot.run import Run
from glorot.stats import PAPER_ALPHA, p_vs_best, wrong

ROWS: tuple[str, ...] = tuple(row_label(a, i) for a, i in TABLE1)

# Table 1 of the paper: test error (%), 5 hidden layers, "N" = normalized init (reference §4).
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "shapeset": dict(zip(ROWS, (16.27, 16.06, 27.15, 15.60, 82.61), strict=True)),
    "mnist": dict(zip(ROWS, (1.64, 1.72, 1.76, 1.64, 2.21), strict=True)),
    "cifar10": dict(zip(ROWS, (55.78, 53.8, 55.9, 52.92, 57.28), strict=True)),
    "small-imagenet": dict(zip(ROWS, (69.14, 68.13, 70.58, 68.57, 70.66), strict=True)),
}
TITLES = {
    "shapeset": "Shapeset",
    "mnist": "MNIST",
    "cifar10": "CIFAR-10",
    "small-imagenet": "Small-ImageNet",
    "fashion-mnist": "Fashion-MNIST (stand-in)",
}
FINITE = ("mnist", "cifar10")  # the finite data sets of Table 1 that are public (C16)
STAND_INS = ("fashion-mnist",)  # run where present, never compared with a column of the paper
RUNNABLE = ("shapeset", *FINITE, *STAND_INS)  # the columns this project can run


@dataclass(frozen=True)
class Column:
    """Our Table 1 column on one data set: test errors (%) of the five models over seeds."""

    dataset: str
    outcomes: dict[str, np.ndarray]  # row -> (seeds, test examples), True = misclassified
    lr: dict[str, float]  # learning rate of each model
    updates: int
    width: int
    seeds: tuple[int, ...]
    profile: str

    def _per_seed(self, row: str) -> np.ndarray:
        return 100 * self.outcomes[row].mean(axis=1)

    @property
    def errors(self) -> dict[str, float]:
        """Mean test error (%) over seeds and examples."""
        return {r: float(self._per_seed(r).mean()) for r in self.outcomes}

    @property
    def sd(self) -> dict[str, float]:
        """Standard deviation over seeds of the test error (%); NaN with one seed."""
        return {
            r: float(self._per_seed(r).std(ddof=1)) if len(self.seeds) > 1 else math.nan
            for r in self.outcomes
        }

    def sd_band(self) -> tuple[dict[str, float], dict[str, float]]:
        """(mean − sd, mean + sd) over seeds per model; the mean alone with one seed."""
        sd = {r: 0.0 if math.isnan(v) else v for r, v in self.sd.items()}
        e = self.errors
        return {r: e[r] - sd[r] for r in e}, {r: e[r] + sd[r] for r in e}

    @property
    def lo(self) -> dict[str, float]:
        return {r: float(self._per_seed(r).min()) for r in self.outcomes}

    @property
    def hi(self) -> dict[str, float]:
        return {r: float(self._per_seed(r).max()) for r in self.outcomes}

    @property
    def n_test(self) -> int:
        return int(next(iter(self.outcomes.values())).shape[1])

    @property
    def title(self) -> str:
        return TITLES.get(self.dataset, self.dataset)

    @property
    def scale(self) -> str:
        seeds = f"{len(self.seeds)} seed{'s' * (len(self.seeds) > 1)}"
        return (
            f"{self.profile}: {self.updates:,} updates, width {self.width}, {seeds}, "
            f"{self.n_test:,} test examples"
        )

    @property
    def p_vs_best(self) -> dict[str, float]:
        """McNemar's p of each model against the column's best, seeds pooled (glorot.stats)."""
        return p_vs_best(self.outcomes)

    @property
    def significant(self) -> dict[str, bool]:
        return {r: p < PAPER_ALPHA for r, p in self.p_vs_best.items()}


def column(dataset: str, runs: Mapping[tuple[str, str], Sequence[Run]], profile: str) -> Column:
    """Summarise the runs of :func:`glorot.experiments.table1_runs` (or ``finite_runs``); each
    record must carry its test predictions (:func:`glorot.stats.wrong`)."""
    outcomes = {row_label(a, i): wrong(model_runs) for (a, i), model_runs in runs.items()}
    lr = {row_label(a, i): model_runs[0].config.lr for (a, i), model_runs in runs.items()}
    first = next(iter(runs.values()))[0].config
    return Column(
        dataset=dataset,
        outcomes=outcomes,
        lr=lr,
        updates=first.updates,
        width=first.width,
        seeds=tuple(r.config.seed for r in next(iter(runs.values()))),
        profile=profile,
    )


def missing_reason(dataset: str) -> str | None:
    """None when the files of ``dataset`` are present, else where to put them."""
    from glorot.datasets import DataMissing, data_dir, locate

    try:
        locate(dataset)
    except DataMissing as err:
        # The page names the repository's folder, never the absolute path of the machine that built it.
        text = str(err).replace(str(data_dir()), "data")
        return f"{text}; `glorot data where {dataset}` says where it is looked for"
    return None


def gather(profile: Profile) -> tuple[Column, dict[str, Column], dict[str, str]]:
    """Our Table 1 at a profile, from its stored runs (trained first when missing): the Shapeset
    column, the columns of the finite sets present (Shapeset-selected learning rates) and, for
    the absent ones, where to put their files."""
    from glorot import experiments

    shapeset = column("shapeset", experiments.table1_runs(profile), profile.name)
    finite, missing = {}, {}
    for name in (*FINITE, *STAND_INS):
        why = missing_reason(name)
        if why is None:
            finite[name] = column(name, experiments.finite_runs(profile, name), profile.name)
        else:
            missing[name] = why
    return shapeset, finite, missing


# ---- tables --------------------------------------------------------------------------------------


def _ours(c: Column, row: str) -> str:
    text = f"{c.errors[row]:.2f}"
    if len(c.seeds) > 1:
        text += f" ± {c.sd[row]:.2f}"
    return text + (" †" if c.significant[row] else "")


def table1_markdown(
    columns: Sequence[Column],
    missing: Mapping[str, str] | None = None,
    paper: Mapping[str, Mapping[str, float]] = PAPER_TABLE1,
) -> Markdown:
    """Table 1 side by side, one column per data set holding "paper / ours" (ours: mean ± sd over
    seeds), † where ours differs from the best of its column at p < 0.005 (McNemar, seeds pooled);
    the p-values and the scale of each of our columns follow the table, which stays narrow enough
    for a page."""
    ours = {c.dataset: c for c in columns}
    missing = dict(missing or {})
    sets = [*paper, *(d for d in ours if d not in paper)]
    head, rows = ["model"], {r: [r] for r in ROWS}
    for d in sets:
        head.append(f"{TITLES.get(d, d)} ({'paper / ' if d in paper else ''}ours)")
        absent = "files absent" if d in missing else "not run" if d in RUNNABLE else "not public"
        for r in ROWS:
            mine = _ours(ours[d], r) if d in ours else f"— ({absent})"
            rows[r].append(f"{paper[d][r]:.2f} / {mine}" if d in paper else mine)
    scales = "".join(f"\n- {c.title}: {c.scale}" for c in columns)
    pvalues = "".join(
        f"\n- {c.title}: " + ", ".join(f"{r} {p:.2g}" for r, p in c.p_vs_best.items() if p < 1.0)
        for c in columns
    )
    note = (
        f"\n\n† differs from the lowest error of its column at p < {PAPER_ALPHA} (McNemar's exact "
        "test on the same test examples, seeds pooled, `glorot.stats`); ours is the mean ± sd over "
        f"seeds. p against the best of the column:{pvalues}\n\nScale of ours:{scales}"
    )
    return Markdown(table(head, rows.values(), ["---"] + ["---:"] * len(sets)) + note)


def paper_table1_markdown(paper: Mapping[str, Mapping[str, float]] = PAPER_TABLE1) -> Markdown:
    """The paper's Table 1 alone (test error %, 5 hidden layers, N = normalized init)."""
    sets = list(paper)
    rows = ([r, *(f"{paper[d][r]:.2f}" for d in sets)] for r in ROWS)
    return Markdown(
        table(["model", *(TITLES[d] for d in sets)], rows, ["---"] + ["---:"] * len(sets))
    )


def selection_markdown(selections: Mapping[str, Selection]) -> Markdown:
    """Each model's score per candidate learning rate (validation error %, ± its standard error,
    :data:`glorot.experiments.SELECTION_RULE`): the chosen one in bold, the others within noise of
    the best marked ≈; a last column says how sure the choice is."""
    lrs = sorted({lr for s in selections.values() for lr in s.valid_error})
    rows = []
    for row, s in selections.items():
        cells = []
        for lr in lrs:
            e = s.valid_error.get(lr, math.nan)
            if not math.isfinite(e):
                text = "diverged"
            else:
                text = f"{100 * e:.2f} ± {100 * s.se[lr]:.2f}"
            if lr == s.lr:
                text = f"**{text}**"
            elif lr in s.tied:
                text = f"≈ {text}"
            cells.append(text)
        rows.append([row, *cells, s.verdict])
    head = ["model", *(f"ε = {lr:g}" for lr in lrs), "choice"]
    return Markdown(table(head, rows, ["---", *["---:"] * len(lrs), "---"]))

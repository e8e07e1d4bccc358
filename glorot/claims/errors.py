"""Claims C13-C16: the test errors of Table 1 and Figs. 11, 12 (§5).

Errors are in percent, as in Table 1. The checks take the errors of the five models of Table 1 by
their Table 1 names (``Softsign``, ``Softsign N``, ``Tanh``, ``Tanh N``, ``Sigmoid``) and the number
of updates the runs had; :func:`evaluate` gathers them from the stored runs of a profile.

The paper's errors are those of networks trained for millions of updates. A run is "long enough"
when it had at least ``REACHED_FRACTION`` of the paper's updates, and its networks "have learned"
when the best of them is at least ``LEARNED`` points below a constant guess. C13, C15 and C16
compare models with each other, which means something only once they have learned: an ordering
that holds then is reported as holding (✔ at that scale, even in a shorter run); one that does not
hold, or any ordering of networks still at chance, is NOT_REACHED unless the run was long enough.
C14 compares with the paper's own numbers, which only a run of the paper's length can match: below
it the verdict is NOT_REACHED whatever the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from IPython.display import Markdown

from glorot.claims import ClaimResult, Verdict, verdict
from glorot.config import PROFILES, Profile, get_profile
from glorot.experiments import TABLE1, row_label
from glorot.run import Run
from glorot.shapeset import constant_guess_error
from glorot.stats import PAPER_ALPHA, p_vs_best, two_proportion_z

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
# A constant guess of a most frequent class (each single shape, 1/6) under the original class
# frequencies of Shapeset-3x2 (reference §5): Table 1's 82.61% for sigmoid is this.
SHAPESET_CHANCE = 100 * constant_guess_error()
PAPER_UPDATES = PROFILES["paper"].updates  # length of the paper's Shapeset runs
REACHED_FRACTION = 0.5
# C13's signs as tolerances, in points of %: "≤" up to NEAR, "≈" within TIE, "≪" at least GAP,
# "near chance" within CHANCE_MARGIN of SHAPESET_CHANCE.
NEAR, TIE, GAP, CHANCE_MARGIN = 1.0, 2.0, 10.0, 5.0
FEW_POINTS = 5.0  # C14's "a few points" of Table 1
CLOSE = 0.25  # C16: Tanh N's distance to the best, as a fraction of the column's spread
LEARNED = 10.0  # points below a constant guess the best model must reach before orderings count
FINITE_CHANCE = 90.0  # a guess on ten balanced classes (MNIST, CIFAR-10)
FIGURE = "07_error_curves"


def _long_enough(updates: int, paper_updates: int = PAPER_UPDATES) -> bool:
    return updates >= REACHED_FRACTION * paper_updates


def _learned(errors: Mapping[str, float], chance: float) -> bool:
    return min((e for e in errors.values() if e == e), default=math.inf) <= chance - LEARNED


def _ordering_verdict(
    ok: bool, learned: bool, updates: int, paper_updates: int = PAPER_UPDATES
) -> Verdict:
    """An ordering's verdict: judged in a long enough run; in a shorter one ✔ only once the
    networks have learned and the ordering holds, NOT_REACHED otherwise."""
    return verdict(ok, reached=_long_enough(updates, paper_updates) or (learned and ok))


def _not_learned_note(learned: bool, chance: float) -> str:
    return "" if learned else f"; no model is yet {LEARNED:g} points below chance ({chance:.1f})"


def _fmt(errors: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in errors.items())


def _missing_rows(errors: Mapping[str, float]) -> None:
    missing = [r for r in ROWS if r not in errors]
    if missing:
        raise ValueError(
            f"errors of {', '.join(missing)} missing; give all five rows of Table 1: "
            f"{', '.join(ROWS)}"
        )


# ---- the checks --------------------------------------------------------------------------------


def check_c13(
    errors: Mapping[str, float],
    updates: int,
    *,
    near: float = NEAR,
    tie: float = TIE,
    gap: float = GAP,
    chance: float = SHAPESET_CHANCE,
    chance_margin: float = CHANCE_MARGIN,
    n_test: int | None = None,
    scale: str = "",
) -> ClaimResult:
    """C13 (Fig. 11, Table 1): Tanh N ≤ Softsign N ≈ Softsign < Tanh ≪ Sigmoid, sigmoid near chance.

    Read as five conditions on the Shapeset test errors (points of %): Tanh N ≤ Softsign N +
    ``near`` ("≤" up to noise); |Softsign − Softsign N| ≤ ``tie`` ("≈"); both softsigns < Tanh;
    Sigmoid ≥ Tanh + ``gap`` ("≪"); Sigmoid ≥ ``chance`` − ``chance_margin`` ("near chance").

    With ``n_test`` (the test examples behind each error) the strict order "both softsigns < Tanh"
    must also be significant under the paper's test (p < 0.005, :mod:`glorot.stats`): an order the
    test set cannot tell from noise has not been reached, however the means fall.
    """
    _missing_rows(errors)
    e = errors
    parts = {
        f"Tanh N ≤ Softsign N + {near:g}": e["Tanh N"] <= e["Softsign N"] + near,
        f"|Softsign − Softsign N| ≤ {tie:g}": abs(e["Softsign"] - e["Softsign N"]) <= tie,
        "Softsign, Softsign N < Tanh": max(e["Softsign"], e["Softsign N"]) < e["Tanh"],
        f"Sigmoid ≥ Tanh + {gap:g}": e["Sigmoid"] >= e["Tanh"] + gap,
        f"Sigmoid ≥ chance {chance:.1f} − {chance_margin:g}": e["Sigmoid"]
        >= chance - chance_margin,
    }
    ok = all(parts.values())
    learned = _learned(e, chance)
    broken = [k for k, v in parts.items() if not v]
    note, separated = "", True
    if n_test is not None:
        p = max(
            two_proportion_z(e[row] / 100, n_test, e["Tanh"] / 100, n_test).p
            for row in ("Softsign", "Softsign N")
        )
        separated = p < PAPER_ALPHA
        note = f"; softsigns vs Tanh p = {p:.2g} on {n_test:,} test examples"
    verdict_ = _ordering_verdict(ok and separated, learned, updates)
    return ClaimResult(
        id="C13",
        criterion="; ".join(parts)
        + " (test error, %)"
        + (f"; the softsigns' lead over Tanh significant at p < {PAPER_ALPHA}" if n_test else ""),
        measured=f"{_fmt(e)} after {updates:,} updates"
        + (f"; broken: {'; '.join(broken)}" if broken else "")
        + note
        + _not_learned_note(learned, chance),
        verdict=verdict_,
        scale=scale,
        figure=FIGURE,
    )


def check_c14(
    errors: Mapping[str, float],
    updates: int,
    *,
    paper: Mapping[str, float] = PAPER_TABLE1["shapeset"],
    points: float = FEW_POINTS,
    scale: str = "",
) -> ClaimResult:
    """C14 (Table 1): every Shapeset test error within ``points`` percentage points of the paper's.

    Only a run of the paper's length can be expected to match its numbers: with fewer than
    ``REACHED_FRACTION`` of the paper's updates the verdict is NOT_REACHED.
    """
    _missing_rows(errors)
    dev = {r: errors[r] - paper[r] for r in ROWS}
    worst = max(ROWS, key=lambda r: -math.inf if dev[r] != dev[r] else abs(dev[r]))
    ok = all(abs(d) <= points for d in dev.values())
    return ClaimResult(
        id="C14",
        criterion=f"|ours − Table 1| ≤ {points:g} points for all five models (Shapeset); "
        f"judged only after ≥ {REACHED_FRACTION:.0%} of the paper's {PAPER_UPDATES:,} updates",
        measured="ours − paper: "
        + ", ".join(f"{r} {d:+.2f}" for r, d in dev.items())
        + f" (largest: {worst}); after {updates:,} updates",
        verdict=verdict(ok, reached=_long_enough(updates)),
        scale=scale,
        figure=FIGURE,
    )


def check_c15(
    errors: Mapping[str, float],
    updates: int,
    *,
    chance: float = SHAPESET_CHANCE,
    scale: str = "",
) -> ClaimResult:
    """C15 (§5): softsign is more robust to the init than tanh,
    |Softsign − Softsign N| < |Tanh − Tanh N| (Shapeset test errors)."""
    _missing_rows(errors)
    soft = abs(errors["Softsign"] - errors["Softsign N"])
    tanh = abs(errors["Tanh"] - errors["Tanh N"])
    ok = soft < tanh
    learned = _learned(errors, chance)
    return ClaimResult(
        id="C15",
        criterion="|Softsign − Softsign N| < |Tanh − Tanh N| (Shapeset test error, points)",
        measured=f"|Softsign − Softsign N| = {soft:.2f}, |Tanh − Tanh N| = {tanh:.2f} "
        f"after {updates:,} updates" + _not_learned_note(learned, chance),
        verdict=_ordering_verdict(ok, learned, updates),
        scale=scale,
        figure=FIGURE,
    )


def finite_ordering(errors: Mapping[str, float], close: float = CLOSE) -> dict[str, bool]:
    """The ordering Table 1 shows on MNIST and CIFAR-10, as three conditions: Sigmoid is the worst;
    Tanh N ≤ Tanh; Tanh N is the best up to ``close`` × the column's spread (worst − best), a
    tolerance that scales with the column (MNIST's errors differ by tenths of a point)."""
    _missing_rows(errors)
    e = errors
    others = [e[r] for r in ROWS if r != "Sigmoid"]
    spread = max(e.values()) - min(e.values())
    return {
        "Sigmoid worst": e["Sigmoid"] > max(others),
        "Tanh N ≤ Tanh": e["Tanh N"] <= e["Tanh"],
        f"Tanh N best (within {close:g} × spread)": e["Tanh N"] <= min(e.values()) + close * spread,
    }


def check_c16(
    columns: Mapping[str, Mapping[str, float]],
    updates: int,
    *,
    missing: Mapping[str, str] | None = None,
    stand_in: Mapping[str, Mapping[str, float]] | None = None,
    scale: str = "",
) -> ClaimResult:
    """C16 (Fig. 12, Table 1): the same qualitative ordering on MNIST and CIFAR-10.

    ``columns``: {data set: errors} for the finite sets of Table 1 that were run (``FINITE``);
    ``missing``: {data set: why it was not run}. The criterion (:func:`finite_ordering`) must hold
    on every column run; with neither MNIST nor CIFAR-10 present the verdict is NOT_REACHED.
    Chance on these balanced ten-class sets is ``FINITE_CHANCE``; the rule of the module docstring
    applies, with the paper's length of a finite-set run ``PROFILES["paper"].finite_updates``.
    ``stand_in`` (Fashion-MNIST) adds a remark on its ordering and never counts: it is another
    data set, not MNIST.
    """
    foreign = set(columns) - set(FINITE)
    if foreign:
        raise ValueError(
            f"C16 is about {', '.join(FINITE)}; {', '.join(sorted(foreign))} is not a column of "
            "Table 1 (pass a stand-in as stand_in=)"
        )
    missing = dict(missing or {})
    notes = []
    ok, learned = bool(columns), bool(columns)
    for name, errors in columns.items():
        parts = finite_ordering(errors)
        ok = ok and all(parts.values())
        learned = learned and _learned(errors, FINITE_CHANCE)
        broken = [k for k, v in parts.items() if not v]
        notes.append(
            f"{TITLES[name]}: {_fmt(errors)}"
            + (f" (broken: {'; '.join(broken)})" if broken else " (ordering holds)")
            + _not_learned_note(_learned(errors, FINITE_CHANCE), FINITE_CHANCE)
        )
    notes += [f"{TITLES[name]} absent" for name in FINITE if name in missing]
    for name, errors in (stand_in or {}).items():
        parts = finite_ordering(errors)
        holds = "holds" if all(parts.values()) else "broken"
        notes.append(f"stand-in ordering on {TITLES[name]}, not counted: {holds}")
    if not columns:
        notes.insert(0, "neither MNIST nor CIFAR-10 is present, so nothing was compared")
        judged = Verdict.NOT_REACHED
    else:
        judged = _ordering_verdict(ok, learned, updates, PROFILES["paper"].finite_updates)
    return ClaimResult(
        id="C16",
        criterion="on each of MNIST and CIFAR-10 present: Sigmoid worst, Tanh N ≤ Tanh, Tanh N "
        f"best within {CLOSE:g} × the column's spread (test error)",
        measured="; ".join(notes) + (f"; after {updates:,} updates" if columns else ""),
        verdict=judged,
        scale=scale,
        figure=FIGURE,
    )


# ---- our Table 1 from the runs -------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """Our Table 1 column on one data set: test errors (%) of the five models over seeds."""

    dataset: str
    errors: dict[str, float]  # mean over the seeds that did not diverge (NaN if none)
    lo: dict[str, float]  # lowest over seeds
    hi: dict[str, float]  # highest over seeds
    lr: dict[str, float]  # learning rate of each model
    n_test: int
    updates: int
    width: int
    seeds: tuple[int, ...]
    profile: str

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
        """p-value of each model's difference from the column's best (:mod:`glorot.stats`)."""
        return p_vs_best({r: e / 100 for r, e in self.errors.items()}, self.n_test)

    @property
    def significant(self) -> dict[str, bool]:
        return {r: p < PAPER_ALPHA for r, p in self.p_vs_best.items()}


def column(dataset: str, runs: Mapping[tuple[str, str], Sequence[Run]], profile: str) -> Column:
    """Summarise the runs of :func:`glorot.experiments.table1_runs` (or ``finite_runs``)."""
    errors, lo, hi, lr = {}, {}, {}, {}
    for (activation, init), model_runs in runs.items():
        row = row_label(activation, init)
        e = np.array([100 * r.final["test_error"] for r in model_runs])
        finite = e[np.isfinite(e)]
        errors[row] = float(finite.mean()) if finite.size else math.nan
        lo[row] = float(finite.min()) if finite.size else math.nan
        hi[row] = float(finite.max()) if finite.size else math.nan
        lr[row] = model_runs[0].config.lr
    first = next(iter(runs.values()))[0].config
    return Column(
        dataset=dataset,
        errors=errors,
        lo=lo,
        hi=hi,
        lr=lr,
        n_test=first.n_test,
        updates=first.updates,
        width=first.width,
        seeds=tuple(r.config.seed for r in next(iter(runs.values()))),
        profile=profile,
    )


def checks(
    shapeset: Column,
    finite: Mapping[str, Column],
    missing: Mapping[str, str],
) -> list[ClaimResult]:
    """C13-C16 from our columns: ``finite`` holds the finite sets run (stand-ins included),
    ``missing`` says why the others were not."""
    paper_sets = {k: c for k, c in finite.items() if k in FINITE}
    stand_ins = {k: c.errors for k, c in finite.items() if k not in FINITE}
    finite_updates = min((c.updates for c in paper_sets.values()), default=0)
    finite_scale = "; ".join(f"{c.title} {c.scale}" for c in paper_sets.values())
    return [
        check_c13(shapeset.errors, shapeset.updates, n_test=shapeset.n_test, scale=shapeset.scale),
        check_c14(shapeset.errors, shapeset.updates, scale=shapeset.scale),
        check_c15(shapeset.errors, shapeset.updates, scale=shapeset.scale),
        check_c16(
            {k: c.errors for k, c in paper_sets.items()},
            finite_updates,
            missing=missing,
            stand_in=stand_ins,
            scale=finite_scale or "no finite data set present",
        ),
    ]


def missing_reason(dataset: str) -> str | None:
    """None when the files of ``dataset`` are present, else where to put them."""
    from glorot.datasets import DataMissing, locate

    try:
        locate(dataset)
    except DataMissing as err:
        return str(err)
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


def evaluate(profile: Profile | str) -> list[ClaimResult]:
    """C13-C16 at a profile (a name goes through :func:`glorot.config.get_profile`)."""
    P = get_profile(profile) if isinstance(profile, str) else profile
    return checks(*gather(P))


# ---- tables --------------------------------------------------------------------------------------


def _ours(c: Column, row: str) -> str:
    e = c.errors[row]
    if e != e:
        return "diverged"
    text = f"{e:.2f}"
    if len(c.seeds) > 1:
        text += f" ({c.lo[row]:.1f}–{c.hi[row]:.1f})"
    return text + (" †" if c.significant[row] else "")


def table1_markdown(
    columns: Sequence[Column],
    missing: Mapping[str, str] | None = None,
    paper: Mapping[str, Mapping[str, float]] = PAPER_TABLE1,
) -> Markdown:
    """Table 1 side by side: the paper's test errors and ours (mean over seeds, with their range),
    † where ours differs from the best of its column at p < 0.005; a last row gives the scale."""
    ours = {c.dataset: c for c in columns}
    missing = dict(missing or {})
    sets = [*paper, *(d for d in ours if d not in paper)]
    head, rule, rows = ["model"], ["---"], {r: [r] for r in ROWS}
    scale = ["scale of ours"]
    for d in sets:
        if d in paper:
            head.append(f"{TITLES.get(d, d)} paper")
            rule.append("---:")
            for r in ROWS:
                rows[r].append(f"{paper[d][r]:.2f}")
            scale.append("")
        head.append(f"{TITLES.get(d, d)} ours")
        rule.append("---:")
        absent = "files absent" if d in missing else "not run" if d in RUNNABLE else "not public"
        for r in ROWS:
            rows[r].append(_ours(ours[d], r) if d in ours else f"— ({absent})")
        scale.append(ours[d].scale if d in ours else "")
    lines = [head, rule, *rows.values(), scale]
    note = (
        f"\n\n† differs from the lowest error of its column at p < {PAPER_ALPHA} (two-proportion "
        "z-test on the test set, `glorot.stats`). Ranges in brackets are over seeds."
    )
    return Markdown("\n".join("| " + " | ".join(line) + " |" for line in lines) + note)


def paper_table1_markdown(paper: Mapping[str, Mapping[str, float]] = PAPER_TABLE1) -> Markdown:
    """The paper's Table 1 alone (test error %, 5 hidden layers, N = normalized init)."""
    sets = list(paper)
    lines = [
        "| model | " + " | ".join(TITLES[d] for d in sets) + " |",
        "|---|" + "---:|" * len(sets),
        *(f"| {r} | " + " | ".join(f"{paper[d][r]:.2f}" for d in sets) + " |" for r in ROWS),
    ]
    return Markdown("\n".join(lines))


def selection_markdown(
    valid_error: Mapping[str, Mapping[float, float]], chosen: Mapping[str, float]
):
    """Validation error (%) of each candidate learning rate per model; the chosen one in bold."""
    lrs = sorted({lr for errors in valid_error.values() for lr in errors})
    lines = [
        "| model | " + " | ".join(f"ε = {lr:g}" for lr in lrs) + " |",
        "|---|" + "---:|" * len(lrs),
    ]
    for row, errors in valid_error.items():
        cells = []
        for lr in lrs:
            e = errors.get(lr, math.nan)
            text = "diverged" if e != e else f"{100 * e:.2f}"
            cells.append(f"**{text}**" if lr == chosen[row] else text)
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return Markdown("\n".join(lines))

"""Claims C13-C16: the test errors of Table 1 and Figs. 11, 12 (§5).

Errors are in percent, as in Table 1. The checks take, for each of the five models of Table 1 by
its Table 1 name (``Softsign``, ``Softsign N``, ``Tanh``, ``Tanh N``, ``Sigmoid``), which test
examples each seed got wrong ((seeds, examples) booleans, :func:`glorot.stats.wrong`), and the
number of updates the runs had; :func:`evaluate` gathers them from the stored runs of a profile.
A diverged run counts as wrong on every example.

Every sign of the paper's statements becomes a condition on a statistic of the errors, judged by
its paired-bootstrap interval at p < 0.005 (:mod:`glorot.stats`) under the one verdict policy of
:func:`glorot.claims.decide`. The paper's errors are those of networks trained for millions of
updates: a run shorter than ``REACHED_FRACTION`` of the paper's cannot refute a claim (it is
"not reached" unless the claim already holds significantly), and an ordering counts only once the
best network is ``LEARNED`` points below a constant guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from glorot.claims import ClaimResult, Condition, judge
from glorot.claims.table1 import (  # noqa: F401  (Table 1's names, read by chapter 07 as E.*)
    FINITE,
    PAPER_TABLE1,
    ROWS,
    RUNNABLE,
    STAND_INS,
    TITLES,
    Column,
    column,
    gather,
    missing_reason,
    paper_table1_markdown,
    selection_markdown,
    table1_markdown,
)
from glorot.config import PROFILES, Profile, get_profile
from glorot.shapeset import constant_guess_error
from glorot.stats import PAPER_ALPHA, Resamples, mcnemar

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


def _missing_rows(outcomes: Mapping[str, np.ndarray]) -> None:
    missing = [r for r in ROWS if r not in outcomes]
    if missing:
        raise ValueError(
            f"outcomes of {', '.join(missing)} missing; give all five rows of Table 1: "
            f"{', '.join(ROWS)}"
        )


def errors_text(outcomes: Mapping[str, np.ndarray]) -> str:
    """Each model's test error (%): mean ± sd over seeds when there are several."""
    parts = []
    for r, w in outcomes.items():
        per_seed = 100 * np.atleast_2d(w).mean(axis=1)
        sd = f" ± {per_seed.std(ddof=1):.2f}" if per_seed.size > 1 else ""
        parts.append(f"{r} {per_seed.mean():.2f}{sd}")
    return ", ".join(parts)


def seeds_text(outcomes: Mapping[str, np.ndarray]) -> str:
    first = np.atleast_2d(next(iter(outcomes.values())))
    s, n = first.shape
    return f"{s} seed{'s' * (s > 1)} × {n:,} test examples"


# A condition on the errors (in points of %): its name, the statistic of {model: error rates}
# (fractions; floats or arrays over resamples), the threshold, and whether it must be above it.
Spec = tuple[str, Callable[[Mapping[str, Any]], Any], float, bool]


def judged(
    resamples: Resamples, specs: Sequence[Spec], refutable: bool, settle: str
) -> tuple[list[Condition], list[str]]:
    """Each spec as a :class:`~glorot.claims.Condition` judged by its paired-bootstrap interval
    (significant when the interval excludes the threshold), and a text per condition."""
    conditions, texts = [], []
    for name, statistic, threshold, above in specs:
        iv = resamples.interval(statistic)
        holds = iv.estimate > threshold if above else iv.estimate < threshold
        significant = iv.lo > threshold or iv.hi < threshold
        conditions.append(Condition(name, bool(holds), bool(significant), refutable, settle))
        texts.append(f"{name}: {iv.estimate:.2f} [{iv.lo:.2f}, {iv.hi:.2f}]")
    return conditions, texts


def _pts(row: str):
    return lambda d: 100 * d[row]


def _gap(a: str, b: str):
    return lambda d: 100 * (d[a] - d[b])


def _best(rows: Sequence[str]):
    return lambda d: 100 * np.minimum.reduce([np.asarray(d[r]) for r in rows])


def learned_spec(chance: float, rows: Sequence[str] = ROWS, noun: str = "model") -> Spec:
    """The condition that the best of ``rows`` lies LEARNED points below a constant guess."""
    return (
        f"best {noun} {LEARNED:g} points below chance {chance:.1f}",
        _best(rows),
        chance - LEARNED,
        False,
    )


def _settle(updates: int, paper_updates: int = PAPER_UPDATES) -> str:
    more = "more seeds or test examples"
    if _long_enough(updates, paper_updates):
        return more
    return f"{more}, or runs of ≥ {REACHED_FRACTION * paper_updates:,.0f} updates"


def measured_text(
    outcomes: Mapping[str, np.ndarray], updates: int, texts: Sequence[str], *tests: str
) -> str:
    """The measured column of a claim on test errors: each model's error, the seeds and test
    examples, the conditions' texts (from :func:`judged`), any tests, and how the intervals were
    made."""
    parts = [*texts, *tests, interval_note()]
    return f"{errors_text(outcomes)} ({seeds_text(outcomes)}) after {updates:,} updates; " + (
        "; ".join(parts)
    )


def interval_note() -> str:
    return (
        f"bracketed: {1 - PAPER_ALPHA:.1%} paired-bootstrap interval over test examples, seeds "
        "pooled (glorot.stats)"
    )


# ---- the checks --------------------------------------------------------------------------------


def check_c13(
    outcomes: Mapping[str, np.ndarray],
    updates: int,
    *,
    near: float = NEAR,
    tie: float = TIE,
    gap: float = GAP,
    chance: float = SHAPESET_CHANCE,
    chance_margin: float = CHANCE_MARGIN,
    scale: str = "",
) -> ClaimResult:
    """C13 (Fig. 11, Table 1): Tanh N ≤ Softsign N ≈ Softsign < Tanh ≪ Sigmoid, sigmoid near chance.

    ``outcomes``: {Table 1 row: (seeds, test examples) booleans, True = misclassified}
    (:func:`glorot.stats.wrong`). Read as conditions on the Shapeset test errors (points of %):
    Tanh N − Softsign N < ``near`` ("≤" up to noise); |Softsign − Softsign N| < ``tie`` ("≈"); each
    softsign < Tanh; Sigmoid − Tanh > ``gap`` ("≪"); Sigmoid > ``chance`` − ``chance_margin``
    ("near chance"); and the best model ≥ ``LEARNED`` points below chance (an ordering of networks
    at chance says nothing). Each is judged by its paired-bootstrap interval at p < 0.005
    (:mod:`glorot.stats`) under :func:`glorot.claims.decide`; a run shorter than
    ``REACHED_FRACTION`` of the paper's cannot refute it.
    """
    _missing_rows(outcomes)
    R = Resamples(outcomes)
    specs: list[Spec] = [
        (f"Tanh N − Softsign N < {near:g}", _gap("Tanh N", "Softsign N"), near, False),
        (f"Softsign − Softsign N < {tie:g}", _gap("Softsign", "Softsign N"), tie, False),
        (f"Softsign − Softsign N > −{tie:g}", _gap("Softsign", "Softsign N"), -tie, True),
        ("Softsign − Tanh < 0", _gap("Softsign", "Tanh"), 0.0, False),
        ("Softsign N − Tanh < 0", _gap("Softsign N", "Tanh"), 0.0, False),
        (f"Sigmoid − Tanh > {gap:g}", _gap("Sigmoid", "Tanh"), gap, True),
        (
            f"Sigmoid > chance {chance:.1f} − {chance_margin:g}",
            _pts("Sigmoid"),
            chance - chance_margin,
            True,
        ),
        learned_spec(chance),
    ]
    conditions, texts = judged(R, specs, _long_enough(updates), _settle(updates))
    tests = [mcnemar(outcomes[r], outcomes["Tanh"]) for r in ("Softsign", "Softsign N")]
    return judge(
        "C13",
        "; ".join(s[0] for s in specs) + " (test error, points of %), each significant at "
        f"p < {PAPER_ALPHA} (paired bootstrap over test examples); runs shorter than "
        f"{REACHED_FRACTION:.0%} of the paper's cannot refute it",
        measured=measured_text(
            outcomes, updates, texts, f"softsigns vs Tanh: {tests[0].text}, {tests[1].text}"
        ),
        conditions=conditions,
        scale=scale,
        figure=FIGURE,
    )


def check_c14(
    outcomes: Mapping[str, np.ndarray],
    updates: int,
    *,
    paper: Mapping[str, float] = PAPER_TABLE1["shapeset"],
    points: float = FEW_POINTS,
    scale: str = "",
) -> ClaimResult:
    """C14 (Table 1): every Shapeset test error within ``points`` percentage points of the paper's,
    judged by each error's paired-bootstrap interval; only a run of at least ``REACHED_FRACTION``
    of the paper's updates can refute it (a shorter one has not yet reached the paper's numbers).
    """
    _missing_rows(outcomes)
    R = Resamples(outcomes)
    specs: list[Spec] = [
        (
            f"|{r} − {paper[r]:.2f}| < {points:g}",
            (lambda d, r=r: np.abs(100 * np.asarray(d[r]) - paper[r])),
            points,
            False,
        )
        for r in ROWS
    ]
    conditions, texts = judged(R, specs, _long_enough(updates), _settle(updates))
    return judge(
        "C14",
        f"|ours − Table 1| < {points:g} points for all five models (Shapeset), each significant "
        f"at p < {PAPER_ALPHA}; runs shorter than {REACHED_FRACTION:.0%} of the paper's "
        f"{PAPER_UPDATES:,} updates cannot refute it",
        measured=measured_text(outcomes, updates, texts),
        conditions=conditions,
        scale=scale,
        figure=FIGURE,
    )


def _robustness(d):
    """|Tanh − Tanh N| − |Softsign − Softsign N| in points: > 0 when softsign is the more robust."""
    return 100 * (
        np.abs(np.asarray(d["Tanh"]) - d["Tanh N"])
        - np.abs(np.asarray(d["Softsign"]) - d["Softsign N"])
    )


def check_c15(
    outcomes: Mapping[str, np.ndarray],
    updates: int,
    *,
    chance: float = SHAPESET_CHANCE,
    scale: str = "",
) -> ClaimResult:
    """C15 (§5): softsign is more robust to the init than tanh,
    |Tanh − Tanh N| − |Softsign − Softsign N| > 0 (Shapeset test errors), judged like C13 by its
    paired-bootstrap interval, once the best model has learned."""
    _missing_rows(outcomes)
    R = Resamples(outcomes)
    specs: list[Spec] = [
        ("|Tanh − Tanh N| − |Softsign − Softsign N| > 0", _robustness, 0.0, True),
        learned_spec(chance),
    ]
    conditions, texts = judged(R, specs, _long_enough(updates), _settle(updates))
    soft, tanh = (
        mcnemar(outcomes["Softsign"], outcomes["Softsign N"]),
        mcnemar(outcomes["Tanh"], outcomes["Tanh N"]),
    )
    return judge(
        "C15",
        "|Tanh − Tanh N| − |Softsign − Softsign N| > 0 (Shapeset test error, points), significant "
        f"at p < {PAPER_ALPHA} (paired bootstrap), once a model is {LEARNED:g} points below chance",
        measured=measured_text(
            outcomes,
            updates,
            texts,
            f"Softsign vs Softsign N {soft.text}",
            f"Tanh vs Tanh N {tanh.text}",
        ),
        conditions=conditions,
        scale=scale,
        figure=FIGURE,
    )


def finite_specs(close: float = CLOSE) -> list[Spec]:
    """The ordering Table 1 shows on MNIST and CIFAR-10, as conditions: Sigmoid worse than each
    other model; Tanh N < Tanh; Tanh N the best up to ``close`` × the column's spread (worst −
    best), a tolerance that scales with the column (MNIST's errors differ by tenths of a point);
    and the best model ``LEARNED`` points below ``FINITE_CHANCE``."""

    def near_best(d):
        e = [np.asarray(d[r]) for r in ROWS]
        lo, hi = np.minimum.reduce(e), np.maximum.reduce(e)
        return 100 * (np.asarray(d["Tanh N"]) - lo - close * (hi - lo))

    return [
        *((f"Sigmoid − {r} > 0", _gap("Sigmoid", r), 0.0, True) for r in ROWS if r != "Sigmoid"),
        ("Tanh N − Tanh < 0", _gap("Tanh N", "Tanh"), 0.0, False),
        (f"Tanh N − best − {close:g} × spread < 0", near_best, 0.0, False),
        learned_spec(FINITE_CHANCE),
    ]


def check_c16(
    columns: Mapping[str, Mapping[str, np.ndarray]],
    updates: int,
    *,
    missing: Mapping[str, str] | None = None,
    stand_in: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    scale: str = "",
) -> ClaimResult:
    """C16 (Fig. 12, Table 1): the same qualitative ordering on MNIST and CIFAR-10.

    ``columns``: {data set: outcomes} for the finite sets of Table 1 that were run (``FINITE``);
    ``missing``: {data set: why it was not run}. Every condition of :func:`finite_specs` on every
    column run is judged like C13; runs shorter than ``REACHED_FRACTION`` of the paper profile's
    finite-set length cannot refute it. With neither MNIST nor CIFAR-10 present nothing is
    compared and the verdict is NOT_REACHED. ``stand_in`` (Fashion-MNIST) adds a remark on its
    ordering and never counts: it is another data set, not MNIST.
    """
    foreign = set(columns) - set(FINITE)
    if foreign:
        raise ValueError(
            f"C16 is about {', '.join(FINITE)}; {', '.join(sorted(foreign))} is not a column of "
            "Table 1 (pass a stand-in as stand_in=)"
        )
    missing = dict(missing or {})
    paper_updates = PROFILES["paper"].finite_updates
    refutable = _long_enough(updates, paper_updates)
    conditions, notes = [], []
    for name, outcomes in columns.items():
        _missing_rows(outcomes)
        own, texts = judged(
            Resamples(outcomes), finite_specs(), refutable, _settle(updates, paper_updates)
        )
        conditions += [replace(c, name=f"{TITLES[name]}: {c.name}") for c in own]
        notes.append(
            f"{TITLES[name]}: {errors_text(outcomes)} ({seeds_text(outcomes)}); " + "; ".join(texts)
        )
    notes += [f"{TITLES[name]} absent" for name in FINITE if name in missing]
    for name, outcomes in (stand_in or {}).items():
        e = {r: float(np.mean(w)) for r, w in outcomes.items()}
        holds = all(
            spec[1](e) > spec[2] if spec[3] else spec[1](e) < spec[2] for spec in finite_specs()
        )
        notes.append(
            f"stand-in ordering on {TITLES[name]}, not counted: {'holds' if holds else 'broken'}"
        )
    if not columns:
        notes.insert(0, "neither MNIST nor CIFAR-10 is present, so nothing was compared")
        conditions = [Condition("MNIST or CIFAR-10 run", False, False, settle=missing_help())]
    return judge(
        "C16",
        "on each of MNIST and CIFAR-10 present: "
        + "; ".join(s[0] for s in finite_specs())
        + f" (test error, points), each significant at p < {PAPER_ALPHA} (paired bootstrap)",
        measured="; ".join(notes)
        + (f"; after {updates:,} updates; {interval_note()}" if columns else ""),
        conditions=conditions,
        scale=scale,
        figure=FIGURE,
    )


def missing_help() -> str:
    return "put the files in data/<name>/ (glorot data where mnist) and rebuild"


def checks(
    shapeset: Column,
    finite: Mapping[str, Column],
    missing: Mapping[str, str],
) -> list[ClaimResult]:
    """C13-C16 from our columns: ``finite`` holds the finite sets run (stand-ins included),
    ``missing`` says why the others were not."""
    paper_sets = {k: c for k, c in finite.items() if k in FINITE}
    stand_ins = {k: c.outcomes for k, c in finite.items() if k not in FINITE}
    finite_updates = min((c.updates for c in paper_sets.values()), default=0)
    finite_scale = "; ".join(f"{c.title} {c.scale}" for c in paper_sets.values())
    s = shapeset
    return [
        check_c13(s.outcomes, s.updates, scale=s.scale),
        check_c14(s.outcomes, s.updates, scale=s.scale),
        check_c15(s.outcomes, s.updates, scale=s.scale),
        check_c16(
            {k: c.outcomes for k, c in paper_sets.items()},
            finite_updates,
            missing=missing,
            stand_in=stand_ins,
            scale=finite_scale or "no finite data set present",
        ),
    ]


def evaluate(profile: Profile | str) -> list[ClaimResult]:
    """C13-C16 at a profile (a name goes through :func:`glorot.config.get_profile`)."""
    P = get_profile(profile) if isinstance(profile, str) else profile
    return checks(*gather(P))

"""The scorecard: every claim of the paper (C1-C16, reference §3) and of the Shapeset chapter
(S-claims) with its measured value, verdict, scale and the page that draws the evidence.

Each part of the paper has a module in :mod:`glorot.claims` with ``evaluate(profile) ->
list[ClaimResult]`` computed from the stored runs of that profile. The scorecard calls them all;
a claim of the paper that none of them answered becomes a "not evaluated" row, so that the page
shows what is missing.

Every verdict follows the one policy of :func:`glorot.claims.decide` (:data:`glorot.claims.POLICY`).
The claims that compare models (:data:`COMPARATIVE`) say in their measured value how many seeds
they rest on and the p-value or interval that decided them; :func:`unsupported` lists any that
does not.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from IPython.display import Markdown

from glorot.claims import ClaimResult, Verdict, statement_of
from glorot.config import Profile
from glorot.markdown import cell, table

TOPICS = (
    "shapeset",
    "saturation",
    "gradients",
    "errors",
    "beyond",
)  # modules of glorot.claims, in order
CLAIM_IDS = tuple(f"C{i}" for i in range(1, 17))
# Claims that compare models trained from random seeds: their verdicts rest on several seeds and a
# test (C11: every seed must agree; C13-C16: paired tests on the test examples).
COMPARATIVE = ("C11", "C13", "C14", "C15", "C16")
_SEEDS = re.compile(r"\b\d+ seeds?\b")
_NOISE = re.compile(r"p = |\[[-+−\d.]+, [-+−\d.]+\]|per seed")
NOT_EVALUATED = "not evaluated"

# The page (Jupyter Book document name) and figure where each claim's evidence is drawn.
PAGES: dict[str, tuple[str, str]] = {
    "S": ("01_shapeset", "Shapeset-3×2, Fig. 1"),
    "C1": ("02_sigmoid", "Fig. 2"),
    "C2": ("02_sigmoid", "Fig. 2"),
    "C3": ("03_tanh_softsign", "Fig. 3"),
    "C4": ("03_tanh_softsign", "Fig. 3"),
    "C5": ("03_tanh_softsign", "Fig. 4"),
    "C6": ("04_cost", "Fig. 5"),
    "C7": ("05_gradients_at_init", "Fig. 6"),
    "C8": ("05_gradients_at_init", "Fig. 7"),
    "C9": ("05_gradients_at_init", "Fig. 8"),
    "C10": ("05_gradients_at_init", "§4.2.2"),
    "C11": ("06_gradients_in_training", "Fig. 9"),
    "C12": ("03_tanh_softsign", "Fig. 10"),
    "C13": ("07_error_curves", "Fig. 11, Table 1"),
    "C14": ("07_error_curves", "Table 1"),
    "C15": ("07_error_curves", "Table 1"),
    "C16": ("07_error_curves", "Fig. 12, Table 1"),
    "B": ("08_beyond", "Beyond the paper"),
}


@dataclass(frozen=True)
class NotEvaluated:
    """A claim that no topic module answered, and why."""

    id: str
    reason: str
    verdict: str = NOT_EVALUATED
    scale: str = ""
    figure: str = ""

    @property
    def measured(self) -> str:
        return self.reason


Row = ClaimResult | NotEvaluated


def _order(claim_id: str) -> tuple[int, int, str]:
    """S-claims first, then C1..C16 by number, then B-claims (beyond the paper), then anything
    else."""
    m = re.fullmatch(r"([A-Z]+)(\d+)", claim_id)
    if m is None:
        return (3, 0, claim_id)
    return ({"S": 0, "C": 1, "B": 2}.get(m.group(1), 3), int(m.group(2)), claim_id)


def gather(profile: Profile) -> list[ClaimResult]:
    """Every topic module's results at ``profile``; an error inside one is raised, so a broken
    check never hides as a "not evaluated" row."""
    results = []
    for topic in TOPICS:
        results.extend(importlib.import_module(f"glorot.claims.{topic}").evaluate(profile))
    return results


def rows(results: Sequence[ClaimResult]) -> list[Row]:
    """The scorecard's rows in order: the results, and a "not evaluated" row for each of C1-C16
    that none of them answers."""
    answered = {r.id for r in results}
    absent = [NotEvaluated(i, "no module returned it") for i in CLAIM_IDS if i not in answered]
    return sorted([*results, *absent], key=lambda r: _order(r.id))


def scorecard(profile: Profile) -> list[Row]:
    """Every claim at ``profile``: S-claims, then C1-C16, from each topic module's ``evaluate``."""
    return rows(gather(profile))


def counts(card: Sequence[Row]) -> dict[str, int]:
    """How many rows have each verdict: keys ``pass``, ``fail``, ``not_reached``,
    ``not_evaluated`` and ``total``."""
    verdicts = [r.verdict for r in card]
    return {
        "pass": verdicts.count(Verdict.PASS),
        "fail": verdicts.count(Verdict.FAIL),
        "not_reached": verdicts.count(Verdict.NOT_REACHED),
        "not_evaluated": verdicts.count(NOT_EVALUATED),
        "total": len(verdicts),
    }


def unsupported(card: Sequence[Row]) -> list[str]:
    """The comparative rows with a ✔ or ✗ whose measured value does not show both its number of
    seeds and its p-value or interval (a verdict on a comparison must say what it rests on)."""
    return [
        r.id
        for r in card
        if r.id in COMPARATIVE
        and r.verdict in (Verdict.PASS, Verdict.FAIL)
        and not (_SEEDS.search(r.measured) and _NOISE.search(r.measured))
    ]


def statement(row: Row) -> str:
    """The statement of a claim (:func:`glorot.claims.statement_of`), else its criterion."""
    try:
        return statement_of(row.id)
    except KeyError:
        return getattr(row, "criterion", "")


def link(claim_id: str) -> str:
    """A MyST link to the page that draws the claim's evidence (empty when none is known)."""
    key = claim_id if claim_id in PAGES else re.sub(r"\d+$", "", claim_id)
    if key not in PAGES:
        return ""
    doc, text = PAGES[key]
    return f"{{doc}}`{text} <{doc}>`"


def markdown(card: Sequence[Row]) -> Markdown:
    """The scorecard as a MyST Markdown table (links are ``{doc}`` roles to the chapters)."""
    head = ["claim", "the paper says", "measured", "verdict", "scale", "evidence"]
    rows = (
        [r.id, *map(cell, (statement(r), r.measured, r.verdict, r.scale)), link(r.id)] for r in card
    )
    return Markdown(table(head, rows))


def summary(card: Sequence[Row]) -> str:
    """One sentence: how many claims hold, fail, were not reached or not evaluated."""
    c = counts(card)
    return (
        f"{c['pass']} of {c['total']} claims hold (✔), {c['fail']} fail (✗), "
        f"{c['not_reached']} are not reached at this scale and {c['not_evaluated']} are not "
        "evaluated."
    )

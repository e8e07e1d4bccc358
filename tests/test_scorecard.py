"""The scorecard gathers every topic module's verdicts in claim order, counts them, renders them
with links to the chapters, and shows a claim that no module returned as a "not evaluated" row."""

from __future__ import annotations

import importlib
import types

import pytest

from glorot import scorecard as S
from glorot.claims import STATEMENTS, ClaimResult, Verdict
from glorot.config import PROFILES

SMOKE = PROFILES["smoke"]


def result(claim_id: str, verdict: Verdict = Verdict.PASS) -> ClaimResult:
    return ClaimResult(
        claim_id, f"criterion of {claim_id}", f"value of {claim_id}", verdict, "smoke"
    )


# Fixed results per topic, deliberately out of order inside and across modules.
FIXED = {
    "shapeset": [result("S2"), result("S1", Verdict.FAIL)],
    "saturation": [result("C3", Verdict.NOT_REACHED), result("C1"), result("C2", Verdict.FAIL)],
    "gradients": [result(f"C{i}") for i in (12, 6, 7, 8, 9, 10, 11, 4, 5)],
    "errors": [result(f"C{i}", Verdict.NOT_REACHED) for i in (16, 13, 14, 15)],
    "beyond": [result("B2"), result("B1", Verdict.FAIL)],
}


@pytest.fixture
def topics(monkeypatch):
    """Each topic module's evaluate returns ``topics.results[topic]`` (FIXED unless changed)."""
    results = {topic: list(r) for topic, r in FIXED.items()}
    for topic in FIXED:
        module = importlib.import_module(f"glorot.claims.{topic}")
        monkeypatch.setattr(module, "evaluate", lambda profile, t=topic: list(results[t]))
    # Statements of the paper's claims only: the fixed results state no S-claims.
    monkeypatch.setattr(S, "statement_of", lambda claim_id: STATEMENTS[claim_id])
    return types.SimpleNamespace(results=results)


def test_rows_come_in_claim_order_s_claims_first(topics):
    card = S.scorecard(SMOKE)
    assert [r.id for r in card] == ["S1", "S2", *S.CLAIM_IDS, "B1", "B2"]
    assert all(isinstance(r, ClaimResult) for r in card)


def test_counts_add_up(topics):
    c = S.counts(S.scorecard(SMOKE))
    assert c == {"pass": 12, "fail": 3, "not_reached": 5, "not_evaluated": 0, "total": 20}
    assert S.summary(S.scorecard(SMOKE)).startswith("12 of 20 claims hold (✔), 3 fail (✗), 5 ")


def test_a_claim_no_module_returns_is_a_not_evaluated_row(topics):
    topics.results["saturation"] = []
    card = S.scorecard(SMOKE)
    assert [r.id for r in card] == ["S1", "S2", *S.CLAIM_IDS, "B1", "B2"]
    missing = [r for r in card if r.verdict == S.NOT_EVALUATED]
    assert [r.id for r in missing] == ["C1", "C2", "C3"]
    assert "no module returned it" in missing[0].measured
    assert S.counts(card)["not_evaluated"] == 3
    assert "| C2 |" in S.markdown(card).data


def test_an_error_inside_a_module_is_not_hidden(topics, monkeypatch):
    def broken(profile):
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr(importlib.import_module("glorot.claims.gradients"), "evaluate", broken)
    with pytest.raises(RuntimeError, match="a bug in a check"):
        S.scorecard(SMOKE)


def test_markdown_has_a_row_per_claim_with_statement_verdict_and_chapter_link(topics):
    md = S.markdown(S.scorecard(SMOKE)).data.splitlines()
    assert len(md) == 2 + 20
    c13 = next(line for line in md if line.startswith("| C13 |"))
    assert "Tanh N ≤ Softsign N ≈ Softsign" in c13  # the paper's statement
    assert "value of C13" in c13 and "not reached at this scale" in c13
    assert "{doc}`Fig. 11, Table 1 <07_error_curves>`" in c13
    s1 = next(line for line in md if line.startswith("| S1 |"))
    assert "criterion of S1" in s1 and "<01_shapeset>" in s1 and "✗" in s1


def test_every_linked_page_is_a_chapter_of_the_book():
    from fixture_notebooks import REPO

    from glorot.book import toc_files

    pages = {f.removeprefix("book/") for f in toc_files(REPO)}
    assert {doc for doc, _ in S.PAGES.values()} <= pages
    assert set(S.CLAIM_IDS) <= set(S.PAGES)


def test_comparative_rows_must_show_their_seeds_and_their_test():
    shown = ClaimResult(
        "C13", "c", "Tanh 26.0 (3 seeds × 2,000 test examples); p = 1e-05", Verdict.PASS
    )
    bare = ClaimResult("C15", "c", "|Softsign − Softsign N| = 0.50", Verdict.PASS)
    open_ = ClaimResult("C16", "c", "neither MNIST nor CIFAR-10 is present", Verdict.NOT_REACHED)
    assert S.unsupported([shown, bare, open_, result("C7")]) == ["C15"]


def test_the_real_comparative_checks_show_their_seeds_and_their_test():
    import numpy as np

    from glorot.claims import errors as E
    from glorot.claims import gradients as G
    from glorot.claims import table1 as T

    rng = np.random.default_rng(0)
    errors = T.PAPER_TABLE1["shapeset"]
    outcomes = {r: rng.random((3, 10_000)) < e / 100 for r, e in errors.items()}
    u = np.array([0, 20_000, 40_000])
    grow = np.stack([np.array([[1, 1, 1], [1, 2, 4], [1, 3, 6]]) * 1e-3] * 3)
    level = np.ones((3, 3, 3)) * 1e-3
    card = [
        G.check_c11(u, grow, u, level),
        E.check_c13(outcomes, E.PAPER_UPDATES),
        E.check_c14(outcomes, E.PAPER_UPDATES),
        E.check_c15(outcomes, E.PAPER_UPDATES),
        E.check_c16({"mnist": outcomes}, 500_000),
    ]
    assert all(r.verdict in (Verdict.PASS, Verdict.FAIL) for r in card)
    assert S.unsupported(card) == []

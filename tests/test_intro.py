"""The introduction's counts and times agree with the code and the README."""

from __future__ import annotations

import re

from fixture_notebooks import REPO

from glorot.claims import STATEMENTS
from glorot.claims import beyond as beyond_claims
from glorot.claims import shapeset as shapeset_claims

WORDS = dict(enumerate("zero one two three four five six seven eight nine ten".split()))
WORDS |= {12: "twelve", 16: "sixteen", 20: "twenty", 24: "twenty-four", 27: "twenty-seven"}
INTRO = (REPO / "book" / "intro.md").read_text()
README = (REPO / "README.md").read_text()


def test_the_intro_counts_the_claims_and_the_data_checks_the_code_defines():
    paper, data = len(STATEMENTS), len(shapeset_claims.STATEMENTS)
    later = len(beyond_claims.STATEMENTS)
    assert f"{WORDS[paper]} claims, C1 to C{paper}" in INTRO
    assert f"{WORDS[data]} checks of the data set, S1 to S{data}" in INTRO
    assert f"{WORDS[later]} claims of the work\nthat followed the paper, B1 to B{later}" in INTRO
    assert f"the scorecard has {WORDS[paper + data + later]} rows" in INTRO


def test_the_intro_and_the_readme_give_the_same_time_for_a_cold_build():
    cold = re.compile(r"up\s+to\s+about\s+(\w+\s+\w+|\w+)\s+(?:minutes|hour)")
    intro, readme = cold.search(INTRO), cold.search(README)
    words = [" ".join(m.group(1).split()) for m in (intro, readme) if m]
    assert len(words) == 2 and words[0] == words[1], words

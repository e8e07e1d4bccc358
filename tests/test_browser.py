"""The built site in a real browser: headless Chromium, network off, every page from disk.

Every page loads; every image has a natural size; every piece of math is rendered by MathJax and
no raw TeX is left in the text; the console shows no error but the known ones listed below. The
site is the smoke build (``glorot book --profile smoke``), built here when it is missing.
Chromium comes from Debian (``apt-get install -y chromium``; ``.ci/run`` installs it): where it
cannot be installed the test is skipped, and says so.
"""

from __future__ import annotations

import re

import browser
import pytest
from fixture_notebooks import REPO

from glorot import book
from glorot.config import PROFILES

SMOKE = PROFILES["smoke"]
# Console errors of the theme itself, on every page, harmless offline:
KNOWN_ERRORS = (
    # sphinx-book-theme declares the Thebe loader's URL in two scripts of each page.
    "Identifier 'THEBE_JS_URL' has already been declared",
    # pydata-sphinx-theme, on a first visit, before a light or dark mode is stored.
    "Got invalid theme mode",
)
REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"')


@pytest.fixture(scope="module")
def chromium():
    executable = browser.find()
    if executable is None:
        pytest.skip(
            "Chromium is not installed and could not be: no browser test "
            "(apt-get install -y chromium; .ci/run installs it where apt-get can)"
        )
    with browser.Browser(executable) as b:
        yield b


@pytest.fixture(scope="module")
def site() -> list:
    """The smoke site's pages: executed and built unless up to date and present."""
    target = book.book_dir(REPO, SMOKE)
    index = target / "_build" / "html" / "index.html"
    stale = [
        n
        for n, p in book.chapters(REPO).items()
        if book.stored_stamp(target / p.relative_to(REPO))
        != book.stamp(p, {"profile": SMOKE.name}, SMOKE.name)
    ]
    if stale or not index.is_file():
        book.execute_book(REPO, SMOKE, progress=False, log=print)
        index = book.build_html(target)
    html = index.parent
    pages = [html / f"{entry}.html" for entry in book.toc_files(target)]
    return [index, *pages]


@pytest.mark.slow
def test_every_page_loads_offline_with_images_math_and_no_console_error(chromium, site):
    index, *pages = site
    redirect = REDIRECT.search(index.read_text())
    assert redirect and (index.parent / redirect.group(1)).is_file(), "index leads to a page"
    problems = []
    for page in pages:
        assert page.is_file(), f"{page.name} not built"
        r = chromium.load(page)
        name = page.relative_to(index.parent).as_posix()
        if not r.loaded:
            problems.append(f"{name}: did not load")
        problems += [
            f"{name}: image {i['src']} has no natural size"
            for i in r.images
            if not (i["width"] > 0 and i["height"] > 0)
        ]
        if r.rendered != r.math:
            problems.append(f"{name}: {r.math - r.rendered} of {r.math} math elements unrendered")
        if r.raw_tex:
            problems.append(f"{name}: raw TeX in the text: {r.raw_tex}")
        problems += [f"{name}: {e}" for e in r.errors if not any(k in e for k in KNOWN_ERRORS)]
    assert not problems, "\n".join(problems)
    chapters = [
        p for p in pages if (REPO / p.relative_to(index.parent)).with_suffix(".ipynb").is_file()
    ]
    assert chapters, "no chapter page was checked"


# What a page must not show a reader: the chapters' plumbing, numbers that were never measured,
# the build machine's folders.
PLUMBING = {
    "a glue call": re.compile(r"\bglue\("),
    "an nbval marker": re.compile(r"NBVAL_"),
    "display=False": re.compile(r"display=False"),
    "nan": re.compile(r"<td[^>]*>\s*(?:<p>)?\s*nan\s*(?:</p>)?\s*</td>"),
    "a machine path": re.compile(r"(?<![\w.:/])/(?:home|root|tmp|work|Users|usr|opt|mnt|srv)/\w"),
}


def plumbing(html: str) -> list[str]:
    """What of :data:`PLUMBING` the HTML of a page shows."""
    return [what for what, pattern in PLUMBING.items() if pattern.search(html)]


def test_plumbing_is_found_where_a_page_shows_it():
    assert plumbing('<pre>glue("x", 1, display=False)</pre>') == ["a glue call", "display=False"]
    assert plumbing("<td><p>nan</p></td> in /home/ann/data") == ["nan", "a machine path"]
    assert plumbing("<td>not measured</td> <a href='https://x.org/usr/a'>") == []


@pytest.mark.slow
def test_no_page_shows_plumbing_nan_or_a_machine_path(site):
    index, *pages = site
    found = {p.name: plumbing(p.read_text()) for p in pages}
    assert not any(found.values()), {k: v for k, v in found.items() if v}


def test_the_browser_reports_a_broken_page(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><main><p>$$\\frac{1}{2}$$</p><img src='missing.png'>"
        "<script>console.error('boom')</script></main></body></html>"
    )
    r = chromium.load(page)
    assert r.loaded and r.images[0]["width"] == 0
    assert r.raw_tex and any("boom" in e for e in r.errors)

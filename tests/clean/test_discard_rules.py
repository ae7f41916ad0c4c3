"""trafilatura's boilerplate rules, parsed and evaluated in Python (processing/discard_rules.py),
find the same elements in the same order as the XPath they replace, on real pages (Python's
documentation, the Debian Reference in Chinese and Japanese, the sample site with its junk
pages) and on pages written to hit every kind of test; and `trafilatura.extract` gives the
same text with and without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import trafilatura
from lxml.etree import XPath
from trafilatura import xpaths
from trafilatura.utils import load_html

from corpusforge.connectors.sample_site import generate_site
from corpusforge.processing import discard_rules
from corpusforge.processing.discard_rules import AttributeRule

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
MANUALS = Path("/usr/share/debian-reference")
EXSLT = {"re": "http://exslt.org/regular-expressions"}
ORIGINAL_RULES = [XPath(rule.path, namespaces=EXSLT) for rule in xpaths.OVERALL_DISCARD_XPATH]

# Every form of test in the rules, attribute order included (`@id|@class` is the first of the
# two in the source), empty values and look-alikes that must not match.
CRAFTED = """<html><body>
<div id="x" class="share-buttons">a</div><div class="hidden" id="q">b</div><span id="q" class="x hidden">c</span>
<div role="Navigation">d</div><p data-lp-replacement-content="">e</p><section style="display:none">f</section>
<div style="color: red; display: none">g</div><div class="comments-title">h</div>
<span class="reply-to" id="z">i</span><span id="reply-1">j</span><div aria-hidden="true">k</div>
<div aria-hidden="false">l</div><article class="footer">m</article>
<div class="cookie-banner">z</div><div id="main" class="cookie">y</div><div class="dfpAd">n</div>
<div class=" ad ">o</div><div id="ad-top">p</div><div class="nav-ad">q</div>
<div data-component="MostPopularStories">r</div><ul class="menu"><li>s</li></ul>
<div class="">t</div><div id="">u</div><b class="hide-me">v</b><div class="meta"><div class="meta">nested</div></div>
<div>plain <!-- a comment --> text</div><div class="ÉlanMenu">w</div><div id="Footer">x</div></body></html>"""


def _pages() -> list[tuple[str, str]]:
    pages = [("crafted", CRAFTED)]
    docs = sorted(PYTHON_DOCS.rglob("*.html"))
    assert docs, "install python3.11-doc (make setup does)"
    pages += [(str(p), p.read_text(errors="replace")) for p in docs[::10]]
    manuals = sorted(MANUALS.glob("ch0[1-3].*.html"))
    assert manuals, "install debian-reference-zh-cn and -ja (make setup does)"
    pages += [(str(p), p.read_text(errors="replace")) for p in manuals]
    return pages


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[tuple[str, str]]:
    site = tmp_path_factory.mktemp("site")
    manifest = generate_site(site, pages=30, seed=3, quality=True)
    sample = [(a["path"], (site / a["path"]).read_text()) for a in manifest["articles"]]
    return _pages() + sample


def test_every_rule_trafilatura_ships_is_parsed_and_installed():
    parsed = [AttributeRule.parse(rule.path) for rule in ORIGINAL_RULES]
    assert all(parsed) and len(parsed) == 2
    discard_rules.install()  # again: already installed by processing.extract, and harmless
    assert all(isinstance(rule, AttributeRule) for rule in xpaths.OVERALL_DISCARD_XPATH)


def test_the_parsed_rules_find_the_elements_the_xpath_finds(pages):
    found = 0
    for name, html in pages:
        for original in ORIGINAL_RULES:
            tree = load_html(html)
            expected = original(tree)
            assert AttributeRule.parse(original.path)(tree) == expected, name
            found += len(expected)
    crafted = load_html(CRAFTED)
    hits = {el.text for rule in ORIGINAL_RULES for el in rule(crafted)}
    assert set("acdefghijknopqrvxz") <= hits
    assert not set("blmstuwy") & hits  # look-alikes; "y": the first of id|class decides, and it is the id
    assert found > 100


def test_extraction_is_the_same_with_the_xpath_rules(pages):
    installed = list(xpaths.OVERALL_DISCARD_XPATH)
    sample = pages[:: max(1, len(pages) // 40)]
    ours = [trafilatura.extract(html, include_tables=True, include_formatting=True) for _, html in sample]
    xpaths.OVERALL_DISCARD_XPATH[:] = ORIGINAL_RULES
    try:
        theirs = [trafilatura.extract(html, include_tables=True, include_formatting=True) for _, html in sample]
    finally:
        xpaths.OVERALL_DISCARD_XPATH[:] = installed
    assert ours == theirs and sum(map(bool, ours)) > 20

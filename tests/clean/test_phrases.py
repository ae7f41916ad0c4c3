"""Phrase lists searched only where a required literal occurs find exactly what the full regex finds."""

from __future__ import annotations

import re

import pytest

from corpusforge.connectors.sample_site import generate_site
from corpusforge.processing import junk
from corpusforge.processing.extract import extract_html
from corpusforge.processing.phrases import PhraseSet, required_literals

PHRASE_LISTS = ("ERROR_PAGE", "CONSENT_WALL", "JAVASCRIPT_WALL", "LOGIN_WALL", "COMING_SOON", "FILLER", "BOILERPLATE")
# Case variants IGNORECASE matches beyond upper/lower case (dotless i, long s, dotted capital I,
# Kelvin sign), next to the phrases they spell.
TRICKY = [
    "WE VALUE YOUR PRİVACY and our PARTNERS",
    "Thıs page does not exist. Seamleſs integration, game-changer! Ⅽookies",
    "Sign in to continue. Members only. \u212aeep learning (c) 2024 © ALL RIGHTS RESERVED",
    "页面不存在 出错了 ログインして 工事中 请先登录 クッキー 版权所有 使用 cookie",
    "error 502 bad gateway, then an error has occurred; take your business to the next level",
    "",
]


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> list[str]:
    site = tmp_path_factory.mktemp("site")
    manifest = generate_site(site, pages=30, seed=3, quality=True)
    pages = [extract_html((site / a["path"]).read_text(), None).markdown for a in manifest["articles"]]
    return TRICKY + pages


@pytest.mark.parametrize("name", PHRASE_LISTS)
def test_same_matches_as_the_full_regex(name, texts):
    phrases: PhraseSet = getattr(junk, name)
    full = re.compile("|".join(f"(?:{p})" for p in phrases.patterns), re.I)
    for text in texts:
        assert phrases.findall(text) == full.findall(text), text[:60]
        assert [m.span() for m in phrases.finditer(text)] == [m.span() for m in full.finditer(text)]
        assert bool(phrases.search(text)) == bool(full.search(text))


@pytest.mark.parametrize("name", PHRASE_LISTS)
def test_every_phrase_has_a_required_literal(name):
    # a phrase without one is searched on every text (correct, but the speed-up is lost)
    assert all(getattr(junk, name).literals)


def test_required_literals():
    assert required_literals(r"\bcookies?\b") == {"cookie"}
    assert required_literals(r"\b(?:our )?(?:vendors|partners)\b") == {"vendors", "partners"}
    assert required_literals(r"©|\(c\) \d{4}|\bcopyright \d{4}") == {"©", "(c) ", "copyright "}
    assert required_literals(r"\d+") is None


def test_boilerplate_line_fraction_counts_lines_once():
    seg = junk.Segments(prose=["Privacy policy and terms of use", "Real text here.", "© 2024 Example", "More text."])
    assert junk.boilerplate_line_fraction(seg) == 0.5

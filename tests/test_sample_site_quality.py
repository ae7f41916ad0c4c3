"""The quality sample site: documentation pages to keep (code, tables, signatures, Chinese and
Japanese text from Debian's manuals) and junk pages to drop, generated deterministically and
served over HTTP (real sockets on localhost, no mocks)."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest

from corpusforge.connectors.sample_site import (
    SampleServer,
    article_text_from_html,
    generate_site,
    load_manifest,
)
from tests.test_sample_site import page_html

DOCUMENTATION = {"reference": 4, "api_reference": 2, "changelog": 2, "faq": 2}
JUNK = (
    "soft_404",
    "error_page",
    "consent_wall",
    "javascript_wall",
    "login_wall",
    "link_list",
    "directory",
    "tag_cloud",
    "lorem_ipsum",
    "filler",
    "keyword_stuffing",
    "gibberish",
    "price_list",
    "coming_soon",
    "repeated_line",
)
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")


@pytest.fixture(scope="module")
def quality_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("quality-site")
    generate_site(root, pages=50, seed=0, quality=True)
    return root


@pytest.fixture(scope="module")
def quality_manifest(quality_site) -> dict:
    return load_manifest(quality_site)


def body_text(page: str) -> str:
    """The text a reader sees in the page's main content (article body or content div), whitespace-normalised."""
    tree = lxml.html.fromstring(page)
    main = tree.xpath('//div[@class="article-body"] | //main/div[@class="content"]')[0]
    for hidden in main.xpath(".//script"):
        hidden.drop_tree()
    return " ".join(main.text_content().split())


def test_quality_site_has_every_documentation_and_junk_kind(quality_site, quality_manifest):
    entries = quality_manifest["articles"]
    english = [a for a in entries if a["language"] == "en"]
    for kind, at_least in DOCUMENTATION.items():
        docs = [a for a in english if a["kind"] == kind]
        assert len(docs) >= at_least, kind
        assert all(a["expected"] == "keep" and a["category"] == "documentation" for a in docs), kind
    for kind in JUNK:
        junk = [a for a in english if a["kind"] == kind]
        assert junk, kind
        assert all(a["expected"] == "drop" and a["category"] == "junk" for a in junk), kind
    for lang in ("zh", "ja"):
        docs = [a for a in entries if a["language"] == lang and a["category"] == "documentation"]
        assert len(docs) == 3 and {a["kind"] for a in docs} <= {"reference", "article"}, lang
        assert all(a["expected"] == "keep" for a in docs)
    cjk_junk = [a for a in entries if a["language"] in ("zh", "ja") and a["category"] == "junk"]
    assert len(cjk_junk) >= 3 and {a["language"] for a in cjk_junk} == {"zh", "ja"}
    assert all(a["expected"] == "drop" for a in cjk_junk)
    # the kinds of the plain site keep their verdicts: duplicates are dedup's job, so "keep"
    expected = {a["kind"]: a["expected"] for a in entries}
    assert expected["spam"] == expected["thin"] == "drop"
    assert expected["article"] == expected["near_duplicate"] == expected["exact_duplicate"] == "keep"
    assert quality_manifest["quality"] is True
    for entry in entries:
        assert f'<html lang="{entry["language"]}">' in page_html(quality_site, entry), entry["url_path"]
    assert quality_manifest["counts"]["reference"] == len([a for a in entries if a["kind"] == "reference"])


def test_plain_site_is_unchanged_by_the_quality_pages(sample_site_dir, sample_manifest, quality_manifest, quality_site):
    assert sample_manifest["quality"] is False
    assert {a["category"] for a in sample_manifest["articles"]} & {"documentation", "junk"} == set()
    assert {a["expected"] for a in sample_manifest["articles"] if a["kind"] not in ("thin", "spam")} == {"keep"}
    # The quality pages come on top: the plain site's pages are there with the same bodies.
    plain = {a["url_path"]: a for a in sample_manifest["articles"]}
    extended = {a["url_path"]: a for a in quality_manifest["articles"]}
    assert set(plain) < set(extended)
    for path, entry in plain.items():
        assert extended[path]["kind"] == entry["kind"] and extended[path]["words"] == entry["words"]
        assert article_text_from_html(page_html(sample_site_dir, entry)) == article_text_from_html(
            page_html(quality_site, extended[path])
        )
    counts = sample_manifest["counts"]
    assert all(counts[kind] == quality_manifest["counts"][kind] for kind in counts)


def test_documentation_pages_hold_code_tables_and_signatures(quality_site, quality_manifest):
    docs = [a for a in quality_manifest["articles"] if a["category"] == "documentation" and a["language"] == "en"]
    for entry in docs:
        page = page_html(quality_site, entry)
        assert entry["known_sentence"] in body_text(page), entry["url_path"]
        if entry["kind"] == "reference":
            assert "<pre" in page and "<table" in page and '<dl class="py' in page, entry["url_path"]
            assert entry["words"] >= 500
        if entry["kind"] == "api_reference":
            code = sum(len(c) for c in re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S))
            # mostly code (signatures), a little prose
            assert page.count("<pre><code>def ") >= 5 and code > 0.6 * len(body_text(page)), entry["url_path"]
        if entry["kind"] == "changelog":
            assert len(re.findall(r"<h2>Python 3\.\d+\.\d+", page)) >= 2 and page.count("<li>") >= 10
        if entry["kind"] == "faq":
            assert len(re.findall(r"<h[23]>[^<]+\?</h[23]>", page)) >= 3, entry["url_path"]  # questions


def test_chinese_and_japanese_pages_are_real_text(quality_site, quality_manifest):
    for lang in ("zh", "ja"):
        for entry in [a for a in quality_manifest["articles"] if a["language"] == lang]:
            text = body_text(page_html(quality_site, entry))
            if entry["category"] == "documentation":
                assert entry["chars"] >= 1500 and len(text) >= 1500, entry["url_path"]
                assert len(CJK.findall(text)) >= 500, entry["url_path"]
                assert "。" in text
            assert entry["known_sentence"] in text
            kana = len(KANA.findall(text))
            assert kana > 20 if lang == "ja" else kana == 0, entry["url_path"]


def test_junk_pages_look_like_real_ones(quality_site, quality_manifest):
    junk = {(a["kind"], a["language"]): a for a in quality_manifest["articles"] if a["category"] == "junk"}
    for entry in junk.values():
        page = page_html(quality_site, entry)
        for marker in ('<nav class="main-nav"', "<footer", 'id="cookie-banner"', "<main>"):
            assert marker in page, (marker, entry["url_path"])
        assert entry["known_sentence"] in body_text(page)
    texts = {key: body_text(page_html(quality_site, entry)) for key, entry in junk.items()}
    assert "search" in texts["soft_404", "en"].lower()
    assert page_html(quality_site, junk["soft_404", "en"]).count("<li><a href=") >= 5
    assert "Traceback" in texts["error_page", "en"]
    assert texts["consent_wall", "en"].lower().count("cookie") >= 3 and junk["consent_wall", "en"]["words"] > 150
    assert "JavaScript" in texts["javascript_wall", "en"] and "<noscript>" in page_html(
        quality_site, junk["javascript_wall", "en"]
    )
    assert 'type="password"' in page_html(quality_site, junk["login_wall", "en"])
    for kind in ("link_list", "directory", "tag_cloud"):
        assert (
            page_html(quality_site, junk[kind, "en"]).count("<a href=")
            + page_html(quality_site, junk[kind, "en"]).count('<a class="tag')
            >= 30
        ), kind
    assert texts["lorem_ipsum", "en"].lower().count("lorem") >= 1 and junk["lorem_ipsum", "en"]["words"] >= 200
    assert junk["filler", "en"]["words"] >= 200 and junk["keyword_stuffing", "en"]["words"] >= 150
    assert texts["keyword_stuffing", "en"].lower().count("python tutorial") >= 20
    assert "<table" in page_html(quality_site, junk["price_list", "en"]) and "€" in texts["price_list", "en"]
    assert junk["coming_soon", "en"]["words"] < 60
    lines = re.findall(r"<p>([^<]+)</p>", page_html(quality_site, junk["repeated_line", "en"]))
    assert max(lines.count(line) for line in lines) >= 30


def test_gibberish_is_real_words_in_random_order(quality_site, quality_manifest):
    entries = quality_manifest["articles"]
    gibberish = next(a for a in entries if a["kind"] == "gibberish" and a["language"] == "en")
    assert gibberish["words"] >= 200  # a word count alone does not catch it
    docs = " ".join(
        body_text(page_html(quality_site, a))
        for a in entries
        if a["category"] == "documentation" and a["language"] == "en"
    ).lower()
    vocabulary = set(re.findall(r"[a-z]+", docs))
    words = re.findall(r"[a-z]+", body_text(page_html(quality_site, gibberish)).lower())
    assert sum(w in vocabulary for w in words) / len(words) > 0.95
    assert sum(w in ("the", "of", "to", "a", "and", "is", "in") for w in words) / len(words) > 0.05
    bigrams = set(zip(docs.split(), docs.split()[1:], strict=False))
    text_words = body_text(page_html(quality_site, gibberish)).lower().split()
    seen = sum((a, b) in bigrams for a, b in zip(text_words, text_words[1:], strict=False))
    assert seen / len(text_words) < 0.5  # the words are real, their order is not
    zh = next(a for a in entries if a["kind"] == "gibberish" and a["language"] == "zh")
    assert zh["chars"] >= 500 and len(CJK.findall(body_text(page_html(quality_site, zh)))) >= 400


def test_server_serves_the_quality_pages(quality_site, quality_manifest, http):
    new = [a for a in quality_manifest["articles"] if a["category"] in ("documentation", "junk")]
    with SampleServer(quality_site) as srv:
        for entry in new:
            r = http.get(srv.url + entry["url_path"])
            assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8", entry["url_path"]
            assert entry["known_sentence"] in body_text(r.text), entry["url_path"]
        listing = http.get(srv.url + "/section/docs/")
        assert listing.status_code == 200 and "Documentation – page 1" in listing.text
        sitemap = http.get(srv.url + "/sitemap.xml").text
        assert all(f"{srv.url}{a['url_path']}</loc>" in sitemap for a in new)


def test_quality_site_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    generate_site(first, pages=30, seed=3, quality=True)
    generate_site(second, pages=30, seed=3, quality=True)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_quality_site_names_the_missing_debian_package(tmp_path, monkeypatch):
    from corpusforge.connectors.sample_site import harvest_html

    monkeypatch.setattr(harvest_html, "DEBIAN_REFERENCE_ROOT", tmp_path / "no-such-dir")
    with pytest.raises(RuntimeError, match="apt-get install debian-reference-zh-cn"):
        generate_site(tmp_path / "site", pages=30, quality=True)
    assert not any((tmp_path / "site").rglob("*.html"))  # it fails before writing any page

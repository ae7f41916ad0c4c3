"""The sample site generator and its HTTP server: determinism, the planted cases the manifest
records, the site files, and the server's HTTP behaviour (real sockets on localhost, no mocks)."""

from __future__ import annotations

import gzip
import html
import itertools
import json
import re
from collections import deque
from pathlib import Path

import pytest

from corpusforge.connectors.sample_site import (
    BOILERPLATE_SENTENCES,
    ORIGIN,
    article_text_from_html,
    delete_page,
    edit_page,
    generate_site,
    load_manifest,
    shingle_jaccard,
    word_shingles,
)

REPO = Path(__file__).resolve().parents[1]


def page_html(site: Path, entry: dict) -> str:
    return (site / entry["path"]).read_text(encoding="utf-8")


def by_kind(manifest: dict, kind: str) -> list[dict]:
    return [a for a in manifest["articles"] if a["kind"] == kind]


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


# --- generator ------------------------------------------------------------------------------------


def test_generation_is_deterministic(tmp_path, site):
    other = tmp_path / "again"
    generate_site(other, pages=50, seed=0)
    files_a = sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (site / rel).read_bytes() == (other / rel).read_bytes(), rel
        assert (site / rel).stat().st_mtime == (other / rel).stat().st_mtime, rel
    different = tmp_path / "seed1"
    generate_site(different, pages=50, seed=1)
    assert load_manifest(different)["articles"] != load_manifest(site)["articles"]


def test_refuses_a_non_empty_directory_and_tiny_sites(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(FileExistsError):
        generate_site(tmp_path, pages=50)
    with pytest.raises(ValueError):
        generate_site(tmp_path / "small", pages=5)


def test_small_site_has_every_planted_case(site, manifest):
    kinds = {a["kind"] for a in manifest["articles"]}
    assert kinds == {
        "article",
        "near_duplicate",
        "exact_duplicate",
        "thin",
        "spam",
        "pii",
        "foreign",
        "private",
    }
    assert {a["language"] for a in by_kind(manifest, "foreign")} == {"de", "fr", "es"}
    assert len(manifest["articles"]) == 50
    for entry in manifest["articles"]:
        page = page_html(site, entry)
        assert f'<html lang="{entry["language"]}">' in page
        assert entry["url_path"] == "/" + entry["path"]
        if entry["kind"] == "private":
            assert entry["url_path"].startswith(manifest["disallowed_prefix"])
        else:
            assert not entry["url_path"].startswith(manifest["disallowed_prefix"])
    for entry in manifest["articles"]:
        if entry["kind"] in ("article", "pii", "private", "near_duplicate", "exact_duplicate", "foreign"):
            assert 150 <= entry["words"] <= 1600, entry
    assert all(a["words"] < 60 for a in by_kind(manifest, "thin"))


def test_pages_have_boilerplate_around_the_article(site, manifest):
    for entry in manifest["articles"]:
        page = page_html(site, entry)
        for marker in (
            '<nav class="main-nav"',
            "<header",
            "<footer",
            'id="cookie-banner"',
            "<main>",
            "<article>",
            "Related articles",
            '<meta name="author"',
            '<meta name="description"',
            "<time datetime=",
            f'<link rel="canonical" href="{ORIGIN}{entry["url_path"]}">',
        ):
            assert marker in page, (marker, entry["url_path"])
        assert f"<h1>{html.escape(entry['title'], quote=False)}</h1>" in page
        assert f"<title>{html.escape(entry['title'], quote=False)} |" in page
        for sentence in BOILERPLATE_SENTENCES:
            assert sentence in page
        body = article_text_from_html(page)
        assert not any(sentence in body for sentence in manifest["boilerplate_sentences"])
        assert entry["known_sentence"] in body
        assert html.escape(entry["known_sentence"], quote=False) in page


def test_near_and_exact_duplicates_match_the_manifest(site, manifest):
    paths = {a["url_path"]: a for a in manifest["articles"]}
    near = by_kind(manifest, "near_duplicate")
    assert near
    for entry in near:
        original = paths[entry["original"]]
        assert original["kind"] == "article"
        copy_text = article_text_from_html(page_html(site, entry))
        original_text = article_text_from_html(page_html(site, original))
        assert 0.5 < entry["jaccard"] < 1
        assert shingle_jaccard(copy_text, original_text) == pytest.approx(entry["jaccard"], abs=1e-4)
        assert 0 < entry["edit_rate"] <= 0.1
    exact = by_kind(manifest, "exact_duplicate")
    assert exact
    for entry in exact:
        original = paths[entry["original"]]
        copy_page, original_page = page_html(site, entry), page_html(site, original)
        assert article_text_from_html(copy_page) == article_text_from_html(original_page)
        start = copy_page.index("<article>")
        assert copy_page[start:] == original_page[original_page.index("<article>") :]
        assert copy_page != original_page  # another URL, another nav order
        nav = re.compile(r'<nav class="main-nav".*?</nav>')
        assert nav.search(copy_page).group() != nav.search(original_page).group()


def test_unrelated_pages_are_not_near_duplicates(site, manifest):
    shingles = {a["url_path"]: word_shingles(article_text_from_html(page_html(site, a))) for a in manifest["articles"]}
    related = {frozenset((a["url_path"], a["original"])) for a in manifest["articles"] if a["original"]}
    worst = 0.0
    for a, b in itertools.combinations(sorted(shingles), 2):
        if frozenset((a, b)) not in related:
            worst = max(worst, len(shingles[a] & shingles[b]) / len(shingles[a] | shingles[b]))
    assert worst < 0.3


def test_pii_spam_and_thin_pages(site, manifest):
    pii_pages = by_kind(manifest, "pii")
    types = set()
    for entry in pii_pages:
        page = page_html(site, entry)
        assert entry["pii"]
        for item in entry["pii"]:
            assert item["value"] in page
            types.add(item["type"])
            if item["type"] == "credit_card":
                assert luhn_valid(item["value"])
        assert not any(item["value"] in entry["known_sentence"] for item in entry["pii"])
    assert types == {"email", "phone", "ip", "credit_card", "iban"}
    all_pii = [item["value"] for e in pii_pages for item in e["pii"]]
    assert "4111 1111 1111 1111" in all_pii and "DE89 3704 0044 0532 0130 00" in all_pii
    for entry in by_kind(manifest, "spam"):
        page = page_html(site, entry)
        assert "BUY NOW!!!" in page and page.count('href="http://') >= 10
    for entry in by_kind(manifest, "thin"):
        assert len(article_text_from_html(page_html(site, entry)).split()) < 40


def test_site_files(site, manifest):
    robots = (site / "robots.txt").read_text()
    assert "User-agent: *\nDisallow: /private/" in robots
    assert f"Sitemap: {ORIGIN}/sitemap_index.xml" in robots

    public = {a["url_path"] for a in manifest["articles"] if a["kind"] != "private"}
    sitemap = (site / "sitemap.xml").read_text()
    locs = set(re.findall(r"<loc>" + re.escape(ORIGIN) + r"([^<]+)</loc>", sitemap))
    assert locs == public
    index = (site / "sitemap_index.xml").read_text()
    assert f"{ORIGIN}/sitemap.xml" in index and f"{ORIGIN}/sitemap-extra.xml.gz" in index
    extra = gzip.decompress((site / "sitemap-extra.xml.gz").read_bytes()).decode()
    assert f"<loc>{ORIGIN}/about.html</loc>" in extra

    rss = (site / "feed.xml").read_text()
    assert rss.count("<item>") == 20 and rss.count("<pubDate>") == 20 and '<rss version="2.0"' in rss
    assert len(manifest["feed_items"]) == 20
    atom = (site / "atom.xml").read_text()
    assert atom.count("<entry>") == 20 and 'xmlns="http://www.w3.org/2005/Atom"' in atom
    assert (site / "files" / "report.pdf").read_bytes().startswith(b"%PDF-")
    json.loads((site / "data.json").read_text())
    assert sorted(manifest["non_html"]) == ["/data.json", "/files/report.pdf"]

    redirects = json.loads((site / "_redirects.json").read_text())
    assert redirects == manifest["redirects"]
    assert redirects["/loop/a"] == "/loop/b" and redirects["/loop/b"] == "/loop/a"
    statuses = manifest["redirect_status"]
    assert sorted(statuses.values()).count(302) == 1 and statuses["/loop/a"] == 301
    for path in manifest["missing_paths"]:
        assert not (site / path.lstrip("/")).exists()


def test_every_page_is_reachable_by_links_within_three_hops(site, manifest):
    redirects = manifest["redirects"]
    href = re.compile(r'href="(/[^"]*)"')

    def local_file(path: str) -> Path:
        target = site / path.lstrip("/")
        return target / "index.html" if path.endswith("/") else target

    depth = {"/": 0}
    queue = deque(["/"])
    linked: set[str] = set()
    while queue:
        path = queue.popleft()
        target = local_file(path)
        if target.suffix != ".html" or not target.exists():
            continue
        for link in href.findall(target.read_text(encoding="utf-8")):
            linked.add(link)
            seen: set[str] = set()
            while link in redirects and link not in seen:
                seen.add(link)
                link = redirects[link]
            if link not in depth:
                depth[link] = depth[path] + 1
                queue.append(link)
    for entry in manifest["articles"]:
        assert depth.get(entry["url_path"], 99) <= 3, entry["url_path"]
    assert set(manifest["missing_paths"]) & linked
    assert {"/loop/a", *manifest["non_html"]} <= linked
    assert any(p.startswith("/very-old/") for p in linked)


def test_edit_and_delete_page(tmp_path):
    root = tmp_path / "site"
    manifest = generate_site(root, pages=30, seed=3)
    first, second = [a for a in manifest["articles"] if a["kind"] == "article"][:2]
    before = (root / first["path"]).stat().st_mtime
    edit_page(root, first["url_path"], "A brand new closing paragraph about caching & crawling.")
    page = (root / first["path"]).read_text()
    body = article_text_from_html(page)
    assert body.endswith("A brand new closing paragraph about caching & crawling.")
    assert first["known_sentence"] in body
    assert (root / first["path"]).stat().st_mtime > before
    delete_page(root, second["url_path"])
    assert not (root / second["path"]).exists()
    updated = load_manifest(root)
    entries = {a["url_path"]: a for a in updated["articles"]}
    assert entries[first["url_path"]]["appended"] == ["A brand new closing paragraph about caching & crawling."]
    assert entries[second["url_path"]]["deleted"] is True
    assert updated["deleted_paths"] == [second["url_path"]]
    assert second["url_path"] not in (root / "sitemap.xml").read_text()
    with pytest.raises(KeyError):
        edit_page(root, "/articles/not-a-page.html", "x")


# --- server ---------------------------------------------------------------------------------------

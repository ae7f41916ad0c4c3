"""The sample site generator and its HTTP server: determinism, the planted cases the manifest
records, the site files, and the server's HTTP behaviour (real sockets on localhost, no mocks)."""

from __future__ import annotations

import gzip
import html
import itertools
import json
import re
import subprocess
import sys
import time
from collections import deque
from email.utils import formatdate
from pathlib import Path

import httpx
import lxml.html
import pytest

from corpusforge.connectors.sample_site import (
    BOILERPLATE_SENTENCES,
    ORIGIN,
    SampleServer,
    article_text_from_html,
    delete_page,
    edit_page,
    generate_site,
    load_manifest,
    shingle_jaccard,
    word_shingles,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(sample_site_dir) -> Path:
    """The session's 50-page site (tests/conftest.py), read-only here: tests that change pages copy it."""
    return sample_site_dir


@pytest.fixture(scope="module")
def manifest(sample_manifest) -> dict:
    return sample_manifest


@pytest.fixture(scope="module")
def server(site):
    # A server of its own: tests here set fault injection on it, which must not reach other modules.
    with SampleServer(site) as srv:
        yield srv


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


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


def test_get_sets_type_etag_and_last_modified(server, site, manifest, http):
    entry = by_kind(manifest, "article")[0]
    r = http.get(server.url + entry["url_path"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["etag"])
    mtime = (site / entry["path"]).stat().st_mtime
    assert r.headers["last-modified"] == formatdate(mtime, usegmt=True)
    assert entry["known_sentence"] in r.text
    assert f'<link rel="canonical" href="{server.url}{entry["url_path"]}">' in r.text
    assert ORIGIN not in r.text
    assert int(r.headers["content-length"]) == len(r.content)
    for path, ctype in (
        ("/files/report.pdf", "application/pdf"),
        ("/data.json", "application/json"),
        ("/sitemap.xml", "application/xml"),
        ("/sitemap-extra.xml.gz", "application/gzip"),
        ("/robots.txt", "text/plain; charset=utf-8"),
        ("/feed.xml", "application/rss+xml"),
    ):
        assert http.get(server.url + path).headers["content-type"] == ctype, path
    extra = gzip.decompress(http.get(server.url + "/sitemap-extra.xml.gz").content).decode()
    assert f"<loc>{server.url}/about.html</loc>" in extra


def test_conditional_requests_and_head(server, manifest, http):
    url = server.url + by_kind(manifest, "article")[1]["url_path"]
    first = http.get(url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    r = http.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    r = http.get(url, headers={"If-Modified-Since": last_modified})
    assert r.status_code == 304 and r.content == b""
    r = http.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert r.status_code == 200 and r.content == first.content
    # If-None-Match wins over If-Modified-Since
    r = http.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified})
    assert r.status_code == 200
    head = http.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(first.content)) and head.headers["etag"] == etag


def test_redirects_404s_directories_and_robots(server, manifest, http):
    old = sorted(p for p in manifest["redirects"] if p.startswith("/old/"))[0]
    r = http.get(server.url + old)
    assert r.status_code == 301 and r.headers["location"] == manifest["redirects"][old]
    r = http.get(server.url + "/latest.html")
    assert r.status_code == 302 and r.headers["location"] == manifest["redirects"]["/latest.html"]
    assert http.get(server.url + "/loop/a").headers["location"] == "/loop/b"
    assert http.get(server.url + "/loop/b").headers["location"] == "/loop/a"
    with pytest.raises(httpx.TooManyRedirects):
        http.get(server.url + "/loop/a", follow_redirects=True)
    final = http.get(server.url + old, follow_redirects=True)
    assert final.status_code == 200 and str(final.url) == server.url + manifest["redirects"][old]
    for path in (*manifest["missing_paths"], "/_manifest.json", "/_redirects.json", "/../etc/passwd"):
        assert http.get(server.url + path).status_code == 404, path
    listing = http.get(server.url + "/section/guides/")
    assert listing.status_code == 200 and "<h1>Guides – page 1</h1>" in listing.text
    robots = http.get(server.url + "/robots.txt").text
    assert "Disallow: /private/" in robots and f"Sitemap: {server.url}/sitemap_index.xml" in robots


def test_fault_injection(site, manifest, tmp_path, http):
    path = by_kind(manifest, "article")[2]["url_path"]
    with SampleServer(site) as srv:
        srv.faults[path] = {"status": 429, "times": 2, "retry_after": 3}
        statuses = []
        for _ in range(3):
            r = http.get(srv.url + path)
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["retry-after"] == "3"
        assert statuses == [429, 429, 200]
        srv.faults[path] = {"status": 503}
        assert http.get(srv.url + path).status_code == 503
        srv.faults[path] = {"delay": 0.3}
        start = time.monotonic()
        assert http.get(srv.url + path).status_code == 200
        assert time.monotonic() - start >= 0.3
        srv.faults[path] = {"body_bytes": 200_000}
        big = http.get(srv.url + path)
        assert big.status_code == 200 and len(big.content) == 200_000 and big.text.startswith("<!DOCTYPE html>")
        srv.faults.clear()
        srv.faults["*"] = {"status": 503, "times": 1}
        assert http.get(srv.url + "/robots.txt").status_code == 503
        assert http.get(srv.url + "/robots.txt").status_code == 200


def test_request_log_in_memory_and_on_disk(site, tmp_path, http):
    log = tmp_path / "requests.jsonl"
    with SampleServer(site, log_path=log) as srv:
        http.get(srv.url + "/", headers={"User-Agent": "corpusforge-test/1.0"})
        first = http.get(srv.url + "/robots.txt")
        http.get(srv.url + "/robots.txt", headers={"If-None-Match": first.headers["etag"]})
        http.get(srv.url + "/nope.html")
    keys = {"t", "method", "path", "status", "if_none_match", "if_modified_since", "user_agent", "bytes_sent"}
    entries = srv.requests
    assert [(e["path"], e["status"]) for e in entries] == [
        ("/", 200),
        ("/robots.txt", 200),
        ("/robots.txt", 304),
        ("/nope.html", 404),
    ]
    assert all(set(e) == keys for e in entries)
    assert entries[0]["user_agent"] == "corpusforge-test/1.0" and entries[0]["bytes_sent"] > 1000
    assert entries[2]["if_none_match"] == first.headers["etag"] and entries[2]["bytes_sent"] == 0
    on_disk = [json.loads(line) for line in log.read_text().splitlines()]
    assert on_disk == entries


def test_command_line_generates_serves_and_prints_its_url(tmp_path):
    site = tmp_path / "cli-site"
    log = tmp_path / "cli.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "corpusforge.connectors.sample_site.serve",
            str(site),
            "--generate",
            "30",
            "--quality",
            "--log",
            str(log),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and not url.endswith(":0")
        assert httpx.get(url + "/robots.txt", trust_env=False).status_code == 200
        assert load_manifest(site)["pages"] == 30 and load_manifest(site)["quality"] is True
    finally:
        proc.terminate()
        proc.wait(10)
    assert json.loads(log.read_text().splitlines()[0])["path"] == "/robots.txt"
    assert proc.stderr.read() == ""


# --- the quality site: documentation to keep, junk to drop ----------------------------------------

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


def test_plain_site_is_unchanged_by_the_quality_pages(site, manifest, quality_manifest, quality_site):
    assert manifest["quality"] is False
    assert {a["category"] for a in manifest["articles"]} & {"documentation", "junk"} == set()
    assert {a["expected"] for a in manifest["articles"] if a["kind"] not in ("thin", "spam")} == {"keep"}
    # The quality pages come on top: the plain site's pages are there with the same bodies.
    plain = {a["url_path"]: a for a in manifest["articles"]}
    extended = {a["url_path"]: a for a in quality_manifest["articles"]}
    assert set(plain) < set(extended)
    for path, entry in plain.items():
        assert extended[path]["kind"] == entry["kind"] and extended[path]["words"] == entry["words"]
        assert article_text_from_html(page_html(site, entry)) == article_text_from_html(
            page_html(quality_site, extended[path])
        )
    assert all(manifest["counts"][kind] == quality_manifest["counts"][kind] for kind in manifest["counts"])


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

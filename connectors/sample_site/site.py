"""``generate_site`` writes the whole site and its manifest; ``edit_page`` and ``delete_page`` change it later."""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from corpusforge.connectors.sample_site.pages import _assign_links, _build_pages, _plan
from corpusforge.connectors.sample_site.render import (
    _CSS,
    _iso,
    _listing_item,
    _listing_url,
    _minimal_pdf,
    _render_article,
    _render_simple,
    _rfc822,
    _sitemap_xml,
)
from corpusforge.connectors.sample_site.sources import _man_sources, _python_doc_root
from corpusforge.connectors.sample_site.text import (
    _SITE_FILES_MTIME,
    ARTICLE_BODY_END,
    BOILERPLATE_SENTENCES,
    DISALLOWED_PREFIX,
    FOREIGN_LANGUAGES,
    FOREIGN_SECTION,
    LISTING_PAGE_SIZE,
    MAN_ROOT,
    MANIFEST_NAME,
    MIN_PAGES,
    MISSING_PATHS,
    ORIGIN,
    REDIRECT_STATUS_NAME,
    REDIRECTS_NAME,
    SECTION_TITLES,
    SECTIONS,
    SITE_NAME,
    TAGLINE_SENTENCE,
    _blocks_words,
    _esc,
)


def generate_site(out_dir: Path, pages: int = 50, seed: int = 0) -> dict:
    """Write a deterministic sample site of ``pages`` content pages (plus listing pages) into ``out_dir``.

    ``out_dir`` must be empty or absent. Returns the manifest, which is also written to
    ``out_dir / "_manifest.json"``. Raises RuntimeError naming the Debian package to install when a
    text source is missing.

    The manifest: ``articles`` has one entry per content page, sorted by ``url_path``: ``path`` (file,
    relative to out_dir), ``url_path``, ``title``, ``language`` (en, de, fr, es), ``kind`` (article,
    near_duplicate, exact_duplicate, thin, spam, pii, foreign, private), ``original`` (url_path of the
    article a duplicate copies, else None), ``edit_rate`` and ``jaccard`` (word 5-gram Jaccard of the
    article bodies, see ``shingle_jaccard``; 0.0 and 1.0 for exact copies, None otherwise),
    ``known_sentence`` (a body sentence that extraction must keep), ``pii`` (list of {type, value}),
    ``author``, ``published``, ``section``, ``words`` and ``remixed``. Site-wide keys:
    ``boilerplate_sentences`` (on every page, never in a body), ``disallowed_prefix``, ``redirects``
    (path -> Location), ``redirect_status`` (path -> 301/302), ``redirect_loop``, ``missing_paths``
    (linked, answered 404), ``non_html`` (linked PDF and JSON), ``feed``, ``atom``, ``feed_items``,
    ``sitemap``, ``sitemap_index``, ``sitemap_extra``, ``robots``, ``site_pages`` (index, listings,
    about, privacy, private index), ``counts`` (pages per kind), ``deleted_paths`` and ``origin`` (the
    placeholder that SampleServer replaces with its own URL).
    """
    if pages < MIN_PAGES:
        raise ValueError(f"pages must be at least {MIN_PAGES}, got {pages}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; generate the sample site into an empty directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    for lang in FOREIGN_LANGUAGES:
        _man_sources(lang)  # fail early, with the install hint, before any work

    site_pages = _build_pages(pages, seed)
    rng = random.Random(f"links:{seed}")
    public = sorted((p for p in site_pages if p.kind != "private"), key=lambda p: p.url_path)
    newest = sorted(public, key=lambda p: (p.date, p.url_path), reverse=True)
    articles = sorted((p for p in public if p.kind == "article"), key=lambda p: p.url_path)
    old_targets = rng.sample(articles, 4)
    redirects: dict[str, str] = {}
    for target in old_targets[:3]:
        redirects[target.url_path.replace("/articles/", "/old/", 1)] = target.url_path
    chain_target = old_targets[3].url_path
    redirects[chain_target.replace("/articles/", "/old/", 1)] = chain_target
    redirects[chain_target.replace("/articles/", "/very-old/", 1)] = chain_target.replace("/articles/", "/old/", 1)
    redirects["/latest.html"] = newest[0].url_path
    redirects["/loop/a"] = "/loop/b"
    redirects["/loop/b"] = "/loop/a"
    redirect_status = {path: (302 if path == "/latest.html" else 301) for path in redirects}
    _assign_links(site_pages, rng, redirects)

    titles = {p.url_path: p.title for p in site_pages}
    made_dirs: set[Path] = set()

    def write(rel: str, data: bytes, stamp: float = _SITE_FILES_MTIME) -> None:
        target = out_dir / rel
        if target.parent not in made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(target.parent)
        target.write_bytes(data)
        os.utime(target, (stamp, stamp))  # Last-Modified of a page is its publication date

    # Article pages go to disk as they are rendered (memory stays flat); site files are written last.
    for page in site_pages:
        write(page.file_path, _render_article(page, titles).encode("utf-8"), page.date.timestamp())
    files: dict[str, bytes] = {}

    # Section listings, paginated; the index links every listing page: any article is two hops away.
    listing_paths: list[str] = []
    index_sections: list[str] = []
    for section in (*SECTIONS, FOREIGN_SECTION):
        members = sorted((p for p in public if p.section == section), key=lambda p: (p.date, p.url_path), reverse=True)
        chunks = [members[i : i + LISTING_PAGE_SIZE] for i in range(0, len(members), LISTING_PAGE_SIZE)]
        chunks = chunks or [[]]
        links = []
        for number, chunk in enumerate(chunks, start=1):
            url = _listing_url(section, number)
            listing_paths.append(url)
            links.append(f'<a href="{url}">{number}</a>')
            pager = " ".join(
                f'<a href="{_listing_url(section, n)}">{n}</a>' if n != number else f"<span>{n}</span>"
                for n in range(1, len(chunks) + 1)
            )
            prev_next = ""
            if number > 1:
                prev_next += f'<a rel="prev" href="{_listing_url(section, number - 1)}">Previous</a> '
            if number < len(chunks):
                prev_next += f'<a rel="next" href="{_listing_url(section, number + 1)}">Next</a>'
            body = (
                '<ul class="listing">\n'
                + "\n".join(_listing_item(p) for p in chunk)
                + f'\n</ul>\n<nav class="pager">{prev_next}<p>Pages: {pager}</p></nav>'
            )
            title = f"{SECTION_TITLES[section]} – page {number}"
            path = url.lstrip("/") + ("index.html" if url.endswith("/") else "")
            files[path] = _render_simple(url, title, body).encode("utf-8")
        index_sections.append(
            f'<section><h2><a href="{_listing_url(section, 1)}">{SECTION_TITLES[section]}</a></h2>'
            f'<p class="pages">Pages: {" ".join(links)}</p></section>'
        )

    private = sorted((p for p in site_pages if p.kind == "private"), key=lambda p: p.url_path)
    files["private/index.html"] = _render_simple(
        "/private/",
        "Staff area",
        "<p>Internal notes for the editorial team.</p>\n<ul>\n"
        + "\n".join(_listing_item(p) for p in private)
        + "\n</ul>",
    ).encode("utf-8")

    first_old = sorted(k for k in redirects if k.startswith("/old/"))[0]
    very_old = next(k for k in redirects if k.startswith("/very-old/"))
    index_body = (
        f"<p>{TAGLINE_SENTENCE}</p>\n<h2>Latest articles</h2>\n<ul>\n"
        + "\n".join(_listing_item(p) for p in newest[:10])
        + "\n</ul>\n<h2>Sections</h2>\n"
        + "\n".join(index_sections)
        + '\n<h2>Elsewhere</h2>\n<ul class="elsewhere">'
        + f'<li><a href="{first_old}">Our most read article (old address)</a></li>'
        + f'<li><a href="{very_old}">From the first version of this site</a></li>'
        + '<li><a href="/loop/a">A page that moved</a></li>'
        + f'<li><a href="{MISSING_PATHS[0]}">An article that was removed</a></li>'
        + '<li><a href="/files/report.pdf">Annual report (PDF)</a></li>'
        + '<li><a href="/data.json">Open data (JSON)</a></li>'
        + '<li><a href="/sitemap.xml">Sitemap</a></li></ul>'
    )
    files["index.html"] = _render_simple("/", SITE_NAME, index_body).encode("utf-8")
    files["about.html"] = _render_simple(
        "/about.html",
        "About us",
        "<p>The Corpusforge Sample Library is a demonstration site generated for testing web crawlers. "
        "It collects articles built from the Python documentation and from translated manual pages.</p>\n"
        '<p>Some addresses on this site have moved: <a href="/loop/a">the old team page</a> and '
        f'<a href="{first_old}">an archived article</a>.</p>',
    ).encode("utf-8")
    files["privacy.html"] = _render_simple(
        "/privacy.html",
        "Privacy policy",
        "<p>This site stores a cookie to remember whether you accepted cookies. "
        "No personal data is sold to third parties.</p>",
    ).encode("utf-8")

    files["robots.txt"] = (
        f"# robots.txt for {SITE_NAME}\n"
        "User-agent: *\n"
        f"Disallow: {DISALLOWED_PREFIX}\n"
        "Allow: /\n\n"
        "User-agent: BadBot\n"
        "Disallow: /\n\n"
        f"Sitemap: {ORIGIN}/sitemap_index.xml\n"
    ).encode()
    build_date = newest[0].date
    files["sitemap_index.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"  <sitemap><loc>{ORIGIN}/sitemap.xml</loc>"
        f"<lastmod>{build_date.date().isoformat()}</lastmod></sitemap>\n"
        f"  <sitemap><loc>{ORIGIN}/sitemap-extra.xml.gz</loc>"
        f"<lastmod>{build_date.date().isoformat()}</lastmod></sitemap>\n"
        "</sitemapindex>\n"
    ).encode()
    extra_urls = ["/", "/about.html", "/privacy.html", *listing_paths]
    extra_xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(f"  <url><loc>{ORIGIN}{u}</loc></url>" for u in extra_urls)
        + "\n</urlset>\n"
    )
    files["sitemap-extra.xml.gz"] = gzip.compress(extra_xml.encode("utf-8"), mtime=0)

    feed_pages = newest[:20]
    rss_items = "\n".join(
        "<item>"
        f"<title>{_esc(p.title)}</title><link>{ORIGIN}{p.url_path}</link>"
        f'<guid isPermaLink="true">{ORIGIN}{p.url_path}</guid>'
        f"<pubDate>{_rfc822(p.date)}</pubDate><description>{_esc(p.description)}</description>"
        "</item>"
        for p in feed_pages
    )
    files["feed.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{SITE_NAME}</title>\n<link>{ORIGIN}/</link>\n<description>{TAGLINE_SENTENCE}</description>\n"
        "<language>en</language>\n"
        f'<atom:link href="{ORIGIN}/feed.xml" rel="self" type="application/rss+xml"/>\n'
        f"<lastBuildDate>{_rfc822(build_date)}</lastBuildDate>\n{rss_items}\n</channel>\n</rss>\n"
    ).encode()
    atom_entries = "\n".join(
        "<entry>"
        f'<title>{_esc(p.title)}</title><link href="{ORIGIN}{p.url_path}"/>'
        f"<id>{ORIGIN}{p.url_path}</id><published>{_iso(p.date)}</published><updated>{_iso(p.date)}</updated>"
        f"<author><name>{_esc(p.author)}</name></author><summary>{_esc(p.description)}</summary>"
        "</entry>"
        for p in feed_pages
    )
    files["atom.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{SITE_NAME}</title>\n<id>{ORIGIN}/</id>\n<updated>{_iso(build_date)}</updated>\n"
        f'<link href="{ORIGIN}/atom.xml" rel="self"/>\n<link href="{ORIGIN}/"/>\n{atom_entries}\n</feed>\n'
    ).encode()
    files["files/report.pdf"] = _minimal_pdf()
    files["data.json"] = (
        json.dumps(
            {
                "site": SITE_NAME,
                "sections": [*SECTIONS, FOREIGN_SECTION],
                "articles": len(public),
                "languages": ["en", *FOREIGN_LANGUAGES],
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    ).encode("utf-8")
    files["static/site.css"] = _CSS.encode("utf-8")

    entries = []
    for page in sorted(site_pages, key=lambda p: p.url_path):
        entries.append(
            {
                "path": page.file_path,
                "url_path": page.url_path,
                "title": page.title,
                "language": page.language,
                "kind": page.kind,
                "original": page.original,
                "edit_rate": page.edit_rate,
                "jaccard": page.jaccard,
                "known_sentence": page.known_sentence,
                "author": page.author,
                "published": page.date.isoformat(),
                "section": page.section,
                "words": _blocks_words(page.blocks),
                "pii": page.pii,
                "remixed": page.source.startswith("remix:"),
            }
        )
    files["sitemap.xml"] = _sitemap_xml(entries).encode("utf-8")
    files[REDIRECTS_NAME] = (json.dumps(redirects, indent=2, sort_keys=True) + "\n").encode("utf-8")
    files[REDIRECT_STATUS_NAME] = (json.dumps(redirect_status, indent=2, sort_keys=True) + "\n").encode("utf-8")

    manifest = {
        "seed": seed,
        "pages": pages,
        "origin": ORIGIN,
        "articles": entries,
        "boilerplate_sentences": list(BOILERPLATE_SENTENCES),
        "disallowed_prefix": DISALLOWED_PREFIX,
        "redirects": redirects,
        "redirect_status": redirect_status,
        "redirect_loop": ["/loop/a", "/loop/b"],
        "missing_paths": list(MISSING_PATHS),
        "non_html": ["/data.json", "/files/report.pdf"],
        "feed": "/feed.xml",
        "atom": "/atom.xml",
        "feed_items": [p.url_path for p in feed_pages],
        "sitemap": "/sitemap.xml",
        "sitemap_index": "/sitemap_index.xml",
        "sitemap_extra": "/sitemap-extra.xml.gz",
        "robots": "/robots.txt",
        "site_pages": sorted(["/", "/about.html", "/privacy.html", "/private/", *listing_paths]),
        "counts": {kind: sum(1 for p in site_pages if p.kind == kind) for kind in sorted(_plan(pages))},
        "deleted_paths": [],
        "sources": {
            "python": ".".join(map(str, sys.version_info[:3])),
            "python_docs": str(_python_doc_root()),
            "man_root": str(MAN_ROOT),
        },
    }
    files[MANIFEST_NAME] = (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")

    for rel in sorted(files):
        write(rel, files[rel])
    return manifest


def load_manifest(out_dir: Path) -> dict:
    """The manifest that ``generate_site`` wrote (updated by ``edit_page`` and ``delete_page``)."""
    return json.loads((Path(out_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    target = Path(out_dir) / MANIFEST_NAME
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def _entry(manifest: dict, url_path: str) -> dict:
    for entry in manifest["articles"]:
        if entry["url_path"] == url_path:
            return entry
    raise KeyError(f"{url_path} is not a page of this sample site")


def _touch_later(path: Path, old_mtime: float) -> str:
    stamp = max(time.time(), old_mtime + 1.0)
    os.utime(path, (stamp, stamp))
    return datetime.fromtimestamp(stamp, tz=UTC).isoformat()


def edit_page(out_dir: Path, url_path: str, new_sentence: str) -> Path:
    """Append a paragraph to one page's article body, as a site would when it updates an article.

    The file's mtime moves forward (so Last-Modified and the ETag change), the sitemap's lastmod is
    updated, and the manifest entry gets ``appended`` (the new paragraphs) and ``modified``.
    """
    out_dir = Path(out_dir)
    manifest = load_manifest(out_dir)
    entry = _entry(manifest, url_path)
    path = out_dir / entry["path"]
    old_mtime = path.stat().st_mtime
    page = path.read_text(encoding="utf-8")
    marker = f"\n</div>{ARTICLE_BODY_END}"
    if marker not in page:
        raise ValueError(f"{url_path} has no article body to edit")
    page = page.replace(marker, f"\n<p>{_esc(new_sentence)}</p>{marker}", 1)
    path.write_text(page, encoding="utf-8")
    entry["modified"] = _touch_later(path, old_mtime)
    entry.setdefault("appended", []).append(new_sentence)
    (out_dir / "sitemap.xml").write_text(_sitemap_xml(manifest["articles"]), encoding="utf-8")
    _write_manifest(out_dir, manifest)
    return path


def delete_page(out_dir: Path, url_path: str) -> None:
    """Remove one page (the server then answers 404) and drop it from the sitemap."""
    out_dir = Path(out_dir)
    manifest = load_manifest(out_dir)
    entry = _entry(manifest, url_path)
    (out_dir / entry["path"]).unlink(missing_ok=True)
    entry["deleted"] = True
    if url_path not in manifest["deleted_paths"]:
        manifest["deleted_paths"].append(url_path)
    (out_dir / "sitemap.xml").write_text(_sitemap_xml(manifest["articles"]), encoding="utf-8")
    _write_manifest(out_dir, manifest)

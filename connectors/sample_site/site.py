"""``generate_site`` writes the whole site and its manifest; ``edit_page`` and ``delete_page`` change it later."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from corpusforge.connectors.sample_site.harvest_html import debian_reference_files
from corpusforge.connectors.sample_site.pages import _assign_links, _build_pages, _plan
from corpusforge.connectors.sample_site.quality import category_of, expected_of, quality_pages
from corpusforge.connectors.sample_site.render import (
    _render_page,
    _sitemap_xml,
)
from corpusforge.connectors.sample_site.site_files import crawler_files, home_files, listing_files
from corpusforge.connectors.sample_site.sources import _man_sources, _python_doc_root
from corpusforge.connectors.sample_site.text import (
    _SITE_FILES_MTIME,
    ARTICLE_BODY_END,
    BOILERPLATE_SENTENCES,
    DISALLOWED_PREFIX,
    DOCS_SECTION,
    FOREIGN_LANGUAGES,
    FOREIGN_SECTION,
    MAN_ROOT,
    MANIFEST_NAME,
    MIN_PAGES,
    MISSING_PATHS,
    ORIGIN,
    REDIRECT_STATUS_NAME,
    REDIRECTS_NAME,
    SECTIONS,
    _blocks_words,
    _esc,
    blocks_text,
)


def generate_site(out_dir: Path, pages: int = 50, seed: int = 0, quality: bool = False) -> dict:
    """Write a deterministic sample site of ``pages`` content pages (plus listing pages) into ``out_dir``.

    ``out_dir`` must be empty or absent. Returns the manifest, which is also written to
    ``out_dir / "_manifest.json"``. Raises RuntimeError naming the Debian package to install when a
    text source is missing.

    ``quality=True`` adds, on top of ``pages``, the pages the quality filters are judged on:
    documentation to keep (kinds ``reference``, ``api_reference``, ``changelog``, ``faq``; Chinese and
    Japanese ``reference`` pages from the Debian Reference) and junk to drop, at least one page per kind
    (``soft_404``, ``error_page``, ``consent_wall``, ``javascript_wall``, ``login_wall``, ``link_list``,
    ``directory``, ``tag_cloud``, ``lorem_ipsum``, ``filler``, ``keyword_stuffing``, ``gibberish``,
    ``price_list``, ``coming_soon``, ``repeated_line``; a few of them in Chinese or Japanese). Without it
    the site is the same, file for file, as before those kinds existed.

    The manifest: ``articles`` has one entry per content page, sorted by ``url_path``: ``path`` (file,
    relative to out_dir), ``url_path``, ``title``, ``language`` (en, de, fr, es; zh, ja with quality),
    ``kind`` (article, near_duplicate, exact_duplicate, thin, spam, pii, foreign, private, and the kinds
    above), ``expected`` ("keep" or "drop": what a user who points corpusforge at this documentation
    site wants; documentation and articles keep, junk, spam and thin pages drop; duplicates keep, since
    dedup and not the quality filters removes them and one copy stays), ``category`` ("documentation",
    "junk", "article", or for the other kinds the kind itself: near_duplicate, exact_duplicate, thin,
    spam, pii, foreign, private), ``original`` (url_path of the article a duplicate copies, else None),
    ``edit_rate`` and ``jaccard`` (word 5-gram Jaccard of the article bodies, see ``shingle_jaccard``;
    0.0 and 1.0 for exact copies, None otherwise), ``known_sentence`` (a body sentence that extraction
    must keep), ``pii`` (list of {type, value}), ``author``, ``published``, ``section``, ``words``
    (whitespace-separated), ``chars`` (characters of the body text: the size of a zh/ja page) and
    ``remixed``. Site-wide keys: ``boilerplate_sentences`` (on every page, never in a body),
    ``disallowed_prefix``, ``redirects`` (path -> Location), ``redirect_status`` (path -> 301/302),
    ``redirect_loop``, ``missing_paths`` (linked, answered 404), ``non_html`` (linked PDF and JSON),
    ``feed``, ``atom``, ``feed_items``, ``sitemap``, ``sitemap_index``, ``sitemap_extra``, ``robots``,
    ``site_pages`` (index, listings, about, privacy, private index), ``counts`` (pages per kind),
    ``quality``, ``deleted_paths`` and ``origin`` (the placeholder that SampleServer replaces with its
    own URL).
    """
    if pages < MIN_PAGES:
        raise ValueError(f"pages must be at least {MIN_PAGES}, got {pages}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; generate the sample site into an empty directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    for lang in FOREIGN_LANGUAGES:
        _man_sources(lang)  # fail early, with the install hint, before any work
    if quality:
        for lang in ("zh", "ja"):
            debian_reference_files(lang)

    site_pages = _build_pages(pages, seed)
    if quality:
        site_pages += quality_pages(seed, site_pages)
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
        write(page.file_path, _render_page(page, titles).encode("utf-8"), page.date.timestamp())
    files: dict[str, bytes] = {}

    sections = (*SECTIONS, FOREIGN_SECTION, *((DOCS_SECTION,) if quality else ()))
    languages = ("en", *FOREIGN_LANGUAGES, *(("zh", "ja") if quality else ()))
    files, listing_paths, index_sections = listing_files(public, sections)
    files.update(home_files(site_pages, newest, index_sections, redirects))
    crawl_files, feed_pages = crawler_files(public, newest, listing_paths, sections, languages)
    files.update(crawl_files)

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
                "expected": expected_of(page.kind),
                "category": category_of(page.kind),
                "chars": len(blocks_text(page.blocks)),
            }
        )
    files["sitemap.xml"] = _sitemap_xml(entries).encode("utf-8")
    files[REDIRECTS_NAME] = (json.dumps(redirects, indent=2, sort_keys=True) + "\n").encode("utf-8")
    files[REDIRECT_STATUS_NAME] = (json.dumps(redirect_status, indent=2, sort_keys=True) + "\n").encode("utf-8")

    kinds = {*_plan(pages), *(p.kind for p in site_pages)}
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
        "counts": {kind: sum(1 for p in site_pages if p.kind == kind) for kind in sorted(kinds)},
        "quality": quality,
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

"""Deterministic sample website for tests, the demo and benchmarks.

``generate_site(out_dir, pages, seed)`` writes a realistic static site: article pages wrapped in
boilerplate (navigation, header, sidebar, footer, cookie banner), listing pages, robots.txt, sitemaps,
RSS and Atom feeds, non-HTML files, redirects, and planted cases for every later stage: exact and near
duplicates, thin pages, spam, pages with PII, pages in German, French and Spanish, and pages under a
path that robots.txt disallows. ``_manifest.json`` records all of it; it is the ground truth that the
tests of the crawl, clean and dedup stages assert against.

Text is real prose, never lorem ipsum:

* English: the Python documentation sources (``/usr/share/doc/python3.X/html/_sources``, Debian
  package ``python3.X-doc``) and the docstrings of the standard library, read with ``ast`` from the
  library's source files (nothing is imported, so no module runs any code).
* German, French, Spanish: Debian's translated manual pages (``manpages-de``, ``manpages-fr``,
  ``manpages-es``), with roff macros and escapes stripped.

When a pool of natural articles runs out (beyond a few thousand pages), further articles are remixed
from sections of different sources. Each pass of the remix uses every section at most once, in a
freshly shuffled order, so two articles rarely share more than one section, and the word 5-gram
Jaccard of two unrelated articles stays far below any dedup threshold.

Same ``(pages, seed)`` on the same machine gives byte-identical files (and identical file mtimes).
Only the standard library is used, and lxml for the documentation pages of the quality site.

Absolute URLs (canonical links, sitemaps, feeds, robots.txt) use the placeholder origin ``ORIGIN``;
``SampleServer`` (``serve.py``) replaces it with its own ``http://host:port`` when serving.

Modules, by job: ``text`` (names, boilerplate, text helpers), ``prose``, ``harvest_rst``, ``harvest_man`` and
``sources`` (reading prose), ``pool`` (articles from it), ``plant`` (duplicates, PII, thin and spam pages),
``pages`` (which pages a site has), ``render`` (HTML templates), ``site`` and ``site_files`` (writing it all)
and ``serve`` (the HTTP server, ``python -m corpusforge.connectors.sample_site.serve [--quality]``). The quality
site (``generate_site(..., quality=True)``) adds documentation pages (``harvest_html``, ``docs``: Python's HTML
documentation, the Debian Reference in Chinese and Japanese) and junk pages (``junk``, ``junk_text``,
``junk_cjk``), each with the verdict a user wants in the manifest (``quality``).
"""

from __future__ import annotations

from corpusforge.connectors.sample_site.site import delete_page, edit_page, generate_site, load_manifest
from corpusforge.connectors.sample_site.text import (
    BOILERPLATE_SENTENCES,
    ORIGIN,
    REDIRECT_STATUS_NAME,
    REDIRECTS_NAME,
    article_text_from_html,
    blocks_text,
    shingle_jaccard,
    word_shingles,
)

__all__ = [
    "BOILERPLATE_SENTENCES",
    "ORIGIN",
    "REDIRECTS_NAME",
    "REDIRECT_STATUS_NAME",
    "SampleServer",
    "article_text_from_html",
    "blocks_text",
    "delete_page",
    "edit_page",
    "generate_site",
    "load_manifest",
    "shingle_jaccard",
    "word_shingles",
]


def __getattr__(name: str) -> object:
    # Imported on first use: ``python -m corpusforge.connectors.sample_site.serve`` must find the module
    # not yet imported by its package, or runpy warns.
    if name == "SampleServer":
        from corpusforge.connectors.sample_site.serve import SampleServer

        return SampleServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

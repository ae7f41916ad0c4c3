"""The site's own files around the content pages: section listings, the home, about, privacy and staff
pages, robots.txt, sitemaps, RSS and Atom feeds, and the non-HTML files a crawler must skip."""

from __future__ import annotations

import gzip
import json

from corpusforge.connectors.sample_site.pages import _Page
from corpusforge.connectors.sample_site.render import (
    _CSS,
    _iso,
    _listing_item,
    _listing_url,
    _minimal_pdf,
    _render_simple,
    _rfc822,
)
from corpusforge.connectors.sample_site.text import (
    DISALLOWED_PREFIX,
    LISTING_PAGE_SIZE,
    MISSING_PATHS,
    ORIGIN,
    SECTION_TITLES,
    SITE_NAME,
    TAGLINE_SENTENCE,
    _esc,
)


def listing_files(public: list[_Page], sections: tuple[str, ...]) -> tuple[dict[str, bytes], list[str], list[str]]:
    """Paginated section listings: (files, listing url paths, the index page's section entries)."""
    files: dict[str, bytes] = {}
    # Section listings, paginated; the index links every listing page: any article is two hops away.
    listing_paths: list[str] = []
    index_sections: list[str] = []
    for section in sections:
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
    return files, listing_paths, index_sections


def home_files(
    site_pages: list[_Page], newest: list[_Page], index_sections: list[str], redirects: dict[str, str]
) -> dict[str, bytes]:
    """The home page (it links every listing page: any article is two hops away), about, privacy, staff."""
    files: dict[str, bytes] = {}
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
    return files


def crawler_files(
    public: list[_Page],
    newest: list[_Page],
    listing_paths: list[str],
    sections: tuple[str, ...],
    languages: tuple[str, ...],
) -> dict[str, bytes]:
    """robots.txt, the sitemap index and the gzipped extra sitemap, the feeds, and the non-HTML files."""
    files: dict[str, bytes] = {}
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
                "sections": list(sections),
                "articles": len(public),
                "languages": list(languages),
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    ).encode("utf-8")
    files["static/site.css"] = _CSS.encode("utf-8")
    return files, feed_pages

"""HTML templates: the boilerplate around every page (head, cookie banner, header, navigation, footer), article
and simple pages, listings, and the sitemap."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from corpusforge.connectors.sample_site.pages import _Page
from corpusforge.connectors.sample_site.text import (
    ARTICLE_BODY_END,
    COOKIE_CONSENT_SENTENCE,
    COOKIE_SENTENCE,
    COPYRIGHT_SENTENCE,
    DISCLAIMER_SENTENCE,
    NEWSLETTER_SENTENCE,
    ORIGIN,
    SECTION_TITLES,
    SITE_NAME,
    TAGLINE_SENTENCE,
    Block,
    _attr,
    _esc,
)

_NAV_ITEMS = (
    ("/", "Home"),
    ("/section/guides/", "Guides"),
    ("/section/news/", "News"),
    ("/section/reference/", "Reference"),
    ("/section/international/", "International"),
    ("/latest.html", "Latest"),
    ("/about.html", "About"),
)


def _render_blocks(blocks: tuple[Block, ...]) -> str:
    out: list[str] = []
    for kind, value in blocks:
        if kind == "html":
            out.append(value[0])
        elif kind in ("h2", "h3", "p"):
            out.append(f"<{kind}>{_esc(value)}</{kind}>")
        elif kind == "ul":
            out.append("<ul>\n" + "\n".join(f"<li>{_esc(item)}</li>" for item in value) + "\n</ul>")
        elif kind == "table":
            header, rows = value
            head = "".join(f"<th>{_esc(cell)}</th>" for cell in header)
            body = "\n".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>")
        elif kind == "links":
            out.append(
                '<ul class="links">\n'
                + "\n".join(f'<li><a href="{_attr(href)}">{_esc(text)}</a></li>' for href, text in value)
                + "\n</ul>"
            )
    return "\n".join(out)


def _nav(rotation: int) -> str:
    items = list(_NAV_ITEMS)
    if rotation:
        items = items[rotation % len(items) :] + items[: rotation % len(items)]
    links = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in items)
    return f'<nav class="main-nav" aria-label="Main"><ul>{links}</ul></nav>'


def _head(lang: str, title: str, description: str, canonical: str, extra: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)} | {SITE_NAME}</title>\n"
        f'<meta name="description" content="{_attr(description)}">\n'
        f"{extra}"
        f'<link rel="canonical" href="{ORIGIN}{canonical}">\n'
        f'<link rel="alternate" type="application/rss+xml" title="{SITE_NAME}" href="/feed.xml">\n'
        f'<link rel="alternate" type="application/atom+xml" title="{SITE_NAME}" href="/atom.xml">\n'
        '<link rel="stylesheet" href="/static/site.css">\n'
        "<script>window.dataLayer = window.dataLayer || [];\n"
        "window.dataLayer.push({event: 'pageview'});</script>\n"
        "</head>\n"
    )


def _top(rotation: int) -> str:
    return (
        '<body>\n<div id="cookie-banner" class="cookie-banner" role="dialog">'
        f"<p>{COOKIE_SENTENCE} {COOKIE_CONSENT_SENTENCE}</p>"
        '<button type="button">Accept all</button> <a href="/privacy.html">Privacy policy</a></div>\n'
        f'<header class="site-header"><a class="logo" href="/">{SITE_NAME}</a>'
        f'<p class="tagline">{TAGLINE_SENTENCE}</p>'
        '<form class="search" action="/search" method="get"><input type="search" name="q" '
        'placeholder="Search"></form></header>\n'
        f"{_nav(rotation)}\n"
    )


def _footer() -> str:
    return (
        '<footer class="site-footer">\n'
        f"<p>{COPYRIGHT_SENTENCE}</p>\n<p>{DISCLAIMER_SENTENCE}</p>\n"
        '<ul class="footer-links"><li><a href="/about.html">About us</a></li>'
        '<li><a href="/privacy.html">Privacy policy</a></li>'
        '<li><a href="/files/report.pdf">Annual report (PDF)</a></li>'
        '<li><a href="/data.json">Open data (JSON)</a></li>'
        '<li><a href="/feed.xml">RSS feed</a></li>'
        '<li><a href="/private/">Staff area</a></li></ul>\n'
        "</footer>\n</body>\n</html>\n"
    )


def _render_article(page: _Page, titles: dict[str, str]) -> str:
    meta = f'<meta name="author" content="{_attr(page.author)}">\n'
    meta += f'<meta property="og:title" content="{_attr(page.title)}">\n'
    meta += '<meta property="og:type" content="article">\n'
    crumb_href = "/private/" if page.kind == "private" else f"/section/{page.section}/"
    crumb_title = "Staff area" if page.kind == "private" else SECTION_TITLES[page.section]
    related = "\n".join(f'<li><a href="{href}">{_esc(titles[href])}</a></li>' for href in page.related)
    further = ""
    if page.extra_links:
        further = (
            '<section class="further"><h2>Further reading</h2><ul>'
            + "".join(f'<li><a href="{href}">{_esc(text)}</a></li>' for href, text in page.extra_links)
            + "</ul></section>\n"
        )
    date_text = f"{page.date.day} {page.date.strftime('%B %Y')}"
    return (
        _head(page.language, page.title, page.description, page.url_path, meta)
        + _top(page.nav_rotation)
        + f'<div class="breadcrumbs"><a href="/">Home</a> › <a href="{crumb_href}">{crumb_title}</a></div>\n'
        + "<main>\n<article>\n"
        + f"<h1>{_esc(page.title)}</h1>\n"
        + f'<p class="byline">By <span class="author">{_esc(page.author)}</span>, '
        + f'<time datetime="{page.date.isoformat()}">{date_text}</time></p>\n'
        + '<div class="article-body">\n'
        + _render_blocks(page.blocks)
        + f"\n</div>{ARTICLE_BODY_END}\n</article>\n"
        + '<aside class="sidebar">\n<section class="related"><h2>Related articles</h2><ul>\n'
        + related
        + "\n</ul></section>\n"
        + further
        + f'<section class="newsletter"><h2>Newsletter</h2><p>{NEWSLETTER_SENTENCE}</p></section>\n'
        + "</aside>\n</main>\n"
        + _footer()
    )


def _render_plain(page: _Page) -> str:
    """A junk page: the site's template (head, banner, header, navigation, footer) around its body."""
    crumb = SECTION_TITLES.get(page.section, "Home")
    return (
        _head(page.language, page.title, f"{page.title} – {SITE_NAME}", page.url_path)
        + _top(page.nav_rotation)
        + f'<div class="breadcrumbs"><a href="/">Home</a> › <a href="/section/{page.section}/">{crumb}</a></div>\n'
        + f'<main>\n<div class="content">\n<h1>{_esc(page.title)}</h1>\n'
        + _render_blocks(page.blocks)
        + "\n</div>\n</main>\n"
        + _footer()
    )


def _render_page(page: _Page, titles: dict[str, str]) -> str:
    return _render_plain(page) if page.layout == "plain" else _render_article(page, titles)


def _render_simple(url_path: str, title: str, body: str, lang: str = "en") -> str:
    return (
        _head(lang, title, f"{title} – {SITE_NAME}", url_path)
        + _top(0)
        + f'<main>\n<div class="content">\n<h1>{_esc(title)}</h1>\n{body}\n</div>\n</main>\n'
        + _footer()
    )


def _listing_item(page: _Page) -> str:
    return (
        f'<li><a href="{page.url_path}">{_esc(page.title)}</a> '
        f'<time datetime="{page.date.isoformat()}">{page.date.date().isoformat()}</time></li>'
    )


def _listing_url(section: str, number: int) -> str:
    return f"/section/{section}/" if number == 1 else f"/section/{section}/page-{number}.html"


def _rfc822(dt: datetime) -> str:
    return format_datetime(dt)


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _sitemap_xml(entries: list[dict]) -> str:
    rows = [
        f"  <url><loc>{ORIGIN}{e['url_path']}</loc><lastmod>{(e.get('modified') or e['published'])[:10]}"
        "</lastmod></url>"
        for e in sorted(entries, key=lambda e: e["url_path"])
        if e["kind"] != "private" and not e.get("deleted")
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + "\n".join(rows) + "\n</urlset>\n"
    )


def _minimal_pdf() -> bytes:
    text = b"BT /F1 18 Tf 72 720 Td (Corpusforge Sample Library - Annual report 2024) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_CSS = """body { font-family: sans-serif; margin: 0 auto; max-width: 72rem; }
.cookie-banner { position: fixed; bottom: 0; background: #222; color: #fff; padding: 1rem; }
.main-nav ul { display: flex; gap: 1rem; list-style: none; }
main { display: grid; grid-template-columns: 3fr 1fr; gap: 2rem; }
.site-footer { border-top: 1px solid #ccc; font-size: 0.9rem; }
"""

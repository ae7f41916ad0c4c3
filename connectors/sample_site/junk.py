"""Junk pages of the quality site, the pages a user wants DROPPED, one or more per kind.

Each is what real sites serve with a 200: soft 404s and error pages, consent, JavaScript and login
walls, link lists, directories and tag clouds, lorem ipsum, filler and keyword-stuffed prose,
gibberish (real words in random order), price lists, "coming soon" stubs and pages of one repeated
line. The site template (navigation, header, footer, cookie banner) goes around each, as it would.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass

from corpusforge.connectors.sample_site.junk_text import (
    CONSENT_PARAGRAPHS,
    CONSENT_PURPOSES,
    FILLER_SENTENCES,
    LOREM_WORDS,
    PRICE_PRODUCTS,
    STUFFING_SENTENCES,
    TRACEBACK,
)

JUNK_KINDS = (
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


@dataclass(frozen=True)
class JunkDraft:
    kind: str
    language: str
    title: str
    html: str
    prefix: str
    slug: str = ""


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _links(links: list[tuple[str, str]]) -> str:
    return "\n".join(f'<li><a href="{html.escape(href)}">{_esc(text)}</a></li>' for href, text in links)


def _paragraphs(paragraphs: list[str]) -> str:
    return "\n".join(f"<p>{_esc(p)}</p>" for p in paragraphs)


def _soft_404(rng: random.Random, links: list[tuple[str, str]]) -> JunkDraft:
    body = (
        "<h2>Sorry, we couldn't find that page</h2>\n"
        "<p>The page you are looking for might have been removed, had its name changed, "
        "or is temporarily unavailable.</p>\n"
        "<p>Please check the address for typing errors, or search the library below.</p>\n"
        '<form class="search" action="/search" method="get"><label>Search the library '
        '<input type="search" name="q"></label> <button type="submit">Search</button></form>\n'
        f'<h2>Popular pages</h2>\n<ul class="popular">\n{_links(rng.sample(links, 8))}\n</ul>\n'
        '<p><a href="/">Return to the homepage</a></p>'
    )
    return JunkDraft("soft_404", "en", "Page not found", body, "/articles/", "migrating-to-the-new-configuration-api")


def _error_page(rng: random.Random) -> JunkDraft:
    request_id = f"{rng.getrandbits(128):032x}"
    body = (
        "<h2>500 – Internal Server Error</h2>\n"
        "<p>Something went wrong on our end. Our engineers have been notified and are working on it.</p>\n"
        f'<p class="request-id">Request ID: {request_id}</p>\n'
        f"<details open><summary>Technical details</summary>\n<pre>{_esc(TRACEBACK)}</pre>\n</details>\n"
        '<p>Try again in a few minutes, or <a href="/">go back to the homepage</a>.</p>'
    )
    return JunkDraft("error_page", "en", "Internal Server Error", body, "/reports/", "weekly-summary")


def _consent_wall(rng: random.Random) -> JunkDraft:
    partners = rng.randint(600, 900)
    purposes = "\n".join(f"<li>{_esc(p)}</li>" for p in CONSENT_PURPOSES)
    body = (
        "<h2>We value your privacy</h2>\n"
        + _paragraphs([p.format(partners=partners) for p in CONSENT_PARAGRAPHS])
        + f"\n<h3>We and our {partners} partners process data for these purposes</h3>\n<ul>\n{purposes}\n</ul>\n"
        '<div class="consent-buttons"><button type="button">Accept all</button> '
        '<button type="button">Reject all</button> <button type="button">Manage options</button></div>'
    )
    return JunkDraft("consent_wall", "en", "Before you continue", body, "/guides/", "getting-started-with-the-console")


def _javascript_wall(rng: random.Random) -> JunkDraft:
    bundle = f"{rng.getrandbits(32):08x}"
    body = (
        "<noscript><p>You need to enable JavaScript to run this app.</p></noscript>\n"
        '<div id="root"><div class="spinner" aria-label="Loading"></div></div>\n'
        "<h2>Please enable JavaScript</h2>\n"
        "<p>This page requires JavaScript to display its content. JavaScript is disabled or blocked in "
        "your browser.</p>\n"
        "<h3>How to enable JavaScript</h3>\n<ul>\n"
        "<li>Chrome: Settings › Privacy and security › Site settings › JavaScript › Allowed</li>\n"
        "<li>Firefox: type about:config, search for javascript.enabled and set it to true</li>\n"
        "<li>Safari: Preferences › Security › Enable JavaScript</li>\n"
        "<li>Edge: Settings › Cookies and site permissions › JavaScript › Allowed</li>\n</ul>\n"
        "<p>Then reload this page.</p>\n"
        f'<script src="/static/js/main.{bundle}.js" defer></script>'
    )
    return JunkDraft("javascript_wall", "en", "Dashboard", body, "/app/", "dashboard")


def _login_wall(rng: random.Random) -> JunkDraft:
    body = (
        "<h2>Sign in to continue reading</h2>\n"
        "<p>This article is available to members only. Sign in with your account, or create one for free.</p>\n"
        '<form class="login" action="/login" method="post">\n'
        '<label>Email address <input type="email" name="email" autocomplete="username"></label>\n'
        '<label>Password <input type="password" name="password" autocomplete="current-password"></label>\n'
        '<label><input type="checkbox" name="remember"> Keep me signed in</label>\n'
        '<button type="submit">Sign in</button>\n</form>\n'
        '<p><a href="/login/forgot">Forgot your password?</a></p>\n'
        "<h3>Not a member yet?</h3>\n<ul>\n<li>Unlimited access to every guide</li>\n"
        "<li>Weekly newsletter</li>\n<li>Download code samples</li>\n</ul>\n"
        '<p><a href="/register">Create a free account</a></p>'
    )
    return JunkDraft("login_wall", "en", "Advanced configuration (members only)", body, "/members/", "advanced-setup")


def _link_list(rng: random.Random, links: list[tuple[str, str]]) -> JunkDraft:
    external = [
        (f"https://{host}/", label)
        for host, label in (
            ("docs.python.org", "Python documentation"),
            ("pypi.org", "Python Package Index"),
            ("www.debian.org", "Debian"),
            ("developer.mozilla.org", "MDN Web Docs"),
            ("www.w3.org", "World Wide Web Consortium"),
            ("github.com", "GitHub"),
            ("stackoverflow.com", "Stack Overflow"),
            ("en.wikipedia.org", "Wikipedia"),
        )
    ]
    # A link farm: links out to other sites, most of them made-up partner hosts. (A list of the
    # site's own pages is its navigation, which the filters keep for RAG: see processing/junk.py.)
    farm = [
        (f"https://{_slug(title)}-{n}.example/", title)
        for n, (_, title) in enumerate(rng.sample(links, min(len(links), 40)))
    ]
    chosen = farm[: max(0, 40 - len(external))] + external
    rng.shuffle(chosen)
    body = f'<p>Links we like.</p>\n<ul class="link-list">\n{_links(chosen)}\n</ul>'
    return JunkDraft("link_list", "en", "Useful links", body, "/resources/", "links")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]


def _directory(links: list[tuple[str, str]]) -> JunkDraft:
    # A web directory: other sites filed A to Z (the site's own A-Z index would be navigation).
    listed = [(f"https://www.{_slug(title)}.example/", title) for _, title in links]
    by_letter: dict[str, list[tuple[str, str]]] = {}
    for href, title in sorted(listed, key=lambda link: link[1].lower()):
        letter = title[:1].upper()
        by_letter.setdefault(letter if letter.isalpha() else "#", []).append((href, title))
    letters = " ".join(f'<a href="#letter-{c}">{c}</a>' for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    parts = [f'<p class="letters">{letters}</p>']
    for letter in sorted(by_letter):
        parts.append(f'<h2 id="letter-{letter}">{letter}</h2>\n<ul>\n{_links(by_letter[letter][:8])}\n</ul>')
    return JunkDraft("directory", "en", "Web directory A–Z", "\n".join(parts), "/directory/", "a-z")


def _tag_cloud(rng: random.Random, links: list[tuple[str, str]], vocabulary: list[str]) -> JunkDraft:
    tags = sorted({w.lower() for w in vocabulary if len(w) > 4 and w.isalpha()})
    tags = rng.sample(tags, min(90, len(tags)))
    cloud = " ".join(
        f'<a class="tag tag-{rng.randint(1, 6)}" href="{html.escape(rng.choice(links)[0])}">{_esc(tag)}</a>'
        f" <span>({rng.randint(1, 120)})</span>"
        for tag in sorted(tags)
    )
    body = f'<div class="tag-cloud">\n{cloud}\n</div>'
    return JunkDraft("tag_cloud", "en", "Tags", body, "/tags/", "all")


def _lorem_ipsum(rng: random.Random) -> JunkDraft:
    def sentence() -> str:
        words = [rng.choice(LOREM_WORDS) for _ in range(rng.randint(8, 18))]
        return " ".join(words).capitalize() + "."

    paragraphs = ["Lorem ipsum dolor sit amet, consectetur adipiscing elit. " + " ".join(sentence() for _ in range(5))]
    paragraphs += [" ".join(sentence() for _ in range(rng.randint(4, 7))) for _ in range(4)]
    body = "<h2>Lorem ipsum dolor sit amet</h2>\n" + _paragraphs(paragraphs[:3])
    body += "\n<h2>Consectetur adipiscing</h2>\n" + _paragraphs(paragraphs[3:])
    return JunkDraft("lorem_ipsum", "en", "New post template", body, "/blog/", "new-post-template")


def _filler(rng: random.Random) -> JunkDraft:
    topic = "documentation"
    sentences = [s.format(topic=topic) for s in FILLER_SENTENCES]
    rng.shuffle(sentences)
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    body = "<h2>Why it matters</h2>\n" + _paragraphs(paragraphs[:3])
    body += "\n<h2>The bottom line</h2>\n" + _paragraphs(paragraphs[3:])
    title = "Why quality documentation matters more than ever"
    return JunkDraft("filler", "en", title, body, "/blog/", "why-quality-documentation-matters")


def _keyword_stuffing(rng: random.Random) -> JunkDraft:
    sentences = list(STUFFING_SENTENCES)
    rng.shuffle(sentences)
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    body = "<h2>Best Python tutorial online</h2>\n" + _paragraphs(paragraphs)
    title = "Best Python tutorial online – free Python tutorial for beginners"
    return JunkDraft("keyword_stuffing", "en", title, body, "/blog/", "best-python-tutorial-online")


def gibberish_sentences(words: list[str], rng: random.Random, count: int) -> list[str]:
    """``count`` words of real prose in random order, cut into capitalised sentences that end in a period."""
    chosen = [rng.choice(words) for _ in range(count)]
    sentences, i = [], 0
    while i < len(chosen):
        n = rng.randint(7, 18)
        sentences.append(" ".join(chosen[i : i + n]).capitalize() + ".")
        i += n
    return sentences


def _gibberish(rng: random.Random, vocabulary: list[str]) -> JunkDraft:
    sentences = gibberish_sentences(vocabulary, rng, rng.randint(320, 420))
    paragraphs = [" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)]
    heading = " ".join(rng.choice(vocabulary) for _ in range(4)).capitalize()
    body = f"<h2>{_esc(heading)}</h2>\n" + _paragraphs(paragraphs)
    title = " ".join(rng.choice(vocabulary) for _ in range(5)).capitalize()
    return JunkDraft("gibberish", "en", title, body, "/blog/", "")


def _price_list(rng: random.Random) -> JunkDraft:
    rows = []
    for index, (product, base) in enumerate(PRICE_PRODUCTS):
        sku = f"CF-{1000 + index * 7}"
        price = base * rng.choice((0.9, 1.0, 1.1, 1.25))
        stock = rng.choice(("In stock", "In stock", "2–3 days", "Sold out"))
        cells = "\n".join(f"<td>{cell}</td>" for cell in (_esc(product), sku, f"€{price:.2f}", stock))
        rows.append(f"<tr>\n{cells}\n</tr>")
    body = (
        '<table class="prices">\n<thead><tr>\n<th>Product</th>\n<th>SKU</th>\n<th>Price</th>\n<th>Availability</th>\n'
        "</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n<p>Prices incl. VAT.</p>"
    )
    return JunkDraft("price_list", "en", "Price list 2024", body, "/shop/", "prices")


def _coming_soon(rng: random.Random) -> JunkDraft:
    body = (
        "<h2>Something new is on the way</h2>\n<p>Our new developer portal launches soon. Stay tuned!</p>\n"
        '<form class="notify" action="/notify" method="post"><input type="email" name="email" '
        'placeholder="Your email"> <button type="submit">Notify me</button></form>'
    )
    return JunkDraft("coming_soon", "en", "Coming soon", body, "/labs/", "developer-portal")


def _repeated_line(rng: random.Random) -> JunkDraft:
    line = "<p>Status: all systems operational. No incidents reported.</p>"
    body = "<h2>Status history</h2>\n" + "\n".join([line] * rng.randint(60, 90))
    return JunkDraft("repeated_line", "en", "Service status", body, "/status/", "history")


def english_vocabulary(text: str) -> list[str]:
    """The words of real prose, lowercased, in their order and with their frequencies."""
    return [w.lower() for w in re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text) if len(w) > 1 or w in "aI"]


def junk_drafts(seed: int, vocabulary: list[str], links: list[tuple[str, str]]) -> list[JunkDraft]:
    """One English page of each junk kind; ``links`` are (url_path, title) of the site's real pages."""
    rng = random.Random(f"junk:{seed}")
    return [
        _soft_404(rng, links),
        _error_page(rng),
        _consent_wall(rng),
        _javascript_wall(rng),
        _login_wall(rng),
        _link_list(rng, links),
        _directory(links),
        _tag_cloud(rng, links, vocabulary),
        _lorem_ipsum(rng),
        _filler(rng),
        _keyword_stuffing(rng),
        _gibberish(rng, vocabulary),
        _price_list(rng),
        _coming_soon(rng),
        _repeated_line(rng),
    ]

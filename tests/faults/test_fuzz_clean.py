"""Issue 15.7: random and mutated pages fed to the clean step: it returns a document row (kept,
dropped with reasons, or failed with a reason code), never raises and never hangs."""

from __future__ import annotations

import signal
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpusforge.processing.clean import CleanConfig, clean_page
from corpusforge.processing.quality import merge_thresholds
from tests.clean.pages import page_row

CONFIGS = {p: CleanConfig(thresholds=merge_thresholds(p), profile=p) for p in ("domain", "web")}
VERSION = CONFIGS["domain"].pipeline_version()
HANG_SECONDS = 30  # one page far beyond anything legitimate (the stage's own limit is 10 s)

SEED_PAGE = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Reading files</title></head><body>"
    b"<nav><a href='/'>Home</a> | <a href='/docs'>Docs</a></nav><article><h1>Reading files line by line</h1>"
    b"<p>Open the file with a context manager, then iterate over it: each iteration gives one line, with its "
    b"newline at the end. This keeps memory flat even for very large files.</p><pre><code>with open(p) as fh:\n"
    b"    for line in fh:\n        print(line)</code></pre><ul><li>one</li><li>two</li></ul>"
    b"<table><tr><td>a</td><td>b</td></tr></table><p>Written by Ada &amp; Bob. Mail ada@example.org.</p>"
    b"</article><footer>&copy; 2026</footer></body></html>"
)

TAGS = ["p", "div", "h1", "h2", "pre", "code", "table", "tr", "td", "ul", "li", "a", "script", "style", "svg", "math",
        "template", "noscript", "iframe", "title", "meta", "br", "img", "form", "textarea", "html", "body"]  # fmt: skip
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@st.composite
def html_trees(draw, depth: int = 0) -> str:
    """Random, often malformed, markup: unclosed and misnested tags, odd attributes, any text."""
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["text", "tag", "close", "entity", "comment"] if depth < 4 else ["text"]))
        if kind == "text":
            parts.append(draw(texts))
        elif kind == "tag":
            tag = draw(st.sampled_from(TAGS))
            attrs = draw(st.sampled_from(["", " class='x'", ' href="javascript:x"', " lang=zh", " charset=utf-16"]))
            parts.append(f"<{tag}{attrs}>{draw(html_trees(depth + 1))}" + ("" if draw(st.booleans()) else f"</{tag}>"))
        elif kind == "close":
            parts.append(f"</{draw(st.sampled_from(TAGS))}>")
        elif kind == "entity":
            parts.append(draw(st.sampled_from(["&amp;", "&#0;", "&#x110000;", "&nbsp;", "&bogus;", "&#55296;"])))
        else:
            parts.append("<!-- " + draw(texts) + (" -->" if draw(st.booleans()) else ""))
    return "".join(parts)


@st.composite
def mutated_pages(draw) -> bytes:
    """The seed page with bytes flipped, cut, repeated or spliced in."""
    body = bytearray(SEED_PAGE)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        at = draw(st.integers(0, max(0, len(body) - 1)))
        if op == "flip" and body:
            body[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del body[at : at + draw(st.integers(1, 200))]
        elif op == "insert":
            body[at:at] = draw(st.binary(max_size=64))
        else:
            body[at:at] = bytes(body[at : at + 40]) * draw(st.integers(2, 50))
    return bytes(body)


bodies = st.one_of(
    st.binary(max_size=2000),
    html_trees().map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.tuples(html_trees(), st.sampled_from(["utf-8", "utf-16", "latin-1", "shift_jis", "cp1252"])).map(
        lambda t: t[0].encode(t[1], "replace")
    ),
    mutated_pages(),
)
content_types = st.sampled_from([None, "text/html", "text/html; charset=utf-16", "text/html; charset=bogus",
                                 "application/xhtml+xml", "text/plain"])  # fmt: skip


@contextmanager
def must_finish(seconds: int):
    def hung(signum, frame):
        raise AssertionError(f"clean_page ran for more than {seconds}s on one page")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_document(doc: dict, page: dict) -> None:
    assert doc["page_id"] == page["page_id"]
    if doc["error"]:  # failed: a stable reason code, not a traceback
        assert doc["kept"] is False and doc["drop_reasons"] and doc["error"].startswith(doc["drop_reasons"][0])
    else:
        assert isinstance(doc["text"], str) and isinstance(doc["kept"], bool)
        assert doc["kept"] or doc["drop_reasons"]  # a dropped document says why


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          derandomize=True)  # fmt: skip
@given(body=bodies, content_type=content_types, profile=st.sampled_from(sorted(CONFIGS)))
def test_clean_page_returns_a_document_or_a_reason_for_any_page(body, content_type, profile):
    page = page_row("http://fuzz.test/page.html", body, content_type)
    with must_finish(HANG_SECONDS):
        doc = clean_page(page, CONFIGS[profile], VERSION)
    check_document(doc, page)

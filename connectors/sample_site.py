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
Only the standard library is used.

Absolute URLs (canonical links, sitemaps, feeds, robots.txt) use the placeholder origin ``ORIGIN``;
``connectors.sample_server.SampleServer`` replaces it with its own ``http://host:port`` when serving.
"""

from __future__ import annotations

import ast
import gzip
import html
import json
import os
import random
import re
import sys
import sysconfig
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

__all__ = [
    "BOILERPLATE_SENTENCES",
    "ORIGIN",
    "article_text_from_html",
    "blocks_text",
    "delete_page",
    "edit_page",
    "generate_site",
    "load_manifest",
    "shingle_jaccard",
    "word_shingles",
]

SITE_NAME = "Corpusforge Sample Library"
ORIGIN = "http://sample.corpusforge.invalid"
MANIFEST_NAME = "_manifest.json"
REDIRECTS_NAME = "_redirects.json"
REDIRECT_STATUS_NAME = "_redirect_status.json"
DISALLOWED_PREFIX = "/private/"
MAN_ROOT = Path("/usr/share/man")
FOREIGN_LANGUAGES = ("de", "fr", "es")
MIN_PAGES = 30
MIN_ARTICLE_WORDS = 150
MAX_ARTICLE_WORDS = 1500
LISTING_PAGE_SIZE = 40
SECTIONS = ("guides", "news", "reference")
FOREIGN_SECTION = "international"
SECTION_TITLES = {
    "guides": "Guides",
    "news": "News",
    "reference": "Reference",
    "international": "International",
}
ARTICLE_BODY_END = "<!-- end article-body -->"

# Fixed boilerplate: appears on every HTML page, never inside an article body.
COOKIE_SENTENCE = "We use cookies to improve your experience on our site and to show you relevant content."
COOKIE_CONSENT_SENTENCE = "By continuing to browse this site you agree to our use of cookies."
COPYRIGHT_SENTENCE = "Copyright 2024 Corpusforge Sample Library. All rights reserved."
DISCLAIMER_SENTENCE = "Content on this site is provided as is, without warranty of any kind."
NEWSLETTER_SENTENCE = (
    "Subscribe to our newsletter and never miss an article about Python and open source software."
)
TAGLINE_SENTENCE = "Articles, guides and notes for curious readers of technical documentation."
BOILERPLATE_SENTENCES = (
    COOKIE_SENTENCE,
    COOKIE_CONSENT_SENTENCE,
    COPYRIGHT_SENTENCE,
    DISCLAIMER_SENTENCE,
    NEWSLETTER_SENTENCE,
    TAGLINE_SENTENCE,
)

AUTHORS = (
    "Ada Fischer",
    "Bruno Martins",
    "Chiara Rossi",
    "Daniel Okafor",
    "Elena Petrova",
    "Farid Haddad",
    "Grace Liu",
    "Hannah Schmidt",
    "Ines Garcia",
    "Jonas Berg",
    "Keiko Tanaka",
    "Louis Moreau",
)

# Missing pages that some pages link to (the server answers 404).
MISSING_PATHS = (
    "/articles/this-article-was-removed.html",
    "/missing/old-newsletter.html",
    "/section/archive/",
)

_BASE_DATE = datetime(2019, 1, 1, tzinfo=UTC)
_DATE_SPAN_S = 5 * 365 * 24 * 3600
_SITE_FILES_MTIME = datetime(2024, 6, 1, tzinfo=UTC).timestamp()


# --------------------------------------------------------------------------------------------------
# Text helpers shared with the tests of other stages
# --------------------------------------------------------------------------------------------------

Block = tuple  # ("h2"|"h3"|"p", str) | ("ul", tuple[str, ...]) | ("table", (header, rows)) | ("links", ...)


def blocks_text(blocks: list[Block] | tuple[Block, ...]) -> str:
    """Plain text of an article body: one line per heading, paragraph, list item or table cell."""
    parts: list[str] = []
    for kind, value in blocks:
        if kind == "ul":
            parts.extend(value)
        elif kind == "table":
            header, rows = value
            parts.extend(header)
            for row in rows:
                parts.extend(row)
        elif kind == "links":
            parts.extend(text for _, text in value)
        else:
            parts.append(value)
    return "\n".join(parts)


def word_shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of ``text``, lowercased and split on whitespace."""
    words = text.lower().split()
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def shingle_jaccard(a: str, b: str, n: int = 5) -> float:
    """Jaccard similarity of the word n-gram sets of two texts (the measure the manifest records)."""
    sa, sb = word_shingles(a, n), word_shingles(b, n)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


class _ArticleBodyText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            if tag == "div":
                self.depth += 1
        elif tag == "div" and ("class", "article-body") in attrs:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "div":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and data.strip():
            self.parts.append(data.strip())


def article_text_from_html(page_html: str) -> str:
    """The article body text of a generated page (what ``blocks_text`` gave for it), from its HTML."""
    parser = _ArticleBodyText()
    parser.feed(page_html)
    parser.close()
    return "\n".join(parser.parts)


def _words(text: str) -> int:
    return len(text.split())


def _blocks_words(blocks: list[Block] | tuple[Block, ...]) -> int:
    return _words(blocks_text(blocks))


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜÀÂÉÈÊÎÔÛÇÁÍÓÚÑ¿¡\"“«])")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def _slugify(text: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug or "page"


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


# --------------------------------------------------------------------------------------------------
# Prose filters
# --------------------------------------------------------------------------------------------------

_STOPWORDS = {
    "en": frozenset(
        "the and of to is in that it for with this are be as on by an or not from can if".split()
    ),
    "de": frozenset(
        "der die und das ist nicht den mit von zu ein eine wird werden für auf im sie es dem des oder "
        "wenn kann sich auch bei einer eines wie nur".split()
    ),
    "fr": frozenset(
        "le la les et est des une un du pour dans que qui sur par pas ne au avec sont ce cette être peut "
        "ou si il se aux".split()
    ),
    "es": frozenset(
        "el la los las y es de que en un una del por para con se no al lo como si su puede son este "
        "esta o".split()
    ),
}
# A word made of letters (inner apostrophes and hyphens allowed), wrapped in punctuation or digits, but
# with none of the characters that mark code: ( ) = _ / [ ].
_AFFIX = r"(?:[^\s\w()=/\[\]]|\d)*"
_ALPHA_TOKEN = re.compile(rf"(?<!\S){_AFFIX}[^\W\d_]+(?:['’-][^\W\d_]+)*{_AFFIX}(?!\S)")


def _is_prose(text: str, lang: str, min_words: int) -> bool:
    words = text.split()
    if len(words) < min_words or len(text) > 4000:
        return False
    if any(bad in text for bad in (">>>", "{", "}", "\\", "==", "::", "$ ", "#include", "<<", ">>")):
        return False
    alpha = len(_ALPHA_TOKEN.findall(text))
    if alpha / len(words) < 0.72:
        return False
    if min_words >= 6 and not re.search(r"[.!?:)\"»”]$", text):
        return False
    lowered = [w.strip(".,;:!?()«»\"'“”").lower() for w in words]
    own = sum(1 for w in lowered if w in _STOPWORDS[lang])
    if lang == "en":
        return own >= max(1, len(words) // 15)
    english = sum(1 for w in lowered if w in _STOPWORDS["en"] and w not in _STOPWORDS[lang])
    return own >= max(2, len(words) // 10) and english * 2 < own


# --------------------------------------------------------------------------------------------------
# English sources: Python documentation (reST) and standard-library docstrings (ast)
# --------------------------------------------------------------------------------------------------

_ROLE = re.compile(r":[A-Za-z0-9_.+-]+(?::[A-Za-z0-9_.+-]+)*:`([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``")
_LINK = re.compile(r"`([^`<]+?)\s*(?:<[^>`]*>)?`__?")
_DEFAULT_ROLE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_EMPH = re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])")
_FOOTNOTE = re.compile(r"\s*\[(?:#\w*|\d+|\*)\]_")
_SUBST = re.compile(r"\|(\w[\w -]*)\|")
_REF_UNDERSCORE = re.compile(r"(?<=\s)(\w+)_(?=[\s.,;:)]|$)")


def _role_text(match: re.Match[str]) -> str:
    inner = match.group(1).strip()
    if inner.endswith(">") and "<" in inner:
        label = inner[: inner.rfind("<")].strip()
        inner = label or inner[inner.rfind("<") + 1 : -1]
    if inner.startswith("!"):
        inner = inner[1:]
    if inner.startswith("~"):
        inner = inner[1:].rsplit(".", 1)[-1]
    return inner


def _clean_inline(text: str) -> str:
    if "`" in text:
        text = _ROLE.sub(_role_text, text)
        text = _LITERAL.sub(r"\1", text)
        text = _LINK.sub(r"\1", text)
        text = _DEFAULT_ROLE.sub(r"\1", text)
    if "*" in text:
        text = _STRONG.sub(r"\1", text)
        text = _EMPH.sub(r"\1", text)
    if "]_" in text:
        text = _FOOTNOTE.sub("", text)
    if "|" in text:
        text = _SUBST.sub(r"\1", text)
    if "_" in text:
        text = _REF_UNDERSCORE.sub(r"\1", text)
    if "\\" in text:
        text = text.replace("\\ ", "").replace("\\*", "*").replace("\\", "")
    return " ".join(text.split())


_ADORN = re.compile(r"^([=\-~^\"'*+#`:._])\1{2,}\s*$")
_DIRECTIVE = re.compile(r"^\.\.\s+([\w:-]+)::\s*(.*)$")
_BULLET = re.compile(r"^(?:[*+\-•]|#\.|\d+[.)])\s+(.*)$")
_SIGNATURE_DIRECTIVES = frozenset(
    "function method class exception attribute data decorator decoratormethod classmethod staticmethod "
    "coroutinefunction coroutinemethod abstractmethod awaitablefunction awaitablemethod opcode cmdoption "
    "option envvar describe pdbcommand property".split()
)
_ADMONITIONS = frozenset(
    "note warning important tip hint caution attention admonition seealso impl-detail sidebar topic".split()
)
_VERSION_NOTES = {"versionadded": "New in version", "versionchanged": "Changed in version"}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _dedent(lines: list[str]) -> list[str]:
    indents = [_indent(x) for x in lines if x.strip()]
    cut = min(indents) if indents else 0
    return [x[cut:] if x.strip() else "" for x in lines]


def _rst_blocks(lines: list[str], levels: dict, top: bool) -> list[tuple]:
    """Parse reST lines into ("heading", level, text), ("p", text) and ("ul", items) blocks."""
    out: list[tuple] = []
    i, n = 0, len(lines)
    literal_pending = False
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        indent = _indent(line)
        if indent > 0:
            j = i
            while j < n and (not lines[j].strip() or _indent(lines[j]) > 0):
                j += 1
            if not literal_pending:
                out.extend(_rst_blocks(_dedent(lines[i:j]), levels, top=False))
            literal_pending = False
            i = j
            continue
        literal_pending = False
        if top and _ADORN.match(line) and i + 2 < n and lines[i + 1].strip() and _ADORN.match(lines[i + 2]):
            key = (stripped[0], True)
            out.append(("heading", levels.setdefault(key, len(levels) + 1), lines[i + 1].strip()))
            i += 3
            continue
        if (
            i + 1 < n
            and _ADORN.match(lines[i + 1])
            and not _ADORN.match(line)
            and len(lines[i + 1].strip()) >= len(stripped)
        ):
            if top:
                key = (lines[i + 1].strip()[0], False)
                out.append(("heading", levels.setdefault(key, len(levels) + 1), stripped))
            i += 2
            continue
        if _ADORN.match(line) or stripped[0] in "+|" or re.match(r"^=+(\s+=+)+\s*$", stripped):
            # transitions, grid tables and simple tables
            while i < n and lines[i].strip():
                i += 1
            continue
        if stripped.startswith(">>>") or stripped.startswith(":"):
            i += 1
            while i < n and lines[i].strip() and (_indent(lines[i]) > 0 or stripped.startswith(">>>")):
                i += 1
            continue
        if stripped.startswith(".."):
            j = i + 1
            while j < n and (not lines[j].strip() or _indent(lines[j]) > 0):
                j += 1
            match = _DIRECTIVE.match(stripped)
            if match:
                out.extend(_rst_directive(match.group(1), match.group(2), lines[i + 1 : j], levels))
            i = j
            continue
        bullet = _BULLET.match(stripped)
        if bullet:
            items: list[str] = []
            while i < n:
                current = lines[i]
                if not current.strip():
                    k = i
                    while k < n and not lines[k].strip():
                        k += 1
                    if k < n and _indent(lines[k]) == 0 and _BULLET.match(lines[k].strip()):
                        i = k
                        continue
                    break
                bullet = _BULLET.match(current.strip()) if _indent(current) == 0 else None
                if bullet:
                    items.append(bullet.group(1))
                elif _indent(current) > 0 and items:
                    items[-1] += " " + current.strip()
                else:
                    break
                i += 1
            cleaned = [_clean_inline(x) for x in items]
            cleaned = [x for x in cleaned if _is_prose(x, "en", 3)]
            if len(cleaned) >= 2:
                out.append(("ul", tuple(cleaned)))
            continue
        para = [stripped]
        i += 1
        while i < n and lines[i].strip() and _indent(lines[i]) == 0:
            nxt = lines[i].strip()
            if nxt.startswith("..") or (i + 1 < n and _ADORN.match(lines[i + 1])):
                break
            para.append(nxt)
            i += 1
        text = " ".join(para)
        if text.endswith("::"):
            literal_pending = True
            text = text[:-2].rstrip()
            text = text + ":" if text and not para[-1].endswith(" ::") else text
        cleaned = _clean_inline(text)
        if _is_prose(cleaned, "en", 8):
            out.append(("p", cleaned))
    return out


def _rst_directive(name: str, arg: str, content: list[str], levels: dict) -> list[tuple]:
    body = _dedent(content)
    header_end = 0
    while header_end < len(body) and body[header_end].strip():
        header_end += 1
    if name in _SIGNATURE_DIRECTIVES:
        signature = _clean_inline(arg)
        blocks = _rst_blocks(body[header_end:], levels, top=False)
        if not signature or not blocks:
            return blocks
        return [("heading", 9, signature), *blocks]
    if name in _ADMONITIONS:
        lines = ([arg] if arg and name not in ("admonition", "sidebar", "topic") else []) + [
            x for x in body if not x.strip().startswith(":")
        ]
        return _rst_blocks(lines, levels, top=False)
    if name in _VERSION_NOTES:
        version, _, rest = arg.partition(" ")
        text = " ".join([rest.strip()] + [x.strip() for x in body if x.strip()])
        cleaned = _clean_inline(f"{_VERSION_NOTES[name]} {version}: {text}") if text else ""
        return [("p", cleaned)] if cleaned and _is_prose(cleaned, "en", 8) else []
    return []


def _headings_to_blocks(raw: list[tuple]) -> tuple[str, list[Block]]:
    title = ""
    blocks: list[Block] = []
    for item in raw:
        if item[0] != "heading":
            blocks.append(item)
            continue
        level, text = item[1], _clean_inline(item[2])
        if not text:
            continue
        if not title and level == 1:
            title = text
        elif level <= 2:
            blocks.append(("h2", text))
        else:
            blocks.append(("h3", text))
    return title, blocks


def _clean_title(title: str) -> str:
    title = title.replace(" --- ", " — ").replace(" -- ", " — ")
    return " ".join(title.split()).strip(" .:")


def _parse_rst_file(path: Path) -> list[tuple[str, tuple[Block, ...]]]:
    text = path.read_text(encoding="utf-8", errors="replace").expandtabs(8)
    title, blocks = _headings_to_blocks(_rst_blocks(text.splitlines(), {}, top=True))
    title = _clean_title(title) or path.name.split(".")[0].replace("_", " ").capitalize()
    return _pack_articles(title, blocks)


def _docstring_blocks(doc: str) -> list[Block]:
    blocks: list[Block] = []
    for raw in re.split(r"\n\s*\n", doc):
        lines = [x.rstrip() for x in raw.splitlines() if x.strip()]
        if not lines or lines[0].lstrip().startswith(">>>"):
            continue
        if all(_BULLET.match(x.strip()) or _indent(x) > _indent(lines[0]) for x in lines) and _BULLET.match(
            lines[0].strip()
        ):
            items: list[str] = []
            for x in lines:
                bullet = _BULLET.match(x.strip())
                if bullet and _indent(x) <= _indent(lines[0]):
                    items.append(bullet.group(1))
                elif items:
                    items[-1] += " " + x.strip()
            cleaned = [_clean_inline(x) for x in items]
            cleaned = [x for x in cleaned if _is_prose(x, "en", 3)]
            if len(cleaned) >= 2:
                blocks.append(("ul", tuple(cleaned)))
            continue
        head = [x for x in lines if _indent(x) == _indent(lines[0])]
        if len(head) != len(lines):
            # "Arguments:" followed by indented "name -- description" lines
            items = []
            for x in lines[1:]:
                match = re.match(r"^\s+(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*(?:--|:|-)\s+(.+)$", x)
                if match:
                    items.append(f"{match.group(1)}: {match.group(2)}")
                elif items and _indent(x) > 0:
                    items[-1] += " " + x.strip()
                else:
                    items = []
                    break
            first = _clean_inline(lines[0].strip())
            if _is_prose(first, "en", 8):
                blocks.append(("p", first))
            cleaned = [_clean_inline(x) for x in items]
            cleaned = [x for x in cleaned if _is_prose(x, "en", 3)]
            if len(cleaned) >= 2:
                blocks.append(("ul", tuple(cleaned)))
            continue
        text = _clean_inline(" ".join(x.strip() for x in lines))
        if text.endswith("::"):
            text = text[:-1]
        if _is_prose(text, "en", 8):
            blocks.append(("p", text))
    return blocks


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    args = [a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg not in ("self", "cls")]
    if node.args.vararg:
        args.append("*" + node.args.vararg.arg)
    args.extend(a.arg for a in node.args.kwonlyargs)
    if node.args.kwarg:
        args.append("**" + node.args.kwarg.arg)
    return ", ".join(args)


def _parse_python_module(path: Path, modname: str) -> list[tuple[str, tuple[Block, ...]]]:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return []
    doc = ast.get_docstring(tree) or ""
    summary = _clean_inline(doc.strip().split("\n\n")[0]) if doc else ""
    if summary and 2 <= _words(summary) <= 12 and not re.search(r"([=\-~^*#])\1\1", summary):
        title = f"{modname}: {summary.rstrip('.')}"
    else:
        title = f"The {modname} module"
    blocks: list[Block] = _docstring_blocks(doc) if doc else []
    functions: list[tuple[str, str, list[Block]]] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            class_doc = ast.get_docstring(node)
            body = _docstring_blocks(class_doc) if class_doc else []
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and not member.name.startswith(
                    "_"
                ):
                    member_doc = ast.get_docstring(member)
                    member_blocks = _docstring_blocks(member_doc) if member_doc else []
                    if member_blocks:
                        body.append(("h3", f"{node.name}.{member.name}({_signature(member)})"))
                        body.extend(member_blocks)
            if body:
                blocks.append(("h2", f"The {node.name} class"))
                blocks.extend(body)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            fn_doc = ast.get_docstring(node)
            fn_blocks = _docstring_blocks(fn_doc) if fn_doc else []
            if fn_blocks:
                functions.append((node.name, _signature(node), fn_blocks))
    if functions:
        blocks.append(("h2", "Functions"))
        if len(functions) >= 3:
            rows = tuple((name, sig or "none") for name, sig, _ in functions)
            blocks.append(("table", (("Function", "Parameters"), rows)))
        for name, sig, fn_blocks in functions:
            blocks.append(("h3", f"{name}({sig})"))
            blocks.extend(fn_blocks)
    return _pack_articles(title, blocks)


def _sections(blocks: list[Block]) -> list[list[Block]]:
    """Split at h2 headings (the first section is the introduction, without a heading)."""
    sections: list[list[Block]] = [[]]
    for block in blocks:
        if block[0] == "h2":
            sections.append([])
        sections[-1].append(block)
    return [s for s in sections if s]


def _split_large(section: list[Block]) -> list[list[Block]]:
    parts: list[list[Block]] = [[]]
    count = 0
    for block in section:
        words = _blocks_words([block])
        if parts[-1] and count + words > MAX_ARTICLE_WORDS * 0.8 and block[0] in ("h3", "p"):
            parts.append([])
            count = 0
        if words > MAX_ARTICLE_WORDS * 0.8:
            continue
        parts[-1].append(block)
        count += words
    return [p for p in parts if p]


def _pack_articles(title: str, blocks: list[Block]) -> list[tuple[str, tuple[Block, ...]]]:
    """Pack a document's sections into articles of at most MAX_ARTICLE_WORDS words."""
    pieces: list[list[Block]] = []
    for section in _sections(blocks):
        if _blocks_words(section) > MAX_ARTICLE_WORDS * 0.8:
            pieces.extend(_split_large(section))
        else:
            pieces.append(section)
    articles: list[list[Block]] = []
    current: list[Block] = []
    count = 0
    for piece in pieces:
        words = _blocks_words(piece)
        if current and (count + words > MAX_ARTICLE_WORDS * 0.8 or count >= 700):
            articles.append(current)
            current, count = [], 0
        current.extend(piece)
        count += words
    if current:
        articles.append(current)
    out = []
    for index, article in enumerate(articles):
        article_title = title
        if index:
            heading = next((b[1] for b in article if b[0] in ("h2", "h3")), f"part {index + 1}")
            article_title = f"{title}: {heading}" if heading.lower() not in title.lower() else title
        out.append((article_title, tuple(article)))
    return out


def _python_doc_root() -> Path:
    own = Path(f"/usr/share/doc/python{sys.version_info.major}.{sys.version_info.minor}/html/_sources")
    if own.is_dir():
        return own
    found = sorted(Path("/usr/share/doc").glob("python3*/html/_sources"))
    if not found:
        raise RuntimeError(
            "The sample site takes English prose from the Python documentation, which is missing: "
            "run `apt-get install python3.11-doc` (any python3.X-doc works)."
        )
    return found[-1]


_SKIP_DOCS = ("whatsnew/changelog", "license", "copyright", "contents", "bugs", "about", "includes/")
_SKIP_MODULE_PARTS = frozenset(
    "test tests idlelib tkinter turtledemo lib2to3 ensurepip site-packages pydoc_data encodings "
    "__pycache__ __phello__ distutils".split()
)


@cache
def _english_sources() -> tuple[tuple[str, str, str], ...]:
    doc_root = _python_doc_root()
    sources = [
        ("rst", str(p), "")
        for p in sorted(doc_root.rglob("*.rst.txt"))
        if not any(str(p.relative_to(doc_root)).startswith(s) for s in _SKIP_DOCS)
    ]
    lib = Path(sysconfig.get_paths()["stdlib"])
    for p in sorted(lib.rglob("*.py")):
        rel = p.relative_to(lib)
        if _SKIP_MODULE_PARTS.intersection(rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and not parts[-1].startswith("_"):
            sources.append(("py", str(p), ".".join(parts)))
    return tuple(sources)


# --------------------------------------------------------------------------------------------------
# German, French, Spanish: Debian manual pages (roff)
# --------------------------------------------------------------------------------------------------

_ROFF_NAMED = {
    "em": "—",
    "en": "–",
    "aq": "'",
    "dq": '"',
    "lq": "“",
    "rq": "”",
    "oq": "‘",
    "cq": "’",
    "Fo": "«",
    "Fc": "»",
    "fo": "‹",
    "fc": "›",
    "Bq": "„",
    "bq": "‚",
    "bu": "•",
    "co": "©",
    "rg": "®",
    "tm": "™",
    "hy": "-",
    "mi": "-",
    "ti": "~",
    "ha": "^",
    "mu": "×",
    "de": "°",
    ">=": "≥",
    "<=": "≤",
    "->": "→",
    "<-": "←",
    "sl": "/",
    "rs": "\\",
    "dg": "†",
    "pl": "+",
    "eq": "=",
    "ga": "`",
    "lh": "☜",
    "rh": "☞",
    "a:": "ä",
    "o:": "ö",
    "u:": "ü",
    "A:": "Ä",
    "O:": "Ö",
    "U:": "Ü",
    "ss": "ß",
    "e'": "é",
    "e`": "è",
    "a`": "à",
    "e^": "ê",
    "c,": "ç",
    "n~": "ñ",
    "a'": "á",
    "i'": "í",
    "o'": "ó",
    "u'": "ú",
    "r!": "¡",
    "r?": "¿",
    "Eu": "€",
    "eu": "€",
    "at": "@",
    "sh": "#",
    "Do": "$",
    "dq;": '"',
}


def _roff_named(match: re.Match[str]) -> str:
    name = match.group(1) or match.group(2)
    if name.startswith("u") and re.fullmatch(r"u[0-9A-Fa-f]{4,5}", name):
        return chr(int(name[1:], 16))
    return _ROFF_NAMED.get(name, "")


_ROFF_SUBS = (
    (re.compile(r"\\[\"#].*$"), ""),
    (re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\s(?:[+-]?\d|\[[^\]]*\]|\(..)"), ""),
    (re.compile(r"\\\*(?:\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\[hvwlLNbDoXZHSRxk]'[^']*'"), ""),
    (re.compile(r"\\n(?:\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\\((..)|\\\[([^\]]+)\]"), _roff_named),
    (re.compile(r"\\[&|^%c:)dtua{},/]"), ""),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\e"), "\\\\"),
)


def _roff_text(text: str) -> str:
    if "\\" not in text:
        return text
    for pattern, repl in _ROFF_SUBS:
        text = pattern.sub(repl, text)
    return text.replace("\\", "")


def _macro_args(rest: str) -> list[str]:
    return [
        m.group(1) if m.group(1) is not None else m.group(2) for m in re.finditer(r'"([^"]*)"|(\S+)', rest)
    ]


_SKIP_MAN_SECTIONS = re.compile(
    r"^(SYNOPSIS|ÜBERSICHT|SINOPSIS|RÉSUMÉ|SYNTAX|SIEHE AUCH|VOIR AUSSI|V[ÉE]ASE TAMBI[ÉE]N|VEA TAMBI[ÉE]N|"
    r"[ÜU]BERSETZUNG|TRADUCTION|TRADUCCI[ÓO]N|COPYRIGHT|URHEBERRECHT|DERECHOS DE AUTOR|COLOPHON|KOLOPHON|"
    r"FEHLER MELDEN|REPORTING BUGS|SIGNALER DES BOGUES|INFORMAR DE ERRORES|RAPPORTS DE BOGUES|AUTOR|AUTOREN|"
    r"AUTEURS?|AUTORES|AUTHORS?)\b",
    re.IGNORECASE,
)
_NAME_SECTIONS = re.compile(r"^(NAME|BEZEICHNUNG|NOM|NOMBRE)$", re.IGNORECASE)
_FONT_MACROS = frozenset("B I SM SB".split())
_ALT_MACROS = frozenset("BR IR RB RI BI IB".split())
_BREAK_MACROS = frozenset("PP LP P sp RS RE in IP TP HP ti ne PD ad na nh".split())


def _parse_man_page(path: Path, lang: str) -> list[tuple[str, tuple[Block, ...]]]:
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read().decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return []
    if re.search(r"^\.(?:Dd|so)\b", raw, re.MULTILINE):
        return []  # BSD mdoc pages and .so redirections: no plain man(7) prose
    blocks: list[Block] = []
    para: list[str] = []
    items: list[str] = []
    tag_next = False
    tag = ""
    name_line = ""
    in_name = False
    skip_section = False
    skip_until: str | None = None
    th_name = ""

    def flush_para() -> None:
        nonlocal para, tag
        text = " ".join(" ".join(para).split())
        para = []
        if not text:
            tag = ""
            return
        if in_name:
            nonlocal name_line
            name_line = name_line or text
        elif not skip_section:
            if tag:
                item = f"{tag}: {text}" if tag != "•" and _words(tag) <= 6 else text
                if _is_prose(text, lang, 3):
                    items.append(item)
            else:
                flush_items()
                if _is_prose(text, lang, 8):
                    blocks.append(("p", text))
        tag = ""

    def flush_items() -> None:
        nonlocal items
        if len(items) >= 2:
            blocks.append(("ul", tuple(items)))
        elif items and _is_prose(items[0], lang, 8):
            blocks.append(("p", items[0]))
        items = []

    for line in raw.splitlines():
        if skip_until is not None:
            if line.startswith(skip_until) or (skip_until == "\\}" and "\\}" in line):
                skip_until = None
            continue
        if line.startswith(('.\\"', "'\\\"", '.\\"', '\\"')) or line.strip() in (".", "'"):
            continue
        if line.startswith((".", "'")):
            macro_line = line[1:].lstrip()
            po4a = re.match(r"^(?:if|ie)\s+!?'po4a'hide'\s+[.'](.*)$", macro_line)
            if po4a:
                macro_line = po4a.group(1)
            name, _, rest = macro_line.partition(" ")
            rest = rest.strip()
            if name in ("if", "ie", "el", "while"):
                if "\\{" in line:
                    skip_until = "\\}"
                continue
            if name in ("nf", "EX"):
                flush_para()
                skip_until = ".fi" if name == "nf" else ".EE"
                continue
            if name == "TS":
                flush_para()
                skip_until = ".TE"
                continue
            if name in ("de", "ig", "am", "de1"):
                skip_until = ".."
                continue
            if name == "TH":
                args = _macro_args(rest)
                th_name = _roff_text(args[0]) if args else ""
                continue
            if name in ("SH", "SS", "Sh", "Ss"):
                flush_para()
                flush_items()
                heading = " ".join(_roff_text(a) for a in _macro_args(rest)).strip()
                in_name = bool(_NAME_SECTIONS.match(heading))
                skip_section = bool(_SKIP_MAN_SECTIONS.match(heading)) or not heading
                if heading and not in_name and not skip_section:
                    pretty = heading.capitalize() if heading.isupper() else heading
                    blocks.append(("h2" if name in ("SH", "Sh") else "h3", pretty))
                continue
            if name in ("TP",):
                flush_para()
                tag_next = True
                continue
            if name in ("IP", "HP"):
                flush_para()
                args = _macro_args(rest)
                tag = _roff_text(args[0]).strip() if args else ""
                if tag in ("•", "-", "*", "o") or re.fullmatch(r"\d+[.)]?", tag):
                    tag = "•"  # an untagged list item
                continue
            if name in _BREAK_MACROS or name in ("Pp", "Lp"):
                flush_para()
                if name in ("PP", "LP", "P", "Pp", "Lp", "sp") and items and not tag:
                    flush_items()
                continue
            if name == "br":
                continue
            if name in _FONT_MACROS or name in _ALT_MACROS or name in ("UR", "UE", "MT", "ME", "URL"):
                args = _macro_args(rest)
                if name in ("UR", "MT"):
                    continue
                if name in ("UE", "ME"):
                    text = "".join(_roff_text(a) for a in args)
                    if para and text:
                        para[-1] += text
                    continue
                joiner = "" if name in _ALT_MACROS else " "
                text = joiner.join(_roff_text(a) for a in args)
                if tag_next:
                    tag, tag_next = text.strip(), False
                else:
                    para.append(text)
                continue
            continue  # any other request or macro: layout only
        text = _roff_text(line)
        if tag_next:
            tag, tag_next = text.strip(), False
            continue
        para.append(text)
    flush_para()
    flush_items()

    if name_line and re.search(r"\s[-–—]\s", name_line):
        command, desc = re.split(r"\s[-–—]\s", name_line, maxsplit=1)
        desc = desc.strip().rstrip(".")
        title = f"{command.strip()} – {desc[:1].upper()}{desc[1:]}"
    else:
        title = th_name.lower() or path.name.split(".")[0]
    # drop headings that lost all their content
    tidy: list[Block] = []
    for block in blocks:
        if block[0] in ("h2", "h3") and tidy and tidy[-1][0] in ("h2", "h3"):
            if block[0] == "h2" or tidy[-1][0] == "h3":
                tidy.pop()
        tidy.append(block)
    while tidy and tidy[-1][0] in ("h2", "h3"):
        tidy.pop()
    return _pack_articles(" ".join(title.split())[:120], tidy)


@cache
def _man_sources(lang: str) -> tuple[tuple[str, str, str], ...]:
    root = MAN_ROOT / lang
    files = sorted(root.glob("man*/*.gz")) if root.is_dir() else []
    if not files:
        raise RuntimeError(
            f"The sample site takes {lang} prose from Debian's translated manual pages, but {root} has none: "
            "run `apt-get install manpages-de manpages-fr manpages-es`."
        )
    return tuple(("man", str(p), lang) for p in files)


@cache
def _parse_source(kind: str, path: str, extra: str) -> tuple[tuple[str, tuple[Block, ...]], ...]:
    if kind == "rst":
        return tuple(_parse_rst_file(Path(path)))
    if kind == "py":
        return tuple(_parse_python_module(Path(path), extra))
    return tuple(_parse_man_page(Path(path), extra))


# --------------------------------------------------------------------------------------------------
# Article pools
# --------------------------------------------------------------------------------------------------


@dataclass
class _Draft:
    title: str
    blocks: tuple[Block, ...]
    source: str
    remix: bool = False


@dataclass
class _Unit:
    heading: str
    blocks: tuple[Block, ...]
    words: int


_REMIX_TITLES = {
    "en": "Notes on {a} and {b}",
    "de": "Über {a} und {b}",
    "fr": "À propos de {a} et {b}",
    "es": "Sobre {a} y {b}",
}


def _short(text: str, words: int = 6) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


class _ArticlePool:
    """Natural articles from the sources in a seeded order; then remixed articles from their sections.

    Paragraphs are deduplicated across the whole pool (exact text), so no two articles share a
    paragraph unless the remix put it there.
    """

    def __init__(self, lang: str, seed: int) -> None:
        self.lang = lang
        self.seed = seed
        sources = list(_english_sources() if lang == "en" else _man_sources(lang))
        random.Random(f"sources:{lang}:{seed}").shuffle(sources)
        self.sources = iter(sources)
        self.seen: set[str] = set()
        self.pending: deque[_Draft] = deque()
        self.deferred: deque[_Draft] = deque()
        self.units: list[_Unit] = []
        self.remix_pass = 0

    def take(self) -> _Draft:
        # First sweep: one article per source, for variety on small sites; then the other articles of
        # each source; then remixes.
        while not self.pending:
            source = next(self.sources, None)
            if source is None:
                if self.deferred:
                    return self.deferred.popleft()
                return self._remix()
            drafts = []
            for title, blocks in _parse_source(*source):
                kept = self._dedupe(blocks)
                self.units.extend(self._units(title, kept))
                if MIN_ARTICLE_WORDS <= _blocks_words(kept) <= MAX_ARTICLE_WORDS:
                    drafts.append(_Draft(title, kept, source[1]))
            self.pending.extend(drafts[:1])
            self.deferred.extend(drafts[1:])
        return self.pending.popleft()

    def _dedupe(self, blocks: tuple[Block, ...]) -> tuple[Block, ...]:
        kept: list[Block] = []
        for block in blocks:
            if block[0] in ("p", "ul", "table"):
                # Exact text, and the first and last eight words: the docs and the docstrings of a
                # module often hold the same paragraph with a word changed.
                words = re.sub(r"[^\w\s]", "", blocks_text([block]).lower()).split()
                keys = {" ".join(words)}
                if len(words) >= 16:
                    keys |= {"<" + " ".join(words[:8]), ">" + " ".join(words[-8:])}
                if keys & self.seen:
                    continue
                self.seen |= keys
            kept.append(block)
        tidy: list[Block] = []
        for block in kept:
            if block[0] in ("h2", "h3") and tidy and tidy[-1][0] in ("h2", "h3"):
                if block[0] == "h2" or tidy[-1][0] == "h3":
                    tidy.pop()
            tidy.append(block)
        while tidy and tidy[-1][0] in ("h2", "h3"):
            tidy.pop()
        return tuple(tidy)

    @staticmethod
    def _units(title: str, blocks: tuple[Block, ...]) -> list[_Unit]:
        """Cut a draft into small units (at most ~150 words, paragraphs kept whole) for remixing.

        Units are small against a remixed article (at least 500 words and four units), so a remix shares
        at most a sliver of any natural article and of any other remix.
        """
        words = _blocks_words(blocks)
        if MIN_ARTICLE_WORDS <= words < 300:
            return []  # published whole and short: a unit would be a large share of it
        units: list[_Unit] = []
        heading = title
        content: list[Block] = []
        count = 0

        def close() -> None:
            nonlocal content, count
            if count >= 30:
                units.append(_Unit(heading, tuple(content), count))
            content, count = [], 0

        for block in blocks:
            if block[0] in ("h2", "h3"):
                close()
                heading = block[1] if ":" in block[1] else f"{_short(title, 4)}: {block[1]}"
                continue
            if block[0] == "table":
                continue
            w = _blocks_words([block])
            if w > 180:
                continue
            if content and count + w > 150:
                close()
            content.append(block)
            count += w
        close()
        return units

    def _remix(self) -> _Draft:
        while not self.pending:
            self.remix_pass += 1
            if self.remix_pass > 200 or len(self.units) < 8:
                raise RuntimeError(f"the {self.lang} text pool is exhausted")
            rng = random.Random(f"remix:{self.lang}:{self.seed}:{self.remix_pass}")
            order = list(range(len(self.units)))
            rng.shuffle(order)
            chunk: list[_Unit] = []
            target = rng.randint(500, 1100)
            for index in order:
                chunk.append(self.units[index])
                if sum(u.words for u in chunk) >= target and len(chunk) >= 4:
                    blocks: list[Block] = []
                    for unit in chunk:
                        blocks.append(("h2", unit.heading))
                        blocks.extend(unit.blocks)
                    title = _REMIX_TITLES[self.lang].format(
                        a=_short(chunk[0].heading), b=_short(chunk[1].heading)
                    )
                    self.pending.append(_Draft(title, tuple(blocks), f"remix:{self.remix_pass}", remix=True))
                    chunk, target = [], rng.randint(500, 1100)
        return self.pending.popleft()


# --------------------------------------------------------------------------------------------------
# Planted cases: near duplicates, PII, thin and spam pages
# --------------------------------------------------------------------------------------------------

_SUBSTITUTES = (
    "system",
    "value",
    "method",
    "often",
    "usually",
    "simple",
    "data",
    "result",
    "object",
    "file",
    "program",
    "really",
    "module",
    "option",
    "different",
    "number",
    "string",
    "common",
    "typical",
    "new",
)
_INSERTIONS = ("also", "really", "quite", "simply", "actually", "generally", "basically", "indeed", "still")


def _make_near_duplicate(
    blocks: tuple[Block, ...], rate: float, rng: random.Random
) -> tuple[tuple[Block, ...], float]:
    """Edit ``rate`` of the body's words (substitute, insert, delete) in paragraphs and list items."""
    segments: list[list[str]] = []
    where: list[tuple[int, int]] = []
    for bi, (kind, value) in enumerate(blocks):
        if kind == "p":
            segments.append(value.split())
            where.append((bi, -1))
        elif kind == "ul":
            for ii, item in enumerate(value):
                segments.append(item.split())
                where.append((bi, ii))
    positions = [(si, wi) for si, seg in enumerate(segments) for wi in range(len(seg))]
    total = _blocks_words(blocks)
    n_edits = max(1, round(rate * total))
    chosen = sorted(rng.sample(positions, min(n_edits, len(positions))), reverse=True)
    for si, wi in chosen:
        seg = segments[si]
        op = rng.random()
        if op < 0.5 or len(seg) < 4:
            replacement = rng.choice(_SUBSTITUTES)
            while replacement == seg[wi].lower():
                replacement = rng.choice(_SUBSTITUTES)
            seg[wi] = replacement
        elif op < 0.75:
            seg.insert(wi, rng.choice(_INSERTIONS))
        else:
            del seg[wi]
    new_blocks = list(blocks)
    items: dict[int, list[str]] = {}
    for (bi, ii), seg in zip(where, segments, strict=True):
        if ii < 0:
            new_blocks[bi] = ("p", " ".join(seg))
        else:
            items.setdefault(bi, list(blocks[bi][1]))[ii] = " ".join(seg)
    for bi, values in items.items():
        new_blocks[bi] = ("ul", tuple(values))
    return tuple(new_blocks), len(chosen) / total


_PII_NAMES = ("Jane Doe", "Max Mustermann", "John Smith", "Erika Musterfrau", "Pierre Dupont", "Ana López")
_PII_PHONES = (
    "+49 30 1234567",
    "+44 20 7946 0958",
    "+1 202 555 0143",
    "+33 1 23 45 67 89",
    "+34 912 345 678",
)
_PII_IPS = ("192.0.2.17", "198.51.100.23", "203.0.113.42", "10.20.30.40")
_PII_CARDS = ("4111 1111 1111 1111", "5555 5555 5555 4444")
_PII_IBANS = ("DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32")


def _pii_paragraphs(index: int, rng: random.Random) -> tuple[list[str], list[dict]]:
    name = _PII_NAMES[index % len(_PII_NAMES)]
    first, last = name.lower().replace("ó", "o").split()
    email = f"{first}.{last}@example.{('com', 'org', 'net')[index % 3]}"
    phone = _PII_PHONES[index % len(_PII_PHONES)]
    ip = _PII_IPS[index % len(_PII_IPS)]
    card = _PII_CARDS[index % len(_PII_CARDS)]
    iban = _PII_IBANS[index % len(_PII_IBANS)]
    paragraphs = [
        f"If you have questions about this article, write to {name} at {email} or call {phone} "
        "during office hours.",
    ]
    found = [
        {"type": "email", "value": email},
        {"type": "phone", "value": phone},
    ]
    if index == 0 or rng.random() < 0.6:
        paragraphs.append(
            f"The examples were tested on our staging server at {ip}, which only staff can reach."
        )
        found.append({"type": "ip", "value": ip})
    if index == 0 or rng.random() < 0.5:
        paragraphs.append(
            f"To order the printed edition, pay with the card {card} (expiry 12/30) or transfer the "
            f"amount to the account with IBAN {iban}."
        )
        found += [{"type": "credit_card", "value": card}, {"type": "iban", "value": iban}]
    return paragraphs, found


_THIN_TEMPLATES = (
    ("Coming soon: {t}", ["This page about {t} is under construction.", "Please check back later."]),
    ("{t}", ["More information about {t} will be added here soon."]),
    ("Placeholder: {t}", ["There is nothing here yet.", "The article about {t} has not been written."]),
    ("{t} (draft)", ["Draft page for {t}, to be completed by the editors."]),
)
_SPAM_ADJECTIVES = ("cheap", "discount", "luxury", "genuine", "premium", "wholesale", "miracle", "instant")
_SPAM_NOUNS = (
    "watches",
    "pills",
    "handbags",
    "sneakers",
    "casino bonus",
    "crypto profits",
    "weight loss tea",
    "sunglasses",
    "perfume",
    "phone cases",
    "diet drops",
    "gold coins",
    "loans",
    "followers",
)
_SPAM_PLACES = (
    "Berlin",
    "Paris",
    "Madrid",
    "London",
    "Texas",
    "Ohio",
    "Dubai",
    "Sydney",
    "Toronto",
    "Miami",
    "Oslo",
    "Vienna",
    "Rome",
    "Lisbon",
    "Prague",
    "Denver",
    "Boston",
    "Seattle",
    "Dublin",
    "Zurich",
)
_SPAM_SHOUTS = (
    "$$$ BUY NOW!!! {P} $$$ >>> CLICK HERE <<< 100% FREE!!! LIMITED OFFER!!! $$$",
    "!!! {P} !!! ORDER TODAY ### SAVE {N}% ### ONLY {N} LEFT !!! {P} !!!",
    "*** HOT DEAL *** {P} *** {N}% OFF *** ACT FAST *** {P} *** FREE GIFT ***",
    ">>> {P} <<< BEST PRICE GUARANTEED >>> {N} HAPPY CUSTOMERS <<< BUY NOW!!!",
)


def _spam_blocks(index: int, rng: random.Random) -> tuple[str, tuple[Block, ...], str]:
    """Keyword stuffing, repeated shouting lines and link farms; each spam page sells its own product."""
    combos = len(_SPAM_ADJECTIVES) * len(_SPAM_NOUNS) * len(_SPAM_PLACES)
    code = (index * 7919) % combos
    adjective = _SPAM_ADJECTIVES[code % len(_SPAM_ADJECTIVES)]
    noun = _SPAM_NOUNS[(code // len(_SPAM_ADJECTIVES)) % len(_SPAM_NOUNS)]
    place = _SPAM_PLACES[code // (len(_SPAM_ADJECTIVES) * len(_SPAM_NOUNS)) % len(_SPAM_PLACES)]
    product = f"{adjective} {noun} {place}"
    upper = product.upper()
    title = f"BEST {upper} ONLINE – BUY NOW!!!"
    words = [adjective, noun, place.lower(), "best", "buy", "online", "sale", "order", "deal", "free"]
    blocks: list[Block] = []
    for _ in range(rng.randint(6, 10)):
        stuffing = " ".join(rng.choice(words) for _ in range(rng.randint(18, 30)))
        blocks.append(("p", f"{product} {stuffing} {product}!!!"))
        shout = rng.choice(_SPAM_SHOUTS).format(P=upper, N=rng.randint(10, 99))
        blocks.append(("p", shout))
    domain = _slugify(product)
    links = tuple(
        (f"http://{domain}-{n}.example/buy?ref={rng.randint(1000, 9999)}", f"BUY {upper} NOW!!! #{n}")
        for n in range(1, rng.randint(15, 30))
    )
    blocks.append(("links", links))
    known = f"Best {product} online, buy {product} now and save {rng.randint(50, 95)}% today."
    blocks.append(("p", known))
    return title, tuple(blocks), known


# --------------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------------


@dataclass
class _Page:
    kind: str
    language: str
    title: str
    blocks: tuple[Block, ...]
    url_path: str
    section: str
    date: datetime = _BASE_DATE
    author: str = ""
    original: str | None = None
    edit_rate: float | None = None
    jaccard: float | None = None
    known_sentence: str = ""
    pii: list[dict] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    extra_links: list[tuple[str, str]] = field(default_factory=list)
    nav_rotation: int = 0
    source: str = ""

    @property
    def file_path(self) -> str:
        return self.url_path.lstrip("/")

    @property
    def description(self) -> str:
        first = next((b[1] for b in self.blocks if b[0] == "p"), self.title)
        sentence = (_sentences(first) or [first])[0]
        return sentence if len(sentence) <= 160 else sentence[:157].rsplit(" ", 1)[0] + "…"


def _known_sentence(blocks: tuple[Block, ...], rng: random.Random, avoid: tuple[str, ...] = ()) -> str:
    """A sentence that occurs once in the body, has 8 to 40 words and no characters HTML would escape."""
    text = blocks_text(blocks)
    candidates = []
    for kind, value in blocks:
        if kind != "p":
            continue
        for sentence in _sentences(value):
            if (
                8 <= _words(sentence) <= 40
                and not any(c in sentence for c in "<>&")
                and not any(a in sentence for a in avoid)
            ):
                candidates.append(sentence)
    rng.shuffle(candidates)
    for sentence in candidates:
        if text.count(sentence) == 1:
            return sentence
    candidates = []
    if not candidates:
        candidates = [b[1] for b in blocks if b[0] == "p" and not any(c in b[1] for c in "<>&")]
    if not candidates:
        candidates = [b[1] for b in blocks if b[0] in ("p", "h2", "h3")]
    return candidates[len(candidates) // 2]


def _plan(pages: int) -> dict[str, int]:
    counts = {
        "foreign": max(3, round(pages * 0.10)),
        "near_duplicate": max(2, round(pages * 0.05)),
        "exact_duplicate": max(2, round(pages * 0.03)),
        "thin": max(1, round(pages * 0.02)),
        "spam": max(1, round(pages * 0.02)),
        "pii": max(2, round(pages * 0.01)),
        "private": max(2, round(pages * 0.01)),
    }
    counts["article"] = pages - sum(counts.values())
    return counts


class _Slugs:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, prefix: str, title: str) -> str:
        base = _slugify(title)
        slug, n = base, 2
        while f"{prefix}{slug}" in self.used:
            slug, n = f"{base}-{n}", n + 1
        self.used.add(f"{prefix}{slug}")
        return f"{prefix}{slug}.html"


def _build_pages(pages: int, seed: int) -> list[_Page]:
    counts = _plan(pages)
    rng = random.Random(f"site:{seed}")
    slugs = _Slugs()
    english = _ArticlePool("en", seed)
    out: list[_Page] = []

    def english_page(kind: str, prefix: str, section: str) -> _Page:
        draft = english.take()
        return _Page(
            kind,
            "en",
            draft.title,
            draft.blocks,
            slugs.make(prefix, draft.title),
            section,
            source=draft.source,
        )

    for _ in range(counts["article"]):
        out.append(english_page("article", "/articles/", rng.choice(SECTIONS)))

    originals = rng.sample(out, counts["near_duplicate"] + counts["exact_duplicate"])
    near_rates = (0.02, 0.03, 0.04, 0.05)
    for index, original in enumerate(originals[: counts["near_duplicate"]]):
        rate = near_rates[index % len(near_rates)]
        text = blocks_text(original.blocks)
        for _attempt in range(6):
            blocks, realised = _make_near_duplicate(original.blocks, rate, rng)
            jaccard = shingle_jaccard(text, blocks_text(blocks))
            if 0.5 < jaccard < 1.0:
                break
            rate *= 0.6
        out.append(
            _Page(
                "near_duplicate",
                "en",
                original.title,
                blocks,
                slugs.make("/articles/", original.title),
                rng.choice(SECTIONS),
                original=original.url_path,
                edit_rate=round(realised, 4),
                jaccard=round(jaccard, 4),
                source=original.source,
            )
        )
    for original in originals[counts["near_duplicate"] :]:
        out.append(
            _Page(
                "exact_duplicate",
                "en",
                original.title,
                original.blocks,
                slugs.make("/articles/", original.title),
                original.section,
                original=original.url_path,
                edit_rate=0.0,
                jaccard=1.0,
                source=original.source,
            )
        )

    for index in range(counts["pii"]):
        page = english_page("pii", "/articles/", rng.choice(SECTIONS))
        paragraphs, found = _pii_paragraphs(index, rng)
        blocks = list(page.blocks)
        at = max(1, len(blocks) // 2)
        blocks[at:at] = [("p", p) for p in paragraphs]
        page.blocks, page.pii = tuple(blocks), found
        out.append(page)

    for _ in range(counts["private"]):
        out.append(english_page("private", DISALLOWED_PREFIX, "private"))

    # Each thin page has its own topic, so thin pages are not near duplicates of each other.
    natural = [p for p in out[: counts["article"]] if not p.source.startswith("remix:")]
    titles = [p.title for p in natural]
    titles += [b[1] for p in natural for b in p.blocks if b[0] == "h2" and not re.search(r"[(:._]", b[1])]
    topics: list[str] = []
    seen_topics: set[str] = set()
    for title in titles:
        topic = _short(title, 5).rstrip("…").strip(" :—-")
        if topic.lower() not in seen_topics:
            seen_topics.add(topic.lower())
            topics.append(topic)
    rng.shuffle(topics)
    for index in range(counts["thin"]):
        title_tpl, sentences = _THIN_TEMPLATES[index % len(_THIN_TEMPLATES)]
        topic = topics[index % len(topics)]
        if index >= len(topics):
            topic = f"{topic}, part {index // len(topics) + 1}"
        title = title_tpl.format(t=topic)
        blocks = (("p", " ".join(s.format(t=topic) for s in sentences)),)
        page = _Page("thin", "en", title, blocks, slugs.make("/articles/", title), rng.choice(SECTIONS))
        page.known_sentence = sentences[0].format(t=topic)
        out.append(page)

    for index in range(counts["spam"]):
        title, blocks, known = _spam_blocks(index, rng)
        page = _Page("spam", "en", title, blocks, slugs.make("/articles/", title), rng.choice(SECTIONS))
        page.known_sentence = known
        out.append(page)

    foreign_pools = {lang: _ArticlePool(lang, seed) for lang in FOREIGN_LANGUAGES}
    for index in range(counts["foreign"]):
        lang = FOREIGN_LANGUAGES[index % len(FOREIGN_LANGUAGES)]
        draft = foreign_pools[lang].take()
        out.append(
            _Page(
                "foreign",
                lang,
                draft.title,
                draft.blocks,
                slugs.make(f"/{lang}/", draft.title),
                FOREIGN_SECTION,
                source=draft.source,
            )
        )

    by_path = {p.url_path: p for p in out}
    for page in out:
        page.date = _BASE_DATE + timedelta(seconds=rng.randrange(_DATE_SPAN_S))
        page.author = rng.choice(AUTHORS)
        page.nav_rotation = 0
    for page in out:
        if page.kind == "exact_duplicate":
            original = by_path[page.original]
            page.date, page.author = original.date, original.author
            page.nav_rotation = rng.randint(1, 5)
        if not page.known_sentence:
            avoid = tuple(item["value"] for item in page.pii) + ("example.",)
            page.known_sentence = _known_sentence(page.blocks, rng, avoid if page.pii else ())
        if page.kind == "exact_duplicate":
            page.known_sentence = by_path[page.original].known_sentence
    return out


def _assign_links(pages: list[_Page], rng: random.Random, redirects: dict[str, str]) -> None:
    public = [p for p in pages if p.kind != "private"]
    by_lang: dict[str, list[_Page]] = {}
    for page in public:
        by_lang.setdefault(page.language, []).append(page)
    redirect_sources = sorted(k for k in redirects if k.startswith(("/old/", "/very-old/")))
    for page in pages:
        if page.kind == "exact_duplicate":
            continue
        pool = by_lang.get(page.language, public)
        pool = pool if len(pool) > 6 else public
        related: list[str] = []
        while len(related) < 5:
            candidate = rng.choice(pool).url_path
            if candidate != page.url_path and candidate not in related:
                related.append(candidate)
        page.related = related
        roll = rng.random()
        if roll < 0.05:
            page.extra_links.append((rng.choice(MISSING_PATHS), "An older article"))
        elif roll < 0.10 and redirect_sources:
            page.extra_links.append((rng.choice(redirect_sources), "From our archive"))
        elif roll < 0.12:
            page.extra_links.append(("/loop/a", "Moved page"))
    by_path = {p.url_path: p for p in pages}
    for page in pages:
        if page.kind == "exact_duplicate":
            original = by_path[page.original]
            page.related = list(original.related)
            page.extra_links = list(original.extra_links)


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------

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
        if kind in ("h2", "h3", "p"):
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


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


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
    redirects[chain_target.replace("/articles/", "/very-old/", 1)] = chain_target.replace(
        "/articles/", "/old/", 1
    )
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
        members = sorted(
            (p for p in public if p.section == section), key=lambda p: (p.date, p.url_path), reverse=True
        )
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
    files[REDIRECT_STATUS_NAME] = (json.dumps(redirect_status, indent=2, sort_keys=True) + "\n").encode(
        "utf-8"
    )

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
    files[MANIFEST_NAME] = (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )

    for rel in sorted(files):
        write(rel, files[rel])
    return manifest


def load_manifest(out_dir: Path) -> dict:
    """The manifest that ``generate_site`` wrote (updated by ``edit_page`` and ``delete_page``)."""
    return json.loads((Path(out_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    target = Path(out_dir) / MANIFEST_NAME
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
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

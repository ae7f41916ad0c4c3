"""Harvest documentation pages from HTML manuals: Python's Sphinx documentation (library reference, FAQ,
changelog; Debian package ``python3.X-doc``) and the Debian Reference in Chinese and Japanese (DocBook;
``debian-reference-zh-cn``, ``debian-reference-ja``).

A manual page is flattened into a sequence of blocks (headings, paragraphs, code, tables, lists,
definition lists), cleaned of what would not survive on another site (permalinks, internal links,
images, layout tables around notes) and cut at a block boundary once it is long enough: the result
keeps the manual's real structure, code and tables, at the length of one web page.
"""

from __future__ import annotations

import copy
import gzip
import html
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import lxml.html
from lxml.html import HtmlElement

DEBIAN_REFERENCE_ROOT = Path("/usr/share/debian-reference")
DEBIAN_REFERENCE_PACKAGES = {"zh": "debian-reference-zh-cn", "ja": "debian-reference-ja"}
_DEBIAN_REFERENCE_SUFFIX = {"zh": ".zh-cn.html", "ja": ".ja.html"}

# Content blocks kept as they are; headings are renumbered by depth; anything else is unwrapped.
_KEPT_BLOCKS = frozenset("p pre ul ol dl table blockquote".split())
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
_DROPPED = frozenset("img hr script style colgroup col".split())
_KEPT_ATTRIBUTES = {"class"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True)
class DocPage:
    """A harvested manual page: its title, the HTML of its body and the body's plain text."""

    title: str
    html: str
    text: str
    source: str


def python_html_root() -> Path:
    from corpusforge.connectors.sample_site.sources import _python_doc_root

    root = _python_doc_root().parent
    if not (root / "library").is_dir():
        raise RuntimeError(
            f"The quality sample site takes documentation pages from {root}/library, which is missing: "
            "run `apt-get install python3.11-doc`."
        )
    return root


def debian_reference_files(lang: str) -> list[Path]:
    files = sorted(DEBIAN_REFERENCE_ROOT.glob(f"ch*{_DEBIAN_REFERENCE_SUFFIX[lang]}"))
    if not files:
        raise RuntimeError(
            f"The quality sample site takes {lang} documentation from the Debian Reference, which is missing: "
            f"run `apt-get install {DEBIAN_REFERENCE_PACKAGES[lang]}`."
        )
    return files


@cache
def _parse(path: str) -> HtmlElement:
    data = gzip.open(path).read() if path.endswith(".gz") else Path(path).read_bytes()
    return lxml.html.fromstring(data)


def _text(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _clean(element: HtmlElement) -> HtmlElement:
    """A copy without permalinks, images, links (their text stays) and attributes other than class."""
    element = copy.deepcopy(element)
    for bad in element.xpath('.//a[contains(@class, "headerlink")] | .//span[@class="linenos"]'):
        bad.drop_tree()
    for node in list(element.iter()):
        if not isinstance(node.tag, str):
            continue
        if node.tag in _DROPPED:
            node.drop_tree()
        elif node.tag in ("a", "span", "div", "section") and node is not element:
            node.drop_tag()
    for node in element.iter():
        if isinstance(node.tag, str):
            for name in [n for n in node.attrib if n not in _KEPT_ATTRIBUTES]:
                del node.attrib[name]
    return element


def _is_note_table(node: HtmlElement) -> bool:
    # DocBook wraps notes and tips in a layout table with an icon; the note is its paragraphs.
    return node.tag == "table" and bool(node.xpath(".//img"))


def _flatten(node: HtmlElement, depth: int, out: list[tuple[int, HtmlElement]]) -> None:
    """(depth, element) for each heading and content block under ``node``, in document order."""
    for child in node:
        if not isinstance(child.tag, str) or child.tag in _DROPPED:
            continue
        classes = child.get("class", "")
        if child.tag in _HEADINGS:
            out.append((depth, child))
        elif child.tag == "div" and "titlepage" in classes:
            for heading in child.xpath(".//h1|.//h2|.//h3|.//h4|.//h5"):
                out.append((depth, heading))
        elif child.tag == "div" and "highlight" in classes:
            out.extend((depth, pre) for pre in child.xpath(".//pre"))
        elif child.tag == "dl" and "py" in classes.split():
            out.append((depth, child))  # a signature with its description: one block
        elif _is_note_table(child):
            out.extend((depth, p) for p in child.xpath(".//p"))
        elif child.tag in ("section",) or (child.tag == "div" and "section" in classes.split()):
            _flatten(child, depth + 1, out)
        elif child.tag in _KEPT_BLOCKS:
            out.append((depth, child))
        elif child.tag == "nav" or (child.tag == "div" and ("toc" in classes or "nav" in classes)):
            continue  # tables of contents: links to the rest of the manual
        else:
            _flatten(child, depth, out)


def _trimmed(block: HtmlElement, list_items: int | None) -> HtmlElement:
    cleaned = _clean(block)
    if list_items and cleaned.tag in ("ul", "ol"):
        for extra in cleaned[list_items:]:
            cleaned.remove(extra)
    return cleaned


def _render(blocks: list[tuple[int, HtmlElement]]) -> tuple[str, str]:
    parts, texts = [], []
    top = min((d for d, b in blocks if b.tag in _HEADINGS), default=0)
    for depth, block in blocks:
        if block.tag in _HEADINGS:
            tag = "h2" if depth <= top else "h3"
            text = _text(block)
            parts.append(f"<{tag}>{_esc(text)}</{tag}>")
            texts.append(text)
            continue
        parts.append(lxml.html.tostring(block, encoding="unicode", method="html").strip())
        texts.append(block.text_content().strip("\n") if block.tag == "pre" else _text(block))
    return "\n".join(parts), "\n".join(t for t in texts if t)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _size(text: str, lang: str) -> int:
    return len(text) if lang in ("zh", "ja") else len(text.split())


def cut_page(
    root: HtmlElement,
    title: str,
    source: str,
    budget: int,
    lang: str = "en",
    list_items: int | None = None,
    must_have: tuple[str, ...] = (),
) -> DocPage | None:
    """The first blocks under ``root`` up to ``budget`` words (characters for zh/ja), cut at a block.

    ``must_have`` names tags (``pre``, ``table``, ``dl``) the page must contain; None when it does not.
    """
    flat: list[tuple[int, HtmlElement]] = []
    _flatten(root, 0, flat)
    chosen: list[tuple[int, HtmlElement]] = []
    size = 0
    for depth, block in flat:
        cleaned = _trimmed(block, list_items)
        if block.tag == "h1" or (block.tag in _HEADINGS and _text(cleaned) in title):
            continue  # the page's own title: the template renders it as the page's h1
        if size >= budget and block.tag in _HEADINGS:
            break
        block_size = _size(_text(cleaned), lang)
        if block_size > budget and size:
            continue  # one huge block (a class with all its methods) would make the page a book
        chosen.append((depth, cleaned))
        size += block_size
    while chosen and chosen[-1][1].tag in _HEADINGS:
        chosen.pop()
    tags = {b.tag for _, b in chosen}
    if any(tag not in tags for tag in must_have):
        return None
    markup, text = _render(chosen)
    return DocPage(title, markup, text, source)


def sphinx_title(root: HtmlElement) -> str:
    heading = root.xpath('//div[@class="body"]//h1')
    return _clean_heading(_text(heading[0])) if heading else ""


def _clean_heading(text: str) -> str:
    return text.replace("¶", "").strip()


def sphinx_body(path: Path) -> HtmlElement:
    tree = _parse(str(path))
    body = tree.xpath('//div[@class="body"]/section')
    return body[0] if body else tree


def cjk_share(text: str) -> float:
    letters = [c for c in text if not c.isspace()]
    return sum(1 for c in letters if _CJK.match(c)) / max(1, len(letters))


def debian_reference_sections(lang: str) -> list[tuple[str, HtmlElement, str]]:
    """(title, element, source) of every second-level section of the Debian Reference in ``lang``."""
    out = []
    for path in debian_reference_files(lang):
        tree = _parse(str(path))
        for section in tree.xpath('//div[@class="chapter"]/div[@class="section"]'):
            heading = section.xpath('./div[@class="titlepage"]//h2')
            if heading:
                out.append((_text(heading[0]), section, f"{path.name}#{len(out)}"))
    return out

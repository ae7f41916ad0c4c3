"""Documentation pages of the quality site, the content a user points corpusforge at and wants KEPT.

* ``reference``: library-reference pages from Python's HTML documentation (signatures, parameter
  lists, examples in ``<pre>``, tables), cut to the length of one web page;
* ``api_reference``: generated API references of standard-library modules, read with ``ast``: mostly
  signatures in code blocks, one sentence of prose each;
* ``changelog``: releases from Python's changelog (version heading, bullet lists of changes);
* ``faq``: Python's FAQ pages (question headings and their answers);
* ``reference`` in ``zh`` and ``ja``: sections of the Debian Reference in Chinese and Japanese.
"""

from __future__ import annotations

import ast
import copy
import html
import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import lxml.html

from corpusforge.connectors.sample_site.harvest_html import (
    DocPage,
    _parse,
    cjk_share,
    cut_page,
    debian_reference_sections,
    python_html_root,
    sphinx_body,
    sphinx_title,
)

# Library pages whose first 2,000 words hold signatures, code examples and a table.
REFERENCE_MODULES = (
    "array",
    "struct",
    "operator",
    "hashlib",
    "collections.abc",
    "webbrowser",
    "argparse",
    "codecs",
    "warnings",
    "collections",
)
API_MODULES = ("shutil", "textwrap", "fnmatch", "heapq", "bisect", "base64", "glob", "shlex")
FAQ_PAGES = ("general", "programming", "design", "library", "extending", "windows")
DOC_COUNTS = {"reference": 4, "api_reference": 2, "changelog": 2, "faq": 2}
CJK_DOC_COUNT = 3
CJK_MIN_CHARS = 1500


@dataclass(frozen=True)
class DocDraft:
    kind: str
    language: str
    page: DocPage
    prefix: str


def _reference_pages(rng: random.Random) -> list[DocDraft]:
    root = python_html_root() / "library"
    names = list(REFERENCE_MODULES)
    rng.shuffle(names)
    out = []
    for name in names:
        path = root / f"{name}.html"
        if not path.exists():
            continue
        page = cut_page(
            sphinx_body(path), sphinx_title(_parse(str(path))), str(path), 2000, must_have=("pre", "table", "dl")
        )
        if page is not None:
            out.append(DocDraft("reference", "en", page, "/docs/library/"))
        if len(out) == DOC_COUNTS["reference"]:
            break
    return out


def _changelog_pages(rng: random.Random) -> list[DocDraft]:
    """Three consecutive releases per page, each a version heading with its lists of changes."""
    path = python_html_root() / "whatsnew" / "changelog.html.gz"
    if not path.exists():
        path = path.with_suffix("")
    releases = sphinx_body(path).xpath("./section")[:30]
    out = []
    for start in sorted(rng.sample(range(0, len(releases) - 3, 3), DOC_COUNTS["changelog"])):
        group = lxml.html.Element("div")
        group.extend(copy.deepcopy(r) for r in releases[start : start + 3])
        versions = [
            " ".join(r.xpath("./h2")[0].text_content().replace("¶", "").split()) for r in releases[start : start + 3]
        ]
        title = f"Changelog: {versions[-1]} to {versions[0].removeprefix('Python ')}"
        page = cut_page(group, title, str(path), 1500, list_items=4)
        out.append(DocDraft("changelog", "en", page, "/docs/changelog/"))
    return out


def _faq_pages(rng: random.Random) -> list[DocDraft]:
    root = python_html_root() / "faq"
    out = []
    for name in rng.sample(FAQ_PAGES, DOC_COUNTS["faq"]):
        path = root / f"{name}.html"
        page = cut_page(sphinx_body(path), sphinx_title(_parse(str(path))), str(path), 1500)
        out.append(DocDraft("faq", "en", page, "/docs/faq/"))
    return out


def _signature(node: ast.FunctionDef | ast.ClassDef) -> str:
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        return f"class {node.name}({bases})" if bases else f"class {node.name}"
    return f"def {node.name}({ast.unparse(node.args)})"


def _first_sentence(doc: str) -> str:
    first = " ".join(doc.strip().split("\n\n")[0].split())
    end = first.find(". ")
    return first[: end + 1] if end > 0 else first


def _api_entry(node: ast.FunctionDef | ast.ClassDef) -> str:
    """A heading and a code block: the signature with the docstring's first sentence, as autodoc tools show it."""
    doc = _first_sentence(ast.get_docstring(node) or "")
    code = _signature(node) + ":" + (f'\n    """{doc}"""' if doc else "\n    ...")
    return f"<h3>{html.escape(node.name, quote=False)}</h3>\n<pre><code>{html.escape(code, quote=False)}</code></pre>"


def _api_page(module: str) -> DocPage | None:
    path = Path(sysconfig.get_paths()["stdlib"]) / f"{module}.py"
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError):
        return None
    public = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef) and not n.name.startswith("_")]
    functions = [n for n in public if isinstance(n, ast.FunctionDef)]
    classes = [n for n in public if isinstance(n, ast.ClassDef)]
    if len(functions) < 5:
        return None
    doc = ast.get_docstring(tree) or f"The {module} module."
    intro = f"{_first_sentence(doc)} This page lists the module's public functions and classes with their signatures."
    parts = [f"<p>{html.escape(intro, quote=False)}</p>", f"<pre><code>import {module}</code></pre>"]
    parts.append("<h2>Functions</h2>")
    parts += [_api_entry(n) for n in functions]
    if classes:
        parts.append("<h2>Classes</h2>")
        for cls in classes:
            parts.append(_api_entry(cls))
            methods = [m for m in cls.body if isinstance(m, ast.FunctionDef) and not m.name.startswith("_")]
            if methods:
                lines = "\n".join(f"    {_signature(m)}" for m in methods)
                parts.append(f"<pre><code>{html.escape(_signature(cls))}:\n{html.escape(lines)}</code></pre>")
    markup = "\n".join(parts)
    text = "\n".join(lxml_text(markup))
    return DocPage(f"{module} API reference", markup, text, str(path))


def lxml_text(markup: str) -> list[str]:
    fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
    return [" ".join(child.text_content().split()) for child in fragment]


def _api_pages(rng: random.Random) -> list[DocDraft]:
    names = list(API_MODULES)
    rng.shuffle(names)
    pages = [page for page in map(_api_page, names) if page is not None]
    return [DocDraft("api_reference", "en", page, "/docs/api/") for page in pages[: DOC_COUNTS["api_reference"]]]


def _cjk_pages(lang: str, rng: random.Random) -> list[DocDraft]:
    sections = debian_reference_sections(lang)
    order = list(range(len(sections)))
    rng.shuffle(order)
    out = []
    for index in order:
        title, element, source = sections[index]
        page = cut_page(element, title, source, 2500, lang=lang)
        if page is None or len(page.text) < CJK_MIN_CHARS or cjk_share(page.text) < 0.3:
            continue
        out.append(DocDraft("reference", lang, page, f"/{lang}/docs/"))
        if len(out) == CJK_DOC_COUNT:
            break
    return out


def documentation_drafts(seed: int) -> list[DocDraft]:
    """Every documentation page of the quality site, in a fixed order for a given seed."""
    rng = random.Random(f"docs:{seed}")
    return [
        *_reference_pages(rng),
        *_api_pages(rng),
        *_changelog_pages(rng),
        *_faq_pages(rng),
        *_cjk_pages("zh", rng),
        *_cjk_pages("ja", rng),
    ]

"""Where the prose comes from: the list of source files per language, each parsed once (cached)."""

from __future__ import annotations

import sys
import sysconfig
from functools import cache
from pathlib import Path

from corpusforge.connectors.sample_site.harvest_man import _parse_man_page
from corpusforge.connectors.sample_site.harvest_rst import _parse_python_module, _parse_rst_file
from corpusforge.connectors.sample_site.text import MAN_ROOT, Block


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


_NOT_PROSE_PAGES = ("debian-reference.",)


@cache
def _man_sources(lang: str) -> tuple[tuple[str, str, str], ...]:
    root = MAN_ROOT / lang
    # debian-reference ships a translated page about itself; leaving it out keeps the site the same
    # whether or not that package (needed for the zh/ja pages of the quality site) is installed.
    files = (
        sorted(p for p in root.glob("man*/*.gz") if not p.name.startswith(_NOT_PROSE_PAGES)) if root.is_dir() else []
    )
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

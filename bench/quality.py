"""Corpus quality benchmark: what share of real documentation, of articles and of junk reaches
the RAG export and the training export, under each filter profile.

Sets (every page goes through the real clean step: decoding, trafilatura extraction, language
ID, every signal and filter; then each export's default gate, `processing.gates`):
  (a) docs      Python's HTML documentation (python3.11-doc), every page with >= 150 words of text
  (a') docs, no index pages: the same without the generated index and table-of-contents pages
                (genindex-*, py-modindex, contents, */index.html), which the filters treat as
                site navigation (kept for RAG, out of training)
  (b) articles  the article-like pages of the same docs: HOWTOs, the tutorial, What's New
  (c) cjk docs  Debian Reference in Chinese and Japanese (debian-reference-zh-cn / -ja)
  (d) junk      the quality sample site's junk pages (soft 404s, walls, link farms, tag clouds,
                lorem ipsum, filler, keyword stuffing, gibberish, price lists, stubs, repeated
                lines, spam, thin pages), English, Chinese and Japanese

Duplicates are not part of this measure (dedup is a later stage with its own benchmark).
Targets with the default profile (domain): docs and articles >= 97 % in RAG and >= 92 % in
training; junk <= 5 % in either.

    .venv/bin/python bench/quality.py [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpusforge.connectors.sample_site import generate_site  # noqa: E402
from corpusforge.processing.clean import CleanConfig, clean_page  # noqa: E402
from corpusforge.processing.gates import build_gate, gated_reasons  # noqa: E402
from corpusforge.processing.quality import PROFILES, merge_thresholds  # noqa: E402

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
DEBIAN_REFERENCE = Path("/usr/share/debian-reference")
ARTICLE_PREFIXES = ("howto/", "tutorial/", "whatsnew/")
INDEX_PAGES = ("genindex", "py-modindex", "contents.html", "index.html", "search.html")
MIN_WORDS = 150


def _page(path: Path, url: str) -> dict:
    return {"page_id": url, "url": url, "final_url": url, "source": "bench", "body": path.read_bytes(),
            "content_type": "text/html"}  # fmt: skip


def _clean_all(item: tuple[str, str, str]) -> tuple[str, dict[str, list[str]], int]:
    """Clean one page under every profile: (label, {profile: drop reasons}, word count)."""
    label, path, url = item
    out, words = {}, 0
    for profile in PROFILES:
        config = CleanConfig(thresholds=merge_thresholds(profile), profile=profile)
        doc = clean_page(_page(Path(path), url), config, config.pipeline_version())
        out[profile] = doc["drop_reasons"]
        words = len((doc.get("text") or "").split()) if profile == "domain" else words
    return label, out, words


def _python_docs() -> list[tuple[str, str, str]]:
    items = []
    for path in sorted(PYTHON_DOCS.rglob("*.html")):
        rel = path.relative_to(PYTHON_DOCS).as_posix()
        if rel.startswith("_"):
            continue
        label = "articles" if rel.startswith(ARTICLE_PREFIXES) else "docs"
        items.append((f"{label}|{rel}", str(path), f"http://docs.python.local/{rel}"))
    return items


def _cjk_docs() -> list[tuple[str, str, str]]:
    paths = sorted(DEBIAN_REFERENCE.glob("*.zh-cn.html")) + sorted(DEBIAN_REFERENCE.glob("*.ja.html"))
    return [(f"cjk|{p.name}", str(p), f"http://debian-reference.local/{p.name}") for p in paths]


def _junk(site: Path) -> list[tuple[str, str, str]]:
    manifest = generate_site(site, pages=30, seed=0, quality=True)
    return [
        (f"junk|{e['kind']}|{e['language']}", str(site / e["path"]), f"http://sample.local{e['url_path']}")
        for e in manifest["articles"]
        if e["expected"] == "drop"
    ]


def _share(rows: list[dict[str, list[str]]], target: str, profile: str) -> float:
    gate = build_gate(target, None)
    return sum(1 for r in rows if not gated_reasons(r[profile], gate, profile)) / len(rows) if rows else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        items = _python_docs() + _cjk_docs() + _junk(Path(tmp) / "site")
        start = time.perf_counter()
        with Pool(args.workers) as pool:
            results = pool.map(_clean_all, items, chunksize=4)
        took = time.perf_counter() - start
    sets: dict[str, list[dict]] = {"docs": [], "docs, no index pages": [], "articles": [], "cjk docs": [], "junk": []}
    missed: dict[str, list[tuple[str, list[str]]]] = {}
    for label, reasons, words in results:
        kind, name = label.split("|", 1)
        if kind in ("docs", "articles") and words < MIN_WORDS:
            continue
        sets[{"articles": "docs", "cjk": "cjk docs"}.get(kind, kind)].append(reasons)
        if kind == "articles":
            sets["articles"].append(reasons)
        if kind in ("docs", "articles") and not name.split("/")[-1].startswith(INDEX_PAGES):
            sets["docs, no index pages"].append(reasons)
        if kind != "junk" and reasons["domain"]:
            missed.setdefault(kind, []).append((name, reasons["domain"]))
        if kind == "junk" and not gated_reasons(reasons["domain"], build_gate("rag", None), "domain"):
            missed.setdefault("junk", []).append((name, reasons["domain"]))
    print(f"cleaned {len(results)} pages x {len(PROFILES)} profiles in {took:.1f} s ({args.workers} workers)\n")
    print(f"{'set':<22} {'pages':>6}  " + "  ".join(f"{p + ' RAG':>11} {p + ' training':>16}" for p in PROFILES))
    for name, rows in sets.items():
        cells = "  ".join(f"{_share(rows, 'rag', p):>11.1%} {_share(rows, 'training', p):>16.1%}" for p in PROFILES)
        print(f"{name:<22} {len(rows):>6}  {cells}")
    print("\ntargets (domain): docs and articles >= 97% RAG, >= 92% training; junk <= 5% in either")
    for kind, pages in missed.items():
        label = "junk reaching RAG" if kind == "junk" else f"{kind} with any drop reason (domain)"
        print(f"\n{label}: {len(pages)}")
        for name, reasons in pages[:40]:
            print(f"  {name}: {', '.join(reasons)}")


if __name__ == "__main__":
    main()

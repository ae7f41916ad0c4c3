"""The dedup benchmark's labelled data set (bench/dedup.py): real prose from Python's HTML
documentation (/usr/share/doc/python3.11/html), originals, copies with controlled edits whose
true word-5-gram Jaccard is computed exactly, and unrelated documents."""

from __future__ import annotations

import html
import itertools
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpusforge.processing.dedup import normalize_text, word_shingles  # noqa: E402

DOCS_HTML = Path("/usr/share/doc/python3.11/html")
BOILERPLATE = (
    "Share this page with your friends and colleagues. Subscribe to our newsletter for updates. "
    "All rights reserved. Cookie settings. Privacy policy. Terms of use. Contact us."
)
SUBSTITUTES = ("value", "thing", "object", "system", "method", "result", "module", "option", "string", "number")


# ---- data set --------------------------------------------------------------------------------


def prose_chunks(min_words: int = 40, max_words: int = 300) -> list[list[str]]:
    """Paragraph lists of ~40-300 words from Python's documentation, exact duplicates removed."""
    tag = re.compile(r"<[^>]+>")
    chunks, seen = [], set()
    for path in sorted(DOCS_HTML.rglob("*.html")):
        raw = path.read_text(encoding="utf-8", errors="replace")
        body = raw.split('role="main"', 1)[-1]
        paras = [html.unescape(tag.sub(" ", p)) for p in re.findall(r"<p>(.*?)</p>", body, flags=re.S)]
        paras = [" ".join(p.split()) for p in paras if len(p.split()) >= 12]
        current: list[str] = []
        for para in paras:
            current.append(para)
            words = sum(len(p.split()) for p in current)
            if words >= min_words:
                if words <= max_words:
                    key = normalize_text(" ".join(current))
                    if key not in seen:
                        seen.add(key)
                        chunks.append(current)
                current = []
    return chunks


def edit(paras: list[str], rate: float, rng: random.Random, kind: str) -> str:
    """A copy with `rate` of its words edited (substitute/insert/delete), or paragraphs
    reordered, or boilerplate appended, plus the word edits."""
    paras = list(paras)
    if kind == "reorder" and len(paras) > 1:
        rng.shuffle(paras)
    words = " \n".join(paras).split(" ")
    for _ in range(max(0, round(rate * len(words)))):
        pos = rng.randrange(len(words))
        op = rng.random()
        if op < 0.5:
            words[pos] = rng.choice(SUBSTITUTES)
        elif op < 0.75:
            words.insert(pos, rng.choice(SUBSTITUTES))
        elif len(words) > 10:
            del words[pos]
    text = " ".join(words)
    if kind == "boilerplate":
        text += "\n" + BOILERPLATE
    return text


def jaccard_sets(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if (a or b) else 1.0


def build_dataset(n_docs: int, seed: int = 0) -> tuple[list[dict], dict[tuple[str, str], float], list[list[str]]]:
    """(documents, true Jaccard of every within-family pair, unused chunks for later additions)."""
    rng = random.Random(seed)
    pieces = prose_chunks(40, 300)
    # Python's documentation has ~12k such paragraph groups: a document joins three of them, so
    # documents sharing one piece overlap a little (Jaccard ~0.2), as real pages do.
    chunks = [sum(rng.sample(pieces, 3), []) for _ in range(n_docs)]
    # a family: one original and 1-3 copies (2 on average); a quarter of the documents unrelated
    n_unrelated = n_docs // 4
    n_families = (n_docs - n_unrelated) // 3
    docs, truth = [], {}
    rates = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2)
    kinds = ("words", "words", "reorder", "boilerplate")
    for fam in range(n_families):
        paras = chunks[fam]
        members = [(f"f{fam:06d}-0", " \n".join(paras))]
        for k in range(1, 1 + rng.choice((1, 2, 2, 3))):
            members.append((f"f{fam:06d}-{k}", edit(paras, rng.choice(rates), rng, rng.choice(kinds))))
        shingles = {doc_id: word_shingles(text) for doc_id, text in members}
        for (a, _), (b, _) in itertools.combinations(members, 2):
            truth[(a, b)] = jaccard_sets(shingles[a], shingles[b])
        docs.extend({"id": doc_id, "text": text} for doc_id, text in members)
    for i in range(n_docs - len(docs)):
        docs.append({"id": f"u{i:06d}", "text": " \n".join(chunks[n_families + i])})
    return docs[:n_docs], truth, chunks[n_families + n_unrelated :]

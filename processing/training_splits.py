"""Splits by cluster (or document or URL): a stable hash of the key picks the split, so every
document of a duplicate cluster lands in the same split and a rerun gives the same assignment."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from corpusforge.processing.training_config import SPLIT_ORDER, Example, FormatConfig


def split_key(doc: Mapping[str, Any], split_by: str) -> str:
    """What the split hashes: the cluster id, or the URL's domain (a whole site in one split)."""
    if split_by == "domain":
        host = (urlsplit(doc.get("url") or "").hostname or "").removeprefix("www.")
        return f"domain:{host}"
    return f"cluster:{doc.get('cluster_id') or doc['doc_id']}"


def hash_fraction(key: str, salt: str = "") -> float:
    """A stable number in [0, 1) for a key (same on every machine and run)."""
    digest = hashlib.sha256(f"{salt}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_for(key: str, ratios: Mapping[str, float], salt: str = "") -> str:
    ordered = [(name, ratios[name]) for name in SPLIT_ORDER if ratios.get(name, 0) > 0]
    total = sum(r for _, r in ordered)
    point = hash_fraction(key, salt) * total
    upto = 0.0
    for name, ratio in ordered:
        upto += ratio
        if point < upto:
            return name
    return ordered[-1][0]


def labelled_clusters(docs: Iterable[Mapping[str, Any]]) -> set[str]:
    """The clusters of the selected documents that a human labelled (the test split with
    labelled_as_test): taken from the whole selection, so a group of documents built on its own
    gets the same splits as the whole."""
    return {d.get("cluster_id") for d in docs if d.get("labelled")}


def assign_splits(examples: list[Example], cfg: FormatConfig, labelled: set[str] | None = None) -> Counter:
    """Set each example's split; all examples of one cluster get the same split (they share the
    key). With labelled_as_test, the `labelled` clusters (by default those of the examples' own
    labelled documents) form the test split and the others share the remaining ratios."""
    ratios = dict(cfg.splits)
    labelled_clusters_ = set()
    if cfg.labelled_as_test:
        labelled_clusters_ = labelled if labelled is not None else labelled_clusters(e.doc for e in examples)
        ratios.pop("test", None)
    counts: Counter = Counter()
    for example in examples:
        if example.doc.get("cluster_id") in labelled_clusters_:
            example.split = "test"
        else:
            example.split = split_for(split_key(example.doc, cfg.split_by), ratios, cfg.split_salt)
        counts[example.split] += 1
    return counts

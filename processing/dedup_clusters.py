"""Clusters of duplicates and the dedup stage's incremental plan: pure functions over members,
verified pairs and the stored index rows.

- `UnionFind` and `cluster_assignments`: connected components, the representative rule and the
  `clusters` rows (stable cluster id = smallest doc_id).
- `documents_to_sign`, `documents_to_unindex`, `seed_documents`: what changed since the index
  was last updated, so that only the affected clusters are recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from corpusforge.processing.dedup import estimated_jaccard

# ---------------------------------------------------------------------------------------------
# 5. Clusters
# ---------------------------------------------------------------------------------------------


class UnionFind:
    """Disjoint sets with path halving and union by size."""

    def __init__(self, items: Iterable[str] = ()):
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}
        for item in items:
            self.add(item)

    def add(self, item: str) -> None:
        if item not in self.parent:
            self.parent[item] = item
            self.size[item] = 1

    def find(self, item: str) -> str:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]

    def components(self) -> list[list[str]]:
        groups: dict[str, list[str]] = {}
        for item in self.parent:
            groups.setdefault(self.find(item), []).append(item)
        return [sorted(members) for members in groups.values()]


@dataclass(frozen=True)
class Member:
    """What the representative rule and the cluster rows need to know about a document."""

    doc_id: str
    content_hash: str | None
    exact_hash: str
    quality_score: float | None = None
    fetched_at: datetime | None = None


_LATEST = datetime.max


def representative_key(m: Member) -> tuple:
    """The representative rule: highest quality_score (missing counts as lowest), then the
    earliest fetched_at (missing counts as latest), then the smallest doc_id. Deterministic,
    and independent of input order."""
    quality = m.quality_score if m.quality_score is not None else float("-inf")
    fetched = m.fetched_at.replace(tzinfo=None) if m.fetched_at is not None else _LATEST
    return (-quality, fetched, m.doc_id)


def cluster_assignments(
    members: Sequence[Member],
    near_edges: Iterable[tuple[str, str, float]],
    sig_of: dict[str, np.ndarray],
) -> list[dict]:
    """One `clusters` row (without run id and time) per member.

    Members with the same exact hash are joined; `near_edges` join exact groups (pairs of
    exact hashes). Cluster id: the smallest doc_id. Each non-representative names the
    representative, `exact_duplicate_of` when its normalised text equals the representative's,
    else `near_duplicate_of`, with the estimated Jaccard similarity to the representative.
    """
    uf = UnionFind(m.doc_id for m in members)
    first_of_group: dict[str, str] = {}
    for m in members:
        leader = first_of_group.setdefault(m.exact_hash, m.doc_id)
        uf.union(leader, m.doc_id)
    for a, b, _sim in near_edges:
        if a in first_of_group and b in first_of_group:
            uf.union(first_of_group[a], first_of_group[b])
    by_id = {m.doc_id: m for m in members}
    rows = []
    for component in uf.components():
        group = [by_id[d] for d in component]
        rep = min(group, key=representative_key)
        rows.extend(_component_rows(group, rep, sig_of))
    return rows


def _component_rows(group: list[Member], rep: Member, sig_of: dict[str, np.ndarray]) -> list[dict]:
    cluster_id = min(m.doc_id for m in group)
    size = len(group)
    all_exact = all(m.exact_hash == rep.exact_hash for m in group)
    rows = []
    for m in group:
        row = {
            "doc_id": m.doc_id,
            "content_hash": m.content_hash,
            "cluster_id": cluster_id,
            "cluster_size": size,
            "removed": False,
        }
        if m.doc_id == rep.doc_id:
            # A representative's method says how its cluster was formed ("unique": alone).
            method = "unique" if size == 1 else ("exact" if all_exact else "near")
            row.update(is_representative=True, method=method, duplicate_of=None, reason=None, similarity=None)
        elif m.exact_hash == rep.exact_hash:
            row.update(
                is_representative=False,
                method="exact",
                duplicate_of=rep.doc_id,
                reason="exact_duplicate_of",
                similarity=1.0,
            )
        else:
            sim = estimated_jaccard(sig_of[m.exact_hash], sig_of[rep.exact_hash])
            row.update(
                is_representative=False,
                method="near",
                duplicate_of=rep.doc_id,
                reason="near_duplicate_of",
                similarity=round(sim, 6),
            )
        rows.append(row)
    return rows


def removed_row(doc_id: str, previous: dict) -> dict:
    """The row that takes a document out of its cluster (tombstoned or no longer kept)."""
    return {
        "doc_id": doc_id,
        "content_hash": previous.get("content_hash"),
        "cluster_id": previous.get("cluster_id") or doc_id,
        "cluster_size": None,
        "is_representative": False,
        "method": None,
        "duplicate_of": None,
        "reason": None,
        "similarity": None,
        "removed": True,
    }


ASSIGNMENT_FIELDS = (
    "content_hash",
    "cluster_id",
    "cluster_size",
    "is_representative",
    "method",
    "duplicate_of",
    "reason",
    "similarity",
    "removed",
)


def assignment_changed(new: dict, previous: dict | None) -> bool:
    """True when a document's cluster assignment differs from its latest stored row."""
    if previous is None:
        return True
    for field in ASSIGNMENT_FIELDS:
        a, b = new.get(field), previous.get(field)
        if field == "removed":  # null and False both mean "in a cluster"
            a, b = bool(a), bool(b)
        if isinstance(a, float) and isinstance(b, float):
            if abs(a - b) > 1e-9:
                return True
        elif a != b:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# 6. Incremental planning: which documents to sign, which clusters to recompute
# ---------------------------------------------------------------------------------------------


def documents_to_sign(active: Iterable[dict], index: dict[str, dict], params_key: str) -> list[str]:
    """Active documents whose signature is missing or stale: new, changed content, changed
    ranking fields (quality_score, fetched_at), removed earlier, or signed with other params."""
    out = []
    for doc in active:
        row = index.get(doc["doc_id"])
        if (
            row is None
            or row.get("removed")
            or row.get("params") != params_key
            or row.get("content_hash") != doc.get("content_hash")
            or row.get("quality_score") != doc.get("quality_score")
            or row.get("fetched_at") != doc.get("fetched_at")
        ):
            out.append(doc["doc_id"])
    return sorted(out)


def documents_to_unindex(active_ids: set[str], index: dict[str, dict]) -> list[str]:
    """Indexed documents that are no longer active (tombstoned, or dropped by a re-clean)."""
    return sorted(d for d, row in index.items() if not row.get("removed") and d not in active_ids)


def seed_documents(
    active: Iterable[dict], latest_clusters: dict[str, dict], signed: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(seeds, gone): documents whose cluster must be recomputed, and clustered documents that
    left (no longer active). A seed is a freshly signed document or one whose latest clusters
    row is missing, removed or of another version (e.g. after a run that stopped half-way)."""
    seeds = set(signed)
    active_ids = set()
    for doc in active:
        active_ids.add(doc["doc_id"])
        row = latest_clusters.get(doc["doc_id"])
        if row is None or row.get("removed") or row.get("content_hash") != doc.get("content_hash"):
            seeds.add(doc["doc_id"])
    gone = sorted(d for d, row in latest_clusters.items() if not row.get("removed") and d not in active_ids)
    return sorted(seeds | set(gone)), gone

"""Clusters of duplicates and the dedup stage's incremental plan: pure functions over members,
verified pairs and the stored index rows.

- `cluster_assignments`: clusters built around representatives, and the `clusters` rows
  (stable cluster id = smallest doc_id). Connected components are not used: they chain copies
  that are each similar to an original but not to each other.
- `removed_row`, `assignment_changed`: the rows that take a document out, and whether a
  recomputed assignment differs from the stored one (only changed rows are written).

What changed since the last run (which documents to sign, which clusters to redo) is asked of
the warehouse in SQL (`warehouse/dedup_index.py`): no Python record per indexed document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

# ---------------------------------------------------------------------------------------------
# 5. Clusters
# ---------------------------------------------------------------------------------------------


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


def cluster_assignments(members: Sequence[Member], near_edges: Iterable[tuple[str, str, float]]) -> list[dict]:
    """One `clusters` row (without run id and time) per member.

    Members with the same exact hash form an exact group (same shingles, same similarities),
    led by its best member under the representative rule. `near_edges` are verified pairs of
    exact hashes with their exact Jaccard. Groups are taken in representative order; a group
    not yet in a cluster becomes a representative, and each of its near neighbours not yet in a
    cluster joins it: every member's similarity to its representative reaches the threshold.
    The result depends only on the members and edges given, not on their order, so a run over
    a union of whole components of the edge graph equals a full run on them.
    """
    groups: dict[str, list[Member]] = {}
    for m in members:
        groups.setdefault(m.exact_hash, []).append(m)
    leaders = {h: min(group, key=representative_key) for h, group in groups.items()}
    neighbours: dict[str, dict[str, float]] = {h: {} for h in groups}
    for a, b, sim in near_edges:
        if a in neighbours and b in neighbours:
            neighbours[a][b] = sim
            neighbours[b][a] = sim
    cluster_of: dict[str, str] = {}  # exact hash -> the exact hash that represents its cluster
    for h in sorted(groups, key=lambda g: representative_key(leaders[g])):
        if h in cluster_of:
            continue
        cluster_of[h] = h
        for other in neighbours[h]:
            cluster_of.setdefault(other, h)
    clustered: dict[str, list[str]] = {}
    for h, rep in cluster_of.items():
        clustered.setdefault(rep, []).append(h)
    rows = []
    for rep, hashes in clustered.items():
        group = [m for h in hashes for m in groups[h]]
        similarity = {h: neighbours[rep].get(h, 1.0) for h in hashes}
        rows.extend(_cluster_rows(group, leaders[rep], similarity))
    return rows


def _cluster_rows(group: list[Member], rep: Member, similarity: dict[str, float]) -> list[dict]:
    """Rows of one cluster; `similarity` maps each exact hash to its Jaccard with the representative's."""
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
            row.update(
                is_representative=False,
                method="near",
                duplicate_of=rep.doc_id,
                reason="near_duplicate_of",
                similarity=round(similarity[m.exact_hash], 6),
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

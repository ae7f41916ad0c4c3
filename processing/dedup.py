"""Exact and near-duplicate detection: pure functions over texts, signatures and pairs.

The pieces, in the order the dedup stage uses them:

1. `normalize_text`: datatrove's `simplify_text` (lowercase, digits folded to "0", punctuation to
   spaces, whitespace collapsed, diacritics stripped), so that trivially different copies match.
2. `exact_hash`: a hash of the normalised text. Documents with the same exact hash form an
   "exact group"; they have identical shingles, hence identical signatures.
3. `shingle_hashes`: word n-grams (default 5) of the normalised text, each hashed to 32 bits with
   numpy (one hash per word, combined per n-gram), not with a Python call per shingle.
4. `signatures`: datasketch MinHash signatures computed in bulk (`MinHash.bulk`), optionally
   one batch at a time (`signature_batch`); the stage spreads batches over its worker processes.
5. `lsh_bands`: bands x rows from datasketch's optimal-parameter search for the threshold;
   `band_hashes` hashes each band of a signature to one int64 (candidates collide on it).
6. `estimated_jaccard`: fraction of equal signature slots, to verify candidate pairs.
7. `UnionFind` and `cluster_assignments`: connected components, the representative rule and
   the `clusters` rows (stable cluster id = smallest doc_id).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np

# ---------------------------------------------------------------------------------------------
# 1. Normalisation (datatrove's simplify_text with its default TextNormConfig)
# ---------------------------------------------------------------------------------------------

# Unicode punctuation and symbols become spaces (datatrove maps its PUNCTUATION list to spaces;
# we take the whole P* and S* categories of the Basic Multilingual Plane, plus control chars).
_PUNCT_TO_SPACE = {
    cp: " " for cp in range(0x10000) if unicodedata.category(chr(cp))[0] in "PSC" and not chr(cp).isspace()
}
_NUMBERS = re.compile(r"\d+(?:[.,،٫]\d+)?")  # a number, with an optional decimal part, becomes "0"
_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str | None) -> str:
    """Fold case, numbers, punctuation, whitespace and diacritics (datatrove's simplify_text)."""
    if not text:
        return ""
    text = _NUMBERS.sub("0", text.lower()).translate(_PUNCT_TO_SPACE)
    text = _WHITESPACE.sub(" ", text).strip()
    if not text.isascii():
        # NFD splits "é" into "e" + a combining mark (category Mn), which is dropped.
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return text


def exact_hash(normalized: str) -> str:
    """Hash identifying an exact group: documents whose normalised texts are equal."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


# ---------------------------------------------------------------------------------------------
# 2. Shingles
# ---------------------------------------------------------------------------------------------

_U64 = np.uint64
_NGRAM_MULTIPLIER = _U64(0x9E3779B97F4A7C15)  # odd 64-bit constant of the polynomial n-gram hash


class _WordHashes(dict):
    """word -> stable 64-bit hash; a per-process cache, since prose reuses a small vocabulary."""

    max_words = 2_000_000

    def __missing__(self, word: str) -> int:
        if len(self) >= self.max_words:
            self.clear()
        value = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
        self[word] = value
        return value


_word_hashes = _WordHashes()


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads the polynomial hash over all bits."""
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> _U64(33))


def shingle_hashes(normalized: str, ngram: int = 5) -> np.ndarray:
    """Distinct 32-bit hashes of the word n-grams of a normalised text (sorted, uint32).

    A text shorter than `ngram` words is one shingle of all its words; an empty text has none.
    """
    words = normalized.split()
    if not words:
        return np.empty(0, dtype=np.uint32)
    word_hashes = np.fromiter(map(_word_hashes.__getitem__, words), dtype=_U64, count=len(words))
    span = min(ngram, len(words))
    count = len(words) - span + 1
    with np.errstate(over="ignore"):  # uint64 wrap-around is the intended arithmetic
        combined = word_hashes[:count].copy()
        for k in range(1, span):
            combined = combined * _NGRAM_MULTIPLIER + word_hashes[k : k + count]
        mixed = _fmix64(combined)
    return np.unique((mixed >> _U64(32)).astype(np.uint32))


def word_shingles(text: str, ngram: int = 5) -> set[tuple[str, ...]]:
    """The word n-gram set of a text after normalisation: the ground truth of `true_jaccard`."""
    words = normalize_text(text).split()
    if len(words) < ngram:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + ngram]) for i in range(len(words) - ngram + 1)}


def true_jaccard(a: str, b: str, ngram: int = 5) -> float:
    """Exact Jaccard similarity of two texts' shingle sets (what MinHash estimates)."""
    sa, sb = word_shingles(a, ngram), word_shingles(b, ngram)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


# ---------------------------------------------------------------------------------------------
# 3. Signatures (datasketch, in bulk)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinHashParams:
    ngram: int = 5
    num_perm: int = 128
    seed: int = 1
    threshold: float = 0.8
    false_negative_weight: float = 0.95

    @property
    def bands_rows(self) -> tuple[int, int]:
        return lsh_bands(self.threshold, self.num_perm, self.false_negative_weight)

    @property
    def key(self) -> str:
        """Identifies signatures that can be compared with each other (stored with each one)."""
        bands, rows = self.bands_rows
        return f"n{self.ngram}-p{self.num_perm}-s{self.seed}-b{bands}r{rows}"


def signatures(texts: Sequence[str], params: MinHashParams) -> tuple[list[str], np.ndarray]:
    """(exact hashes, uint32 signature matrix of shape (len(texts), num_perm)) for raw texts.

    The n-gram hashes are already uniform 32-bit values, so datasketch gets `int` as its hash
    function and applies only its permutations and min-reduction, in bulk per document.
    """
    from datasketch import MinHash

    normalized = [normalize_text(t) for t in texts]
    shingles = [shingle_hashes(n, params.ngram).tolist() for n in normalized]
    minhashes = MinHash.bulk(shingles, num_perm=params.num_perm, seed=params.seed, hashfunc=int)
    matrix = np.empty((len(texts), params.num_perm), dtype=np.uint32)
    for i, mh in enumerate(minhashes):
        matrix[i] = mh.hashvalues
    return [exact_hash(n) for n in normalized], matrix


def signature_batch(
    doc_ids: list[str], texts: list[str], params: MinHashParams
) -> tuple[list[str], list[str], np.ndarray]:
    """(doc_ids, exact hashes, signatures) of one batch: the unit a worker process or a Dask task gets."""
    exact, matrix = signatures(texts, params)
    return doc_ids, exact, matrix


SERIAL_BELOW = 2_000  # documents: below this a process pool costs more to start than it saves


# ---------------------------------------------------------------------------------------------
# 4. LSH banding and verification
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def lsh_bands(threshold: float, num_perm: int, false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive + false negative probability
    around `threshold` (datasketch's optimal-parameter search).

    Equal weights put the S-curve's midpoint above the threshold (b=9, r=13 for 0.8: a pair at
    Jaccard 0.8 collides in only 40 % of cases). Every candidate is verified by its estimated
    Jaccard, so false positives cost only a comparison: the stage weighs false negatives 0.95
    (b=16, r=8: 95 % of pairs at 0.8 collide)."""
    from datasketch import MinHashLSH

    weights = (1.0 - false_negative_weight, false_negative_weight)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)
    return lsh.b, lsh.r


def band_hashes(matrix: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """int64 hash of each band of each signature: shape (docs, bands). Two documents are
    candidates when any band hash is equal."""
    parts = matrix[:, : bands * rows].astype(_U64).reshape(matrix.shape[0], bands, rows)
    with np.errstate(over="ignore"):
        h = np.zeros(parts.shape[:2], dtype=_U64)
        for r in range(rows):
            h = h * _NGRAM_MULTIPLIER + parts[:, :, r]
        return _fmix64(h).view(np.int64)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity: the share of equal signature slots."""
    return float(np.count_nonzero(a == b)) / len(a)


def signature_to_bytes(sig: np.ndarray) -> bytes:
    return np.ascontiguousarray(sig, dtype="<u4").tobytes()


def signature_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4")


def verified_pairs(
    pairs: Iterable[tuple[str, str]], sig_of: dict[str, np.ndarray], threshold: float, verify: bool = True
) -> list[tuple[str, str, float]]:
    """Candidate pairs (of exact hashes) whose estimated Jaccard reaches the threshold, with it.
    Without verification every band collision is kept (with its estimate)."""
    out = []
    for a, b in pairs:
        sim = estimated_jaccard(sig_of[a], sig_of[b])
        if not verify or sim >= threshold:
            out.append((a, b, sim))
    return out


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

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

Clusters and the incremental plan (which documents to sign, which clusters to recompute) are in
`processing/dedup_clusters.py`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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

"""Exact and near-duplicate detection: pure functions over texts, signatures and pairs.

The pieces, in the order the dedup stage uses them:

1. `normalize_text`: datatrove's `simplify_text` (lowercase, digits folded to "0", punctuation to
   spaces, whitespace collapsed, diacritics stripped), so that trivially different copies match.
2. `exact_hash`: a hash of the normalised text. Documents with the same exact hash form an
   "exact group"; they have identical shingles, hence identical signatures.
3. `shingle_hashes`: word n-grams (default 5) of the normalised text, each hashed to 32 bits with
   numpy (one hash per word, combined per n-gram), not with a Python call per shingle. The stage
   stores each document's set, so that a candidate pair is verified exactly, also against
   documents signed by an earlier run, without reading their text again.
4. `signatures`: MinHash signatures in datasketch's `affine32` scheme (`minhash_matrix`, bulk
   numpy over each document's shingle array), one batch at a time (`signature_batch`); the stage
   spreads batches over its worker processes.
5. `lsh_bands`: bands x rows from datasketch's optimal-parameter search for the threshold;
   `band_hashes` hashes each band of a signature to one int64 (candidates collide on it).
6. `exact_jaccard` / `verified_pairs`: the Jaccard similarity of two stored shingle sets, which
   decides whether a candidate pair is a near duplicate (the MinHash estimate only finds
   candidates: its standard deviation at 0.8 is about 0.035 with 128 permutations).

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


# MurmurHash3's finalisers: (shift, multiplier, shift, multiplier, shift) of each width.
_FMIX64 = tuple(_U64(c) for c in (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33))
_FMIX32 = tuple(np.uint32(c) for c in (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16))


def _fmix(h: np.ndarray, constants: tuple) -> np.ndarray:
    """MurmurHash3's finaliser (wrap-around arithmetic in h's width): spreads a hash over all bits."""
    s1, m1, s2, m2, s3 = constants
    h = (h ^ (h >> s1)) * m1
    h = (h ^ (h >> s2)) * m2
    return h ^ (h >> s3)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """The 64-bit finaliser: spreads the polynomial hash over all bits."""
    return _fmix(h, _FMIX64)


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


# Version of what the stage stores and how it clusters: part of the parameters' key, so that a
# change re-signs every document and recomputes every cluster. 2: stored shingle sets, exact
# Jaccard verification, clusters around representatives.
DEDUP_VERSION = 2


@dataclass(frozen=True)
class MinHashParams:
    ngram: int = 5
    num_perm: int = 128
    seed: int = 1
    threshold: float = 0.8
    false_negative_weight: float = 0.99
    # (bands, rows) when already known (the stage remembers datasketch's answer for these
    # parameters); None: `lsh_bands` searches for them, which imports datasketch and scipy
    banding: tuple[int, int] | None = None

    @property
    def bands_rows(self) -> tuple[int, int]:
        return self.banding or lsh_bands(self.threshold, self.num_perm, self.false_negative_weight)

    @property
    def key(self) -> str:
        """Identifies signatures that can be compared with each other (stored with each one)."""
        bands, rows = self.bands_rows
        return f"v{DEDUP_VERSION}-n{self.ngram}-p{self.num_perm}-s{self.seed}-b{bands}r{rows}"


@dataclass(frozen=True)
class SignedBatch:
    """What signing a batch of documents gives: per document its exact hash, its MinHash
    signature (a row of `matrix`) and its sorted shingle-hash set."""

    doc_ids: list[str]
    exact: list[str]
    matrix: np.ndarray  # uint32, shape (len(doc_ids), num_perm)
    shingles: list[np.ndarray]  # sorted distinct uint32 per document
    bands: np.ndarray  # int64 band hashes, shape (len(doc_ids), bands)


# datasketch's "affine32" scheme: a fixed MurmurHash3 pre-mix (_FMIX32) of the 32-bit input hash, then
# per permutation h -> a * h + b mod 2^32 (a odd). `minhash_matrix` applies it to whole shingle
# arrays; tests/dedup/test_verification.py checks it equals datasketch's MinHash bit for bit.
_U32 = np.uint32
_EMPTY_HASH = np.iinfo(np.uint32).max
_SHINGLES_PER_STEP = 8192  # a large document is permuted in slices: 8192 x 128 x 4 bytes at a time


@lru_cache(maxsize=8)
def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of datasketch's MinHash(num_perm, seed, scheme="affine32"): the same draws from
    the same generator (`MinHash._init_permutations`)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a, b


def minhash_matrix(shingle_sets: Sequence[np.ndarray], num_perm: int, seed: int) -> np.ndarray:
    """uint32 MinHash signatures, shape (len(shingle_sets), num_perm): datasketch's MinHash with
    the `affine32` scheme over the 32-bit shingle hashes (`hashfunc=int`), computed here on the
    whole array of a document at once. datasketch's `update_batch` calls the hash function once
    per value in Python, and importing datasketch imports scipy (half a second, which an
    incremental dedup of a few hundred documents would spend on nothing else). A document
    without shingles keeps the initial all-ones signature (it collides only with other empty
    documents)."""
    a, b = affine32_permutations(num_perm, seed)
    out = np.full((len(shingle_sets), num_perm), _EMPTY_HASH, dtype=_U32)
    with np.errstate(over="ignore"):  # uint32 wrap-around is the scheme's modulo 2^32
        for i, shingles in enumerate(shingle_sets):
            for start in range(0, len(shingles), _SHINGLES_PER_STEP):
                mixed = _fmix(np.asarray(shingles[start : start + _SHINGLES_PER_STEP], dtype=_U32), _FMIX32)
                np.minimum(out[i], (mixed[:, None] * a + b).min(axis=0), out=out[i])
    return out


def signatures(texts: Sequence[str], params: MinHashParams) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """(exact hashes, uint32 signature matrix of shape (len(texts), num_perm), shingle sets) for raw texts."""
    normalized = [normalize_text(t) for t in texts]
    shingles = [shingle_hashes(n, params.ngram) for n in normalized]
    return [exact_hash(n) for n in normalized], minhash_matrix(shingles, params.num_perm, params.seed), shingles


def signature_batch(doc_ids: list[str], texts: list[str], params: MinHashParams) -> SignedBatch:
    """One batch signed: the unit a worker process or a Dask task gets."""
    exact, matrix, shingles = signatures(texts, params)
    return SignedBatch(doc_ids, exact, matrix, shingles, band_hashes(matrix, *params.bands_rows))


SERIAL_BELOW = 2_000  # documents: below this a process pool costs more to start than it saves


# ---------------------------------------------------------------------------------------------
# 4. LSH banding and verification
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def lsh_bands(threshold: float, num_perm: int, false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive + false negative probability
    around `threshold`: datasketch's optimal-parameter search (`MinHashLSH`'s `weights`).

    Equal weights put the S-curve's midpoint above the threshold (b=9, r=13 for 0.8: a pair at
    Jaccard 0.8 collides in only 40 % of cases). Every candidate is verified by the exact Jaccard
    of its shingle sets, so a false positive costs only one comparison: the stage weighs false
    negatives 0.99 (b=18, r=7: 98.6 % of pairs at 0.8 collide, 99.9 % at 0.85; b=16, r=8, at
    0.95, missed 5 % at 0.8)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(1 - false_negative_weight, false_negative_weight))
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


class BandIndex:
    """In-memory lookup of band collisions: which exact groups share a band hash with given ones.

    Built from rows of band hashes, each labelled with its exact group (shape (rows, bands); an
    exact group may have several rows, one per document). Each band is sorted once, so finding
    the partners of a few hundred groups is a binary search per group and band, not a pass over
    every band row. What is sorted is one 64-bit key per row and band, the hash's high 32 bits
    above the row number: a plain sort rather than an argsort and a gather (3-4x faster, and a
    third of the memory: about 8 bytes per group and band, 7 MB for 50,000 groups and 18 bands);
    rows whose high bits match are then checked against the whole hash. A first run groups the
    band rows in DuckDB instead.
    """

    def __init__(self, groups: list[str], hashes: np.ndarray):
        if len(groups) >= 1 << 32:
            raise ValueError("BandIndex holds fewer than 2**32 rows")
        self.groups = groups
        self.row_of = {g: i for i, g in enumerate(groups)}
        self.hashes = hashes
        keys = np.ascontiguousarray(hashes.T, dtype=np.int64).view(np.uint64)  # one contiguous row per band
        keys >>= np.uint64(32)
        keys <<= np.uint64(32)
        keys |= np.arange(len(groups), dtype=np.uint64)
        keys.sort(axis=1)
        self.keys = keys

    def partners(self, groups: set[str]) -> set[tuple[str, str]]:
        """Pairs (a < b) of exact groups sharing a band hash, at least one of them in `groups`."""
        rows = np.array(sorted(self.row_of[g] for g in groups if g in self.row_of), dtype=np.int64)
        pairs: set[tuple[str, str]] = set()
        if not len(rows):
            return pairs
        low_bits = np.uint64(0xFFFFFFFF)
        for band in range(self.hashes.shape[1]):
            column = self.keys[band]
            wanted = self.hashes[rows, band]
            high = (wanted.view(np.uint64) >> np.uint64(32)) << np.uint64(32)
            lo, hi = np.searchsorted(column, high, "left"), np.searchsorted(column, high | low_bits, "right")
            for row, key, start, end in zip(rows.tolist(), wanted.tolist(), lo.tolist(), hi.tolist(), strict=True):
                if end - start > 1:  # the row itself is always one of the matches
                    mine = self.groups[row]
                    for other in (column[start:end] & low_bits).tolist():
                        theirs = self.groups[other]
                        # rows of one exact group share every band; the rest must share the whole hash
                        if theirs != mine and self.hashes[other, band] == key:
                            pairs.add((mine, theirs) if mine < theirs else (theirs, mine))
        return pairs


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted sets of distinct shingle hashes (two empty sets: 1.0)."""
    if not len(a) and not len(b):
        return 1.0
    common = np.intersect1d(a, b, assume_unique=True).size
    return common / (len(a) + len(b) - common)


def signature_to_bytes(sig: np.ndarray) -> bytes:
    return np.ascontiguousarray(sig, dtype="<u4").tobytes()


def verified_pairs(
    pairs: Iterable[tuple[str, str]], shingles_of: dict[str, np.ndarray], threshold: float, verify: bool = True
) -> list[tuple[str, str, float]]:
    """Candidate pairs (of exact hashes) whose exact Jaccard reaches the threshold, with it.
    Without verification every band collision is kept (with its exact Jaccard)."""
    out = []
    for a, b in pairs:
        sim = exact_jaccard(shingles_of[a], shingles_of[b])
        if not verify or sim >= threshold:
            out.append((a, b, sim))
    return out

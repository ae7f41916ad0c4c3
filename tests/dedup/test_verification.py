"""Exact verification and clusters around representatives: the stored shingle sets decide, and a
copy of a copy joins a cluster only when it is itself close to the representative."""

from __future__ import annotations

import numpy as np
import pytest

from corpusforge.flows.dedup import dedup
from corpusforge.processing.dedup import (
    BandIndex,
    MinHashParams,
    exact_jaccard,
    lsh_bands,
    minhash_matrix,
    normalize_text,
    shingle_hashes,
    true_jaccard,
)
from corpusforge.processing.dedup_clusters import Member, cluster_assignments
from corpusforge.schemas.config import Settings
from tests.dedup.conftest import make_doc, random_text, substitute, write_docs


def test_exact_jaccard_of_shingle_hashes_equals_the_word_shingle_jaccard():
    base = random_text(31)
    for count in (0, 3, 9, 20):
        copy = substitute(base, count, seed=count)
        a, b = (shingle_hashes(normalize_text(t)) for t in (base, copy))
        assert exact_jaccard(a, b) == pytest.approx(true_jaccard(base, copy), abs=1e-3)
    empty = np.empty(0, np.uint32)
    assert exact_jaccard(empty, empty) == 1.0 and exact_jaccard(empty, shingle_hashes("a b c d e")) == 0.0


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("weight", [0.5, 0.95, 0.99])
def test_bands_and_rows_are_datasketchs_optimal_parameters(threshold, weight):
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=128, weights=(1 - weight, weight))
    assert lsh_bands(threshold, 128, weight) == (lsh.b, lsh.r)


def test_minhash_agreement_estimates_the_exact_jaccard():
    rng = np.random.default_rng(1)
    errors = []
    for _ in range(200):  # independent sets: one base would make every estimate share its minima
        base = np.unique(rng.integers(0, 2**32, 1000, dtype=np.uint64).astype(np.uint32))
        other = base.copy()
        changed = rng.integers(0, 600)
        other[:changed] = rng.integers(0, 2**32, changed, dtype=np.uint64).astype(np.uint32)
        other = np.unique(other)
        sig = minhash_matrix([base, other], 128, 1)
        errors.append(np.mean(sig[0] == sig[1]) - exact_jaccard(base, other))
    # 128 slots: a standard deviation of at most 0.045 per estimate; the mean of 200 is within
    # 0.01 of 0 for an unbiased estimate
    assert abs(np.mean(errors)) < 0.01 and np.std(errors) < 0.05
    assert (minhash_matrix([np.empty(0, np.uint32)], 16, 1) == np.iinfo(np.uint32).max).all()


def test_minhash_matrix_equals_datasketchs_minhash_bit_for_bit():
    """The bulk signatures are datasketch's affine32 MinHash over the same 32-bit values: sets of
    many sizes (empty, one value, more than one slice of the bulk step), two seeds, two widths."""
    from datasketch import MinHash

    rng = np.random.default_rng(7)
    sizes = [0, 1, 2, 17, 500, 20_000]
    sets = [np.unique(rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)) for n in sizes]
    sets.append(np.array([0, 2**32 - 1], dtype=np.uint32))  # the extremes of the input range
    for num_perm, seed in ((128, 1), (64, 42)):
        ours = minhash_matrix(sets, num_perm, seed)
        for values, row in zip(sets, ours, strict=True):
            theirs = MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme="affine32")
            theirs.update_batch(values.tolist())
            assert row.dtype == theirs.hashvalues.dtype
            assert (row == theirs.hashvalues).all()


def test_default_parameters_find_pairs_at_the_threshold():
    bands, rows = MinHashParams().bands_rows
    assert 1 - (1 - 0.8**rows) ** bands > 0.98


def member(doc_id: str, exact: str, quality: float) -> Member:
    return Member(doc_id, None, exact, quality)


def test_a_copy_of_a_copy_joins_only_when_close_to_the_representative():
    # a-b and b-c are near pairs, a-c is not: connected components would put all three together
    members = [member("a", "A", 0.9), member("b", "B", 0.5), member("c", "C", 0.1)]
    rows = {r["doc_id"]: r for r in cluster_assignments(members, [("A", "B", 0.86), ("B", "C", 0.85)])}
    assert rows["a"]["is_representative"] and rows["a"]["cluster_size"] == 2
    assert rows["b"]["duplicate_of"] == "a" and rows["b"]["similarity"] == 0.86
    assert rows["c"]["is_representative"] and rows["c"]["cluster_size"] == 1
    # the same members and pairs in another order give the same rows
    again = cluster_assignments(members[::-1], [("C", "B", 0.85), ("B", "A", 0.86)])
    assert sorted(again, key=lambda r: r["doc_id"]) == [rows[d] for d in "abc"]


def test_exact_copies_share_their_groups_similarity():
    members = [member("a", "A", 0.9), member("b", "B", 0.5), member("b2", "B", 0.4), member("a2", "A", 0.1)]
    rows = {r["doc_id"]: r for r in cluster_assignments(members, [("A", "B", 0.9)])}
    assert {d: (r["duplicate_of"], r["reason"], r["similarity"]) for d, r in rows.items()} == {
        "a": (None, None, None),
        "a2": ("a", "exact_duplicate_of", 1.0),
        "b": ("a", "near_duplicate_of", 0.9),
        "b2": ("a", "near_duplicate_of", 0.9),
    }
    assert {r["cluster_id"] for r in rows.values()} == {"a"}


@pytest.mark.usefixtures("prefect_api")
def test_chained_copies_are_not_one_cluster_and_similarity_is_exact(wh, cfg):
    original = random_text(41)
    copy = substitute(original, 6, seed=1)
    copy_of_copy = substitute(copy, 6, seed=2)
    j_copy, j_chain, j_far = (
        true_jaccard(original, copy),
        true_jaccard(copy, copy_of_copy),
        true_jaccard(original, copy_of_copy),
    )
    assert j_copy >= 0.8 and j_chain >= 0.8 and j_far < 0.8  # the chain this test is about
    write_docs(
        wh,
        [make_doc("orig", original, quality=0.9), make_doc("copy", copy, 0.5), make_doc("copy2", copy_of_copy, 0.1)],
    )
    dedup(Settings(warehouse=wh.root, dedup=cfg))
    con = wh.connect()
    rows = {
        r[0]: r[1:] for r in con.sql("select doc_id, cluster_id, duplicate_of, similarity from clusters").fetchall()
    }
    con.close()
    assert rows["orig"][:2] == ("copy", None) and rows["copy"][:2] == ("copy", "orig")
    assert rows["copy"][2] == pytest.approx(j_copy, abs=1e-3)
    assert rows["copy2"] == ("copy2", None, None)


def brute_force_partners(groups: list[str], hashes: np.ndarray, frontier: set[str]) -> set[tuple[str, str]]:
    n = len(groups)
    return {
        tuple(sorted((groups[i], groups[j])))
        for i in range(n)
        for j in range(n)
        if i != j and groups[i] in frontier and groups[i] != groups[j] and (hashes[i] == hashes[j]).any()
    }


@pytest.mark.parametrize("kind", ["few values", "equal high bits, other low bits", "negative"])
def test_band_index_finds_the_same_pairs_as_comparing_every_band(kind):
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 6, size=(40, 4))  # few values: many collisions
    if kind == "equal high bits, other low bits":  # the index sorts by the high 32 bits
        hashes = (rng.integers(0, 2, size=(40, 4)) << 40) | rng.integers(0, 3, size=(40, 4))
    elif kind == "negative":  # band hashes are signed 64-bit
        hashes = (rng.integers(-2, 2, size=(40, 4)) << 33) - rng.integers(0, 3, size=(40, 4))
    groups = [f"g{i:02d}" for i in range(40)]
    groups[5], hashes[5] = groups[6], hashes[6]  # two rows of one exact group (same bands): not a pair
    index = BandIndex(groups, hashes)
    frontier = {"g03", "g06", "g17", "g30", "not-indexed"}
    expected = brute_force_partners(groups, hashes, frontier)
    assert index.partners(frontier) == expected and expected
    assert index.partners(set()) == set()

"""Sampling: seeded, stratified, borderline and dropped shares, never a document twice."""

from __future__ import annotations

from collections import Counter

from corpusforge.processing.sampling import (
    BORDERLINE,
    DROPPED,
    STRATIFIED,
    Candidate,
    SampleSpec,
    is_borderline,
    proportional_allocation,
    quality_bucket,
    sample_documents,
)


def cand(i: int, *, kept=True, source="a", language="en", quality=0.9, value=100.0, threshold=50.0) -> Candidate:
    decisions = ({"filter": "min_words", "kept": kept, "value": value, "threshold": threshold},)
    return Candidate(f"doc{i:03d}", source, language, quality, kept, decisions)


def corpus() -> list[Candidate]:
    docs = [cand(i, source="a") for i in range(60)]
    docs += [cand(100 + i, source="b", language="de", quality=0.3) for i in range(30)]
    docs += [cand(200 + i, kept=False, value=10.0) for i in range(20)]
    docs += [cand(300 + i, value=52.0) for i in range(10)]  # within 10% of the threshold
    return docs


def test_same_seed_same_sample_other_seed_other_sample():
    spec = SampleSpec(size=20, seed=7, borderline_share=0.2, dropped_share=0.1)
    first = sample_documents(corpus(), set(), spec)
    again = sample_documents(list(reversed(corpus())), set(), spec)
    other = sample_documents(corpus(), set(), SampleSpec(size=20, seed=8, borderline_share=0.2, dropped_share=0.1))
    assert first == again
    assert [s.doc_id for s in first] != [s.doc_id for s in other]


def test_shares_and_proportional_strata():
    sample = sample_documents(corpus(), set(), SampleSpec(size=20, seed=1, borderline_share=0.2, dropped_share=0.1))
    reasons = Counter(s.reason for s in sample)
    assert reasons == {BORDERLINE: 4, DROPPED: 2, STRATIFIED: 14}
    assert all(s.doc_id.startswith("doc3") for s in sample if s.reason == BORDERLINE)
    assert all(s.doc_id.startswith("doc2") for s in sample if s.reason == DROPPED)
    strata = Counter(s.stratum for s in sample if s.reason == STRATIFIED)
    # Kept documents left: a/en/q3 has 60 + the 6 borderline ones not drawn = 66, b/de/q1 has 30.
    # 14 * 66/96 = 9.625 and 14 * 30/96 = 4.375: floors 9 + 4, the one left goes to the larger remainder.
    assert strata == {"a/en/q3": 10, "b/de/q1": 4}
    assert len({s.doc_id for s in sample}) == 20


def test_already_sent_never_drawn_again_and_empty_shares_fall_to_stratified():
    docs = [cand(i) for i in range(10)]
    first = sample_documents(docs, set(), SampleSpec(size=6, seed=0))
    assert Counter(s.reason for s in first) == {STRATIFIED: 6}  # no borderline, no dropped documents
    second = sample_documents(docs, {s.doc_id for s in first}, SampleSpec(size=6, seed=0))
    assert len(second) == 4
    assert not {s.doc_id for s in first} & {s.doc_id for s in second}
    assert sample_documents(docs, {d.doc_id for d in docs}, SampleSpec(size=6)) == []


def test_borderline_and_buckets():
    assert is_borderline([{"value": 45.0, "threshold": 50.0}], 0.1)
    assert not is_borderline([{"value": 44.0, "threshold": 50.0}], 0.1)
    assert is_borderline([{"value": 0.05, "threshold": 0.0}], 0.1)
    assert not is_borderline([{"value": None, "threshold": 50.0}], 0.1)
    assert [quality_bucket(q, 4) for q in (0.0, 0.24, 0.25, 0.99, 1.0, None)] == ["q0", "q0", "q1", "q3", "q3", "q?"]


def test_proportional_allocation_largest_remainder():
    assert proportional_allocation({"x": 5, "y": 3, "z": 2}, 5) == {"x": 3, "y": 1, "z": 1}
    assert proportional_allocation({"x": 5, "y": 3}, 20) == {"x": 5, "y": 3}
    assert proportional_allocation({"x": 1, "y": 1}, 1) == {"x": 1, "y": 0}

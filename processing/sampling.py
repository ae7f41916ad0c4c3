"""Which documents people should label: a seeded, stratified sample.

Three shares make up a sample:
- borderline: documents whose signal sits near a filter threshold, kept or dropped. A human
  label teaches the most there, because a small threshold change would flip the verdict.
- dropped: documents the filters threw away, to measure what the filters lose.
- stratified: the rest, from kept documents, allocated to strata (source / language / quality
  bucket) in proportion to their size, so that the sample looks like the corpus.

A share that cannot be filled (no borderline documents yet) falls to the stratified part, so
the sample has the requested size whenever there are enough documents. Documents already sent
are never drawn again. The same candidates, seed and settings always give the same sample.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

BORDERLINE = "borderline"
DROPPED = "dropped"
STRATIFIED = "stratified"


@dataclass(frozen=True)
class Candidate:
    """What sampling needs to know about a document (no text: candidates may be many)."""

    doc_id: str
    source: str
    language: str | None
    quality_score: float | None
    kept: bool
    decisions: Sequence[Mapping] = field(default_factory=tuple)  # documents.decisions entries


@dataclass(frozen=True)
class SampleSpec:
    size: int
    seed: int = 0
    borderline_share: float = 0.2
    dropped_share: float = 0.1
    quality_buckets: int = 4
    # A signal is "near" its threshold when within this fraction of the threshold's magnitude.
    borderline_margin: float = 0.1


@dataclass(frozen=True)
class Sampled:
    doc_id: str
    reason: str  # borderline | dropped | stratified
    stratum: str


def quality_bucket(score: float | None, buckets: int) -> str:
    """'q0' (lowest) .. f'q{buckets-1}' (highest); 'q?' when the document has no score."""
    if score is None or math.isnan(score):
        return "q?"
    index = min(max(int(score * buckets), 0), buckets - 1)
    return f"q{index}"


def stratum_of(candidate: Candidate, buckets: int) -> str:
    language = candidate.language or "und"
    return f"{candidate.source}/{language}/{quality_bucket(candidate.quality_score, buckets)}"


def threshold_distance(value: float | None, threshold: float | None) -> float | None:
    """Distance of a signal from its threshold relative to the threshold's magnitude, so that
    word counts (threshold 50) and ratios (threshold 0.1) compare on one scale."""
    if value is None or threshold is None or math.isnan(value) or math.isnan(threshold):
        return None
    scale = abs(threshold) if threshold != 0 else 1.0
    return abs(value - threshold) / scale


def is_borderline(decisions: Iterable[Mapping], margin: float) -> bool:
    for decision in decisions or ():
        distance = threshold_distance(decision.get("value"), decision.get("threshold"))
        if distance is not None and distance <= margin:
            return True
    return False


def _draw(pool: Sequence[Candidate], n: int, seed: int, label: str) -> list[Candidate]:
    """n candidates drawn without replacement; a string seed keeps each draw independent of
    the others' sizes and is stable across Python versions (random's str seeding uses SHA-512)."""
    if n <= 0 or not pool:
        return []
    if n >= len(pool):
        return list(pool)
    return random.Random(f"{seed}:{label}").sample(list(pool), n)


def proportional_allocation(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Split n over strata in proportion to their sizes (largest-remainder method, ties broken
    by stratum name), never more than a stratum holds."""
    total = sum(sizes.values())
    if total == 0 or n <= 0:
        return {name: 0 for name in sizes}
    if n >= total:
        return dict(sizes)
    quotas = {name: n * size / total for name, size in sizes.items()}
    alloc = {name: math.floor(q) for name, q in quotas.items()}
    left = n - sum(alloc.values())
    by_remainder = sorted(sizes, key=lambda name: (-(quotas[name] - alloc[name]), name))
    for name in by_remainder[:left]:
        alloc[name] += 1
    return alloc


def _stratified(pool: Sequence[Candidate], n: int, spec: SampleSpec) -> list[Candidate]:
    strata: dict[str, list[Candidate]] = defaultdict(list)
    for cand in pool:
        strata[stratum_of(cand, spec.quality_buckets)].append(cand)
    alloc = proportional_allocation({name: len(members) for name, members in strata.items()}, n)
    chosen: list[Candidate] = []
    for name in sorted(strata):
        chosen.extend(_draw(strata[name], alloc[name], spec.seed, f"stratum:{name}"))
    return chosen


def sample_documents(candidates: Iterable[Candidate], already_sent: Collection[str], spec: SampleSpec) -> list[Sampled]:
    """The sample: borderline first, then dropped, then stratified; at most spec.size items."""
    sent = set(already_sent)
    # Sorting first makes the draw independent of the order the warehouse returned rows in.
    pool = sorted((c for c in candidates if c.doc_id not in sent), key=lambda c: c.doc_id)
    n_borderline = round(spec.size * spec.borderline_share)
    n_dropped = min(round(spec.size * spec.dropped_share), spec.size - n_borderline)

    borderline = _draw(
        [c for c in pool if is_borderline(c.decisions, spec.borderline_margin)], n_borderline, spec.seed, BORDERLINE
    )
    taken = {c.doc_id for c in borderline}
    dropped = _draw([c for c in pool if not c.kept and c.doc_id not in taken], n_dropped, spec.seed, DROPPED)
    taken |= {c.doc_id for c in dropped}
    n_rest = spec.size - len(borderline) - len(dropped)
    stratified = _stratified([c for c in pool if c.kept and c.doc_id not in taken], n_rest, spec)

    def as_sampled(cands: Iterable[Candidate], reason: str) -> list[Sampled]:
        return [Sampled(c.doc_id, reason, stratum_of(c, spec.quality_buckets)) for c in sorted(cands, key=_doc_id)]

    return as_sampled(borderline, BORDERLINE) + as_sampled(dropped, DROPPED) + as_sampled(stratified, STRATIFIED)


def _doc_id(c: Candidate) -> str:
    return c.doc_id

"""What the filters do to a corpus, from stored signals: how many documents each rule drops under
a profile, and thresholds proposed from human labels. Pure: rows in, rows out."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from corpusforge.processing.quality import FILTERS, Filter, judge

ThresholdsFor = Callable[[str], dict[str, float]]  # source name -> effective thresholds


@dataclass(frozen=True)
class FilterEffect:
    filter: Filter
    threshold: float | None  # under the profile shown (None: the rule does not run there)
    drops: int  # documents this rule drops
    only: int  # documents this rule alone drops


def filter_effects(docs: list[dict], thresholds_for: ThresholdsFor) -> list[FilterEffect]:
    """Each rule's drops over `docs` (rows with `source` and `signals`), judged with the
    thresholds each document's source has."""
    drops = {f.name: 0 for f in FILTERS}
    only = {f.name: 0 for f in FILTERS}
    shown: dict[str, float | None] = {f.name: None for f in FILTERS}
    for doc in docs:
        thresholds = thresholds_for(doc["source"])
        failed = []
        for rule in FILTERS:
            if rule.name not in thresholds:
                continue
            shown[rule.name] = thresholds[rule.name]
            if not judge(rule, doc["signals"].get(rule.signal), thresholds[rule.name]).kept:
                failed.append(rule.name)
        for name in failed:
            drops[name] += 1
        if len(failed) == 1:
            only[failed[0]] += 1
    return [FilterEffect(f, shown[f.name], drops[f.name], only[f.name]) for f in FILTERS]


def dropped_documents(docs: list[dict], thresholds_for: ThresholdsFor, corpus: Callable[[str], bool]) -> int:
    """How many documents at least one rule whose category `corpus` accepts would drop."""
    count = 0
    for doc in docs:
        thresholds = thresholds_for(doc["source"])
        count += any(
            corpus(rule.category) and not judge(rule, doc["signals"].get(rule.signal), thresholds[rule.name]).kept
            for rule in FILTERS
            if rule.name in thresholds
        )
    return count


@dataclass(frozen=True)
class Proposal:
    filter: Filter
    current: float | None
    proposed: float
    precision: float  # of the rule's drops, the share humans dropped too
    recall: float  # of the human drops, the share the rule catches
    f1: float
    keep_recall: float  # of the human keeps, the share the rule keeps
    labelled: int


def _candidates(values: list[float]) -> list[float]:
    """Thresholds between consecutive distinct values (plus both ends)."""
    distinct = sorted(set(values))
    mids = [(a + b) / 2 for a, b in zip(distinct, distinct[1:], strict=False)]
    return [distinct[0] - 1e-9, *mids, distinct[-1] + 1e-9] if distinct else []


def propose_threshold(
    rule: Filter, samples: list[tuple[float, bool]], current: float | None, min_keep_recall: float = 0.97
) -> Proposal | None:
    """The threshold with the highest F1 at catching human drops among those that keep at least
    `min_keep_recall` of the human keeps (ties: the one nearest the current threshold). `samples`
    are (signal value, human says drop). None without a labelled drop and keep to learn from."""
    samples = [(v, drop) for v, drop in samples if v is not None and not math.isnan(v)]
    drops = sum(1 for _, d in samples if d)
    keeps = len(samples) - drops
    if not drops or not keeps:
        return None
    best: tuple | None = None
    for t in _candidates([v for v, _ in samples]):
        dropped = [(v < t) if rule.bound == "min" else (v > t) for v, _ in samples]
        tp = sum(1 for (_, d), x in zip(samples, dropped, strict=True) if d and x)
        fp = sum(1 for (_, d), x in zip(samples, dropped, strict=True) if not d and x)
        keep_recall = (keeps - fp) / keeps
        if keep_recall < min_keep_recall or tp == 0:
            continue
        precision, recall = tp / (tp + fp), tp / drops
        f1 = 2 * precision * recall / (precision + recall)
        distance = abs(t - current) if current is not None else 0.0
        key = (round(f1, 9), -distance)
        if best is None or key > best[0]:
            best = (key, t, precision, recall, f1, keep_recall)
    if best is None:
        return None
    _, t, precision, recall, f1, keep_recall = best
    return Proposal(rule, current, round(t, 6), precision, recall, f1, keep_recall, len(samples))


def propose_thresholds(
    labelled: list[dict], thresholds_for: ThresholdsFor, min_keep_recall: float = 0.97
) -> list[Proposal]:
    """A proposal for every rule the labels can teach (see `propose_threshold`)."""
    proposals = []
    for rule in FILTERS:
        samples = [(doc["signals"].get(rule.signal), doc["human"] == "drop") for doc in labelled]
        currents = {thresholds_for(doc["source"]).get(rule.name) for doc in labelled}
        current = currents.pop() if len(currents) == 1 else None
        proposal = propose_threshold(rule, samples, current, min_keep_recall)
        if proposal is not None and proposal.proposed != current:
            proposals.append(proposal)
    return proposals

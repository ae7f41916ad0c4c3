"""Between our records and Label Studio's JSON: the labelling config, tasks with the filters'
verdicts as predictions, annotations back into `annotations` rows, and the agreement report.

The control names of processing/label_config.xml are the contract: quality (keep|drop),
use (training|retrieval|both|neither), personal_data (yes|no), topic (multiple choice),
question and answer (free text).
"""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

TEXT_FIELD = "text"  # the Text tag every control labels (toName)
QUALITY_VALUES = ("keep", "drop")
USE_VALUES = ("training", "retrieval", "both", "neither")


class LabelConfigError(ValueError):
    """The labelling configuration template cannot be filled."""


# ---- labelling configuration -----------------------------------------------------------
def render_label_config(template: str, topics: Sequence[str]) -> str:
    """Fill the topic choices of the template (XML-escaped by ElementTree)."""
    if not topics:
        raise LabelConfigError("annotate.topics is empty: give at least one topic")
    if len(set(topics)) != len(topics):
        raise LabelConfigError(
            f"annotate.topics has duplicates: {sorted(t for t, n in Counter(topics).items() if n > 1)}"
        )
    try:
        root = ET.fromstring(template)
    except ET.ParseError as exc:
        raise LabelConfigError(f"label config is not valid XML ({exc})") from None
    topic = root.find(".//Choices[@name='topic']")
    if topic is None:
        raise LabelConfigError('label config has no <Choices name="topic"> to fill')
    for child in list(topic):
        topic.remove(child)
    for value in topics:
        ET.SubElement(topic, "Choice", {"value": value})
    return ET.tostring(root, encoding="unicode")


# ---- tasks and predictions ---------------------------------------------------------------
def _choice(from_name: str, values: Sequence[str]) -> dict:
    return {"from_name": from_name, "to_name": TEXT_FIELD, "type": "choices", "value": {"choices": list(values)}}


def verdict_summary(decisions: Iterable[Mapping] | None, kept: bool) -> str:
    """One line an annotator reads: what the filters decided, and with which values."""
    dropped = [d for d in decisions or () if not d.get("kept", True)]
    if kept or not dropped:
        return "filters: kept by every filter"
    parts = []
    for d in dropped:
        value, threshold = d.get("value"), d.get("threshold")
        numbers = f" (value {value:g}, threshold {threshold:g})" if value is not None and threshold is not None else ""
        parts.append(f"{d.get('reason') or d.get('filter')}{numbers}")
    return "filters: dropped by " + "; ".join(parts)


def predictions_for(doc: Mapping, model_version: str) -> list[dict]:
    """The filters' verdicts as a pre-annotation: quality from `kept`, personal data from
    the redaction counts; the score is the document's quality score."""
    result = [_choice("quality", ["keep" if doc.get("kept") else "drop"])]
    pii_counts = doc.get("pii_counts")
    if pii_counts is not None:
        counts = pii_counts.values() if isinstance(pii_counts, Mapping) else (n for _, n in pii_counts)
        result.append(_choice("personal_data", ["yes" if sum(counts) > 0 else "no"]))
    prediction = {"model_version": model_version, "result": result}
    if doc.get("quality_score") is not None:
        prediction["score"] = float(doc["quality_score"])
    return [prediction]


def task_for(doc: Mapping, sample_reason: str, stratum: str) -> dict:
    """A Label Studio task: the document and, in its data, doc_id and why it was sampled, so
    that the task alone tells which document it is (push recovers lost records from it)."""
    return {
        "data": {
            "doc_id": doc["doc_id"],
            "content_hash": doc.get("content_hash"),
            "title": doc.get("title") or doc.get("url") or doc["doc_id"],
            "url": doc.get("url") or "",
            "text": doc.get("text") or "",
            "verdicts": verdict_summary(doc.get("decisions"), bool(doc.get("kept"))),
            "sample_reason": sample_reason,
            "stratum": stratum,
        },
        "predictions": predictions_for(doc, doc.get("pipeline_version") or "unknown"),
    }


# ---- annotations back ----------------------------------------------------------------------
def _first(values: Sequence | None) -> str | None:
    return values[0] if values else None


def label_fields(result: Iterable[Mapping]) -> dict:
    """Our columns from an annotation's result list (controls not filled stay None)."""
    fields: dict = {
        "quality": None,
        "use": None,
        "personal_data": None,
        "topics": None,
        "question": None,
        "answer": None,
    }
    for item in result or ():
        name, value = item.get("from_name"), item.get("value") or {}
        if name in ("quality", "use"):
            fields[name] = _first(value.get("choices"))
        elif name == "personal_data":
            choice = _first(value.get("choices"))
            fields["personal_data"] = None if choice is None else choice == "yes"
        elif name == "topic":
            fields["topics"] = list(value.get("choices") or [])
        elif name in ("question", "answer"):
            text = "\n".join(t for t in value.get("text") or [] if t).strip()
            fields[name] = text or None
    return fields


def parse_timestamp(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def annotation_row(task: Mapping, annotation: Mapping, annotators: Mapping[int, str], pulled_at: datetime) -> dict:
    """One `annotations` row from an exported task and one of its annotations."""
    completed_by = annotation.get("completed_by")
    if isinstance(completed_by, Mapping):  # some exports inline the user
        completed_by = completed_by.get("id")
    created_at = parse_timestamp(annotation.get("created_at"))
    return {
        "annotation_id": int(annotation["id"]),
        "task_id": int(task["id"]),
        "project_id": task.get("project") or annotation.get("project"),
        "doc_id": (task.get("data") or {})["doc_id"],
        "annotator": annotators.get(completed_by, None if completed_by is None else str(completed_by)),
        **label_fields(annotation.get("result")),
        "was_cancelled": bool(annotation.get("was_cancelled")),
        "created_at": created_at,
        "updated_at": parse_timestamp(annotation.get("updated_at")) or created_at or pulled_at,
        "pulled_at": pulled_at,
        "raw": json.dumps(annotation.get("result") or [], sort_keys=True, ensure_ascii=False),
    }


# ---- agreement report ------------------------------------------------------------------------
@dataclass(frozen=True)
class FilterAgreement:
    """A filter judged as a detector of documents humans would drop: 'positive' means drop."""

    filter: str
    true_drop: int  # filter dropped, human dropped
    false_drop: int  # filter dropped, human kept
    missed_drop: int  # filter kept, human dropped
    true_keep: int  # filter kept, human kept

    @property
    def labelled(self) -> int:
        return self.true_drop + self.false_drop + self.missed_drop + self.true_keep

    @property
    def precision(self) -> float | None:
        flagged = self.true_drop + self.false_drop
        return self.true_drop / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        human_drops = self.true_drop + self.missed_drop
        return self.true_drop / human_drops if human_drops else None


ALL_FILTERS = "(all filters)"


def filter_agreement(labelled_docs: Iterable[tuple[Sequence[Mapping] | None, bool, str]]) -> list[FilterAgreement]:
    """Per-filter counts against the human keep/drop label.

    `labelled_docs` yields (decisions, kept, human_quality) per document; the first row is the
    combined verdict (`kept`), then one row per filter name in alphabetical order."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for decisions, kept, human in labelled_docs:
        if human not in QUALITY_VALUES:
            continue
        counts[ALL_FILTERS][(not kept, human == "drop")] += 1
        for decision in decisions or ():
            counts[decision["filter"]][(not decision.get("kept", True), human == "drop")] += 1
    names = ([ALL_FILTERS] if ALL_FILTERS in counts else []) + sorted(n for n in counts if n != ALL_FILTERS)
    return [
        FilterAgreement(name, c[(True, True)], c[(True, False)], c[(False, True)], c[(False, False)])
        for name, c in ((n, counts[n]) for n in names)
    ]


def cohens_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa for two raters' labels on the same items; None when chance agreement
    is 1 (both raters always gave one and the same label: kappa is undefined)."""
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[label] * second[label] for label in first.keys() | second.keys()) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class PairAgreement:
    annotator_a: str
    annotator_b: str
    items: int
    agreed: int
    kappa: float | None

    @property
    def percent(self) -> float:
        return 100.0 * self.agreed / self.items if self.items else 0.0


def inter_annotator_agreement(labels: Iterable[tuple[int, str, str | None]]) -> list[PairAgreement]:
    """Agreement between every pair of annotators on the tasks both labelled.

    `labels` yields (task_id, annotator, label); empty labels are ignored, and an annotator's
    last label on a task counts once."""
    by_task: dict[int, dict[str, str]] = defaultdict(dict)
    for task_id, annotator, label in labels:
        if label is not None:
            by_task[task_id][annotator] = label
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for task_labels in by_task.values():
        for a, b in itertools.combinations(sorted(task_labels), 2):
            pairs[(a, b)].append((task_labels[a], task_labels[b]))
    return [
        PairAgreement(a, b, len(items), sum(x == y for x, y in items), cohens_kappa(items))
        for (a, b), items in sorted(pairs.items())
    ]


def overall_percent_agreement(pairs: Sequence[PairAgreement]) -> float | None:
    items = sum(p.items for p in pairs)
    return 100.0 * sum(p.agreed for p in pairs) / items if items else None

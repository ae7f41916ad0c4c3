"""Label config, predictions, annotation rows and the agreement maths (pure)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from corpusforge.connectors.label_studio import label_config_template
from corpusforge.processing.annotation_labels import (
    ALL_FILTERS,
    LabelConfigError,
    annotation_row,
    cohens_kappa,
    filter_agreement,
    inter_annotator_agreement,
    label_fields,
    overall_percent_agreement,
    predictions_for,
    render_label_config,
    task_for,
)


def test_label_config_topics_filled_and_escaped():
    xml = render_label_config(label_config_template(), ["science", "R&D <lab>"])
    root = ET.fromstring(xml)
    topics = [c.get("value") for c in root.find(".//Choices[@name='topic']")]
    assert topics == ["science", "R&D <lab>"]
    names = {el.get("name") for el in root.iter() if el.get("toName") == "text"}
    assert names == {"quality", "use", "personal_data", "topic", "question", "answer"}
    with pytest.raises(LabelConfigError, match="duplicates"):
        render_label_config(label_config_template(), ["a", "a"])
    with pytest.raises(LabelConfigError, match="empty"):
        render_label_config(label_config_template(), [])


def test_task_carries_document_and_filter_verdicts_as_predictions():
    doc = {
        "doc_id": "d1", "content_hash": "h1", "title": "T", "url": "http://x/1", "text": "body", "kept": False,
        "decisions": [{"filter": "min_words", "kept": False, "reason": "too_short", "value": 12.0, "threshold": 50.0}],
        "quality_score": 0.25, "pii_counts": {"email": 2}, "pipeline_version": "v7",
    }  # fmt: skip
    task = task_for(doc, "dropped", "site/en/q1")
    assert task["data"]["doc_id"] == "d1" and task["data"]["sample_reason"] == "dropped"
    assert task["data"]["verdicts"] == "filters: dropped by too_short (value 12, threshold 50)"
    [prediction] = task["predictions"]
    assert prediction["model_version"] == "v7" and prediction["score"] == 0.25
    assert {r["from_name"]: r["value"]["choices"] for r in prediction["result"]} == {
        "quality": ["drop"],
        "personal_data": ["yes"],
    }
    kept = predictions_for({"kept": True, "pii_counts": [("email", 0)]}, "v7")[0]["result"]
    assert [r["value"]["choices"] for r in kept] == [["keep"], ["no"]]


def test_annotation_result_to_row():
    result = [
        {"from_name": "quality", "to_name": "text", "type": "choices", "value": {"choices": ["keep"]}},
        {"from_name": "use", "to_name": "text", "type": "choices", "value": {"choices": ["training"]}},
        {"from_name": "personal_data", "to_name": "text", "type": "choices", "value": {"choices": ["no"]}},
        {"from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": ["science", "news"]}},
        {"from_name": "question", "to_name": "text", "type": "textarea", "value": {"text": ["What is X?"]}},
        {"from_name": "answer", "to_name": "text", "type": "textarea", "value": {"text": ["X is Y."]}},
    ]
    task = {"id": 5, "project": 2, "data": {"doc_id": "d1"}}
    annotation = {"id": 9, "completed_by": 3, "result": result, "was_cancelled": False,
                  "created_at": "2024-05-01T10:00:00.123456Z", "updated_at": "2024-05-02T10:00:00Z"}  # fmt: skip
    pulled = datetime(2024, 6, 1, tzinfo=UTC)
    row = annotation_row(task, annotation, {3: "ann@example.com"}, pulled)
    assert row == {
        "annotation_id": 9, "task_id": 5, "project_id": 2, "doc_id": "d1", "annotator": "ann@example.com",
        "quality": "keep", "use": "training", "personal_data": False, "topics": ["science", "news"],
        "question": "What is X?", "answer": "X is Y.", "was_cancelled": False,
        "created_at": datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),
        "updated_at": datetime(2024, 5, 2, 10, 0, tzinfo=UTC), "pulled_at": pulled,
        "raw": json.dumps(result, sort_keys=True),
    }  # fmt: skip
    assert label_fields([]) == {"quality": None, "use": None, "personal_data": None, "topics": None,
                                "question": None, "answer": None}  # fmt: skip


def test_filter_precision_recall_hand_computed():
    def d(a_kept, b_kept):
        return [{"filter": "a", "kept": a_kept}, {"filter": "b", "kept": b_kept}]

    docs = [
        (d(False, True), False, "drop"),
        (d(False, True), False, "keep"),
        (d(True, False), False, "drop"),
        (d(True, True), True, "keep"),
        (d(True, True), True, "drop"),
        (d(False, False), False, "drop"),
        (d(False, False), False, None),  # unlabelled: not counted
    ]
    rows = {f.filter: f for f in filter_agreement(docs)}
    assert list(rows) == [ALL_FILTERS, "a", "b"]
    a, b, combined = rows["a"], rows["b"], rows[ALL_FILTERS]
    assert (a.true_drop, a.false_drop, a.missed_drop, a.true_keep) == (2, 1, 2, 1)
    assert a.precision == pytest.approx(2 / 3) and a.recall == pytest.approx(0.5)
    assert (b.true_drop, b.false_drop, b.missed_drop, b.true_keep) == (2, 0, 2, 2)
    assert b.precision == 1.0 and b.recall == 0.5
    assert (combined.true_drop, combined.false_drop, combined.missed_drop, combined.true_keep) == (3, 1, 1, 1)
    assert combined.precision == 0.75 and combined.recall == 0.75 and combined.labelled == 6


def test_kappa_and_pairwise_agreement_hand_computed():
    # p_o = 3/4; rater 1: keep 2, drop 2; rater 2: keep 1, drop 3 -> p_e = (2*1 + 2*3)/16 = 0.5 -> kappa 0.5
    assert cohens_kappa([("k", "k"), ("d", "d"), ("k", "d"), ("d", "d")]) == pytest.approx(0.5)
    assert cohens_kappa([("k", "k"), ("k", "k")]) is None  # chance agreement 1: undefined
    assert cohens_kappa([("k", "d"), ("d", "k")]) == pytest.approx(-1.0)
    labels = [(1, "al", "k"), (1, "bo", "k"), (2, "al", "d"), (2, "bo", "d"), (3, "al", "k"), (3, "bo", "d"),
              (4, "al", "d"), (4, "bo", "d"), (5, "al", "k"), (4, "cy", "d"), (6, "cy", None)]  # fmt: skip
    pairs = inter_annotator_agreement(labels)
    assert [(p.annotator_a, p.annotator_b, p.items, p.agreed) for p in pairs] == [
        ("al", "bo", 4, 3), ("al", "cy", 1, 1), ("bo", "cy", 1, 1)
    ]  # fmt: skip
    assert pairs[0].kappa == pytest.approx(0.5) and pairs[0].percent == 75.0
    assert overall_percent_agreement(pairs) == pytest.approx(100 * 5 / 6)

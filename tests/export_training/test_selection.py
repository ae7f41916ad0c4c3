"""The shared export selection over a real warehouse (Parquet + DuckDB views)."""

from __future__ import annotations

from corpusforge.warehouse.selection import (
    excluded_documents,
    human_qa_pairs,
    select_export_documents,
    selection_report,
)
from tests.export_training.conftest import annotation_row, cluster_row, doc_row, pseudo_text, tombstone_row


def ids(table) -> set[str]:
    return set(table.column("doc_id").to_pylist())


def test_representatives_of_kept_documents_only(corpus):
    selected = select_export_documents(corpus.wh, "training")
    got = ids(selected)
    assert {"d00", "d03", "d06"} <= got  # representatives, and d06 without a clusters row
    assert not got & {"d01", "d02", "d04", "d05"}  # duplicates and the dropped document
    assert len(got) == 36
    row = next(r for r in selected.to_pylist() if r["doc_id"] == "d06")
    assert row["cluster_id"] == "d06" and row["labelled"] is False
    assert selection_report(corpus.wh, "training") == {"not_kept": 1, "duplicate": 3}


def test_removed_cluster_row_and_tombstone_leave_the_selection(corpus):
    corpus.write("clusters", [cluster_row("d07", "d07", True, removed=True, minutes=5)])
    corpus.write("tombstones", [tombstone_row("d08")])
    got = ids(select_export_documents(corpus.wh, "rag"))
    assert "d07" not in got and "d08" not in got
    assert selection_report(corpus.wh, "rag")["cluster_removed"] == 1


def test_drop_label_and_use_routing(corpus):
    corpus.write(
        "annotations",
        [
            annotation_row(1, "d10", quality="drop", use="both"),
            annotation_row(2, "d11", quality="keep", use="training"),
            annotation_row(3, "d12", quality="keep", use="retrieval"),
            annotation_row(4, "d13", quality="keep", use="neither"),
            annotation_row(5, "d14", quality="keep", use="both"),
        ],
    )
    training, rag = ids(select_export_documents(corpus.wh, "training")), ids(select_export_documents(corpus.wh, "rag"))
    assert "d10" not in training and "d10" not in rag
    assert "d11" in training and "d11" not in rag
    assert "d12" not in training and "d12" in rag
    assert "d13" not in training and "d13" not in rag
    assert "d14" in training and "d14" in rag
    assert selection_report(corpus.wh, "training") == {
        "not_kept": 1,
        "duplicate": 3,
        "label_drop": 1,
        "label_use_excludes": 2,
    }
    labelled = select_export_documents(corpus.wh, "training").to_pylist()
    assert {r["doc_id"] for r in labelled if r["labelled"]} == {"d11", "d14"}


def test_latest_version_per_annotator_then_majority(corpus):
    corpus.write(
        "annotations",
        [
            # d15: one annotator changes their mind (drop -> keep): the later version counts.
            annotation_row(10, "d15", annotator="ann", quality="drop", minutes=2),
            annotation_row(10, "d15", annotator="ann", quality="keep", minutes=3),
            # d16: two say drop, one (later) says keep: the majority drops it.
            annotation_row(11, "d16", annotator="a", quality="drop", minutes=2),
            annotation_row(12, "d16", annotator="b", quality="drop", minutes=3),
            annotation_row(13, "d16", annotator="c", quality="keep", minutes=4),
            # d17: a 1:1 tie goes to the latest vote (keep).
            annotation_row(14, "d17", annotator="a", quality="drop", minutes=2),
            annotation_row(15, "d17", annotator="b", quality="keep", minutes=3),
            # d18: a cancelled drop is no label.
            annotation_row(16, "d18", annotator="a", quality="drop", was_cancelled=True),
        ],
    )
    selected = select_export_documents(corpus.wh, "training").to_pylist()
    by_id = {r["doc_id"]: r for r in selected}
    assert "d15" in by_id and "d17" in by_id and "d18" in by_id
    assert "d16" not in by_id
    assert by_id["d18"]["labelled"] is False


def test_filters_by_source_language_quality(corpus):
    from tests.export_training.conftest import doc_row, pseudo_text

    corpus.write(
        "documents",
        [
            doc_row("b01", pseudo_text(101), source="blog"),
            doc_row("b02", pseudo_text(102), source="blog", language="de"),
            doc_row("b03", pseudo_text(103), source="blog", quality_score=0.1),
        ],
    )
    got = ids(select_export_documents(corpus.wh, "training", sources=["blog"], languages=["en"], min_quality=0.5))
    assert got == {"b01"}
    report = selection_report(corpus.wh, "training", sources=["blog"], languages=["en"], min_quality=0.5)
    assert report["source_filtered"] == 36 and report["language_filtered"] == 1 and report["below_min_quality"] == 1


def test_human_qa_pairs_latest_version_non_empty(corpus):
    corpus.write(
        "annotations",
        [
            annotation_row(20, "d20", question="Old question?", answer="Old answer.", minutes=2),
            annotation_row(20, "d20", question="  What is ka? ", answer=" Ka is lo. ", minutes=3),
            annotation_row(21, "d21", question="Only a question?", answer="   "),
            annotation_row(22, "d22", question="Skipped?", answer="Yes.", was_cancelled=True),
        ],
    )
    pairs = human_qa_pairs(corpus.wh).to_pylist()
    assert [(p["doc_id"], p["question"], p["answer"]) for p in pairs] == [("d20", "What is ka?", "Ka is lo.")]


def _gate(target: str, exclude=None, profiles=None):
    from corpusforge.processing.gates import build_gate
    from corpusforge.warehouse.selection import GateParams

    return GateParams.of(build_gate(target, exclude), profiles or {"site": "domain"}, "domain")


def test_gates_read_drop_reasons_per_export(corpus):
    # d20: a training-only reason (kept in the corpus); d21: junk; d22: thin, kept=False.
    corpus.write(
        "documents",
        [
            doc_row("d20", pseudo_text(20), minutes=3, drop_reasons=["c4_too_few_sentences"]),
            doc_row("d21", pseudo_text(21), kept=False, minutes=3, drop_reasons=["link_list"]),
            doc_row("d22", pseudo_text(22), kept=False, minutes=3, drop_reasons=["gopher_too_few_words"]),
        ],
    )
    rag = ids(select_export_documents(corpus.wh, "rag", gate=_gate("rag")))
    training = ids(select_export_documents(corpus.wh, "training", gate=_gate("training")))
    assert "d20" in rag and "d20" not in training  # web_quality gates only the training export
    assert not {"d21", "d22"} & (rag | training)
    why = {r["doc_id"]: r for r in excluded_documents(corpus.wh, "training", gate=_gate("training")).to_pylist()}
    assert why["d20"]["exclusion"] == "filtered" and why["d20"]["filtered_by"] == ["c4_too_few_sentences"]
    assert why["d21"]["filtered_by"] == ["link_list"]
    assert why["d01"]["exclusion"] == "duplicate"
    # A gate that names only junk lets the thin page in; one without `duplicates` keeps members.
    loose = ids(select_export_documents(corpus.wh, "rag", gate=_gate("rag", ["junk"])))
    assert "d22" in loose and "d21" not in loose and {"d01", "d02"} <= loose
    # The web profile's rules drop from the RAG export too.
    web = ids(select_export_documents(corpus.wh, "rag", gate=_gate("rag", profiles={"site": "web"})))
    assert "d20" not in web


def test_unknown_gate_entry_is_one_clear_error():
    import pytest

    from corpusforge.processing.gates import UnknownGateError, build_gate

    with pytest.raises(UnknownGateError, match="'jnuk'"):
        build_gate("rag", ["jnuk"])


def test_verdicts_are_recorded_when_they_change_and_answer_why_in_one_query(corpus):
    from datetime import UTC, datetime, timedelta

    from corpusforge.warehouse.selection import record_verdicts

    gate = _gate("rag")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = record_verdicts(corpus.wh, "rag", "docs", "run-1", now, gate=gate)
    assert first == 40  # every current document, once
    assert record_verdicts(corpus.wh, "rag", "docs", "run-2", now + timedelta(1), gate=gate) == 0  # no change
    corpus.write("documents", [doc_row("d03", pseudo_text(3), kept=False, minutes=4, drop_reasons=["tag_cloud"])])
    assert record_verdicts(corpus.wh, "rag", "docs", "run-3", now + timedelta(2), gate=gate) == 1
    con = corpus.wh.connect(read_only=True)
    try:
        row = con.execute(
            "select included, exclusion, filtered_by, run_id from export_verdicts where doc_id = 'd03'"
        ).fetchone()
        kept = con.execute("select count(*) from export_verdicts where export_name = 'docs' and included").fetchone()
    finally:
        con.close()
    assert row == (False, "filtered", ["tag_cloud"], "run-3")
    assert kept[0] == len(ids(select_export_documents(corpus.wh, "rag", gate=gate)))

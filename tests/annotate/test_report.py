"""`annotate report` from a hand-computed case: warehouse rows in, exact numbers out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corpusforge.flows.annotate import annotation_report
from corpusforge.flows.cli import main
from corpusforge.schemas import conform
from tests.annotate.factories import decision, document, write_documents

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _docs():
    def d(n, a_kept, b_kept):
        decisions = [decision("a_filter", a_kept, 1.0, 2.0), decision("b_filter", b_kept, 1.0, 2.0)]
        return document(n, kept=a_kept and b_kept, decisions=decisions)

    # (filter a, filter b) verdicts; the human label is in _annotations
    return [d(1, False, True), d(2, False, True), d(3, True, False), d(4, True, True), d(5, True, True),
            d(6, False, False)]  # fmt: skip


def _annotations(docs):
    labels = [  # (task, annotator, quality, minutes after T0, cancelled)
        (1, "alice", "drop", 0, False), (2, "alice", "keep", 0, False), (3, "alice", "drop", 0, False),
        (4, "alice", "keep", 0, False), (5, "alice", "keep", 0, False), (6, "alice", "drop", 0, False),
        (1, "bob", "drop", 1, False), (2, "bob", "keep", 1, False), (5, "bob", "drop", 1, False),
        (6, "bob", "drop", 1, False), (4, "bob", "drop", 1, False),
        (4, "carol", "keep", -1, False),  # doc 4: keep wins 2:1 though bob's drop is the latest
        (3, "carol", None, 2, True),  # skipped: counts nowhere
    ]  # fmt: skip
    rows = []
    for i, (task, who, quality, minutes, cancelled) in enumerate(labels, start=1):
        at = T0 + timedelta(minutes=minutes)
        rows.append({"annotation_id": i, "task_id": task, "project_id": 1, "doc_id": docs[task - 1]["doc_id"],
                     "annotator": who, "quality": quality, "was_cancelled": cancelled, "created_at": at,
                     "updated_at": at, "pulled_at": at})  # fmt: skip
    return rows


@pytest.fixture()
def labelled_wh(wh):
    docs = write_documents(wh, _docs())
    wh.write("annotations", conform("annotations", _annotations(docs)), "test-pull")
    return wh


def test_report_numbers_match_hand_computed_case(labelled_wh):
    report = annotation_report(labelled_wh)
    # Human verdict = majority of annotators, a tie to the latest: doc 5 is "drop" (bob, 1:1 after alice).
    # a_filter: dropped 1,2,6 -> human drop 1,6, keep 2; kept 3,4,5 -> human drop 3,5, keep 4.
    # b_filter: dropped 3,6 (both human drop); kept 1,2,4,5 -> human drop 1,5, keep 2,4.
    # all filters: dropped 1,2,3,6 -> drop 1,3,6, keep 2; kept 4,5 -> keep 4, drop 5.
    got = {f.filter: (f.true_drop, f.false_drop, f.missed_drop, f.true_keep, f.precision, f.recall)
           for f in report.filters}  # fmt: skip
    assert got == {
        "(all filters)": (3, 1, 1, 1, 0.75, 0.75),
        "a_filter": (2, 1, 2, 1, 2 / 3, 0.5),
        "b_filter": (2, 0, 2, 2, 1.0, 0.5),
    }
    assert report.labelled_documents == 6
    # alice vs bob on tasks 1, 2, 4, 5, 6: agree on 1, 2, 6 -> 60 %; alice keep 3 / drop 2, bob keep 1 /
    # drop 4: p_e = (3*1 + 2*4) / 25 = 0.44, kappa = (0.6 - 0.44) / 0.56. carol's skip is not a label.
    pairs = {(p.annotator_a, p.annotator_b): p for p in report.agreement["quality"]}
    assert {k: (p.items, p.agreed) for k, p in pairs.items()} == {
        ("alice", "bob"): (5, 3),
        ("alice", "carol"): (1, 1),
        ("bob", "carol"): (1, 0),
    }
    assert pairs[("alice", "bob")].kappa == pytest.approx(0.16 / 0.56)
    assert pairs[("alice", "carol")].kappa is None  # one shared label, the same: chance agreement is 1


def test_report_cli_prints_the_numbers(labelled_wh, tmp_path, capsys):
    config = tmp_path / "corpusforge.yaml"
    config.write_text(f"warehouse: {labelled_wh.root}\n")
    assert main(["--config", str(config), "annotate", "report"]) == 0
    out = capsys.readouterr().out
    assert "a_filter" in out and "0.67" in out and "0.50" in out
    assert "alice" in out and "60.0%" in out and "0.29" in out

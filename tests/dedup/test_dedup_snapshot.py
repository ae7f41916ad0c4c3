"""The dedup stage's saved state (warehouse/dedup_snapshot.py): what a run saves is what the
history says, and a snapshot that does not match the table's files is never used."""

from __future__ import annotations

import os
import shutil

import pyarrow as pa
import pytest

from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.dedup_clusters import latest_clusters_rows
from corpusforge.warehouse.dedup_index import current_index_rows
from corpusforge.warehouse.dedup_snapshot import read_snapshot, snapshot_path
from tests.dedup.conftest import make_doc, random_text, substitute, write_docs
from tests.dedup.test_dedup import clusters, run_dedup

pytestmark = pytest.mark.usefixtures("prefect_api")  # every dedup runs as a Prefect flow

STATES = {"dedup_signatures": current_index_rows, "clusters": latest_clusters_rows}


def family(name: str, seed: int, copies: int = 2) -> list[dict]:
    base = random_text(seed)
    return [make_doc(f"{name}-orig", base, quality=0.9)] + [
        make_doc(f"{name}-near{i}", substitute(base, 3 + i, seed=seed + i)) for i in range(copies)
    ]


def by_doc(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: r["doc_id"])


def assert_saved_state_is_the_historys(wh: Warehouse) -> None:
    con = wh.connect()
    try:
        for table, compute in STATES.items():
            saved = read_snapshot(wh, table)
            assert saved is not None, f"no usable snapshot of {table}"
            assert by_doc(saved) == by_doc(compute(con))
    finally:
        con.close()


def test_each_run_saves_the_state_the_history_gives(wh, cfg):
    write_docs(wh, family("a", 1) + family("b", 2) + [make_doc("lone", random_text(3))])
    run_dedup(wh, cfg)
    assert_saved_state_is_the_historys(wh)
    # the next run merges its own rows into the state it read back: new, changed and dropped documents
    later = family("c", 4) + [
        make_doc("a-near0", random_text(5)),  # changed: it leaves its family
        make_doc("b-near1", "", kept=False),  # dropped by a re-clean: it leaves the index
    ]
    write_docs(wh, later, run_id="clean-2")
    summary = run_dedup(wh, cfg)
    assert summary.counts["signed (new or changed)"] == 4 and summary.counts["left the index"] == 1
    assert_saved_state_is_the_historys(wh)


def test_a_snapshot_that_does_not_match_the_files_is_not_used(tmp_path, wh, cfg):
    write_docs(wh, family("a", 1))
    run_dedup(wh, cfg)
    for table in STATES:
        shutil.copy(snapshot_path(wh, table), tmp_path / table)
    write_docs(wh, family("b", 2), run_id="clean-2")
    run_dedup(wh, cfg)
    for table in STATES:  # the first run's snapshots, as if the second run had been killed before saving
        shutil.copy(tmp_path / table, snapshot_path(wh, table))
        assert read_snapshot(wh, table) is None  # the second run's files are not in it
    write_docs(wh, family("c", 3), run_id="clean-3")
    summary = run_dedup(wh, cfg)
    assert summary.counts["signed (new or changed)"] == 3  # c's; b's are in the history, not in the stale snapshot
    assert_saved_state_is_the_historys(wh)

    union = Warehouse(str(tmp_path / "full"))
    union.init()
    write_docs(union, family("a", 1) + family("b", 2) + family("c", 3))
    run_dedup(union, cfg)
    assert clusters(wh) == clusters(union)


def test_an_unreadable_snapshot_is_ignored_and_replaced(wh, cfg):
    write_docs(wh, family("a", 1))
    run_dedup(wh, cfg)
    before = clusters(wh)
    for table in STATES:
        with open(snapshot_path(wh, table), "wb") as fh:
            fh.write(b"not an Arrow file")
        assert read_snapshot(wh, table) is None
    write_docs(wh, family("b", 2), run_id="clean-2")
    summary = run_dedup(wh, cfg)
    assert summary.counts["signed (new or changed)"] == 3
    assert {k: v for k, v in clusters(wh).items() if k.startswith("a-")} == before
    assert_saved_state_is_the_historys(wh)


def test_a_run_that_changes_nothing_does_not_write_the_snapshot_again(wh, cfg):
    write_docs(wh, family("a", 1))
    run_dedup(wh, cfg)
    files = {table: os.stat(snapshot_path(wh, table)) for table in STATES}
    summary = run_dedup(wh, cfg)  # the flow itself, not the CLI's idle check
    assert summary.counts["signed (new or changed)"] == 0 and summary.counts["clusters rows written"] == 0
    for table, before in files.items():
        after = os.stat(snapshot_path(wh, table))
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

"""The dedup stage's saved state (warehouse/dedup_snapshot.py): the latest rows it reads back (a
snapshot and the files written since) are what the history says, whatever was saved when, and a
snapshot whose files are not all there as they were is never used."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest

from corpusforge.warehouse import Warehouse, dedup_snapshot
from corpusforge.warehouse.dedup_clusters import latest_clusters_rows
from corpusforge.warehouse.dedup_index import LATEST_COLUMNS, current_index_rows
from corpusforge.warehouse.dedup_snapshot import ROW, LatestRows, read_snapshot, snapshot_path
from tests.dedup.conftest import make_doc, random_text, substitute, write_docs
from tests.dedup.test_dedup import clusters, run_dedup

pytestmark = pytest.mark.usefixtures("prefect_api")  # every dedup runs as a Prefect flow

STATES = {
    "dedup_signatures": ([*LATEST_COLUMNS, "shingles"], current_index_rows),
    "clusters": (None, latest_clusters_rows),
}


def family(name: str, seed: int, copies: int = 2) -> list[dict]:
    base = random_text(seed)
    return [make_doc(f"{name}-orig", base, quality=0.9)] + [
        make_doc(f"{name}-near{i}", substitute(base, 3 + i, seed=seed + i)) for i in range(copies)
    ]


def by_doc(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: r["doc_id"])


def assert_state_read_back_is_the_historys(wh: Warehouse) -> None:
    """What a run reads back (`LatestRows`) equals the latest rows computed from the whole
    history, and so do the shingle sets it holds (when it holds them)."""
    con = wh.connect()
    try:
        for table, (columns, compute) in STATES.items():
            state = LatestRows(wh, con, table, "_state", columns, compute)
            expected = compute(con)
            got = con.sql(f"select {', '.join(expected.column_names)} from _state").to_arrow_table()
            assert by_doc(got) == by_doc(expected), table
            if state.has("shingles"):
                places = con.sql(f"select doc_id, {ROW} from _state where not removed order by {ROW}").fetchall()
                held = state.list_values("shingles", np.array([p for _, p in places]))
                history = dict(
                    con.sql(
                        "select h.doc_id, h.shingles from dedup_signatures_history h "
                        "join dedup_signatures s on s.doc_id = h.doc_id and s.run_id = h.run_id"
                    ).fetchall()
                )
                assert {d: list(v) for (d, _), v in zip(places, held, strict=True)} == {
                    d: history[d] for d, _ in places
                }
    finally:
        con.close()


def snapshot_files(wh) -> dict[str, tuple[int, int]]:
    """Each snapshot file's inode and mtime: they change when it is written again."""
    stats = {table: os.stat(snapshot_path(wh, table)) for table in STATES}
    return {table: (st.st_ino, st.st_mtime_ns) for table, st in stats.items()}


@pytest.mark.parametrize("rewrite_share", [dedup_snapshot.REWRITE_SHARE, 1e9], ids=["rewritten", "never rewritten"])
def test_the_state_read_back_is_the_historys(wh, cfg, monkeypatch, rewrite_share):
    monkeypatch.setattr(dedup_snapshot, "REWRITE_SHARE", rewrite_share)
    write_docs(wh, family("a", 1) + family("b", 2) + [make_doc("lone", random_text(3))])
    run_dedup(wh, cfg)
    assert all(read_snapshot(wh, table) is not None for table in STATES)  # computed from the history: saved
    assert_state_read_back_is_the_historys(wh)
    saved = snapshot_files(wh)
    changes = [
        family("c", 4) + [make_doc("a-near0", random_text(5)), make_doc("b-near1", "", kept=False)],
        [make_doc("a-near0", random_text(6)), make_doc("c-near1", "", kept=False), make_doc("lone2", random_text(7))],
    ]
    for run, later in enumerate(changes):  # new, changed (again) and dropped documents, over two runs
        write_docs(wh, later, run_id=f"clean-{run + 2}")
        summary = run_dedup(wh, cfg)
        assert summary.counts["signed (new or changed)"] > 0 and summary.counts["left the index"] == 1
        assert_state_read_back_is_the_historys(wh)
    # these runs add more than a tenth of the rows: rewritten unless told never to
    assert (snapshot_files(wh) == saved) == (rewrite_share > 1)


def test_a_small_change_does_not_rewrite_the_snapshot(wh, cfg):
    write_docs(wh, [make_doc(f"d{i:02d}", random_text(100 + i, words=60)) for i in range(40)])
    run_dedup(wh, cfg)
    saved = snapshot_files(wh)
    later = [make_doc("new", random_text(200, words=60)), make_doc("d03", random_text(201, words=60))]
    write_docs(wh, later, "clean-2")
    summary = run_dedup(wh, cfg)
    assert summary.counts["signed (new or changed)"] == 2
    assert snapshot_files(wh) == saved  # 2 rows on 40: read with the snapshot next time, not written into it
    assert_state_read_back_is_the_historys(wh)


def test_a_snapshot_whose_files_are_not_all_there_is_not_used(tmp_path, wh, cfg):
    write_docs(wh, family("a", 1))
    run_dedup(wh, cfg)
    write_docs(wh, family("b", 2), run_id="clean-2")
    run_dedup(wh, cfg)  # 3 rows on 3: the snapshots are rewritten, and cover both runs' files
    second = sorted(wh.files("dedup_signatures"), key=lambda i: i.base_name)[-1]
    os.unlink(second.path)  # the second run's signatures are gone from the history
    assert read_snapshot(wh, "dedup_signatures") is None
    assert read_snapshot(wh, "clusters") is not None  # its files are all there
    assert_state_read_back_is_the_historys(wh)  # b's signatures are not in it
    summary = run_dedup(wh, cfg)
    assert summary.counts["signed (new or changed)"] == 3  # b's documents are signed again

    union = Warehouse(str(tmp_path / "full"))
    union.init()
    write_docs(union, family("a", 1) + family("b", 2))
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
    assert all(read_snapshot(wh, table) is not None for table in STATES)
    assert_state_read_back_is_the_historys(wh)


def test_a_run_that_changes_nothing_does_not_write_the_snapshot_again(wh, cfg):
    write_docs(wh, family("a", 1))
    run_dedup(wh, cfg)
    saved = snapshot_files(wh)
    summary = run_dedup(wh, cfg)  # the flow itself, not the CLI's idle check
    assert summary.counts["signed (new or changed)"] == 0 and summary.counts["clusters rows written"] == 0
    assert snapshot_files(wh) == saved

"""The warehouse: atomic writes, a kill mid-write, locks, current-version views, the catalog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpusforge.warehouse import TableLockedError, Warehouse, new_run_id

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def doc_row(doc_id: str, text: str, cleaned_at: datetime, fetched_at: datetime | None = None) -> dict:
    return {
        "doc_id": doc_id,
        "content_hash": f"h-{text}",
        "page_id": f"p-{doc_id}-{text}",
        "url": f"http://example.test/{doc_id}",
        "source": "s",
        "fetched_at": fetched_at or cleaned_at,
        "cleaned_at": cleaned_at,
        "text": text,
        "kept": True,
        "pipeline_version": "v1",
    }


def test_write_is_zstd_with_bounded_row_groups_and_named_by_run(wh):
    run = new_run_id("test")
    rows = [doc_row(f"d{i}", "t", T0) for i in range(25_000)]
    path = wh.write("documents", rows, run)
    assert os.path.basename(path).startswith(run)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 25_000
    assert meta.num_row_groups >= 3
    assert all(meta.row_group(i).num_rows <= 10_000 for i in range(meta.num_row_groups))
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_documents_view_shows_current_version_and_hides_tombstoned(wh):
    run = new_run_id("test")
    wh.write("documents", [doc_row("a", "old", T0), doc_row("b", "only", T0)], run)
    wh.write("documents", [doc_row("a", "new", T0 + timedelta(hours=1))], run)
    con = wh.connect()
    assert con.sql("select doc_id, text from documents order by doc_id").fetchall() == [("a", "new"), ("b", "only")]
    assert con.execute("select count(*) from documents_history").fetchone()[0] == 3
    con.close()
    wh.write("tombstones", [{"doc_id": "b", "reason": "http_404", "created_at": T0 + timedelta(days=1)}], run)
    con = wh.connect()
    assert con.sql("select doc_id from documents").fetchall() == [("a",)]


def test_document_fetched_again_after_its_tombstone_is_visible(wh):
    run = new_run_id("test")
    wh.write("tombstones", [{"doc_id": "b", "reason": "http_404", "created_at": T0}], run)
    wh.write("documents", [doc_row("b", "back", T0 + timedelta(days=2))], run)
    assert wh.connect().sql("select text from documents").fetchall() == [("back",)]


WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from corpusforge.warehouse import Warehouse
    wh = Warehouse(sys.argv[1])
    rows = [{"doc_id": f"d{i}", "reason": "http_404", "created_at": datetime.now(UTC)} for i in range(1000)]
    with wh.writer("tombstones", "20260101T000000000000Z-killed-aaaaaa") as w:
        w.write(rows)
        print("wrote-first-batch", flush=True)
        time.sleep(60)  # killed here: the file is still being written
    """
)


def test_a_write_killed_halfway_leaves_no_partial_file_and_next_write_succeeds(wh, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), wh.root_url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout.readline().strip() == "wrote-first-batch"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert wh.stats("tombstones").rows == 0  # nothing half-written is visible
    assert list(Path(wh.root, "tombstones", "_tmp").glob("*.tmp")), "the killed writer's temp file is there"
    with wh.lock("tombstones", new_run_id("next")):
        assert wh.sweep_temp_files("tombstones") == 1
        wh.write("tombstones", [{"doc_id": "x", "reason": "takedown", "created_at": T0}], new_run_id("next"))
    assert wh.connect().sql("select doc_id from tombstones").fetchall() == [("x",)]


def test_second_writer_gets_a_clear_lock_error(wh):
    with wh.lock("pages", "run-one"):
        with pytest.raises(TableLockedError, match="table 'pages' is being written by run run-one"):
            wh.lock("pages", "run-two").acquire()
    with wh.lock("pages", "run-two"):  # released: the next run can write
        pass


def test_lock_of_a_dead_process_is_taken_over(wh, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from warehouse import Warehouse; import sys; Warehouse(sys.argv[1]).lock('pages', 'dead-run').acquire()",
            wh.root_url,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    assert proc.returncode == 0
    assert Path(wh.root, "pages", "_lock").exists()
    with wh.lock("pages", "alive-run") as lock:
        assert lock.held


def _duckdb_cli(catalog: str, cwd: Path, sql: str = "select count(*) from documents") -> str:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "duckdb"), catalog, "-csv", "-noheader", "-c", sql],
        cwd=cwd, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_catalog_works_from_a_plain_duckdb_client_in_any_folder(wh, tmp_path):
    wh.write("documents", [doc_row("a", "x", T0), doc_row("b", "y", T0)], new_run_id("test"))
    parent = Path(wh.root).parent
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # (working directory, how the catalog is named from there)
    for cwd, catalog in [(parent, "data/corpus.duckdb"), (Path(wh.root), "corpus.duckdb"),
                         (elsewhere, wh.catalog_path), (Path("/"), wh.catalog_path)]:  # fmt: skip
        assert _duckdb_cli(catalog, cwd) == "2", f"from {cwd}"
    import duckdb

    con = duckdb.connect(wh.catalog_path, read_only=True)
    os.chdir(elsewhere)
    try:
        assert con.execute("select count(*) from tombstones").fetchone()[0] == 0
    finally:
        os.chdir(REPO)


def test_catalog_survives_moving_the_warehouse(wh, tmp_path):
    wh.write("documents", [doc_row("a", "x", T0)], new_run_id("t"))
    moved = tmp_path / "elsewhere" / "data"
    moved.parent.mkdir()
    os.rename(wh.root, moved)
    # The first corpusforge connection after the move rebuilds the catalog for the new place ...
    assert Warehouse(str(moved)).connect().execute("select count(*) from documents").fetchone()[0] == 1
    # ... and from then on a plain DuckDB shell works there too, from any folder.
    other = tmp_path / "other"
    other.mkdir()
    for cwd in (moved.parent, other):
        assert _duckdb_cli(str(moved / "corpus.duckdb"), cwd) == "1", f"from {cwd}"
    assert _duckdb_cli("corpus.duckdb", moved) == "1"


def test_fsspec_url_root(tmp_path):
    wh = Warehouse("memory://cf-test/data")
    wh.init()
    wh.write("tombstones", [{"doc_id": "m", "reason": "takedown", "created_at": T0}], new_run_id("t"))
    assert wh.stats("tombstones").rows == 1
    assert wh.connect().sql("select doc_id from tombstones").fetchall() == [("m",)]


def test_snapshot_changes_when_a_file_is_added(wh):
    before = wh.snapshot()
    wh.write("tombstones", [{"doc_id": "m", "reason": "takedown", "created_at": T0}], new_run_id("t"))
    after = wh.snapshot()
    assert before["snapshot_id"] != after["snapshot_id"]
    assert wh.snapshot()["snapshot_id"] == after["snapshot_id"]


def test_a_waiting_writer_gets_the_lock_when_the_first_one_finishes(wh):
    import threading

    first = wh.lock("pages", "run-one").acquire()
    threading.Timer(1.0, first.release).start()
    with wh.lock("pages", "run-two", wait=30) as second:  # waits instead of failing
        assert second.held
    with pytest.raises(TableLockedError):
        with wh.lock("pages", "run-three"):
            wh.lock("pages", "run-four", wait=0.5).acquire()


def _outdate_schema_file(wh: Warehouse, table: str) -> Path:
    """Replace a table's schema file with one of another schema (as an older version wrote it)."""
    import pyarrow as pa

    path = Path(wh.root) / table / "00000000-schema.parquet"
    pq.write_table(pa.table({"doc_id": pa.array([], pa.string())}), path)
    return path


def test_init_checks_every_schema_file_until_the_mark_says_the_schemas_are_current(tmp_path):
    from corpusforge.schemas import schema_of
    from corpusforge.warehouse.store import SCHEMAS_MARK, schemas_digest

    wh = Warehouse(str(tmp_path / "wh"))
    wh.init()
    mark = tmp_path / "wh" / SCHEMAS_MARK
    assert mark.read_text() == schemas_digest()

    # With the mark current, a new process trusts the schema files (no read-back per table)...
    stale = _outdate_schema_file(wh, "tombstones")
    Warehouse(wh.root).init()
    assert pq.read_schema(stale).names == ["doc_id"]

    # ...and a missing schema file is still made again.
    stale.unlink()
    Warehouse(wh.root).init()
    assert pq.read_schema(stale).names == schema_of("tombstones").names

    # A mark of other schemas (a corpusforge that changed a table): every file is checked and the
    # outdated one rewritten, then the mark names the current schemas.
    _outdate_schema_file(wh, "tombstones")
    mark.write_text("digest-of-older-schemas")
    Warehouse(wh.root).init()
    assert pq.read_schema(stale).names == schema_of("tombstones").names
    assert mark.read_text() == schemas_digest()

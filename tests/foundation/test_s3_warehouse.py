"""The warehouse on object storage: an s3:// root on a local S3 server (moto's server mode),
as workers on several machines would share it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from corpusforge.warehouse import Warehouse, new_run_id


def test_s3_root_writes_reads_and_queries(s3_endpoint):
    root = f"s3://corpus/data?endpoint_override={s3_endpoint}&scheme=http&region=us-east-1"
    wh = Warehouse(root)
    assert not wh.is_local
    wh.init()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    run = new_run_id("s3")
    wh.write(
        "documents",
        [
            {
                "doc_id": "a",
                "content_hash": "h1",
                "page_id": "p",
                "url": "http://x/a",
                "source": "s",
                "cleaned_at": t0,
                "fetched_at": t0,
                "kept": True,
                "pipeline_version": "v",
            }
        ],
        run,
    )
    wh.write("tombstones", [{"doc_id": "zz", "reason": "http_404", "created_at": t0}], run)
    assert wh.stats("documents").rows == 1
    # A second client (another machine) sees the same tables through the same URL.
    other = Warehouse(root)
    con = other.connect()
    assert con.execute("select doc_id from documents").fetchall() == [("a",)]
    assert con.execute("select count(*) from tombstones").fetchone()[0] == 1
    with other.lock("documents", "run-b"):
        from corpusforge.warehouse import TableLockedError

        with pytest.raises(TableLockedError):
            wh.lock("documents", "run-a").acquire()

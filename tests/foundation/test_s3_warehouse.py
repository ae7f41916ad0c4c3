"""The warehouse on object storage: an s3:// root on a local S3 server (moto's server mode),
as workers on several machines would share it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from corpusforge.warehouse import Warehouse, new_run_id
from tests.conftest import free_port, wait_for_http


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=fh, stderr=fh
        )
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/moto-api/", 60, proc, log)
        import pyarrow.fs as pafs

        fs = pafs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1", allow_bucket_creation=True
        )
        fs.create_dir("corpus")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_s3_root_writes_reads_and_queries(s3_endpoint):
    root = f"s3://corpus/data?endpoint_override={s3_endpoint}&scheme=http&region=us-east-1"
    wh = Warehouse(root)
    assert not wh.is_local
    wh.init()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    run = new_run_id("s3")
    wh.write("documents", [{"doc_id": "a", "content_hash": "h1", "page_id": "p", "url": "http://x/a", "source": "s",
                            "cleaned_at": t0, "fetched_at": t0, "kept": True, "pipeline_version": "v"}], run)
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

"""Issue 15.3 and 15.4: the files source stays in its folder, and a source that cannot be read
becomes rows named by the source instead of an exception that sinks the crawl."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from corpusforge.connectors.crawler import CrawlJob, ingest_records
from corpusforge.connectors.fetcher import FetchPolicy
from corpusforge.connectors.records import source_records
from corpusforge.connectors.warc import WarcOut
from corpusforge.schemas.config import SourceConfig


def rows_of(source: SourceConfig) -> dict[str, dict]:
    job = CrawlJob(source=source, run_id="r1")
    out = []
    ingest_records(job, source_records(source, FetchPolicy("t")), lambda o: out.append(o.page))
    return {r["url"].rsplit("/", 1)[-1]: r for r in out}


def test_files_source_refuses_links_out_of_its_folder_and_special_files(tmp_path):
    site, outside = tmp_path / "site", tmp_path / "outside"
    (site / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.html").write_text("<p>secret</p>")
    (site / "good.html").write_text("<p>good</p>")
    (site / "sub" / "inner.html").write_text("<p>inner</p>")
    os.symlink("/etc/passwd", site / "passwd.html")
    os.symlink("../../outside/secret.html", site / "sub" / "secret.html")
    os.symlink(outside, site / "linked-dir")
    os.symlink("sub/inner.html", site / "alias.html")  # inside the folder: read once, as itself
    os.mkfifo(site / "fifo.html")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(site / "sock.html"))
    try:
        rows = rows_of(SourceConfig(name="docs", kind="files", path=str(site)))
    finally:
        sock.close()
    assert rows["good.html"]["fetch_status"] == "fetched" and rows["inner.html"]["fetch_status"] == "fetched"
    for name in ("passwd.html", "secret.html", "linked-dir"):
        assert rows[name]["fetch_status"] == "skipped" and rows[name]["error"].startswith("outside_root: "), name
        assert rows[name].get("body") is None
    assert rows["fifo.html"]["error"] == "not_a_file: fifo.html is a FIFO"
    assert rows["sock.html"]["error"] == "not_a_file: sock.html is a socket"
    assert "alias.html" not in rows
    bodies = b"".join(r.get("body") or b"" for r in rows.values())
    assert b"root:" not in bodies and b"secret" not in bodies


def test_a_missing_folder_or_warc_is_a_row_named_by_the_source(tmp_path):
    rows = rows_of(SourceConfig(name="gone", kind="files", path=str(tmp_path / "nope")))
    (row,) = rows.values()
    assert row["fetch_status"] == "failed" and row["error"].startswith("source_unreadable: files source folder ")
    rows = rows_of(SourceConfig(name="arc", kind="warc", path=str(tmp_path / "missing.warc.gz")))
    (row,) = rows.values()
    assert row["source"] == "arc" and row["error"].startswith("source_unreadable: warc source 'arc': ")


def test_a_refused_or_corrupt_warc_is_a_row_not_an_exception(tmp_path):
    # a WARC URL on a private address, without allow_private_network: refused, recorded
    rows = rows_of(SourceConfig(name="arc", kind="warc", url="http://127.0.0.1:9/x.warc.gz"))
    (row,) = rows.values()
    assert row["error"].startswith("source_unreadable: warc source 'arc': 127.0.0.1 resolves to 127.0.0.1")
    bad = tmp_path / "bad.warc"
    with WarcOut(bad) as out:  # one good record, then bytes that are no record at all
        out.write_response("http://x.test/a.html", 200, {"content-type": "text/html"}, b"<p>a</p>",
                           datetime.now(UTC), False)  # fmt: skip
    with open(bad, "ab") as fh:
        fh.write(b"this is not a WARC record\r\n" * 20)
    rows = rows_of(SourceConfig(name="arc", kind="warc", path=str(bad)))
    assert rows["a.html"]["fetch_status"] == "fetched"
    (row,) = [r for r in rows.values() if r["fetch_status"] == "failed"]
    assert row["error"].startswith(f"warc_unreadable: {bad}: after 1 response(s): ArchiveLoadFailed")


def test_a_stalled_warc_download_ends_at_the_source_deadline(drip_site):
    import time

    source = SourceConfig(name="arc", kind="warc", url=drip_site.url + "/drip.html", deadline=2,
                          allow_private_network=True)  # fmt: skip
    job = CrawlJob(source=source, run_id="r1")
    out = []
    started = time.monotonic()
    policy = FetchPolicy("t", allow_private_network=True)
    ingest_records(job, source_records(source, policy), lambda o: out.append(o.page))
    assert time.monotonic() - started < 6
    (row,) = out
    assert row["error"] == "source_timeout: warc source 'arc': download not done within 2s"

"""Issue 15.6: errors that name the thing (config regexes, corrupt Parquet, a waiting lock)."""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest

from corpusforge.schemas.config import ConfigError, load_settings
from corpusforge.warehouse import Warehouse, WarehouseError
from corpusforge.warehouse.query import QueryError, run_query


def test_a_bad_include_regex_fails_at_load_in_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text('sources:\n  - {name: a, kind: site, url: "http://x/", include: ["ok", "[abc"]}\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert str(err.value) == f"{cfg}: sources.0.include.1: unterminated character set at position 0"


def test_a_relative_source_path_must_stay_in_the_config_folder(tmp_path):
    (tmp_path / "cfg").mkdir()
    cfg = tmp_path / "cfg" / "c.yaml"
    cfg.write_text("sources:\n  - {name: a, kind: warc, path: ../../etc/x.warc}\n")
    with pytest.raises(ConfigError, match=r"sources\.0\.path: \.\./\.\./etc/x\.warc leads to .* outside the config"):
        load_settings(cfg)
    cfg.write_text("sources:\n  - {name: a, kind: warc, path: arc/x.warc}\n")
    assert load_settings(cfg).sources[0].path == str(tmp_path / "cfg" / "arc" / "x.warc")


def _pages(n: int) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    return [{"page_id": f"p{i}", "url": f"http://x/{i}", "source": "s", "crawl_run_id": "r", "fetched_at": now,
             "fetch_status": "fetched", "body": b"hello world %d " % i * 50} for i in range(n)]  # fmt: skip


def test_corrupt_and_truncated_parquet_errors_name_the_file_and_table(tmp_path, monkeypatch):
    from corpusforge.warehouse import store

    # One row group, so the bytes below land in the column chunk headers the query reads (pages
    # are otherwise written in 16-row groups, and a hit in one body the query skips goes unseen).
    monkeypatch.setitem(store.ROW_GROUP_ROWS_OF, "pages", store.ROW_GROUP_ROWS)
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    path = wh.write("pages", _pages(300), "r1")
    data = bytearray(open(path, "rb").read())
    # bytes in the middle of the file's column chunk headers (a mid-file corruption DuckDB reports as
    # "don't know what type", naming no file)
    start = int(len(data) * 0.82)
    data[start : start + 64] = bytes((i * 37 + 11) % 256 for i in range(64))
    open(path, "wb").write(data)
    with pytest.raises(QueryError) as err:
        run_query(wh, "select count(*), sum(octet_length(body)) from pages_history")
    assert str(err.value).startswith(f"table 'pages': file {path} is not readable Parquet (")
    os.truncate(path, 100)
    with pytest.raises(WarehouseError, match=f"table 'pages': file {path} is not readable Parquet"):
        wh.stats("pages")
    with pytest.raises(WarehouseError, match=f"table 'pages': file {path}"):
        wh.read("pages")


def test_a_waiting_crawl_says_in_one_line_which_run_it_waits_for(tmp_path):
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    holder = wh.lock("pages", "run-A").acquire()
    lines: list[str] = []
    waiter = wh.lock("pages", "run-B", wait=5)
    waiter.notify = lines.append
    threading.Timer(1.0, holder.release).start()
    waiter.acquire()
    waiter.release()
    assert len(lines) == 1 and lines[0].startswith(f"waiting for run run-A (pid {os.getpid()} on ")
    assert lines[0].endswith("to finish writing table 'pages' (up to 5s)")

"""Found by the probes: parallel crawl tasks writing crawl_runs raced on the schema file (each
write rewrote it, under one temp name) and one task failed with FileNotFoundError."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from corpusforge.warehouse import Warehouse, utc_now


def test_parallel_writes_of_a_table_with_nested_columns_neither_race_nor_rewrite_its_schema_file(tmp_path):
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    schema_file = tmp_path / "data" / "crawl_runs" / "00000000-schema.parquet"
    before = os.stat(schema_file).st_mtime_ns

    def mark(n: int) -> str:
        row = {"crawl_run_id": f"r{n}", "source": f"s{n}", "event": "started", "event_at": utc_now(),
               "counts": {"fetched": n}}  # fmt: skip
        return wh.write("crawl_runs", [row], f"r{n}")

    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(mark, range(40)))
    assert len(set(paths)) == 40 and wh.read("crawl_runs").num_rows == 40
    assert os.stat(schema_file).st_mtime_ns == before  # up to date: never rewritten

"""The `training_examples` table: every row of every training export version, recorded once per
(name, version) so that a version can be traced back to its documents with a query."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corpusforge.warehouse.store import utc_now
from corpusforge.warehouse.training_parts import release_freed_arrow_memory

# Rows read back from a shard at a time. Each batch is copied twice on its way to the table (the
# version columns, the table's schema), so the driver's memory follows this, not the version's size.
RECORD_BATCH_ROWS = 1_000


def recorded_example_count(wh, name: str, version: str) -> int:
    flt = (ds.field("export_name") == name) & (ds.field("export_version") == version)
    return wh.read("training_examples", columns=["example_id"], filter=flt).num_rows


def record_training_examples(wh, staged, fmt: str, snapshot_id: str, run_id: str) -> int:
    """Append a staged export version's rows, read back from its shards a row group at a time, to
    `training_examples` once per (name, version); returns rows added. The caller holds the table lock."""
    if not staged.split_stats or recorded_example_count(wh, staged.name, staged.version):
        return 0
    created_at = utc_now()
    added = 0
    with wh.writer("training_examples", run_id) as writer:
        for split, stats in staged.split_stats.items():
            for shard in stats["shards"]:
                with wh.fs.open_input_file(f"{staged.staging}/{shard}") as fh:
                    for batch in pq.ParquetFile(fh, pre_buffer=False).iter_batches(batch_size=RECORD_BATCH_ROWS):
                        writer.write(_with_version_columns(batch, staged, fmt, split, snapshot_id, created_at))
                        added += batch.num_rows
                        release_freed_arrow_memory()
    return added


def _with_version_columns(batch: pa.RecordBatch, staged, fmt: str, split: str, snapshot_id: str, created_at):
    table = pa.Table.from_batches([batch]).drop_columns(["contaminated"])
    constants = {"export_name": staged.name, "export_version": staged.version, "format": fmt, "split": split,
                 "snapshot_id": snapshot_id}  # fmt: skip
    for name, value in constants.items():
        table = table.append_column(name, pa.array([value] * table.num_rows, pa.string()))
    return table.append_column("created_at", pa.array([created_at] * table.num_rows, pa.timestamp("us", tz="UTC")))

"""The dedup stage's state kept between runs: the current index and the latest clusters rows.

Each run of the stage asks the same two things first: the latest `dedup_signatures` row of every
document (with its band hashes) and the latest `clusters` row of every document. Computed from the
append-only history, both are a window over every row ever written (and a join for the band
hashes); a run that adds 500 documents to 50,000 spent a third of its time there. So the run
that changed them saves them at its end, one Arrow IPC file per table (`_current.arrow` in the
table's folder, beside its Parquet files, which the views never read), and the next run reads
them back in a few milliseconds and queries them in place (registered on the connection, not
copied into DuckDB).

A snapshot is used only when it matches the table exactly: it is stamped with the names and sizes
of the Parquet files it was computed from (names are unique per write), the digest of every
table's schema and this module's format version. Any other writer, a run killed before it saved,
a deleted file, a new schema: the files differ, the snapshot is ignored and the state is computed
from the history as before (and saved again by the next run that writes). An unreadable snapshot
is ignored the same way. Writes go to the table's `_tmp` folder and are renamed into place, so a
reader never sees half a file; only the dedup stage writes them, under its table locks.
"""

from __future__ import annotations

import json
import secrets

import pyarrow as pa
import pyarrow.ipc as ipc

from corpusforge.warehouse.store import TMP_DIR, schemas_digest

SNAPSHOT_FILE = "_current.arrow"
FORMAT_VERSION = 1
STAMP_KEY = b"corpusforge.snapshot"


def stamp(wh, table: str) -> str:
    """What a snapshot of `table` must have been computed from to be used now."""
    files = [[info.base_name, info.size] for info in wh.files(table)]
    return json.dumps({"format": FORMAT_VERSION, "schemas": schemas_digest(), "files": files}, sort_keys=True)


def snapshot_path(wh, table: str) -> str:
    return f"{wh.table_dir(table)}/{SNAPSHOT_FILE}"


def read_snapshot(wh, table: str) -> pa.Table | None:
    """The saved state of `table`, or None when there is none that matches its files now."""
    try:
        with wh.fs.open_input_file(snapshot_path(wh, table)) as fh:
            data = ipc.open_file(fh).read_all()
    except (OSError, pa.ArrowInvalid):  # none yet, or not a whole IPC file: computed from the history
        return None
    saved = (data.schema.metadata or {}).get(STAMP_KEY)
    if saved is None or saved.decode() != stamp(wh, table):
        return None
    return data.replace_schema_metadata(None)


def write_snapshot(wh, table: str, data: pa.Table) -> None:
    """Save `data` as the state of `table` as its files are now (call under the table's lock,
    after the run's own writes)."""
    stamped = data.replace_schema_metadata({STAMP_KEY: stamp(wh, table).encode()})
    tmp = f"{wh.table_dir(table)}/{TMP_DIR}/{SNAPSHOT_FILE}.{secrets.token_hex(4)}.tmp"
    with wh.fs.open_output_stream(tmp) as sink, ipc.new_file(sink, stamped.schema) as writer:
        writer.write_table(stamped)
    wh.fs.move(tmp, snapshot_path(wh, table))

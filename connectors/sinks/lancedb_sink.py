"""The LanceDB sink: a RAG export as one table of an embedded LanceDB database (no server).

One table per export, named after it. Each row is a chunk: the vector (fixed_size_list<float32>[dim],
the type LanceDB searches), the text, the lineage columns of the export, and two columns the RAG
frameworks read: `id` (the chunk_id) and `metadata` (the lineage as a struct). Writing is an
upsert by chunk_id (`merge_insert`) that rewrites a row only when something in it changed, then the
export's deletions, then the indexes: an ANN index once the table is large enough, and a full-text
index on the text for hybrid search.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.connectors.sinks.export_folder import (
    LINEAGE_COLUMNS,
    META_MODEL_ID,
    ExportFolder,
    deleted_chunk_ids,
    held_deletions,
)

# Below this many rows a search scans every vector: exact, and cheap enough. bench/lancedb_index.py
# on this shared 2-core machine (two runs): at 10k rows the index is no faster than the scan
# (10-31 ms both); at 50k rows the scan takes 44-71 ms, the index ~18 ms (2.5-3.9x) after a build
# of 44-106 s. So smaller tables stay exact and unindexed.
ANN_INDEX_MIN_ROWS = 50_000
# Query settings once the index exists: a wider HNSW candidate list and re-ranking of 10x k
# candidates by their full vectors. The bench measures recall@10 1.00 at 10k and 50k rows with
# them; a 20k-row trial without them gave 0.42.
ANN_EF = 400
ANN_REFINE_FACTOR = 10
VECTOR_COLUMN = "embedding"
TEXT_COLUMN = "text"
DELETE_BATCH = 1_000  # chunk ids per delete predicate: keeps the SQL string small
RESULT_COLUMNS = ["title", "heading_path", "url", "text", "chunk_id", "doc_id"]
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# Lance logs warnings to stderr from Rust (a hybrid query's sub-queries warn about score columns
# they will stop adding): errors only, unless the user sets LANCEDB_LOG.
os.environ.setdefault("LANCEDB_LOG", "error")


@dataclass
class SyncResult:
    """What one sync did to a sink."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    deletion_reasons: dict[str, int] = field(default_factory=dict)
    stale_removed: int = 0  # rows in the sink that no export lists any more (a missed export's deletions)
    rows: int = 0
    indexes: list[str] = field(default_factory=list)


def row_hash(batch: pa.RecordBatch | pa.Table) -> pa.Array:
    """A 64-bit hash per row of everything but the vector (text_hash and model_id pin the vector):
    the upsert rewrites a row only when this changes."""
    frame = batch.select([c for c in (*LINEAGE_COLUMNS, TEXT_COLUMN) if c in batch.schema.names]).to_pandas()
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return pa.array(hashed.view(np.int64), pa.int64())


def sink_rows(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """Export rows as sink rows: the export's columns plus `id`, `metadata` and `row_hash`.

    LlamaIndex's LanceDBVectorStore reads `id` and `metadata` by those names, LangChain's LanceDB
    reads `metadata`; they duplicate the lineage so that both open the table as it is."""
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    lineage = [c for c in LINEAGE_COLUMNS if c in table.schema.names]
    metadata = pa.StructArray.from_arrays([table.column(c).combine_chunks() for c in lineage], names=lineage)
    return (
        table.append_column("id", table.column("chunk_id"))
        .append_column("metadata", metadata)
        .append_column("row_hash", row_hash(table))
    )


# pyarrow's S3 options (as in a warehouse URL's query) -> Lance's object-store options
_LANCE_S3_OPTIONS = {
    "region": "aws_region",
    "access_key": "aws_access_key_id",
    "secret_key": "aws_secret_access_key",
    "session_token": "aws_session_token",
}


def lance_location(uri: str) -> tuple[str, dict[str, str] | None]:
    """(database URI, storage options) for a folder or an s3:// URL; an s3:// URL may carry the
    warehouse URL's options (`?endpoint_override=host:port&scheme=http&region=...`), which Lance
    takes as storage options. Credentials not given come from the environment."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.query:
        return uri, None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    options = {lance: query[ours] for ours, lance in _LANCE_S3_OPTIONS.items() if ours in query}
    if endpoint := query.get("endpoint_override"):
        scheme = query.get("scheme", "https")
        options["aws_endpoint"] = endpoint if "://" in endpoint else f"{scheme}://{endpoint}"
        if options["aws_endpoint"].startswith("http://"):
            options["allow_http"] = "true"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), options


def _quoted(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class LanceDBSink:
    """One export's table in a LanceDB database folder (`uri`), e.g. `exports/lancedb`.

    `sync(export_folder)` brings the table in step with the export; `search` and `hybrid_search`
    query it. The table is created by the first sync, with the export's schema and metadata.
    """

    def __init__(self, uri: str | Path, table_name: str, *, ann_index_min_rows: int = ANN_INDEX_MIN_ROWS):
        import lancedb

        if not _TABLE_NAME.match(table_name or ""):
            raise ValueError(f"invalid LanceDB table name {table_name!r}: use letters, digits, '_', '-' or '.'")
        self.uri = str(uri)
        self.table_name = table_name
        self.ann_index_min_rows = ann_index_min_rows
        location, storage_options = lance_location(self.uri)
        self.db = lancedb.connect(location, storage_options=storage_options)

    # ---- writing ------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.table_name in self._table_names()

    def _table_names(self) -> list[str]:
        listing = self.db.list_tables() if hasattr(self.db, "list_tables") else self.db.table_names()
        return list(getattr(listing, "tables", listing))

    @property
    def table(self):
        if not self.exists():
            raise FileNotFoundError(
                f"no LanceDB table {self.table_name!r} in {self.uri}; sync a RAG export into it first"
            )
        return self.db.open_table(self.table_name)

    def upsert(self, rows: pa.Table | pa.RecordBatch) -> tuple[int, int]:
        """Insert new chunks and rewrite changed ones, matched on chunk_id: (inserted, updated)."""
        data = sink_rows(rows)
        if not self.exists():
            self.db.create_table(self.table_name, schema=data.schema)
        result = (
            self.table.merge_insert("chunk_id")
            .when_matched_update_all(where="target.row_hash != source.row_hash")
            .when_not_matched_insert_all()
            .execute(data)
        )
        return int(result.num_inserted_rows), int(result.num_updated_rows)

    def apply_deletions(self, deletions: pa.Table) -> int:
        """Remove the chunks named by deletion rows (as in the export's deletions.parquet); returns
        how many rows left the table."""
        ids = deleted_chunk_ids(deletions)
        if not ids or not self.exists():
            return 0
        return self.delete_ids(ids)

    def delete_ids(self, ids: list[str]) -> int:
        table = self.table
        removed = 0
        for start in range(0, len(ids), DELETE_BATCH):
            result = table.delete(f"chunk_id IN ({_quoted(ids[start : start + DELETE_BATCH])})")
            removed += int(getattr(result, "num_deleted_rows", 0))
        return removed

    def chunk_ids(self) -> set[str]:
        return set(self.table.search().select(["chunk_id"]).limit(None).to_arrow().column("chunk_id").to_pylist())

    def ensure_indexes(self) -> list[str]:
        """Build what is missing (the full-text index always, the ANN index from
        `ann_index_min_rows` rows on) and fold new rows into the indexes that exist."""
        from lancedb.index import FTS, IvfHnswSq

        table = self.table
        have = {tuple(i.columns) for i in table.list_indices()}
        if have:
            table.optimize()  # an index covers only the rows it was built on until optimized
        if (TEXT_COLUMN,) not in have:
            table.create_index(TEXT_COLUMN, config=FTS(), replace=True)
        if (VECTOR_COLUMN,) not in have and table.count_rows() >= self.ann_index_min_rows:
            # HNSW graphs in IVF partitions over 8-bit scalar-quantized vectors: better recall than
            # IVF-PQ at 384 dimensions, and no PQ codebook to train (which needs 256+ rows).
            table.create_index(VECTOR_COLUMN, config=IvfHnswSq(distance_type="cosine"), replace=True)
        return sorted(i.index_type for i in table.list_indices())

    def sync(self, export: ExportFolder | str | Path) -> SyncResult:
        """Bring the table in step with an export folder: upsert its chunks, apply its deletions,
        remove rows no export lists any more, update the indexes."""
        folder = export if isinstance(export, ExportFolder) else ExportFolder.open(export)
        self._check_model(folder.model_id)
        result = SyncResult()
        current: set[str] = set()
        for batch in folder.chunks():
            inserted, updated = self.upsert(batch)
            result.inserted += inserted
            result.updated += updated
            current.update(batch.column("chunk_id").to_pylist())
        if not self.exists():  # an empty export into a new table: nothing to hold or index
            return result
        held = self.chunk_ids()
        gone, result.deletion_reasons = held_deletions(folder.deletions(), held)
        result.deleted = self.delete_ids(gone) if gone else 0
        stale = sorted(held - current - set(gone))
        result.stale_removed = self.delete_ids(stale) if stale else 0
        result.indexes = self.ensure_indexes()
        result.rows = self.table.count_rows()
        return result

    def _check_model(self, model_id: str) -> None:
        if not self.exists():
            return
        held = (self.table.schema.metadata or {}).get(META_MODEL_ID, b"").decode()
        if held and held != model_id:
            raise ValueError(
                f"LanceDB table {self.table_name!r} holds vectors of {held}, the export's are {model_id}; "
                "sync it into a new table"
            )

    # ---- reading ------------------------------------------------------------------------------
    def dim(self) -> int:
        return self.table.schema.field(VECTOR_COLUMN).type.list_size

    def _check_vector(self, query_vector: np.ndarray) -> list[float]:
        vector = np.asarray(query_vector, dtype=np.float32)
        if vector.shape != (self.dim(),):
            raise ValueError(
                f"query vector has shape {vector.shape}, table {self.table_name!r} holds {self.dim()}-dimension vectors"
            )
        return vector.tolist()

    def search(self, query_vector: np.ndarray, k: int = 5) -> pa.Table:
        """The k chunks nearest to the vector by cosine: score (cosine similarity), title,
        heading_path, url, text, chunk_id, doc_id (the columns of the Parquet export's search)."""
        vector = self._check_vector(query_vector)
        hits = (
            self.table.search(vector, vector_column_name=VECTOR_COLUMN)
            .distance_type("cosine")
            .ef(ANN_EF)
            .refine_factor(ANN_REFINE_FACTOR)
            .select([*RESULT_COLUMNS, "_distance"])  # named: LanceDB will stop adding it unasked
            .limit(k)
            .to_arrow()
        )
        score = pc.subtract(1.0, hits.column("_distance").cast(pa.float64()))
        return hits.select(RESULT_COLUMNS).add_column(0, "score", score)

    def hybrid_search(self, text: str, query_vector: np.ndarray, k: int = 5) -> pa.Table:
        """The k chunks ranked by reciprocal-rank fusion of the vector search and the full-text
        (BM25) search for `text`: score (the fused relevance), then the columns of `search`."""
        if not text or not text.strip():
            raise ValueError("hybrid search needs the question's text as well as its vector")
        vector = self._check_vector(query_vector)
        hits = (
            self.table.search(query_type="hybrid", vector_column_name=VECTOR_COLUMN, fts_columns=TEXT_COLUMN)
            .vector(vector)
            .text(text)
            .distance_type("cosine")
            .select(RESULT_COLUMNS)
            .limit(k)
            .to_arrow()
        )
        return hits.select(RESULT_COLUMNS).add_column(0, "score", hits.column("_relevance_score"))

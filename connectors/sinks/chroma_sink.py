"""The Chroma sink: a RAG export as one collection of a Chroma server (`chroma run`).

Chroma stores our vectors as they are: the collection is created with no embedding function, so
Chroma never embeds anything itself (a query by text fails instead of silently using another
model), and its space is cosine, the measure the export's normalised vectors are made for. The
chunk_id is the Chroma id, the lineage goes in each record's metadata.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpusforge.connectors.sinks.export_folder import (
    LINEAGE_COLUMNS,
    ExportFolder,
    deleted_chunk_ids,
    held_deletions,
)
from corpusforge.connectors.sinks.lancedb_sink import RESULT_COLUMNS, SyncResult

MODEL_KEY = "corpusforge_model_id"
DIM_KEY = "corpusforge_embedding_dim"
ID_PAGE = 5_000  # ids fetched per request when listing the collection


def chroma_metadata(row: dict) -> dict:
    """A chunk's lineage as Chroma metadata: Chroma takes str, int, float and bool values and no
    nulls, so nulls are left out and timestamps become ISO 8601 strings."""
    out = {}
    for key in LINEAGE_COLUMNS:
        value = row.get(key)
        if value is None:
            continue
        out[key] = value.isoformat() if isinstance(value, dt.datetime) else value
    return out


class ChromaSink:
    """One export's collection on a Chroma server. `sync(export_folder)` brings it in step with
    the export, `search(vector, k)` queries it."""

    def __init__(self, client, collection_name: str):
        self.client = client
        self.collection_name = collection_name

    @classmethod
    def connect(cls, host: str, port: int, collection_name: str) -> ChromaSink:
        import chromadb
        from chromadb.config import Settings

        client = chromadb.HttpClient(host=host, port=port, settings=Settings(anonymized_telemetry=False))
        return cls(client, collection_name)

    def collection(self, model_id: str | None = None, dim: int | None = None):
        """The collection, created on first use with no embedding function and cosine space."""
        metadata = {MODEL_KEY: model_id, DIM_KEY: dim} if model_id else None
        collection = self.client.get_or_create_collection(
            self.collection_name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata=metadata,
        )
        held = (collection.metadata or {}).get(MODEL_KEY)
        if model_id and held and held != model_id:
            raise ValueError(
                f"Chroma collection {self.collection_name!r} holds vectors of {held}, the export's are "
                f"{model_id}; sync it into a new collection"
            )
        return collection

    def upsert(self, rows: pa.Table | pa.RecordBatch, collection=None) -> int:
        """Insert or replace the chunks, keyed by chunk_id, with our vectors; returns the rows sent."""
        collection = collection or self.collection()
        table = pa.Table.from_batches([rows]) if isinstance(rows, pa.RecordBatch) else rows
        step = self.client.get_max_batch_size()
        for start in range(0, table.num_rows, step):
            part = table.slice(start, step)
            vectors = part.column("embedding").combine_chunks()
            dim = vectors.type.list_size
            collection.upsert(
                ids=part.column("chunk_id").to_pylist(),
                embeddings=np.asarray(vectors.flatten(), dtype=np.float32).reshape(-1, dim),
                documents=part.column("text").to_pylist(),
                metadatas=[chroma_metadata(r) for r in part.select(list(LINEAGE_COLUMNS)).to_pylist()],
            )
        return table.num_rows

    def chunk_ids(self, collection=None) -> set[str]:
        collection = collection or self.collection()
        ids: set[str] = set()
        while True:
            page = collection.get(include=[], limit=ID_PAGE, offset=len(ids))["ids"]
            ids.update(page)
            if len(page) < ID_PAGE:
                return ids

    def delete_ids(self, ids: list[str], collection=None) -> int:
        collection = collection or self.collection()
        before = collection.count()
        step = self.client.get_max_batch_size()
        for start in range(0, len(ids), step):
            collection.delete(ids=ids[start : start + step])
        return before - collection.count()

    def apply_deletions(self, deletions: pa.Table, collection=None) -> int:
        """Remove the chunks named by deletion rows (as in deletions.parquet); returns how many left."""
        ids = deleted_chunk_ids(deletions)
        return self.delete_ids(ids, collection) if ids else 0

    def sync(self, export: ExportFolder | str | Path) -> SyncResult:
        """Upsert the export's chunks, apply its deletions, remove what no export lists any more."""
        folder = export if isinstance(export, ExportFolder) else ExportFolder.open(export)
        collection = self.collection(folder.model_id, folder.dim)
        result = SyncResult()
        before = self.chunk_ids(collection)
        current: set[str] = set()
        for batch in folder.chunks():
            ids = batch.column("chunk_id").to_pylist()
            self.upsert(batch, collection)
            result.inserted += sum(1 for i in ids if i not in before)
            result.updated += sum(1 for i in ids if i in before)
            current.update(ids)
        held = before | current
        gone, result.deletion_reasons = held_deletions(folder.deletions(), held)
        result.deleted = self.delete_ids(gone, collection) if gone else 0
        stale = sorted(held - current - set(gone))
        result.stale_removed = self.delete_ids(stale, collection) if stale else 0
        result.rows = collection.count()
        result.indexes = ["hnsw (cosine)"]
        return result

    def search(self, query_vector: np.ndarray, k: int = 5) -> pa.Table:
        """The k nearest chunks: score (cosine similarity) and the columns of the Parquet search."""
        collection = self.collection()
        vector = np.asarray(query_vector, dtype=np.float32)
        dim = (collection.metadata or {}).get(DIM_KEY)
        if dim and vector.shape != (dim,):
            raise ValueError(
                f"query vector has shape {vector.shape}, "
                f"collection {self.collection_name!r} holds {dim}-dimension vectors"
            )
        hits = collection.query(
            query_embeddings=[vector],
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        rows = []
        for cid, text, meta, dist in zip(
            hits["ids"][0], hits["documents"][0], hits["metadatas"][0], hits["distances"][0], strict=True
        ):
            rows.append({"score": 1.0 - float(dist), **{c: meta.get(c) for c in RESULT_COLUMNS}, "text": text})
            rows[-1]["chunk_id"] = cid
        schema = pa.schema([("score", pa.float64())] + [(c, pa.string()) for c in RESULT_COLUMNS])
        return pa.Table.from_pylist(rows, schema=schema)

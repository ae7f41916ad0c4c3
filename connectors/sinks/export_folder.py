"""Read a RAG export folder (`exports/rag/<name>/`) the way every sink needs it.

The folder is the contract between the export and the sinks: `chunks.parquet` (the vector as
fixed_size_list<float32>[dim], model id and dimension in the file's metadata), `deletions.parquet`
(chunk_ids that left since the previous export, each with its reason) and `manifest.json`.
Sinks read only these files, so they work on an export copied to another machine, and read them
through a pyarrow filesystem: an export on S3 (beside an s3:// warehouse) syncs without a copy.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

CHUNKS_FILE = "chunks.parquet"
DELETIONS_FILE = "deletions.parquet"
MANIFEST_FILE = "manifest.json"
META_MODEL_ID = b"corpusforge.model_id"
META_DIM = b"corpusforge.embedding_dim"

# The lineage a sink keeps beside each vector: enough to cite the chunk and find it in its page.
LINEAGE_COLUMNS = (
    "chunk_id",
    "doc_id",
    "content_hash",
    "url",
    "title",
    "heading_path",
    "position",
    "char_start",
    "char_end",
    "text_hash",
    "token_count",
    "language",
    "fetched_at",
    "model_id",
    "chunker_config_hash",
)


class ExportFolderError(ValueError):
    """The folder is not a complete RAG export."""


def _filesystem_for(location: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local folder or a URL: s3://bucket/...?endpoint_override=...
    (pyarrow's own S3 options), or any fsspec protocol."""
    if "://" not in location or location.startswith("file://"):
        return pafs.LocalFileSystem(), os.path.abspath(location.removeprefix("file://"))
    try:
        fs, path = pafs.FileSystem.from_uri(location)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        import fsspec

        fsspec_fs, path = fsspec.core.url_to_fs(location)
        fs = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec_fs))
    return fs, path.rstrip("/")


@dataclass(frozen=True)
class ExportFolder:
    path: str  # the folder inside `fs`
    model_id: str
    dim: int
    fs: pafs.FileSystem = field(default_factory=pafs.LocalFileSystem, compare=False, repr=False)

    @classmethod
    def open(cls, location: str | Path, filesystem: pafs.FileSystem | None = None) -> ExportFolder:
        """Check that `location` holds a whole export (its manifest is written last) and read its
        model. `location` is a local folder, a URL (an export on S3: the warehouse's URL with the
        export's path), or a path inside `filesystem` (e.g. `Warehouse(...).fs`)."""
        if filesystem is None:
            fs, folder = _filesystem_for(str(location))
        else:
            fs, folder = filesystem, str(location).rstrip("/")
        for name in (MANIFEST_FILE, CHUNKS_FILE):
            if fs.get_file_info(f"{folder}/{name}").type != pafs.FileType.File:
                raise ExportFolderError(f"{folder} is not a RAG export (no {name}); run `corpusforge export rag` first")
        meta = pq.read_schema(f"{folder}/{CHUNKS_FILE}", filesystem=fs).metadata or {}
        if META_DIM not in meta or META_MODEL_ID not in meta:
            raise ExportFolderError(f"{folder}/{CHUNKS_FILE} has no model id or dimension in its metadata")
        return cls(folder, meta[META_MODEL_ID].decode(), int(meta[META_DIM]), fs)

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def manifest(self) -> dict:
        with self.fs.open_input_stream(f"{self.path}/{MANIFEST_FILE}") as fh:
            return json.loads(fh.read())

    def chunks(self, batch_rows: int = 2_048):
        """The export's chunks as Arrow record batches of at most `batch_rows` rows (the vector
        stays fixed_size_list<float32>[dim]: Arrow's schema in the file keeps the size)."""
        source = self.fs.open_input_file(f"{self.path}/{CHUNKS_FILE}")
        return pq.ParquetFile(source).iter_batches(batch_size=batch_rows)

    def chunks_schema(self) -> pa.Schema:
        return pq.read_schema(f"{self.path}/{CHUNKS_FILE}", filesystem=self.fs)

    def deletions(self) -> pa.Table:
        """chunk_id, doc_id and reason of every chunk that left since the previous export."""
        path = f"{self.path}/{DELETIONS_FILE}"
        if self.fs.get_file_info(path).type != pafs.FileType.File:
            return pa.table({"chunk_id": pa.array([], pa.string()), "reason": pa.array([], pa.string())})
        return pq.read_table(path, filesystem=self.fs)


def deleted_chunk_ids(deletions: pa.Table) -> list[str]:
    """The chunk ids of deletion rows (as in deletions.parquet); a clear error for other tables."""
    if "chunk_id" not in deletions.column_names:
        raise ExportFolderError(f"deletion rows need a chunk_id column, got {deletions.column_names}")
    return [c for c in deletions.column("chunk_id").to_pylist() if c]


def held_deletions(deletions: pa.Table, held: set[str]) -> tuple[list[str], dict[str, int]]:
    """Of the deletion rows, the chunk ids a sink still holds and how many of them per reason
    (a sink that never had a chunk does not count its deletion)."""
    ids = deleted_chunk_ids(deletions)
    reasons = deletions.column("reason").to_pylist() if "reason" in deletions.column_names else [None] * len(ids)
    gone = [(cid, reason or "unknown") for cid, reason in zip(ids, reasons, strict=True) if cid in held]
    counts: dict[str, int] = {}
    for _, reason in gone:
        counts[reason] = counts.get(reason, 0) + 1
    return [cid for cid, _ in gone], counts

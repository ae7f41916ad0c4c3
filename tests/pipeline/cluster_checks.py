"""What the Dask cluster test compares and checks: tables, exports, LanceDB and export.duckdb on
S3, and which workers ran each kind of task (from the scheduler's task stream)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from tests.conftest import s3_url

S3_PREFIX = "dask-cluster"  # the S3 run's warehouse is <bucket>/<prefix>/data, its exports <prefix>/exports


def warehouse(config: Path):
    from corpusforge.schemas.config import load_settings
    from corpusforge.warehouse import Warehouse

    return Warehouse(load_settings(config).warehouse)


def tables(wh) -> dict:
    con = wh.connect()
    queries = {
        "documents": "select url, content_hash, kept, drop_reasons, language, quality_score, text from documents",
        "clusters": "select d.url, c.cluster_id, c.is_representative, c.reason "
        "from clusters c join documents d using (doc_id)",
        "chunks": "select chunk_id, doc_id, position, char_start, char_end, text_hash, token_count from chunks",
        "embeddings": "select distinct text_hash, model_id from embeddings",
        "training_examples": "select example_id, split, doc_id from training_examples",
    }
    try:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}
    finally:
        con.close()


def exports(wh) -> dict:
    """Every Parquet file of both exports, on the warehouse's filesystem (training version folders
    by their path without the version id, which names the run's snapshot), rows sorted, vectors
    apart."""
    import pyarrow.fs as pafs

    root = f"{wh.root.rsplit('/', 1)[0]}/exports"
    out = {}
    files = wh.fs.get_file_info(pafs.FileSelector(root, recursive=True))
    for path in sorted(i.path for i in files if i.path.endswith(".parquet")):
        parts = path[len(root) + 1 :].split("/")
        version_ids = {p for p in parts[:-1] if len(p) == 12 and p.isalnum()}
        key = "/".join(p for p in parts if p != "__versions__" and p not in version_ids)
        table = pq.read_table(path, filesystem=wh.fs)
        vectors = None
        if "embedding" in table.column_names:
            order = np.argsort(table.column("chunk_id").to_numpy(zero_copy_only=False))
            vectors = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))[order]
            table = table.drop_columns(["embedding"])
        drop = [c for c in ("created_at", "run_id", "deleted_at") if c in table.column_names]
        rows = sorted(table.drop_columns(drop).to_pylist(), key=repr)
        out[key] = (rows, vectors)
    return out


def training_export(wh) -> dict:
    """The published version: its manifest's version and counts, and every file's bytes but the
    manifest's (it names the input files, whose names hold run ids); the card with the snapshot id
    (a hash of those names) masked."""
    from corpusforge.warehouse import training_export as te

    latest = te.latest_path(wh, "sample")
    files = {}
    for info in wh.fs.get_file_info(te.pafs.FileSelector(latest, recursive=True)):
        rel = info.path[len(latest) + 1 :]
        if info.type == te.pafs.FileType.File and rel != te.MANIFEST:
            with wh.fs.open_input_stream(info.path) as fh:
                files[rel] = fh.read()
    with wh.fs.open_input_stream(f"{latest}/{te.MANIFEST}") as fh:
        manifest = json.loads(fh.read())
    snapshot_id = manifest["snapshot"]["snapshot_id"].encode()
    files["README.md"] = files["README.md"].replace(snapshot_id, b"<snapshot>")
    return {"version": manifest["version"], "counts": manifest["counts"], "files": files}


def workers_by_kind(stream: list[dict]) -> dict[str, set[str]]:
    """{task kind: the workers that computed such tasks} from Dask's task stream, whose keys are
    `<kind>-<uuid hex>` (flows/runtime.submit_to_dask)."""
    found: dict[str, set[str]] = {}
    for record in stream:
        kind = str(record["key"]).rsplit("-", 1)[0]
        if any(span["action"] == "compute" for span in record.get("startstops", ())):
            found.setdefault(kind, set()).add(record["worker"])
    return found


def reported_workers(results: list[dict], stage: str, field: str) -> set[str]:
    """The workers a stage's summary names under `field` (in its details or its parts' details)."""
    summary = next(r for r in results if r["stage"] == stage)
    return {a for d in summary["details"] for part in d.get("details", [d]) for a in part.get(field, ())}


def rag_export(wh) -> list[dict]:
    from corpusforge.warehouse import rag_store

    path = f"{rag_store.export_dir(wh, 'sample')}/chunks.parquet"
    return pq.read_table(path, filesystem=wh.fs).sort_by("chunk_id").to_pylist()


def sinks_read_the_export_on_s3(local, endpoint: str, tmp_path, expected_rag: list[dict]) -> None:
    """LanceDB synced from the export on S3 (by URL, no copy) into a database on S3 holds what a sync
    from the local export gives (vectors up to the runners' float noise)."""
    from corpusforge.connectors.sinks import ExportFolder, LanceDBSink
    from corpusforge.warehouse import rag_store

    columns = ["chunk_id", "doc_id", "url", "heading_path", "text", "fetched_at"]
    from_local = LanceDBSink(str(tmp_path / "lancedb"), "sample")
    from_local.sync(rag_store.export_dir(local, "sample"))
    on_s3 = LanceDBSink(s3_url(endpoint, f"{S3_PREFIX}/exports/lancedb"), "sample")
    result = on_s3.sync(ExportFolder.open(s3_url(endpoint, f"{S3_PREFIX}/exports/rag/sample")))
    assert result.inserted == result.rows == len(expected_rag)
    tables = [s.table.to_arrow().sort_by("chunk_id") for s in (from_local, on_s3)]
    assert tables[1].select(columns).to_pylist() == tables[0].select(columns).to_pylist()
    vectors = [np.stack(t.column("embedding").to_numpy(zero_copy_only=False)) for t in tables]
    np.testing.assert_allclose(vectors[1], vectors[0], atol=1e-4)


def export_views_on_s3(wh, copy_to, expected_rag: list[dict]) -> None:
    """export.duckdb written into the export on S3 names the files relative to its folder: the
    folder copied down opens as a local one does."""
    import pyarrow.fs as pafs

    from corpusforge.warehouse import rag_store
    from corpusforge.warehouse.export_views import connect_export_views, write_export_views

    folder = rag_store.export_dir(wh, "sample")
    write_export_views(folder, wh.fs)
    copy_to.mkdir()
    pafs.copy_files(folder, str(copy_to), source_filesystem=wh.fs, destination_filesystem=pafs.LocalFileSystem())
    con = connect_export_views(copy_to)
    rows = con.execute("select chunk_id, typeof(embedding) from chunks order by chunk_id").fetchall()
    dim = len(expected_rag[0]["embedding"])
    assert rows == [(r["chunk_id"], f"FLOAT[{dim}]") for r in expected_rag]


# Columns of a pages row that differ between two crawls of the same site: ids, times.
VOLATILE_PAGE_COLUMNS = ("page_id", "crawl_run_id", "fetched_at", "elapsed_ms")


def pages_view(wh, ignore: tuple[str, ...] = ()) -> list[tuple]:
    """Every pages row ever written (a row written twice shows), without what differs between crawls."""
    table = wh.read("pages")
    table = table.drop_columns([c for c in (*VOLATILE_PAGE_COLUMNS, *ignore) if c in table.column_names])
    return sorted((tuple(map(_hashable, row.values())) for row in table.to_pylist()), key=repr)


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value

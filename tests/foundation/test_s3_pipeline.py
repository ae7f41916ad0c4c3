"""The whole pipeline (crawl -> clean -> dedup -> both exports, annotate not configured) on an
s3:// warehouse on a local S3 server gives the tables and exports of a run on a local warehouse."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml

from tests.foundation.conftest import s3_url

pytestmark = pytest.mark.slow

PAGES = 12  # crawl budget: a few duplicates, clusters and both exports, at a small cost
STAGES = ["crawl", "clean", "dedup", "export_training", "export_rag"]
CHUNK_COLUMNS = ["chunk_id", "doc_id", "content_hash", "url", "position", "text_hash", "text", "embedding"]


def _config(folder, site_url: str, warehouse: str):
    from corpusforge.flows.demo import demo_config

    cfg = demo_config(site_url, pages=PAGES)
    cfg.pop("annotate")
    # One fetch at a time: the same crawl order (and so the same representatives) in both runs.
    cfg["sources"][0].update(max_pages=PAGES, concurrency=1)
    cfg["warehouse"] = warehouse
    folder.mkdir()
    path = folder / "corpusforge.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _tables(wh) -> dict:
    con = wh.connect()
    queries = {
        "pages": "select url, fetch_status, status, body_sha256 from pages order by url",
        "documents": "select url, content_hash, kept, drop_reasons, language, quality_score "
        "from documents order by url",
        "clusters": "select d.url, c.cluster_id, c.is_representative, c.reason from clusters c "
        "join documents d using (doc_id) order by d.url",
        "chunks": "select chunk_id, doc_id, text_hash from chunks order by chunk_id",
        "training_examples": "select example_id, split, doc_id from training_examples order by example_id",
    }
    return {name: con.execute(sql).fetchall() for name, sql in queries.items()}


def _training_export(wh) -> dict:
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


def _rag_export(wh) -> list[dict]:
    from corpusforge.warehouse import rag_store

    path = f"{rag_store.export_dir(wh, 'sample')}/chunks.parquet"
    return pq.read_table(path, filesystem=wh.fs, columns=CHUNK_COLUMNS).sort_by("chunk_id").to_pylist()


def test_pipeline_on_s3_equals_the_local_run(prefect_api, s3_endpoint, site_server, tmp_path, monkeypatch):
    from corpusforge.flows.pipeline import pipeline
    from corpusforge.schemas.config import load_settings
    from corpusforge.warehouse import Warehouse

    monkeypatch.chdir(tmp_path)  # where a bucket path taken for a local one would land
    local_cfg = _config(tmp_path / "local", site_server.url, "./data")
    s3_cfg = _config(tmp_path / "s3", site_server.url, s3_url(s3_endpoint, "pipeline/data"))
    pipeline(config=str(local_cfg), only=STAGES)
    pipeline(config=str(s3_cfg), only=STAGES)

    local, remote = (Warehouse(load_settings(c).warehouse) for c in (local_cfg, s3_cfg))
    assert not remote.is_local
    assert not (tmp_path / "s3" / "data").exists() and not (tmp_path / "s3" / "exports").exists()
    assert remote.fs.get_file_info("corpus/pipeline/reports/corpus-report.html").size > 0
    assert not (tmp_path / "corpus").exists(), "a path in the bucket was written to the local disk"
    expected, got = _tables(local), _tables(remote)
    assert len(expected["documents"]) >= PAGES // 2 and expected["chunks"] and expected["training_examples"]
    for table, rows in expected.items():
        assert got[table] == rows, table

    expected_training, got_training = _training_export(local), _training_export(remote)
    assert expected_training["files"] and "README.md" in expected_training["files"]
    assert got_training == expected_training
    assert remote.fs.get_file_info(f"corpus/pipeline/exports/training/sample/__versions__/{got_training['version']}/"
                                   "manifest.json").size > 0  # fmt: skip

    expected_rag, got_rag = _rag_export(local), _rag_export(remote)
    assert len(expected_rag) == len(expected["chunks"])
    assert got_rag == expected_rag
    _sinks_read_the_export_on_s3(local, s3_endpoint, tmp_path, len(expected_rag))
    _export_views_on_s3(remote, tmp_path / "copied", expected_rag)


def _export_views_on_s3(wh, copy_to, expected_rag: list[dict]) -> None:
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


def _sinks_read_the_export_on_s3(local, endpoint: str, tmp_path, chunks: int) -> None:
    """LanceDB synced from the export on S3 (by URL, no copy) into a database on S3 holds what a sync
    from the local export gives; Chroma reads its input through the same ExportFolder."""
    from corpusforge.connectors.sinks import ExportFolder, LanceDBSink
    from corpusforge.warehouse import rag_store

    columns = ["chunk_id", "doc_id", "url", "heading_path", "text", "embedding"]  # not fetched_at: two crawls
    from_local = LanceDBSink(str(tmp_path / "lancedb"), "sample")
    from_local.sync(rag_store.export_dir(local, "sample"))
    on_s3 = LanceDBSink(s3_url(endpoint, "pipeline/exports/lancedb"), "sample")
    result = on_s3.sync(ExportFolder.open(s3_url(endpoint, "pipeline/exports/rag/sample")))
    assert result.inserted == result.rows == chunks
    rows = [s.table.to_arrow().select(columns).sort_by("chunk_id").to_pylist() for s in (from_local, on_s3)]
    assert rows[1] == rows[0]

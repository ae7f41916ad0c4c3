"""The RAG export end to end: vectors computed once, removals that reach the deletions file,
and a search that finds pages by their titles."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusforge.flows.export_rag import export_rag
from corpusforge.flows.search import search
from corpusforge.flows.stage import StageSummary
from corpusforge.schemas.config import RagExport, Settings
from corpusforge.warehouse import rag_store, utc_now
from tests.export_rag.conftest import document_row

pytestmark = pytest.mark.usefixtures("prefect_api")  # every export runs as a Prefect flow


def run_export_rag(wh, export: RagExport) -> StageSummary:
    return export_rag(Settings(warehouse=wh.root, exports={"rag": [export]}))


def _export(wh, name: str = "default") -> tuple[pa.Table, pa.Table, dict]:
    folder = rag_store.export_dir(wh, name)
    manifest = json.loads(open(f"{folder}/manifest.json").read())
    return pq.read_table(f"{folder}/chunks.parquet"), pq.read_table(f"{folder}/deletions.parquet"), manifest


def test_first_export_writes_every_chunk_with_its_vector(exported, rag_documents):
    root, summary = exported
    counts = summary.counts
    assert counts["documents selected"] == counts["documents exported"] == len(rag_documents)
    assert counts["chunks embedded"] == counts["chunks new"] == counts["chunks exported"] > len(rag_documents)
    assert counts["chunks deleted"] == 0
    folder = root.parent / "exports" / "rag" / "default"
    chunks = pq.read_table(folder / "chunks.parquet")
    assert chunks.num_rows == counts["chunks exported"]
    assert chunks.schema.field("embedding").type == pa.list_(pa.float32(), 384)
    assert set(chunks.column("doc_id").to_pylist()) == {d["doc_id"] for d in rag_documents}
    meta = pq.read_schema(folder / "chunks.parquet").metadata
    assert meta[b"corpusforge.embedding_dim"] == b"384"
    assert meta[b"corpusforge.model_id"].startswith(b"sentence-transformers/all-MiniLM-L6-v2")
    assert pq.ParquetFile(folder / "chunks.parquet").metadata.row_group(0).num_rows <= rag_store.EXPORT_ROW_GROUP_ROWS
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"]["dim"] == 384 and manifest["chunker"]["chunk_tokens"] == 254
    assert manifest["counts"]["chunks"] == chunks.num_rows and manifest["snapshot"]["snapshot_id"]
    # Offsets point at the chunk's text in the document's text.
    texts = {d["doc_id"]: d["text"] for d in rag_documents}
    for row in chunks.select(["doc_id", "char_start", "char_end", "text"]).to_pylist():
        assert texts[row["doc_id"]][row["char_start"] : row["char_end"]] == row["text"]
    # Vectors are unit length.
    first = chunks.column("embedding")[0].values.to_numpy()
    assert abs(float((first**2).sum()) - 1.0) < 1e-4


def test_vector_column_reads_back_in_duckdb_as_float_384(exported_copy):
    wh, _ = exported_copy
    con = rag_store.connect_export(wh, "default")
    try:
        assert con.execute("select typeof(embedding) from rag_chunks limit 1").fetchone()[0] == "FLOAT[384]"
        # array_cosine_similarity works on it with no extension: a chunk is most similar to itself.
        best = con.execute(
            "select a.chunk_id = b.chunk_id from rag_chunks a, rag_chunks b "
            "qualify row_number() over (partition by a.chunk_id "
            "order by array_cosine_similarity(a.embedding, b.embedding) desc) = 1"
        ).fetchall()
        assert all(row[0] for row in best)
    finally:
        con.close()


def test_rerun_embeds_nothing(exported_copy):
    wh, first = exported_copy
    before, _, _ = _export(wh)
    summary = run_export_rag(wh, RagExport())
    assert summary.counts["chunks embedded"] == 0
    assert summary.counts["documents chunked (new or changed)"] == 0
    assert summary.counts["chunks exported"] == first.counts["chunks exported"]
    after, deletions, manifest = _export(wh)
    assert after.column("chunk_id").to_pylist() == before.column("chunk_id").to_pylist()
    assert deletions.num_rows == 0 and manifest["counts"]["embedded"] == 0


def test_editing_one_page_reembeds_only_its_chunks(exported_copy, rag_documents):
    wh, _ = exported_copy
    before, _, _ = _export(wh)
    doc = rag_documents[3]
    sentence = "Zebra migrations follow the rains across the Serengeti every year."
    first_line = doc["text"].splitlines()[2]  # a paragraph line (lines 0-1 are headings or text)
    edited = document_row(
        doc["url"],
        doc["title"],
        doc["text"].replace(first_line, first_line + " " + sentence, 1),
        doc["markdown"],
        doc["fetched_at"] + timedelta(days=1),
    )
    wh.write("documents", [edited], "test-edit")
    summary = run_export_rag(wh, RagExport())
    after, deletions, _ = _export(wh)
    old_hashes = set(before.column("text_hash").to_pylist())
    new_rows = [r for r in after.select(["doc_id", "text_hash"]).to_pylist() if r["text_hash"] not in old_hashes]
    assert summary.counts["documents chunked (new or changed)"] == 1
    assert summary.counts["chunks embedded"] == len(new_rows) >= 1
    assert {r["doc_id"] for r in new_rows} == {doc["doc_id"]}
    doc_chunks = [r for r in before.to_pylist() if r["doc_id"] == doc["doc_id"]]
    assert summary.counts["chunks embedded"] <= len(doc_chunks)
    # The replaced chunks leave the export as 'changed'; no other document is touched.
    assert set(deletions.column("doc_id").to_pylist()) == {doc["doc_id"]}
    assert set(deletions.column("reason").to_pylist()) == {"changed"}
    assert any(sentence in t for t in after.column("text").to_pylist())


def test_removed_documents_leave_the_export_and_are_listed_as_deletions(exported_copy, rag_documents):
    wh, _ = exported_copy
    before, _, _ = _export(wh)
    tombstoned, dropped, duplicate, representative = (rag_documents[i] for i in (0, 1, 2, 5))
    now = utc_now()
    wh.write(
        "tombstones",
        [{"doc_id": tombstoned["doc_id"], "url": tombstoned["url"], "reason": "http_404", "created_at": now}],
        "test-tomb",
    )
    wh.write(
        "annotations",
        [
            {
                "annotation_id": 1,
                "task_id": 1,
                "doc_id": dropped["doc_id"],
                "quality": "drop",
                "updated_at": now,
                "pulled_at": now,
            }
        ],
        "test-label",
    )
    wh.write(
        "clusters",
        [
            {
                "doc_id": duplicate["doc_id"],
                "cluster_id": representative["doc_id"],
                "is_representative": False,
                "duplicate_of": representative["doc_id"],
                "reason": "near_duplicate_of",
                "created_at": now,
            },
            {
                "doc_id": representative["doc_id"],
                "cluster_id": representative["doc_id"],
                "is_representative": True,
                "created_at": now,
            },
        ],
        "test-dedup",
    )
    summary = run_export_rag(wh, RagExport())
    after, deletions, manifest = _export(wh)
    assert summary.counts["chunks embedded"] == 0
    removed = {tombstoned["doc_id"]: "tombstoned", dropped["doc_id"]: "label_drop", duplicate["doc_id"]: "duplicate"}
    assert not set(removed) & set(after.column("doc_id").to_pylist())
    expected = {
        (r["chunk_id"], r["doc_id"], removed[r["doc_id"]])
        for r in before.select(["chunk_id", "doc_id"]).to_pylist()
        if r["doc_id"] in removed
    }
    got = set(zip(*(deletions.column(c).to_pylist() for c in ("chunk_id", "doc_id", "reason")), strict=True))
    assert got == expected
    assert manifest["counts"]["deleted"] == len(expected)
    assert manifest["deletion_reasons"] == {
        reason: sum(1 for *_, r in expected if r == reason) for reason in ("tombstoned", "duplicate", "label_drop")
    }
    assert after.num_rows == before.num_rows - len(expected)


def test_search_finds_each_page_by_its_title(exported_copy, rag_documents):
    wh, _ = exported_copy
    pages = rag_documents[:20]
    misses = []
    for doc in pages:
        hits = search(wh, doc["title"], k=5)
        assert hits.column_names[:4] == ["score", "title", "heading_path", "url"]
        if doc["doc_id"] not in hits.column("doc_id").to_pylist():
            misses.append(doc["title"])
    assert misses == []


def test_lancedb_sink_holds_the_export_and_an_unchanged_rerun_rewrites_nothing(exported_copy):
    import lancedb

    wh, _ = exported_copy
    summary = run_export_rag(wh, RagExport(sink="lancedb"))
    chunks, _, _ = _export(wh)
    uri = f"{wh.root.rsplit('/', 1)[0]}/exports/lancedb"
    assert f"lancedb {uri} table default" in summary.outputs
    assert summary.counts["sink rows"] == summary.counts["sink inserted"] == chunks.num_rows
    table = lancedb.connect(uri).open_table("default")
    held = table.to_arrow()
    assert sorted(held.column("chunk_id").to_pylist()) == sorted(chunks.column("chunk_id").to_pylist())
    assert held.schema.field("embedding").type == chunks.schema.field("embedding").type
    folder = rag_store.export_dir(wh, "default")
    assert (Path(folder) / "export.duckdb").is_file()  # the typed views are written with every export
    # Nothing else in the folder: no staging leftovers.
    assert sorted(p.name for p in Path(folder).iterdir()) == [
        "chunks.parquet",
        "deletions.parquet",
        "export.duckdb",
        "manifest.json",
    ]

    again = run_export_rag(wh, RagExport(sink="lancedb"))
    assert again.counts["sink inserted"] == again.counts["sink updated"] == again.counts["sink deleted"] == 0
    assert again.counts["sink rows"] == chunks.num_rows


def test_lancedb_sink_at_a_configured_folder(exported_copy, tmp_path):
    import lancedb

    wh, _ = exported_copy
    uri = tmp_path / "vectors"
    run_export_rag(wh, RagExport(sink="lancedb", lancedb_uri=str(uri)))
    chunks, _, _ = _export(wh)
    assert lancedb.connect(str(uri)).open_table("default").count_rows() == chunks.num_rows


def test_lancedb_with_no_default_database_beside_the_warehouse_is_a_one_line_error_before_any_work():
    """LanceDB opens a local folder or an object store (s3://, gs://, az://), not an fsspec
    filesystem such as memory://: there the default database beside the export has no place."""
    from corpusforge.flows.export_rag import export_one

    with pytest.raises(ValueError, match="no default database beside a memory:// warehouse; set lancedb_uri") as err:
        export_one("memory://corpus/data", RagExport(sink="lancedb"))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("uri", ["http://example.com/db", "ftp://host/db"])
def test_a_lancedb_uri_lancedb_cannot_open_is_a_one_line_config_error(uri, tmp_path):
    from corpusforge.schemas.config import ConfigError, load_settings

    config = tmp_path / "corpusforge.yaml"
    config.write_text(f"exports:\n  rag:\n    - name: vectors\n      sink: lancedb\n      lancedb_uri: {uri}\n")
    with pytest.raises(ConfigError, match="lancedb_uri must be a local folder or an s3://, gs:// or az:// URL") as err:
        load_settings(config)
    assert "\n" not in str(err.value)
    for accepted in ("s3://bucket/vectors?region=eu-west-1", "file:///tmp/vectors", "vectors"):
        assert RagExport(sink="lancedb", lancedb_uri=accepted).lancedb_uri == accepted


def test_a_views_build_left_by_a_killed_run_is_removed_by_the_next(exported_copy):
    """A run killed while it built export.duckdb leaves `.export-*.duckdb` in the folder users
    load; the next build removes it and the views still answer."""
    from corpusforge.warehouse.export_views import write_export_views

    wh, _ = exported_copy
    folder = Path(rag_store.export_dir(wh, "default"))
    (folder / ".export-killed1.duckdb").write_bytes(b"half a database")
    (folder / ".export-killed1.duckdb.wal").write_bytes(b"")
    write_export_views(folder)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    con = rag_store.connect_export(wh, "default")
    try:
        assert con.execute("select count(*) from rag_chunks").fetchone()[0] > 0
    finally:
        con.close()


def test_staging_files_left_by_a_killed_run_are_removed_by_the_next(exported_copy):
    """A run killed after it staged its files in the export's `_tmp/` (before moving them into
    place) leaves them there; the next export removes them, so the folder users load holds the
    export's files only."""
    wh, first = exported_copy
    folder = Path(rag_store.export_dir(wh, "default"))
    staging = folder / rag_store.TMP_DIR
    staging.mkdir()
    (staging / "20261203T000000000000Z-export_rag-killed-chunks.parquet").write_bytes(b"half a file")
    (staging / "20261203T000000000000Z-export_rag-killed-manifest.json").write_text("{")
    summary = run_export_rag(wh, RagExport())
    assert summary.counts["chunks exported"] == first.counts["chunks exported"]
    assert not staging.exists()
    export_files = ["chunks.parquet", "deletions.parquet", "export.duckdb", "manifest.json"]
    assert sorted(p.name for p in folder.iterdir()) == export_files


def test_each_vector_is_the_models_own_vector_of_its_chunk_over_many_small_batches(tmp_path, rag_documents, embedder):
    """The export orders texts by their token counts into batches (4 texts here, so many): every
    vector in the cache is still the one the model gives its own text."""
    import numpy as np

    from corpusforge.flows.configs import chunker_config
    from corpusforge.processing.chunking import chunk_records
    from corpusforge.warehouse import Warehouse

    docs = rag_documents[:8]
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    wh.write("documents", docs, "test-docs")
    cfg = RagExport(batch_size=4)
    assert run_export_rag(wh, cfg).counts["chunks embedded"] > 3 * cfg.batch_size
    chunks = list(chunk_records(docs, embedder.count_tokens, chunker_config(cfg, embedder)))
    texts = {c["text_hash"]: c["embed_text"] for c in chunks}
    assert len({c["token_count"] for c in chunks}) > 3  # batches of different lengths
    cache = wh.read("embeddings").to_pylist()
    assert sorted(r["text_hash"] for r in cache) == sorted(texts)
    ours = np.array([r["embedding"] for r in cache], dtype=np.float32)
    theirs = embedder.model.encode([texts[r["text_hash"]] for r in cache], normalize_embeddings=True)
    assert np.abs(ours - theirs).max() < 1e-4

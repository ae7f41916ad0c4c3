"""The LanceDB sink against embedded LanceDB: same answers as the Parquet export's DuckDB search,
upserts that change nothing when nothing changed, deletions that remove, indexes that get built."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusforge.connectors.sinks import ExportFolder, ExportFolderError, LanceDBSink
from corpusforge.connectors.sinks.lancedb_sink import ANN_INDEX_MIN_ROWS
from corpusforge.warehouse import rag_store


def _ids(folder) -> set[str]:
    return set(pq.read_table(folder / "chunks.parquet", columns=["chunk_id"]).column("chunk_id").to_pylist())


def _table_rows(sink: LanceDBSink) -> pa.Table:
    return sink.table.to_arrow().sort_by("chunk_id")


def test_sync_writes_every_chunk_with_vector_lineage_and_metadata(exports, tmp_path):
    sink = LanceDBSink(tmp_path / "lancedb", "default")
    result = sink.sync(exports.second)
    chunks = pq.read_table(exports.second / "chunks.parquet").sort_by("chunk_id")
    assert result.inserted == result.rows == chunks.num_rows and result.updated == 0
    table = _table_rows(sink)
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 384)
    for column in ("chunk_id", "doc_id", "url", "title", "heading_path", "char_start", "char_end", "text", "model_id"):
        assert table.column(column).to_pylist() == chunks.column(column).to_pylist(), column
    assert np.array_equal(
        table.column("embedding").combine_chunks().flatten().to_numpy(),
        chunks.column("embedding").combine_chunks().flatten().to_numpy(),
    )
    # What the RAG frameworks read: `id` and the lineage as a `metadata` struct.
    assert table.column("id").to_pylist() == table.column("chunk_id").to_pylist()
    first_meta = table.column("metadata")[0].as_py()
    assert first_meta["url"] == chunks.column("url")[0].as_py()
    assert first_meta["chunk_id"] == table.column("chunk_id")[0].as_py()
    assert table.schema.metadata[b"corpusforge.model_id"] == ExportFolder.open(exports.second).model_id.encode()


def test_search_gives_the_parquet_exports_top_5(exports, question_vectors, tmp_path):
    sink = LanceDBSink(tmp_path / "lancedb", "default")
    sink.sync(exports.second)
    for question, vector in question_vectors.items():
        duck = rag_store.search_export(exports.wh, "default", vector, 5)
        lance = sink.search(vector, 5)
        duck_ids, lance_ids = duck.column("chunk_id").to_pylist(), lance.column("chunk_id").to_pylist()
        # Both scans are exhaustive (no ANN index at this size): the same five, scores equal.
        assert len(set(duck_ids) & set(lance_ids)) == 5, question
        duck_scores, lance_scores = duck.column("score").to_pylist(), lance.column("score").to_pylist()
        assert np.allclose(sorted(duck_scores), sorted(lance_scores), atol=1e-5)
        assert lance.column_names == duck.column_names


def test_resync_of_the_same_export_changes_nothing(exports, tmp_path):
    sink = LanceDBSink(tmp_path / "lancedb", "default")
    sink.sync(exports.first)
    before = _table_rows(sink)
    again = sink.sync(exports.first)
    assert (again.inserted, again.updated, again.deleted, again.stale_removed) == (0, 0, 0, 0)
    assert _table_rows(sink).equals(before)


def test_next_export_applies_its_deletions(exports, tmp_path):
    sink = LanceDBSink(tmp_path / "lancedb", "default")
    sink.sync(exports.first)
    deletions = pq.read_table(exports.second / "deletions.parquet")
    assert set(deletions.column("reason").to_pylist()) == {"changed", "not_kept"}
    result = sink.sync(exports.second)
    assert result.deleted == deletions.num_rows
    assert result.deletion_reasons == {
        r: deletions.column("reason").to_pylist().count(r) for r in ("changed", "not_kept")
    }
    assert result.stale_removed == 0 and result.inserted > 0  # the changed page's new chunks
    held = sink.chunk_ids()
    assert held == _ids(exports.second)
    assert not held & set(deletions.column("chunk_id").to_pylist())
    assert exports.dropped_doc not in set(sink.table.to_arrow().column("doc_id").to_pylist())


def test_deletions_missed_by_a_skipped_export_are_caught_up(exports, tmp_path):
    """A sink that missed the export which listed some deletions still ends with exactly the
    current export's chunks: rows no export lists any more are removed as stale."""
    sink = LanceDBSink(tmp_path / "lancedb", "default")
    sink.sync(exports.first)
    later = tmp_path / "later" / "default"
    shutil.copytree(exports.second, later)
    # The export after the second one: nothing left since the second, so its deletions are empty.
    empty = pq.read_table(later / "deletions.parquet").slice(0, 0)
    pq.write_table(empty, later / "deletions.parquet")
    result = sink.sync(later)
    stale = _ids(exports.first) - _ids(exports.second)
    assert stale and result.deleted == 0 and result.stale_removed == len(stale)
    assert result.deletion_reasons == {}
    assert sink.chunk_ids() == _ids(exports.second)


def test_deletions_of_chunks_never_held_count_for_nothing(exports, tmp_path):
    sink = LanceDBSink(tmp_path / "lancedb", "default")
    result = sink.sync(exports.second)  # a new table: the second export's deletions name chunks it never had
    assert pq.read_table(exports.second / "deletions.parquet").num_rows > 0
    assert (result.deleted, result.deletion_reasons, result.stale_removed) == (0, {}, 0)
    assert result.rows == len(_ids(exports.second))


def test_ann_index_waits_for_the_threshold(exports, question_vectors, tmp_path):
    assert ANN_INDEX_MIN_ROWS >= 10_000  # the shipped threshold; the test lowers it to the export's size
    rows = len(_ids(exports.second))
    small = LanceDBSink(tmp_path / "lancedb", "default", ann_index_min_rows=rows + 1)
    result = small.sync(exports.second)
    assert result.indexes == ["FTS"]  # full-text only: below the threshold the search scans exactly
    large = LanceDBSink(tmp_path / "lancedb", "default", ann_index_min_rows=rows)
    assert sorted(large.ensure_indexes()) == ["FTS", "IvfHnswSq"]
    index = next(i for i in large.table.list_indices() if i.columns == ["embedding"])
    assert large.table.index_stats(index.name).num_indexed_rows == rows
    # Through the index a chunk's own vector still finds that chunk first.
    table = large.table.to_arrow()
    for i in (0, rows // 2, rows - 1):
        vector = table.column("embedding")[i].values.to_numpy()
        assert large.search(vector, 3).column("chunk_id")[0].as_py() == table.column("chunk_id")[i].as_py()
    # Rows upserted later are folded into the index by the next sync.
    large.delete_ids([table.column("chunk_id")[0].as_py()])
    large.sync(exports.second)
    assert large.table.index_stats(index.name).num_unindexed_rows == 0


def test_hybrid_search_ranks_by_text_and_vector(exports, embedder, tmp_path):
    sink = LanceDBSink(tmp_path / "lancedb", "default")
    sink.sync(exports.second)
    chunks = pq.read_table(exports.second / "chunks.parquet")
    target = chunks.slice(len(chunks) // 2, 1).to_pylist()[0]
    words = " ".join(target["text"].split()[:12])
    hits = sink.hybrid_search(words, embedder.embed([words])[0], 5)
    assert hits.column("chunk_id")[0].as_py() == target["chunk_id"]
    scores = hits.column("score").to_pylist()
    assert scores == sorted(scores, reverse=True) and len(scores) == 5


def test_bad_input_gets_one_line_errors(exports, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportFolderError, match="is not a RAG export"):
        LanceDBSink(tmp_path / "lancedb", "default").sync(tmp_path / "empty")
    with pytest.raises(ValueError, match="invalid LanceDB table name"):
        LanceDBSink(tmp_path / "lancedb", "../x")
    sink = LanceDBSink(tmp_path / "lancedb", "default")
    with pytest.raises(FileNotFoundError, match="sync a RAG export into it first"):
        sink.search(np.zeros(384, np.float32))
    sink.sync(exports.first)
    with pytest.raises(ValueError, match="query vector has shape"):
        sink.search(np.zeros(768, np.float32))
    with pytest.raises(ExportFolderError, match="need a chunk_id column"):
        sink.apply_deletions(pa.table({"doc_id": ["x"]}))
    other = dataclasses.replace(ExportFolder.open(exports.second), model_id="another-model")
    with pytest.raises(ValueError, match="holds vectors of .* the export's are another-model"):
        sink.sync(other)
    assert sink.chunk_ids() == _ids(exports.first)  # nothing was lost on the way

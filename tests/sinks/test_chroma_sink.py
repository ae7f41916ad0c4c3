"""The Chroma sink against a real Chroma server (`chroma run`): our vectors stored as they are,
lineage in the metadata, upserts keyed by chunk_id, deletions applied."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpusforge.connectors.sinks import ChromaSink, LanceDBSink


def _chunks(folder):
    return pq.read_table(folder / "chunks.parquet").sort_by("chunk_id")


@pytest.fixture()
def sink(chroma_server, request):
    host, port = chroma_server
    name = "rag-" + request.node.name.replace("_", "-")[:40]
    sink = ChromaSink.connect(host, port, name)
    yield sink
    sink.client.delete_collection(name)


def test_sync_stores_our_vectors_and_lineage(sink, exports):
    result = sink.sync(exports.first)
    chunks = _chunks(exports.first)
    assert result.inserted == result.rows == chunks.num_rows and result.updated == 0
    ids = chunks.column("chunk_id").to_pylist()
    got = sink.collection().get(ids=ids, include=["embeddings", "metadatas", "documents"])
    order = {cid: i for i, cid in enumerate(got["ids"])}
    stored = np.asarray(got["embeddings"])[[order[c] for c in ids]]
    ours = chunks.column("embedding").combine_chunks().flatten().to_numpy().reshape(-1, 384)
    assert np.allclose(stored, ours, atol=1e-6)  # Chroma kept our vectors: it embedded nothing itself
    first = chunks.slice(0, 1).to_pylist()[0]
    meta = got["metadatas"][order[first["chunk_id"]]]
    for key in ("doc_id", "url", "title", "heading_path", "char_start", "char_end", "content_hash", "model_id"):
        assert meta[key] == first[key], key
    assert meta["fetched_at"] == first["fetched_at"].isoformat()
    assert got["documents"][order[first["chunk_id"]]] == first["text"]


def test_collection_has_no_embedding_function(sink, exports):
    sink.sync(exports.first)
    collection = sink.collection()
    assert collection.configuration.get("embedding_function") is None
    assert collection.configuration["hnsw"]["space"] == "cosine"
    with pytest.raises(ValueError, match="embedding function"):
        collection.query(query_texts=["install"], n_results=1)  # no model of Chroma's own to fall back on


def test_search_matches_lancedb(sink, exports, question_vectors, tmp_path):
    sink.sync(exports.second)
    lance = LanceDBSink(tmp_path / "lancedb", "default")
    lance.sync(exports.second)
    for question, vector in question_vectors.items():
        chroma_hits, lance_hits = sink.search(vector, 5), lance.search(vector, 5)
        assert chroma_hits.column_names == lance_hits.column_names
        overlap = set(chroma_hits.column("chunk_id").to_pylist()) & set(lance_hits.column("chunk_id").to_pylist())
        assert len(overlap) >= 4, question  # HNSW is approximate; at this size it is all but exact
        assert np.allclose(chroma_hits.column("score").to_pylist()[0], lance_hits.column("score").to_pylist()[0], 1e-4)


def test_next_export_applies_deletions_and_resync_changes_nothing(sink, exports):
    sink.sync(exports.first)
    deletions = pq.read_table(exports.second / "deletions.parquet")
    result = sink.sync(exports.second)
    assert result.deleted == deletions.num_rows > 0
    assert set(result.deletion_reasons) == {"changed", "not_kept"}
    second_ids = set(_chunks(exports.second).column("chunk_id").to_pylist())
    assert sink.chunk_ids() == second_ids
    assert result.inserted == len(second_ids - set(_chunks(exports.first).column("chunk_id").to_pylist())) > 0
    again = sink.sync(exports.second)
    assert again.inserted == 0 and again.deleted == 0 and again.stale_removed == 0
    assert sink.chunk_ids() == second_ids


def test_another_models_export_is_refused(sink, exports):
    import dataclasses

    from corpusforge.connectors.sinks import ExportFolder

    sink.sync(exports.first)
    other = dataclasses.replace(ExportFolder.open(exports.first), model_id="another-model")
    with pytest.raises(ValueError, match="holds vectors of .* the export's are another-model"):
        sink.sync(other)
    assert sink.collection().count() == _chunks(exports.first).num_rows


def test_a_query_of_the_wrong_dimension_is_refused(sink, exports):
    sink.sync(exports.first)
    with pytest.raises(ValueError, match=r"query vector has shape \(768,\), collection .* holds 384-dimension"):
        sink.search(np.zeros(768, np.float32))

"""The LanceDB export table opened by LlamaIndex and LangChain, retrieving offline with the
packaged model: the same chunks as the sink's own search."""

from __future__ import annotations

import pytest

from corpusforge.connectors.sinks import LanceDBSink
from corpusforge.connectors.sinks.frameworks import langchain_store, llamaindex_index


@pytest.fixture(scope="module")
def lance_table(exports, tmp_path_factory):
    uri = tmp_path_factory.mktemp("frameworks") / "lancedb"
    sink = LanceDBSink(uri, "default")
    sink.sync(exports.second)
    return uri, sink


def test_llamaindex_retrieves_what_the_sink_finds(lance_table, embedder, question_vectors):
    uri, sink = lance_table
    retriever = llamaindex_index(uri, "default", embedder=embedder).as_retriever(similarity_top_k=5)
    for question, vector in question_vectors.items():
        nodes = retriever.retrieve(question)
        expected = sink.search(vector, 5)
        assert [n.node.id_ for n in nodes] == expected.column("chunk_id").to_pylist(), question
        assert [n.node.text for n in nodes] == expected.column("text").to_pylist()
        assert nodes[0].node.metadata["url"] == expected.column("url")[0].as_py()
        assert [n.score for n in nodes] == sorted((n.score for n in nodes), reverse=True)


def test_langchain_retrieves_what_the_sink_finds(lance_table, embedder, question_vectors):
    uri, sink = lance_table
    store = langchain_store(uri, "default", embedder=embedder)
    for question, vector in question_vectors.items():
        docs = store.similarity_search(question, k=5)
        expected = sink.search(vector, 5)
        assert [d.metadata["chunk_id"] for d in docs] == expected.column("chunk_id").to_pylist(), question
        assert [d.page_content for d in docs] == expected.column("text").to_pylist()
        assert docs[0].metadata["heading_path"] == expected.column("heading_path")[0].as_py()


def test_a_different_model_is_refused(lance_table):
    from corpusforge.processing.embedding import Embedder

    uri, _ = lance_table
    impostor = Embedder.__new__(Embedder)  # only its model id is read before the check
    impostor.model_id = "another-model"
    with pytest.raises(ValueError, match="was embedded with .*, not another-model"):
        langchain_store(uri, "default", embedder=impostor)

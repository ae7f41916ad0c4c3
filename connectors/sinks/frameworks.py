"""Open a LanceDB export table from LlamaIndex and LangChain, retrieving with the export's model.

    from corpusforge.connectors.sinks.frameworks import llamaindex_index, langchain_store

    index = llamaindex_index("exports/lancedb", "default")
    nodes = index.as_retriever(similarity_top_k=5).retrieve("how do I parse options")

    store = langchain_store("exports/lancedb", "default")
    docs = store.similarity_search("how do I parse options", k=5)

Both embed the question with our own Embedder (the same model, normalisation and device choice
that embedded the chunks, loaded offline), wrapped in each framework's embedding interface; the
vectors in the table are used as they are. Needs the `sinks` extra: pip install "corpusforge[sinks]".
"""

from __future__ import annotations

from pathlib import Path

from corpusforge.connectors.sinks.lancedb_sink import TEXT_COLUMN, VECTOR_COLUMN, LanceDBSink
from corpusforge.processing.embedding import Embedder, load_embedder


def _embedder(model: str | None, embedder: Embedder | None) -> Embedder:
    return embedder or load_embedder(model)


def llamaindex_embedding(embedder: Embedder):
    """Our Embedder as a LlamaIndex embedding model."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class CorpusforgeEmbedding(BaseEmbedding):
        _embedder: Embedder = PrivateAttr()

        def __init__(self, inner: Embedder):
            super().__init__(model_name=inner.model_id)
            self._embedder = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed([query])[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return CorpusforgeEmbedding(embedder)


def langchain_embeddings(embedder: Embedder):
    """Our Embedder as a LangChain `Embeddings`."""
    from langchain_core.embeddings import Embeddings

    class CorpusforgeEmbeddings(Embeddings):
        def __init__(self, inner: Embedder):
            self.inner = inner

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.inner.embed(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.inner.embed([text])[0].tolist()

    return CorpusforgeEmbeddings(embedder)


def _check_model(sink: LanceDBSink, embedder: Embedder) -> None:
    held = (sink.table.schema.metadata or {}).get(b"corpusforge.model_id", b"").decode()
    if held and held != embedder.model_id:
        raise ValueError(f"table {sink.table_name!r} was embedded with {held}, not {embedder.model_id}")


def llamaindex_store(uri: str | Path, table_name: str):
    """The export table as a LlamaIndex LanceDBVectorStore (read as it is: mode append)."""
    from llama_index.vector_stores.lancedb import LanceDBVectorStore

    sink = LanceDBSink(uri, table_name)
    return LanceDBVectorStore(
        connection=sink.db,
        table=sink.table,
        vector_column_name=VECTOR_COLUMN,
        text_key=TEXT_COLUMN,
        doc_id_key="doc_id",
        mode="append",
    )


def llamaindex_index(uri: str | Path, table_name: str, model: str | None = None, embedder: Embedder | None = None):
    """A LlamaIndex VectorStoreIndex over the export table, embedding questions with the export's model."""
    from llama_index.core import VectorStoreIndex

    inner = _embedder(model, embedder)
    _check_model(LanceDBSink(uri, table_name), inner)
    store = llamaindex_store(uri, table_name)
    return VectorStoreIndex.from_vector_store(store, embed_model=llamaindex_embedding(inner))


def langchain_store(uri: str | Path, table_name: str, model: str | None = None, embedder: Embedder | None = None):
    """The export table as a LangChain (langchain-community) LanceDB vector store."""
    from langchain_community.vectorstores import LanceDB

    inner = _embedder(model, embedder)
    sink = LanceDBSink(uri, table_name)
    _check_model(sink, inner)
    return LanceDB(
        connection=sink.db,
        table=sink.table,
        embedding=langchain_embeddings(inner),
        vector_key=VECTOR_COLUMN,
        id_key="chunk_id",
        text_key=TEXT_COLUMN,
        distance="cosine",
        mode="append",
    )

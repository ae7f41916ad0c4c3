"""Ask a RAG export a question: embed it with the export's own model and rank the chunks.

No Prefect here: `corpusforge search` and `corpusforge.search()` answer without starting a flow.
"""

from __future__ import annotations

import pyarrow as pa

from corpusforge.warehouse import Warehouse
from corpusforge.warehouse import rag_store as store


def search(wh: Warehouse, question: str, name: str = "default", k: int = 5, device: str | None = None) -> pa.Table:
    """The k chunks of export `name` nearest to the question, embedded with the export's model."""
    manifest = store.read_manifest(wh, name)
    if manifest is None:
        raise FileNotFoundError(
            f"no RAG export named {name!r} under {store.export_dir(wh, name)}; run `corpusforge export rag` first"
        )
    vector = embed_question(question, manifest, name, device)
    return store.search_export(wh, name, vector, k)


def embed_question(question: str, manifest: dict, name: str, device: str | None = None):
    """The question's vector, from the export's own model. A local BERT sentence model (the
    default MiniLM included) runs in NumPy (connectors.query_model): no torch to import for one
    question; any other model, or an explicit device, loads sentence-transformers."""
    from corpusforge.processing.embedding import default_model_path, model_id_for

    source = manifest["model"].get("source")
    model_id = model_id_for(source)
    if model_id != manifest["model"]["id"]:
        raise ValueError(
            f"export {name!r} was embedded with {manifest['model']['id']}, but that model now loads as "
            f"{model_id}; re-run `corpusforge export rag --name {name}`"
        )
    if device is None:
        from corpusforge.connectors.query_model import UnsupportedModelError, load_query_encoder

        try:
            return load_query_encoder(source or default_model_path()).embed([question])[0]
        except (UnsupportedModelError, FileNotFoundError):
            pass
    from corpusforge.processing.embedding import load_embedder  # torch: only for other models

    return load_embedder(source, device).embed([question])[0]

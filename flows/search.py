"""Ask a RAG export a question: embed it with the export's own model and rank the chunks.

No Prefect here: `corpusforge search` and `corpusforge.search()` answer without starting a flow.
"""

from __future__ import annotations

import pyarrow as pa

from corpusforge.warehouse import Warehouse
from corpusforge.warehouse import rag_store as store


def search(wh: Warehouse, question: str, name: str = "default", k: int = 5, device: str | None = None) -> pa.Table:
    """The k chunks of export `name` nearest to the question, embedded with the export's model."""
    from corpusforge.processing.embedding import load_embedder  # torch: only when a question is asked

    manifest = store.read_manifest(wh, name)
    if manifest is None:
        raise FileNotFoundError(
            f"no RAG export named {name!r} under {store.export_dir(wh, name)}; run `corpusforge export rag` first"
        )
    embedder = load_embedder(manifest["model"].get("source"), device)
    if embedder.model_id != manifest["model"]["id"]:
        raise ValueError(
            f"export {name!r} was embedded with {manifest['model']['id']}, but that model now loads as "
            f"{embedder.model_id}; re-run `corpusforge export rag --name {name}`"
        )
    vector = embedder.embed([question])[0]
    return store.search_export(wh, name, vector, k)

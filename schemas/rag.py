"""The RAG export's internal table: the embedding cache.

An embedding is computed once per (text_hash, model_id): `text_hash` is the SHA-256 of the exact
text the model embedded (the chunk's title line and text), so a re-run over an unchanged corpus
finds every vector here, an edited page misses only for its changed chunks, and a new model (a
new model_id) misses everywhere. Chunk rows themselves live in the core `chunks` table (without
vectors: a chunk's vector is its text_hash's row here, joined in when an export is written).
"""

import pyarrow as pa

from corpusforge.schemas.tables import UTC_TS, C, TableSpec, register_table

EMBEDDINGS = register_table(
    TableSpec(
        name="embeddings",
        version=1,
        description="Embedding cache: one normalised vector per (embedded text hash, model id).",
        key=("text_hash", "model_id"),
        order_by="created_at",
        columns=(
            C("text_hash", pa.string(), "SHA-256 of the text that was embedded.", False),
            C("model_id", pa.string(), "Embedding model id (name, or folder name @ digest).", False),
            C("dim", pa.int32(), "Vector dimension.", False),
            # A variable-length list, so that models of every dimension share one table; the export
            # casts to fixed_size_list<float32>[dim].
            C("embedding", pa.list_(pa.float32()), "L2-normalised vector (dim float32 values).", False),
            C("run_id", pa.string(), "Export run that computed it."),
            C("created_at", UTC_TS, "When it was computed.", False),
        ),
    )
)

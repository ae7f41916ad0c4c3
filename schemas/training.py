"""The fine-tuning export's Arrow schema: one schema per format (`text`, `messages`,
`prompt_completion`), the content columns of the format followed by the lineage columns."""

from __future__ import annotations

import pyarrow as pa

from corpusforge.schemas.tables import MESSAGE

LINEAGE_FIELDS = (
    ("doc_id", pa.string()),
    ("content_hash", pa.string()),
    ("cluster_id", pa.string()),
    ("url", pa.string()),
    ("source", pa.string()),
    ("language", pa.string()),
    ("origin", pa.string()),
    ("token_count", pa.int64()),
    ("contaminated", pa.bool_()),
)
CONTENT_FIELDS = {
    "text": (("text", pa.string()),),
    "messages": (("messages", pa.list_(MESSAGE)),),
    "prompt_completion": (("prompt", pa.string()), ("completion", pa.string())),
}


def export_schema(fmt: str) -> pa.Schema:
    # No split column: the split is the shard's file name, as in every Hugging Face dataset.
    fields = [("example_id", pa.string()), *CONTENT_FIELDS[fmt], *LINEAGE_FIELDS]
    return pa.schema(fields)

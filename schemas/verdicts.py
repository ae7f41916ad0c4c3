"""Each export's verdict on each document: in it, or left out and why.

Written by the exports when a verdict changes (so a re-run costs what changed); the plain view
holds the current verdict per (export, document), which answers "why is this document not in
that export?" with one query:

    select * from export_verdicts where doc_id = '...' or url = '...'
"""

import pyarrow as pa

from corpusforge.schemas.tables import UTC_TS, C, TableSpec, register_table

EXPORT_VERDICTS = register_table(
    TableSpec(
        name="export_verdicts",
        version=1,
        description="Per export and document: included, or the exclusion and the drop reasons the export's gate "
        "keeps out.",
        key=("export_kind", "export_name", "doc_id"),
        order_by="decided_at",
        columns=(
            C("export_kind", pa.string(), "training | rag.", False),
            C("export_name", pa.string(), "Name of the export in corpusforge.yaml.", False),
            C("doc_id", pa.string(), "The document.", False),
            C("url", pa.string(), "Its URL."),
            C("included", pa.bool_(), "True when the export holds the document.", False),
            C("exclusion", pa.string(), "Why it is left out (warehouse.selection.EXCLUSION_REASONS), else null."),
            C("filtered_by", pa.list_(pa.string()), "The drop reasons the export's gate keeps out."),
            C("run_id", pa.string(), "Export run that decided it.", False),
            C("decided_at", UTC_TS, "When.", False),
        ),
    )
)

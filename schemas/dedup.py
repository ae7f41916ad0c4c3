"""The dedup stage's internal tables: its persisted MinHash index.

`dedup_signatures` holds one row per signed document version (latest per doc_id wins; a row
with removed=true takes a document out of the index), with the document's shingle-hash set, so
that candidate pairs are verified by exact Jaccard without reading old documents' text, and its
band hashes, which an incremental run loads for the current index in one read to look up the
partners of the changed documents. `dedup_bands` holds the same band hashes one row per
document and band, written in the same run with the same `run_id`, so the current band index
is the band rows whose (doc_id, run_id) is a current signature: a first run (or a new stage
version) finds every candidate pair by grouping these rows in DuckDB, out of core.
"""

import pyarrow as pa

from corpusforge.schemas.tables import UTC_TS, C, TableSpec, register_table

DEDUP_SIGNATURES = register_table(
    TableSpec(
        name="dedup_signatures",
        version=2,
        description="MinHash signature of each deduplicated document version (dedup's index).",
        key=("doc_id",),
        order_by="created_at",
        columns=(
            C("doc_id", pa.string(), "The document.", False),
            C("content_hash", pa.string(), "Version of the document that was signed."),
            C("exact_hash", pa.string(), "Hash of the normalised text: equal for exact duplicates.", False),
            C("quality_score", pa.float64(), "quality_score of that version (representative rule)."),
            C("fetched_at", UTC_TS, "fetched_at of that version (representative rule)."),
            C("params", pa.string(), "n-gram, permutations, seed, bands x rows: signatures compare only within."),
            C("signature", pa.binary(), "MinHash values, little-endian uint32[num_perm] (null when removed)."),
            C(
                "shingles",
                pa.list_(pa.uint32()),
                "Sorted distinct 32-bit hashes of the word n-grams of the normalised text, for exact Jaccard "
                "(null when removed).",
            ),
            C("bands", pa.list_(pa.int64()), "Its LSH band hashes, one per band (null when removed)."),
            C("removed", pa.bool_(), "True when the document left the index (tombstoned or no longer kept).", False),
            C("run_id", pa.string(), "Dedup run that wrote the row; its band rows carry the same id.", False),
            C("created_at", UTC_TS, "When the row was written.", False),
        ),
    )
)

DEDUP_BANDS = register_table(
    TableSpec(
        name="dedup_bands",
        version=1,
        description="LSH band hashes of each signature: documents sharing a (band, band_hash) are candidates.",
        columns=(
            C("doc_id", pa.string(), "The document.", False),
            C("exact_hash", pa.string(), "Its exact hash (candidates are paired per exact group).", False),
            C("band", pa.int16(), "Band number, 0..bands-1.", False),
            C("band_hash", pa.int64(), "Hash of the band's rows of the signature.", False),
            C("run_id", pa.string(), "Dedup run that wrote the signature.", False),
        ),
    )
)

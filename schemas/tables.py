"""Table definitions: one `TableSpec` per table, with a version and a description of every column
(the machinery, `validate` and `conform` included, is in `schemas.table_spec`; its names are
importable from here too).
"""

from __future__ import annotations

import pyarrow as pa

from corpusforge.schemas.table_spec import (  # noqa: F401 - re-exported: the package's names come from here
    TABLES,
    C,
    Column,
    SchemaError,
    TableSpec,
    conform,
    empty_table,
    record_type,
    register_table,
    schema_of,
    validate,
)

UTC_TS = pa.timestamp("us", tz="UTC")
EMBEDDING_DIM = 384  # all-MiniLM-L6-v2, the packaged default model

DECISION = pa.struct(
    [
        ("filter", pa.string()),
        ("kept", pa.bool_()),
        ("reason", pa.string()),
        ("value", pa.float64()),
        ("threshold", pa.float64()),
    ]
)
MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])

PAGES = register_table(
    TableSpec(
        name="pages",
        version=1,
        description="One row per fetch attempt of a URL: raw bytes kept so extraction can be re-run.",
        columns=(
            C("page_id", pa.string(), "Unique id of this fetch (hash of url, fetch time and run).", False),
            C("url", pa.string(), "Normalised URL that was requested.", False),
            C("final_url", pa.string(), "URL after redirects."),
            C("source", pa.string(), "Name of the source in corpusforge.yaml.", False),
            C("crawl_run_id", pa.string(), "Id of the crawl run that made this fetch.", False),
            C("fetched_at", UTC_TS, "When the response was received (UTC).", False),
            C("fetch_status", pa.string(), "fetched | not_modified | unchanged | failed | skipped | gone.", False),
            C("status", pa.int32(), "HTTP status code (null when no response arrived)."),
            C("content_type", pa.string(), "Content-Type header of the response."),
            C("etag", pa.string(), "ETag header, sent back as If-None-Match on re-crawl."),
            C("last_modified", pa.string(), "Last-Modified header, sent back as If-Modified-Since."),
            C("content_length", pa.int64(), "Number of body bytes received."),
            C("body", pa.binary(), "Raw response body (null for not-modified, failed and skipped fetches)."),
            C("body_sha256", pa.string(), "SHA-256 of the body, hex; also set for unchanged fetches."),
            C("truncated", pa.bool_(), "True when the body was cut at the maximum body size."),
            C("error", pa.string(), "Why the fetch failed or was skipped (stable reason code: message)."),
            C("depth", pa.int32(), "Link depth from the source's start URL."),
            C("redirects", pa.list_(pa.string()), "URLs of the redirect chain, in order."),
            C("elapsed_ms", pa.float64(), "Time from request to full body, milliseconds."),
        ),
    )
)

DOCUMENTS = register_table(
    TableSpec(
        name="documents",
        version=1,
        description="One row per extracted document version, with quality signals and filter verdicts.",
        key=("doc_id",),
        order_by="cleaned_at",
        hide_tombstoned_by="fetched_at",
        columns=(
            C("doc_id", pa.string(), "Stable id from the canonical URL.", False),
            C("content_hash", pa.string(), "SHA-256 of the extracted text (identifies the version).", False),
            C("page_id", pa.string(), "The pages row this version was extracted from.", False),
            C("url", pa.string(), "URL the page was fetched from.", False),
            C("canonical_url", pa.string(), "Canonical URL (rel=canonical, else the final URL)."),
            C("source", pa.string(), "Name of the source in corpusforge.yaml.", False),
            C("fetched_at", UTC_TS, "When the page was fetched."),
            C("cleaned_at", UTC_TS, "When this row was produced.", False),
            C("title", pa.string(), "Document title."),
            C("author", pa.string(), "Author, when the page names one."),
            C("published", pa.string(), "Publication date (ISO 8601), when known."),
            C("sitename", pa.string(), "Site name."),
            C("description", pa.string(), "Meta description."),
            C("language", pa.string(), "ISO 639-1 language code."),
            C("language_score", pa.float64(), "Confidence of the language identification, 0..1."),
            C("text", pa.string(), "Main text, boilerplate removed, normalised, PII redacted."),
            C("markdown", pa.string(), "Main text as markdown (headings, lists, tables kept)."),
            C("word_count", pa.int64(), "Number of words in text."),
            C("char_count", pa.int64(), "Number of characters in text."),
            C("signals", pa.map_(pa.string(), pa.float64()), "Every quality signal's value, by name."),
            C("decisions", pa.list_(DECISION), "Verdict of every filter: kept, reason code, value, threshold."),
            C(
                "kept",
                pa.bool_(),
                "True when no filter of the profile's corpus categories dropped it (junk, thin, boilerplate, "
                "language; every rule in the web profile). drop_reasons also lists training-only verdicts.",
                False,
            ),
            C("drop_reasons", pa.list_(pa.string()), "Reason codes of every filter that dropped it."),
            C("quality_score", pa.float64(), "Summary quality score 0..1 (for ranking and sampling)."),
            C("pii_counts", pa.map_(pa.string(), pa.int32()), "Number of redactions per PII kind."),
            C("error", pa.string(), "Extraction failure reason code (e.g. extract_timeout), else null."),
            C("pipeline_version", pa.string(), "Version of the clean settings that produced this row.", False),
            C("clean_run_id", pa.string(), "Id of the clean run."),
        ),
    )
)

CLUSTERS = register_table(
    TableSpec(
        name="clusters",
        version=1,
        description="Duplicate clusters: which cluster each kept document belongs to and its representative.",
        key=("doc_id",),
        order_by="created_at",
        hide_tombstoned_by="created_at",
        columns=(
            C("doc_id", pa.string(), "The document.", False),
            C("content_hash", pa.string(), "Version of the document that was clustered."),
            C("cluster_id", pa.string(), "Stable cluster id: the smallest doc_id in the cluster.", False),
            C("cluster_size", pa.int32(), "Number of documents in the cluster."),
            C("is_representative", pa.bool_(), "True for the one document kept from the cluster.", False),
            C("method", pa.string(), "unique | exact | near: how it joined its cluster."),
            C("duplicate_of", pa.string(), "doc_id of the representative (null for the representative)."),
            C("reason", pa.string(), "exact_duplicate_of | near_duplicate_of | null for representatives."),
            C("similarity", pa.float64(), "Jaccard similarity of its shingle set to the representative's."),
            C("removed", pa.bool_(), "True when the document left its cluster (tombstoned or no longer kept)."),
            C("dedup_run_id", pa.string(), "Id of the dedup run."),
            C("created_at", UTC_TS, "When this assignment was made.", False),
        ),
    )
)

ANNOTATION_TASKS = register_table(
    TableSpec(
        name="annotation_tasks",
        version=1,
        description="Which document went to which Label Studio project and task.",
        key=("project_id", "doc_id"),
        order_by="pushed_at",
        columns=(
            C("doc_id", pa.string(), "The document sent.", False),
            C("content_hash", pa.string(), "Version of the document sent."),
            C("project_id", pa.int64(), "Label Studio project id.", False),
            C("project_title", pa.string(), "Label Studio project title."),
            C("task_id", pa.int64(), "Label Studio task id.", False),
            C("sample_reason", pa.string(), "Why it was sampled: stratified | borderline | dropped."),
            C("stratum", pa.string(), "Sampling stratum (source/language/quality bucket)."),
            C("pushed_at", UTC_TS, "When the task was created.", False),
            C("run_id", pa.string(), "Id of the push run."),
        ),
    )
)

ANNOTATIONS = register_table(
    TableSpec(
        name="annotations",
        version=1,
        description="Labels that came back from Label Studio: one row per annotation version.",
        key=("annotation_id",),
        order_by="updated_at",
        columns=(
            C("annotation_id", pa.int64(), "Label Studio annotation id.", False),
            C("task_id", pa.int64(), "Label Studio task id.", False),
            C("project_id", pa.int64(), "Label Studio project id."),
            C("doc_id", pa.string(), "The annotated document.", False),
            C("annotator", pa.string(), "Who gave the labels (e-mail or user id)."),
            C("quality", pa.string(), "keep | drop."),
            C("use", pa.string(), "training | retrieval | both | neither."),
            C("personal_data", pa.bool_(), "Annotator says the document contains personal data."),
            C("topics", pa.list_(pa.string()), "Chosen topics."),
            C("question", pa.string(), "A question the document answers (human-written)."),
            C("answer", pa.string(), "The answer to that question (human-written)."),
            C("was_cancelled", pa.bool_(), "Annotator skipped the task."),
            C("created_at", UTC_TS, "When the annotation was created."),
            C("updated_at", UTC_TS, "When the annotation was last updated.", False),
            C("pulled_at", UTC_TS, "When corpusforge pulled it.", False),
            C("raw", pa.string(), "The annotation's result as JSON, for anything not mapped above."),
        ),
    )
)

TRAINING_EXAMPLES = register_table(
    TableSpec(
        name="training_examples",
        version=1,
        description="Rows of the fine-tuning exports, with split and lineage.",
        columns=(
            C("example_id", pa.string(), "Content-addressed id of the example.", False),
            C("export_name", pa.string(), "Name of the export in corpusforge.yaml.", False),
            C("export_version", pa.string(), "Version directory of the export.", False),
            C("format", pa.string(), "text | messages | prompt_completion.", False),
            C("split", pa.string(), "train | validation | test.", False),
            C("text", pa.string(), "Text (format text)."),
            C("messages", pa.list_(MESSAGE), "Chat messages (format messages)."),
            C("prompt", pa.string(), "Prompt (format prompt_completion)."),
            C("completion", pa.string(), "Completion (format prompt_completion)."),
            C("token_count", pa.int64(), "Tokens counted with the configured tokenizer."),
            C("doc_id", pa.string(), "Document the example came from.", False),
            C("content_hash", pa.string(), "Version of that document."),
            C("cluster_id", pa.string(), "Its duplicate cluster (splits never cross clusters)."),
            C("url", pa.string(), "URL of the document."),
            C("source", pa.string(), "Source name."),
            C("language", pa.string(), "Language code."),
            C("origin", pa.string(), "document | annotation | template: where the example came from."),
            C("snapshot_id", pa.string(), "Hash of the input files the export read."),
            C("created_at", UTC_TS, "When the export was built."),
        ),
    )
)

CHUNKS = register_table(
    TableSpec(
        name="chunks",
        version=1,
        description="Chunks of documents for RAG, with their embeddings.",
        key=("chunk_id",),
        order_by="created_at",
        hide_tombstoned_by="created_at",
        columns=(
            C("chunk_id", pa.string(), "Hash of the chunk text and the chunker config.", False),
            C("doc_id", pa.string(), "Document the chunk came from.", False),
            C("content_hash", pa.string(), "Version of that document."),
            C("url", pa.string(), "URL of the document."),
            C("title", pa.string(), "Title of the document."),
            C("heading_path", pa.string(), "Headings above the chunk, e.g. 'Install > On Linux'."),
            C("position", pa.int32(), "Index of the chunk within its document."),
            C("char_start", pa.int64(), "Offset of the chunk's first character in the document text."),
            C("char_end", pa.int64(), "Offset just past the chunk's last character."),
            C("text", pa.string(), "Chunk text.", False),
            C(
                "text_hash",
                pa.string(),
                "SHA-256 of the embedded text (title line + chunk); with model_id, the embedding cache key.",
            ),
            C("token_count", pa.int32(), "Tokens, counted with the embedding model's tokenizer."),
            C("language", pa.string(), "Language code."),
            C("fetched_at", UTC_TS, "When the page was fetched."),
            C(
                "embedding",
                pa.list_(pa.float32(), EMBEDDING_DIM),
                "Normalised embedding vector (fixed_size_list<float32>[dim]).",
                any_list_size=True,
            ),
            C("model_id", pa.string(), "Embedding model id."),
            C("chunker_config_hash", pa.string(), "Hash of the chunker configuration."),
            C("created_at", UTC_TS, "When the chunk row was written.", False),
        ),
    )
)

TOMBSTONES = register_table(
    TableSpec(
        name="tombstones",
        version=1,
        description="Documents removed at the source or taken down: removals reach both exports.",
        columns=(
            C("doc_id", pa.string(), "The removed document.", False),
            C("url", pa.string(), "Its URL."),
            C("source", pa.string(), "Source name."),
            C("reason", pa.string(), "http_404 | http_410 | takedown | source_removed.", False),
            C("status", pa.int32(), "HTTP status that caused it, if any."),
            C("created_at", UTC_TS, "When the removal was recorded.", False),
            C("run_id", pa.string(), "Run that recorded it."),
        ),
    )
)

CORE_TABLES = (
    "pages",
    "documents",
    "clusters",
    "annotation_tasks",
    "annotations",
    "training_examples",
    "chunks",
    "tombstones",
)

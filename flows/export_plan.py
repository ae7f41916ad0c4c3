"""Whether the two exports have anything to do, and their summaries when they have not, without Prefect.

The export flows (flows/export_training.py, flows/export_rag.py) and the CLI's idle checks
(`corpusforge export training | rag` with nothing new) share these, so an idle command answers
with the flow's own test and the flow's own summary, without importing Prefect or torch.

- Training: the flow's own test. A version built from this input snapshot with this config hash
  exists and `latest/` already is that version: the flow would rebuild nothing and move nothing.
- RAG: the flow rewrites the export folder on every run, so "nothing to do" is that rewrite giving
  the same export: the manifest was built from this input snapshot, these settings, this gate
  (which drop reasons keep a document out), this model and chunker, with the current chunks schema;
  no chunk left with it (an empty deletions file: a run would otherwise replace a pending list);
  no half-built leftovers; and no vector-store sink, whose sync a run repeats. In any doubt the
  flow runs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Any

from pyarrow import fs as pafs

from corpusforge.flows.configs import chunker_config, export_gate, format_config
from corpusforge.flows.stage import StageSummary, timed
from corpusforge.processing import training_format as tf
from corpusforge.schemas.config import RagExport, Settings, TrainingExport
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse import training_export as training_store
from corpusforge.warehouse.ready import initialised, ready

RAG_WRITTEN_TABLES = ("chunks", "embeddings", "export_verdicts")
RAG_INPUT_TABLES = ("documents", "clusters", "annotations", "tombstones")


def merged_summary(stage: str, parts: Iterable[tuple[str, StageSummary]]) -> StageSummary:
    """One summary of several exports' parts; counts and notes prefixed with the export's name
    when there are several."""
    parts = list(parts)
    merged = StageSummary(stage)
    for name, part in parts:
        merged.merge(part, prefix=f"{name}: " if len(parts) > 1 else "")
    return merged


def _idle_parts(exports, idle_part: Callable[[Any], StageSummary | None]) -> list[tuple[str, StageSummary]] | None:
    parts = []
    for export in exports:
        part = idle_part(export)
        if part is None:
            return None
        parts.append((export.name, part))
    return parts


# ---- training -------------------------------------------------------------------------------


def training_config_hash(export: TrainingExport, tokenizer_sha256: str, eval_digests: dict[str, str], dedup) -> str:
    """Everything besides the data that shapes a training export's rows (part of its version)."""
    return tf.config_fingerprint(
        {
            # The name picks the folder; it does not change the rows.
            "export": export.model_dump(mode="json", exclude={"name", "tokenizer", "eval_files"}),
            "tokenizer_sha256": tokenizer_sha256,
            "eval_sha256": sorted(eval_digests.values()),
            "dedup": dedup,
        }
    )


def training_summary(wh: Warehouse, summary: StageSummary, snapshot_id: str, rebuilt: bool, written) -> StageSummary:
    """A training export's summary from the version written (or found)."""
    summary.outputs.append(wh.location(written.path))
    counts = written.manifest.get("counts", {})
    summary.counts.update({"documents selected": counts.get("documents", 0), "examples": counts.get("examples", 0)})
    summary.counts.update(
        {f"{k.removeprefix('split_')} examples": v for k, v in counts.items() if k.startswith("split_")}
    )
    for key, label in (
        ("examples_cut_to_max_tokens", "cut to max_tokens"),
        ("examples_flagged_eval_overlap", "flagged"),
    ):
        if counts.get(key):
            summary.counts[label] = counts[key]
    summary.drops.update(written.manifest.get("selection_drops", {}))
    summary.drops.update(written.manifest.get("example_drops", {}))
    built_from = written.manifest.get("snapshot", {}).get("snapshot_id", snapshot_id)
    summary.notes.append(f"version {written.version} (snapshot {built_from})")
    if not written.created and not rebuilt:
        summary.notes.append("up to date: this version already exists (same snapshot and config); nothing rebuilt")
    elif not written.created:
        summary.notes.append("up to date: the selected rows and the config are unchanged; nothing rewritten")
    return summary


def _idle_training_part(settings: Settings, wh: Warehouse, export: TrainingExport) -> StageSummary | None:
    from corpusforge.connectors.eval_files import eval_files_digest
    from corpusforge.connectors.tokenizer import load_tokenizer

    summary = StageSummary(f"export_training {export.name}")
    with timed(summary):
        format_config(export)  # a config the flow would refuse fails here the same way
        export_gate(settings, export.exclude, "training")
        snapshot_id = training_store.input_snapshot(wh)["snapshot_id"]
        config_hash = training_config_hash(
            export, load_tokenizer(export.tokenizer).sha256, eval_files_digest(export.eval_files),
            settings.dedup.model_dump(mode="json"),
        )  # fmt: skip
        existing = training_store.find_version(wh, export.name, snapshot_id, config_hash)
        if existing is None or not training_store.latest_is(wh, export.name, existing.version):
            return None
        training_summary(wh, summary, snapshot_id, False, existing)
    return summary


def idle_training_summary(settings: Settings, force: bool = False) -> StageSummary | None:
    """The training export flow's own summary when every configured export is up to date (see
    the module docstring), or None when one has work (or `force`)."""
    wh = Warehouse(settings.warehouse)
    if force or not initialised(wh):
        return None
    parts = _idle_parts(settings.exports.training, lambda export: _idle_training_part(settings, wh, export))
    return None if parts is None else merged_summary("export_training", parts)


# ---- RAG ------------------------------------------------------------------------------------


def gate_record(gate) -> dict | None:
    """The gate as the RAG manifest records it (JSON types: tuples become lists)."""
    return None if gate is None else json.loads(json.dumps(dataclasses.asdict(gate)))


def fill_rag_summary(summary: StageSummary, documents_selected: int, counts, result) -> None:
    summary.counts.update(
        {
            "documents selected": documents_selected,
            "documents chunked (new or changed)": counts.documents_chunked,
            "chunks new": counts.chunks_new,
            "chunks embedded": counts.embedded,
            "embedding cache hits": counts.cache_hits,
            "chunks exported": result.chunks,
            "documents exported": result.documents,
            "chunks deleted": result.deleted,
        }
    )
    summary.drops.update(result.deletion_reasons)
    summary.outputs.append(result.path)


def _rag_export_unchanged(wh: Warehouse, cfg: RagExport, gate, manifest: dict) -> bool:
    """Whether a run would write this very export again (see the module docstring)."""
    from corpusforge.processing.embedding import ModelFacts, model_id_for
    from corpusforge.warehouse import rag_store

    model = manifest.get("model", {})
    if manifest.get("settings") != cfg.model_dump(mode="json") or manifest.get("gate") != gate_record(gate):
        return False
    if model.get("id") != model_id_for(cfg.model) or model.get("source") != cfg.model:
        return False
    facts = ModelFacts(model["id"], int(model.get("dim", 0)), int(model.get("max_seq_length", 0)), "")
    if manifest.get("chunker", {}).get("hash") != chunker_config(cfg, facts).config_hash:
        return False
    if manifest.get("snapshot", {}).get("snapshot_id") != wh.snapshot(RAG_INPUT_TABLES)["snapshot_id"]:
        return False
    return _rag_folder_clean(wh, rag_store.export_dir(wh, cfg.name))


def _rag_folder_clean(wh: Warehouse, folder: str) -> bool:
    """The folder holds the export's files (export.duckdb built after the manifest) and nothing
    half-built, the chunks file has the current schema version, and its deletions file is empty."""
    import pyarrow.parquet as pq

    from corpusforge.schemas import schema_of
    from corpusforge.warehouse import rag_store
    from corpusforge.warehouse.export_views import EXPORT_DB_FILE

    entries = {info.base_name: info for info in wh.fs.get_file_info(pafs.FileSelector(folder))}
    wanted = (rag_store.CHUNKS_FILE, rag_store.DELETIONS_FILE, rag_store.MANIFEST_FILE, EXPORT_DB_FILE)
    if any(entries.get(name) is None or entries[name].type != pafs.FileType.File for name in wanted):
        return False
    if rag_store.TMP_DIR in entries or any(name.startswith(".export-") for name in entries):
        return False
    if entries[EXPORT_DB_FILE].mtime < entries[rag_store.MANIFEST_FILE].mtime:
        return False  # a run stopped between writing the export and its views
    version_key = b"corpusforge.schema_version"
    chunks_meta = pq.read_schema(f"{folder}/{rag_store.CHUNKS_FILE}", filesystem=wh.fs).metadata or {}
    if chunks_meta.get(version_key) != (schema_of("chunks").metadata or {}).get(version_key):
        return False
    with wh.fs.open_input_file(f"{folder}/{rag_store.DELETIONS_FILE}") as fh:
        return pq.read_metadata(fh).num_rows == 0


def _idle_rag_part(settings: Settings, wh: Warehouse, cfg: RagExport) -> StageSummary | None:
    from corpusforge.warehouse import rag_store
    from corpusforge.warehouse.rag_chunks import EmbedCounts

    summary = StageSummary(f"export_rag {cfg.name}")
    with timed(summary):
        if cfg.sink != "parquet":  # a run syncs the vector store again: left to the flow
            return None
        gate = export_gate(settings, cfg.exclude, "rag")
        manifest = rag_store.read_manifest(wh, cfg.name)
        if manifest is None or not _rag_export_unchanged(wh, cfg, gate, manifest):
            return None
        counts = manifest.get("counts", {})
        folder = rag_store.export_dir(wh, cfg.name)
        result = rag_store.ExportResult(folder, counts["chunks"], counts["documents"], 0, {})
        fill_rag_summary(summary, counts["documents_selected"], EmbedCounts(), result)
    return summary


def idle_rag_summary(settings: Settings) -> StageSummary | None:
    """The RAG export flow's own summary when a run would rewrite every configured export as it
    is (see the module docstring), or None when one has work."""
    wh = Warehouse(settings.warehouse)
    if not ready(wh, RAG_WRITTEN_TABLES):
        return None
    parts = _idle_parts(settings.exports.rag, lambda cfg: _idle_rag_part(settings, wh, cfg))
    return None if parts is None else merged_summary("export_rag", parts)

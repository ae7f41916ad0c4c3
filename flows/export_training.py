"""The fine-tuning export: a versioned dataset that trainers load as it is.

Steps (plain functions; the Prefect flow runs them as tasks):

1. `plan`: tokenizer, eval-set n-gram index, input snapshot, config hash. A version built from
   this snapshot with this config exists already: nothing is rebuilt (unless forced).
2. `select`: the shared export selection (warehouse.selection) and the human Q/A pairs.
3. `build`: examples in the configured format, token limits, decontamination, splits by cluster,
   written as parts (flows.dask_training: one part on the default runner, one per group of
   documents on Dask workers; warehouse.training_parts).
4. `write`: the version is the hash of the rows (read from the parts in order) and the config, so
   a re-crawl that changed nothing the export holds gives the same version, and nothing is
   rewritten. Otherwise Parquet shards (+ OpenAI JSONL) streamed from the parts sorted by DuckDB,
   manifest, dataset card; rows to `training_examples`; `latest/` points at the version
   (warehouse.training_export has the layout). The driver never holds the whole dataset.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from corpusforge.connectors.eval_files import eval_files_digest
from corpusforge.connectors.tokenizer import TokenCounter, load_tokenizer
from corpusforge.flows.configs import export_gate, format_config
from corpusforge.flows.dask_training import BuiltParts, PartPlace, build_part, build_parts_on_dask, eval_index
from corpusforge.flows.export_plan import merged_summary, training_config_hash, training_summary
from corpusforge.flows.stage import Progress, StageSummary, on_dask_task_runner, timed
from corpusforge.processing import training_format as tf
from corpusforge.processing.training_card import LICENSE_FILE, CardInfo, dataset_card, license_text, writes_license_file
from corpusforge.processing.training_config import SPLIT_ORDER, FormatConfig
from corpusforge.processing.training_decontamination import NgramIndex
from corpusforge.processing.training_splits import labelled_clusters
from corpusforge.schemas.config import DedupSettings, Settings, TrainingExport
from corpusforge.schemas.training import export_schema
from corpusforge.warehouse import Warehouse, new_run_id, utc_now
from corpusforge.warehouse import training_export as store
from corpusforge.warehouse.selection import (
    REFERENCE_COLUMNS,
    SELECTED_COLUMNS,
    GateParams,
    human_qa_pairs,
    record_verdicts,
    select_export_documents,
    selection_report,
)
from corpusforge.warehouse.training_examples import record_training_examples
from corpusforge.warehouse.training_parts import PARTS_PREFIX, Parts, parts_folder, remove_parts

VERDICTS_LOCK_WAIT = 600.0  # seconds to wait for the RAG export's hold on export_verdicts


@dataclass
class ExportPlan:
    export: TrainingExport
    cfg: FormatConfig
    tokens: TokenCounter
    eval_index: NgramIndex | None
    eval_digests: dict[str, str]
    snapshot: dict
    config_hash: str
    dedup: dict[str, Any]
    version: str = ""  # known once the rows are built: hash of the rows and the config


@dataclass
class Selected:
    # The selected documents (references only on Dask), as Arrow: a dict per document would be
    # about 4 kB each in the driver (measured: 76 MiB for 18,000 references, 10 MiB as Arrow).
    docs: pa.Table
    qa: dict  # the human Q/A pairs by doc_id
    drops: dict[str, int]  # why documents were left out


def plan(wh: Warehouse, export: TrainingExport, dedup: dict[str, Any]) -> ExportPlan:
    cfg = format_config(export)
    tokens = load_tokenizer(export.tokenizer)
    digests = eval_files_digest(export.eval_files)
    index = eval_index(export)
    snapshot = store.input_snapshot(wh)
    config_hash = training_config_hash(export, tokens.sha256, digests, dedup)
    return ExportPlan(export, cfg, tokens, index, digests, snapshot, config_hash, dedup)


def select(
    wh: Warehouse, export: TrainingExport, gate: GateParams | None = None, columns: tuple[str, ...] = SELECTED_COLUMNS
) -> Selected:
    """The selected documents' `columns`, the human Q/A pairs by doc_id, why documents were left out."""
    filters = {
        "sources": export.sources,
        "languages": export.languages,
        "min_quality": export.min_quality or None,
        "gate": gate,
    }
    docs = select_export_documents(wh, "training", columns, **filters)
    qa = tf.group_qa_pairs(human_qa_pairs(wh).to_pylist()) if export.format != "text" else {}
    return Selected(docs, qa, selection_report(wh, "training", **filters))


class _JsonlLines:
    """A table of rows -> their OpenAI chat JSONL lines, counting rows that break the format."""

    def __init__(self) -> None:
        self.invalid = 0

    def __call__(self, table) -> list[str]:
        lines = []
        for row in table.to_pylist():
            record = tf.openai_chat_record(row)
            if tf.validate_openai_chat_record(record):
                self.invalid += 1  # never expected: every chat example has a user and an assistant turn
                continue
            lines.append(tf.jsonl_line(record))
        return lines


def _card_info(the_plan: ExportPlan, built: Built, split_stats: dict, split_tokens: dict) -> CardInfo:
    export = the_plan.export
    index = the_plan.eval_index
    return CardInfo(
        name=export.name,
        version=the_plan.version,
        fmt=export.format,
        schema=export_schema(export.format),
        license=export.license,
        license_name=export.license_name,
        license_link=export.license_link,
        task_categories=export.task_categories,
        pretty_name=export.pretty_name,
        languages=built.languages,
        splits={s: {**v, "tokens": split_tokens[s]} for s, v in split_stats.items()},
        sources=built.sources,
        filters={
            "sources": export.sources or "all",
            "languages": export.languages or "all",
            "min_quality": export.min_quality,
            "min_tokens": export.min_tokens,
            "max_tokens": f"{export.max_tokens} ({export.max_tokens_action})" if export.max_tokens else "none",
            "splits": dict(export.splits),
            "split_by": export.split_by,
            "labelled_as_test": export.labelled_as_test,
        },
        dedup=the_plan.dedup,
        selection_drops=built.selection_drops,
        example_counts=dict(sorted(built.counts.items())),
        example_drops=dict(sorted(built.drops.items())),
        decontamination={
            "files": len(export.eval_files),
            "ngram": export.decontaminate_ngram,
            "action": export.decontaminate_action,
            "texts": index.texts if index else 0,
            "texts_too_short": index.texts_too_short if index else 0,
            "matched": built.drops.get("eval_overlap", 0) + built.counts.get("examples_flagged_eval_overlap", 0),
        },
        tokenizer=the_plan.tokens.name,
        snapshot_id=the_plan.snapshot["snapshot_id"],
        config_hash=the_plan.config_hash,
        jsonl=export.jsonl,
    )


@dataclass
class Built:
    """What the export holds, as the writing needs it: the parts and what was counted on the way."""

    parts: BuiltParts
    selected: Selected
    languages: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return self.parts.counts

    @property
    def drops(self) -> Counter:
        return self.parts.drops

    @property
    def selection_drops(self) -> dict[str, int]:
        return self.selected.drops

    @property
    def sources(self) -> dict[str, int]:
        return tf.documents_by_source(self.selected.docs.select(["source"]).to_pylist())


def write(wh: Warehouse, the_plan: ExportPlan, built: Built, run_id: str, force: bool = False):
    """The version made of the parts' rows, unless it exists (then `latest/` points at it).
    The caller holds the training_examples lock."""
    export = the_plan.export
    with Parts(wh.fs, built.parts.paths, export.format, SPLIT_ORDER) as parts:
        split_counts = parts.split_counts()
        the_plan = replace(the_plan, version=tf.export_version(parts.content_hash(), the_plan.config_hash))
        if not force and (existing := store.existing_export(wh, export.name, the_plan.version)) is not None:
            store.point_latest(wh, export.name, existing.version)  # the same rows as an earlier version
            return existing
        split_tokens = parts.token_stats()
        built.languages = parts.languages()
        splits = [store.SplitRows(s, n, functools.partial(parts.split_rows, s)) for s, n in split_counts.items()]
        jsonl = _JsonlLines() if export.jsonl else None
        staged = store.stage_export(wh, export.name, the_plan.version, splits, export.shards, jsonl)
    manifest = {
        "format": export.format,
        "format_version": tf.FORMAT_VERSION,
        "config_hash": the_plan.config_hash,
        "config": export.model_dump(mode="json"),
        "snapshot": the_plan.snapshot,
        "tokenizer": {"name": the_plan.tokens.name, "sha256": the_plan.tokens.sha256},
        "eval_files": the_plan.eval_digests,
        "counts": {
            "documents": built.selected.docs.num_rows,
            "examples": sum(split_counts.values()),
            **{f"split_{s}": n for s, n in sorted(split_counts.items())},
            **dict(sorted(built.counts.items())),
        },
        "selection_drops": built.selection_drops,
        "example_drops": dict(sorted(built.drops.items())),
        "jsonl_invalid": jsonl.invalid if jsonl else 0,
        "token_stats": split_tokens,
    }
    try:
        # The rows are recorded before the version becomes visible (recorded once per version).
        record_training_examples(wh, staged, export.format, the_plan.snapshot["snapshot_id"], run_id)
    except BaseException:
        store.discard_export(wh, staged)
        raise
    info = _card_info(the_plan, built, staged.split_stats, split_tokens)
    texts = {LICENSE_FILE: license_text(info)} if writes_license_file(info) else None
    return store.publish_export(wh, staged, dataset_card(info), manifest, texts, run_id)


# ---- Prefect -------------------------------------------------------------------------------
@task(name="export-training-plan", cache_policy=NO_CACHE)
def plan_task(warehouse: str, export: TrainingExport, dedup: dict) -> ExportPlan:
    return plan(Warehouse(warehouse), export, dedup)


@task(name="export-training-select", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def select_task(
    warehouse: str, export: TrainingExport, gate: GateParams | None = None, columns: tuple[str, ...] = SELECTED_COLUMNS
) -> Selected:
    return select(Warehouse(warehouse), export, gate, columns)


@task(name="export-training-build", cache_policy=NO_CACHE)
def build_task(warehouse: str, the_plan: ExportPlan, selected: Selected, place: PartPlace) -> BuiltParts:
    """All the selected documents' rows as one part, in this process."""
    docs = selected.docs.to_pylist()
    return build_part(Warehouse(warehouse), docs, selected.qa, place, the_plan.tokens, the_plan.eval_index)


@task(name="export-training-write", cache_policy=NO_CACHE)
def write_task(warehouse: str, the_plan: ExportPlan, built: Built, run_id: str, force: bool):
    return write(Warehouse(warehouse), the_plan, built, run_id, force)


def build_and_write(wh: Warehouse, the_plan: ExportPlan, selected: Selected, force: bool, progress, step):
    """Build the rows as parts and write the version, under the training_examples lock (so no other
    run removes this run's parts as abandoned); the parts are removed at the end."""
    export, run_id = the_plan.export, new_run_id("export_training")
    versions = store.versions_dir(wh, export.name)
    labelled = frozenset()
    if export.labelled_as_test:
        labelled = frozenset(labelled_clusters(selected.docs.select(["cluster_id", "labelled"]).to_pylist()))
    place = PartPlace(export, parts_folder(versions, run_id), 0, labelled)
    with wh.lock("training_examples", run_id):
        store.remove_abandoned_staging(wh, versions, (".tmp-", ".old-", PARTS_PREFIX))
        try:
            step("building examples")
            if on_dask_task_runner():
                parts = build_parts_on_dask(wh, place, the_plan.tokens, the_plan.eval_digests, selected.docs,
                                            selected.qa, progress)  # fmt: skip
            else:
                parts = build_task(wh.root_url, the_plan, selected, place)
            step("writing shards")
            return write_task(wh.root_url, the_plan, Built(parts, selected), run_id, force), parts.workers
        finally:
            remove_parts(wh.fs, place.folder)


@task(name="export-training-verdicts", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def verdicts_task(warehouse: str, export: TrainingExport, gate: GateParams | None) -> int:
    """Record which documents this export holds and why the others are left out."""
    wh, run_id = Warehouse(warehouse), new_run_id("export_training")
    selection = {
        "sources": export.sources,
        "languages": export.languages,
        "min_quality": export.min_quality or None,
        "gate": gate,
    }
    # Waits for the RAG export's recording, which the pipeline runs at the same time.
    with wh.locks(["export_verdicts"], run_id, wait=VERDICTS_LOCK_WAIT):
        return record_verdicts(wh, "training", export.name, run_id, utc_now(), **selection)


def export_one(
    warehouse: str,
    export: TrainingExport,
    dedup: DedupSettings,
    force: bool = False,
    progress: Progress | None = None,
    gate: GateParams | None = None,
) -> StageSummary:
    """One training export version (nothing rebuilt when this version exists, unless forced)."""
    wh = Warehouse(warehouse)
    label = f"export {export.name}"

    def step(name: str) -> None:
        if progress is not None:
            progress.update(label, advance=1, total=4, status=name)

    summary = StageSummary(f"export_training {export.name}")
    with timed(summary):
        wh.init()
        step("planning")
        the_plan = plan_task(warehouse, export, dedup.model_dump(mode="json"))
        existing = None if force else store.find_version(wh, export.name, the_plan.snapshot["snapshot_id"],
                                                         the_plan.config_hash)  # fmt: skip
        if existing is not None:
            store.point_latest(wh, export.name, existing.version)
            return training_summary(wh, summary, the_plan.snapshot["snapshot_id"], False, existing)
        step("selecting documents")
        on_dask = on_dask_task_runner()  # then the workers read the bodies: the driver selects references
        selected = select_task(warehouse, export, gate, REFERENCE_COLUMNS if on_dask else SELECTED_COLUMNS)
        verdicts_task(warehouse, export, gate)
        written, workers = build_and_write(wh, the_plan, selected, force, progress, step)
        training_summary(wh, summary, the_plan.snapshot["snapshot_id"], True, written)
        if on_dask:
            summary.details.append({"built_on": sorted(workers)})
    return summary


@flow(name="export_training")
def export_training(settings: Settings, progress: Progress | None = None, force: bool = False) -> StageSummary:
    """Write a fine-tuning export version for every configured training export; counts and notes
    are prefixed with the export's name when there are several. `force` rebuilds a version that
    exists already."""

    def part(export: TrainingExport) -> tuple[str, StageSummary]:
        gate = export_gate(settings, export.exclude, "training")
        return export.name, export_one(settings.warehouse, export, settings.dedup, force, progress, gate)

    return merged_summary("export_training", map(part, settings.exports.training))

"""The annotate stage: sample documents into a Label Studio project, bring the labels back,
and report how well the filters agree with people.

- `annotate_push`: find or create the project, record tasks that exist in the project but
  not in `annotation_tasks` (a push that died between import and recording), draw a sample
  of documents never sent, and import them in batches. Before each import the batch is checked
  against the project's tasks (by the doc_id in the task data), so a retry or a rerun never
  creates a task twice; doc_id <-> task id is recorded per batch.
- `annotate_pull`: export the project (every annotator, current state of every annotation)
  and append the annotation versions not stored yet: an unchanged annotation adds nothing,
  an edited one adds a newer row (the `annotations` view shows the latest).
- `annotation_report`: per-filter precision/recall against the human keep/drop labels, and
  inter-annotator agreement. Reads only the warehouse.

Connection: LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, else the Prefect Secret blocks named
in the settings. Without them, the `annotate` flow and the CLI skip this stage with one line.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from corpusforge.connectors.label_studio import Connection, LabelStudioClient, LabelStudioUnavailable, Project
from corpusforge.flows.configs import sample_spec
from corpusforge.flows.stage import Progress, StageSummary, timed
from corpusforge.processing.annotation_labels import (
    FilterAgreement,
    PairAgreement,
    annotation_row,
    filter_agreement,
    inter_annotator_agreement,
    task_for,
)
from corpusforge.processing.sampling import Candidate, Sampled, sample_documents
from corpusforge.schemas.config import AnnotateSettings, Settings
from corpusforge.warehouse import Warehouse, new_run_id, utc_now
from corpusforge.warehouse import annotation_store as store

ENABLE_HINT = (
    "annotate: skipped, no Label Studio server configured; to enable it set LABEL_STUDIO_URL and "
    "LABEL_STUDIO_API_KEY (or the Prefect Secret blocks 'label-studio-url' and 'label-studio-api-key')"
)
RETRY_DELAYS = [1, 4]  # seconds; a restarting Label Studio answers again within a few seconds


class LabelStudioNotConfigured(RuntimeError):
    """No URL or API key for Label Studio."""


# ---- connection --------------------------------------------------------------------------------
def _secret(block_name: str) -> str | None:
    """A Prefect Secret block's value; None when there is no Prefect server to ask (we do not
    start a temporary one just to look) or no such block."""
    if not os.environ.get("PREFECT_API_URL"):
        return None
    try:
        from prefect.blocks.system import Secret

        value = Secret.load(block_name).get()
    except Exception:  # missing block, unreachable server: both mean "not configured here"
        return None
    return str(value) if value else None


def label_studio_connection(settings: AnnotateSettings | None = None) -> Connection | None:
    cfg = settings or AnnotateSettings()
    url = os.environ.get("LABEL_STUDIO_URL") or _secret(cfg.url_secret_block)
    key = os.environ.get("LABEL_STUDIO_API_KEY") or _secret(cfg.api_key_secret_block)
    return Connection(url, key) if url and key else None


def label_studio_configured(settings: AnnotateSettings | None = None) -> bool:
    """True when a Label Studio URL and API key are available (the pipeline skips otherwise)."""
    return label_studio_connection(settings) is not None


def label_studio_client(settings: AnnotateSettings) -> LabelStudioClient:
    connection = label_studio_connection(settings)
    if connection is None:
        raise LabelStudioNotConfigured(ENABLE_HINT)
    return LabelStudioClient(connection)


# ---- push ----------------------------------------------------------------------------------------
def _task_row(project: Project, doc_id: str, task_id: int, content_hash, reason, stratum, run_id, now) -> dict:
    return {
        "doc_id": doc_id,
        "content_hash": content_hash,
        "project_id": project.id,
        "project_title": project.title,
        "task_id": task_id,
        "sample_reason": reason,
        "stratum": stratum,
        "pushed_at": now,
        "run_id": run_id,
    }


def recover_unrecorded_tasks(
    wh: Warehouse, client: LabelStudioClient, project: Project, run_id: str
) -> tuple[set[str], int]:
    """Record tasks the project has but annotation_tasks lacks; returns every doc_id sent and
    how many tasks were recovered."""
    recorded = store.sent_doc_ids(wh, project.id)
    in_project = client.tasks_by_doc(project.id)
    now = utc_now()
    missing = [ref for doc_id, ref in sorted(in_project.items()) if doc_id not in recorded]
    rows = [
        _task_row(project, r.doc_id, r.task_id, r.content_hash, r.sample_reason, r.stratum, run_id, now)
        for r in missing
    ]
    store.record_tasks(wh, rows, run_id)
    return recorded | set(in_project), len(rows)


def draw_sample(wh: Warehouse, cfg: AnnotateSettings, already_sent: set[str]) -> list[Sampled]:
    candidates = [Candidate(**row) for row in store.sampling_candidates(wh)]
    return sample_documents(candidates, already_sent, sample_spec(cfg))


def push_batch(
    wh: Warehouse, client: LabelStudioClient, project: Project, batch: Sequence[Sampled], run_id: str
) -> dict[str, int]:
    """Import the batch's documents that are not tasks yet, then record the batch's tasks.

    Checking the project first is what makes a retry safe: if an earlier attempt's import
    reached the server but its answer (or the recording) was lost, those tasks exist already."""
    existing = client.tasks_by_doc(project.id)
    wanted = {s.doc_id: s for s in batch}
    docs = store.documents_by_id(wh, [d for d in wanted if d not in existing])
    tasks = [task_for(doc, wanted[doc["doc_id"]].reason, wanted[doc["doc_id"]].stratum) for doc in docs]
    created = client.import_tasks(project.id, tasks)
    if tasks:
        existing = client.tasks_by_doc(project.id)
    now = utc_now()
    hashes = {doc["doc_id"]: doc["content_hash"] for doc in docs}
    rows = [
        _task_row(
            project,
            s.doc_id,
            existing[s.doc_id].task_id,
            hashes.get(s.doc_id, existing[s.doc_id].content_hash),
            s.reason,
            s.stratum,
            run_id,
            now,
        )
        for s in batch
        if s.doc_id in existing
    ]
    store.record_tasks(wh, rows, run_id)
    return {"created": created, "recorded": len(rows), "vanished": len(wanted) - len(rows)}


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- pull ----------------------------------------------------------------------------------------
@dataclass
class PullResult:
    tasks: int
    annotations: int
    new: int
    updated: int
    without_doc_id: int


def pull_annotations(wh: Warehouse, client: LabelStudioClient, project_id: int, run_id: str) -> PullResult:
    """Append every annotation version not stored yet (key: annotation id + updated_at)."""
    exported = client.export_tasks(project_id)
    annotators = client.annotators()
    pulled_at = utc_now()
    stored = store.stored_annotation_versions(wh)
    stored_ids = {annotation_id for annotation_id, _ in stored}
    rows, seen, without_doc_id = [], 0, 0
    for exported_task in exported:
        if not (exported_task.get("data") or {}).get("doc_id"):
            without_doc_id += 1  # a task added by hand in Label Studio: no document to label
            continue
        for annotation in exported_task.get("annotations") or []:
            seen += 1
            row = annotation_row(exported_task, annotation, annotators, pulled_at)
            if (row["annotation_id"], store.epoch_us(row["updated_at"])) not in stored:
                rows.append(row)
    store.record_annotations(wh, rows, run_id)
    updated = sum(1 for r in rows if r["annotation_id"] in stored_ids)
    return PullResult(len(exported), seen, len(rows) - updated, updated, without_doc_id)


# ---- report ----------------------------------------------------------------------------------------
@dataclass
class AnnotationReport:
    filters: list[FilterAgreement]
    agreement: dict[str, list[PairAgreement]]  # label field -> annotator pairs
    labelled_documents: int


AGREEMENT_FIELDS = ("quality", "use", "personal_data")


def annotation_report(wh: Warehouse) -> AnnotationReport:
    labelled = store.labelled_documents(wh)
    filters = filter_agreement((d["decisions"], d["kept"], d["quality"]) for d in labelled)
    labels = store.annotator_labels(wh)
    agreement = {
        name: inter_annotator_agreement(
            (r["task_id"], r["annotator"], None if r[name] is None else str(r[name])) for r in labels
        )
        for name in AGREEMENT_FIELDS
    }
    return AnnotationReport(filters, agreement, len(labelled))


# ---- Prefect -------------------------------------------------------------------------------------
def _transient(task, task_run, state) -> bool:
    """Retry only what may pass: a server that is down or answering 5xx, not a wrong key."""
    try:
        state.result()
    except LabelStudioUnavailable:
        return True
    except Exception:
        return False
    return False


_io_task = dict(
    retries=len(RETRY_DELAYS), retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=_transient, cache_policy=NO_CACHE
)


@task(name="annotate-open-project", **_io_task)
def open_project_task(client: LabelStudioClient, cfg: AnnotateSettings) -> Project:
    return client.ensure_project(cfg.project_title, cfg.topics)


@task(name="annotate-recover-tasks", **_io_task)
def recover_task(warehouse: str, client: LabelStudioClient, project: Project, run_id: str) -> tuple[set[str], int]:
    return recover_unrecorded_tasks(Warehouse(warehouse), client, project, run_id)


@task(name="annotate-sample", cache_policy=NO_CACHE)
def sample_task(warehouse: str, cfg: AnnotateSettings, already_sent: set[str]) -> list[Sampled]:
    return draw_sample(Warehouse(warehouse), cfg, already_sent)


@task(name="annotate-push-batch", **_io_task)
def push_batch_task(
    warehouse: str, client: LabelStudioClient, project: Project, batch: list[Sampled], run_id: str
) -> dict[str, int]:
    return push_batch(Warehouse(warehouse), client, project, batch, run_id)


@task(name="annotate-pull", **_io_task)
def pull_task(warehouse: str, client: LabelStudioClient, project_id: int, run_id: str) -> PullResult:
    return pull_annotations(Warehouse(warehouse), client, project_id, run_id)


@task(name="annotate-find-project", **_io_task)
def find_project_task(client: LabelStudioClient, title: str) -> int | None:
    return client.find_project(title)


@flow(name="annotate_push")
def annotate_push(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Sample `annotate.sample_size` documents never sent and create Label Studio tasks for them."""
    cfg = settings.annotate
    warehouse = settings.warehouse
    client = label_studio_client(cfg)
    wh = Warehouse(warehouse)
    run_id = new_run_id("annotate-push")
    summary = StageSummary("annotate push")
    with timed(summary):
        wh.init()
        project = open_project_task(client, cfg)
        with wh.lock("annotation_tasks", run_id):
            sent, recovered = recover_task(warehouse, client, project, run_id)
            sample = sample_task(warehouse, cfg, sent)
            if progress is not None:
                progress.update("pushing tasks", total=len(sample))
            totals: Counter = Counter()
            for batch in _batches(sample, cfg.batch_size):
                totals.update(push_batch_task(warehouse, client, project, list(batch), run_id))
                if progress is not None:
                    progress.update("pushing tasks", advance=len(batch))
        summary.counts.update(
            {
                "already sent": len(sent),
                "recovered unrecorded tasks": recovered,
                "sampled": len(sample),
                **{f"sampled {reason}": n for reason, n in sorted(Counter(s.reason for s in sample).items())},
                "tasks created": totals["created"],
                "tasks recorded": totals["recorded"],
            }
        )
        if totals["vanished"]:
            summary.notes.append(f"{totals['vanished']} tasks were not found after import; the next push retries them")
        summary.notes.append(
            f"project {project.title!r} (id {project.id}{', created' if project.created else ''}) at {client.url}"
        )
        summary.outputs.append(f"{wh.root_url}/annotation_tasks")
    return summary


@flow(name="annotate_pull")
def annotate_pull(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Bring every annotation (new and edited) of the project into `annotations`."""
    cfg = settings.annotate
    warehouse = settings.warehouse
    client = label_studio_client(cfg)
    wh = Warehouse(warehouse)
    run_id = new_run_id("annotate-pull")
    summary = StageSummary("annotate pull")
    with timed(summary):
        wh.init()
        project_id = find_project_task(client, cfg.project_title)
        if project_id is None:
            summary.notes.append(f"no project titled {cfg.project_title!r} yet: run `corpusforge annotate push` first")
            return summary
        with wh.lock("annotations", run_id):
            result = pull_task(warehouse, client, project_id, run_id)
        summary.counts.update(
            {
                "tasks": result.tasks,
                "annotations seen": result.annotations,
                "new annotations": result.new,
                "edited annotations": result.updated,
                "unchanged": result.annotations - result.new - result.updated,
            }
        )
        if result.without_doc_id:
            summary.notes.append(f"{result.without_doc_id} tasks without a doc_id were ignored (added by hand?)")
        summary.outputs.append(f"{wh.root_url}/annotations")
    return summary


@flow(name="annotate")
def annotate(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Push new samples, then pull the labels back; skipped (with one note) when no Label Studio
    is configured, in the environment or in the Prefect Secret blocks the settings name."""
    summary = StageSummary("annotate")
    if not label_studio_configured(settings.annotate):
        summary.notes.append(ENABLE_HINT)
        return summary
    summary.merge(annotate_push(settings, progress), prefix="annotate push: ")
    return summary.merge(annotate_pull(settings, progress), prefix="annotate pull: ")

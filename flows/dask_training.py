"""The training export's example building (tokenising, token limits, decontamination) on Dask
workers.

The driver selects references only (the selection's columns without the bodies) and hands each
task a group of them with the human Q/A pairs of those documents. The worker reads the bodies
from the warehouse itself (`with_bodies`), loads the tokenizer and the eval-set n-gram index once
and keeps them for its later tasks, and builds the group's examples. What comes back is the
examples (the dataset's own text, which the driver writes as shards) with their lineage, not the
documents they came from. Examples are built one document at a time, so the groups' results in
order are exactly what one pass over the whole selection gives.
"""

from __future__ import annotations

import functools
import math
from collections import Counter

from prefect import task
from prefect.cache_policies import NO_CACHE

from corpusforge.connectors.eval_files import eval_files_digest, read_eval_texts
from corpusforge.connectors.tokenizer import TokenCounter, load_tokenizer
from corpusforge.flows.configs import format_config
from corpusforge.flows.runtime import batched, dask_worker_address, submit_bounded
from corpusforge.flows.stage import Progress
from corpusforge.processing import training_format as tf
from corpusforge.processing.training_decontamination import NgramIndex
from corpusforge.schemas.config import TrainingExport
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.selection import BODY_COLUMNS, with_bodies

# Documents per task: enough to spread a task's overhead (a Prefect task run, a catalog
# connection), few enough that a small corpus still spreads over the workers.
DOCS_PER_TASK = 256
MIN_TASKS = 8


class WorkerInputsDiffer(RuntimeError):
    """A worker's tokenizer or eval files are not the ones the driver planned with."""


def eval_index(export: TrainingExport) -> NgramIndex | None:
    """The n-gram index of the export's eval files (None without eval files)."""
    if not export.eval_files:
        return None
    return NgramIndex(export.decontaminate_ngram).add_all(read_eval_texts(export.eval_files))


@functools.lru_cache(maxsize=2)
def _worker_tokenizer(path: str | None, sha256: str) -> TokenCounter:
    tokens = load_tokenizer(path)
    if tokens.sha256 != sha256:
        raise WorkerInputsDiffer(f"the tokenizer on worker {dask_worker_address()} is not the driver's ({path})")
    return tokens


@functools.lru_cache(maxsize=2)
def _worker_eval_index(export_json: str, digests: tuple) -> NgramIndex | None:
    export = TrainingExport.model_validate_json(export_json)
    if tuple(sorted(eval_files_digest(export.eval_files).items())) != digests:
        raise WorkerInputsDiffer(
            f"the eval files on worker {dask_worker_address()} differ from the driver's: every worker must read "
            "the same eval files (the same path on each machine, or shared storage)"
        )
    return eval_index(export)


@task(name="export-training-build", cache_policy=NO_CACHE)
def build_group_task(
    warehouse: str, export: TrainingExport, tokenizer_sha256: str, eval_digests: dict, refs: list[dict], qa: dict
) -> tuple[tf.BuildResult, str]:
    """This group's examples, built on this worker from the bodies it reads; (result, worker address)."""
    tokens = _worker_tokenizer(export.tokenizer, tokenizer_sha256)
    index = _worker_eval_index(export.model_dump_json(), tuple(sorted(eval_digests.items())))
    docs = with_bodies(Warehouse(warehouse), refs)
    result = tf.build_examples(docs, qa, format_config(export), tokens, index)
    for example in result.examples:  # what goes back: the examples' lineage, not the documents
        example.doc = {k: v for k, v in example.doc.items() if k not in BODY_COLUMNS}
    return result, dask_worker_address()


def task_size(documents: int) -> int:
    """Documents per task: DOCS_PER_TASK, or fewer so that at least MIN_TASKS tasks share a small corpus."""
    return max(1, min(DOCS_PER_TASK, math.ceil(documents / MIN_TASKS)))


def build_examples_on_dask(
    wh: Warehouse,
    export: TrainingExport,
    tokens: TokenCounter,
    eval_digests: dict,
    refs: list[dict],
    qa: dict,
    progress: Progress | None = None,
) -> tuple[tf.BuildResult, set[str]]:
    """Examples for the selected references, built by tasks on the flow's Dask task runner, merged
    in selection order; (the merged result, the addresses of the workers that built them)."""
    merged = tf.BuildResult([], Counter(), Counter())
    workers: set[str] = set()
    label = f"building examples ({export.name})"
    if progress is not None:
        progress.update(label, total=len(refs))

    def submit(group: list[dict]):
        group_qa = {r["doc_id"]: qa[r["doc_id"]] for r in group if r["doc_id"] in qa}
        return build_group_task.submit(wh.root_url, export, tokens.sha256, eval_digests, group, group_qa)

    for result, worker in submit_bounded(submit, batched(refs, task_size(len(refs)))):
        merged.examples.extend(result.examples)
        merged.counts.update(result.counts)
        merged.drops.update(result.drops)
        workers.add(worker)
        if progress is not None:
            progress.update(label, advance=result.counts["documents_in"])
    merged.counts["examples"] = len(merged.examples)
    return merged, workers

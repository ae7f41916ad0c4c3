"""Building the training export's rows (tokenising, token limits, decontamination, splits) as
parts: on Dask workers in groups of documents, or in one part on the default runner.

On Dask the driver selects references only (the selection's columns without the bodies) and
hands each task a group of them, with the place of each one's row in the `documents` files
(`with_places`) and the human Q/A pairs of those documents. The worker reads the bodies from
those rows itself (`with_bodies`), loads the tokenizer and the eval-set n-gram
index once and keeps them for its later tasks, builds the group's rows and writes them as a part
(warehouse.training_parts) on the warehouse's filesystem. What comes back is counts and the
part's path: neither the documents nor the examples pass through the driver. Examples are built
one document at a time and splits come from the whole selection's labelled clusters, so the
parts together hold exactly the rows one pass over the whole selection gives.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass, field, replace

import pyarrow as pa

from corpusforge.connectors.eval_files import eval_files_digest, read_eval_texts
from corpusforge.connectors.tokenizer import TokenCounter, load_tokenizer
from corpusforge.flows.configs import format_config
from corpusforge.flows.runtime import dask_worker_address, submit_bounded, submit_to_dask
from corpusforge.flows.stage import Progress
from corpusforge.processing import training_format as tf
from corpusforge.processing.training_decontamination import NgramIndex
from corpusforge.processing.training_splits import assign_splits
from corpusforge.schemas.config import TrainingExport
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.selection import with_bodies, with_places
from corpusforge.warehouse.training_parts import write_part

# Documents per task: enough to spread a task's overhead (a Dask task, a catalog
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


@dataclass(frozen=True)
class PartPlace:
    """Where a group's part goes and what its splits depend on beyond its own documents."""

    export: TrainingExport
    folder: str
    number: int
    labelled: frozenset[str]  # the whole selection's labelled clusters


@dataclass
class BuiltParts:
    """What building left: the parts' paths, the build's counts and drops, who built them."""

    paths: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    drops: Counter = field(default_factory=Counter)
    workers: set[str] = field(default_factory=set)

    def add(self, other: BuiltParts) -> None:
        self.paths.extend(other.paths)
        self.counts.update(other.counts)
        self.drops.update(other.drops)
        self.workers |= other.workers


def build_part(
    wh: Warehouse, docs: list[dict], qa: dict, part: PartPlace, tokens: TokenCounter, index: NgramIndex | None
) -> BuiltParts:
    """The documents' examples as rows with their splits and hashes, written as one part."""
    cfg = format_config(part.export)
    result = tf.build_examples(docs, qa, cfg, tokens, index)
    assign_splits(result.examples, cfg, part.labelled)
    rows = tf.with_row_hashes(tf.example_rows(result.examples, cfg.format))
    path = write_part(wh.fs, part.folder, part.number, rows, cfg.format)
    return BuiltParts([path] if path else [], result.counts, result.drops, {dask_worker_address()})


def build_group_on_worker(
    warehouse: str, part: PartPlace, tokenizer_sha256: str, eval_digests: dict, refs: list[dict], qa: dict
) -> BuiltParts:
    """This group's part, built on this worker from the bodies it reads."""
    export = part.export
    tokens = _worker_tokenizer(export.tokenizer, tokenizer_sha256)
    index = _worker_eval_index(export.model_dump_json(), tuple(sorted(eval_digests.items())))
    wh = Warehouse(warehouse)
    return build_part(wh, with_bodies(wh, refs), qa, part, tokens, index)


def task_size(documents: int) -> int:
    """Documents per task: DOCS_PER_TASK, or fewer so that at least MIN_TASKS tasks share a small corpus."""
    return max(1, min(DOCS_PER_TASK, math.ceil(documents / MIN_TASKS)))


def build_parts_on_dask(
    wh: Warehouse,
    place: PartPlace,
    tokens: TokenCounter,
    eval_digests: dict,
    refs: pa.Table,
    qa: dict,
    progress: Progress | None = None,
) -> BuiltParts:
    """Parts for the selected references, built by tasks on the flow's Dask cluster."""
    built = BuiltParts()
    label = f"building examples ({place.export.name})"
    if progress is not None:
        progress.update(label, total=refs.num_rows)
    size = task_size(refs.num_rows)
    refs = with_places(wh, refs)  # the workers read each body from its row, not through the catalog
    # Each group becomes dicts only as its task is submitted (a window of them at a time).
    groups = (refs.slice(start, size).to_pylist() for start in range(0, refs.num_rows, size))

    def submit(numbered: tuple[int, list[dict]]):
        number, group = numbered
        group_qa = {r["doc_id"]: qa[r["doc_id"]] for r in group if r["doc_id"] in qa}
        part = replace(place, number=number)
        args = (wh.root_url, part, tokens.sha256, eval_digests, group, group_qa)
        return submit_to_dask("export-training-build", build_group_on_worker, *args)

    for result in submit_bounded(submit, enumerate(groups)):
        built.add(result)
        if progress is not None:
            progress.update(label, advance=result.counts["documents_in"])
    return built

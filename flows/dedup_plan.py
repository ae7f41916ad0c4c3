"""What the dedup stage has to do, and its summary, without Prefect.

The dedup flow (flows/dedup.py) and the CLI's idle check (`corpusforge dedup` with nothing new)
share these, so an idle command answers with the flow's own plan query and the flow's own summary
without importing Prefect or starting a flow run.

The plan asks the index by the MinHash parameters' key, which names the LSH bands x rows that
datasketch's optimal-parameter search gives; importing datasketch imports scipy (1.2-1.6 s on
2 busy cores, more than the whole idle check). `params_key` remembers each key it computed in the
user's cache folder, under everything the key is computed from: the parameters, the datasketch
version and the source of processing/dedup.py (a change to either computes it again).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from importlib.metadata import version

from corpusforge.flows.configs import minhash_params
from corpusforge.flows.stage import StageSummary, timed
from corpusforge.processing import dedup as dedup_steps
from corpusforge.schemas.config import DedupSettings, Settings
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.dedup_index import DedupIndex
from corpusforge.warehouse.ready import ready

WRITTEN_TABLES = ("dedup_signatures", "dedup_bands", "clusters")
KEYS_FILE = "dedup-params-keys.json"
KEYS_KEPT = 32  # parameter sets remembered (a user tries a few thresholds, not thousands)


@dataclass
class DedupPlan:
    kept: int  # kept documents: what the stage covers
    to_sign: list[tuple[str, str]]  # (doc_id, content_hash) of the kept versions to sign
    to_unindex: list[dict]  # doc_id, content_hash, exact_hash of the indexed documents that left
    stale: list[str]  # signed documents whose clusters row is missing or older than the signature
    gone: list[dict]  # doc_id, cluster_id, content_hash of clustered documents no longer kept

    @property
    def has_work(self) -> bool:
        return bool(self.to_sign or self.to_unindex or self.stale or self.gone)


def plan(stored: DedupIndex) -> DedupPlan:
    return DedupPlan(*stored.plan())


def cluster_counts(affected: int = 0, verified: int = 0, written: int = 0, left: int = 0) -> dict[str, int]:
    """The cluster step's counts in the summary (all zero: nothing was reclustered)."""
    return {
        "affected": affected,
        "near pairs verified": verified,
        "clusters rows written": written,
        "left clusters": left,
    }


def fill_summary(stored: DedupIndex, wh: Warehouse, summary: StageSummary, the_plan: DedupPlan, signed, counts) -> None:
    totals, largest = stored.cluster_totals(), stored.largest_clusters()
    summary.counts.update(
        {
            "documents in": the_plan.kept,
            "signed (new or changed)": signed,
            "left the index": len(the_plan.to_unindex),
            **counts,
            "clusters": totals["clusters"],
            "clusters with duplicates": totals["multi"],
            "exact duplicates removed": totals["exact"],
            "near duplicates removed": totals["near"],
        }
    )
    summary.drops.update({"exact_duplicate_of": totals["exact"], "near_duplicate_of": totals["near"]})
    summary.drops = +summary.drops  # no zero-count lines
    if largest:
        summary.notes.append("largest clusters: " + ", ".join(f"{cid} ({size} docs)" for cid, size in largest))
    summary.outputs.append(f"{wh.root_url}/clusters")


def idle_dedup_summary(settings: Settings) -> StageSummary | None:
    """The dedup flow's own summary when its plan finds nothing to sign, take out or recluster,
    or None when there is work (or the warehouse is not set up, or a killed run left temp files:
    the flow creates the tables and sweeps the files under its locks). tests/dedup/test_idle_dedup.py
    checks that this summary equals the flow's."""
    summary = StageSummary("dedup")
    with timed(summary):
        wh = Warehouse(settings.warehouse)
        if not ready(wh, WRITTEN_TABLES):
            return None
        with DedupIndex(wh, params_key(settings.dedup)) as stored:
            the_plan = plan(stored)
            if the_plan.has_work:
                return None
            fill_summary(stored, wh, summary, the_plan, 0, cluster_counts())
    return summary


# ---- the parameters' key, remembered ----------------------------------------------------------


def params_key(cfg: DedupSettings) -> str:
    """`minhash_params(cfg).key`, computed once per parameter set (see the module docstring)."""
    params = minhash_params(cfg)
    slot = _key_slot(params)
    known = _read_keys()
    if slot in known:
        return known[slot]
    key = params.key  # imports datasketch
    _remember_key(known, slot, key)
    return key


@functools.cache  # the plan, signing, clustering and the summary all ask
def _key_slot(params) -> str:
    with open(dedup_steps.__file__, "rb") as fh:
        source = hashlib.sha256(fh.read()).hexdigest()[:16]
    return f"{params!r} datasketch {version('datasketch')} processing.dedup {source}"


def _keys_path() -> str:
    from corpusforge.flows.prefect_server import state_dir  # the user's cache folder (stdlib only)

    return str(state_dir() / KEYS_FILE)


def _read_keys() -> dict[str, str]:
    try:
        with open(_keys_path()) as fh:
            known = json.load(fh)
        return known if isinstance(known, dict) else {}
    except (OSError, ValueError):  # none yet, or unreadable: computed again
        return {}


def _remember_key(known: dict[str, str], slot: str, key: str) -> None:
    """Best effort (a read-only cache folder only costs the next command the import): written
    aside and renamed, so two commands never read half a file."""
    path = _keys_path()
    kept = dict(list(known.items())[-(KEYS_KEPT - 1) :]) | {slot: key}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w") as fh:
            json.dump(kept, fh)
        os.replace(tmp, path)
    except OSError:
        pass

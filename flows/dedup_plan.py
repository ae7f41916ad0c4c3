"""What the dedup stage has to do, and its summary, without Prefect.

The dedup flow (flows/dedup.py) and the CLI's idle check (`corpusforge dedup` with nothing new)
share these, so an idle command answers with the flow's own plan query and the flow's own summary
without importing Prefect or starting a flow run.

The plan asks the index by the MinHash parameters' key, which names the LSH bands x rows that
datasketch's optimal-parameter search gives, and signing cuts signatures into those bands;
importing datasketch imports scipy (0.5 s on an idle core, 1.2-1.6 s on 2 busy ones: more than
the whole idle check, and a third of an incremental dedup of 500 documents on 50,000).
`resolved_params` remembers each search's answer in the user's cache folder, under everything
it is computed from: the parameters, the datasketch version and the source of
processing/dedup.py (a change to either searches again).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, replace
from importlib.metadata import version

from corpusforge.flows.configs import minhash_params
from corpusforge.flows.stage import StageSummary, timed
from corpusforge.processing import dedup as dedup_steps
from corpusforge.processing.dedup import MinHashParams
from corpusforge.schemas.config import DedupSettings, Settings
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.dedup_index import DedupIndex
from corpusforge.warehouse.ready import ready

WRITTEN_TABLES = ("dedup_signatures", "dedup_bands", "clusters")
BANDINGS_FILE = "dedup-lsh-bands.json"
BANDINGS_KEPT = 32  # parameter sets remembered (a user tries a few thresholds, not thousands)


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
    totals, largest = stored.cluster_overview()
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


# ---- the LSH bands, remembered ----------------------------------------------------------------


def resolved_params(cfg: DedupSettings) -> MinHashParams:
    """`minhash_params(cfg)` with its LSH bands x rows filled in, searched once per parameter
    set (see the module docstring): neither the plan nor signing imports datasketch again."""
    params = minhash_params(cfg)
    slot = _key_slot(params)
    known = _read_bandings()
    remembered = known.get(slot)
    if isinstance(remembered, list) and len(remembered) == 2:
        return replace(params, banding=(int(remembered[0]), int(remembered[1])))
    bands, rows = params.bands_rows  # imports datasketch
    _remember_banding(known, slot, [bands, rows])
    return replace(params, banding=(bands, rows))


def params_key(cfg: DedupSettings) -> str:
    """`minhash_params(cfg).key`, without importing datasketch once its bands are known."""
    return resolved_params(cfg).key


@functools.cache  # the plan, signing, clustering and the summary all ask
def _key_slot(params) -> str:
    with open(dedup_steps.__file__, "rb") as fh:
        source = hashlib.sha256(fh.read()).hexdigest()[:16]
    return f"{params!r} datasketch {version('datasketch')} processing.dedup {source}"


def _bandings_path() -> str:
    from corpusforge.flows.prefect_server import state_dir  # the user's cache folder (stdlib only)

    return str(state_dir() / BANDINGS_FILE)


def _read_bandings() -> dict[str, list]:
    try:
        with open(_bandings_path()) as fh:
            known = json.load(fh)
        return known if isinstance(known, dict) else {}
    except (OSError, ValueError):  # none yet, or unreadable: computed again
        return {}


def _remember_banding(known: dict[str, list], slot: str, banding: list[int]) -> None:
    """Best effort (a read-only cache folder only costs the next command the import): written
    aside and renamed, so two commands never read half a file."""
    path = _bandings_path()
    kept = dict(list(known.items())[-(BANDINGS_KEPT - 1) :]) | {slot: banding}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w") as fh:
            json.dump(kept, fh)
        os.replace(tmp, path)
    except OSError:
        pass

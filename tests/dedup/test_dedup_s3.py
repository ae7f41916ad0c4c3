"""Dedup on a warehouse in object storage (a local S3 server): one run reads the index through a
single connection, whose view of the tables must take in the files the run writes itself (its
signatures, then its clusters rows). The clusters and the summary equal those of a local warehouse,
on a first run and on an incremental one."""

from __future__ import annotations

import pytest

from corpusforge.flows.dedup import dedup
from corpusforge.schemas.config import DedupSettings, Settings
from corpusforge.warehouse import Warehouse
from tests.conftest import s3_url
from tests.dedup.conftest import make_doc, random_text, substitute, write_docs
from tests.dedup.test_dedup import clusters

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_dedup_on_s3_equals_dedup_on_a_local_warehouse(s3_endpoint, tmp_path):
    roots = {"local": str(tmp_path / "data"), "s3": s3_url(s3_endpoint, "dedup")}
    local, remote = Warehouse(roots["local"]), Warehouse(roots["s3"])
    originals = {f"o{i}": random_text(i) for i in range(4)}
    first = [make_doc(d, t) for d, t in originals.items()] + [make_doc("c0", substitute(originals["o0"], 5, 1))]
    later = [make_doc("c1", substitute(originals["o1"], 5, 2)), make_doc("c2", originals["o2"])]
    cfg = DedupSettings(workers=1)
    summaries = {}
    for name, wh in (("local", local), ("s3", remote)):
        wh.init()
        write_docs(wh, first, "clean-1")
        dedup(Settings(warehouse=roots[name], dedup=cfg))
        write_docs(wh, later, "clean-2")
        summaries[name] = dedup(Settings(warehouse=roots[name], dedup=cfg))
    assert not remote.is_local
    assert clusters(remote) == clusters(local)
    reasons = sorted(r[4] for r in clusters(remote).values() if r[4])
    assert reasons == ["exact_duplicate_of", "near_duplicate_of", "near_duplicate_of"]
    assert summaries["s3"].counts == summaries["local"].counts
    assert summaries["s3"].counts["signed (new or changed)"] == 2
    assert summaries["s3"].counts["clusters with duplicates"] == 3

"""An idle `corpusforge dedup` answers without Prefect: the CLI asks the index whether there is
anything to sign, take out or recluster (the flow's own plan) and, when there is not, prints the
flow's own summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpusforge.flows.dedup_plan import idle_dedup_summary
from corpusforge.schemas.config import DedupSettings, Settings
from corpusforge.warehouse import Warehouse
from tests.dedup.conftest import T0, make_doc, random_text, substitute, write_docs
from tests.idle_cli import run_as_a_user

MODULES = ("prefect", "pandas", "torch", "datasketch", "scipy")


def _comparable(summary) -> dict:
    return {"stage": summary.stage, "counts": dict(summary.counts), "drops": dict(summary.drops),
            "outputs": list(summary.outputs), "notes": list(summary.notes), "error": summary.error}  # fmt: skip


def _corpus(wh) -> None:
    base = random_text(1)
    docs = [make_doc("a", base), make_doc("b", base + " "), make_doc("c", substitute(base, 4, 1))]
    write_docs(wh, docs + [make_doc(f"u{i}", random_text(10 + i)) for i in range(4)])


def test_the_idle_summary_is_the_flows_own(wh, cfg, prefect_api):
    from corpusforge.flows.dedup import dedup

    settings = Settings(warehouse=wh.root, dedup=cfg)
    _corpus(wh)
    first = dedup(settings)
    assert first.counts["signed (new or changed)"] == 7
    flow_summary = dedup(settings)  # a flow run with nothing to do
    assert flow_summary.counts["signed (new or changed)"] == 0
    assert flow_summary.counts["clusters rows written"] == 0
    shortcut = idle_dedup_summary(settings)
    assert shortcut is not None
    assert _comparable(shortcut) == _comparable(flow_summary)
    assert shortcut.counts["near duplicates removed"] == 1 and shortcut.counts["exact duplicates removed"] == 1


def test_work_a_stray_temp_file_or_other_parameters_go_to_the_flow(tmp_path, wh, cfg, prefect_api):
    from corpusforge.flows.dedup import dedup

    settings = Settings(warehouse=wh.root, dedup=cfg)
    _corpus(wh)
    assert idle_dedup_summary(settings) is None  # nothing signed yet
    dedup(settings)
    assert idle_dedup_summary(settings) is not None
    other = Settings(warehouse=wh.root, dedup=DedupSettings(workers=1, num_perm=64))
    assert idle_dedup_summary(other) is None  # other parameters: every document is signed again
    stray = Path(wh.root) / "clusters" / "_tmp" / "killed.parquet.tmp"
    stray.write_bytes(b"half a file")
    assert idle_dedup_summary(settings) is None  # the flow sweeps it under its lock
    dedup(settings)
    assert not stray.exists() and idle_dedup_summary(settings) is not None
    write_docs(wh, [make_doc("d", random_text(99))], "clean-2")
    assert idle_dedup_summary(settings) is None  # a new document to sign
    dedup(settings)
    assert idle_dedup_summary(settings) is not None
    wh.write("tombstones", [{"doc_id": "u0", "reason": "http_404", "created_at": T0.replace(year=2030)}], "crawl-x")
    assert idle_dedup_summary(settings) is None  # a document left: out of the index and its cluster


def test_an_uninitialised_warehouse_goes_to_the_flow(tmp_path):
    assert idle_dedup_summary(Settings(warehouse=str(tmp_path / "none"))) is None


@pytest.mark.usefixtures("prefect_api")
def test_an_idle_dedup_command_loads_no_prefect_starts_no_server_and_says_so(tmp_path):
    from corpusforge.flows.dedup import dedup

    (tmp_path / "corpusforge.yaml").write_text("warehouse: ./data\n")
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    _corpus(wh)
    dedup(Settings(warehouse=wh.root))
    runs = [run_as_a_user(["dedup"], tmp_path, tmp_path / "cache", MODULES) for _ in range(2)]
    for out in runs:
        assert out.returncode == 0, out.stderr
        assert "signed (new or changed)" in out.stdout and "clusters with duplicates" in out.stdout
    # The first command searches the parameters' LSH bands (datasketch, hence scipy) and remembers them.
    assert runs[0].stdout.strip().splitlines()[-1] == "['datasketch', 'scipy'] 0"
    assert runs[1].stdout.strip().splitlines()[-1] == "[] 0"
    assert (tmp_path / "cache" / "corpusforge" / "dedup-lsh-bands.json").exists()
    assert not (tmp_path / "cache" / "corpusforge" / "prefect-server.json").exists()  # no server started for it


@pytest.mark.usefixtures("prefect_api")
def test_a_dedup_that_signs_imports_no_datasketch_once_its_bands_are_remembered(tmp_path):
    """The LSH bands come from datasketch's search once per parameter set; after that a dedup run
    signs (bulk MinHash, processing/dedup.py) and clusters without importing datasketch or scipy."""
    import os
    import subprocess
    import sys

    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    _corpus(wh)
    code = (
        "import sys; from corpusforge.flows.dedup import dedup; from corpusforge.schemas.config import Settings; "
        f"s = dedup(Settings(warehouse={wh.root!r})); "
        "print(s.counts['signed (new or changed)'], sorted(m for m in ('datasketch', 'scipy') if m in sys.modules))"
    )
    env = os.environ | {"XDG_CACHE_HOME": str(tmp_path / "cache")}

    def run() -> str:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    assert run() == "7 ['datasketch', 'scipy']"  # the first run searches the bands
    write_docs(wh, [make_doc("n", random_text(50))], "clean-2")
    assert run() == "1 []"

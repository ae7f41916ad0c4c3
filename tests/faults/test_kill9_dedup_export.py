"""Issue 15.7 for the dedup stage and the training export: the real CLI, in a subprocess, killed
with SIGKILL at seeded random moments, then run again, ends with the same clusters (dedup) and the
same published dataset (training export) as a run that was never interrupted."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from corpusforge.schemas.config import load_settings
from corpusforge.warehouse import Warehouse
from tests.faults.crawl_driver import crawl_all

MOMENTS = 3  # each moment is two CLI runs; 3 per stage keeps the test near two minutes
SEED = 11
CLI = str(Path(sys.executable).with_name("corpusforge"))


def run(folder: Path, *command: str, kill_after: float | None = None) -> tuple[float, bool]:
    """(seconds it ran, whether it was killed); an uninterrupted run must succeed."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    started = time.monotonic()
    with open(folder / "cli.log", "ab") as log:
        proc = subprocess.Popen([CLI, "-c", str(folder / "corpusforge.yaml"), *command], cwd=folder, env=env,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    limit = kill_after if kill_after is not None else 300
    while proc.poll() is None and time.monotonic() - started < limit:
        time.sleep(0.02)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if not killed:
        assert proc.returncode == 0, (folder / "cli.log").read_text()[-3000:]
    return time.monotonic() - started, killed


def clusters_view(folder: Path) -> list[tuple]:
    """The current cluster of every document (the catalog's `clusters` view)."""
    con = Warehouse(str(folder / "data")).connect(read_only=True)
    try:
        return con.execute(
            "select doc_id, cluster_id, is_representative, method, coalesce(removed, false) from clusters order by 1"
        ).fetchall()
    finally:
        con.close()


def published_dataset(folder: Path) -> tuple:
    latest = folder / "exports" / "training" / "default" / "latest"
    manifest = json.loads((latest / "manifest.json").read_text())
    files = sorted(p.relative_to(latest).as_posix() for p in (latest / "data").rglob("*.parquet"))
    return manifest["version"], manifest["counts"], files


@pytest.fixture(scope="module")
def cleaned(prefect_api, sample_site_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cleaned")
    cfg = {"warehouse": "data", "sources": [{"name": "docs", "kind": "files", "path": str(sample_site_dir)}]}
    (folder / "corpusforge.yaml").write_text(yaml.safe_dump(cfg))
    crawl_all(load_settings(folder / "corpusforge.yaml"))
    run(folder, "clean")
    return folder


def _copy(src: Path, target: Path) -> Path:
    shutil.copytree(src, target)
    return target


@pytest.mark.slow
def test_sigkill_during_dedup_then_rerun_equals_an_uninterrupted_dedup(cleaned, tmp_path):
    reference = _copy(cleaned, tmp_path / "reference")
    duration, _ = run(reference, "dedup")
    expected = clusters_view(reference)
    assert len(expected) > 30
    rng = random.Random(SEED)
    for n in range(MOMENTS):
        folder = _copy(cleaned, tmp_path / f"kill-{n}")
        moment = rng.uniform(duration * 0.3, duration * 0.95)
        _, killed = run(folder, "dedup", kill_after=moment)
        assert killed  # the kill landed before the run finished
        run(folder, "dedup")
        assert clusters_view(folder) == expected, f"kill at {moment:.2f}s (seed {SEED}, moment {n})"


@pytest.mark.slow
def test_sigkill_during_training_export_then_rerun_publishes_the_same_dataset(cleaned, tmp_path):
    deduped = _copy(cleaned, tmp_path / "deduped")
    run(deduped, "dedup")
    reference = _copy(deduped, tmp_path / "reference")
    duration, _ = run(reference, "export", "training")
    expected = published_dataset(reference)
    rng = random.Random(SEED)
    for n in range(MOMENTS):
        folder = _copy(deduped, tmp_path / f"kill-{n}")
        moment = rng.uniform(duration * 0.3, duration * 0.95)
        _, killed = run(folder, "export", "training", kill_after=moment)
        assert killed
        run(folder, "export", "training")
        assert published_dataset(folder) == expected, f"kill at {moment:.2f}s (seed {SEED}, moment {n})"
        versions = list((folder / "exports" / "training" / "default" / "__versions__").iterdir())
        assert [v.name for v in versions] == [expected[0]]  # no half-written version left beside it

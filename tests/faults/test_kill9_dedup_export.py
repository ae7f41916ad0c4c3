"""Issue 15.7 for the dedup stage and the training export: the real CLI, killed with SIGKILL at 10
seeded moments in a row (each run resuming what the last one left), then run to the end, leaves
every table as a run never interrupted did: the same clusters (dedup); the same published dataset,
row for row, with no half-written version beside it (training export)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.faults import kill9
from tests.faults.conftest import stage_run

SEED = 11
TABLE = "training_examples"  # what the training export locks while it writes a version


def kill_ten_times(
    src: Path, target: Path, chain, table: str, *command: str, min_kills: int = kill9.MOMENTS // 2
) -> list[kill9.Run]:
    """`command` on a copy of `src`, killed by `chain` (kill9.kill_chain with its moments, or
    kill9.kill_at_fractions; `table`: what the command locks while it works), then run to the end;
    at least `min_kills` of the kills must land inside a run."""
    folder = kill9.copy(src, target)
    progress = kill9.lock_holder(folder, table)
    runs = chain(lambda m: kill9.run(kill9.cli(folder, *command), folder, m, progress))
    assert sum(r.killed for r in runs) >= min_kills, runs  # the moments landed inside runs
    return runs


@pytest.mark.slow
def test_sigkill_during_dedup_ten_times_then_rerun_equals_an_uninterrupted_dedup(cleaned, deduped, tmp_path):
    expected = kill9.warehouse_view(deduped.folder)
    assert len(expected["clusters"]) > 30
    moments = kill9.progress_moments(SEED, deduped.run, held=True)  # over the time the reference held its locks
    # Once a killed run has committed its clusters, the next ones find nothing to do and answer at
    # once (the idle check, no flow run): only the runs before that can be killed mid-run.
    chain = lambda start: kill9.kill_chain(start, moments)  # noqa: E731
    runs = kill_ten_times(cleaned.folder, tmp_path / "killed", chain, "clusters", "dedup", min_kills=2)
    assert runs[0].killed
    got = kill9.warehouse_view(tmp_path / "killed")
    assert got == expected, kill9.diff(got, expected)


def published_dataset(folder: Path) -> dict:
    """The training export's published version: manifest (less its run's time), files and rows."""
    latest = folder / "exports" / "training" / "default" / "latest"
    manifest = {k: v for k, v in json.loads((latest / "manifest.json").read_text()).items() if not kill9.volatile(k)}
    files = sorted((latest / "data").rglob("*.parquet"))
    rows = {p.relative_to(latest).as_posix(): sorted(map(repr, pq.read_table(p).to_pylist())) for p in files}
    return {"manifest": manifest, "rows": rows}


@pytest.mark.slow
def test_sigkill_during_training_export_ten_times_then_publishes_the_same_dataset(deduped, tmp_path):
    reference = stage_run(deduped.folder, tmp_path / "reference", TABLE, "export", "training")
    expected = published_dataset(reference.folder)
    assert expected["rows"]
    # It holds its lock only while it publishes (a fraction of a second): moments over the whole run.
    # --force: once a version is published a run only points latest/ at it; forced, every run builds,
    # stages and publishes again (replacing the version), so every kill lands in that work. The kills
    # follow the runs' length, not the reference's alone: on a machine whose load dropped after the
    # reference, fixed moments came after the end of faster runs (4 of 10 landed once).
    fractions = [m.seconds for m in kill9.seeded_moments(SEED, 0.2, 0.95)]
    chain = lambda start: kill9.kill_at_fractions(start, fractions, reference.run.seconds)  # noqa: E731
    kill_ten_times(deduped.folder, tmp_path / "killed", chain, TABLE, "export", "training", "--force")
    assert published_dataset(tmp_path / "killed") == expected
    versions = tmp_path / "killed" / "exports" / "training" / "default" / "__versions__"
    assert [v.name for v in versions.iterdir()] == [expected["manifest"]["version"]]  # no half-written version
    listing = [
        sorted(p.name for p in (f / "exports" / "training" / "default").iterdir())
        for f in (tmp_path / "killed", reference.folder)
    ]
    assert listing[0] == listing[1]  # nor a half-made latest/
    got, want = kill9.warehouse_view(tmp_path / "killed"), kill9.warehouse_view(reference.folder)
    assert got == want, kill9.diff(got, want)


def test_a_version_staged_by_a_killed_export_is_removed_by_the_next_export(wh):
    """What the kill -9 test found: a training export killed while it staged a version left its
    hidden folder (a whole dataset) in __versions__ for ever; so did one killed while it replaced a
    version (--force) with the old copy."""
    import pyarrow as pa

    from corpusforge.warehouse import training_export as store

    versions = Path(store.export_path(wh, "default", "v2")).parent
    for left in (".tmp-v1-dead0000", ".old-v1-dead0001"):  # killed while staging; while replacing v1
        (versions / left / "data").mkdir(parents=True)
        (versions / left / "data" / "train-00000.parquet").write_bytes(b"half a file")
    rows = pa.table({"text": ["a", "b"]})
    staged = store.stage_export(wh, "default", "v2", [store.SplitRows("train", 2, lambda: iter([rows]))], shards=1)
    assert [p.name for p in versions.iterdir()] == [Path(staged.staging).name]

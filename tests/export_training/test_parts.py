"""The training export's parts: rows written by groups of documents and read back by DuckDB in
the shards' order, one range of example ids at a time, and removed when the export is done."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from corpusforge.flows.export_training import export_training
from corpusforge.processing.training_config import SPLIT_ORDER
from corpusforge.schemas.config import Settings, TrainingExport
from corpusforge.warehouse import training_export as store
from corpusforge.warehouse import training_parts
from corpusforge.warehouse.training_parts import Parts, id_ranges, write_part


def _row(i: int, rng: random.Random) -> dict:
    example_id = hashlib.sha256(str(i).encode()).hexdigest()[:32]
    return {
        "example_id": example_id,
        "text": f"example {i} " + "word " * rng.randint(1, 50),
        "doc_id": f"d{i}",
        "language": rng.choice(["en", "de", None]),
        "token_count": rng.randint(1, 500),
        "contaminated": False,
        "split": rng.choice(SPLIT_ORDER),
        "row_hash": hashlib.sha256(f"row {i}".encode()).hexdigest(),
    }


@pytest.fixture
def parts_on_disk(tmp_path):
    rng = random.Random(7)
    rows = [_row(i, rng) for i in range(3_000)]
    fs = pafs.LocalFileSystem()
    paths = [write_part(fs, str(tmp_path / "parts"), n, rows[n::5], "text") for n in range(5)]
    return fs, paths, rows


def test_id_ranges_cover_every_id_in_order():
    assert id_ranges(0) == [("0000", "")]
    ranges = id_ranges(7)
    assert len(ranges) == 7 and ranges[0][0] == "0000" and ranges[-1][1] == ""
    assert all(high == ranges[i + 1][0] for i, (_, high) in enumerate(ranges[:-1]))
    ids = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(500)]
    assert sorted(ids) == [i for low, high in ranges for i in sorted(ids) if i >= low and (not high or i < high)]


def test_rows_come_back_in_the_shards_order_whatever_the_number_of_ranges(parts_on_disk, monkeypatch):
    fs, paths, rows = parts_on_disk
    want = sorted(rows, key=lambda r: (SPLIT_ORDER.index(r["split"]), r["example_id"]))
    results = []
    for per_range in (2**40, 4096):  # one range; several (the parts are ~10 kB each)
        monkeypatch.setattr(training_parts, "PART_BYTES_PER_RANGE", per_range)
        with Parts(fs, paths, "text", SPLIT_ORDER) as parts:
            got = [r for split in parts.split_counts() for t in parts.split_rows(split) for r in t.to_pylist()]
            results.append((len(parts.ranges), got, parts.content_hash(), parts.split_counts(), parts.token_stats()))
    (one, got_one, hash_one, counts, stats), (many, got_many, hash_many, _, _) = results
    assert one == 1 and many > 3
    assert got_one == got_many
    assert [r["example_id"] for r in got_one] == [r["example_id"] for r in want]
    assert hash_one == hash_many == hashlib.sha256("".join(r["row_hash"] + "\n" for r in want).encode()).hexdigest()
    assert counts == {s: sum(r["split"] == s for r in rows) for s in SPLIT_ORDER}
    train = sorted(r["token_count"] for r in rows if r["split"] == "train")
    assert stats["train"]["total"] == sum(train) and stats["train"]["max"] == train[-1]


@pytest.mark.usefixtures("prefect_api")
def test_an_export_leaves_no_parts_and_removes_those_of_a_killed_run(corpus):
    versions = Path(store.versions_dir(corpus.wh, "default"))
    killed = versions / ".parts-export_training-killed" / "part-000000.parquet"
    killed.parent.mkdir(parents=True)
    killed.write_bytes(b"half a part")
    summary = export_training(Settings(warehouse=corpus.wh.root, exports={"training": [TrainingExport()]}))
    assert summary.counts["examples"] > 0
    assert sorted(p.name for p in versions.iterdir()) == [Path(summary.outputs[0]).name]

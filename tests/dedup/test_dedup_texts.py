"""Where the documents to sign are (warehouse/dedup_texts.py: how a Dask worker reads only its
batch's rows): the planned version's latest kept row, batches in file order, and a clear error
when the rows moved since the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.dedup_index import DedupIndex
from corpusforge.warehouse.dedup_texts import TextsChanged, locate_planned, read_texts, text_batches
from tests.dedup.conftest import make_doc, random_text, write_docs


def _planned(wh) -> list[tuple[str, str]]:
    with DedupIndex(wh, "key") as stored:
        return stored.plan()[1]


def test_batches_by_place_give_the_texts_the_default_runner_reads(tmp_path):
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    first = [make_doc(f"d{i}", random_text(i, 50)) for i in range(7)]
    write_docs(wh, first, "clean-1")
    # A second clean: d1 changed (its new version planned), d2 cleaned again unchanged (the later
    # row of the same version is the one read), d3 no longer kept, d9 new.
    later = datetime.now(UTC) + timedelta(seconds=1)
    again = [
        {**make_doc("d1", "changed " + random_text(101, 50)), "cleaned_at": later},
        {**first[2], "cleaned_at": later, "quality_score": 0.9},
        {**first[3], "cleaned_at": later, "kept": False},
        {**make_doc("d9", random_text(9, 50)), "cleaned_at": later},
    ]
    write_docs(wh, again, "clean-2")
    to_sign = _planned(wh)
    assert {d for d, _ in to_sign} == {"d0", "d1", "d2", "d4", "d5", "d6", "d9"}

    files, located = locate_planned(wh, to_sign)
    assert len(files) == 2 and located.num_rows == len(to_sign)
    rows = located.to_pylist()
    assert [(r["file"], r["row"]) for r in rows] == sorted((r["file"], r["row"]) for r in rows)  # file order
    assert next(r for r in rows if r["doc_id"] == "d2")["quality_score"] == 0.9  # the latest row of its version

    batches = list(text_batches(files, located, size=3))
    assert [len(b.doc_ids) for b in batches] == [3, 3, 1]
    got = {d: t for b in batches for d, t in zip(b.doc_ids, read_texts(wh, b), strict=True)}
    with DedupIndex(wh, "key") as stored:
        expected = {r["doc_id"]: r["text"] for batch in stored.texts(to_sign, 100) for r in batch.to_pylist()}
    assert got == expected


def test_a_batch_whose_file_is_gone_says_so(tmp_path):
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    write_docs(wh, [make_doc(f"d{i}", random_text(i, 50)) for i in range(3)])
    files, located = locate_planned(wh, _planned(wh))
    [batch] = text_batches(files, located, size=10)
    for info in wh.files("documents"):
        wh.fs.delete_file(info.path)
    with pytest.raises(TextsChanged, match="gone since dedup planned: run it again"):
        read_texts(wh, batch)

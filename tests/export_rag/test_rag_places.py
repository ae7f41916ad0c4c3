"""How a Dask worker reads the documents of its embedding task (warehouse/rag_chunks.py): from the
rows the driver located, in the task's order, the same rows the selection holds; and a clear
error, not a silent gap, when a row is gone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from corpusforge.warehouse.document_places import PlaceChanged
from corpusforge.warehouse.rag_chunks import DOCUMENT_COLUMNS, place_versions, read_documents, version_of
from corpusforge.warehouse.selection import select_export_documents


def test_documents_read_by_place_are_the_selected_rows_in_the_tasks_order(wh, rag_documents):
    docs = rag_documents[:8]
    wh.write("documents", docs, "clean-1")
    # A second clean: two documents changed, one cleaned again unchanged (a later row of its version).
    revised = [{**d, "text": d["text"] + " Revised.", "content_hash": f"revised-{i}"} for i, d in enumerate(docs[:2])]
    later = [{**d, "cleaned_at": d["cleaned_at"] + timedelta(minutes=5)} for d in [*revised, docs[2]]]
    wh.write("documents", later, "clean-2")
    selected = select_export_documents(wh, "rag")
    versions = [version_of(d) for d in reversed(selected.to_pylist())]  # any order: the task's

    placed = place_versions(wh, versions)
    assert [p[0] for p in placed] == versions
    assert len({file for _, file, _ in placed}) == 2  # the revised versions are in the second file
    expected = {d["doc_id"]: {c: d[c] for c in DOCUMENT_COLUMNS} for d in selected.to_pylist()}
    assert read_documents(wh, placed) == [expected[v[0]] for v in versions]
    read = {d["doc_id"]: d for d in read_documents(wh, placed)}
    assert read[docs[0]["doc_id"]]["text"].endswith("Revised.")  # its new version, not its first

    gone_file = next(file for version, file, _ in placed if version[0] == docs[0]["doc_id"])
    wh.fs.delete_file(gone_file)
    with pytest.raises(PlaceChanged, match="is gone"):
        read_documents(wh, placed)
    with pytest.raises(PlaceChanged, match="^2 selected documents are gone from the documents files"):
        place_versions(wh, versions)

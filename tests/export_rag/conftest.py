"""Fixtures of the RAG export tests: documents built from the sample site (trafilatura's text and
markdown of real generated pages), a warehouse exported once per module, and copies of it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

# Embedding runs ~20 chunks/s on the shared CPUs (far less when they are busy): the corpus is
# the opening of the shortest English articles, about two chunks each.
CORPUS_PAGES = 22
OPENING_CHARS = 1500
ORIGIN = "http://sample.test"


def build_documents(site_dir: Path, manifest: dict, pages: int = CORPUS_PAGES) -> list[dict]:
    """`documents` rows (kept) for the `pages` shortest English articles of the sample site."""
    import trafilatura

    from corpusforge.processing.ids import doc_id_for, sha256_hex

    articles = sorted(
        (a for a in manifest["articles"] if a["kind"] == "article" and a["language"] == "en"),
        key=lambda a: (a["words"], a["url_path"]),
    )[:pages]
    fetched = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for a in articles:
        html = (site_dir / a["path"]).read_text(encoding="utf-8")
        text = trafilatura.extract(html)
        markdown = trafilatura.extract(html, output_format="markdown", include_formatting=True)
        text, markdown = opening(text, markdown, OPENING_CHARS)
        url = ORIGIN + a["url_path"]
        rows.append(document_row(url, a["title"], text, markdown, fetched))
        rows[-1]["page_id"] = sha256_hex(url)[:16]
        assert rows[-1]["doc_id"] == doc_id_for(url)
    return rows


def opening(text: str, markdown: str, chars: int) -> tuple[str, str]:
    """The first lines of the text up to about `chars` characters, and as many blocks of the
    markdown (trafilatura writes one text line per markdown block)."""
    lines, size = [], 0
    for line in text.splitlines():
        if size >= chars:
            break
        lines.append(line)
        size += len(line) + 1
    blocks = [b for b in markdown.split("\n\n") if b.strip()]
    return "\n".join(lines), "\n\n".join(blocks[: len(lines)])


def document_row(url: str, title: str, text: str, markdown: str, fetched_at: datetime) -> dict:
    from corpusforge.processing.ids import doc_id_for, sha256_hex

    return {
        "doc_id": doc_id_for(url),
        "content_hash": sha256_hex(text),
        "page_id": sha256_hex(url + fetched_at.isoformat())[:16],
        "url": url,
        "source": "sample",
        "fetched_at": fetched_at,
        "cleaned_at": fetched_at + timedelta(minutes=1),
        "title": title,
        "language": "en",
        "text": text,
        "markdown": markdown,
        "kept": True,
        "pipeline_version": "test",
    }


@pytest.fixture(scope="session")
def rag_documents(sample_site_dir, sample_manifest) -> list[dict]:
    return build_documents(sample_site_dir, sample_manifest)


@pytest.fixture(scope="session")
def embedder():
    from corpusforge.processing.embedding import load_embedder

    return load_embedder()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, rag_documents, prefect_api):
    """A warehouse holding the sample documents, exported once with the Prefect flow:
    (warehouse root folder, the flow's summary)."""
    from corpusforge.flows.export_rag import export_rag
    from corpusforge.schemas.config import Settings
    from corpusforge.warehouse import Warehouse

    root = tmp_path_factory.mktemp("rag") / "data"
    wh = Warehouse(str(root))
    wh.init()
    wh.write("documents", rag_documents, "test-docs")
    summary = export_rag(Settings(warehouse=str(root)))
    return root, summary


@pytest.fixture()
def exported_copy(exported, tmp_path):
    """A private copy of the exported warehouse and its exports folder, free to change."""
    from corpusforge.warehouse import Warehouse

    root, summary = exported
    shutil.copytree(root, tmp_path / "data")
    shutil.copytree(root.parent / "exports", tmp_path / "exports")
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()  # the catalog's views use paths relative to the warehouse's parent
    return wh, summary

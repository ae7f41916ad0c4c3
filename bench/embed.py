"""Benchmark of the RAG export's embedding stage (not a timed test).

Builds a corpus of about N chunks from the sample site (trafilatura's text and markdown of the
generated pages), then measures in one process, with the model already loaded:

1. bare: SentenceTransformer.encode over exactly the texts the export embeds, same batch size
   (it orders texts into batches by their length in characters); and, as a second baseline,
   `encode` called once per batch of the same texts ordered by their length in tokens, as the
   export orders them (what the model costs with the export's batches and nothing else);
2. export: the whole export stage (select, chunk, cache lookups, embed, write the embeddings,
   chunk state and the export folder) on a fresh warehouse;
3. re-run: the export stage again over the unchanged corpus (embeds nothing).

The export runs on the shared local Prefect server, as the command does (flows/prefect_server.py).

Prints chunks/s of 1 and 2 and their ratio (target >= 0.95, issue 14), the ratio of 2 to the
second baseline (the export's own cost around the model), and 3 as a share of 2 (target < 5%).

    .venv/bin/python bench/embed.py                 # 2,000 chunks, device auto-detected
    .venv/bin/python bench/embed.py --chunks 500    # a smaller run on a busy machine
    .venv/bin/python bench/embed.py --device cuda --batch-size 128
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The export runs as `corpusforge export` runs it: on the shared local Prefect server (started here
# if none answers), not on a temporary server that the first export run would pay to start.
from corpusforge.flows.prefect_server import point_at_shared_server  # noqa: E402

point_at_shared_server()

from corpusforge.connectors.sample_site import generate_site  # noqa: E402
from corpusforge.flows.configs import chunker_config  # noqa: E402
from corpusforge.flows.export_rag import export_rag  # noqa: E402
from corpusforge.processing.chunking import chunk_records  # noqa: E402
from corpusforge.processing.embedding import load_embedder  # noqa: E402
from corpusforge.processing.ids import doc_id_for, sha256_hex  # noqa: E402
from corpusforge.schemas.config import RagExport, Settings  # noqa: E402
from corpusforge.warehouse import Warehouse  # noqa: E402

CHUNKS_PER_PAGE_GUESS = 6  # sample-site pages give ~6-12 chunks of 254 tokens


def sample_documents(site_dir: Path, manifest: dict) -> list[dict]:
    import trafilatura

    fetched = datetime(2024, 1, 1, tzinfo=UTC)
    docs = []
    for a in manifest["articles"]:
        html = (site_dir / a["path"]).read_text(encoding="utf-8")
        text = trafilatura.extract(html)
        if not text:
            continue
        url = "http://sample.bench" + a["url_path"]
        docs.append(
            {
                "doc_id": doc_id_for(url),
                "content_hash": sha256_hex(text),
                "page_id": sha256_hex(url)[:16],
                "url": url,
                "source": "sample",
                "fetched_at": fetched,
                "cleaned_at": fetched,
                "title": a["title"],
                "language": a["language"],
                "text": text,
                "markdown": trafilatura.extract(html, output_format="markdown", include_formatting=True),
                "kept": True,
                "pipeline_version": "bench",
            }
        )
    return docs


def corpus_of(docs: list[dict], cfg: RagExport, embedder, want: int) -> tuple[list[dict], list[str]]:
    """Whole documents until about `want` chunks; returns them and the texts the export embeds."""
    config = chunker_config(cfg, embedder)
    chosen, texts, seen = [], [], set()
    for doc in docs:
        if len(texts) >= want:
            break
        rows = list(chunk_records([doc], embedder.count_tokens, config))
        chosen.append(doc)
        for r in rows:
            if r["text_hash"] not in seen:  # the export embeds each distinct text once
                seen.add(r["text_hash"])
                texts.append(r["embed_text"])
    return chosen, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=2000, help="Chunks to embed (default 2000).")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default=None, help="cpu | cuda | mps (default: auto-detect).")
    ap.add_argument("--repeats", type=int, default=1, help="Runs of each measurement; the best counts.")
    ap.add_argument("--workdir", default=None, help="Where to put the site and warehouse (default: temp).")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="corpusforge-bench-embed-"))
    cfg = RagExport(batch_size=args.batch_size, device=args.device)
    t0 = time.perf_counter()
    embedder = load_embedder(cfg.model, cfg.device)
    print(
        f"model {embedder.model_id} on {embedder.device}, dim {embedder.dim}: loaded in {time.perf_counter() - t0:.1f}s"
    )
    pages = max(50, args.chunks // CHUNKS_PER_PAGE_GUESS)
    site = work / "site"
    if not (site / "_manifest.json").exists():
        generate_site(site, pages=pages, seed=0)
    from corpusforge.connectors.sample_site import load_manifest

    docs, texts = corpus_of(sample_documents(site, load_manifest(site)), cfg, embedder, args.chunks)
    print(f"corpus: {len(docs)} documents, {len(texts)} distinct chunks (batch size {args.batch_size})")
    embedder.embed(texts[: args.batch_size], batch_size=args.batch_size)  # warm-up (kernels, caches)

    # Alternate bare and export runs and keep the best of each: a shared machine's noise hits
    # both alike, and the best run is the closest to what the code itself costs.
    counts = embedder.token_lengths(texts, args.batch_size)  # what the export's batches are ordered by
    by_tokens = [t for _, t in sorted(zip(counts, texts, strict=True), key=lambda p: p[0])]
    bare_s = batched_s = export_s = float("inf")
    for attempt in range(args.repeats):
        t0 = time.perf_counter()
        embedder.model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True)
        bare_s = min(bare_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for start in range(0, len(by_tokens), args.batch_size):
            part = by_tokens[start : start + args.batch_size]
            embedder.model.encode(part, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True)
        batched_s = min(batched_s, time.perf_counter() - t0)
        wh = Warehouse(str(work / f"data-{attempt}"))
        wh.init()
        wh.write("documents", docs, "bench-docs")
        t0 = time.perf_counter()
        first = export_rag(Settings(warehouse=wh.root, exports={"rag": [cfg]}))
        export_s = min(export_s, time.perf_counter() - t0)
    t0 = time.perf_counter()
    again = export_rag(Settings(warehouse=wh.root, exports={"rag": [cfg]}))
    rerun_s = time.perf_counter() - t0

    n = first.counts["chunks embedded"]
    assert n == len(texts), (n, len(texts))
    assert again.counts["chunks embedded"] == 0
    bare_rate, export_rate = len(texts) / bare_s, n / export_s
    batched_rate = len(texts) / batched_s
    print(f"bare SentenceTransformer.encode: {len(texts)} chunks in {bare_s:.1f}s = {bare_rate:.1f} chunks/s")
    print(f"encode per batch, texts in token order: {batched_s:.1f}s = {batched_rate:.1f} chunks/s")
    print(f"export stage (chunk+embed+write): {n} chunks in {export_s:.1f}s = {export_rate:.1f} chunks/s")
    print(f"(best of {args.repeats} run(s) each)")
    print(f"ratio export/bare: {export_rate / bare_rate:.2f} (target >= 0.95)")
    print(f"ratio export/encode on the export's batches: {export_rate / batched_rate:.2f}")
    print(
        f"re-run over the unchanged corpus: {rerun_s:.2f}s = {100 * rerun_s / export_s:.1f}% of the first run "
        f"(target < 5%), chunks embedded: {again.counts['chunks embedded']}"
    )
    print(f"export folder: {first.outputs[0]}")


if __name__ == "__main__":
    main()

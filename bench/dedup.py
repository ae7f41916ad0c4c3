"""Benchmark of the dedup stage (not a test): quality and cost against datatrove and a naive loop.

    .venv/bin/python bench/dedup.py --docs 50000

Builds a labelled near-duplicate set from real prose (the text of Python's HTML documentation
in /usr/share/doc/python3.11/html): originals, copies with controlled edits (word
substitutions, insertions, deletions, reordered paragraphs, added boilerplate) whose true
word-5-gram Jaccard is computed exactly, and unrelated documents. Then, each in its own
subprocess (wall time and peak memory of the whole process tree, sampled with psutil):

- corpusforge: the `dedup` flow on a warehouse holding the documents (all cores);
- datatrove: its four MinHash stages (signatures, buckets, cluster, filter) with the same n-gram
  size, number of hashes (bands x rows) and threshold, from bench/.venv-datatrove (created with
  `python3.11 -m venv bench/.venv-datatrove && bench/.venv-datatrove/bin/pip install datatrove`);
- naive: `MinHash()` + `update` per shingle + `MinHashLSH` insert/query, on `--naive-docs`
  documents (extrapolated linearly to the full size, and labelled so);
- incremental: `--incremental` new documents (half of them near copies of existing originals)
  added to the corpusforge warehouse, run again; printed beside the full run with their ratio,
  twice: "process" is the subprocess end to end (interpreter start, imports, Prefect's flow and
  task runs, the stage), "stage" the flow's own timer (what the stage reads, computes, writes).
  The full and the incremental run are each made `--repeats` times (default 2) from the same
  warehouse state (restored from a copy): best and median, with the load average before each,
  since other work on a small machine moves every figure.

The baselines' scripts are in bench/dedup_baselines.py, the labelled data set in bench/dedup_corpus.py.

Both corpusforge runs use the shared local Prefect server, as `corpusforge dedup` does (started
before the first timed run if none answers), so neither pays for a temporary server.

The truth is exact: word 5-gram Jaccard of the texts themselves. Recall is over document pairs
with true Jaccard >= threshold: the share that ends in one cluster. Precision is over what the
stage claims, each removed document's pair with the document kept for it ("prec kept": is it
really a near duplicate of it?); "prec all" counts every pair of documents in one cluster. A
cluster is a representative and its near duplicates, and two copies can each be >= 0.8 to
their original but not to each other, so "prec all" stays below 1 even for perfect clusters
(about 0.92 on this data set). A predicted pair outside the generated families counts as correct
when its true Jaccard reaches the threshold (it is then added to the truth as well).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dedup_baselines import DATATROVE_RUN, NAIVE_RUN  # noqa: E402
from dedup_corpus import DOCS_HTML, build_dataset, edit, jaccard_sets  # noqa: E402

from corpusforge.processing.dedup import MinHashParams, word_shingles  # noqa: E402

DATATROVE_PY = ROOT / "bench" / ".venv-datatrove" / "bin" / "python"


# ---- scoring --------------------------------------------------------------------------------


def cluster_pairs(result: dict) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(every pair of documents in one cluster, every (removed document, kept document) pair)."""
    groups: dict[str, list[str]] = {}
    for doc_id, cid in result["clusters"].items():
        groups.setdefault(cid, []).append(doc_id)
    reps = set(result["representatives"])
    all_pairs, rep_pairs = set(), set()
    for members in groups.values():
        all_pairs |= {tuple(sorted(p)) for p in itertools.combinations(sorted(members), 2)}
        kept = [m for m in members if m in reps]
        if len(kept) == 1:
            rep_pairs |= {tuple(sorted((m, kept[0]))) for m in members if m != kept[0]}
    return all_pairs, rep_pairs


def evaluate(result_file: Path, truth: dict, texts: dict[str, str], threshold: float) -> tuple:
    """(precision over cluster pairs, precision over removed->kept pairs, recall, true pairs)."""
    all_pairs, rep_pairs = cluster_pairs(json.loads(result_file.read_text()))
    precision, recall, n_true = score(all_pairs, truth, texts, threshold)
    rep_precision, _, _ = score(rep_pairs, truth, texts, threshold)
    return precision, rep_precision, recall, n_true


def score(pred: set, truth: dict, texts: dict[str, str], threshold: float) -> tuple[float, float, int]:
    true_pairs = {p for p, j in truth.items() if j >= threshold}
    correct = 0
    for pair in pred:
        if pair in truth:
            correct += truth[pair] >= threshold
        else:  # outside the families: look at the texts themselves
            j = jaccard_sets(word_shingles(texts[pair[0]]), word_shingles(texts[pair[1]]))
            if j >= threshold:
                correct += 1
                true_pairs.add(pair)
    precision = correct / len(pred) if pred else 1.0
    recall = len(pred & true_pairs) / len(true_pairs) if true_pairs else 1.0
    return precision, recall, len(true_pairs)


# ---- measuring ------------------------------------------------------------------------------


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS of the process tree in MiB, stdout) of a subprocess."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            for p in [ps, *ps.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{Path(cmd[0]).name} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, peak / 2**20, out


# Only the stage, as `corpusforge dedup` runs it: the clusters are read for scoring afterwards,
# outside the timed process.
CORPUSFORGE_RUN = """
import json, sys
sys.path.insert(0, {root!r})
from corpusforge.flows.dedup import dedup
from corpusforge.schemas.config import DedupSettings, Settings
cfg = DedupSettings(threshold={threshold}, num_perm={num_perm}, ngram={ngram})
summary = dedup(Settings(warehouse={warehouse!r}, dedup=cfg))
if summary.failed:
    raise SystemExit(summary.error)
json.dump({{"counts": summary.counts, "stage_seconds": summary.seconds}}, open({result!r}, "w"))
"""


def read_clusters(warehouse: Path, result: Path) -> None:
    """The stage's clusters, in the result file the scoring reads (beside its summary)."""
    from corpusforge.warehouse import Warehouse

    con = Warehouse(str(warehouse)).connect()
    try:
        clusters = dict(con.sql("select doc_id, cluster_id from clusters").fetchall())
        reps = [r[0] for r in con.sql("select doc_id from clusters where is_representative").fetchall()]
    finally:
        con.close()
    data = json.loads(result.read_text())
    result.write_text(json.dumps({**data, "clusters": clusters, "representatives": reps}))


def runs_from(wh_root: Path, code: str, env: dict, result: Path, repeats: int) -> list[dict]:
    """`repeats` runs of the stage, each from the warehouse as it is now (restored from a copy
    between runs): wall time, peak MiB, the flow's own timer, its counts and the load before it."""
    saved = wh_root.with_name(wh_root.name + "-before")
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(wh_root, saved)
    runs = []
    for i in range(repeats):
        if i:
            shutil.rmtree(wh_root)
            shutil.copytree(saved, wh_root)
        load = os.getloadavg()[0]
        wall, mem, _ = measure([sys.executable, "-c", code], env)
        data = json.loads(result.read_text())
        runs.append({"wall": wall, "mem": mem, "stage": data["stage_seconds"], "counts": data["counts"], "load": load})
    shutil.rmtree(saved)
    return runs


def print_incremental(full: list[dict], inc: list[dict], added: int, docs: int) -> None:
    """Best and median of the full and the incremental runs, and their ratios, for the whole
    process and for the stage's own timer."""
    print(f"\nincremental: +{added} documents on {docs:,}; {len(inc)} runs each, each from the same warehouse")
    print(f"{'':<18}{'full best':>10}{'median':>8}{'incr. best':>12}{'median':>8}{'ratio best':>12}{'median':>8}")
    for label, key in (("process (wall s)", "wall"), ("stage (flow, s)", "stage")):
        f = [r[key] for r in full]
        i = [r[key] for r in inc]
        ratios = (100 * min(i) / min(f), 100 * statistics.median(i) / statistics.median(f))
        print(
            f"{label:<18}{min(f):>10.1f}{statistics.median(f):>8.1f}{min(i):>12.2f}{statistics.median(i):>8.2f}"
            f"{ratios[0]:>11.1f}%{ratios[1]:>7.1f}%"
        )

    def loads(runs: list[dict]) -> str:
        return ", ".join(f"{r['load']:.2f}" for r in runs)

    print(f"load average before each run: full {loads(full)}; incremental {loads(inc)}")
    counts = inc[-1]["counts"]
    print(
        f"incremental peak {max(r['mem'] for r in inc):.0f} MiB; signed {counts['signed (new or changed)']}, "
        f"documents reclustered {counts['affected']}, clusters rows written {counts['clusters rows written']}"
    )


def write_warehouse(root: Path, docs: list[dict], run_id: str) -> None:
    from datetime import UTC, datetime

    import pyarrow as pa

    from corpusforge.processing.ids import sha256_hex
    from corpusforge.schemas import conform
    from corpusforge.warehouse import Warehouse

    wh = Warehouse(str(root))
    wh.init()
    now = datetime.now(UTC)
    for start in range(0, len(docs), 10_000):
        part = docs[start : start + 10_000]
        rows = {
            "doc_id": [d["id"] for d in part],
            "content_hash": [sha256_hex(d["text"]) for d in part],
            "page_id": [f"p-{d['id']}" for d in part],
            "url": [f"http://bench.test/{d['id']}" for d in part],
            "source": ["bench"] * len(part),
            "fetched_at": [now] * len(part),
            "cleaned_at": [now] * len(part),
            "text": [d["text"] for d in part],
            "kept": [True] * len(part),
            "quality_score": [0.5] * len(part),
            "pipeline_version": ["bench"] * len(part),
        }
        wh.write("documents", conform("documents", pa.table(rows)), run_id)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--naive-docs", type=int, default=2_000, help="documents for the naive loop (extrapolated)")
    ap.add_argument("--incremental", type=int, default=500)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument("--repeats", type=int, default=2, help="runs of the full and of the incremental stage")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "dedup")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    params = MinHashParams(threshold=args.threshold)
    bands, rows = params.bands_rows
    t0 = time.perf_counter()
    docs, truth, spare = build_dataset(args.docs)
    texts = {d["id"]: d["text"] for d in docs}
    above = sum(j >= args.threshold for j in truth.values())
    print(
        f"data set: {len(docs):,} documents from {DOCS_HTML}, {len(truth):,} labelled pairs "
        f"({above:,} with true Jaccard >= {args.threshold}); built in {time.perf_counter() - t0:.0f}s"
    )
    print(f"MinHash: {params.ngram}-word shingles, {params.num_perm} permutations, {bands} bands x {rows} rows")
    print(f"cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f} (other work here slows every figure)\n")
    results = {}

    # corpusforge
    wh_root = args.out / "warehouse"
    write_warehouse(wh_root, docs, "bench-clean")
    code = CORPUSFORGE_RUN.format(
        root=str(ROOT),
        warehouse=str(wh_root),
        threshold=args.threshold,
        num_perm=params.num_perm,
        ngram=params.ngram,
        result=str(args.out / "cf.json"),
    )
    from corpusforge.flows.prefect_server import shared_server_url

    prefect_env = {**os.environ, "PREFECT_API_URL": os.environ.get("PREFECT_API_URL") or shared_server_url()}
    full = runs_from(wh_root, code, prefect_env, args.out / "cf.json", args.repeats)
    read_clusters(wh_root, args.out / "cf.json")
    wall, mem = min(r["wall"] for r in full), max(r["mem"] for r in full)
    results["corpusforge"] = (wall, mem, *evaluate(args.out / "cf.json", truth, texts, args.threshold), len(docs))

    # incremental: new documents (copies of existing originals and unrelated prose)
    rng = random.Random(1)
    new_docs = []
    for i in range(args.incremental):
        if i % 2:
            fam = rng.randrange(len(docs) // 4)
            orig = texts.get(f"f{fam:06d}-0")
            if orig:
                new_docs.append({"id": f"n{i:06d}", "text": edit(orig.split(" \n"), 0.02, rng, "words")})
                continue
        new_docs.append({"id": f"n{i:06d}", "text": " \n".join(spare[i])})
    write_warehouse(wh_root, new_docs, "bench-clean-2")
    incremental = runs_from(wh_root, code, prefect_env, args.out / "cf.json", args.repeats)

    # datatrove
    if not args.skip_datatrove:
        if not DATATROVE_PY.exists():
            raise SystemExit(f"{DATATROVE_PY} missing: create the datatrove venv (see the docstring)")
        inp = args.out / "jsonl"
        inp.mkdir()
        tasks = os.cpu_count() or 1
        for t in range(tasks):
            with open(inp / f"part{t}.jsonl", "w") as fh:
                for d in docs[t::tasks]:
                    fh.write(json.dumps(d) + "\n")
        code = DATATROVE_RUN.format(
            ngram=params.ngram,
            bands=bands,
            rows=rows,
            work=str(args.out / "dt"),
            inp=str(inp),
            tasks=tasks,
            result=str(args.out / "dt.json"),
        )
        env = {**os.environ, "DATATROVE_COLORIZE_LOGS": "0"}
        wall, mem, _ = measure([str(DATATROVE_PY), "-c", code], env)
        results["datatrove"] = (wall, mem, *evaluate(args.out / "dt.json", truth, texts, args.threshold), len(docs))

    # naive loop on a sample
    sample = docs[: args.naive_docs]
    (args.out / "naive_in.json").write_text(json.dumps(sample))
    code = NAIVE_RUN.format(
        root=str(ROOT),
        inp=str(args.out / "naive_in.json"),
        threshold=args.threshold,
        num_perm=params.num_perm,
        ngram=params.ngram,
        fp=round(1 - params.false_negative_weight, 4),
        fn=params.false_negative_weight,
        result=str(args.out / "naive.json"),
    )
    wall, mem, _ = measure([sys.executable, "-c", code])
    sample_ids = {d["id"] for d in sample}
    sample_truth = {p: j for p, j in truth.items() if p[0] in sample_ids and p[1] in sample_ids}
    results["naive loop"] = (
        wall,
        mem,
        *evaluate(args.out / "naive.json", sample_truth, texts, args.threshold),
        len(sample),
    )

    print("precision: over all pairs in a cluster / over (removed document, its kept document) pairs")
    print(
        f"{'method':<14}{'docs':>8}{'wall s':>10}{'docs/s':>9}{'peak MiB':>10}"
        f"{'prec all':>10}{'prec kept':>10}{'recall':>8}"
    )
    for name, (wall, mem, precision, rep_precision, recall, n_true, n) in results.items():
        print(
            f"{name:<14}{n:>8,}{wall:>10.1f}{n / wall:>9.0f}{mem:>10.0f}{precision:>10.3f}{rep_precision:>10.3f}"
            f"{recall:>8.3f}"
        )
        print(f"{'':<14}(pairs with true Jaccard >= {args.threshold}: {n_true:,})")
    cf_wall = results["corpusforge"][0]
    naive_wall, naive_n = results["naive loop"][0], results["naive loop"][6]
    naive_full = naive_wall / naive_n * len(docs)
    print(
        f"\nnaive loop extrapolated to {len(docs):,} documents: {naive_full:.0f}s -> corpusforge is "
        f"{naive_full / cf_wall:.1f}x faster"
    )
    if "datatrove" in results:
        print(f"datatrove / corpusforge wall time: {results['datatrove'][0] / cf_wall:.2f}x")
    print_incremental(full, incremental, len(new_docs), len(docs))
    print(
        textwrap.dedent(f"""
        wall times include each subprocess's start (imports); peak memory is the sum of the RSS of
        the process tree, sampled every 50 ms. corpusforge workers: {os.cpu_count()} processes.
    """).strip()
    )


if __name__ == "__main__":
    main()

"""Benchmark of the clean stage against plain single-process trafilatura.

On the same pages (a generated sample site, and Python's HTML documentation read from disk) it
prints pages/s of
  * plain `trafilatura.extract(body)` in one process (of its own: corpusforge replaces two of
    trafilatura's rules by equivalents, see processing/discard_rules.py), and
  * the clean stage (warehouse read, decoding, extraction with metadata, language ID, every
    quality filter, PII redaction, warehouse write) on the process pool,
their ratio, and the peak memory (resident set of this process plus its workers).

    .venv/bin/python bench/clean.py [--pages 2000] [--workers 0] [--full-extraction] [--corpus all]
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpusforge.connectors.sample_site import generate_site  # noqa: E402
from corpusforge.flows.configs import clean_configs  # noqa: E402
from corpusforge.flows.runtime import default_workers  # noqa: E402
from corpusforge.processing.ids import sha256_hex  # noqa: E402
from corpusforge.schemas.config import CleanSettings, Settings, SourceConfig  # noqa: E402
from corpusforge.warehouse import Warehouse, new_run_id, utc_now  # noqa: E402

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")


def _pss_bytes(pid: int) -> int:
    """The proportional set size from /proc/PID/smaps_rollup: one short read, where psutil's
    memory_full_info parses the whole smaps file (milliseconds per call for a large process)."""
    with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
        for line in fh:
            if line.startswith(b"Pss:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """Samples the memory of this process and all its children every half second: the proportional set
    size (PSS), which splits pages the forked workers share with their parent instead of counting
    them once per process as the resident set size would. Also the CPU seconds they used (the
    last sample of each process), a figure other load on the machine disturbs less than wall time.

    The sampler must stay cheap: it runs beside the stage on the same 2 cores. An earlier version
    parsed every process's full smaps 20 times a second, which cost more CPU than the stage's
    driver itself (2.3 ms a cleaned page on the sample site) and took it from the workers; even
    smaps_rollup costs the kernel a walk of each process's mappings, hence the half second."""

    def __init__(self, include_self: bool = True) -> None:
        self.include_self = include_self
        self.peak = 0
        self.peaks: dict[int, int] = {}  # each process's own peak
        self._cpu: dict[int, float] = {}
        # processes alive before (this one, a forkserver left by an earlier run) count from here
        me = psutil.Process()
        self._cpu_start = {p.pid: sum(p.cpu_times()[:2]) for p in [me, *me.children(recursive=True)]}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        return sum(cpu - self._cpu_start.get(pid, 0.0) for pid, cpu in self._cpu.items())

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)] if self.include_self else me.children(recursive=True):
                try:
                    pss = _pss_bytes(proc.pid)
                    total += pss
                    self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), pss)
                    self._cpu[proc.pid] = sum(proc.cpu_times()[:2])
                except (psutil.Error, OSError):
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.5)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def sample_site_pages(pages: int, root: Path) -> list[tuple[str, bytes]]:
    manifest = generate_site(root, pages=pages, seed=0)
    return [(f"http://sample.test{a['url_path']}", (root / a["path"]).read_bytes()) for a in manifest["articles"]]


def python_docs_pages() -> list[tuple[str, bytes]]:
    files = sorted(PYTHON_DOCS.rglob("*.html"))
    if not files:
        raise SystemExit(f"no HTML under {PYTHON_DOCS}: install Debian's python3.11-doc")
    return [(f"http://docs.test/{f.relative_to(PYTHON_DOCS)}", f.read_bytes()) for f in files]


# Plain trafilatura, as shipped: in a process of its own, since importing corpusforge replaces
# two of trafilatura's rules by faster equivalents (processing/discard_rules.py).
PLAIN_TRAFILATURA = """
import json, pickle, sys, time
import trafilatura
bodies = pickle.load(open(sys.argv[1], "rb"))
start, cpu = time.perf_counter(), time.process_time()
for body in bodies:
    trafilatura.extract(body)
print(json.dumps([len(bodies) / (time.perf_counter() - start), len(bodies) / (time.process_time() - cpu)]))
"""


def plain_trafilatura_rate(pages: list[tuple[str, bytes]], tmp: Path) -> tuple[float, float]:
    """Pages per wall-clock second and per CPU second of `trafilatura.extract` in one process
    that imports trafilatura alone."""
    bodies = tmp / "bodies.pickle"
    bodies.write_bytes(pickle.dumps([body for _, body in pages]))
    out = subprocess.run([sys.executable, "-c", PLAIN_TRAFILATURA, str(bodies)], capture_output=True, text=True)
    bodies.unlink()
    if out.returncode:
        raise SystemExit(f"plain trafilatura failed: {out.stderr.strip().splitlines()[-1:]}")
    rate, rate_cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return rate, rate_cpu


def write_pages(wh: Warehouse, pages: list[tuple[str, bytes]], source: str) -> None:
    run_id = new_run_id("bench")
    rows = [
        {
            "page_id": sha256_hex(f"{url}|{run_id}")[:24],
            "url": url,
            "final_url": url,
            "source": source,
            "crawl_run_id": run_id,
            "fetched_at": utc_now(),
            "fetch_status": "fetched",
            "status": 200,
            "content_type": "text/html",
            "content_length": len(body),
            "body": body,
            "body_sha256": sha256_hex(body),
        }
        for url, body in pages
    ]
    for i in range(0, len(rows), 500):
        wh.write("pages", rows[i : i + 500], run_id)


def run_stage(root: str, clean_json: str) -> None:
    """The clean stage alone (plan, read, clean, write) on the warehouse at `root`, in this fresh
    process (`--run-stage`): prints its seconds, pages and counts as JSON.

    The stage's module is imported here, not at the top of this file: the pool's forkserver
    imports the main script (as it imports `corpusforge`'s console script for the command), and
    the command's does not import Prefect, which costs the forkserver a second before the first
    worker starts."""
    from corpusforge.flows.clean import clean_pages_task, plan_task

    clean = CleanSettings.model_validate_json(clean_json)
    wh = Warehouse(root)
    settings = Settings(warehouse=root, sources=[SourceConfig(name="bench", kind="files", path=root)], clean=clean)
    configs, default = clean_configs(settings)
    cpu_before, start = time.process_time(), time.perf_counter()
    pending = plan_task.fn(wh, configs, default)
    result = clean_pages_task.fn(wh, clean, pending, configs, default, new_run_id("clean"))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "pages": len(pending), "counts": result["counts"], "cpu_before": cpu_before}))


def clean_stage_rate(pages: list[tuple[str, bytes]], clean: CleanSettings, tmp: Path) -> tuple[float, float, int, dict]:
    """Pages per second and per CPU second (all processes) of the clean stage, and its peak memory
    in bytes. The stage runs in a fresh process (as `corpusforge clean` does), so its memory is
    its own, not this process's copy of the pages and the baseline's leftovers."""
    wh = Warehouse(str(tmp / "warehouse"))
    wh.init()
    write_pages(wh, pages, "bench")
    command = [sys.executable, __file__, "--run-stage", wh.root, clean.model_dump_json()]
    with PeakMemory(include_self=False) as memory:
        stage = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        out, _ = stage.communicate()
        if stage.returncode:
            raise SystemExit(f"the clean stage failed (exit {stage.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    cpu = memory.cpu_seconds - result["cpu_before"]  # the stage's CPU, not the process's start and imports
    result["stage_peak"] = memory.peaks.pop(stage.pid, 0)
    result["peaks"] = sorted(memory.peaks.values(), reverse=True)
    return result["pages"] / result["seconds"], result["pages"] / cpu, memory.peak, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="sample site size")
    parser.add_argument("--workers", type=int, default=0, help="clean workers (0 = one per core)")
    parser.add_argument("--full-extraction", action="store_true", help="clean.fast_extraction = false")
    parser.add_argument(
        "--corpus", choices=("site", "docs", "both", "all"), default="all",
        help="which rows to measure: the sample site, Python's docs, both in one run, or all three (default)",
    )  # fmt: skip
    parser.add_argument("--run-stage", nargs=2, metavar=("WAREHOUSE", "CLEAN_JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_stage:
        run_stage(*args.run_stage)
        return
    clean = CleanSettings(workers=args.workers, fast_extraction=not args.full_extraction)
    print(
        f"cores: {len(psutil.Process().cpu_affinity())}; clean workers: {default_workers(args.workers)}; "
        f"fast_extraction: {clean.fast_extraction}"
    )
    with tempfile.TemporaryDirectory(prefix="corpusforge-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        site = sample_site_pages(args.pages, tmp / "site") if args.corpus != "docs" else []
        docs = python_docs_pages() if args.corpus != "site" else []
        corpora = {
            f"sample site ({args.pages} pages)": site if args.corpus in ("site", "all") else [],
            "python 3.11 docs": docs if args.corpus in ("docs", "all") else [],
            "both": site + docs if args.corpus in ("both", "all") else [],
        }
        corpora = {name: pages for name, pages in corpora.items() if pages}
        print(
            f"{'corpus':<28}{'pages':>7}{'trafilatura p/s':>17}{'clean p/s':>11}{'ratio':>7}{'peak MB':>9}"
            f"{'cpu ratio':>11}  kept/dropped"
        )
        peaks = []
        for number, (name, pages) in enumerate(corpora.items()):
            baseline, baseline_cpu = plain_trafilatura_rate(pages, tmp)
            rate, rate_cpu, peak, result = clean_stage_rate(pages, clean, tmp / f"run{number}")
            counts = result["counts"]
            peaks.append(
                f"{name}: stage {result['stage_peak'] / 2**20:.0f}, then "
                + ", ".join(f"{p / 2**20:.0f}" for p in result["peaks"])
            )
            print(
                f"{name:<28}{len(pages):>7}{baseline:>17.1f}{rate:>11.1f}{rate / baseline:>7.2f}"
                f"{peak / 2**20:>9.0f}{rate_cpu / baseline_cpu:>11.2f}  {counts.get('kept', 0)}/"
                f"{counts.get('dropped', 0)} (failed: {counts.get('failed', 0)})"
            )
        print("peak MB of each process (the stage's own, then its workers and its forkserver): " + "; ".join(peaks))
        print(
            "ratio: clean p/s over trafilatura p/s (wall clock). cpu ratio: pages per CPU second of the stage "
            "(driver and workers together) over trafilatura's; on an otherwise idle machine the wall-clock ratio "
            "approaches the cpu ratio times the workers."
        )


if __name__ == "__main__":
    main()

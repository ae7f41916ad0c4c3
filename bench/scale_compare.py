"""`bench/scale.py --compare`: the default runner against a Dask cluster of separate processes
(`dask scheduler` and two `dask worker`s, default settings, one thread each), on the same
generated sample site, at two corpus sizes.

For each size, the two runners take turns stage by stage (see `run_size`); each stage runs as
the command a user types (`corpusforge -c CONFIG crawl`, `clean`, `dedup`, `export training`,
`export rag`), in its own process. A sampler reads the RSS of every process involved every
0.25 s and keeps each one's peak:

- **driver**: the command's own process (on Dask: what plans, hands out references and merges);
- **driver's children**: the largest process it started (the default runner's clean pool);
- **worker w0 / w1**: each Dask worker process (the nanny's child), which keeps what it loads
  (the tokenizer, the model) from stage to stage, as on a real cluster.

Printed, MEASURED: per stage and runner the wall seconds and those peaks; the Dask runner's speed
against the default runner's (default wall / Dask wall: >= 0.9 is the target); and, between the
two sizes, each process's peak at the larger size over its peak at the smaller (within 1.2, i.e.
20 %, means memory stays flat as the corpus grows).

The RAG export embeds about 10 chunks per page at about 34 chunks/s on 2 cores (docs/scaling.md):
at 20,000 pages that is over an hour and a half per runner, so it runs only when --stages names it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import yaml

MIB = 2**20
COMMANDS = {
    "crawl": ["crawl"],
    "clean": ["clean"],
    "dedup": ["dedup"],
    "export_training": ["export", "training"],
    "export_rag": ["export", "rag"],
}
CLI = str(Path(sys.executable).parent / "corpusforge")


def descendants(pid: int, parents: dict[int, int]) -> list[int]:
    """The processes below `pid` in a {pid: parent pid} map."""
    below, frontier = [], [pid]
    while frontier:
        level = set(frontier)
        frontier = [child for child, parent in parents.items() if parent in level]
        below += frontier
    return below


class Peaks:
    """Every 0.25 s, the RSS of the named processes `groups(parents)` returns (given one
    {pid: parent pid} map per sample: one pass over /proc, however many groups, so that the
    sampler costs both runners alike); each name's peak."""

    def __init__(self, groups):
        self.groups = groups
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            procs = {p.pid: p for p in psutil.process_iter(["ppid"])}
            parents = {pid: p.info["ppid"] for pid, p in procs.items()}
            for name, pids in self.groups(parents).items():
                for pid in pids:
                    try:
                        rss = procs[pid].memory_info().rss
                    except (KeyError, psutil.Error):
                        continue
                    self.peak[name] = max(self.peak.get(name, 0), rss)
            time.sleep(0.25)

    def __enter__(self) -> Peaks:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """`dask scheduler` and two `dask worker` processes, as a user starts them."""

    def __init__(self, folder: Path, workers: int = 2):
        self.folder, self.workers, self.port = folder, workers, _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []

    def _start(self, args: list[str], log: str) -> subprocess.Popen:
        with open(self.folder / log, "wb") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=fh, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def __enter__(self) -> Cluster:
        from distributed import Client

        self.folder.mkdir(parents=True, exist_ok=True)
        self._start(["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"], "scheduler.log")
        for n in range(self.workers):
            args = ["worker", self.address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--name", f"w{n}"]
            self._start([*args, "--local-directory", str(self.folder / f"w{n}")], f"worker{n}.log")
        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(self.workers, timeout=120)
        return self

    def worker_processes(self, parents: dict[int, int]) -> dict[str, list[int]]:
        """Each worker's processes (the nanny's children: the worker and its clean children), by
        the worker's name."""
        nannies = enumerate(self.procs[1:])
        return {f"worker w{n}": descendants(nanny.pid, parents) or [nanny.pid] for n, nanny in nannies}

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_stage(stage: str, config: Path, cluster: Cluster | None) -> dict:
    """One stage as the command a user types; its wall time and each process's peak RSS."""
    command = [CLI, "-c", str(config), *COMMANDS[stage]]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def groups(parents: dict[int, int]) -> dict[str, list[int]]:
        workers = cluster.worker_processes(parents) if cluster else {}
        return {"driver": [proc.pid], "driver's children": descendants(proc.pid, parents), **workers}

    start = time.perf_counter()
    with Peaks(groups) as peaks:
        output, _ = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{stage} failed ({proc.returncode}):\n{output.decode(errors='replace')[-3000:]}")
    return {"stage": stage, "wall": wall, "peak": peaks.peak}


def run_size(pages: int, stages: list[str], workdir: Path) -> dict[str, list[dict]]:
    """Both runners on one generated site of `pages` pages; their stage results.

    The runners take turns stage by stage (each stage on one runner, then at once on the other,
    the one going first alternating from stage to stage) rather than one runner's whole pipeline
    after the other's: this machine's speed drifts by 10-30 % over minutes (it is shared), and
    measured minutes apart the two runs of a stage compared the drift as much as the runners.
    The cluster stays up throughout, idle while the default runner works, as a user's would."""
    from corpusforge.connectors.sample_site import SampleServer, generate_site

    site = workdir / f"site-{pages}"
    generate_site(site, pages=pages, seed=1)
    results: dict[str, list[dict]] = {"default": [], "dask": []}
    with SampleServer(site) as server, Cluster(workdir / f"dask-{pages}" / "cluster") as cluster:
        addresses = {"default": None, "dask": cluster.address}
        configs = {r: _config(workdir / f"{r}-{pages}", server.url, pages, addresses[r]) for r in results}
        for number, stage in enumerate(stages):
            for runner in ("default", "dask") if number % 2 == 0 else ("dask", "default"):
                print(f"  {pages} pages, {runner} runner: {stage} ...", flush=True)
                results[runner].append(run_stage(stage, configs[runner], cluster if runner == "dask" else None))
    return results


def _config(folder: Path, site_url: str, pages: int, dask_address: str | None) -> Path:
    """A runner's config file in `folder`: the Dask runner's when given the scheduler's address."""
    from corpusforge.flows.demo import demo_config

    folder.mkdir(parents=True, exist_ok=True)
    cfg = demo_config(site_url, pages)
    cfg.pop("annotate", None)
    cfg["warehouse"] = str(folder / "data")
    if dask_address is not None:
        cfg.update(task_runner="dask", dask_address=dask_address)
    config = folder / "corpusforge.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return config


def print_runners(pages: int, results: dict[str, list[dict]]) -> None:
    print(f"\nMEASURED: {pages} pages, default runner vs Dask (scheduler + 2 workers, separate processes)")
    names = sorted({n for r in results["dask"] for n in r["peak"] if n.startswith("worker")})
    head = "| stage | default s | Dask s | default / Dask | default driver | default driver's children"
    head += " | Dask driver | " + " | ".join(f"Dask {n}" for n in names) + " |"
    print(head)
    print("|---" * (7 + len(names)) + "|")
    totals = [0.0, 0.0]
    for base, dask in zip(results["default"], results["dask"], strict=True):
        totals[0] += base["wall"]
        totals[1] += dask["wall"]
        cells = [
            base["stage"],
            f"{base['wall']:.1f}",
            f"{dask['wall']:.1f}",
            f"{base['wall'] / dask['wall']:.2f}x",
            _mib(base["peak"], "driver"),
            _mib(base["peak"], "driver's children"),
            _mib(dask["peak"], "driver"),
            *(_mib(dask["peak"], n) for n in names),
        ]
        print("| " + " | ".join(cells) + " |")
    verdict = "met" if totals[0] / totals[1] >= 0.9 else "MISSED"
    print(f"| **all stages** | {totals[0]:.1f} | {totals[1]:.1f} | {totals[0] / totals[1]:.2f}x ({verdict}: >= 0.9x) |")


def _mib(peaks: dict[str, int], name: str) -> str:
    return f"{peaks[name] / MIB:.0f} MiB" if name in peaks else "-"


def print_flatness(small: int, large: int, by_size: dict[int, dict[str, list[dict]]]) -> None:
    """Each process's peak over all stages at the larger size against the smaller."""
    print(f"\nMEASURED: peak memory per process, {large} pages against {small} pages (flat: within 1.20x)")
    print(f"| runner | process | {small} pages | {large} pages | ratio | flat? |")
    print("|---|---|---|---|---|---|")
    for runner in ("default", "dask"):
        peaks = {size: _overall(by_size[size][runner]) for size in (small, large)}
        for name in sorted(peaks[large]):
            a, b = peaks[small].get(name), peaks[large][name]
            if not a:
                continue
            ratio = b / a
            print(f"| {runner} | {name} | {a / MIB:.0f} MiB | {b / MIB:.0f} MiB | {ratio:.2f}x "
                  f"| {'yes' if ratio <= 1.2 else 'NO'} |")  # fmt: skip


def _overall(stage_results: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in stage_results:
        for name, value in r["peak"].items():
            out[name] = max(out.get(name, 0), value)
    return out


def compare(sizes: list[int], stages: list[str], workdir: Path) -> None:
    from corpusforge.flows.prefect_server import shared_server_url

    # The workers report their task runs to the same Prefect server as the commands.
    os.environ.setdefault("PREFECT_API_URL", shared_server_url())
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    by_size = {}
    for pages in sizes:
        by_size[pages] = run_size(pages, stages, workdir)
        print_runners(pages, by_size[pages])
    if len(sizes) >= 2:
        print_flatness(min(sizes), max(sizes), by_size)

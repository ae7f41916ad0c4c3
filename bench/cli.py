"""Benchmark: how fast the CLI answers, beside the DuckDB CLI on the same machine.

Times (best of --repeats runs, wall clock of a fresh process each) `corpusforge --help`,
`corpusforge query "select 1"`, `corpusforge query "select count(*) from documents"` and
`corpusforge tables` on a small warehouse, and `duckdb -c "select 1"` (the duckdb CLI of the
duckdb-cli package in .venv/bin) as the baseline; prints seconds, the targets of issue 12
(--help <= 0.4 s, query "select 1" <= 0.6 s) and the ratio of each command to DuckDB's. A second
line times a bare Python that imports the libraries a query needs: the floor of any Python CLI.

    .venv/bin/python bench/cli.py [--config demo/corpusforge.yaml] [--repeats 7]

Without --config it builds a small warehouse (200 documents) in a temporary folder.

`--stage` times the stages with nothing to do on that warehouse (`corpusforge clean`: no pages;
`dedup`, `export training` and `export rag` after one run of each) the way a user runs them without
PREFECT_API_URL, while the shared local Prefect server runs (flows/prefect_server.py, started before
timing if none runs; target <= 2 s): the CLI finds there is nothing to do (flows/clean_plan.py,
flows/dedup_plan.py, flows/export_plan.py) and answers without a flow run. Beside each, the same
command with that check switched off (a flow run that finds nothing: the behaviour before) on the
shared server, and for clean also on Prefect's temporary server per command
(CORPUSFORGE_PREFECT_SERVER=ephemeral).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FLOOR = "import typer, rich.table, pydantic, yaml, pyarrow, duckdb; duckdb.sql('select 1').to_arrow_table()"
TARGETS = {"--help": 0.4, 'query "select 1"': 0.6}
# Each idle-checked command, and the module and function of its check.
IDLE_CHECKS = {
    "clean": ("clean_plan", "idle_clean_summary"),
    "dedup": ("dedup_plan", "idle_dedup_summary"),
    "export training": ("export_plan", "idle_training_summary"),
    "export rag": ("export_plan", "idle_rag_summary"),
}


def without_idle_check(module: str, function: str) -> str:
    """`corpusforge` with one idle check switched off: the command always runs its flow."""
    return (
        f"import sys; import corpusforge.flows.{module} as plan; plan.{function} = lambda *args, **kw: None; "
        "from corpusforge.flows.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )


def small_warehouse(folder: Path) -> Path:
    """A warehouse with 200 documents and its config file; returns the config's path."""
    from corpusforge.warehouse import Warehouse

    wh = Warehouse(str(folder / "data"))
    wh.init()
    now = datetime.now(UTC)
    docs = [
        {"doc_id": f"d{i:04d}", "page_id": f"p{i:04d}", "url": f"http://example.org/{i}", "source": "bench",
         "content_hash": f"h{i}", "text": f"document {i} " * 50, "language": "en", "kept": i % 5 != 0,
         "fetched_at": now, "cleaned_at": now, "pipeline_version": "bench"}
        for i in range(200)
    ]  # fmt: skip
    wh.write("documents", docs, "bench")
    config = folder / "corpusforge.yaml"
    config.write_text(f"warehouse: {folder / 'data'}\n")
    return config


def best_of(cmd: list[str], repeats: int, cwd: Path, **extra_env: str) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("CORPUSFORGE_CONFIG", "PREFECT_API_URL")} | extra_env
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        best = min(best, elapsed)
    return best


def idle_stage(repeats: int) -> None:
    from corpusforge.flows.prefect_server import shared_server_url

    with tempfile.TemporaryDirectory(prefix="corpusforge-bench-cli-") as tmp:
        config = small_warehouse(Path(tmp))
        started = time.perf_counter()
        url = shared_server_url()
        print(f"shared Prefect server {url} (ready after {time.perf_counter() - started:.1f}s)")
        env = {k: v for k, v in os.environ.items() if k not in ("CORPUSFORGE_CONFIG", "PREFECT_API_URL")}
        for command in ("dedup", "export training", "export rag"):  # one run each: then nothing is left to do
            subprocess.run([str(BIN / "corpusforge"), "-c", str(config), *command.split()], env=env, check=True,
                           capture_output=True)  # fmt: skip
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; best of {repeats} runs")
        print(f"{'command, nothing to do':<56} {'idle check':>10} {'target':>7} {'flow run':>9} {'ratio':>6}")
        for command, (module, function) in IDLE_CHECKS.items():
            args = ["-c", str(config), *command.split()]
            idle = best_of([str(BIN / "corpusforge"), *args], repeats, Path(tmp))
            # The same command with its idle check switched off: a flow run that finds nothing.
            flow_run = best_of([sys.executable, "-c", without_idle_check(module, function), *args],
                               max(1, repeats // 2), Path(tmp))  # fmt: skip
            verdict = "2.0" + (" ok" if idle <= 2.0 else " MISSED")
            ratio = flow_run / idle
            print(f"{'corpusforge ' + command:<56} {idle:>10.3f} {verdict:>7} {flow_run:>9.3f} {ratio:>5.1f}x")
        clean_flow = [sys.executable, "-c", without_idle_check(*IDLE_CHECKS["clean"]), "-c", str(config), "clean"]
        ephemeral = best_of(clean_flow, max(1, repeats // 3), Path(tmp), CORPUSFORGE_PREFECT_SERVER="ephemeral")
        print(f"{'corpusforge clean as a flow run on a temporary server (the first way)':<56} {ephemeral:>10.3f}")
        print("flow run: the same command with its idle check switched off, on the shared server (the way before)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="an existing corpusforge.yaml (default: a small temporary warehouse)")
    parser.add_argument("--repeats", type=int, default=7, help="runs per command; the best one counts")
    parser.add_argument("--stage", action="store_true", help="time a stage with nothing to do (see above)")
    args = parser.parse_args()
    if args.stage:
        idle_stage(args.repeats)
        return
    with tempfile.TemporaryDirectory(prefix="corpusforge-bench-cli-") as tmp:
        config = Path(args.config).resolve() if args.config else small_warehouse(Path(tmp))
        cli = [str(BIN / "corpusforge")]
        with_config = [*cli, "-c", str(config)]
        subprocess.run([*with_config, "tables"], capture_output=True, check=True)  # catalog built, caches warm
        commands = {
            "--help": [*cli, "--help"],
            'query "select 1"': [*with_config, "query", "select 1"],
            'query "select count(*) from documents"': [*with_config, "query", "select count(*) from documents"],
            "tables": [*with_config, "tables"],
        }
        baseline = best_of([str(BIN / "duckdb"), "-c", "select 1"], args.repeats, Path(tmp))
        # What any Python answer costs here: the interpreter plus the libraries a query needs.
        floor = best_of([sys.executable, "-c", FLOOR], args.repeats, Path(tmp))
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; best of {args.repeats} runs")
        print(f"{'command':<42} {'seconds':>8} {'target':>7} {'vs duckdb':>10}")
        label = 'duckdb -c "select 1" (baseline)'
        print(f"{label:<42} {baseline:>8.3f} {'':>7} {1.0:>9.1f}x")
        label = "python: import typer, pydantic, pyarrow, duckdb"
        print(f"{label:<42} {floor:>8.3f} {'':>7} {floor / baseline:>9.1f}x")
        for name, cmd in commands.items():
            seconds = best_of(cmd, args.repeats, Path(tmp))
            target = TARGETS.get(name)
            verdict = "" if target is None else f"{target:.1f}{' ok' if seconds <= target else ' MISSED'}"
            print(f"{'corpusforge ' + name:<42} {seconds:>8.3f} {verdict:>7} {seconds / baseline:>9.1f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()

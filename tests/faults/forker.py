"""A process that has imported the stages once and forks a child per command, so that a kill -9
test pays the imports (Prefect, DuckDB, torch: seconds per start on 2 cores) once, not once per
run. The child runs the real entry point (`corpusforge.flows.cli.main`, or the crawl driver) and
is the process the test kills.

Protocol, one command at a time, a JSON line each way: the test writes
`{"argv": [...], "cwd": "...", "log": "...", "env": {...}}`; the forker answers `{"pid": N}` once
the child runs, then `{"pid": N, "returncode": rc}` when it has ended (-9 when killed).
Run as `python -m tests.faults.forker`.
"""

from __future__ import annotations

import json
import os
import sys


def preload() -> None:
    import corpusforge.flows.annotate  # noqa: F401
    import corpusforge.flows.clean  # noqa: F401
    import corpusforge.flows.cli  # noqa: F401
    import corpusforge.flows.dedup  # noqa: F401
    import corpusforge.flows.export_rag  # noqa: F401
    import corpusforge.flows.export_training  # noqa: F401
    import tests.faults.crawl_driver  # noqa: F401

    try:  # what the RAG export imports when it loads its model: seconds of its own
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        pass


def child(command: dict) -> int:
    os.chdir(command["cwd"])
    os.environ.update(command.get("env") or {})
    fd = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the child's stdin is not the forker's pipe
    argv = command["argv"]
    if argv[0] == "crawl":
        from tests.faults.crawl_driver import main as crawl_main

        return crawl_main(argv[1:])
    from corpusforge.flows.cli import main

    return main(argv[1:])


def serve() -> None:
    preload()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = child(command)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException as exc:  # noqa: BLE001 - the child reports any failure in its log
                print(f"forker child: {exc!r}", file=sys.stderr, flush=True)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()

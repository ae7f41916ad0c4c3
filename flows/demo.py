"""`corpusforge demo`: the whole pipeline on the bundled sample site, offline, in a few minutes.

It generates the sample site (documentation, CJK and junk pages: what the filters are for),
serves it on a local port, starts a local Label Studio with the demo account (data under
`<dir>/label-studio`), writes a corpusforge.yaml pointing at the site, runs the pipeline (the
annotate stage pushes a stratified sample with the filters' verdicts as predictions) and prints
the summary, the Label Studio login and what to run after labelling. Running it again re-uses
the site, the port (when free), Label Studio and the warehouse, so the second run shows what an
incremental run costs.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import yaml

from corpusforge.connectors.label_studio_server import LabelStudioServer

DEMO_PORT = 8765
DEMO_SAMPLE_SIZE = 30  # tasks pushed to Label Studio: a few minutes of labelling
LABEL_STUDIO_DIR = "label-studio"


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def demo_port(config_path: Path) -> int:
    """The port of the previous demo run when it is free (so URLs, and doc ids, stay the same)."""
    previous = DEMO_PORT
    if config_path.exists():
        try:
            url = yaml.safe_load(config_path.read_text())["sources"][0]["url"]
            previous = int(url.rsplit(":", 1)[1].strip("/"))
        except (KeyError, IndexError, ValueError, TypeError):
            pass
    if _port_is_free(previous):
        return previous
    return 0  # any free port


def demo_config(site_url: str, pages: int) -> dict:
    return {
        "warehouse": "./data",
        "sources": [
            {
                "name": "sample",
                "kind": "site",
                "url": site_url + "/",
                "max_pages": pages * 2 + 50,
                "allow_private_network": True,  # the demo site is served on loopback
                "delay": 0,
                "concurrency": 8,
            }
        ],
        "annotate": {"sample_size": DEMO_SAMPLE_SIZE},
        "exports": {
            "training": [{"name": "sample", "format": "text", "jsonl": False}],
            "rag": [{"name": "sample"}],
        },
    }


def demo_label_studio(directory: Path) -> LabelStudioServer:
    """The demo's Label Studio: data under `<dir>/label-studio`, the demo account."""
    return LabelStudioServer(directory / LABEL_STUDIO_DIR)


def start_label_studio(server: LabelStudioServer) -> None:
    """Start (or reuse) the server and point this process's annotate stage at it."""
    server.start()
    os.environ.update(server.client_env())


def label_studio_next_steps(server: LabelStudioServer, config_path: Path) -> list[str]:
    """What the demo prints after the summary: where to label, and the commands that follow."""
    cfg = f"-c {_shown(config_path)}"
    env = " ".join(f"{k}={v}" for k, v in server.client_env().items())
    return [
        f"Label Studio: {server.url}  (log in as {server.username} / {server.password})",
        "label a few tasks of the project 'corpusforge review', then:",
        f"  export {env}",
        f"  corpusforge {cfg} annotate pull      # bring the labels into the warehouse",
        f"  corpusforge {cfg} annotate report    # how the filters agree with you",
        f"Label Studio keeps running; stop it with: corpusforge demo --dir {_shown(config_path.parent)} --stop",
    ]


def _shown(path: Path) -> str:
    """A path as short as it can be said from here."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)

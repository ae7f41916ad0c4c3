"""`corpusforge demo`: the whole pipeline on the bundled sample site, offline, in a few minutes.

It generates the sample site, serves it on a local port, writes a corpusforge.yaml pointing at
it, runs the pipeline and prints the summary. Running it again re-uses the site, the port (when
free) and the warehouse, so the second run shows what an incremental run costs.
"""

from __future__ import annotations

import socket
from pathlib import Path

import yaml

DEMO_PORT = 8765


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
        "exports": {
            "training": [{"name": "sample", "format": "text", "jsonl": False}],
            "rag": [{"name": "sample"}],
        },
    }

"""Fixtures for the whole-pipeline tests: a private copy of the sample site on its own server
and a corpusforge.yaml pointing at it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml


def write_config(directory: Path, site_url: str, **overrides) -> Path:
    from corpusforge.flows.demo import demo_config

    cfg = demo_config(site_url, pages=50)
    cfg.update(overrides)
    path = directory / "corpusforge.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def pipeline_site(sample_site_dir, tmp_path_factory):
    """A copy of the sample site served for one test module (tests may edit its pages)."""
    from corpusforge.connectors.sample_site import SampleServer

    root = tmp_path_factory.mktemp("pipeline-site") / "site"
    shutil.copytree(sample_site_dir, root)
    with SampleServer(root) as server:
        yield server, root

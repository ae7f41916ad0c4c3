from __future__ import annotations

import pytest

from tests.clean.pages import fetch_pages


@pytest.fixture(scope="session")
def sample_pages(site_server, sample_manifest) -> list[dict]:
    """Every article page of the sample site, fetched once over HTTP."""
    paths = [a["url_path"] for a in sample_manifest["articles"] if a["kind"] != "private"]
    return fetch_pages(site_server.url, paths)


@pytest.fixture(scope="session")
def articles_by_url(site_server, sample_manifest) -> dict[str, dict]:
    return {f"{site_server.url}{a['url_path']}": a for a in sample_manifest["articles"]}

"""How the crawl on Dask splits the sources (flows/dask_crawl.py): by the host a source crawls,
the unit the fetcher's delay and concurrency apply to; sources read from a local path stay on
the flow's machine."""

from __future__ import annotations

from corpusforge.flows.dask_crawl import sources_by_host
from corpusforge.schemas.config import SourceConfig


def _source(name: str, kind: str, **where) -> SourceConfig:
    return SourceConfig(name=name, kind=kind, **where)


def test_sources_are_grouped_by_the_host_they_crawl_in_config_order():
    sources = [
        _source("docs", "site", url="https://Example.com/docs/"),
        _source("other-port", "site", url="https://example.com:8443/"),
        _source("blog-feed", "feed", url="https://blog.example.com/feed.xml"),
        _source("map", "sitemap", url="https://example.com/sitemap.xml"),
        _source("remote-warc", "warc", url="https://archive.example.org/crawl.warc.gz"),
        _source("folder", "files", path="/srv/pages"),
        _source("local-warc", "warc", path="/srv/crawl.warc.gz"),
    ]
    by_host, local = sources_by_host(sources)
    assert {host: [s.name for s in group] for host, group in by_host.items()} == {
        "https://example.com": ["docs", "map"],  # one host, one task at a time: its sources in turn
        "https://example.com:8443": ["other-port"],
        "https://blog.example.com": ["blog-feed"],
        "https://archive.example.org": ["remote-warc"],
    }
    assert [s.name for s in local] == ["folder", "local-warc"]

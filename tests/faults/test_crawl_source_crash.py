"""One crashing source task does not sink the crawl: the other sources are crawled and written,
the summary names the failed source, and `corpusforge crawl` exits non-zero."""

from __future__ import annotations

import yaml

from corpusforge.flows import crawl as crawl_module
from corpusforge.flows.cli import main


def _folder(path, pages: int):
    path.mkdir()
    for i in range(pages):
        (path / f"page{i}.html").write_text(f"<html><head><title>Page {i}</title></head><body><p>text {i}</p></body>")
    return path


def test_a_crashing_source_is_named_and_the_others_are_crawled(tmp_path, prefect_api, monkeypatch, capsys):
    _folder(tmp_path / "good", 3)
    _folder(tmp_path / "bad", 2)
    config = tmp_path / "corpusforge.yaml"
    config.write_text(yaml.safe_dump({
        "warehouse": "data",
        "sources": [{"name": "good", "kind": "files", "path": "good"}, {"name": "bad", "kind": "files", "path": "bad"}],
    }))  # fmt: skip
    real = crawl_module.crawl_source

    def crash_on_bad(wh, settings, source, *args, **kwargs):
        if source.name == "bad":  # a bug in one source's task, not an I/O error: no retry
            raise RuntimeError("parser exploded on bad")
        return real(wh, settings, source, *args, **kwargs)

    monkeypatch.setattr(crawl_module, "crawl_source", crash_on_bad)
    assert main(["-c", str(config), "crawl"]) == 1
    out = capsys.readouterr().out
    assert "bad: failed: parser exploded on bad" in out and "failed: 1 of 2 sources failed (bad)" in out

    from corpusforge.schemas.config import load_settings
    from corpusforge.warehouse import Warehouse

    con = Warehouse(load_settings(config).warehouse).connect()
    try:
        by_source = dict(con.execute("select source, count(*) from pages group by 1").fetchall())
    finally:
        con.close()
    assert by_source == {"good": 3}

    # the summary itself: counts of the crawled source stand, the failure is named
    monkeypatch.setattr(crawl_module, "crawl_source", real)
    assert main(["-c", str(config), "crawl"]) == 0

"""Test helper: `pages` rows like the crawler writes them, fetched over real HTTP from the sample
site (or built from given bytes for hand-made cases)."""

from __future__ import annotations

import httpx

from corpusforge.processing.ids import sha256_hex
from corpusforge.warehouse import new_run_id, utc_now

# A page whose extraction takes far longer than a 1 s time limit (20,000 nested blocks).
HUGE_PAGE = (
    "<html><body>"
    + "".join(
        f'<div class="c{i % 7}"><p>Cell {i} has <b>bold</b> and <a href="/x{i}">link</a>.</p></div>'
        for i in range(20_000)
    )
    + "</body></html>"
).encode()


def page_row(
    url: str,
    body: bytes,
    content_type: str | None = "text/html; charset=utf-8",
    source: str = "sample",
    run_id: str = "test-crawl",
) -> dict:
    """A fetched `pages` row for `body` served at `url`."""
    fetched_at = utc_now()
    return {
        "page_id": sha256_hex(f"{url}|{fetched_at.isoformat()}|{run_id}")[:24],
        "url": url,
        "final_url": url,
        "source": source,
        "crawl_run_id": run_id,
        "fetched_at": fetched_at,
        "fetch_status": "fetched",
        "status": 200,
        "content_type": content_type,
        "content_length": len(body),
        "body": body,
        "body_sha256": sha256_hex(body),
        "truncated": False,
        "depth": 1,
        "redirects": [],
    }


def fetch_pages(base_url: str, url_paths: list[str], source: str = "sample") -> list[dict]:
    """Fetch each path from the sample server and return its `pages` rows."""
    run_id = new_run_id("crawl")
    rows = []
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for path in url_paths:
            response = client.get(path)
            response.raise_for_status()
            rows.append(
                page_row(f"{base_url}{path}", response.content, response.headers.get("content-type"), source, run_id)
            )
    return rows


def write_pages(wh, rows: list[dict]) -> None:
    wh.write("pages", rows, rows[0]["crawl_run_id"] if rows else "test-crawl")

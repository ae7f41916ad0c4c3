"""Internal tables of the crawl stage.

`crawl_links` keeps the links found on each fetched page, so a re-crawl that gets 304 Not
Modified (no body) and a resumed crawl that skips pages it already has can still follow them.
`crawl_runs` marks when a source's crawl run started and completed: a run that started and never
completed was killed, and the next crawl of that source resumes it under the same run id.
"""

from __future__ import annotations

import pyarrow as pa

from corpusforge.schemas.tables import UTC_TS, C, TableSpec, register_table

CRAWL_LINKS = register_table(
    TableSpec(
        name="crawl_links",
        version=1,
        description="Links found on each fetched HTML page (normalised, absolute, before scope rules).",
        key=("source", "url"),
        order_by="created_at",
        columns=(
            C("url", pa.string(), "Normalised URL of the page (pages.url).", False),
            C("source", pa.string(), "Source name.", False),
            C("body_sha256", pa.string(), "Body the links were extracted from."),
            C("links", pa.list_(pa.string()), "Normalised absolute link targets, in document order."),
            C("crawl_run_id", pa.string(), "Crawl run that extracted them.", False),
            C("created_at", UTC_TS, "When the row was written.", False),
        ),
    )
)

CRAWL_RUNS = register_table(
    TableSpec(
        name="crawl_runs",
        version=1,
        description="Start and completion markers of each source's crawl run (a start without completion "
        "is an interrupted run that the next crawl resumes).",
        columns=(
            C("crawl_run_id", pa.string(), "Crawl run id (pages.crawl_run_id).", False),
            C("source", pa.string(), "Source name.", False),
            C("event", pa.string(), "started | completed.", False),
            C("event_at", UTC_TS, "When the event happened.", False),
            C("counts", pa.map_(pa.string(), pa.int64()), "Counts by fetch_status (completed rows)."),
        ),
    )
)

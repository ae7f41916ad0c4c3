"""The clean stage's Dask path where a Dask task runs: in a thread that is not the main thread,
where no alarm can be set and a daemonic worker may start no process pool. The batch goes to a
child process that keeps each page's time limit; the child is kept for the next batch."""

from __future__ import annotations

import threading

from corpusforge.flows import dask_clean
from corpusforge.flows.clean import _job
from corpusforge.flows.configs import clean_configs
from corpusforge.flows.dask_clean import clean_batch_in_child
from corpusforge.schemas.config import CleanSettings, Settings, SourceConfig
from corpusforge.warehouse.clean_state import page_batches
from tests.clean.pages import HUGE_PAGE, page_row, write_pages

ARTICLE = (
    "<html><head><title>Reading files line by line</title></head><body><article><h1>Reading files</h1>"
    + "".join(
        f"<p>Paragraph {i}: the reader opens the file, reads one line at a time and stops at the end, "
        "so that even a very large file never has to fit in memory at once.</p>"
        for i in range(12)
    )
    + "</article></body></html>"
).encode()
HUGE = HUGE_PAGE  # extraction takes far longer than the 1 s limit below


def _in_a_task_thread(fn, *args):
    """Run `fn(*args)` in a thread of its own, as a Dask worker runs a task."""
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_batch_in_a_task_thread_keeps_each_pages_time_limit(wh):
    pages = [
        page_row("http://slow.test/huge.html", HUGE, "text/html", "site"),
        page_row("http://docs.test/reading.html", ARTICLE, "text/html", "site"),
    ]
    write_pages(wh, pages)
    settings = Settings(
        warehouse=wh.root,
        sources=[SourceConfig(name="site", kind="site", url="http://127.0.0.1/")],
        clean=CleanSettings(extract_timeout=1.0),
    )
    configs, default = clean_configs(settings)
    job = _job(wh, configs, default, settings.clean.extract_timeout)
    [batch] = page_batches(wh, [p["page_id"] for p in pages], 32, 1 << 30)

    rows = {r["url"]: r for r in _in_a_task_thread(clean_batch_in_child, job, batch)}
    assert rows["http://slow.test/huge.html"]["drop_reasons"] == ["extract_timeout"]
    assert rows["http://docs.test/reading.html"]["error"] is None
    assert "reads one line at a time" in rows["http://docs.test/reading.html"]["text"]

    # The child stays for the next batch (start-up is paid once per worker thread)...
    [child] = dask_clean._idle
    again = _in_a_task_thread(clean_batch_in_child, job, batch)
    assert [r["url"] for r in again] == [r["url"] for r in rows.values()]
    assert dask_clean._idle == [child]
    # ...and one that died between batches is replaced, losing nothing.
    child.kill()
    third = _in_a_task_thread(clean_batch_in_child, job, batch)
    assert [r["drop_reasons"] for r in third] == [r["drop_reasons"] for r in again]
    assert dask_clean._idle and dask_clean._idle[0] is not child

"""Issue 15.7 for the clean stage: `corpusforge clean` (the real CLI, in a subprocess) killed with
SIGKILL at 10 seeded moments in a row, each run resuming what the last one left, then run to the
end: every table equals the one a clean never interrupted wrote (no page lost, none cleaned twice)."""

from __future__ import annotations

import pytest

from tests.faults import kill9

SEED = 7


@pytest.mark.slow
def test_sigkill_during_clean_ten_times_then_rerun_equals_an_uninterrupted_clean(crawled, cleaned, tmp_path):
    expected = kill9.warehouse_view(cleaned.folder)
    assert len(expected["documents"]) > 15
    folder = kill9.copy(crawled, tmp_path / "killed")
    moments = kill9.progress_moments(SEED, cleaned.run)  # over the time the reference held its lock
    progress = kill9.lock_holder(folder, "documents")
    runs = kill9.kill_chain(lambda m: kill9.run(kill9.cli(folder, "clean"), folder, m, progress), moments)
    got = kill9.warehouse_view(folder)
    assert got == expected, kill9.diff(got, expected)
    assert sum(r.killed for r in runs) >= kill9.MOMENTS // 2, runs  # the moments landed inside runs

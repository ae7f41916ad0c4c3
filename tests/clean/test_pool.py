"""The process pool stops a call at its time limit and carries on with the others."""

from __future__ import annotations

import threading
import time

from corpusforge.flows.runtime import map_with_time_limit
from tests.clean.workers import fail, sleep_then_echo


def test_time_limit_stops_a_hanging_call_and_the_rest_finish():
    args = [(0.0, "a"), (60.0, "hangs"), (0.0, "b"), (0.0, "c")]
    outcomes = list(map_with_time_limit(sleep_then_echo, args, workers=2, timeout=1.0, window=4))
    assert sorted(o.args[1] for o in outcomes) == ["a", "b", "c", "hangs"]
    assert [o.args[1] for o in outcomes if o.timed_out] == ["hangs"]
    assert sorted(o.value for o in outcomes if o.ok) == ["a", "b", "c"]
    assert outcomes[-1].args[1] == "hangs"  # the others did not wait for it


def test_an_exception_is_reported_per_item():
    outcomes = list(map_with_time_limit(fail, [("broken page",)], workers=1, timeout=5.0))
    assert outcomes[0].error == "ValueError: broken page"
    assert not outcomes[0].ok


def test_a_stop_request_ends_the_map_while_calls_still_run():
    stop = threading.Event()
    args = [(0.0, "quick"), *[(60.0, f"slow-{i}") for i in range(4)]]
    outcomes = map_with_time_limit(sleep_then_echo, args, workers=2, timeout=None, window=4, stop=stop)
    first = next(o for o in outcomes if o.ok)
    stop.set()
    started = time.monotonic()
    rest = list(outcomes)  # the slow calls are killed, not waited for
    assert first.value == "quick" and rest == []
    assert time.monotonic() - started < 5


def test_a_time_limit_per_item():
    args = [(2.0, "long allowed"), (2.0, "short limit")]
    limits = {"long allowed": 10.0, "short limit": 0.5}
    outcomes = list(map_with_time_limit(sleep_then_echo, args, workers=2, timeout=lambda a: limits[a[1]]))
    assert {o.args[1]: o.ok for o in outcomes} == {"long allowed": True, "short limit": False}

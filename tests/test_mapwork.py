"""The worker's map queue (app/mapwork.py): a cap on concurrent maps, a FIFO line with
positions, one computation per map for every session that asks, a bounded shared cache, errors
handed to every waiter, maps nobody waits for dropped, and map threads at a lower priority."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from typing import Any

import pytest

from app import mapwork


class Result:
    def __init__(self, value: int, nbytes: int = 10) -> None:
        self.value = value
        self.nbytes = nbytes


def test_one_computation_per_map_and_a_shared_cache() -> None:
    w = mapwork.MapWorker()
    calls = []

    def job() -> Result:
        calls.append(1)
        time.sleep(0.05)
        return Result(7)

    a = w.submit("k", job, work=10, kind="t")
    b = w.submit("k", job, work=10, kind="t")  # a second student asks while it runs
    assert a is b
    assert w.wait(a, 5).value == 7
    c = w.submit("k", job, work=10, kind="t")  # later: from the cache, at once
    assert c.done()
    assert c.value().value == 7
    assert calls == [1]
    hit = w.cached("k")
    assert hit is not None
    assert hit.value == 7
    assert w.stats()["computed"] == 1


def test_the_cap_and_the_line_with_positions() -> None:
    w = mapwork.MapWorker(slots=1)
    release = threading.Event()
    running = []
    peak = [0]

    def job(i: int) -> Any:
        def run() -> Result:
            running.append(i)
            peak[0] = max(peak[0], len(running))
            release.wait(5)
            running.remove(i)
            return Result(i)

        return run

    tickets = [w.submit(f"m{i}", job(i), work=1, kind="t") for i in range(4)]
    with contextlib.ExitStack() as stack:
        for t in tickets:
            stack.enter_context(w.waiting(t))
        deadline = time.monotonic() + 5
        while tickets[0].started is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [w.position(t) for t in tickets] == [0, 1, 2, 3]
        assert w.queued() == 3
        release.set()
        for t in tickets:
            assert t.done_event.wait(5)
    assert [t.value().value for t in tickets] == [0, 1, 2, 3]
    assert peak[0] == 1  # never more than one map at a time


def test_errors_reach_every_waiter_and_are_not_cached() -> None:
    w = mapwork.MapWorker()

    def bad() -> Result:
        raise ValueError("lr out of range")

    t = w.submit("bad", bad, work=1, kind="t")
    with pytest.raises(ValueError, match="lr out of range"):
        w.wait(t, 5)
    assert w.cached("bad") is None
    t2 = w.submit("bad", lambda: Result(1), work=1, kind="t")  # a new try computes again
    assert w.wait(t2, 5).value == 1


def test_the_cache_is_bounded_by_entries_and_bytes() -> None:
    w = mapwork.MapWorker(entries=3, max_bytes=250)
    for i in range(5):
        w.compute(f"e{i}", functools.partial(Result, i, 50), work=1, kind="t")
    assert [k for k in ("e0", "e1", "e2", "e3", "e4") if w.cached(k)] == ["e2", "e3", "e4"]
    w.compute("big", lambda: Result(9, 200), work=1, kind="t")
    assert w.stats()["cached_bytes"] <= 250
    assert w.cached("big") is not None
    w.compute("huge", lambda: Result(9, 10_000), work=1, kind="t")  # larger than the cache
    assert w.cached("huge") is None


def test_a_map_nobody_waits_for_is_dropped_at_its_turn() -> None:
    w = mapwork.MapWorker(slots=1)
    release = threading.Event()

    def slow() -> Result:
        release.wait(5)
        return Result(1)

    ran: list[int] = []

    def never() -> Result:
        ran.append(1)
        return Result(2)

    first = w.submit("first", slow, work=1, kind="t")
    orphan = w.submit("orphan", never, work=1, kind="t")
    with w.waiting(first):
        time.sleep(mapwork.ABANDONED_S + 0.2)  # the orphan's student left long ago
        release.set()
        assert first.done_event.wait(5)
    assert orphan.done_event.wait(5)
    with pytest.raises(mapwork.Dropped):
        orphan.value()
    assert ran == []
    assert w.stats()["dropped"] == 1


def test_a_full_line_is_refused() -> None:
    w = mapwork.MapWorker(slots=1, max_queue=2)
    release = threading.Event()

    def slow() -> Result:
        release.wait(5)
        return Result(0)

    w.submit("a", slow, work=1, kind="t")
    time.sleep(0.05)
    w.submit("b", lambda: Result(1), work=1, kind="t")
    w.submit("c", lambda: Result(2), work=1, kind="t")
    with pytest.raises(mapwork.Busy):
        w.submit("d", lambda: Result(3), work=1, kind="t")
    release.set()


def test_the_estimate_learns_the_speed_of_each_kind_of_map() -> None:
    w = mapwork.MapWorker()
    assert w.estimate("sweep", 10**9) == pytest.approx(mapwork.DEFAULT_NS)

    def job() -> Result:
        time.sleep(0.05)
        return Result(0)

    w.compute("s", job, work=10**6, kind="sweep")
    ns = w.stats()["ns_per_step"]["sweep"]
    assert 40 <= ns <= 500  # 50 ms for 10^6 trajectory-steps: about 50 ns each


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_map_threads_run_at_a_lower_priority() -> None:
    w = mapwork.MapWorker(nice=7)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def job() -> Result:
        inner: list[int] = []
        t = threading.Thread(  # like the engine's own thread pool: created by the map thread
            target=lambda: inner.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        )
        t.start()
        t.join()
        return Result(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) * 100 + inner[0])

    v = w.compute("nice", job, work=1, kind="t").value
    assert v // 100 == mine + 7
    assert v % 100 == mine + 7
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine

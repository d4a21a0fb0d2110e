"""The worker's map queue: a cap on concurrent map work, a FIFO queue with positions, one
computation per map however many students ask for it, and a bounded cache of the results.
Pure Python (threading): no streamlit; the page holds one :class:`MapWorker` per process
(``st.cache_resource``) and shows a queued map's position and a running map's progress.

Why a queue: a map takes 0.1–3 s of both cores. Streamlit runs every session's script in its
own thread, so ten students asking for maps at once would each start one and slow every other
student's page. Here at most ``slots`` maps run at a time, on threads whose scheduling priority
is lowered (``nice`` +10 on Linux: the threads the vector engine starts inherit it), so a
student moving a slider on Explore gets the CPU first and a map in progress never blocks them.
The rest wait in order; a queued map that nobody waits for any more (its student moved on) is
dropped when its turn comes.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

SLOTS = 1  # maps computed at once per worker process (each shares its runs between two processes)
NICE = 10  # how much lower the map threads' priority is (Linux: per thread)
MAX_QUEUE = 64  # more waiting maps than this: refused ("busy, try again")
ENTRIES = 48  # results kept
MAX_BYTES = 256 * 2**20  # and at most this many bytes of them
ABANDONED_S = 1.0  # a queued map nobody has waited for this long is dropped at its turn
DEFAULT_NS = 40.0  # the first estimate of nanoseconds per trajectory-step


class Busy(RuntimeError):
    """The queue is full."""


class Dropped(RuntimeError):
    """Nobody waited for this map any more, so it was not computed."""


@dataclass(eq=False)
class Ticket:
    """One map: queued, running or done. Several sessions may hold the same ticket."""

    key: str
    fn: Callable[[], Any]
    work: int  # trajectory-steps, for the estimate
    kind: str  # what kind of map (its own speed estimate)
    estimate_s: float
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    result: Any = None
    error: BaseException | None = None
    waiters: int = 0
    last_waited: float = field(default_factory=time.monotonic)
    done_event: threading.Event = field(default_factory=threading.Event)

    def done(self) -> bool:
        return self.done_event.is_set()

    def progress(self) -> float:
        """A fraction in [0, 1): elapsed over the estimate while running (1 when done)."""
        if self.done():
            return 1.0
        if self.started is None:
            return 0.0
        return min(0.95, (time.monotonic() - self.started) / max(self.estimate_s, 1e-3))

    def value(self) -> Any:
        """The result (raises what the computation raised)."""
        if self.error is not None:
            raise self.error
        return self.result


class MapWorker:
    """A capped, queued, deduplicating map computer with a bounded result cache."""

    def __init__(
        self,
        slots: int = SLOTS,
        *,
        entries: int = ENTRIES,
        max_bytes: int = MAX_BYTES,
        nice: int = NICE,
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self.slots = max(1, int(slots))
        self.entries = entries
        self.max_bytes = max_bytes
        self.nice = nice
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: collections.deque[Ticket] = collections.deque()
        self._running: list[Ticket] = []
        self._inflight: dict[str, Ticket] = {}
        self._cache: collections.OrderedDict[str, tuple[Any, int]] = collections.OrderedDict()
        self._bytes = 0
        self._ns: dict[str, float] = {}
        self.computed = 0  # maps computed (for the tests and benchmarks)
        self.dropped = 0
        self._threads = [
            threading.Thread(target=self._loop, name=f"map-worker-{i}", daemon=True)
            for i in range(self.slots)
        ]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------ the sessions' side

    def cached(self, key: str) -> Any | None:
        """The result for ``key`` if it is in the cache (then it counts as recently used)."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                return None
            self._cache.move_to_end(key)
            return hit[0]

    def estimate(self, kind: str, work: int) -> float:
        with self._lock:
            return work * self._ns.get(kind, DEFAULT_NS) * 1e-9

    def submit(self, key: str, fn: Callable[[], Any], *, work: int, kind: str) -> Ticket:
        """The ticket of map ``key``: done at once from the cache, the ticket already queued or
        running for it, or a new one at the end of the queue. Raises :class:`Busy`."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                t = Ticket(key, fn, work, kind, 0.0, result=hit[0])
                t.done_event.set()
                return t
            running = self._inflight.get(key)
            if running is not None:
                running.last_waited = time.monotonic()
                return running
            if len(self._queue) >= self.max_queue:
                raise Busy(f"{len(self._queue)} maps are waiting on this server")
            est = work * self._ns.get(kind, DEFAULT_NS) * 1e-9
            t = Ticket(key, fn, work, kind, est)
            self._inflight[key] = t
            self._queue.append(t)
            self._wake.notify()
            return t

    def position(self, ticket: Ticket) -> int:
        """0 while running or done; k >= 1: the k-th map waiting (k - 1 maps before it)."""
        with self._lock:
            for i, t in enumerate(self._queue):
                if t is ticket:
                    return i + 1
            return 0

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    @contextlib.contextmanager
    def waiting(self, ticket: Ticket) -> Iterator[Ticket]:
        """Count the caller as waiting for ``ticket`` (a queued map nobody waits for is
        dropped when its turn comes)."""
        with self._lock:
            ticket.waiters += 1
            ticket.last_waited = time.monotonic()
        try:
            yield ticket
        finally:
            with self._lock:
                ticket.waiters -= 1
                ticket.last_waited = time.monotonic()

    def wait(self, ticket: Ticket, timeout: float | None = None) -> Any:
        """Block until the map is done; its result (or its exception)."""
        with self.waiting(ticket):
            if not ticket.done_event.wait(timeout):
                raise TimeoutError(f"map not done within {timeout} s")
        return ticket.value()

    def compute(self, key: str, fn: Callable[[], Any], *, work: int = 1, kind: str = "") -> Any:
        """Submit and wait (what a benchmark or a test does)."""
        return self.wait(self.submit(key, fn, work=work, kind=kind))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queued": len(self._queue),
                "running": len(self._running),
                "cached": len(self._cache),
                "cached_bytes": self._bytes,
                "computed": self.computed,
                "dropped": self.dropped,
                "ns_per_step": dict(self._ns),
            }

    # ------------------------------------------------------------ the worker threads

    def _lower_priority(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        except (AttributeError, OSError, PermissionError):  # not Linux: run at normal priority
            log.info("map worker runs at normal priority (setpriority unavailable)")

    def _next(self) -> Ticket:
        with self._lock:
            while True:
                while not self._queue:
                    self._wake.wait()
                t = self._queue.popleft()
                idle = time.monotonic() - t.last_waited
                if t.waiters == 0 and idle > ABANDONED_S:
                    self._inflight.pop(t.key, None)
                    t.error = Dropped("nobody waited for this map any more")
                    t.done_event.set()
                    self.dropped += 1
                    continue
                t.started = time.monotonic()
                self._running.append(t)
                return t

    def _loop(self) -> None:
        self._lower_priority()
        while True:
            t = self._next()
            try:
                t.result = t.fn()
            except BaseException as exc:  # handed to every session waiting for it
                t.error = exc
            t.finished = time.monotonic()
            with self._lock:
                self._running.remove(t)
                self._inflight.pop(t.key, None)
                if t.error is None:
                    self.computed += 1
                    self._store(t)
                    if t.work > 0 and t.started is not None:
                        ns = (t.finished - t.started) / t.work * 1e9
                        old = self._ns.get(t.kind)
                        self._ns[t.kind] = ns if old is None else 0.5 * old + 0.5 * ns
            t.done_event.set()

    def _store(self, t: Ticket) -> None:
        size = int(getattr(t.result, "nbytes", 0) or 0)
        if size > self.max_bytes:
            return
        old = self._cache.pop(t.key, None)
        if old is not None:
            self._bytes -= old[1]
        self._cache[t.key] = (t.result, size)
        self._bytes += size
        while len(self._cache) > self.entries or self._bytes > self.max_bytes:
            _, (_, s) = self._cache.popitem(last=False)
            self._bytes -= s

"""Process-level tuning of a Streamlit worker, applied once when the app is first imported.

Python's cyclic garbage collector scans every tracked container of a generation. A worker
holds tens of thousands of long-lived ones (Streamlit, plotly, NumPy, the app's modules) plus
every open session's state and the app's caches; measured under a 50-student load, full
(generation 2) collections took 100-200 ms each and made about a tenth of all reruns that slow,
with nothing else wrong. Two standard remedies:

* :func:`gc.freeze` after start-up moves the objects alive then (modules, classes, functions)
  to a permanent generation that collections no longer scan;
* a larger generation-0 threshold makes collections rarer, so far fewer of them run at all.

Reference counting still frees almost everything at once; only reference cycles wait for a
collection. ``OP_GC_THRESHOLDS`` ("a,b,c") overrides the thresholds, e.g. for benchmarks.

The GIL's switch interval: a worker runs every session's script in its own thread, and one
event-loop thread sends what the scripts produce. When several scripts run at once, that
thread wakes up for every message it sends and then waits for the GIL, up to one switch
interval each time (CPython's default 5 ms), so a finished run's page reached the browser
late. With 1 ms, 100 students through nginx and two workers (benchmarks/load.py) had a rerun
p95 of 0.55-0.72 s instead of 0.82-1.03 s; 0.5 ms was no better than 5 ms (more switching).
``OP_SWITCH_INTERVAL`` (seconds) overrides it.
"""

from __future__ import annotations

import gc
import os
import sys

GC_THRESHOLDS = (20_000, 20, 20)  # CPython's defaults: (700, 10, 10)
SWITCH_INTERVAL = 0.001  # seconds; CPython's default: 0.005
_done = False


def thresholds(env: str | None = None) -> tuple[int, int, int]:
    """The thresholds to use: ``OP_GC_THRESHOLDS`` if valid ("a,b,c" positive integers)."""
    raw = os.environ.get("OP_GC_THRESHOLDS", "") if env is None else env
    try:
        values = tuple(int(v) for v in raw.split(","))
    except ValueError:
        return GC_THRESHOLDS
    if len(values) != 3 or min(values) < 1:
        return GC_THRESHOLDS
    return values[0], values[1], values[2]


def switch_interval(env: str | None = None) -> float:
    """The GIL switch interval: ``OP_SWITCH_INTERVAL`` if a number in [1e-4, 0.1] s."""
    raw = os.environ.get("OP_SWITCH_INTERVAL", "") if env is None else env
    try:
        value = float(raw)
    except ValueError:
        return SWITCH_INTERVAL
    return value if 1e-4 <= value <= 0.1 else SWITCH_INTERVAL


def tune_process() -> None:
    """Freeze what start-up created, raise the GC thresholds, shorten the GIL switch
    interval; idempotent."""
    global _done
    if _done:
        return
    _done = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds())
    sys.setswitchinterval(switch_interval())

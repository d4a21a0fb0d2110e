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
"""

from __future__ import annotations

import gc
import os

GC_THRESHOLDS = (20_000, 20, 20)  # CPython's defaults: (700, 10, 10)
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


def tune_gc() -> None:
    """Freeze what start-up created and raise the thresholds; idempotent."""
    global _done
    if _done:
        return
    _done = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds())

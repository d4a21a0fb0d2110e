"""Numbers for figures, tables and widgets: compact JSON payloads and readable tick labels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def decimals_for(span: float, digits: int = 4) -> int:
    """Decimals that keep ``digits`` significant digits across a range of width ``span``."""
    if not (span > 0 and math.isfinite(span)):
        return digits
    return max(0, digits - 1 - math.floor(math.log10(span)))


def rounded(a: np.ndarray, decimals: int) -> list[Any]:
    """Array -> nested lists of floats rounded for a compact JSON payload (NaN -> None)."""
    r = np.round(np.asarray(a, dtype=np.float64), decimals)
    if np.isfinite(r).all():
        return list(r.tolist())
    return [None if not math.isfinite(v) else v for v in r.ravel().tolist()]


def significant(a: np.ndarray, digits: int = 4) -> list[float]:
    """Positive array -> list of floats with ``digits`` significant digits (log-axis data)."""
    a = np.asarray(a, dtype=np.float64)
    mag = np.floor(np.log10(np.maximum(np.abs(a), 1e-300)))
    scale = 10.0 ** (digits - 1 - mag)
    return list((np.rint(a * scale) / scale).tolist())


def log_range(span: Sequence[float]) -> list[float]:
    """A log axis range (log10 units) around ``span`` = [lo, hi], padded 6 %."""
    lo, hi = (math.log10(v) for v in span)
    pad = 0.06 * max(hi - lo, 0.5)
    return [lo - pad, hi + pad]


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_label(value: float) -> str:
    """A log-axis tick label: 1, 10, 100 and 10ⁿ for decades; 0.05, 2, 500 or 2×10ⁿ between."""
    k = math.floor(math.log10(value) + 1e-9)
    m = round(value / 10.0**k)
    if m == 10:
        m, k = 1, k + 1
    if m == 1:
        return {0: "1", 1: "10", 2: "100"}.get(k, "10" + str(k).translate(_SUPERSCRIPT))
    if -2 <= k <= 2:
        return f"{m * 10.0**k:.{max(0, -k)}f}"
    return f"{m}×10" + str(k).translate(_SUPERSCRIPT)


def fmt_number(v: Any) -> str:
    """A widget or table value: floats in ``%g``, everything else as text."""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)

"""Controls generated from the core's metadata: one widget per ``Hyper`` or ``Param``.

Widgets are drawn without a ``value=`` argument: their value lives in session state under a
fixed key, so that a page can write a whole state into them (a lesson, a shared link:
``Codec.apply``) and read it back. :func:`ensure` first replaces anything invalid there (an
out-of-range number from a URL, an option that no longer exists) with a valid value, so that
no combination of inputs can make a widget raise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from app.figures.format import fmt_number
from app.state.codec import Scalar
from optimizers import Hyper
from surfaces import Param

BETA_OPTIONS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)
MANTISSAS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)


def log_options(low: float, high: float) -> list[float]:
    """1-1.5-2-3-5-7 × 10^k values from ``low`` to ``high`` (both included)."""
    out = {float(low), float(high)}
    for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for m in MANTISSAS:
            v = float(f"{m * 10.0**e:.6g}")
            if low <= v <= high:
                out.add(v)
    return sorted(out)


def with_value(options: Sequence[Any], value: Any) -> list[Any]:
    """``options`` plus ``value`` (kept sorted for numbers), so a URL's exact value survives."""
    opts = list(options)
    if value in opts:
        return opts
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        nums = sorted([o for o in opts if isinstance(o, int | float)] + [float(value)])
        return [o for o in opts if not isinstance(o, int | float)] + nums
    return opts


def ensure(key: str, valid: Callable[[Any], bool], default: Any) -> Any:
    """Make ``st.session_state[key]`` valid for its widget before the widget is drawn."""
    if key not in st.session_state or not valid(st.session_state[key]):
        st.session_state[key] = default
    return st.session_state[key]


def in_range(low: float | None, high: float | None) -> Callable[[Any], bool]:
    def ok(v: Any) -> bool:
        return (
            isinstance(v, int | float)
            and not isinstance(v, bool)
            and math.isfinite(v)
            and (low is None or v >= low)
            and (high is None or v <= high)
        )

    return ok


def number_control(
    key: str,
    label: str,
    *,
    default: float,
    low: float | None,
    high: float | None,
    log: bool,
    kind: str,
    help: str,
    disabled: bool = False,
    open_high: bool = False,
    open_low: bool = False,
) -> float:
    """A control for one numeric parameter: log slider, linear slider or number box."""
    hi = high
    if high is not None and open_high:
        hi = high - (1e-4 if high <= 1 else 1e-6 * abs(high))
    lo = low
    if low is not None and open_low:
        lo = low + (1e-4 if not log else low * 1e-3) if low == 0 else low
    if log:
        if lo is None or lo <= 0:  # a log slider needs a positive bottom: 3 decades below
            lo = min(float(default) / 1000, 1e-5) if float(default) > 0 else 1e-6
        top = hi if hi is not None else max(float(default) * 1000, 1.0)
        value = ensure(key, in_range(lo, top), float(default))
        return float(
            st.select_slider(
                label,
                options=with_value(log_options(lo, top), value),
                key=key,
                format_func=fmt_number,
                help=help,
                disabled=disabled,
            )
        )
    if kind == "int":
        lo_i = int(lo) if lo is not None else 0
        hi_i = int(hi) if hi is not None else None
        ensure(key, lambda v: in_range(lo_i, hi_i)(v) and float(v).is_integer(), int(default))
        st.session_state[key] = int(st.session_state[key])
        return int(
            st.number_input(
                label, min_value=lo_i, max_value=hi_i, step=1, key=key, help=help, disabled=disabled
            )
        )
    if open_high and high == 1.0 and lo is not None and hi is not None and lo >= 0:
        opts = [b for b in BETA_OPTIONS if lo <= b <= hi]
        value = ensure(key, in_range(lo, hi), float(default))
        return float(
            st.select_slider(
                label,
                options=with_value(opts, float(value)),
                key=key,
                format_func=fmt_number,
                help=help,
                disabled=disabled,
            )
        )
    if lo is not None and hi is not None:
        value = ensure(key, in_range(lo, hi), float(default))
        if not isinstance(value, float):
            value = st.session_state[key] = float(value)
        step = float(f"{(hi - lo) / 100:.1g}")
        return float(
            st.slider(
                label,
                min_value=float(lo),
                max_value=float(hi),
                step=step,
                key=key,
                help=help,
                disabled=disabled,
            )
        )
    ensure(key, in_range(lo, hi), float(default))
    st.session_state[key] = float(st.session_state[key])
    return float(
        st.number_input(
            label,
            min_value=None if lo is None else float(lo),
            max_value=None if hi is None else float(hi),
            key=key,
            help=help,
            disabled=disabled,
            format="%g",
        )
    )


def choice_control(key: str, label: str, choices: Sequence[str], default: str, help: str) -> str:
    ensure(key, lambda v: v in choices, default)
    return str(st.selectbox(label, options=list(choices), key=key, help=help))


def bool_control(key: str, label: str, default: bool, help: str, disabled: bool = False) -> bool:
    ensure(key, lambda v: isinstance(v, bool), bool(default))
    return bool(st.checkbox(label, key=key, help=help, disabled=disabled))


def hyper_control(
    key: str, h: Hyper, *, label: str | None = None, disabled: bool = False
) -> Scalar:
    """A control built from a core ``Hyper`` (optimizer or schedule metadata): its plain
    ``label`` when it has one (the torch keyword then goes to the help), else the keyword."""
    name = h.label or h.name
    text = label or (f"{name} (${h.symbol}$)" if h.symbol else name)
    help = f"{h.help} (torch: `{h.name}`)" if h.label else h.help
    if h.kind == "bool":
        return bool_control(key, text, bool(h.default), help, disabled)
    if h.kind == "choice":
        return choice_control(key, text, h.choices, str(h.default), help)
    return number_control(
        key,
        text,
        default=float(h.default),
        low=h.low,
        high=h.high,
        log=h.log,
        kind=h.kind,
        help=help,
        disabled=disabled,
        open_high=h.open_high,
        open_low=h.open_low,
    )


def text_control(key: str, label: str, default: str, help: str, *, live: str = "400ms") -> str:
    """A typed text (a formula): committed after a pause in typing, so the page answers as
    the user types. Nothing is refused here; the caller validates and explains."""
    ensure(key, lambda v: isinstance(v, str), default)
    return str(
        st.text_input(label, key=key, help=help, live=live, autocomplete="off", placeholder=default)
    )


def optional_number_control(
    key: str, label: str, *, low: float | None, high: float | None, help: str, placeholder: str
) -> float | None:
    """A number box that may stay empty (None: the value is chosen automatically)."""
    ensure(key, lambda v: v is None or in_range(low, high)(v), None)
    value = st.number_input(
        label,
        min_value=None if low is None else float(low),
        max_value=None if high is None else float(high),
        value=None,
        key=key,
        help=help,
        placeholder=placeholder,
        format="%g",
    )
    return None if value is None else float(value)


def param_control(
    key: str, p: Param, *, label: str | None = None, placeholder: str = "automatic"
) -> Scalar | None:
    """A control built from a surface ``Param`` (an optional one may return None: left empty,
    shown as ``placeholder``)."""
    text = label or p.name
    if p.kind == "choice":
        return choice_control(key, text, p.choices, str(p.default), p.help)
    if p.kind == "text":
        return text_control(key, text, str(p.default), p.help)
    if p.default is None:
        return optional_number_control(
            key, text, low=p.low, high=p.high, help=p.help, placeholder=placeholder
        )
    return number_control(
        key,
        text,
        default=float(p.default),
        low=p.low,
        high=p.high,
        log=p.log,
        kind=p.kind,
        help=p.help,
    )

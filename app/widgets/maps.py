"""The Maps page's own controls: the view, the sweep's axes and ranges, the grid, the colour,
the basin map's window, the theory's settings and the range test's.

Keys (under ``maps.``): ``view``, ``x_axis``, ``y_axis``, ``x_range`` / ``y_range`` (the
state's value; the boxes ``x_range_lo`` / ``x_range_hi``), ``grid``, ``color``, ``tol``,
``basin_grid``, ``box``, ``click``, ``theory_lr`` / ``theory_beta`` (the state's value; the
switch ``*_on`` and the box ``*_value``), ``theory_lambda``, ``range_min``, ``range_max``,
``range_steps``, ``steps``, ``batch``, ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import streamlit as st

from app import axes
from app.state.keys import Keys
from app.state.maps import (
    CLICKS,
    COLOR_TITLES,
    COLORS,
    LAMBDAS,
    VIEW_TITLES,
    VIEWS,
)
from app.widgets.controls import ensure, in_range

FULL = "full batch"


def view_ui(keys: Keys) -> str:
    """Which map: sweep, basin, theory or range test (a row of buttons above the map).

    A click on the selected button would unselect it: the callback selects it again (a
    callback runs before the widget is drawn, so it may set its value), and a run without a
    value keeps the last view.
    """
    ss = st.session_state
    key, last = keys("view"), keys("_view_last")

    def keep_one() -> None:
        if ss.get(key) not in VIEWS:
            ss[key] = ss.get(last, "sweep")

    ensure(key, lambda v: v in VIEWS, ss.get(last, "sweep"))
    picked = st.segmented_control(
        "View",
        options=list(VIEWS),
        key=key,
        format_func=lambda v: VIEW_TITLES[v],
        label_visibility="collapsed",
        on_change=keep_one,
    )
    view = str(picked) if picked in VIEWS else str(ss.get(last, "sweep"))
    ss[last] = view
    return view


def axis_ui(keys: Keys, which: str, options: Sequence[str], default: str, avoid: str | None) -> str:
    """The x or y axis: a role, a numeric hyperparameter, batch size or steps."""
    opts = [o for o in options if o != avoid]
    key = keys(f"{which}_axis")
    asked = st.session_state.get(key)
    fallback = default if default in opts else opts[0]
    if isinstance(asked, str) and asked not in opts:
        why = (
            "is the other axis"
            if asked == avoid
            else "is not a numeric hyperparameter of the chosen optimizers"
        )
        st.warning(
            f"The {which} axis cannot be {axes.label(asked)}: it {why}. It is "
            f"{axes.label(fallback)} now."
        )
    ensure(key, lambda v: v in opts, fallback)
    return str(
        st.selectbox(
            f"{which} axis",
            options=opts,
            key=key,
            format_func=axes.label,
            help="any numeric hyperparameter of the chosen optimizers, the batch size or the "
            "number of steps; log or linear as the optimizer's metadata says",
        )
    )


def range_ui(keys: Keys, which: str, info: axes.AxisInfo) -> tuple[float, float] | None:
    """From and to of an axis; None when they are the axis's default range."""
    ss = st.session_state
    name = f"{which}_range"
    lo_key, hi_key, tag_key = keys(name + "_lo"), keys(name + "_hi"), keys("_" + name + "_for")
    tag = (info.key, info.default, info.low, info.high)
    if ss.get(tag_key) != tag or lo_key not in ss or hi_key not in ss:
        stored = ss.get(keys(name))
        lo, hi = info.clamp(*stored)[0] if isinstance(stored, tuple) else info.default
        ss[lo_key], ss[hi_key] = float(lo), float(hi)
        ss[tag_key] = tag
    for k, d in ((lo_key, info.default[0]), (hi_key, info.default[1])):
        v = ss[k]
        if not in_range(None, None)(v):
            ss[k] = float(d)
        elif not in_range(info.low, info.high)(v):
            ss[k] = float(min(max(v, info.low), info.high))
    c1, c2 = st.columns(2)
    fmt = "%g" if not info.integer else "%.0f"
    step = None if not info.integer else 1.0
    lo = c1.number_input(f"{which} from", info.low, info.high, key=lo_key, format=fmt, step=step)
    hi = c2.number_input(f"{which} to", info.low, info.high, key=hi_key, format=fmt, step=step)
    if not float(lo) < float(hi):
        st.warning(f"The {which} range needs from < to: using the default range.")
        ss[keys(name)] = None
        return None
    rng = (float(lo), float(hi))
    value = None if rng == (float(info.default[0]), float(info.default[1])) else rng
    ss[keys(name)] = value
    return value


def int_slider(
    keys: Keys, name: str, label: str, low: int, high: int, default: int, help: str, step: int = 1
) -> int:
    ensure(keys(name), lambda v: isinstance(v, int) and low <= v <= high, default)
    return int(st.slider(label, low, high, step=step, key=keys(name), help=help))


def grid_ui(keys: Keys, name: str, cap: int, default: int, what: str) -> int:
    return int_slider(
        keys,
        name,
        f"Grid ({what} per axis)",
        axes.MIN_CELLS,
        cap,
        default,
        f"up to {cap} × {cap}; the map is one vectorised run of every cell",
        step=8,
    )


def color_ui(keys: Keys, has_minima: bool) -> str:
    opts = list(COLORS) if has_minima else ["gap"]
    ensure(keys("color"), lambda v: v in opts, opts[0])
    return str(
        st.selectbox(
            "Colour by",
            options=opts,
            key=keys("color"),
            format_func=lambda c: COLOR_TITLES[c] if has_minima else "final loss",
            help="final loss gap (log), steps until the loss gap is below the tolerance, "
            "distance to the nearest minimum (log) or the measured convergence rate per step",
        )
    )


def tol_ui(keys: Keys) -> float:
    opts = [10.0**e for e in range(-12, 3)]
    ensure(keys("tol"), lambda v: v in opts or in_range(1e-12, 1e3)(v), 1e-3)
    value = st.session_state[keys("tol")]
    if value not in opts:
        opts = sorted({*opts, float(value)})
    return float(
        st.select_slider(
            "Tolerance on the loss gap",
            options=opts,
            key=keys("tol"),
            format_func=lambda v: f"{v:g}",
            help="a run is within tolerance once its loss is within this of the minimum's",
        )
    )


def run_ui(keys: Keys, n_samples: int, max_steps: int, default_steps: int) -> dict[str, Any]:
    """Steps, batch size and seed of every run."""
    out: dict[str, Any] = {}
    out["steps"] = int_slider(
        keys, "steps", "Steps", 1, max_steps, default_steps, "steps of every run of the map"
    )
    opts: list[Any] = [*range(1, max(n_samples, 1)), FULL]
    ensure(keys("batch"), lambda v: v in opts, FULL)
    batch = st.select_slider(
        f"Batch size (N = {n_samples})",
        options=opts,
        key=keys("batch"),
        help="samples per gradient; 'full batch' is exact gradient descent",
    )
    out["batch_size"] = None if batch == FULL else int(batch)
    ensure(keys("seed"), lambda v: isinstance(v, int) and 0 <= v < 2**32, 0)
    out["seed"] = int(st.number_input("Random seed", 0, 2**32 - 1, step=1, key=keys("seed")))
    return out


def click_ui(keys: Keys) -> str:
    ensure(keys("click"), lambda v: v in CLICKS, "race")
    return str(
        st.radio(
            "A click on the map",
            options=list(CLICKS),
            key=keys("click"),
            format_func=lambda c: (
                "opens that run's race on Explore"
                if c == "race"
                else "zooms in 4× there (recomputed finer)"
            ),
            horizontal=False,
        )
    )


def optional_number_ui(
    keys: Keys, name: str, label: str, default: float, low: float, high: float, help: str
) -> float | None:
    """A value that is either the theory's optimum (None) or the one typed in."""
    ss = st.session_state
    on_key, value_key = keys(name + "_on"), keys(name + "_value")
    stored = ss.get(keys(name))
    if on_key not in ss:
        ss[on_key] = stored is not None
    if value_key not in ss or not in_range(low, high)(ss[value_key]):
        v = stored if isinstance(stored, float | int) else default
        ss[value_key] = float(min(max(v, low), high)) if math.isfinite(v) else low
    own = st.checkbox(f"Set {label} myself", key=on_key, help=help)
    if not own:
        ss[keys(name)] = None
        st.caption(f"{label} = {default:.4g} (the optimum)")
        return None
    value = float(st.number_input(label, low, high, key=value_key, format="%g"))
    ss[keys(name)] = value
    return value


def lambda_ui(keys: Keys) -> str:
    ensure(keys("theory_lambda"), lambda v: v in LAMBDAS, "min")
    return str(
        st.radio(
            "Damping regimes along",
            options=list(LAMBDAS),
            key=keys("theory_lambda"),
            format_func=lambda v: "the smallest eigenvalue λ₁" if v == "min" else "the largest",
            horizontal=True,
        )
    )

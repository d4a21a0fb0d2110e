"""Where the runs start: exact coordinates, a click on the surface, and a swarm of starts.

Keys (under the page's namespace): ``start_x``, ``start_y`` (``_start_surface`` remembers
which surface, and which typed formula, they belong to), ``swarm``.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

import surfaces
from app.figures.race import CLICK_TARGET, EXPLAINED
from app.state.explore import MAX_SWARM, start_owner
from app.state.keys import Keys
from app.widgets.controls import ensure, in_range


def start_ui(keys: Keys, surface: surfaces.Surface) -> dict[str, Any]:
    """Exact start coordinates (a click on the chart writes the same keys) and the swarm size.

    Returns ``start`` (None: the surface's default start) and ``swarm``.
    """
    ss = st.session_state
    dx, dy = surface.default_start
    owner = start_owner(surface.name, surface.params)
    if ss.get(keys("_start_surface")) != owner:
        ss[keys("start_x")], ss[keys("start_y")] = float(dx), float(dy)
        ss[keys("_start_surface")] = owner
    coords = []
    for col, key, label, (lo, hi), d in zip(
        st.columns(2),
        (keys("start_x"), keys("start_y")),
        surface.axis_labels,
        surface.bounds,
        (dx, dy),
        strict=True,
    ):
        ensure(key, in_range(lo, hi), float(d))
        coords.append(
            col.number_input(
                f"start {label}",
                min_value=float(lo),
                max_value=float(hi),
                step=(hi - lo) / 100,
                key=key,
                format="%.3f",
            )
        )
    x, y = coords
    ensure(keys("swarm"), lambda v: isinstance(v, int) and 1 <= v <= MAX_SWARM, 1)
    swarm = int(
        st.slider(
            "Starts (swarm)",
            1,
            MAX_SWARM,
            key=keys("swarm"),
            help="1: one start; more: a ring of starts around it, every optimizer from each",
        )
    )
    start = None if (float(x), float(y)) == (float(dx), float(dy)) else (float(x), float(y))
    return {"start": start, "swarm": swarm}


def take_click(keys: Keys, chart_key: str) -> None:
    """What the race chart reported (app/ui/bridge.py): a click on the surface moves the start
    to the point clicked; a move of the scrubber sets the step the maths explains.

    Call before :func:`start_ui` and the maths panel draw their widgets. The page stores, when
    it draws the chart, the trace indices by name (``_chart_traces``), the surface's bounds
    and how many decimals a coordinate needs (``_click_bounds``, ``_click_decimals``).
    """
    ss = st.session_state
    event: Any = ss.get(chart_key)
    try:
        points = event["selection"]["points"] if event else []
    except (KeyError, TypeError):
        return
    if not points:
        ss.pop(keys("_last_click"), None)  # deselected: the same point may come again
        return
    p = points[0]
    sig = (p.get("curve_number"), p.get("point_index"), p.get("x"), p.get("y"))
    if sig == ss.get(keys("_last_click")):
        return
    ss[keys("_last_click")] = sig
    traces = ss.get(keys("_chart_traces"), {})
    try:
        x, y = float(p["x"]), float(p["y"])
    except (KeyError, TypeError, ValueError):
        return
    if not (math.isfinite(x) and math.isfinite(y)):
        return
    if p.get("curve_number") == traces.get(EXPLAINED):
        ss[keys("explain_step")] = max(1, round(x))
        return
    if p.get("curve_number") != traces.get(CLICK_TARGET):
        return
    (x0, x1), (y0, y1) = ss.get(keys("_click_bounds"), ((-math.inf, math.inf),) * 2)
    dec = int(ss.get(keys("_click_decimals"), 3))
    ss[keys("start_x")] = round(min(max(x, x0), x1), dec)
    ss[keys("start_y")] = round(min(max(y, y0), y1), dec)

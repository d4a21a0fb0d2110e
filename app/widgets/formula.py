"""Feedback under a typed f(x, y): the formula in LaTeX, an error with a caret under the place
and what was expected, warnings where f has no gradient, and what the search found.

Everything said here comes from the core (``surfaces.formula_feedback``, the surface's
minima and saddles); text that may quote the user's input is escaped before it is drawn.
"""

from __future__ import annotations

import streamlit as st

import surfaces
from app.figures.format import decimals_for
from app.state.codec import escape_markdown
from surfaces.formula import Feedback


def formula_feedback_ui(text: str) -> Feedback:
    """Draw what the user should see about ``text`` while typing; returns the feedback."""
    fb = surfaces.formula_feedback(text)
    if fb.latex:  # inline maths: a long formula wraps after its + and - in the sidebar
        st.markdown(f"$f(x, y) = {fb.latex}$")
    if not fb.ok:
        where = f" (column {fb.column})" if fb.column is not None else ""
        st.error(escape_markdown(fb.error, limit=400) + where, icon=":material/error:")
        if fb.caret:
            st.code(fb.caret, language=None, wrap_lines=False)
    for warning in fb.warnings:
        st.caption(":material/warning: " + escape_markdown(warning, limit=200))
    return fb


def critical_points_caption(surface: surfaces.Surface) -> str:
    """What the numerical search found inside the bounds, in one plain sentence."""
    mins, sads = surface.minima, surface.saddles
    if not mins and not sads:
        return (
            "Minima and saddle points: none found inside the bounds. Either f has none there "
            "(it keeps falling towards an edge, like x + y or a logistic loss) or a kink "
            "such as abs, min or max hides them from the search, which follows the gradient "
            "and curvature."
        )

    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}" if n else f"no {one}"

    found = count(len(mins), "minimum", "minima")
    found += " and " + count(len(sads), "saddle point", "saddle points")
    tail = ""
    if mins:
        best = min(mins, key=lambda p: p.value)
        (x0, x1), (y0, y1) = surface.bounds
        x, y = _shown(best.xy[0], x1 - x0), _shown(best.xy[1], y1 - y0)
        tail = f"; lowest f = {best.value:.4g} at ({x}, {y})"
    return f"Found numerically inside the bounds: {found}, marked on the chart{tail}."


def _shown(v: float, span: float) -> str:
    """A coordinate to 1e-4 of the axis span (-3e-09 on a span of 10 is 0)."""
    return f"{round(v, decimals_for(span, 5)) + 0.0:g}"

"""How things look: the view options every page shares (large fonts, dark figures, presenter
mode: app-wide ``app.`` keys) and a page's own view switches (3-D view, stacked curves)."""

from __future__ import annotations

import streamlit as st

from app.state import view
from app.state.keys import Keys
from app.widgets.controls import bool_control


def view_ui() -> dict[str, bool]:
    """Large fonts, dark figure, presenter mode: the same three switches on every page.

    They are the room's settings: their widget keys are app-wide, and their values are kept
    in plain session keys (``view.KEPT``) that app/ui/frame.py writes back into the widgets
    when the visitor enters another page (Streamlit resets a widget that a page switch
    unmounts).
    """
    return {
        "large_fonts": _kept(
            "large_fonts", "Large fonts", "for a projector at the back of the room"
        ),
        "dark": _kept("dark", "Dark figure", "dark chart background"),
        "embed": _kept("embed", "Presenter mode", "hide the controls, enlarge the content"),
    }


def _kept(name: str, label: str, help: str) -> bool:
    key = view.KEYS[name]
    if not isinstance(st.session_state.get(key, False), bool):
        st.session_state[key] = False
    value = bool(st.checkbox(label, key=key, help=help))
    st.session_state[view.KEPT[name]] = value
    return value


def view_3d_ui(keys: Keys) -> bool:
    return bool_control(keys("view_3d"), "3-D view", False, "the surface in 3-D with the paths")


def stacked_ui(keys: Keys) -> bool:
    """Curves under the surface (for narrow screens); a view setting, not part of the race."""
    return bool_control(
        keys("stacked"), "Curves under the surface", False, "for narrow screens such as a tablet"
    )

"""Lessons as buttons: Explore's Lessons popover, the note on what to watch, and the
catalogue's cards (app/views/lessons.py) that open a lesson on its page."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import compute, presets, routes
from app.presets import Preset
from app.state import codec_for
from app.state.keys import Keys
from app.ui import frame


def note_key(page: str) -> str:
    """Where a page remembers the lesson whose note it shows."""
    return Keys(page)("lesson")


def presets_ui(keys: Keys, show_note: bool = False) -> Any:
    """One button per lesson of the page ``keys`` belongs to; returns the lesson's state on
    the run its button was clicked.

    The chosen lesson's "what to watch" note is drawn by :func:`lesson_note_ui` where the page
    wants it (outside the Lessons popover); ``show_note=True`` draws it here instead. Never
    both in one run: the note's hide button has a fixed key.
    """
    clicked: Any = None
    cols = st.columns(3)
    for i, p in enumerate(presets.for_page(keys.page)):
        with cols[i % 3]:
            if st.button(p.title, key=keys(f"lesson_{p.key}"), help=p.watch, width="stretch"):
                st.session_state[keys("lesson")] = p.key
                clicked = p.state
    if show_note:
        lesson_note_ui(keys)
    return clicked


def lesson_note_ui(keys: Keys) -> None:
    """The chosen lesson's "what to watch" note, until another lesson is chosen or it is hidden."""
    key = st.session_state.get(keys("lesson"))
    if key not in presets.BY_KEY:
        return
    p = presets.BY_KEY[key]
    note, close = st.columns([12, 1], vertical_alignment="center")
    note.info(f"**{p.title}.** {p.watch}", icon=":material/school:")
    close.button(
        "✕",
        key=keys("lesson_note_hide"),
        help="Hide this note",
        on_click=lambda: st.session_state.pop(keys("lesson"), None),
    )


def lesson_card(p: Preset, keys: Keys, *, dark: bool) -> None:
    """One lesson in the catalogue: its still picture, title, what it teaches, and a button
    that opens it on its page (its share link, with its note on what to watch)."""
    with st.container(border=True):
        st.image(lesson_picture(p, dark=dark), width="stretch")
        st.markdown(f"**{p.title}**")
        st.caption(p.watch)
        if st.button(
            "Open on " + routes.title(p.page),
            key=keys("open", p.key),
            icon=":material/play_arrow:",
            type="primary",
            width="stretch",
        ):
            open_lesson(p)


def lesson_picture(p: Preset, *, dark: bool) -> bytes:
    """The lesson's still picture, drawn by its page's compute module (cached there)."""
    if p.page == "networks":
        from app import netcompute

        return netcompute.lesson_picture(p.state, dark=dark)
    return compute.lesson_picture(p.state, dark=dark)


def open_lesson(p: Preset) -> None:
    """Go to the lesson's page with the lesson's state in the URL and its note shown."""
    st.session_state[note_key(p.page)] = p.key
    st.session_state[frame.TO_TOP_KEY] = True  # the page opens at its top, not mid-way
    st.switch_page(routes.script(p.page), query_params=codec_for(p.state).encode(p.state))

"""Lessons as buttons: Explore's Lessons popover, the note on what to watch, and the
catalogue's cards (app/views/lessons.py) that open a lesson on its page."""

from __future__ import annotations

import html
from collections.abc import Sequence
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


def choose_lesson(keys: Keys, key: str) -> None:
    """A lesson button's callback: the lesson waits under :func:`pending_key` for the page to
    open it at the top of this run (:func:`take_pending_lesson`), and the page's Lessons
    popover (:func:`lessons_popover`) closes, so the lecturer sees the lesson at once (a
    callback may set a widget's state; the script may not once the widget is drawn)."""
    st.session_state[pending_key(keys)] = key
    st.session_state[keys("lessons_open")] = False


def lessons_popover(
    container: Any, keys: Keys, lessons: Sequence[Preset], columns: int = 3
) -> None:
    """The page's "Lessons" popover in ``container``, its buttons drawn only while it is open
    (opening it reruns)."""
    pop = container.popover("Lessons", width="stretch", key=keys("lessons_open"), on_change="rerun")
    if pop.open:
        with pop:
            lesson_buttons(keys, lessons, columns)


def lesson_buttons(keys: Keys, lessons: Sequence[Preset], columns: int = 3) -> None:
    """One button per lesson: a click chooses it (:func:`choose_lesson`); the page opens it
    with :func:`take_pending_lesson` at the top of its run, its race, never its display (see
    app/views/explore.py), and draws its "what to watch" note with :func:`lesson_note_ui`."""
    cols = st.columns(columns)
    for i, p in enumerate(lessons):
        with cols[i % columns]:
            st.button(
                p.title,
                key=keys(f"lesson_{p.key}"),
                help=p.watch,
                width="stretch",
                on_click=choose_lesson,
                args=(keys, p.key),
            )


NOTE_CSS = """<style>
.op-note {font-size: 0.92rem; line-height: 1.35; padding: 0.35rem 0.7rem; margin: 0;
  border-left: 4px solid #0072B2; border-radius: 0.35rem; background: rgba(0, 114, 178, 0.09);}
</style>"""


def open_lesson_key(keys: Keys) -> str | None:
    """The key of the lesson whose note the page shows (None when none is)."""
    key = st.session_state.get(keys("lesson"))
    return key if key in presets.BY_KEY else None


def lesson_note_ui(keys: Keys) -> int:
    """The open lesson's "what to watch" note, compact, with a button that hides it (the
    lesson stays in the race). Returns the length of the note shown (0: none)."""
    key = open_lesson_key(keys)
    if key is None:
        return 0
    p = presets.BY_KEY[key]
    note, close = st.columns([30, 1], vertical_alignment="top", gap="small")
    note.html(NOTE_CSS)
    note.markdown(
        f'<p class="op-note"><b>{html.escape(p.title)}.</b> {html.escape(p.watch)}</p>',
        unsafe_allow_html=True,
    )
    close.button(
        "✕",
        key=keys("lesson_note_hide"),
        help="Hide this note",
        type="tertiary",
        on_click=lambda: st.session_state.update({keys("lesson"): None}),
    )
    return len(p.title) + 2 + len(p.watch)


def pending_key(keys: Keys) -> str:
    """Where a lesson button leaves the lesson for the page to open on its run."""
    return keys("_lesson_pending")


def lesson_steps_ui(keys: Keys, before: Any, after: Any) -> None:
    """Previous / next lesson (presenter mode), in the containers ``before`` and ``after``:
    the course one lesson at a time. A click leaves the lesson under :func:`pending_key`,
    which the page opens at the top of its next run (before anything is drawn)."""
    course = presets.course("explore")
    key = open_lesson_key(keys)
    at = next((i for i, p in enumerate(course) if p.key == key), None)
    prev_i = (len(course) - 1 if at is None else at - 1) if course else -1
    next_i = 0 if at is None else at + 1

    def go(i: int) -> None:
        st.session_state[pending_key(keys)] = course[i].key

    before.button(
        "◀ Lesson",
        key=keys("lesson_prev"),
        help="the previous lesson" + (f": {course[prev_i].title}" if prev_i >= 0 else ""),
        disabled=prev_i < 0,
        width="stretch",
        on_click=go,
        args=(prev_i,),
    )
    after.button(
        "Lesson ▶",
        key=keys("lesson_next"),
        help="the next lesson" + (f": {course[next_i].title}" if next_i < len(course) else ""),
        disabled=next_i >= len(course),
        width="stretch",
        on_click=go,
        args=(next_i,),
    )


def take_pending_lesson(keys: Keys) -> Preset | None:
    """The lesson of this page a lesson button or a previous / next button asked for (once)."""
    key = st.session_state.pop(pending_key(keys), None)
    p = presets.BY_KEY.get(key) if isinstance(key, str) else None
    return p if p is not None and p.page == keys.page else None


def picture(p: Preset, *, dark: bool) -> bytes:
    """A lesson's still picture, drawn by its own page's code (cached there)."""
    if p.page == "maps":
        from app.ui import maps_runner

        return maps_runner.lesson_picture(p.state, dark=dark)
    if p.page == "networks":
        from app import netcompute

        return netcompute.lesson_picture(p.state, dark=dark)
    return compute.lesson_picture(p.state, dark=dark)


def lesson_card(p: Preset, keys: Keys, *, dark: bool) -> None:
    """One lesson in the catalogue: its still picture, title, what it teaches, and a button
    that opens it on its page (its share link, with its note on what to watch)."""
    with st.container(border=True):
        st.image(picture(p, dark=dark), width="stretch")
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


def open_lesson(p: Preset) -> None:
    """Go to the lesson's page with the lesson's state in the URL and its note shown."""
    st.session_state[note_key(p.page)] = p.key
    st.session_state[frame.TO_TOP_KEY] = True  # the page opens at its top, not mid-way
    state = presets.with_note(p)
    st.switch_page(routes.script(p.page), query_params=codec_for(state).encode(state))

"""The Lessons page: every lesson, grouped by topic, for a lecturer planning a class.

Each lesson shows its title, what it teaches, a small still picture of its race (cached:
app/compute.py) and a button that opens it on its page. Reads top to bottom like every page:
the state from the link (``?topic=momentum``) or the last visit, the widgets, the cards, the
state back to the URL.
"""

from __future__ import annotations

import streamlit as st

from app import presets
from app.state.keys import LESSONS as K
from app.state.lessons import CODEC, LessonsState, topic_keys
from app.ui import frame
from app.ui.lessons_panel import lesson_card
from app.ui.share import share_popover
from app.widgets.controls import ensure
from app.widgets.display import view_ui

COLUMNS = 3
ss = st.session_state


def apply(state: LessonsState) -> None:
    CODEC.apply(state, ss)


def topic_ui() -> str | None:
    """One topic, or every lesson when none is picked."""
    keys = topic_keys()
    ensure(K("topic"), lambda v: v is None or v in keys, None)
    picked = st.pills(
        "Topic",
        options=keys,
        key=K("topic"),
        format_func=lambda k: presets.TOPIC_BY_KEY[k].title,
        help="show the lessons of one topic; pick it again to show every lesson",
    )
    return None if picked is None else str(picked)


# ---------------------------------------------------------------- the page

url_warnings = frame.enter(CODEC, K, apply)
with frame.error_boundary("Lessons", K):
    presenter = frame.presenting()
    frame.style_page(presenter=presenter)
    with st.sidebar:
        st.markdown("## Optimizer Playground\n#### Display")
        shared_view = view_ui()
    st.markdown(
        "### Lessons\nEvery lesson of the course, by topic: a complete race with what to watch. "
        "**Open** runs it on its page, where every setting can then be changed."
    )
    for w in url_warnings:
        st.warning(w)
    state = LessonsState(
        topic=topic_ui(),
        large_fonts=shared_view["large_fonts"],
        dark=shared_view["dark"],
        embed=shared_view["embed"] or presenter,
    )
    with st.sidebar:
        share_popover(state, K, label="Share this page", what="the lessons of the chosen topic")
    if state.embed and not frame.embedded_by_link():
        frame.leave_presenter_button()
    dark = frame.dark_figures(state.dark)
    for topic, lessons in presets.by_topic(state.topic):
        st.markdown(f"#### {topic.title}\n{topic.blurb}")
        for row in range(0, len(lessons), COLUMNS):
            for col, p in zip(st.columns(COLUMNS), lessons[row : row + COLUMNS], strict=False):
                with col:
                    lesson_card(p, K, dark=dark)
    frame.leave(CODEC, K, state)

"""The share popover: the link that reopens exactly what is on screen, for any page.

The address bar always holds the page's state (app/ui/frame.py writes it); the popover shows
the full link with a copy button, and is drawn only while open (one element less per rerun).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.state import codec_for
from app.state.codec import query_string
from app.state.keys import Keys


def base_url() -> str:
    try:
        url = str(st.context.url or "")
    except Exception:  # older streamlit or no browser session (AppTest)
        url = ""
    return url.split("?", 1)[0].split("#", 1)[0]


def share_url(state: Any) -> str:
    """The full link that reopens ``state`` (relative when the page's address is unknown)."""
    qs = query_string(codec_for(state).encode(state))
    return f"{base_url()}?{qs}" if qs else (base_url() or "?")


def share_ui(state: Any, what: str = "every setting") -> None:
    """ "Copy link": the full URL in a code box (its copy button is at the box's right)."""
    st.code(share_url(state), language=None, wrap_lines=True)
    st.caption(
        "Copy this link with the button at the right of the box. Whoever opens it sees exactly "
        f"this: {what}. Add `&embed=1` for presenter mode (controls hidden, content enlarged)."
    )


def share_popover(state: Any, keys: Keys, *, label: str = "Share this race", what: str) -> None:
    """The popover with the link; its content is drawn only while it is open (opening reruns)."""
    pop = st.popover(
        label, icon=":material/link:", width="stretch", key=keys("share_open"), on_change="rerun"
    )
    if pop.open:
        with pop:
            share_ui(state, what)

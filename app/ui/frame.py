"""What every page does around its content: its state from the link or from the last visit,
the view options (presenter mode, large fonts, theme), the error boundary, and the state back
to the URL.

A page script reads::

    warnings = frame.enter(CODEC, K, apply)      # the link, or the state it had when left
    with frame.error_boundary("Explore", K):     # a friendly line instead of a traceback
        ...                                      # widgets -> cached compute -> figures
        frame.leave(CODEC, K, state)             # remember it, and write it to the URL
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app.state import view
from app.state.codec import Codec
from app.state.keys import APP, Keys

log = logging.getLogger(__name__)
S = TypeVar("S")

PAGE_KEY = APP("_page")  # the page of the previous run (the router sets it)
TO_TOP_KEY = APP("_to_top")  # set by a button that opens another page
TO_TOP_JS = """<script>
for (const el of [document.scrollingElement,
                  document.querySelector('[data-testid="stMain"]'),
                  window.parent.document.querySelector('[data-testid="stMain"]')]) {
  if (el) { el.scrollTop = 0; }
}
</script>"""
ENTERED_KEY = APP("_entered")  # True on the first run of a visit to a page
TRUE_WORDS = ("1", "true", "yes", "on")
EMBED_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], header[data-testid="stHeader"] {display: none;}
.block-container {padding-top: 1rem; max-width: 100%;}
</style>
"""
LARGE_CSS = """
<style>
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stCaptionContainer"],
[data-testid="stMain"] [data-testid="stExpander"] summary p {font-size: 1.3rem !important;}
[data-testid="stSidebar"] [data-testid="stWidgetLabel"] p {font-size: 1.05rem !important;}
</style>
"""
# the top navigation bar is about 4 rem tall: the content starts below it
COMPACT_CSS = """
<style>
.block-container {padding-top: 4.25rem; padding-bottom: 1rem;}
[data-testid="stSidebar"] [data-testid="stVerticalBlock"] {gap: 0.55rem;}
</style>
"""
SORRY = (
    "Sorry, something went wrong while drawing this page. Change a setting or reload the page "
    "to start over; the details were written to the server log."
)


# ---------------------------------------------------------------- state in, state out


def note_page(page: str) -> None:
    """Called by the router before a page runs: was this run the first of a visit to it?"""
    ss = st.session_state
    ss[ENTERED_KEY] = ss.get(PAGE_KEY) != page
    ss[PAGE_KEY] = page


def query_dict() -> dict[str, str | list[str]]:
    """The page's query parameters (Streamlit keeps ``embed`` to itself)."""
    out: dict[str, str | list[str]] = {}
    for key in st.query_params:
        values = st.query_params.get_all(key)
        out[key] = values[0] if len(values) == 1 else list(values)
    return out


def enter(
    codec: Codec[S],
    keys: Keys,
    apply: Callable[[S], None],
    complete: Callable[[S, dict[str, Any]], S] | None = None,
) -> list[str]:
    """On the first run of a visit: the state from the link, else the one the page had when
    the visitor left it; written into the widgets with ``apply``. Returns the link's warnings.

    ``complete(state, query)`` may fill in what a link leaves to the page (Explore: the default
    optimizers when the link names none). A plain first visit leaves the widgets at their
    defaults. Later runs of the same visit do nothing: the widgets hold the state.
    """
    ss = st.session_state
    if not ss.get(ENTERED_KEY, True):
        return []
    ss[ENTERED_KEY] = False
    if ss.pop(TO_TOP_KEY, False):  # Streamlit keeps the scroll position across a page switch
        st.html(TO_TOP_JS, unsafe_allow_javascript=True)
    for name, kept in view.KEPT.items():  # the room's view options, as on the last page
        if kept in ss:
            ss[view.KEYS[name]] = ss[kept]
    query = query_dict()
    if query:
        state, warnings = codec.decode(query)
        state = complete(state, query) if complete else state
        apply(keep_display(codec, keys, state, query))
        return list(warnings)
    saved = ss.get(keys("_saved"))
    if isinstance(saved, codec.cls):
        # back from another page: as it was left, with the room's view options as they are now
        shared = {f: bool(ss.get(view.KEYS[f], False)) for f in view.VIEW_FIELDS}
        apply(dataclasses.replace(cast(Any, saved), **shared))
    return []


def keep_display(codec: Codec[S], keys: Keys, state: S, query: dict[str, Any]) -> S:
    """``state`` with the display options the link does not set kept as the visitor has them.

    A link (or a lesson opened from the catalogue, which is a link) changes the race, not the
    room: large fonts, the dark figure and presenter mode stay as they are on every page, and
    a page's own display options (Explore's 3-D view) as the page had them, unless the link
    names them.
    """
    ss = st.session_state
    url_keys = codec.keys()
    saved = ss.get(keys("_saved"))
    kept: dict[str, Any] = {}
    for name in codec.display:
        if url_keys.get(name) in query:
            continue
        if name in view.KEPT and view.KEPT[name] in ss:
            kept[name] = bool(ss[view.KEPT[name]])
        elif isinstance(saved, codec.cls):
            kept[name] = getattr(saved, name)
    return dataclasses.replace(cast(Any, state), **kept) if kept else state


def leave(codec: Codec[S], keys: Keys, state: S) -> None:
    """At the end of a run: remember the state (for the next visit) and put it in the URL."""
    st.session_state[keys("_saved")] = state
    query = codec.encode(state)
    query.pop("embed", None)  # reserved by Streamlit; it keeps the browser's own value
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)


# ---------------------------------------------------------------- view options


def embedded_by_link() -> bool:
    """``?embed=1`` or ``?embed=true``: presenter mode from the link.

    Streamlit reserves the ``embed`` query key and hides it from ``st.query_params``;
    ``st.context.is_embedded`` is true only for ``embed=true``, so the raw query string of
    the run (what the browser sent) is read as well.
    """
    try:
        if st.context.is_embedded:
            return True
    except AttributeError:  # a Streamlit without st.context.is_embedded
        pass
    ctx = get_script_run_ctx()
    raw = str(getattr(ctx, "query_string", "") or "")
    return any(v.strip().lower() in TRUE_WORDS for v in parse_qs(raw).get("embed", []))


def presenting() -> bool:
    """Presenter mode: from the switch or from the link."""
    ss = st.session_state
    return bool(ss.get(view.EMBED, ss.get(view.KEPT["embed"]))) or embedded_by_link()


def style_page(*, presenter: bool) -> None:
    """The page's CSS: presenter mode hides the controls; large fonts enlarge the text."""
    st.html(EMBED_CSS if presenter else COMPACT_CSS)
    if st.session_state.get(view.LARGE_FONTS):
        st.html(LARGE_CSS)


def leave_presenter_button() -> None:
    """In presenter mode turned on by the switch (not by the link): a way back."""
    st.button(
        "Show the controls (leave presenter mode)",
        on_click=lambda: st.session_state.update({view.EMBED: False}),
    )


def dark_figures(dark_option: bool) -> bool:
    """Dark figures when asked for, or when the page itself is dark.

    The browser reports its theme in ``st.context.theme`` only reliably after the session's
    first run, so the first run goes by the server's configured ``theme.base``.
    """
    if dark_option:
        return True
    first = not st.session_state.get(APP("_theme_seen"))
    st.session_state[APP("_theme_seen")] = True
    try:
        reported = None if first else st.context.theme.type
    except AttributeError:  # a Streamlit without st.context.theme
        reported = None
    if reported in ("dark", "light"):
        return reported == "dark"
    return str(st.get_option("theme.base") or "").lower() == "dark"


# ---------------------------------------------------------------- the error boundary


@contextlib.contextmanager
def error_boundary(page: str, keys: Keys) -> Iterator[None]:
    """Any unexpected exception in the block is logged with its traceback on the server and
    shown as one short, friendly message: the audience never sees a traceback.

    Streamlit's own control flow (``st.rerun``, ``st.switch_page``) passes through. The run's
    server time (wall and CPU) is kept in ``<page>._run_ms`` / ``_run_cpu_ms`` for
    benchmarks/bench_app.py.
    """
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    except Exception:
        log.exception("%s page failed", page)
        st.error(SORRY)
    finally:
        st.session_state[keys("_run_ms")] = (time.perf_counter() - started) * 1000
        st.session_state[keys("_run_cpu_ms")] = (time.thread_time() - cpu) * 1000

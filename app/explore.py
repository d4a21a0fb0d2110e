"""The Explore page: optimizers race across a surface; every control redraws the race.

Reads like a script: the URL (first run only) and presets fill the widgets; the ``*_ui``
functions of app/controls.py draw them and return plain values gathered into one
:class:`AppState`; app/compute.py turns it into cached trajectories; app/figures.py turns those
into a plain plotly dict; the state is written back to the URL after every run.

Any unexpected exception in the page body is logged with its traceback on the server and
shown as one short, friendly message: the audience never sees a traceback.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import optimizers
from app import compute, controls, figures, runtime, urlstate
from app.classroom_ui import explain_ui, exports_ui, lesson_note_ui, presets_ui, share_ui
from app.state import PAGE_HYPER, AppState
from optimizers import Hyper

log = logging.getLogger(__name__)
runtime.tune_process()  # once per process: the first run imports this module

CHART_KEY = "race"
LESSONS_KEY = "lessons_open"
SHARE_KEY = "share_open"
MATHS, EXPORT, ABOUT = "Step-by-step maths", "Export", "About the optimizers"
PANELS = (MATHS, EXPORT, ABOUT)
TRUE_WORDS = ("1", "true", "yes", "on")
MODEBAR_REMOVE = ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]
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
COMPACT_CSS = """
<style>
.block-container {padding-top: 3rem; padding-bottom: 1rem;}
[data-testid="stSidebar"] [data-testid="stVerticalBlock"] {gap: 0.55rem;}
</style>
"""


def apply_state(state: AppState) -> None:
    """Write ``state`` into every widget of the page (used for presets and shared links).

    Call before the widgets are drawn in a run; values a widget cannot show are repaired
    when it is drawn (see app/controls.py).
    """
    controls.apply_state(state)
    st.session_state.pop("explain_label", None)  # the explain panel re-reads explain_optimizer
    if state.explain_optimizer:
        st.session_state["panels"] = [MATHS, ABOUT]
    st.session_state["_compare"] = (tuple(state.compare_lrs), tuple(state.compare_batch_sizes))


def _query_dict() -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key in st.query_params:
        values = st.query_params.get_all(key)
        out[key] = values[0] if len(values) == 1 else list(values)
    return out


def _load_url_once() -> list[str]:
    """On a session's first run, restore the state from the query string."""
    if st.session_state.get("_url_loaded"):
        return []
    st.session_state["_url_loaded"] = True
    query = _query_dict()
    if not query:
        return []  # a plain visit: the widgets start from their defaults
    state, warnings = urlstate.decode(query)
    if not state.optimizers and urlstate.KEYS["optimizers"] not in query:
        state = replace(state, optimizers=tuple(controls.default_optimizers()))
    apply_state(state)
    return list(warnings)


def _take_click() -> None:
    """A click on the surface (a point of the invisible grid) moves the start there."""
    event: Any = st.session_state.get(CHART_KEY)
    try:
        points = event["selection"]["points"] if event else []
    except (KeyError, TypeError):
        return
    if not points:
        st.session_state.pop("_last_click", None)  # deselected: the same point may come again
        return
    p = points[0]
    sig = (p.get("curve_number"), p.get("point_index"), p.get("x"), p.get("y"))
    if sig == st.session_state.get("_last_click"):
        return
    st.session_state["_last_click"] = sig
    if p.get("curve_number") not in st.session_state.get("_surface_traces", (0,)):
        return
    try:
        x, y = float(p["x"]), float(p["y"])
    except (KeyError, TypeError, ValueError):
        return
    st.session_state["start_x"], st.session_state["start_y"] = round(x, 3), round(y, 3)


def read_state() -> AppState:
    """Draw the sidebar controls and gather their values into one AppState."""
    ss = st.session_state
    # One element per header (each element is a message per rerun); the surface's one-line
    # description is in the page's title line.
    st.markdown("## Optimizer Playground\n#### Surface")
    surface_name, surface_params = controls.surface_ui()
    surface = compute.build_surface(AppState(surface=surface_name, surface_params=surface_params))
    st.markdown("#### Optimizers")
    chosen, hyper = controls.optimizers_ui(bool(ss.get("shared_lr", False)))
    st.markdown("#### Training")
    training = controls.training_ui(surface.n_samples, chosen)
    st.markdown("#### Start")
    start = controls.start_ui(surface)
    st.markdown("#### Display")
    display = controls.display_ui()
    controls.layout_ui()
    compare_lrs, compare_batches = ss.get("_compare", ((), ()))
    return AppState(
        surface=surface_name,
        surface_params=surface_params,
        optimizers=tuple(chosen),
        hyper=hyper,
        explain_optimizer=ss.get("explain_optimizer"),
        compare_lrs=tuple(compare_lrs),
        compare_batch_sizes=tuple(compare_batches),
        **training,
        **start,
        **display,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def _surface_image(name: str, params: tuple[tuple[str, Any], ...], dark: bool) -> dict[str, Any]:
    surface = compute.build_surface(AppState(surface=name, surface_params=dict(params)))
    return figures.surface_image(surface, dark=dark)


# Eight figures: a cached race figure holds ~1.5-3 MB of Python objects (the frames), so 48
# entries made most of a worker's memory growth over 1,000 sessions (benchmarks/load.py memory).
@st.cache_resource(max_entries=8, show_spinner=False)
def _race_figure(
    signature: str,
    style_key: str,
    _race: compute.Race,
    _titles: dict[str, str],
    _style: figures.Style,
) -> dict[str, Any]:
    """The race figure, built once per (runs, view options) and shared read-only.

    ``signature`` (:meth:`compute.Race.signature`: every run's cache key) and ``style_key``
    determine the figure completely, so a rerun that changes nothing drawn (another panel, the
    optimizer whose settings are shown, a lesson note) reuses it instead of rebuilding it.
    Nobody mutates the returned dict (the page, the exports and plotly only read it).
    """
    surface = _race.surface
    series = figures.prepare(surface, _race.runs, _titles, dark=_style.dark)
    image = _surface_image(surface.name, tuple(sorted(surface.params.items())), _style.dark)
    return figures.race_figure(surface, series, _race.starts, _style, image)


def _dark(state: AppState) -> bool:
    """A dark figure when asked for, or when the page itself is dark.

    The browser reports its theme in ``st.context.theme`` only reliably after the session's
    first run, so the first run goes by the server's configured ``theme.base``.
    """
    if state.dark:
        return True
    first = not st.session_state.get("_theme_seen")
    st.session_state["_theme_seen"] = True
    try:
        reported = None if first else st.context.theme.type
    except AttributeError:  # a Streamlit without st.context.theme
        reported = None
    if reported in ("dark", "light"):
        return reported == "dark"
    return str(st.get_option("theme.base") or "").lower() == "dark"


def _embedded() -> bool:
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


def _write_url(state: AppState) -> None:
    query = urlstate.encode(state)
    query.pop("embed", None)  # reserved by Streamlit; it keeps the browser's own value
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)


def _results_table(rows: list[dict[str, str]]) -> str:
    """The results as a markdown table: legible at any font size, and cheap to send."""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[h].replace("|", "\\|") for h in head) + " |" for r in rows]
    return "\n".join(lines)


def _hyper_table(hypers: Sequence[Hyper]) -> str:
    """A markdown table of an optimizer's hyperparameters (cheaper than a dataframe)."""
    rows = [
        "| hyperparameter | default | range | what it does |",
        "|---|---|---|---|",
    ]
    for h in hypers:
        name = f"`{h.name}`" + (f" ${h.symbol}$" if h.symbol else "")
        text = h.help.replace("|", "\\|")
        rows.append(f"| {name} | {controls.fmt_number(h.default)} | {h.range_text()} | {text} |")
    return "\n".join(rows)


@functools.lru_cache(maxsize=64)
def about_markdown(name: str) -> str:
    """One optimizer's card: summary, update rule (LaTeX), hyperparameters, reference, notes.

    One markdown element per optimizer (KaTeX renders the ``$$`` block): every element is a
    message to the browser on each rerun, so the page keeps their number small.
    """
    opt = optimizers.get(name)
    parts = [opt.summary, f"$$\n{opt.update_tex.strip()}\n$$"]
    if opt.hypers:
        parts.append(_hyper_table(opt.hypers))
    page = PAGE_HYPER.get(name, {})
    if page:
        torch_values = opt.defaults()
        parts.append(
            "**On this page:** "
            + ", ".join(
                f"`{k}` starts at {controls.fmt_number(v)} (torch's default "
                f"{controls.fmt_number(torch_values.get(k))})"
                for k, v in page.items()
            )
            + " so that the first race visibly moves; shared links and lessons set their own."
        )
    parts.append(f"**Reference:** {opt.reference}")
    if opt.torch_class:
        parts.append(f"**Matches:** `{opt.torch_class}`")
    if opt.notes:
        parts.append(f"**Where the lessons differ:** {opt.notes}")
    return "\n\n".join(parts)


def _about(names: list[str]) -> None:
    """One expander per optimizer; its card is drawn only while it is open (opening reruns)."""
    for name in names:
        box = st.expander(
            f"About {optimizers.get(name).title}", key=f"about_{name}", on_change="rerun"
        )
        if box.open:
            box.markdown(about_markdown(name))


def _body() -> None:
    url_warnings = _load_url_once()
    _take_click()
    ss = st.session_state
    presenting = bool(ss.get("embed")) or _embedded()
    if presenting:
        st.html(EMBED_CSS)
    else:
        st.html(COMPACT_CSS)
    if ss.get("large_fonts"):
        st.html(LARGE_CSS)
    head, lessons = st.columns([5, 1], vertical_alignment="center")
    # Drawn only while open (opening it reruns): nine buttons less on every other rerun.
    pop = lessons.popover("Lessons", width="stretch", key=LESSONS_KEY, on_change="rerun")
    preset = None
    if pop.open:
        with pop:
            preset = presets_ui()  # before the widgets are drawn, so it may set all of them
    if preset is not None:
        apply_state(preset)
    with st.sidebar:
        state = read_state()
        if presenting and not state.embed:
            state = replace(state, embed=True)
        # The address bar always holds the state; the link box is drawn only while open.
        share = st.popover(
            "Share this race",
            icon=":material/link:",
            width="stretch",
            key=SHARE_KEY,
            on_change="rerun",
        )
        if share.open:
            with share:
                share_ui(state)
    if state.embed and not _embedded():
        st.button(
            "Show the controls (leave presenter mode)",
            on_click=lambda: st.session_state.update(embed=False),
        )
    for w in url_warnings:
        st.warning(w)
    race = compute.race(state)
    surface = race.surface
    titles = {label: compute.run_title(label) for label in race.runs}
    head.markdown(f"**{surface.title}** · {surface.description}")
    lesson_note_ui()
    if not state.optimizers:
        st.info("Pick at least one optimizer in the sidebar to start a race.")
    for label, message in race.errors.items():
        st.error(f"{compute.run_title(label)} cannot run with these settings: {message}")
    for message in compute.divergence_messages(race.runs, titles):
        st.warning(message)
    if state.steps == 0:
        st.info("Steps is 0: every optimizer stays at its start. Raise Steps to start the race.")
    style = figures.Style(
        dark=_dark(state),
        large_fonts=state.large_fonts,
        embed=state.embed,
        stacked=bool(ss.get("stacked")),
    )
    fig = _race_figure(race.signature(), repr(style), race, titles, style)
    ss["_surface_traces"] = tuple(
        i for i, t in enumerate(fig["data"]) if "xaxis" not in t and t.get("name") != "heads"
    )
    st.plotly_chart(
        figures.PlainFigure(fig),
        key=CHART_KEY,
        on_select="rerun",
        selection_mode="points",
        theme=None,
        width="stretch",
        config={"displaylogo": False, "modeBarButtonsToRemove": MODEBAR_REMOVE},
    )
    st.caption(
        "Click anywhere on the surface to start there. The lines are the whole paths; "
        "▶ Play races the markers along them. Right: loss gap and gradient norm per step"
        + (" (centre start)." if state.swarm > 1 else ".")
    )
    if race.runs:
        st.markdown(_results_table(compute.result_rows(surface, race.runs, titles)))
    if state.view_3d:
        st.plotly_chart(
            figures.PlainFigure(
                figures.surface_3d_figure(
                    surface, figures.prepare(surface, race.runs, titles, dark=style.dark), style
                )
            ),
            key="race3d",
            theme=None,
            width="stretch",
        )
    _panels(state, race, fig)
    _write_url(state)


def _panels(state: AppState, race: compute.Race, fig: dict[str, Any]) -> None:
    """The panels under the race, drawn only when opened (so they cost nothing otherwise)."""
    _ensure_panels()
    shown = st.segmented_control(
        "More",
        options=list(PANELS),
        selection_mode="multi",
        key="panels",
        label_visibility="collapsed",
    )
    if MATHS in shown:  # an open expander: one box to read, closable without a rerun
        with st.expander(MATHS, expanded=True):
            explain_ui(state, race.runs, race.surface, 1)
    if EXPORT in shown:
        st.markdown(f"##### {EXPORT}")
        exports_ui(state, race.runs, race.surface, fig)
    if ABOUT in shown:
        _about(list(state.optimizers))


def _ensure_panels() -> None:
    value = st.session_state.get("panels")
    if not isinstance(value, list) or not all(v in PANELS for v in value):
        st.session_state["panels"] = [ABOUT]


def page() -> None:
    """The page, wrapped: an unexpected error becomes one friendly line (traceback in the log)."""
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        _body()
    except Exception:
        log.exception("Explore page failed")
        st.error(
            "Sorry, something went wrong while drawing this race. Change a setting or reload "
            "the page to start over; the details were written to the server log."
        )
    finally:  # this run's server time (wall and CPU), read by benchmarks/bench_app.py
        st.session_state["_run_ms"] = (time.perf_counter() - started) * 1000
        st.session_state["_run_cpu_ms"] = (time.thread_time() - cpu) * 1000

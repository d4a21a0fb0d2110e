"""The Explore page: optimizers race across a surface; every control redraws the race.

Reads top to bottom: the state from the link (or from the last visit) fills the widgets; the
``*_ui`` widgets in the sidebar return plain values gathered into one ExploreState;
app/compute.py turns it into cached runs and a cached figure; the page draws them; the state
goes back to the URL. The frame (app/ui/frame.py) around it supplies presenter mode, large
fonts, the theme and the error boundary (a friendly line, never a traceback).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from app import compute, figures, runtime
from app.state.explore import CODEC, PAGE_HYPER, ExploreState
from app.state.keys import EXPLORE as K
from app.ui import frame
from app.ui.about import about_ui
from app.ui.explain_panel import explain_ui
from app.ui.exports_panel import exports_ui
from app.ui.lessons_panel import lesson_note_ui, presets_ui
from app.ui.share import share_popover
from app.widgets.display import stacked_ui, view_3d_ui, view_ui
from app.widgets.pickers import default_optimizers, optimizers_ui, surface_ui
from app.widgets.start import start_ui, take_click
from app.widgets.training import training_ui

runtime.tune_process()  # once per process
CHART = K("race")
MATHS, EXPORT, ABOUT = "Step-by-step maths", "Export", "About the optimizers"
PANELS = (MATHS, EXPORT, ABOUT)
MODEBAR_REMOVE = ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]
DEFAULT = ExploreState()
ss = st.session_state


def apply(state: ExploreState) -> None:
    """Write ``state`` into every widget of the page (a lesson, a link, the last visit)."""
    CODEC.apply(state, ss)
    ss.pop(K("explain_label"), None)  # the explain panel re-reads explain_optimizer
    if state.explain_optimizer:
        ss[K("panels")] = [MATHS, ABOUT]


def complete(state: ExploreState, query: dict[str, Any]) -> ExploreState:
    """A link that names no optimizers races the default ones."""
    if not state.optimizers and CODEC.keys()["optimizers"] not in query:
        return replace(state, optimizers=tuple(default_optimizers()))
    return state


def sidebar_ui() -> ExploreState:
    """Draw the sidebar controls and gather their values into one ExploreState."""
    # One element per header (each element is a message per rerun); the surface's one-line
    # description is in the page's title line.
    st.markdown("## Optimizer Playground\n#### Surface")
    surface_name, surface_params = surface_ui(K, DEFAULT.surface)
    surface = compute.build_surface(
        ExploreState(surface=surface_name, surface_params=surface_params)
    )
    st.markdown("#### Optimizers")
    chosen, hyper = optimizers_ui(K, bool(ss.get(K("shared_lr"), False)), PAGE_HYPER)
    st.markdown("#### Training")
    training = training_ui(K, surface.n_samples, chosen, lr=DEFAULT.lr, steps=DEFAULT.steps)
    st.markdown("#### Start")
    start = start_ui(K, surface)
    st.markdown("#### Display")
    view_3d = view_3d_ui(K)
    shared_view = view_ui()
    stacked_ui(K)
    return ExploreState(
        surface=surface_name,
        surface_params=surface_params,
        optimizers=tuple(chosen),
        hyper=hyper,
        explain_optimizer=ss.get(K("explain_optimizer")),
        compare_lrs=tuple(ss.get(K("compare_lrs"), ())),
        compare_batch_sizes=tuple(ss.get(K("compare_batch_sizes"), ())),
        view_3d=view_3d,
        large_fonts=shared_view["large_fonts"],
        dark=shared_view["dark"],
        embed=shared_view["embed"],
        **training,
        **start,
    )


def results_table(rows: list[dict[str, str]]) -> str:
    """The results as a markdown table: legible at any font size, and cheap to send."""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[h].replace("|", "\\|") for h in head) + " |" for r in rows]
    return "\n".join(lines)


def panels_ui(state: ExploreState, race: compute.Race, fig: dict[str, Any]) -> None:
    """The panels under the race, drawn only when opened (so they cost nothing otherwise)."""
    value = ss.get(K("panels"))
    if not isinstance(value, list) or not all(v in PANELS for v in value):
        ss[K("panels")] = [ABOUT]
    shown = st.segmented_control(
        "More",
        options=list(PANELS),
        selection_mode="multi",
        key=K("panels"),
        label_visibility="collapsed",
    )
    if MATHS in shown:  # an open expander: one box to read, closable without a rerun
        with st.expander(MATHS, expanded=True):
            explain_ui(state, race.runs, race.surface, 1, K)
    if EXPORT in shown:
        st.markdown(f"##### {EXPORT}")
        exports_ui(state, race.runs, race.surface, fig, K)
    if ABOUT in shown:
        about_ui(list(state.optimizers), K, PAGE_HYPER)


# ---------------------------------------------------------------- the page

url_warnings = frame.enter(CODEC, K, apply, complete)
with frame.error_boundary("Explore", K):
    take_click(K, CHART)
    presenter = frame.presenting()
    frame.style_page(presenter=presenter)
    head, lessons = st.columns([5, 1], vertical_alignment="center")
    # Drawn only while open (opening it reruns): nine buttons less on every other rerun.
    pop = lessons.popover("Lessons", width="stretch", key=K("lessons_open"), on_change="rerun")
    if pop.open:
        with pop:
            preset = presets_ui(K)  # before the widgets are drawn, so it may set all of them
        if preset is not None:
            apply(preset)

    with st.sidebar:
        state = sidebar_ui()
        if presenter and not state.embed:
            state = replace(state, embed=True)
        share_popover(
            state, K, what="surface, optimizers, settings, start and random seed of this race"
        )
    if state.embed and not frame.embedded_by_link():
        frame.leave_presenter_button()
    for w in url_warnings:
        st.warning(w)

    race = compute.race(state)
    surface = race.surface
    titles = {label: compute.run_title(label) for label in race.runs}
    described = surface.description.replace("*", r"\*")  # a typed formula's x*y is not italics
    head.markdown(f"**{surface.title}** · {described}")
    lesson_note_ui(K)
    if not state.optimizers:
        st.info("Pick at least one optimizer in the sidebar to start a race.")
    for label, message in race.errors.items():
        st.error(f"{compute.run_title(label)} cannot run with these settings: {message}")
    for message in compute.divergence_messages(race.runs, titles, surface):
        st.warning(message)
    if state.steps == 0:
        st.info("Steps is 0: every optimizer stays at its start. Raise Steps to start the race.")

    style = figures.Style(
        dark=frame.dark_figures(state.dark),
        large_fonts=state.large_fonts,
        embed=state.embed,
        stacked=bool(ss.get(K("stacked"))),
    )
    fig = compute.race_figure(race, titles, style)
    ss[K("_surface_traces")] = tuple(
        i for i, t in enumerate(fig["data"]) if "xaxis" not in t and t.get("name") != "heads"
    )
    st.plotly_chart(
        figures.PlainFigure(fig),
        key=CHART,
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
        st.markdown(results_table(compute.result_rows(surface, race.runs, titles)))
    if state.view_3d:
        series = figures.prepare(surface, race.runs, titles, dark=style.dark)
        st.plotly_chart(
            figures.PlainFigure(figures.surface_3d_figure(surface, series, style)),
            key=K("race3d"),
            theme=None,
            width="stretch",
        )
    panels_ui(state, race, fig)
    frame.leave(CODEC, K, state)

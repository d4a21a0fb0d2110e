"""The Explore page: optimizers race across a surface; every control redraws the race.

Reads top to bottom: the state from the link (or from the last visit) fills the widgets; the
``*_ui`` widgets in the sidebar return plain values gathered into one ExploreState;
app/compute.py turns it into cached runs and a cached figure; the page draws them; the state
goes back to the URL. The frame (app/ui/frame.py) around it supplies presenter mode, large
fonts, the theme and the error boundary (a friendly line, never a traceback).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import streamlit as st

import optimizers
import surfaces
from app import compute, exports, figures, presets, runtime
from app.state.explore import (
    CODEC,
    KEYS,
    ExploreState,
    follow_surface,
    page_hyper,
    page_table,
)
from app.state.keys import EXPLORE as K
from app.state.training import hyper_store
from app.ui import frame
from app.ui.about import about_ui
from app.ui.bridge import bridge
from app.ui.explain_panel import explain_ui, explained_run
from app.ui.exports_panel import OFFLINE, Download, downloads_ui
from app.ui.lessons_panel import (
    lesson_note_ui,
    lesson_steps_ui,
    lessons_popover,
    open_lesson_key,
    take_pending_lesson,
)
from app.ui.share import base_url, share_popover
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
    """Write ``state`` into every widget of the page (a link, the last visit)."""
    CODEC.apply(state, ss)
    _after_apply(state)


def open_lesson(p: presets.Preset) -> None:
    """A lesson changes the race, never the display: large fonts, the dark figure, the 3-D
    view and presenter mode stay as they are. Its note is shown and named in the URL."""
    state = presets.with_note(p)
    CODEC.apply(state, ss, skip=lambda name: name in CODEC.display)
    _after_apply(state)


def _after_apply(state: ExploreState) -> None:
    ss.pop(K("explain_label"), None)  # the explain panel re-reads explain_optimizer
    if state.explain_optimizer:
        ss[K("panels")] = [MATHS, ABOUT]


def complete(state: ExploreState, query: dict[str, Any]) -> ExploreState:
    """What a link leaves to the page.

    ``?lesson=<key>`` alone (with view options) opens that lesson. A link that names no
    optimizers (or only unusable ones, which it was warned about) races the default ones:
    from the page's learning rates for its surface in a link of version 2 or a link that
    says nothing about the race at all (``?big=1&embed=true``: the page's own first race), from
    torch's defaults in an older link that set up a race (as that link did when it was made).
    """
    display_keys = {CODEC.keys()[f] for f in CODEC.display} | {CODEC.VERSION_KEY}
    race_keys = set(query) - display_keys
    if state.lesson in presets.BY_KEY and race_keys <= {KEYS["lesson"]}:
        lesson: ExploreState = presets.with_note(presets.BY_KEY[state.lesson])
        return replace(lesson, **{f: getattr(state, f) for f in CODEC.display})
    if not state.optimizers:
        names = tuple(default_optimizers())
        pages = CODEC.version_of(query) >= 2 or not race_keys
        state = replace(
            state, optimizers=names, hyper=page_hyper(state.surface, names) if pages else {}
        )
    ss.pop(OLD_RATES, None)
    if CODEC.version_of(query) == 1 and race_keys and not state.shared_lr:
        # a link from before versions keeps torch's rates where it names none; say so, and
        # offer the page's (a hand-written ?opt=sgd means the page's race more often than not)
        page = page_table(state.surface)
        old = {}
        for name in state.optimizers:
            lr = next(h.name for h in optimizers.get(name).hypers if h.role == "lr")
            mine = page.get(name, {}).get(lr)
            named = f"{name}.{lr}" in query
            if not named and mine is not None and compute.effective_hypers(state, name)[lr] != mine:
                old[name] = mine
        if old:
            ss[OLD_RATES] = old
    return state


def _lr_name(name: str) -> str:
    return next(h.name for h in optimizers.get(name).hypers if h.role == "lr")


def _lr_of(state: ExploreState, name: str) -> Any:
    return compute.effective_hypers(state, name)[_lr_name(name)]


def _torch_lr(name: str) -> Any:
    return optimizers.get(name).defaults()[_lr_name(name)]


def use_page_rates() -> None:
    """The button under an old link's note: the page's learning rates for those optimizers."""
    store = hyper_store(ss, K)
    for name, lr in ss.pop(OLD_RATES, {}).items():
        key = K.hyper(name, next(h.name for h in optimizers.get(name).hypers if h.role == "lr"))
        ss[key] = store[key] = lr


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
    follow_surface(ss, surface_name)
    chosen, hyper = optimizers_ui(K, bool(ss.get(K("shared_lr"), False)), page_table(surface_name))
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
        lesson=open_lesson_key(K),
        compare_lrs=tuple(ss.get(K("compare_lrs"), ())),
        compare_batch_sizes=tuple(ss.get(K("compare_batch_sizes"), ())),
        view_3d=view_3d,
        large_fonts=shared_view["large_fonts"],
        dark=shared_view["dark"],
        embed=shared_view["embed"],
        **training,
        **start,
    )


LINE_GLYPHS = {"solid": "━━━", "dash": "╺╸╺╸", "dot": "┅┅┅", "dashdot": "━╸·━"}


def swatch(color: str, dash: str) -> str:
    """A run's line as the chart draws it (its colour and dash), for tables and captions."""
    glyph = LINE_GLYPHS.get(dash, LINE_GLYPHS["solid"])
    return f'<span style="color:{color};letter-spacing:-1px">{glyph}</span>'


def results_table(rows: list[dict[str, str]], swatches: list[str] | None = None) -> str:
    """The results as a markdown table: legible at any font size, and cheap to send.
    ``swatches``: each row's line (:func:`swatch`), shown before the optimizer's name."""
    if swatches:
        rows = [
            r | {"optimizer": f"{sw} {r['optimizer']}"}
            for r, sw in zip(rows, swatches, strict=True)
        ]
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[h].replace("|", "\\|") for h in head) + " |" for r in rows]
    return "\n".join(lines)


def open_panels() -> list[str]:
    """The panels open under the race (made valid first)."""
    value = ss.get(K("panels"))
    if not isinstance(value, list) or not all(v in PANELS for v in value):
        value = ss[K("panels")] = [ABOUT]
    return list(value)


def panels_ui(
    state: ExploreState,
    race: compute.Race,
    fig: dict[str, Any] | None,
    colors: dict[str, str],
) -> None:
    """The panels under the race, drawn only when opened (so they cost nothing otherwise)."""
    open_panels()
    shown = st.segmented_control(
        "More",
        options=list(PANELS),
        selection_mode="multi",
        key=K("panels"),
        label_visibility="collapsed",
    )
    if MATHS in shown:  # an open expander: one box to read, closable without a rerun
        with st.expander(MATHS, expanded=True):
            explain_ui(state, race.runs, race.surface, K, colors)
    if EXPORT in shown:
        st.markdown(f"##### {EXPORT}")
        if fig is not None:
            files = export_files(state, race.runs, race.surface, fig)
            downloads_ui(files, exports.base_name(state))
    if ABOUT in shown:
        about_ui(list(state.optimizers), K, page_table(state.surface))


def export_files(
    state: ExploreState, runs: Mapping[str, Any], surface: Any, fig: dict[str, Any]
) -> list[Download]:
    """The race as CSV (plain, one header row), JSON (every run and the settings) and an
    offline HTML animation; each built when its button is pressed."""
    base, name = base_url(), exports.base_name(state)
    title = f"{surface.title}: " + ", ".join(
        optimizer_title(presets.label_optimizer(lb)) for lb in runs
    )
    return [
        Download("Trajectories (CSV)", lambda: exports.to_csv(runs), f"{name}.csv",
                 K("export_csv")),
        Download("Trajectories (JSON)", lambda: exports.to_json(state, runs, base),
                 f"{name}.json", K("export_json")),
        Download("Animation (HTML)", lambda: exports.to_html(state, fig, title=title,
                 base_url=base), f"{name}.html", K("export_html"), OFFLINE),
    ]  # fmt: skip


def optimizer_title(name: str) -> str:
    try:
        return str(optimizers.get(name).title)
    except (KeyError, ValueError):
        return name


def chart_traces(fig: dict[str, Any], surface: surfaces.Surface) -> None:
    """What app/widgets/start.py needs to read the chart's reports on the next run."""
    ss[K("_chart_traces")] = {t.get("name"): i for i, t in enumerate(fig["data"])}
    ss[K("_click_bounds")] = surface.bounds
    (x0, x1), (y0, y1) = surface.bounds
    ss[K("_click_decimals")] = figures.decimals_for(max(x1 - x0, y1 - y0))


def head_ui(presenter: bool) -> tuple[Any, Any, bool, int]:
    """The row above the chart: the lesson note (or the surface's one-line description),
    Lessons, Share (drawn later into the returned slot, once the state is known) and, in
    presenter mode, previous / next lesson. Opens a lesson clicked here before the sidebar's
    widgets are drawn, so that it may set all of them. Returns (share slot, the description's
    slot (None under a lesson note: the page writes the built surface's own line there, a
    typed formula's included), whether a lesson note is shown, the length of the row's text:
    the chart gives up the room it takes)."""
    widths = [10, 2.2, 2.2, 2.2, 2.2] if presenter else [10, 2.2, 2.2]
    text, *cells = st.columns(widths, vertical_alignment="top", gap="small")
    pending = take_pending_lesson(K)  # a lesson, or previous / next, was clicked
    if pending is not None:
        open_lesson(pending)
    if presenter:
        lesson_steps_ui(K, cells[0], cells[1])
    lessons_popover(cells[-2], K, presets.course("explore"))
    share_slot = cells[-1].empty()
    with text:
        length = lesson_note_ui(K)
        if not length:
            surface = ss.get(K("surface"), DEFAULT.surface)
            spec = surfaces.SPECS.get(str(surface))
            if spec is not None:
                slot = st.empty()
                slot.markdown(f"**{spec.title}** · {spec.description}")
                return share_slot, slot, False, len(spec.title) + 3 + len(spec.description)
    return share_slot, None, bool(length), length


SUMMARY = {  # kind -> (one optimizer, several): the compact line's words
    "diverged": ("{} diverged", "{} optimizers diverged"),
    "downhill": ("{} left the plot downhill", "{} optimizers left the plot downhill"),
    "stopped": ("{} stopped where f is undefined", "{} optimizers stopped where f is undefined"),
    "error": ("{} cannot run", "{} optimizers cannot run"),
    "link": ("1 link setting ignored", "{} link settings ignored"),
    "old rates": ("{}", "{}"),
}
OLD_RATES = K("_old_link_rates")  # {optimizer: the page's learning rate} (see complete())


def summary_line(messages: list[tuple[str, str, str]]) -> str:
    """One short line for every message, grouped by kind: "5 optimizers diverged · 1 link
    setting ignored"."""
    parts = []
    for kind in dict.fromkeys(k for k, _, _ in messages):
        who = [w for k, w, _ in messages if k == kind]
        one, many = SUMMARY.get(kind, ("{}", "{}"))
        if kind not in SUMMARY:
            parts += who
        elif len(who) == 1:
            parts.append(one.format(who[0]))
        else:
            parts.append(many.format(len(who)))
    return " · ".join(parts)


def messages_ui(messages: list[tuple[str, str, str]]) -> bool:
    """Every warning and notice in one compact line; the details open on demand.

    ``messages``: (kind, who, full sentence). Five diverged optimizers and a link's ignored
    settings take one line above the chart, not six boxes."""
    if not messages:
        return False
    with st.expander(summary_line(messages), icon=":material/warning:", expanded=False):
        for _, _, full in messages:
            st.warning(full)
        if any(kind == "old rates" for kind, _, _ in messages):
            st.button("Use this page's learning rates", key=K("use_page_rates"),
                      on_click=use_page_rates)  # fmt: skip
    return True


def race_messages(
    state: ExploreState, race: compute.Race, titles: dict[str, str], url_warnings: list[str]
) -> list[tuple[str, str, str]]:
    """The page's warnings and notices as (kind, who, sentence), most important first."""
    out: list[tuple[str, str, str]] = []
    if not state.optimizers:
        text = "Pick at least one optimizer in the sidebar to start a race."
        out.append(("note", "no optimizer chosen", text))
    for label, message in race.errors.items():
        title = compute.run_title(label)
        out.append(("error", title, f"{title} cannot run with these settings: {message}"))
    out += compute.divergence_messages(race.surface, race.runs, titles)
    if state.steps == 0:
        text = "Steps is 0: every optimizer stays at its start. Raise Steps to start the race."
        out.append(("note", "Steps is 0", text))
    out += [("link", "", w) for w in url_warnings]
    old = {  # while those optimizers are chosen and still at torch's rate
        n: lr
        for n, lr in ss.get(OLD_RATES, {}).items()
        if n in state.optimizers and _lr_of(state, n) == _torch_lr(n)
    }
    if old:
        titles_ = [compute.run_title(n) for n in old]
        names = ", ".join(titles_[:-1]) + " and " + titles_[-1] if len(titles_) > 1 else titles_[0]
        rates = ", ".join(f"{lr:g}" for lr in old.values())
        out.append(("old rates", "a link without v=2: torch's learning rates", (
            f"This link has no version (`v=2`), so it keeps the meaning links had before: "
            f"{names} start from torch's default learning rate, not this page's starting "
            f"rate for the surface ({rates}). Links from Share carry `v=2`.")))  # fmt: skip
    return out


# ---------------------------------------------------------------- the page

url_warnings = frame.enter(CODEC, K, apply, complete)
with frame.error_boundary("Explore", K):
    take_click(K, CHART)
    bridge()
    presenter = frame.presenting()
    frame.style_page(presenter=presenter)
    share_slot, described, note_shown, head_text = head_ui(presenter)

    with st.sidebar:
        state = sidebar_ui()
        if presenter and not state.embed:
            state = replace(state, embed=True)
    with share_slot.container():
        share_popover(
            state,
            K,
            label="Share",
            what="surface, optimizers, settings, start and random seed of this race",
        )
    if state.embed and not frame.embedded_by_link():
        frame.leave_presenter_button()

    race = compute.race(state)
    surface = race.surface
    titles = {label: compute.run_title(label) for label in race.runs}
    if described is not None:  # the built surface's own line (a typed formula's x*y escaped)
        described.markdown(
            f"**{surface.title}** · {surface.description.replace('*', chr(92) + '*')}"
        )
    warned = messages_ui(race_messages(state, race, titles, url_warnings))

    style = figures.Style(
        dark=frame.dark_figures(state.dark),
        large_fonts=state.large_fonts,
        embed=state.embed,
        stacked=bool(ss.get(K("stacked"))),
        top=figures.chart_top(
            head=head_text,
            note=note_shown,
            messages=warned,
            large=state.large_fonts,
            presenter=state.embed,
        ),
        lr_curve=state.schedule != "constant",
    )
    panels = open_panels()
    picked = explained_run(state, race.runs, K) if MATHS in panels else None
    explained = figures.Explained(*picked) if picked else None
    fig: dict[str, Any] | None = None
    if not state.view_3d or EXPORT in panels:
        fig = compute.race_figure(race, titles, style, explained)
    if state.view_3d:  # where the eye is: in place of the map, with the same playback
        st.plotly_chart(
            figures.PlainFigure(compute.race_3d_figure(race, titles, style)),
            key=K("race3d"),
            theme=None,
            width="stretch",
            config={"displaylogo": False},
        )
    elif fig is not None:
        chart_traces(fig, surface)
        st.plotly_chart(
            figures.PlainFigure(fig),
            key=CHART,
            on_select="rerun",
            selection_mode="points",
            theme=None,
            width="stretch",
            config={"displaylogo": False, "modeBarButtonsToRemove": MODEBAR_REMOVE},
        )
    lead = f"**{surface.title}** · {surface.description} " if note_shown else ""
    if state.view_3d:
        st.caption(
            lead + "Drag to turn the surface, scroll to zoom; ▶ Play races the markers along "
            "the paths. Switch the 3-D view off (Display, in the sidebar) to click a start."
        )
    else:
        st.caption(
            lead + "Click anywhere on the surface to start there. The lines are the whole "
            "paths; ▶ Play races the markers along them. Right, per step: the loss ("
            + ("its gap to the lowest minimum f*" if surface.minima else "f itself, signed")
            + "), the gradient norm"
            + (" and the learning rate" if style.lr_curve else "")
            + (" of the centre start." if state.swarm > 1 else ".")
        )
    styles = {label: st_ for label, _, st_ in figures.run_styles(race.runs, dark=style.dark)}
    if race.runs:
        rows = compute.result_rows(surface, race.runs, titles)
        lines = [swatch(*styles[label]) for label in race.runs]
        st.markdown(results_table(rows, lines), unsafe_allow_html=True)
    colors = {label: c for label, (c, _) in styles.items()}
    panels_ui(state, race, fig, colors)
    frame.leave(CODEC, K, state)

"""Classroom panels of the Explore page: lessons, share link, step-by-step maths, exports.

The only module of the classroom features that imports streamlit; the logic lives in the pure,
unit-tested modules app/presets.py, app/urlstate.py, app/explain.py and app/exports.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import streamlit as st

import optimizers
from app import explain, exports, presets, urlstate
from app.state import AppState

LESSON_KEY = "classroom_lesson"


# ---------------------------------------------------------------- lessons


def presets_ui(show_note: bool = False) -> AppState | None:
    """One button per lesson; returns the lesson's state on the run its button was clicked.

    The chosen lesson's "what to watch" note is drawn by :func:`lesson_note_ui` where the page
    wants it (outside the Lessons popover); ``show_note=True`` draws it here instead. Never
    both in one run: the note's hide button has a fixed key.
    """
    clicked: AppState | None = None
    cols = st.columns(3)
    for i, p in enumerate(presets.PRESETS):
        with cols[i % 3]:
            if st.button(p.title, key=f"lesson_{p.key}", help=p.watch, width="stretch"):
                st.session_state[LESSON_KEY] = p.key
                clicked = p.state
    if show_note:
        lesson_note_ui()
    return clicked


def lesson_note_ui() -> None:
    """The chosen lesson's "what to watch" note, until another lesson is chosen or it is hidden."""
    key = st.session_state.get(LESSON_KEY)
    if key not in presets.BY_KEY:
        return
    p = presets.BY_KEY[key]
    note, close = st.columns([12, 1], vertical_alignment="center")
    note.info(f"**{p.title}.** {p.watch}", icon=":material/school:")
    close.button(
        "✕",
        key="lesson_note_hide",
        help="Hide this note",
        on_click=lambda: st.session_state.pop(LESSON_KEY, None),
    )


# ---------------------------------------------------------------- share link


def _base_url() -> str:
    try:
        url = str(st.context.url or "")
    except Exception:  # older streamlit or no browser session (AppTest)
        url = ""
    return url.split("?", 1)[0].split("#", 1)[0]


def share_url(state: AppState) -> str:
    """The full link that reopens ``state`` (relative when the page's address is unknown)."""
    qs = urlstate.query_string(urlstate.encode(state))
    return f"{_base_url()}?{qs}" if qs else (_base_url() or "?")


def share_ui(state: AppState) -> None:
    """ "Copy link": the full URL in a code box (its copy button is at the box's right)."""
    st.code(share_url(state), language=None, wrap_lines=True)
    st.caption(
        "Copy this link with the button at the right of the box. Whoever opens it sees exactly "
        "this race: surface, optimizers, settings, start and random seed. Add `&embed=1` for "
        "presenter mode (controls hidden, chart enlarged)."
    )


# ---------------------------------------------------------------- step-by-step maths


def _traced(state: AppState, traj: Any, surface: Any, k: int) -> tuple[Any, int] | None:
    """(trajectory with a trace, run index) for run ``k`` of ``traj``.

    ``traj`` itself when it carries a trace. Otherwise the same core call is made again for
    start ``k`` alone with trace=True (the core traces at most a few starts at once); it must
    reproduce the drawn path exactly, or None is returned and the panel says so instead of
    showing other numbers.
    """
    if traj.trace:
        return traj, k
    steps = int(np.asarray(traj.lr).shape[0])
    sched = optimizers.schedules.make(state.schedule, **state.schedule_params)
    hyper = {
        n: (v[k].item() if isinstance(v, np.ndarray) and v.ndim == 1 else v)
        for n, v in traj.hyperparams.items()
    }
    again = optimizers.simulate(
        surface,
        traj.optimizer,
        np.asarray(traj.positions[0, k], dtype=float),
        steps,
        batch_size=traj.batch_size,
        seed=traj.seed,
        schedule=sched,
        trace=True,
        **hyper,
    )
    drawn = np.asarray(traj.positions)[:, k]
    same = again.positions.shape[0] == drawn.shape[0] and np.array_equal(
        again.positions[:, 0], drawn
    )
    return (again, 0) if same else None


def explain_ui(state: AppState, runs: Mapping[str, Any], surface: Any, step: int) -> None:
    """The maths of one step of one run, with its numbers; momentum's three conventions."""
    if not runs:
        st.caption("Choose at least one optimizer to see its step-by-step maths.")
        return
    labels = list(runs)
    wanted = [lb for lb in labels if runs[lb].optimizer == state.explain_optimizer]
    default = wanted[0] if wanted else labels[0]
    c1, c2, c3 = st.columns([2, 1, 1])
    label = c1.selectbox(
        "Optimizer",
        labels,
        index=labels.index(default),
        key=f"explain_label_{state.explain_optimizer}",  # a lesson's choice resets it
        format_func=lambda lb: _title(runs[lb].optimizer) + _suffix(lb),
    )
    traj = runs[label]
    n_steps = int(np.asarray(traj.lr).shape[0])
    if n_steps < 1:
        st.caption("This run has no steps yet.")
        return
    t = int(
        c2.number_input("Step t", 1, n_steps, int(min(max(step, 1), n_steps)), key="explain_step")
    )
    k_max = int(traj.positions.shape[1])
    k = int(c3.number_input("Start", 0, k_max - 1, 0, key="explain_k")) if k_max > 1 else 0
    try:
        found = _traced(state, traj, surface, k)
    except ValueError as exc:
        st.warning(f"The step-by-step maths is not available for this run: {exc}")
        return
    if found is None:
        st.warning(
            "This start's numbers depend on the other starts' shuffles, so they cannot be "
            "replayed alone. Choose a single start (swarm 1) or full batch to see its maths."
        )
        return
    traced, k = found
    axis2 = tuple(getattr(surface, "axis_labels", ("x", "y")))
    axis = (str(axis2[0]), str(axis2[1]))
    maths = explain.step_maths(traced, t, k, axis)
    opt = optimizers.get(maths.optimizer)
    st.markdown(f"**{opt.title}**, step {maths.t} of {n_steps}: {opt.summary}.")
    conv_runs = _convention_runs(state, traced, surface, k) if opt.name == "momentum" else None
    shown, shown_k = traced, k
    if conv_runs is not None:
        source = str(traced.hyperparams.get("convention", "torch"))
        names = list(conv_runs)
        conv = st.radio(
            "Write the momentum maths in the convention of",
            names,
            index=names.index(source),
            horizontal=True,
            key="explain_conv",
            format_func=lambda c: explain.CONVENTION_TITLES[c],
        )
        if conv != source:
            shown, shown_k = conv_runs[conv][1], 0
    for line in explain.explain(shown, maths.t, shown_k, axis):
        st.latex(line)
    if maths.note:
        st.caption(maths.note)
    if opt.notes:
        st.caption(opt.notes)
    if conv_runs is not None:
        _conventions_summary(traced, conv_runs)


def _title(name: str) -> str:
    try:
        return str(optimizers.get(name).title)
    except (KeyError, ValueError):
        return name


def _suffix(label: str) -> str:
    return f" ({label.split('@', 1)[1]})" if "@" in label else ""


def _convention_runs(
    state: AppState, traj: Any, surface: Any, k: int
) -> dict[str, tuple[float, Any]] | None:
    """Start ``k`` of a momentum run, re-run in all three conventions with matched rates.

    None where they cannot coincide (a schedule, dampening) or the hyperparameters are arrays.
    """
    hp = traj.hyperparams
    lr, beta = hp.get("lr"), hp.get("momentum")
    if not isinstance(lr, int | float) or not isinstance(beta, int | float):
        return None
    if hp.get("dampening") or state.schedule != "constant":
        st.caption(
            "The three momentum conventions coincide for a constant learning rate without "
            "dampening; this run uses a schedule or dampening, so they are not compared here."
        )
        return None
    return explain.convention_runs(
        surface,
        np.asarray(traj.positions[0, k], dtype=float),
        int(np.asarray(traj.lr).shape[0]),
        float(lr),
        float(beta),
        str(hp.get("convention", "torch")),
        batch_size=traj.batch_size,
        seed=traj.seed,
        trace=True,
    )


def _conventions_summary(traj: Any, runs: dict[str, tuple[float, Any]]) -> None:
    hp = traj.hyperparams
    st.markdown("**One path, three ways to write momentum**")
    source = str(hp.get("convention", "torch"))
    for line in explain.conventions_latex(float(hp["lr"]), float(hp["momentum"]), source):
        st.latex(line)
    st.caption(
        "Simulated with these matched learning rates, the three paths differ by at most "
        f"{explain.max_relative_gap(runs):.1e} (relative): the same path, written three ways."
    )


# ---------------------------------------------------------------- exports


def exports_ui(state: AppState, runs: Mapping[str, Any], surface: Any, fig: dict[str, Any]) -> None:
    """Download buttons for CSV, JSON and an offline HTML animation; how to get a PNG."""
    if not runs:
        st.caption("Nothing to export yet: choose at least one optimizer.")
        return
    base = _base_url()
    name = exports.base_name(state)
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Trajectories (CSV)",
        lambda: exports.to_csv(state, runs, base),
        file_name=f"{name}.csv",
        mime="text/csv",
        on_click="ignore",
        key="export_csv",
    )
    c2.download_button(
        "Trajectories (JSON)",
        lambda: exports.to_json(state, runs, base),
        file_name=f"{name}.json",
        mime="application/json",
        on_click="ignore",
        key="export_json",
    )
    title = f"{surface.title}: " + ", ".join(_title(presets.label_optimizer(lb)) for lb in runs)
    c3.download_button(
        "Animation (HTML)",
        lambda: exports.to_html(state, fig, title=title, base_url=base),
        file_name=f"{name}.html",
        mime="text/html",
        on_click="ignore",
        key="export_html",
        help="One file that plays offline in any browser; no internet needed.",
    )
    st.caption(
        "PNG: use the camera icon in the chart's toolbar (top right of the chart). It saves "
        f"`{name}.png` at twice the screen resolution, ready for slides."
    )

"""The step-by-step maths panel: one step of one run with its own numbers (app/explain.py
typesets them); momentum's three conventions side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import streamlit as st

import optimizers
from app import explain
from app.state.explore import ExploreState
from app.state.keys import Keys


def _traced(state: ExploreState, traj: Any, surface: Any, k: int) -> tuple[Any, int] | None:
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


def label_key(state: ExploreState, keys: Keys) -> str:
    """The key of the panel's run picker (a lesson's choice of optimizer resets it)."""
    return keys(f"explain_label_{state.explain_optimizer}")


def explained_run(
    state: ExploreState, runs: Mapping[str, Any], keys: Keys
) -> tuple[str, int, int] | None:
    """(run label, start k, step t) the panel explains, from its widgets' values (made valid
    for these runs); None without runs. The page marks that step on the race chart before
    the panel is drawn, and the chart's scrubber sets ``explain_step``."""
    if not runs:
        return None
    ss = st.session_state
    labels = list(runs)
    wanted = [lb for lb in labels if runs[lb].optimizer == state.explain_optimizer]
    label = ss.get(label_key(state, keys))
    if not isinstance(label, str) or label not in runs:
        label = ss[label_key(state, keys)] = wanted[0] if wanted else labels[0]
    traj = runs[label]
    n_steps = int(np.asarray(traj.lr).shape[0])
    t = ss.get(keys("explain_step"), 1)
    if not isinstance(t, int) or not 1 <= t <= max(n_steps, 1):
        t = ss[keys("explain_step")] = int(
            min(max(t if isinstance(t, int) else 1, 1), max(n_steps, 1))
        )
    k = ss.get(keys("explain_k"), 0)
    k_max = int(traj.positions.shape[1])
    if not isinstance(k, int) or not 0 <= k < k_max:
        k = ss[keys("explain_k")] = 0
    return str(label), int(k), int(t)


def explain_ui(
    state: ExploreState,
    runs: Mapping[str, Any],
    surface: Any,
    keys: Keys,
    colors: Mapping[str, str] | None = None,
) -> None:
    """The maths of one step of one run, with its numbers; momentum's three conventions.

    ``colors``: each run's colour on the chart (its title is shown in it)."""
    picked = explained_run(state, runs, keys)
    if picked is None:
        st.caption("Choose at least one optimizer to see its step-by-step maths.")
        return
    labels = list(runs)
    c1, c2, c3 = st.columns([2, 1, 1])
    label = c1.selectbox(
        "Optimizer",
        labels,
        key=label_key(state, keys),
        format_func=lambda lb: _title(runs[lb].optimizer) + _suffix(lb),
    )
    traj = runs[label]
    n_steps = int(np.asarray(traj.lr).shape[0])
    if n_steps < 1:
        st.caption("This run has no steps yet.")
        return
    t = int(
        c2.number_input(
            "Step t",
            1,
            n_steps,
            key=keys("explain_step"),
            help="the step explained, marked on the chart by an arrow; the chart's scrubber "
            "sets it too",
        )
    )
    k_max = int(traj.positions.shape[1])
    k = int(c3.number_input("Start", 0, k_max - 1, key=keys("explain_k"))) if k_max > 1 else 0
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
    swatch = (colors or {}).get(label)
    mark = f'<span style="color:{swatch}">━━</span> ' if swatch else ""
    st.markdown(
        f"{mark}**{opt.title}**{_suffix(label)}, step {maths.t} of {n_steps}: {opt.summary}.",
        unsafe_allow_html=True,
    )
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
            key=keys("explain_conv"),
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
    state: ExploreState, traj: Any, surface: Any, k: int
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

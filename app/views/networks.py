"""The Networks page: small networks trained live with every optimizer.

Reads top to bottom like every page: the state from the link (or the last visit) fills the
widgets; the sidebar's ``*_ui`` widgets (data, network, optimizers, training) return plain
values gathered into one NetworksState; app/netcompute.py trains every run (cached one by one)
and builds the figures; the page draws the training figure (decision boundaries as small
multiples, loss and accuracy, played in the browser) and the views that are open: loss and
accuracy per step and per epoch, the loss landscape on one shared plane, inside one network,
the step-by-step maths of one weight, how often a setting works from many initialisations,
exports and the optimizers' About cards; the state goes back to the URL.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

import optimizers
import surfaces
from app import netcompute as nc
from app import netexports, netmaths, presets, runtime
from app.figures import PlainFigure, Style
from app.figures.format import fmt_number
from app.state import explore as explore_state
from app.state.keys import NETWORKS as K
from app.state.networks import (
    CODEC,
    DEFAULT_VIEWS,
    MAX_INITS,
    MAX_RUN_STEPS,
    PAGE_HYPER,
    PLANES,
    VIEWS,
    NetworksState,
    n_train,
    page_hyper,
    run_labels,
)
from app.ui import frame
from app.ui.about import about_ui
from app.ui.exports_panel import OFFLINE, Download, downloads_ui
from app.ui.lessons_panel import lesson_note_ui, lessons_popover, take_pending_lesson
from app.ui.share import base_url, share_popover
from app.widgets.controls import ensure, log_options
from app.widgets.display import view_ui
from app.widgets.network import batching_ui, data_ui, network_ui
from app.widgets.pickers import optimizers_ui
from app.widgets.training import globals_ui, schedule_ui
from surfaces.datasets import CLASSIFICATION

runtime.tune_process()  # once per process
CHART = K("training")
OFTEN_CHART = K("often_chart")
MODEBAR_REMOVE = ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "pan2d"]
DEFAULT = NetworksState()
TARGETS: tuple[float | None, ...] = (None, 0.1, 0.03, 0.01, 0.003, 0.001, 1e-4)
COMPARE_LRS = tuple(v for v in log_options(1e-4, 10.0) if v in (
    1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0
))  # fmt: skip
PLANE_TITLES = {
    "pca": "PCA of the paths",
    "random": "random directions (Li et al.)",
}
ss = st.session_state


def apply(state: NetworksState) -> None:
    """Write ``state`` into every widget of the page (a lesson, a link, the last visit)."""
    CODEC.apply(state, ss)


def take_often_click() -> None:
    """A click on one initialisation of "How often does it work" opens that run: its seed
    becomes the page's seed and its optimizer the one shown inside."""
    event: Any = ss.get(OFTEN_CHART)
    try:
        points = event["selection"]["points"] if event else []
    except (KeyError, TypeError):
        return
    if not points:
        ss.pop(K("_last_often"), None)
        return
    p = points[0]
    custom = p.get("customdata")
    if not isinstance(custom, list | tuple) or len(custom) < 2:
        return
    sig = (p.get("curve_number"), p.get("point_index"), str(custom[:2]))
    if sig == ss.get(K("_last_often")):
        return
    ss[K("_last_often")] = sig
    try:
        seed, label = int(custom[0]), str(custom[1])
    except (TypeError, ValueError):
        return
    ss[K("seed")] = seed
    ss[K("focus")] = label
    ss.pop(K("at"), None)
    views = list(ss.get(K("views"), DEFAULT_VIEWS))
    if "inside" not in views:
        ss[K("views")] = [*views, "inside"]
    ss[K("_opened")] = (seed, label)


def _listed(key: str, options: Any, default: Any) -> list[Any]:
    ensure(key, lambda v: isinstance(v, list) and all(x in options for x in v), list(default))
    return list(ss[key])


def sidebar_ui() -> NetworksState:
    """The sidebar's controls gathered into one NetworksState (with the main area's view
    choices, which their widgets keep in session state)."""
    st.markdown("## Optimizer Playground\n#### Data")
    data = data_ui(K, DEFAULT.dataset)
    n = n_train(data)
    st.markdown("#### Network")
    net = network_ui(K, data["dataset"])
    st.markdown("#### Optimizers")
    chosen, hyper = optimizers_ui(K, bool(ss.get(K("shared_lr"), False)), PAGE_HYPER)
    glob = globals_ui(K, chosen, lr=DEFAULT.lr)
    _valid_lrs()
    lrs = st.multiselect(
        "Compare learning rates side by side",
        sorted({*COMPARE_LRS, *ss[K("compare_lrs")]}),
        key=K("compare_lrs"),
        max_selections=4,
        format_func=fmt_number,
        help="every chosen optimizer once per learning rate",
    )
    st.markdown("#### Training")
    batching = batching_ui(K, n)
    schedule, schedule_params = schedule_ui(K)
    st.markdown("#### Display")
    shared_view = view_ui()
    views = tuple(_listed(K("views"), VIEWS, DEFAULT_VIEWS))
    fields = {
        **data,
        **net,
        **glob,
        **batching,
        "optimizers": tuple(chosen),
        "hyper": page_hyper(hyper),
        "compare_lrs": tuple(float(v) for v in lrs),
        "schedule": schedule,
        "schedule_params": schedule_params,
        "views": views,
        **shared_view,
    }
    labels = run_labels(fields)
    fields["plane"] = ss.get(K("plane")) if ss.get(K("plane")) in PLANES else "pca"
    centre = ss.get(K("centre"), "best")
    fields["centre"] = centre if centre in ("best", "start", *labels) else "best"
    focus = ss.get(K("focus"))
    fields["focus"] = focus if focus in labels[1:] else None
    at = ss.get(K("at"))
    fields["at"] = at if isinstance(at, int) and 0 <= at <= MAX_RUN_STEPS else None
    fields["weight"] = ss.get(K("weight")) if isinstance(ss.get(K("weight")), int) else None
    inits = ss.get(K("inits"), DEFAULT.inits)
    fields["inits"] = inits if isinstance(inits, int) and 2 <= inits <= MAX_INITS else 200
    target = ss.get(K("target"))
    fields["target"] = target if target in TARGETS else None
    return NetworksState(**fields)


def _valid_lrs() -> None:
    value = ss.get(K("compare_lrs"))
    good = isinstance(value, list) and len(value) <= 4
    if not good or not all(isinstance(v, float) and 0 < v <= 10 for v in value or []):
        ss[K("compare_lrs")] = []


# ---------------------------------------------------------------- the page's parts


def settle(state: NetworksState, train: nc.Training) -> NetworksState:
    """The view fields that the trained runs make redundant or impossible, reset: the first
    run, the last step and the first weight are the defaults (None)."""
    labels = list(train.runs)
    focus = state.focus if state.focus in labels[1:] else None
    at, weight = state.at, state.weight
    if labels:
        run = train.runs[focus or labels[0]]
        if at is not None and at >= nc.view_step(run, None):
            at = None
    dim = train.net.dim if train.net is not None else 0
    if weight is not None and not 0 < weight < dim:
        weight = None
    return replace(state, focus=focus, at=at, weight=weight)


def results_table(train: nc.Training, names: dict[str, str]) -> str:
    """One row per run: final training loss, accuracy, test metrics, status."""
    classify = train.net is not None and train.net.problem == CLASSIFICATION
    has_test = train.net is not None and train.net.data.n_test > 0
    head = ["run", "epochs", "steps", "final loss"]
    if classify:
        head.append("training accuracy")
    if has_test:
        head += ["test loss"] + (["test accuracy"] if classify else [])
    head.append("status")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lb, r in train.runs.items():
        row = [names[lb], f"{r.epochs:,}", f"{r.steps:,}", _fmt(float(r.traj.loss[-1, 0]))]
        if classify and r.train_acc is not None:
            row.append(f"{r.train_acc[-1]:.0%}")
        if has_test:
            row.append(_fmt(float(r.test_loss[-1])) if r.test_loss is not None else "—")
            if classify:
                row.append(f"{r.test_acc[-1]:.0%}" if r.test_acc is not None else "—")
        dead = 0
        if train.net is not None:
            dead = int(surfaces.dead_units(train.net, r.traj.params[-1:, 0])[0])
        status = f"diverged at step {r.diverged_at:,}" if r.diverged_at >= 0 else "ok"
        if dead:
            status += f" · {dead} dead ReLU unit{'s' * (dead > 1)}"
        row.append(status)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def _fmt(v: float) -> str:
    if not math.isfinite(v) or abs(v) >= nc.OVERFLOW:
        return "overflow"
    return f"{v:.4g}"


def training_ui(state: NetworksState, train: nc.Training, style: Style) -> dict[str, Any]:
    fig, _ = nc.training_figure(
        train, style, discretize=state.discretize, show_test=state.show_test
    )
    st.plotly_chart(
        PlainFigure(fig),
        key=CHART,
        theme=None,
        width="stretch",
        config={
            "displaylogo": False,
            "modeBarButtonsToRemove": MODEBAR_REMOVE,
            "toImageButtonOptions": {
                "format": "png",
                "scale": 2,
                "filename": netexports.base_name(state),
            },
        },
    )
    more = len(train.runs) - nc.MAX_PANELS
    st.caption(
        "Each panel is one run's network over the data: blue where it predicts class 1 (or a "
        "positive output), orange for class 0, pale near the boundary. ▶ Play trains them in "
        "the browser, epoch by epoch; right: training loss and "
        + (
            "accuracy"
            if train.net is not None and train.net.problem == CLASSIFICATION
            else "test loss"
        )
        + " per epoch."
        + (f" The first {nc.MAX_PANELS} of {len(train.runs)} runs are drawn." if more > 0 else "")
    )
    return fig


def curves_view(train: nc.Training, style: Style) -> None:
    st.plotly_chart(
        PlainFigure(nc.curves_figure(train, style)),
        key=K("curves_chart"),
        theme=None,
        width="stretch",
        config={"displaylogo": False},
    )
    st.caption(
        "The full training loss after every optimizer step (drawn when some run takes "
        "mini-batches: one sample at a time makes N steps per epoch), the loss after each "
        "epoch (dashed: the held-out test set) and the accuracy. Log scales for the losses."
    )


def landscape_view(state: NetworksState, train: nc.Training, style: Style) -> None:
    labels = list(train.runs)
    c1, c2 = st.columns(2)
    ensure(K("plane"), lambda v: v in PLANES, "pca")
    plane = c1.radio(
        "Plane",
        list(PLANES),
        key=K("plane"),
        horizontal=True,
        format_func=PLANE_TITLES.get,
        help="PCA: the two directions along which the paths move most, around the centre. "
        "Random: two Gaussian directions scaled filter by filter to the centre's weights "
        "(Li et al. 2018), drawn with the page's seed.",
    )
    options = ["best", "start", *labels]
    ensure(K("centre"), lambda v: v in options, "best")
    names = nc.titles(train)
    centre = c2.selectbox(
        "Centre of the plane",
        options,
        key=K("centre"),
        format_func=lambda v: {"best": "the best final point", "start": "the start"}.get(
            v, f"the end of {names.get(v, v)}"
        ),
    )
    try:
        land = nc.landscape(train, str(plane), str(centre), state.seed)
    except ValueError as exc:
        st.info(f"No plane to draw: {exc}")
        return
    fig = landscape_figure(train, land, style)
    st.plotly_chart(PlainFigure(fig), key=K("landscape_chart"), theme=None, width="stretch",
                    config={"displaylogo": False})  # fmt: skip
    kept = land.plane.explained
    kind = (
        "The two principal directions" if land.plane.kind == "pca" else "The two random directions"
    )
    st.markdown(
        f"{kind} through {land.centre_text} keep **{kept:.1%}** of the paths' squared distance "
        "from the centre. Colours: the true training loss at every point of the plane "
        "(computed, not interpolated). Right: each run's true loss (solid) beside the loss the "
        "plane shows under its shadow (dotted), and how far off the plane it is."
        + sampled_note(train)
    )
    warn = plane_warning(train, land)
    if warn:
        st.warning(warn)


def sampled_note(train: nc.Training) -> str:
    """Where a path has more recorded steps than are projected, say how many are drawn."""
    longest = max((len(r.traj.steps) for r in train.runs.values()), default=0)
    if longest <= nc.MAX_PATH_ROWS:
        return ""
    return (
        f" Each path is drawn through {nc.MAX_PATH_ROWS} of its recorded steps, evenly "
        f"spaced (the longest has {longest:,}), its start and end included."
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def _landscape_figure(
    signature: str,  # noqa: ARG001 (the cache key, with the plane's)
    plane_key: str,  # noqa: ARG001
    style_key: str,  # noqa: ARG001
    _train: nc.Training,
    _land: nc.Landscape,
    _style: Style,
) -> dict[str, Any]:
    return nc.landscape_figure(_train, _land, _style)


def landscape_figure(train: nc.Training, land: nc.Landscape, style: Style) -> dict[str, Any]:
    key = f"{land.plane.kind}|{land.centre_text}|{id(land)}"
    return _landscape_figure(train.signature(), key, repr(style), train, land, style)


def plane_warning(train: nc.Training, land: nc.Landscape) -> str:
    """Plain words when the picture misleads: paths far off the plane, or a low share kept."""
    names = nc.titles(train)
    worst = None
    for lb, rep in land.reports.items():
        if not len(rep.off):
            continue
        i = int(np.argmax(rep.off))
        gap = abs(float(rep.true_loss[i]) - float(rep.plane_loss[i]))
        if worst is None or rep.off[i] > worst[1]:
            worst = (lb, float(rep.off[i]), float(rep.radius.max()), i, gap, rep)
    if worst is None:
        return ""
    far = land.far
    if not far and land.plane.explained >= 0.8:
        return ""
    lb, off, _, i, _, rep = worst
    run = train.runs[lb]
    step = int(run.traj.steps[land.rows[lb][i]])
    scale = max(float(r.radius.max()) for r in land.reports.values())
    return (
        f"**These paths run far off the plane.** The plane keeps only "
        f"{land.plane.explained:.0%} of their movement"
        + (
            f", and {', '.join(names[x] for x in far)} go further off it than half the plane's size"
            if far
            else ""
        )
        + f". At step {step:,}, {names[lb]} is {off:.3g} away from the plane (the drawn "
        f"region reaches {scale:.3g} from the centre): its true loss there is "
        f"{rep.true_loss[i]:.3g}, while the plane shows {rep.plane_loss[i]:.3g} under its "
        "shadow. Read the picture as a shadow of the paths, not as the ground they walked on."
    )


def focus_ui(train: nc.Training) -> tuple[nc.NetRun, int]:
    """Which run and step the inside view and the maths show, with Step and Reset."""
    labels = list(train.runs)
    names = nc.titles(train)
    ensure(K("focus"), lambda v: v in labels, labels[0])
    c1, c2, c3, c4 = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
    label = c1.selectbox(
        "Network shown", labels, key=K("focus"), format_func=lambda v: names.get(v, v)
    )
    run = train.runs[str(label)]
    last = nc.view_step(run, None)
    ensure(K("at"), lambda v: isinstance(v, int) and 0 <= v <= last, last)
    t = int(
        c2.number_input(
            f"after step (of {last:,})",
            0,
            last,
            step=1,
            key=K("at"),
            help=f"one epoch is {run.spe} step{'s' * (run.spe > 1)}",
        )
    )
    c3.button("Step ▶", key=K("step_button"), on_click=_step, args=(last,), width="stretch",
              help="one more optimizer step (at the end: one more epoch of training)")  # fmt: skip
    c4.button("Reset", key=K("reset_button"), on_click=_reset, width="stretch",
              help="back to the start: the network before any training")  # fmt: skip
    return run, t


def _step(last: int) -> None:
    t = ss.get(K("at"), last)
    if isinstance(t, int) and t < last:
        ss[K("at")] = t + 1
    else:  # at the end: train one more epoch and show its end
        epochs = ss.get(K("epochs"), DEFAULT.epochs)
        ss[K("epochs")] = int(epochs) + 1 if isinstance(epochs, int) else DEFAULT.epochs
        ss.pop(K("at"), None)


def _reset() -> None:
    ss[K("at")] = 0


def inside_view(train: nc.Training, run: nc.NetRun, t: int, style: Style) -> None:
    snap = nc.snapshot(run, t)
    st.plotly_chart(
        PlainFigure(nc.graph_figure(train, run, snap, style)),
        key=K("inside_chart"),
        theme=None,
        width="stretch",
        config={"displaylogo": False},
    )
    st.caption(
        "Each node shows its output over the input plane (orange negative, blue positive, "
        "each on its own scale; a blank ReLU node outputs 0 everywhere: it is dead). Lines "
        "are the weights: width their size, blue positive, orange negative. Hover a line's "
        "middle for its value, the gradient of this step and the optimizer's state."
    )


def maths_view(train: nc.Training, run: nc.NetRun, t: int) -> None:
    net = train.net
    assert net is not None
    infos = net.param_info
    ensure(K("weight"), lambda v: isinstance(v, int) and 0 <= v < len(infos), 0)
    w = int(
        st.selectbox(
            "Weight",
            list(range(len(infos))),
            key=K("weight"),
            format_func=lambda i: _weight_label(infos[i]),
        )
    )
    if t < 1:
        st.info("Step 0 is the start, before any update: press Step ▶ or choose a later step.")
        return
    try:
        lane = nc.lane(run, w, t)
    except ValueError as exc:
        st.info(f"No per-weight maths for this run: {exc}.")
        return
    if lane.steps < t:
        st.warning(
            f"This run stopped being finite at step {lane.steps + 1:,}; its maths ends there."
        )
        return
    prev, now = nc.snapshot(run, t - 1), nc.snapshot(run, t)
    losses = np.asarray(net.value(np.stack([prev.params, now.params])))
    ws = netmaths.weight_step(
        run.optimizer, dict(run.traj.hyperparams), lane, infos[w].name, t,
        float(run.traj.lr[t - 1, 0]),
    )  # fmt: skip
    opt = optimizers.get(run.optimizer)
    batch = "the full batch" if run.batch is None else (
        f"the mini-batch of step {t} ({run.batch} point{'s' * (run.batch > 1)}, "
        + ("shuffled" if run.shuffle else "in order") + ")"
    )  # fmt: skip
    st.markdown(
        f"**{nc.titles(train)[run.label]}**, step {t:,} (epoch {t / run.spe:.4g}): "
        f"{opt.summary}. The gradient is the loss's slope on {batch}; L is the training "
        "loss on every point."
    )
    for line in netmaths.weight_latex(ws, float(losses[0]), float(losses[1])):
        st.latex(line)
    st.caption(
        "Replayed from the run's own gradients by the optimizer's traced rule for this one "
        "weight (optimizers.trace_lane): the same numbers as the run."
    )


def _weight_label(info: Any) -> str:
    if info.kind == "bias":
        return f"{info.name}: bias of {info.target}"
    return f"{info.name}: {info.source} → {info.target}"


def often_view(state: NetworksState, train: nc.Training, style: Style) -> None:
    classify = train.net is not None and train.net.problem == CLASSIFICATION
    c1, c2 = st.columns(2)
    ensure(K("inits"), lambda v: isinstance(v, int) and 2 <= v <= MAX_INITS, DEFAULT.inits)
    c1.number_input(
        "Initialisations (seeds 0 … K−1)", 2, MAX_INITS, step=50, key=K("inits"),
        help="the same setting from K random starts, all in one vectorised call per run",
    )  # fmt: skip
    ensure(K("target"), lambda v: v in TARGETS, None)
    c2.select_slider(
        "Counts as working",
        TARGETS,
        key=K("target"),
        format_func=lambda v: (
            ("100 % training accuracy" if classify else "final loss below 0.01")
            if v is None
            else f"final loss below {v:g}"
        ),
    )
    bar = st.progress(0.0, text="Training from every initialisation …")

    def progress(done: int, total: int, label: str) -> None:
        text = (
            f"Training {nc.titles(train).get(label, label)} from {state.inits} starts "
            f"({done + 1} of {total}) …" if label else "Done."
        )  # fmt: skip
        bar.progress(done / max(total, 1), text=text)

    results, errors = nc.inits(state, train, progress)
    bar.empty()
    for lb, msg in errors.items():
        st.warning(f"{nc.titles(train).get(lb, lb)}: {msg}")
    if not results:
        return
    fig, what = nc.often_figure(train, results, state.target, style)
    st.plotly_chart(
        PlainFigure(fig),
        key=OFTEN_CHART,
        on_select="rerun",
        selection_mode="points",
        theme=None,
        width="stretch",
        config={"displaylogo": False},
    )
    names = nc.titles(train)
    parts = []
    for lb, res in results.items():
        ok = res.success(state.target)
        failed = ~ok
        dead = int(((res.dead > 0) & failed).sum())
        text = f"**{names[lb]}**: {ok.mean():.0%} work"
        if failed.any() and (res.dead > 0).any():
            text += f" ({dead} of the {int(failed.sum())} that fail end with a dead ReLU unit)"
        parts.append(text)
    st.markdown(
        f"Each dot is one initialisation (seed) trained with these settings; filled: it reached "
        f"{what}. " + "; ".join(parts) + ". **Click a dot** to open that run on this page."
    )


def explore_link_ui(state: NetworksState, net: Any) -> None:
    """The lessons' linear regression is Explore's (w, b) surface: the same runs there, as
    paths on its loss surface."""
    same = nc.explore_race(state, net)
    if same is None:
        return
    race, note = same
    st.markdown(
        "This network is y = w x + b: its two parameters are the axes of Explore's linear "
        f"regression surface. [See these runs as paths on that surface]({explore_state.href(race)})"
        + (f" ({note})." if note else " (the same runs, step for step, to rounding).")
    )


def export_view(state: NetworksState, train: nc.Training, fig: dict[str, Any]) -> None:
    if not train.runs or train.net is None:
        st.caption("Nothing to export yet.")
        return
    names = list(train.net.param_names)
    base = base_url()
    stem = netexports.base_name(state)
    downloads_ui(
        [
            Download("Losses and parameters (CSV)",
                     lambda: netexports.to_csv(state, train.runs, names, base),
                     f"{stem}.csv", K("export_csv")),
            Download("Losses and parameters (JSON)",
                     lambda: netexports.to_json(state, train.runs, names, base),
                     f"{stem}.json", K("export_json")),
            Download("Animation (HTML)", lambda: netexports.to_html(state, fig, base),
                     f"{stem}.html", K("export_html"), OFFLINE),
        ],
        stem,
    )  # fmt: skip


def views_ui(state: NetworksState, train: nc.Training, style: Style, fig: dict[str, Any]) -> None:
    """The views under the training figure, drawn only when chosen."""
    _listed(K("views"), VIEWS, DEFAULT_VIEWS)
    shown = st.segmented_control(
        "Views",
        options=list(VIEWS),
        selection_mode="multi",
        key=K("views"),
        format_func=lambda v: VIEWS[v],
        label_visibility="collapsed",
    )
    if not train.runs:
        return
    if "curves" in shown:
        st.markdown(f"#### {VIEWS['curves']}")
        curves_view(train, style)
    if "landscape" in shown:
        st.markdown(f"#### {VIEWS['landscape']}")
        landscape_view(state, train, style)
    if "inside" in shown or "maths" in shown:
        st.markdown("#### " + " · ".join(VIEWS[v] for v in ("inside", "maths") if v in shown))
        run, t = focus_ui(train)
        if "inside" in shown:
            inside_view(train, run, t, style)
        if "maths" in shown:
            maths_view(train, run, t)
    if "often" in shown:
        st.markdown(f"#### {VIEWS['often']}")
        often_view(state, train, style)
    if "export" in shown:
        st.markdown(f"#### {VIEWS['export']}")
        export_view(state, train, fig)
    if "about" in shown:
        about_ui(list(state.optimizers), K, PAGE_HYPER)


# ---------------------------------------------------------------- the page

url_warnings = frame.enter(CODEC, K, apply)
with frame.error_boundary("Networks", K):
    take_often_click()
    presenter = frame.presenting()
    frame.style_page(presenter=presenter)
    head, lessons = st.columns([5, 1], vertical_alignment="center")
    preset = take_pending_lesson(K)  # a lesson button was clicked
    if preset is not None:  # the lesson's race and its note
        st.session_state[K("lesson")] = preset.key
        apply(preset.state)
    lessons_popover(lessons, K, presets.course("networks"))
    with st.sidebar:
        state = sidebar_ui()
        if presenter and not state.embed:
            state = replace(state, embed=True)
        share_popover(
            state,
            K,
            label="Share this page",
            what="data, network, optimizers, training, seed and the open views",
        )
    if state.embed and not frame.embedded_by_link():
        frame.leave_presenter_button()
    for w in url_warnings:
        st.warning(w)
    train = nc.training(state)
    state = settle(state, train)
    net = train.net
    shape = "-".join(map(str, net.sizes)) if net is not None else "?"
    head.markdown(
        f"**Networks** · {state.dataset} · a {shape} network ({state.activation})"
        + (f", {net.dim:,} parameters, {net.n_samples:,} training points" if net else "")
    )
    lesson_note_ui(K)
    opened = ss.pop(K("_opened"), None)
    if opened:
        st.info(f"Opened seed {opened[0]} with {nc.titles(train).get(opened[1], opened[1])}.")
    fig: dict[str, Any] = {}
    if train.problem is not None:
        st.error(f"These settings cannot be trained: {train.problem}")
    else:
        if not state.optimizers:
            st.info("Pick at least one optimizer in the sidebar to train the network.")
        names = nc.titles(train)
        for lb, message in train.errors.items():
            st.error(f"{names.get(lb, lb)} cannot run with these settings: {message}")
        for note in train.notes:
            st.warning(note)
        for message in nc.divergence_messages(train, names):
            st.warning(message)
        if state.epochs == 0:
            st.info("Epochs is 0: every network stays at its start. Raise Epochs to train.")
        style = Style(
            dark=frame.dark_figures(state.dark),
            large_fonts=state.large_fonts,
            embed=state.embed,
        )
        if train.runs:
            fig = training_ui(state, train, style)
            st.markdown(results_table(train, names))
            explore_link_ui(state, net)
        views_ui(state, train, style, fig)
    frame.leave(CODEC, K, state)

"""The Maps page: thousands of runs per view. A hyperparameter sweep, basins of attraction,
the theory of momentum on quadratics beside measured runs, and the learning-rate range test.

Reads top to bottom like every page: the state from the link (or the last visit) fills the
widgets; the sidebar's ``*_ui`` widgets return plain values gathered into one MapsState; the
maps are computed through the worker's queue (app/ui/maps_runner.py: one vectorised core call
per optimizer, cached for every session); pure figure builders draw them (app/figures/maps.py,
app/figures/theory.py); the state goes back to the URL. A click on a cell of a map opens that
run's race on Explore with its exact settings (or, on the basin map, zooms in).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import streamlit as st

import optimizers
import surfaces
from app import axes, presets, routes, runtime, sweeps
from app.figures import maps as map_figs
from app.figures import theory as theory_figs
from app.figures.layout import PlainFigure, Style
from app.state import explore as explore_state
from app.state.codec import Scalar
from app.state.explore import PAGE_HYPER
from app.state.maps import (
    CODEC,
    COLOR_TITLES,
    DEFAULT_OPTIMIZERS,
    VIEW_TITLES,
    K,
    MapsState,
    page_default,
)
from app.ui import frame, maps_runner
from app.ui.exports_panel import Download, downloads_ui
from app.ui.lessons_panel import lesson_note_ui, lessons_popover, take_pending_lesson
from app.ui.share import share_popover
from app.widgets import maps as mw
from app.widgets.controls import ensure, in_range
from app.widgets.display import view_ui as room_ui
from app.widgets.pickers import optimizers_ui, surface_ui
from optimizers import lr_range

runtime.tune_process()
CHART = K("map")
MAX_MAPS = 6  # maps side by side
KEPT = K("_kept")  # widget values kept while their view is not shown
CLICK_CTX = K("_click_ctx")
LAST_CLICK = K("_last_click")
MODEBAR_REMOVE = [
    "zoom2d",
    "pan2d",
    "select2d",
    "lasso2d",
    "zoomIn2d",
    "zoomOut2d",
    "autoScale2d",
    "resetScale2d",
]
DEFAULT = MapsState()
ss = st.session_state
T = TypeVar("T")


# ---------------------------------------------------------------- state in


def apply(state: MapsState) -> None:
    """Write ``state`` into every widget of the page (a lesson, a link, the last visit)."""
    ss.pop(KEPT, None)
    CODEC.apply(state, ss)
    store = ss.setdefault(KEPT, {})
    for decl in CODEC.fields.values():
        for key in getattr(decl.widget, "keys", ()):
            if key in ss:
                store[key] = ss[key]
    for key in ("start_x", "start_y"):
        if K(key) in ss:
            store[K(key)] = ss[K(key)]


def kept(key: str, draw: Callable[[], T]) -> T:
    """Draw a widget that shows in some views only: it gets back the value it had when its
    view was last shown (Streamlit forgets the value of a widget that is not drawn)."""
    store: dict[str, Any] = ss.setdefault(KEPT, {})
    if key not in ss and key in store:
        ss[key] = store[key]
    value = draw()
    store[key] = ss.get(key, value)
    return value


def recall(key: str, default: Any) -> Any:
    """The kept value of a widget that is not drawn in this view."""
    store: dict[str, Any] = ss.setdefault(KEPT, {})
    return store.get(key, ss.get(key, default))


def start_ui(surface: surfaces.Surface) -> tuple[float, float] | None:
    """Where the runs start (None: the surface's default start)."""
    dx, dy = surface.default_start
    if ss.get(K("_start_surface")) != surface.name:
        ss[K("start_x")], ss[K("start_y")] = float(dx), float(dy)
        ss[K("_start_surface")] = surface.name
    (x0, x1), (y0, y1) = surface.bounds
    c1, c2 = st.columns(2)
    out = []
    for col, key, label, lo, hi, d in (
        (c1, K("start_x"), surface.axis_labels[0], x0, x1, dx),
        (c2, K("start_y"), surface.axis_labels[1], y0, y1, dy),
    ):
        out.append(
            kept(
                key,
                functools.partial(_start_box, col, key, label, float(lo), float(hi), float(d)),
            )
        )
    x, y = out
    return None if (x, y) == (float(dx), float(dy)) else (x, y)


def _start_box(col: Any, key: str, label: str, lo: float, hi: float, d: float) -> float:
    ensure(key, in_range(lo, hi), d)
    return float(
        col.number_input(f"start {label}", lo, hi, key=key, step=(hi - lo) / 100, format="%.3f")
    )


def hyper_of(chosen: list[str]) -> dict[str, dict[str, Scalar]]:
    """The chosen optimizers' settings that differ from where this page starts them (from
    the store the optimizer widgets keep, also when they are not drawn)."""
    store = ss.get(K("_hyper_store"), {})
    out: dict[str, dict[str, Scalar]] = {}
    for name in chosen:
        vals = {}
        for h in optimizers.get(name).hypers:
            start = page_default(name, h.name, h.default)
            v = store.get(K.hyper(name, h.name), start)
            if v != start and h.name != "convention":
                vals[h.name] = v
        if vals:
            out[name] = vals
    return out


def sidebar_ui(view: str) -> MapsState:
    """The controls of the view, gathered with everything else into one MapsState."""
    st.markdown("## Optimizer Playground\n#### Surface")
    name, params = surface_ui(K, DEFAULT.surface)
    surface = surfaces.get(name, **params)
    chosen: list[str]
    if view != "theory":
        st.markdown("#### Optimizers")
        ensure(
            K("optimizers"),
            lambda v: isinstance(v, list) and all(n in optimizers.names() for n in v),
            list(DEFAULT_OPTIMIZERS),
        )
        chosen, _ = kept(K("optimizers"), lambda: optimizers_ui(K, False, PAGE_HYPER))
        if len(chosen) > MAX_MAPS:
            st.warning(f"At most {MAX_MAPS} maps side by side: the first {MAX_MAPS} are drawn.")
    else:
        chosen = list(recall(K("optimizers"), list(DEFAULT_OPTIMIZERS)))
    hyper = hyper_of(chosen)
    out: dict[str, Any] = {}
    st.markdown("#### Map")
    x_axis = str(recall(K("x_axis"), DEFAULT.x_axis))
    y_axis = str(recall(K("y_axis"), DEFAULT.y_axis))
    grid, color = int(recall(K("grid"), DEFAULT.grid)), str(recall(K("color"), DEFAULT.color))
    tol = float(recall(K("tol"), DEFAULT.tol))
    x_range, y_range = ss.get(K("x_range")), ss.get(K("y_range"))
    if view == "sweep":
        options = axes.options(chosen or list(DEFAULT_OPTIMIZERS), surface.n_samples)
        x_axis = kept(K("x_axis"), lambda: mw.axis_ui(K, "x", options, DEFAULT.x_axis, None))
        y_default = DEFAULT.y_axis if DEFAULT.y_axis != x_axis else "lr"
        y_axis = kept(K("y_axis"), lambda: mw.axis_ui(K, "y", options, y_default, x_axis))
        lam = sweeps.lam_max_of(surface, sweeps.start_of(_probe(name, params), surface))
        for which, key in (("x", x_axis), ("y", y_axis)):
            try:
                info = axes.info(key, chosen, n_samples=surface.n_samples, lam_max=lam)
            except axes.AxisError as exc:
                st.error(str(exc))
                continue
            rng = mw.range_ui(K, which, info)
            if which == "x":
                x_range = rng
            else:
                y_range = rng
        st.caption(
            "The axes set these two for every optimizer; everything else comes from each "
            "optimizer's settings above."
        )
        grid = kept(K("grid"), lambda: mw.grid_ui(K, "grid", axes.MAX_SWEEP_CELLS, 128, "cells"))
        color = kept(K("color"), lambda: mw.color_ui(K, bool(surface.minima)))
        if color == "steps":
            tol = kept(K("tol"), lambda: mw.tol_ui(K))
    basin_grid = int(recall(K("basin_grid"), DEFAULT.basin_grid))
    click = str(recall(K("click"), DEFAULT.click))
    if view == "basin":
        basin_grid = kept(
            K("basin_grid"),
            lambda: mw.grid_ui(K, "basin_grid", axes.MAX_BASIN_CELLS, 256, "starts"),
        )
        click = kept(K("click"), lambda: mw.click_ui(K))
    theory_lr, theory_beta = ss.get(K("theory_lr")), ss.get(K("theory_beta"))
    theory_lambda = str(recall(K("theory_lambda"), DEFAULT.theory_lambda))
    if view == "theory":
        theory_lr, theory_beta, theory_lambda = _theory_ui(surface, name, params)
    rmin = float(recall(K("range_min"), DEFAULT.range_min))
    rmax = float(recall(K("range_max"), DEFAULT.range_max))
    rsteps = int(recall(K("range_steps"), DEFAULT.range_steps))
    if view == "range":
        got = {}
        for key in ("range_min", "range_max", "range_steps"):
            got[key] = kept(K(key), functools.partial(_range_one, key))
        rmin, rmax, rsteps = got["range_min"], got["range_max"], got["range_steps"]
    st.markdown("#### Runs")
    for key in ("steps", "batch", "seed"):
        if K(key) not in ss and K(key) in ss.get(KEPT, {}):
            ss[K(key)] = ss[KEPT][K(key)]
    out.update(mw.run_ui(K, surface.n_samples, axes.MAX_STEPS, DEFAULT.steps))
    for key in ("steps", "batch", "seed"):
        ss.setdefault(KEPT, {})[K(key)] = ss.get(K(key))
    start = None
    if view != "basin":
        start = start_ui(surface)
    else:
        sx, sy = recall(K("start_x"), None), recall(K("start_y"), None)
        if sx is not None and sy is not None and (sx, sy) != tuple(surface.default_start):
            start = (float(sx), float(sy))
    st.markdown("#### Display")
    room = room_ui()
    return MapsState(
        view=view,
        surface=name,
        surface_params=params,
        optimizers=tuple(chosen),
        hyper=hyper,
        start=start,
        x_axis=x_axis,
        y_axis=y_axis,
        x_range=x_range,
        y_range=y_range,
        grid=grid,
        color=color,
        tol=tol,
        basin_grid=basin_grid,
        box=ss.get(K("box")),
        click=click,
        theory_lr=theory_lr,
        theory_beta=theory_beta,
        theory_lambda=theory_lambda,
        range_min=rmin,
        range_max=rmax,
        range_steps=rsteps,
        **out,
        **room,
    )


def _probe(name: str, params: dict[str, Scalar]) -> MapsState:
    """A state with only the surface and start, for reading the surface's curvature."""
    x, y = ss.get(K("start_x")), ss.get(K("start_y"))
    start = (float(x), float(y)) if x is not None and y is not None else None
    return MapsState(surface=name, surface_params=params, start=start)


def _range_one(key: str) -> Any:
    if key == "range_steps":
        return _range_steps()
    label = "Smallest learning rate" if key == "range_min" else "Largest learning rate"
    default = DEFAULT.range_min if key == "range_min" else DEFAULT.range_max
    ensure(K(key), lambda v: in_range(1e-12, 10.0)(v) and v > 0, default)
    return float(st.number_input(label, 1e-12, 10.0, key=K(key), format="%g"))


def _range_steps() -> int:
    return mw.int_slider(
        K,
        "range_steps",
        "Steps of the test",
        10,
        1000,
        DEFAULT.range_steps,
        "the learning rate grows by the same factor every step",
        step=10,
    )


def _theory_ui(
    surface: surfaces.Surface, name: str, params: dict[str, Scalar]
) -> tuple[float | None, float | None, str]:
    th = sweeps.theory_of(surface, sweeps.start_of(_probe(name, params), surface))
    opt = th.optimum if th is not None else None
    a_def = opt.momentum_lr if opt is not None else 0.01
    b_def = opt.momentum_beta if opt is not None else 0.9
    st.caption("Heavy-ball momentum (torch.optim.SGD with momentum β); β = 0 is gradient descent.")
    lr = mw.optional_number_ui(
        K,
        "theory_lr",
        "α (learning rate)",
        a_def,
        1e-8,
        10.0,
        "otherwise the optimal α* for this surface's Hessian",
    )
    beta = mw.optional_number_ui(
        K,
        "theory_beta",
        "β (momentum)",
        b_def,
        0.0,
        0.9999,
        "otherwise the optimal β* for this surface's Hessian",
    )
    lam = kept(K("theory_lambda"), lambda: mw.lambda_ui(K))
    return lr, beta, lam


# ---------------------------------------------------------------- clicks on a map


def take_click() -> None:
    """A click on a map: open that run's race on Explore, or zoom the basin map in there.

    Call before the widgets are drawn. The page keeps what the last drawn map needs to find
    the cell (``_click_ctx``: the view, the trace names, the specs of its panels).
    """
    event: Any = ss.get(CHART)
    try:
        points = event["selection"]["points"] if event else []
    except (KeyError, TypeError):
        return
    if not points:
        ss.pop(LAST_CLICK, None)
        return
    p = points[0]
    sig = (p.get("curve_number"), p.get("point_index"), p.get("x"), p.get("y"))
    if sig == ss.get(LAST_CLICK):
        return
    ss[LAST_CLICK] = sig
    ctx: Any = ss.get(CLICK_CTX)
    if not isinstance(ctx, dict):
        return
    try:
        names = ctx["names"]
        panel = map_figs.hover_panel(names[int(p["curve_number"])])
        x, y = float(p["x"]), float(p["y"])
    except (KeyError, TypeError, ValueError, IndexError):
        return
    if panel is None or panel >= len(ctx["specs"]):
        return
    spec = ctx["specs"][panel]
    if ctx["view"] == "sweep":
        ix = map_figs.nearest_index(spec.x.values(), x, spec.x.log)
        iy = map_figs.nearest_index(spec.y.values(), y, spec.y.log)
        open_explore(sweeps.sweep_cell_state(spec, iy, ix))
    elif ctx["view"] == "basin":
        xs, ys = spec.centres()
        ix, iy = map_figs.nearest_index(xs, x, False), map_figs.nearest_index(ys, y, False)
        if ctx.get("click") == "zoom":
            box = sweeps.zoom_box(
                spec.box, (x, y), surfaces.get(spec.surface, **dict(spec.surface_params)).box
            )
            ss[K("box")] = box
        else:
            open_explore(sweeps.basin_cell_state(spec, iy, ix))


def open_explore(state: explore_state.ExploreState) -> None:
    """Go to Explore with exactly this race in the URL (built with Explore's own codec)."""
    ss[frame.TO_TOP_KEY] = True
    st.switch_page(routes.script("explore"), query_params=explore_state.encode(state))


def draw_map(fig: dict[str, Any], view: str, specs: list[Any], click: str, name: str) -> None:
    ss[CLICK_CTX] = {
        "view": view,
        "names": [t.get("name") for t in fig["data"]],
        "specs": specs,
        "click": click,
    }
    st.plotly_chart(
        PlainFigure(fig),
        key=CHART,
        on_select="rerun",
        selection_mode="points",
        theme=None,
        width="stretch",
        config={
            "displaylogo": False,
            "modeBarButtonsToRemove": MODEBAR_REMOVE,
            "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2},
        },
    )


# ---------------------------------------------------------------- the views


def every(n: int, noun: str) -> str:
    """ "every state", "every 2nd state", "every 11th state"."""
    if n <= 1:
        return f"every {noun}"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"every {n}{suffix} {noun}"


def titles_of(names: list[str]) -> list[str]:
    return [optimizers.get(n).title for n in names]


def edges_of(state: MapsState) -> tuple[map_figs.Edges | None, sweeps.Theory | None]:
    surface = sweeps.surface_of(state)
    th = sweeps.theory_of(surface, sweeps.start_of(state, surface))
    if th is None or not th.curvature.positive_definite:
        return None, th
    return map_figs.Edges(th.curvature.lam_max, th.local, th.minimum), th


def show_errors(names: list[str], results: list[Any]) -> list[tuple[str, Any]]:
    ok = []
    for n, r in zip(names, results, strict=True):
        if isinstance(r, Exception):
            title = optimizers.get(n).title
            if isinstance(r, ValueError):
                st.error(f"{title} cannot run with these settings: {r}")
            else:
                st.error(f"{title}: the map could not be computed ({type(r).__name__}).")
        else:
            ok.append((n, r))
    return ok


def sweep_view(state: MapsState, style: Style) -> None:
    try:
        specs, notes = sweeps.sweep_specs(state)
    except axes.AxisError as exc:
        st.error(f"These axes cannot make a map: {exc}.")
        return
    specs = specs[:MAX_MAPS]
    for note in notes:
        if "clamped" in note or "outside" in note or "empty" in note:
            st.warning(note)
    notes = [n for n in notes if not ("clamped" in n or "outside" in n or "empty" in n)]
    if not specs:
        st.info("Pick at least one optimizer in the sidebar to draw its map.")
        return
    results = maps_runner.run_jobs(
        [
            maps_runner.Job(s.key(), functools.partial(sweeps.run_sweep, s), s.work(), "sweep")
            for s in specs
        ]
    )
    ok = show_errors([s.optimizer for s in specs], results)
    if not ok:
        return
    names = [n for n, _ in ok]
    res = [r for _, r in ok]
    if all(r.diverged_fraction == 1.0 for r in res):
        st.warning(
            "Every run of this map diverged: each one left the plot. Move the learning-rate "
            "range lower (or shorten the steps) to find where the optimizers converge."
        )
    edges, _ = edges_of(state)
    titles = titles_of(names)
    key = repr(("sweep", [r.spec.key() for r in res], state.color, state.tol, style, edges))
    fig = maps_runner.cached_figure(
        key,
        lambda: map_figs.sweep_figure(res, titles, state.color, style, edges, state.tol),
    )
    draw_map(fig, "sweep", [r.spec for r in res], "race", f"sweep-{state.surface}")
    spec = res[0].spec
    stride = map_figs.hover_stride(sum(r.final_loss.size for r in res))
    bits = [
        f"{len(spec.x.values())} × {len(spec.y.values())} runs per optimizer, {spec.steps} "
        f"steps each, from ({spec.start[0]:g}, {spec.start[1]:g}); colour: "
        f"{COLOR_TITLES[state.color]} (bright is better, vermillion diverged).",
        "Hover a cell for every value; **click a cell to open that race on Explore**.",
    ]
    if stride > 1:
        bits.append(f"The labels and clicks take {every(stride, 'cell')} at this resolution.")
    if spec.detail:
        bits.append(
            f"Each run records {every(max(r.stride for r in res), 'state')}: the rate is read "
            "there, before the run reaches the minimum to rounding."
        )
    if spec.reach and any(r.tol_every for r in res):
        bits.append(
            f"Each run's loss is checked at {every(max(r.tol_every for r in res), 'step')} "
            "as it runs: steps to tolerance are the first checked step within it."
        )
    if edges is not None:
        where = f"the minimum ({edges.at[0]:.3g}, {edges.at[1]:.3g})"
        kind = "local: this surface is not a quadratic" if edges.local else "exact: a quadratic"
        bits.append(
            f"Dashed: gradient descent's stability edge lr = 2/λmax; dotted: heavy-ball "
            f"momentum's (2 + 2β)/λmax, with λmax = {edges.lam_max:.4g} from the Hessian at "
            f"{where} ({kind})."
        )
    if spec.batch_size is not None or axes.BATCH in (spec.x.key, spec.y.key):
        bits.append(
            "With mini-batches each cell draws its own batches, so the race on Explore (same "
            "seed, one run) sees other batches than the cell did."
        )
    st.caption(" ".join(bits + notes))
    exports_ui(lambda: sweeps.sweep_csv(res), f"sweep-{state.surface}")


def basin_view(state: MapsState, style: Style) -> None:
    specs, notes = sweeps.basin_specs(state)
    specs = specs[:MAX_MAPS]
    for note in notes:
        st.info(note)
    surface = sweeps.surface_of(state)
    if not specs:
        st.info("Pick at least one optimizer in the sidebar to draw its basin map.")
        return
    if len(surface.minima) == 1:
        st.info(
            "This surface has a single minimum: every start that converges ends in it. Try "
            "Himmelblau, the six-hump camel or Several minima for several basins."
        )
    if not surface.minima:
        st.info("This surface has no minimum: every start is “no minimum yet” or diverges.")
    results = maps_runner.run_jobs(
        [
            maps_runner.Job(s.key(), functools.partial(sweeps.run_basin, s), s.work(), "basin")
            for s in specs
        ]
    )
    ok = show_errors([s.optimizer for s in specs], results)
    if not ok:
        return
    names = [n for n, _ in ok]
    res = [r for _, r in ok]
    if all(bool((r.label == sweeps.DIVERGED).all()) for r in res):
        st.warning("Every run diverged from every start: lower the learning rates.")
    titles = titles_of(names)
    labels = (f"start {surface.axis_labels[0]}", f"start {surface.axis_labels[1]}")
    key = repr(("basin", [r.spec.key() for r in res], style))
    minima = list(surface.minima)
    fig = maps_runner.cached_figure(
        key, lambda: map_figs.basin_figure(res, titles, minima, labels, style)
    )
    draw_map(fig, "basin", [r.spec for r in res], state.click, f"basins-{state.surface}")
    spec = res[0].spec
    stride = map_figs.hover_stride(sum(r.label.size for r in res))
    bits = [
        f"{spec.n} × {spec.n} starts per optimizer, {spec.steps} steps each. Each start has "
        f"the colour of the minimum its run ends within {res[0].radius:.2g} of, darker the "
        "more steps it took to settle there: from the step on which it stayed within reach ("
        + (
            "checked at every step)."
            if res[0].stride == 1
            else f"checked every {res[0].stride} steps as it runs)."
        ),
        "Click a start to open its race on Explore"
        if state.click == "race"
        else "Click to zoom in 4× there: the map is recomputed at the finer scale",
        "(switch in the sidebar).",
    ]
    if stride > 1:
        bits.append(f"The labels and clicks take {every(stride, 'start')} at this resolution.")
    st.caption(" ".join(bits))
    if state.box is not None:
        x0, x1, y0, y1 = state.box
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.caption(f"Zoomed: x {x0:.4g} … {x1:.4g}, y {y0:.4g} … {y1:.4g}.")
        c2.button("Reset zoom", key=K("reset_zoom"), on_click=lambda: ss.update({K("box"): None}))
    exports_ui(lambda: sweeps.basin_csv(res, minima), f"basins-{state.surface}")


def theory_view(state: MapsState, style: Style) -> None:
    spec, th, notes = sweeps.theory_spec(state)
    for note in notes:
        st.info(note)
    if spec is None or th is None or th.optimum is None:
        return
    opt = th.optimum
    lams = [float(v) for v in th.curvature.eigenvalues]
    st.markdown(
        f"Hessian at the minimum ({th.minimum[0]:.3g}, {th.minimum[1]:.3g}): eigenvalues "
        f"λ₁ = {lams[0]:.4g}, λ₂ = {lams[-1]:.4g}, condition number κ = {opt.kappa:.4g}"
        + (" (local)." if th.local else ".")
    )
    st.markdown(
        "| | best step size | best β | rate per step | steps to shrink the error 1000× |\n"
        "|---|---|---|---|---|\n"
        f"| gradient descent | α = 2/(λ₁ + λ₂) = {opt.gd_lr:.4g} | 0 | (κ − 1)/(κ + 1) = "
        f"{opt.gd_rate:.4f} | {_steps_for(opt.gd_rate)} |\n"
        f"| momentum | α* = (2/(√λ₁ + √λ₂))² = {opt.momentum_lr:.4g} | β* = ((√κ − 1)/(√κ + 1))²"
        f" = {opt.momentum_beta:.4f} | (√κ − 1)/(√κ + 1) = {opt.momentum_rate:.4f} | "
        f"{_steps_for(opt.momentum_rate)} |\n"
        f"| this race | α = {spec.alpha:.4g} | β = {spec.beta:.4g} | "
        f"{float(np.max(theory_rate(spec, lams))):.4f} | "
        f"{_steps_for(float(np.max(theory_rate(spec, lams))))} |"
    )
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            PlainFigure(theory_figs.rate_map_figure(lams, spec.alpha, spec.beta, opt, style)),
            key=K("theory_plane"),
            theme=None,
            width="stretch",
        )
        st.caption(
            "Colour: the spectral radius of momentum's 2 × 2 iteration matrix on one "
            "eigendirection, the factor its error shrinks by per step (vermillion: ≥ 1, it "
            "diverges). Dashed: the stability edge αλ = 2 + 2β. Dotted: critical damping "
            "β = (1 − √(αλ))²; above it the error oscillates (under-damped), below it creeps "
            "(over-damped). Circles: where this race's two eigenvalues sit; diamonds: the optimum."
        )
    run = sweeps.eigen_run(spec, th)
    with right:
        st.plotly_chart(
            PlainFigure(theory_figs.eigen_figure(run, lams, spec.alpha, spec.beta, style)),
            key=K("theory_eigen"),
            theme=None,
            width="stretch",
        )
        st.caption(
            "The error of this race split onto the Hessian's eigenvectors, step by step (solid), "
            "and the theory's prediction from the same start (dotted). With gradient descent "
            "(β = 0) and a small step, the steep direction (large λ) shrinks by |1 − αλ| per "
            "step and is gone first; the shallow one is what remains."
        )
    results = maps_runner.run_jobs(
        [
            maps_runner.Job(
                spec.sweep.key(),
                functools.partial(sweeps.run_sweep, spec.sweep),
                spec.sweep.work(),
                "sweep",
            )
        ]
    )
    if isinstance(results[0], Exception):
        st.error(f"The measured map could not be computed: {results[0]}")
    else:
        sweep = results[0]
        fig = theory_figs.theory_vs_measured_figure(sweep, lams, opt, style, th.local)
        draw_map_plain(fig, K("theory_measured"), f"theory-{state.surface}")
        st.caption(agreement_text(sweep, lams))
        exports_ui(lambda: sweeps.theory_csv(sweep, lams), f"theory-{state.surface}")
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(
            PlainFigure(theory_figs.gd_rate_figure(lams, opt, style)),
            key=K("theory_gd"),
            theme=None,
            width="stretch",
        )
        st.caption(
            "Gradient descent's rate is the worst of |1 − αλᵢ|: a larger step helps the "
            "shallow direction and hurts the steep one; they balance at α = 2/(λ₁ + λ₂)."
        )
    with c2:
        lam = lams[0] if state.theory_lambda == "min" else lams[-1]
        st.plotly_chart(
            PlainFigure(theory_figs.damping_figure(lam, spec.alpha, spec.beta, style)),
            key=K("theory_damping"),
            theme=None,
            width="stretch",
        )
        st.caption(
            "Move β with the slider under the chart: below critical damping the error creeps "
            "to zero without crossing it (over-damped), at it the fastest approach without "
            "oscillation, above it the error swings through zero with a shrinking amplitude "
            "√β per step (under-damped)."
        )


def theory_rate(spec: sweeps.TheorySpec, lams: list[float]) -> np.ndarray:
    from optimizers import theory

    return theory.rate_on_spectrum(spec.alpha, spec.beta, lams)


def _steps_for(rate: float) -> str:
    if not 0 < rate < 1:
        return "—" if rate >= 1 else "1"
    return str(math.ceil(math.log(1e-3) / math.log(rate)))


def agreement_text(sweep: sweeps.SweepResult, lams: list[float]) -> str:
    """How closely the measured map follows the theory, in numbers."""
    from optimizers import theory

    theo = theory.rate_on_spectrum(sweep.xs[None, :], sweep.ys[:, None], lams)
    measured = sweep.rate if sweep.rate is not None else np.full(theo.shape, np.nan)
    ok = np.isfinite(measured) & (sweep.diverged_at < 0) & (theo < 0.999)
    if not ok.any():
        return "No cell of the measured map converged readably."
    rel = np.abs(measured[ok] - theo[ok]) / theo[ok].clip(1e-12)
    unstable_theory = theo >= 1.0
    agree = (
        float(((sweep.diverged_at >= 0) | (measured >= 0.999))[unstable_theory].mean())
        if unstable_theory.any()
        else 1.0
    )
    return (
        f"Measured over {sweep.spec.steps} steps from the start on {measured.size:,} runs: "
        f"the median cell is within {np.median(rel):.2%} of the theory (the start's "
        f"mix of directions shows in the first steps); {agree:.1%} of the cells the theory calls "
        "unstable did not converge."
    )


def draw_map_plain(fig: dict[str, Any], key: str, name: str) -> None:
    st.plotly_chart(
        PlainFigure(fig),
        key=key,
        theme=None,
        width="stretch",
        config={
            "displaylogo": False,
            "modeBarButtonsToRemove": MODEBAR_REMOVE,
            "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2},
        },
    )


def range_view(state: MapsState, style: Style) -> None:
    specs, notes = sweeps.range_specs(state)
    specs = specs[:MAX_MAPS]
    for note in notes:
        st.info(note)
    if not specs:
        st.info("Pick at least one optimizer in the sidebar to run its range test.")
        return
    results = maps_runner.run_jobs(
        [
            maps_runner.Job(s.key(), functools.partial(sweeps.run_range, s), s.work(), "range")
            for s in specs
        ]
    )
    ok = show_errors([s.optimizer for s in specs], results)
    if not ok:
        return
    res = [r for _, r in ok]
    titles = titles_of([n for n, _ in ok])
    surface = sweeps.surface_of(state)
    edges, _ = edges_of(state)
    fstar = min(p.value for p in surface.minima) if surface.minima else None
    fig = theory_figs.range_figure(
        res, titles, fstar, 2.0 / edges.lam_max if edges else None, style
    )
    draw_map_plain(fig, K("range"), f"lr-range-{state.surface}")
    st.markdown(
        f"**The rule.** {lr_range.RULE}"
        + (" The losses were smoothed first (mini-batches)." if res[0].smoothed else "")
    )
    rows = [
        "| optimizer | steepest | minimum ÷ 10 | lowest loss at | read up to step | try it |",
        "|---|---|---|---|---|---|",
    ]
    for r, title in zip(res, titles, strict=True):
        s = r.suggestion
        pick = s.steepest or s.minimum_tenth
        link = "—"
        if pick is not None:
            lr_name = next(
                h.name for h in optimizers.get(r.spec.optimizer).hypers if h.role == "lr"
            )
            race = sweeps.explore_state(
                r.spec.optimizer,
                r.spec.surface,
                dict(r.spec.surface_params),
                {**dict(r.spec.hypers), lr_name: float(f"{pick:.3g}")},
                r.spec.start,
                min(200, axes.MAX_STEPS),
                r.spec.batch_size,
                r.spec.seed,
            )
            link = f"[race at lr = {pick:.3g}]({explore_state.href(race)})"
        rows.append(
            f"| {title} | {_lr(s.steepest)} | {_lr(s.minimum_tenth)} | {_lr(s.best_lr)} | "
            f"{s.stop}{' (diverged at ' + str(r.diverged_at) + ')' if r.diverged_at >= 0 else ''}"
            f" | {link} |"
        )
    st.markdown("\n".join(rows))
    st.caption(
        f"One run per optimizer from ({res[0].spec.start[0]:g}, {res[0].spec.start[1]:g}); its "
        f"learning rate grows from {res[0].spec.lr_min:g} to {res[0].spec.lr_max:g} by the same "
        "factor every step (Smith 2017; fastai's lr_find). Each point is the full-batch loss "
        "after a step, at that step's learning rate. Dashed: gradient descent's stability edge "
        "2/λmax where the surface has a minimum."
    )
    exports_ui(lambda: sweeps.range_csv(res), f"lr-range-{state.surface}")


def _lr(v: float | None) -> str:
    return "—" if v is None else f"{v:.3g}"


def exports_ui(csv: Callable[[], str], name: str) -> None:
    downloads_ui([Download("The grid (CSV)", csv, f"{name}.csv", K("export_csv"))], name)


VIEWS: dict[str, Callable[[MapsState, Style], None]] = {
    "sweep": sweep_view,
    "basin": basin_view,
    "theory": theory_view,
    "range": range_view,
}


# ---------------------------------------------------------------- the page

url_warnings = frame.enter(CODEC, K, apply)
with frame.error_boundary("Maps", K):
    take_click()
    presenter = frame.presenting()
    frame.style_page(presenter=presenter)
    head, lessons = st.columns([5, 1], vertical_alignment="center")
    chosen = take_pending_lesson(K)  # a lesson button was clicked
    if chosen is not None:
        ss[K("lesson")] = chosen.key
        apply(chosen.state)
    lessons_popover(lessons, K, presets.MAP_PRESETS, columns=2)
    view = mw.view_ui(K)
    with st.sidebar:
        state = sidebar_ui(view)
        if presenter and not state.embed:
            state = dataclasses.replace(state, embed=True)
        share_popover(
            state, K, label="Share this map", what="this map with every setting it depends on"
        )
    if state.embed and not frame.embedded_by_link():
        frame.leave_presenter_button()
    for w in url_warnings:
        st.warning(w)
    surface = sweeps.surface_of(state)
    head.markdown(f"**{VIEW_TITLES[view]}** · {surface.title} · {surface.description}")
    lesson_note_ui(K)
    style = Style(
        dark=frame.dark_figures(state.dark), large_fonts=state.large_fonts, embed=state.embed
    )
    VIEWS[view](state, style)
    frame.leave(CODEC, K, state)

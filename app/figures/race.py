"""The race: every optimizer's path across the surface, a moving head per run, the curves
beside it, and client-side playback. Pure: surface and trajectories in, a plain plotly dict out.

One generic builder serves every surface; it is driven only by the surface's metadata
(bounds, minima, saddles, log colour). The figure has three panels: the surface (left, a
background image from app/figures/images.py) with each optimizer's path and a moving head per
run, and on the right the loss gap (loss − f*) above the gradient norm, both against the step
on logarithmic scales (app/figures/curves.py), with a marker at the current animation step.
The animation is client-side: plotly frames that move only the two marker traces
(``redraw: false``), at most ``max_frames`` of them, driven by Play / Pause / speed buttons and
a step slider. Why the figure is built the way it is (few traces, 16 ms frames, 50 scrubber
positions) was measured with benchmarks/bench_app.py; the numbers are in
benchmarks/APP_RESULTS.md.

A click on the surface is turned into data coordinates by the page's bridge script
(app/ui/bridge.py), which reports it as a selected point of the ``click-target`` trace; the same
script reports a move of the scrubber as a point of the ``explained step`` trace. The layout's
``meta`` marks the figure for it.

Trace order of the race figure (the tests and the browser test rely on the names, not indices):
``click-target``, critical points, ``start``, one path per optimizer, ``diverged``, one curve
trace per optimizer (its bands, separated by breaks), then the animated traces, always last:
``heads``, ``curves-now`` (the current point of every curve plus the step readout) and, while
the step-by-step maths explains a run, ``explained step`` (that run's step, as an arrow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.figures import colormap
from app.figures.curves import (
    Band,
    band_titles,
    bands_for,
    curve_stop,
    curve_traces,
    curves_layout,
    curves_of,
    loss_is_signed,
    reference_value,
)
from app.figures.format import decimals_for, rounded
from app.figures.images import surface_image
from app.figures.layout import Fig, Style, axis_style
from optimizers.problem import exit_points

if TYPE_CHECKING:
    from optimizers import Trajectory
    from surfaces import Surface

POINT_STYLE = {  # kind -> (legend name, marker symbol, size)
    "global": ("global minimum", "star", 17),
    "local": ("local minimum", "diamond", 10),
    "saddle": ("saddle point", "x", 12),
}
META = {"op": "race"}  # layout.meta: what the bridge script (app/ui/bridge.py) looks for
CLICK_TARGET = "click-target"
EXPLAINED = "explained step"
# 1x playback. plotly shows the next frame at the first display tick (60 Hz: every 16.7 ms) that
# comes more than FRAME_MS after the last frame, so FRAME_MS must stay under 16.7 ms for playback
# to reach the display rate.
FRAME_MS = 16
PATH_EPS = 1 / 1000  # path points closer than this fraction of the plot are merged
# Scrubber positions: plotly lays out every slider step (and measures its label) on each draw
# and moves the slider on every frame it has a step for, so the scrubber has at most this many.
# The exact step of every frame is the step readout (the last point of "curves-now").
SLIDER_STEPS = 50


@dataclass(frozen=True)
class Series:
    """One optimizer's runs, ready to draw: display positions and curves.

    ``positions`` (R, K, 2) are the recorded states with diverged runs frozen at the point
    where they left the plot; ``exits`` (K, 2) holds that point (NaN for runs that stayed);
    ``gap``/``grad_norm`` (R,) are the curves of run 0 (the centre start).
    """

    name: str
    title: str
    color: str
    dash: str
    positions: np.ndarray
    steps: np.ndarray
    diverged_at: np.ndarray
    exits: np.ndarray
    gap: np.ndarray
    grad_norm: np.ndarray
    lr: np.ndarray  # (T,) the learning rate of each step of run 0
    symbol: str = "circle"  # its moving marker (runs of one optimizer differ in shape)


def exit_point(
    path: np.ndarray, bounds: tuple[tuple[float, float], tuple[float, float]]
) -> np.ndarray:
    """Where a path (M, 2) last leaves the rectangle ``bounds`` (its end point if it never does).

    Used for diverged runs: the path is drawn up to the plot's edge and a marker placed there.
    """
    (x0, x1), (y0, y1) = bounds
    inside = (path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1)
    if inside[-1]:
        return np.array(path[-1], dtype=np.float64)
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        return np.array([min(max(path[-1, 0], x0), x1), min(max(path[-1, 1], y0), y1)])
    a, b = path[idx[-1]], path[idx[-1] + 1]  # the last step out: where it crosses the edge
    return np.asarray(exit_points(a[:, None], b[:, None], bounds)[:, 0], dtype=np.float64)


def run_styles(
    runs: Mapping[str, Trajectory], *, dark: bool = False
) -> list[tuple[str, Trajectory, tuple[str, str]]]:
    """(label, trajectory, (colour, dash)) per run: each optimizer's own colour; runs that
    compare one optimizer with itself its own hue in shades and line styles."""
    return [
        (name, traj, colormap.variant_style(*v, dark=dark)) for name, traj, v in _variants(runs)
    ]


def _variants(runs: Mapping[str, Trajectory]) -> list[tuple[str, Trajectory, tuple[str, int]]]:
    """(label, trajectory, (optimizer, its j-th run in this race))."""
    seen: dict[str, int] = {}
    out = []
    for name, traj in runs.items():
        opt = str(getattr(traj, "optimizer", name.split("@", 1)[0]))
        j = seen.get(opt, 0)
        seen[opt] = j + 1
        out.append((name, traj, (opt, j)))
    return out


def prepare(
    surface: Surface,
    runs: Mapping[str, Trajectory],
    titles: Mapping[str, str],
    *,
    dark: bool = False,
) -> list[Series]:
    """Trajectories -> drawable :class:`Series` (exit points, frozen heads, loss gaps)."""
    fstar = reference_value(surface)
    out = []
    for name, traj, (opt, j) in _variants(runs):
        color, dash = colormap.variant_style(opt, j, dark=dark)
        pos = np.array(traj.positions, dtype=np.float64)  # (R, K, 2), copied: we edit it
        steps = np.asarray(traj.steps)
        div = np.asarray(traj.diverged_at)
        exits = np.full((pos.shape[1], 2), np.nan)
        for k in np.flatnonzero(div >= 0):
            r = int(np.searchsorted(steps, div[k], side="left"))
            r = min(r, len(steps) - 1)
            exits[k] = exit_point(pos[: r + 1, k], surface.bounds)
            pos[r:, k] = exits[k]
        loss = _drawable(traj.loss[:, 0])
        gap = loss - fstar if fstar is not None else loss
        out.append(
            Series(
                name=name,
                title=titles.get(name, name),
                color=color,
                dash=dash,
                positions=pos,
                steps=steps,
                diverged_at=div,
                exits=exits,
                gap=gap,
                grad_norm=_drawable(traj.grad_norm[:, 0]),
                lr=np.asarray(traj.lr, dtype=np.float64).reshape(len(steps) - 1, -1)[:, 0]
                if len(steps) > 1
                else np.zeros(0),
                symbol=colormap.variant_symbol(j),
            )
        )
    return out


_LARGEST = float(np.finfo(np.float64).max)


def _drawable(values: np.ndarray) -> np.ndarray:
    """A recorded curve with the core's stand-in for a non-finite value (the largest float,
    where a run stopped because f was not defined) as NaN: a gap in the curve, not a value."""
    a = np.array(values, dtype=np.float64)
    a[np.abs(a) >= _LARGEST] = np.nan
    return a


def _click_target(surface: Surface) -> dict[str, Any]:
    """An invisible one-point trace: the bridge script reports a click on the surface as a
    selected point of this trace, at the exact coordinates clicked."""
    (x0, _), (y0, _) = surface.bounds
    return {
        "type": "scatter",
        "mode": "markers",
        "name": CLICK_TARGET,
        "x": [x0],
        "y": [y0],
        "marker": {"size": 1, "opacity": 0},
        "hoverinfo": "skip",
        "showlegend": False,
    }


@dataclass(frozen=True)
class Explained:
    """The run the step-by-step maths explains: series ``name``, start ``k``, at ``step``."""

    name: str
    k: int
    step: int


def _critical_points(surface: Surface, dec: int, colors: dict[str, str]) -> list[dict[str, Any]]:
    traces = []
    points = list(surface.minima) + list(surface.saddles)
    for kind, (label, symbol, size) in POINT_STYLE.items():
        pts = [p for p in points if p.kind == kind]
        if not pts:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label,
                "x": rounded(np.array([p.xy[0] for p in pts]), dec),
                "y": rounded(np.array([p.xy[1] for p in pts]), dec),
                "marker": {
                    "symbol": symbol,
                    "size": size,
                    "color": "#FFFFFF" if kind != "saddle" else colors["font"],
                    "line": {"width": 1.5, "color": "#000000"},
                },
                "hovertemplate": label + " (%{x:.3f}, %{y:.3f})<extra></extra>",
            }
        )
    return traces


def thin(path: np.ndarray, eps: float) -> np.ndarray:
    """(M, 2) -> the points of ``path`` at least ``eps`` of path length apart (ends kept).

    A converging path takes hundreds of tiny steps that land on the same screen pixel;
    drawing one point per ``eps`` of arc length keeps every visible corner (zig-zags have
    long steps) while cutting the payload and the browser's paint work.
    """
    if len(path) <= 2 or not eps > 0:
        return path
    seg = np.hypot(*np.diff(path, axis=0).T)
    bucket = np.floor(np.concatenate([[0.0], np.cumsum(seg)]) / eps)
    keep = np.concatenate([[True], bucket[1:] != bucket[:-1]])
    keep[-1] = True
    return np.asarray(path[keep])


def _joined(paths: np.ndarray, dec: int, eps: float) -> tuple[list[Any], list[Any]]:
    """(R, K, 2) -> x, y lists with the K (thinned) paths separated by None."""
    xs: list[Any] = []
    ys: list[Any] = []
    for k in range(paths.shape[1]):
        if k:
            xs.append(None)
            ys.append(None)
        p = thin(paths[:, k], eps)
        xs.extend(rounded(p[:, 0], dec))
        ys.extend(rounded(p[:, 1], dec))
    return xs, ys


def visible_until(s: Series) -> np.ndarray:
    """Recorded positions to draw: up to the divergence point for diverged runs."""
    last = len(s.steps)
    if (s.diverged_at >= 0).all() and len(s.diverged_at):
        r = int(np.searchsorted(s.steps, int(s.diverged_at.max()), side="left"))
        last = min(r + 1, last)
    return s.positions[:last]


def frame_steps(total_steps: int, max_frames: int) -> np.ndarray:
    """The step shown by each animation frame: at most ``max_frames``, first and last included."""
    n = max(1, min(max_frames, total_steps + 1))
    return np.unique(np.rint(np.linspace(0, total_steps, n)).astype(np.int64))


def race_figure(
    surface: Surface,
    series: Sequence[Series],
    starts: np.ndarray,
    style: Style = Style(),
    image: dict[str, Any] | None = None,
    explained: Explained | None = None,
) -> Fig:
    """The main view as a plain plotly figure dict with client-side animation frames.

    ``starts`` is (K, 2). ``series`` may be empty (then only the surface is drawn).
    ``image`` is :func:`surface_image`'s result when the caller caches it. ``explained``: the
    run whose step the maths panel explains; its step is drawn as an arrow that the frames
    move, and the figure opens at that step (the scrubber too), so that a rerun after the
    scrubber chose it shows what was on screen.
    """
    colors = style.colors
    (x0, x1), (y0, y1) = surface.bounds
    dec = decimals_for(max(x1 - x0, y1 - y0))
    ax_x, ax_y = surface.axis_labels
    data: list[dict[str, Any]] = [_click_target(surface)]
    data += _critical_points(surface, dec, colors)
    data.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "start",
            "x": rounded(starts[:, 0], dec),
            "y": rounded(starts[:, 1], dec),
            "marker": {
                "symbol": "circle-open",
                "size": 14,
                "color": colors["font"],
                "line": {"width": 3},
            },
            "hovertemplate": "start (%{x:.3f}, %{y:.3f})<extra></extra>",
        }
    )
    width = 4.0 if style.large_fonts else 3.0
    for s in series:
        xs, ys = _joined(visible_until(s), dec, PATH_EPS * max(x1 - x0, y1 - y0))
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": s.title,
                "legendgroup": s.name,
                "x": xs,
                "y": ys,
                "line": {"color": s.color, "width": width, "dash": s.dash},
                "opacity": 0.8,
                "hovertemplate": s.title + " (%{x:.3f}, %{y:.3f})<extra></extra>",
            }
        )
    exits = [(s, k) for s in series for k in np.flatnonzero(s.diverged_at >= 0)]
    if exits:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "diverged",
                "x": rounded(np.array([s.exits[k, 0] for s, k in exits]), dec),
                "y": rounded(np.array([s.exits[k, 1] for s, k in exits]), dec),
                "text": [f"{s.title} diverged at step {int(s.diverged_at[k])}" for s, k in exits],
                "marker": {
                    "symbol": "x",
                    "size": 20,
                    "color": [s.color for s, _ in exits],
                    "line": {"width": 2, "color": colors["font"]},
                },
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
    n_steps = int(max((int(s.steps[-1]) for s in series), default=0))
    fsteps = frame_steps(n_steps, style.max_frames)
    curves = curves_of(series)
    signed = loss_is_signed(surface, curves)
    bands = bands_for(curves, style.domains, signed=signed, lr=style.lr_curve)
    data += curve_traces(series, curves, bands)
    per_frame = _frame_traces(series, fsteps, dec, bands)
    target = next((x for x in series if explained and x.name == explained.name), None)
    shown = 0 if explained is None or target is None else explained.step
    heads = per_frame[0] if shown == 0 else _frame_traces(series, np.array([shown]), dec, bands)[0]
    head_colors = [s.color for s in series for _ in range(s.positions.shape[1])]
    data.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "heads",
            "x": heads[0]["x"],
            "y": heads[0]["y"],
            "showlegend": False,
            "marker": {
                "size": 15 if style.large_fonts else 13,
                "color": head_colors,
                "symbol": [s.symbol for s in series for _ in range(s.positions.shape[1])],
                "line": {"width": 2, "color": colors["font"]},
            },
            "hoverinfo": "skip",
        }
    )
    # The current point of every curve (band after band) and, last, the step readout: a
    # text-only point in the loss band's lower left corner, which the curves leave free (they
    # start high at step 0 and fall to the right). One trace, not three.
    curve_colors = [s.color for s in series] * len(bands)
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "curves-now",
            "x": heads[1]["x"],
            "y": heads[1]["y"],
            "text": heads[1]["text"],
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
            "marker": {
                "size": [10] * len(curve_colors) + [0],
                "color": [*curve_colors, "rgba(0,0,0,0)"],
                "symbol": [s.symbol for s in series] * len(bands) + ["circle"],
                "line": {"width": 1.5, "color": colors["font"]},
            },
            "textposition": "top right",
            "textfont": {"size": style.font + 2, "color": colors["font"]},
            "cliponaxis": False,
            "hoverinfo": "skip",
        }
    )
    animated = [len(data) - 2, len(data) - 1]
    if explained is not None and target is not None:
        k = min(max(explained.k, 0), target.positions.shape[1] - 1)
        arrows = _step_arrows(target, k, np.concatenate([[shown], fsteps]), dec)
        data.append(_explained_trace(target, arrows[0], style))
        animated.append(len(data) - 1)
        per_frame = [[*d, a] for d, a in zip(per_frame, arrows[1:], strict=True)]
    frames = [
        {"name": str(int(t)), "data": d, "traces": animated}
        for t, d in zip(fsteps, per_frame, strict=True)
    ]
    titles = band_titles(surface, signed, style.lr_curve)
    layout = _layout(surface, style, (ax_x, ax_y), fsteps, bands if series else None, titles)
    if shown and "sliders" in layout:
        at = np.flatnonzero(slider_steps(fsteps) <= shown)
        layout["sliders"][0]["active"] = int(at[-1]) if at.size else 0
    # fixed ranges: plotly then skips autoranging on every animation frame
    layout["xaxis2"]["range"] = [0, max(n_steps, 1)]
    layout["images"] = [image or surface_image(surface, dark=style.dark, cmap=style.cmap)]
    layout["meta"] = dict(META)
    return {"data": data, "layout": layout, "frames": frames if series else []}


def _frame_traces(
    series: Sequence[Series],
    fsteps: np.ndarray,
    dec: int,
    bands: Sequence[Band],
) -> list[list[dict[str, Any]]]:
    """The two animated traces for each frame step: the heads on the surface, and the current
    point of every curve (band after band) followed by the step readout.

    Vectorized over frames: one rounding and one ``tolist`` per array, not per frame.
    """
    readout_y = bands[0].p0
    if not series:
        return [
            [{"x": [], "y": []}, {"x": [0], "y": [readout_y], "text": ["step 0"]}] for _ in fsteps
        ]
    heads, xs, lr_x = [], [], []
    per_band: list[list[np.ndarray]] = [[] for _ in bands]
    for s in series:
        r = np.searchsorted(s.steps, fsteps, side="right") - 1
        r = np.clip(r, 0, len(s.steps) - 1)
        heads.append(s.positions[r])  # (F, K, 2)
        rc = np.minimum(r, curve_stop(s) - 1)
        xs.append(s.steps[rc])
        per_band[0].append(bands[0].clip(s.gap[rc]))
        per_band[1].append(bands[1].clip(s.grad_norm[rc]))
        if len(bands) > 2:  # the learning rate of the step that led here (step 1's at step 0)
            t = np.clip(s.steps[rc], 1, max(len(s.lr), 1))
            lr_x.append(t)
            per_band[2].append(s.lr[t - 1] if len(s.lr) else np.full(len(t), np.nan))
    h = np.concatenate(heads, axis=1)  # (F, K_all, 2)
    hx, hy = rounded(h[..., 0], dec), rounded(h[..., 1], dec)
    sx = np.stack(xs, axis=1).astype(np.int64).tolist()  # (F, S)
    x_bands = [sx, sx] + ([np.stack(lr_x, axis=1).astype(np.int64).tolist()] if lr_x else [])
    y_bands = []
    for band, values in zip(bands, per_band, strict=True):
        v = np.stack(values, axis=1)
        y_bands.append(np.array(band.y(v.ravel()), dtype=object).reshape(v.shape).tolist())
    blank = [""] * (len(bands) * len(series))
    return [
        [
            {"x": hx[i], "y": hy[i]},
            {
                "x": [x for xb in x_bands for x in xb[i]] + [0],
                "y": [y for yb in y_bands for y in yb[i]] + [readout_y],
                "text": [*blank, f"step {int(t)}"],
            },
        ]
        for i, t in enumerate(fsteps)
    ]


def _step_arrows(s: Series, k: int, steps: np.ndarray, dec: int) -> list[dict[str, Any]]:
    """For each step t of ``steps``: run ``k``'s move from θ_{t-1} to θ_t (just θ_0 at 0)."""
    r = np.clip(np.searchsorted(s.steps, steps, side="right") - 1, 0, len(s.steps) - 1)
    before = np.clip(r - 1, 0, None)
    out = []
    for t, a, b in zip(steps, before, r, strict=True):
        pts = s.positions[[b] if t == 0 else [a, b], k]
        out.append(
            {
                "x": rounded(pts[:, 0], dec),
                "y": rounded(pts[:, 1], dec),
                "text": ["" for _ in pts[:-1]] + [f"t = {int(t)}"],
            }
        )
    return out


def _explained_trace(s: Series, arrow: dict[str, Any], style: Style) -> dict[str, Any]:
    """The step the maths panel explains: an arrow from θ_{t-1} to θ_t, labelled with t."""
    colors = style.colors
    return {
        "type": "scatter",
        "mode": "lines+markers+text",
        "name": EXPLAINED,
        "x": arrow["x"],
        "y": arrow["y"],
        "text": arrow["text"],
        "textposition": "top center",
        "textfont": {"size": style.font, "color": colors["font"]},
        "line": {"color": colors["font"], "width": 2.5},
        "marker": {
            "symbol": "arrow",
            "angleref": "previous",
            "size": 16,
            "color": s.color,
            "line": {"width": 1.5, "color": colors["font"]},
        },
        "showlegend": False,
        "cliponaxis": False,
        "hoverinfo": "skip",
    }


def _anim_args(duration: int, redraw: bool = False) -> dict[str, Any]:
    return {
        "frame": {"duration": duration, "redraw": redraw},
        "transition": {"duration": 0},
        "fromcurrent": True,
        "mode": "immediate",
    }


def _layout(
    surface: Surface,
    style: Style,
    labels: tuple[str, str],
    fsteps: np.ndarray,
    bands: Sequence[Band] | None,
    titles: Sequence[str] = (),
) -> dict[str, Any]:
    """The layout; ``bands`` (None: nothing to animate) place the two curve panels."""
    animated = bands is not None
    colors = style.colors
    f = style.font
    dom = style.domains
    (x0, x1), (y0, y1) = surface.bounds
    axis = axis_style(colors, f)
    layout: dict[str, Any] = {
        "height": style.height,
        "margin": {
            "l": 64,
            "r": 16,
            "t": 56,
            "b": (
                style.bottom_margin
                if animated and not style.stacked
                else (96 if animated else 40) + 30 * style.stacked + 24 * style.large_fonts
            ),
        },
        # The figure's own background, always: its text is drawn for it, so a dark figure on a
        # light page (or a light one on a dark page) stays readable.
        "paper_bgcolor": colors["paper"],
        "plot_bgcolor": colors["paper"],
        "font": {"size": f, "color": colors["font"], "family": "Source Sans, sans-serif"},
        "hovermode": "closest",
        "hoverlabel": {"font": {"size": f}},
        "dragmode": "pan",
        "uirevision": surface.name + repr(sorted(surface.params.items())),
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.01,
            "yanchor": "bottom",
            "font": {"size": f - 1},
            "bgcolor": "rgba(0,0,0,0)",
            "itemclick": "toggle",
        },
        "xaxis": axis
        | {
            "domain": dom["x"],
            "range": [x0, x1],
            "title": {"text": labels[0], "font": {"size": f}},
        },
        "yaxis": axis
        | {
            "domain": dom["y"],
            "range": [y0, y1],
            "title": {"text": labels[1], "font": {"size": f}},
        },
    }
    layout |= curves_layout(
        titles or band_titles(surface, False, False), dom, bands, axis, colors, f
    )
    if not animated:
        return layout
    layout |= playback_controls(style, fsteps)
    return layout


def playback_controls(
    style: Style,
    fsteps: np.ndarray,
    *,
    redraw: bool = False,
    buttons: tuple[float, float] | None = None,
    slider: tuple[float, float, float] | None = None,
    pad: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The Play / Pause / Slow / Fast / Replay buttons and the scrubber (layout keys
    ``updatemenus`` and ``sliders``) over the frames named by ``fsteps``, for every animated
    figure of the app (the race, its 3-D view, the networks' boundaries and landscape).
    ``redraw``: the frames need a full redraw (a 3-D scene does); ``buttons`` (x, y) of their
    right end, ``slider`` (x, length, y) and ``pad`` (top, bottom) in the figure's paper. By
    default the race's own places: with the curves beside the surface, ``Style.controls_top``
    pixels under the plot area (not a fraction of its height, which shrinks under a lesson
    note or a two-line legend: the controls then rose into the axis titles), stacked under it
    in fractions of the paper."""
    colors = style.colors
    f = style.font
    dom = style.domains
    below = 0  # pixels between the buttons' y and their top edge
    # by default the room the step label above the rail and the tick labels below it took,
    # so the chart keeps its layout (a step readout shows the step instead)
    pt, pb = round(1.6 * f), round(1.6 * (f - 2))
    if style.stacked:
        by, sy = dom["buttons"][1], dom["slider_y"][0]
    else:
        by = sy = 0.0
        below = style.controls_top
        pt = below - 6  # the rail sits about 6 px under the slider's top edge
    bx, by = buttons if buttons is not None else (dom["buttons"][0], by)
    sx, slen, sy = slider if slider is not None else (0.0, dom["slider"][1] - dom["slider"][0], sy)
    pt, pb = pad if pad is not None else (pt, pb)
    frame = {"duration": 0, "redraw": redraw}
    button = {"method": "animate"}
    return {
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": bx,
                "xanchor": "right",  # never past the right edge: plotly would widen the margin
                "y": by,
                "yanchor": "top",
                "pad": {"t": below if buttons is None else 0, "r": 8},
                "font": {"size": f - 1, "color": "#262730"},
                "bgcolor": "#F0F2F6",
                "bordercolor": colors["grid"],
                "buttons": [
                    button | {"label": "▶ Play", "args": [None, _anim_args(FRAME_MS, redraw)]},
                    button
                    | {"label": "Pause", "args": [[None], {"frame": frame, "mode": "immediate"}]},
                    button | {"label": "Slow", "args": [None, _anim_args(3 * FRAME_MS, redraw)]},
                    button | {"label": "Fast", "args": [None, _anim_args(FRAME_MS // 2, redraw)]},
                    button
                    | {
                        "label": "Replay",
                        "args": [None, _anim_args(FRAME_MS, redraw) | {"fromcurrent": False}],
                    },
                ],
            }
        ],
        "sliders": [
            {
                "active": 0,
                "x": sx,
                "len": slen,
                "y": sy,
                "yanchor": "top",
                "pad": {"t": pt, "b": pb},
                "font": {"size": f - 2},
                "currentvalue": {"visible": False},
                "transition": {"duration": 0},
                "bgcolor": "#F0F2F6",
                "activebgcolor": "#E69F00",
                "tickcolor": colors["muted"],
                "steps": [
                    {
                        "method": "animate",
                        "label": "",  # no 50 labels to lay out and measure on every draw
                        "args": [
                            [str(int(t))],
                            {"frame": frame, "mode": "immediate", "transition": {"duration": 0}},
                        ],
                    }
                    for t in slider_steps(fsteps)
                ],
            }
        ],
    }


def slider_steps(fsteps: np.ndarray, n: int = SLIDER_STEPS) -> np.ndarray:
    """At most ``n`` of the frame steps, evenly spaced, first and last included."""
    if len(fsteps) <= n:
        return fsteps
    return fsteps[np.unique(np.rint(np.linspace(0, len(fsteps) - 1, n)).astype(np.int64))]

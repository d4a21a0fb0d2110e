"""The Networks page's training figure and its curves. Pure: numbers in, plain plotly dicts out.

The training figure (:func:`training_figure`) shows every run's network as small multiples
over the data (TensorFlow Playground's picture: the network's output over the input plane,
orange for class 0 / negative, blue for class 1 / positive, the data points on top) beside
the training loss and accuracy per epoch, and plays the training in the browser: plotly frames
swap each panel's picture (a ``layout.images`` entry: contour and heatmap traces vanish when an
animation plays, pictures do not) and move the curves' markers. Play, Pause, Slow, Fast, Replay
and a scrubber drive it; the epoch of the frame is written on the curves.

All panels share one pair of axes (each panel is a unit square placed in a grid): plotly.js
re-runs every trace's defaults on every frame, so the figure keeps its traces few (the data
points of every panel are one trace, each run's two curves one trace).

:func:`curves_figure` draws the loss per step and the loss and accuracy per epoch of every run,
one column per batching scheme, so the lessons' three schemes are compared side by side.
"""

from __future__ import annotations

import base64
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.figures import colormap
from app.figures.curves import GAP_FLOOR, Band
from app.figures.format import rounded, significant
from app.figures.layout import Fig, Style, axis_style
from app.figures.race import playback_controls

BLUE = "#0877BD"  # class 1 / positive output (TensorFlow Playground's colours)
ORANGE = "#F59322"  # class 0 / negative output
LEVELS = 8  # colour bands per side of the decision boundary
PANEL_GAP = 0.1  # between panels, in panel widths
TITLE_ROOM = 0.32  # above each panel, in panel widths, for its title (up to three lines)
MAX_POINTS_DRAWN = 400  # data points per panel (a larger set is thinned for the picture)
CURVE_POINTS = 300
DRAWN_MAX = 1e100  # losses are drawn up to here (a log axis of 1e300 has no ticks to write)


def paper_color(style: Style) -> str:
    """Dark figures bring their own background (the page around them may be light)."""
    return style.colors["paper"] if style.dark else "rgba(0,0,0,0)"


# ---------------------------------------------------------------- output pictures


def _rgb(color: str) -> np.ndarray:
    return np.array(colormap._hex_to_rgb(color), dtype=np.float64)


def output_palette(dark: bool) -> np.ndarray:
    """(2 LEVELS + 1, 3) uint8: orange ... page colour ... blue, pale enough for points on top."""
    paper = _rgb("#0E1117" if dark else "#FFFFFF")
    strength = 0.75 if dark else 0.6
    rows = []
    for i in range(-LEVELS, LEVELS + 1):
        end = _rgb(BLUE if i > 0 else ORANGE)
        w = strength * abs(i) / LEVELS
        rows.append(paper * (1.0 - w) + end * w)
    return np.clip(np.rint(np.array(rows)), 0, 255).astype(np.uint8)


def output_levels(signed: np.ndarray, *, discretize: bool) -> np.ndarray:
    """(G, G) values in [-1, 1] -> palette indices 0 .. 2 LEVELS (LEVELS: the boundary).

    ``signed``: 2p - 1 for a class probability p, or the regression output scaled into
    [-1, 1]. Discretised: only the side of the boundary (TensorFlow Playground's option).
    """
    s = np.nan_to_num(np.clip(np.asarray(signed, dtype=np.float64), -1.0, 1.0))
    if discretize:
        side = round(0.6 * LEVELS)
        idx = np.where(s > 0, side, np.where(s < 0, -side, 0))
    else:
        idx = np.rint(s * LEVELS).astype(np.int64)
    return np.asarray(idx + LEVELS, dtype=np.uint8)


def output_rgb(signed: np.ndarray, *, discretize: bool, dark: bool) -> np.ndarray:
    """(G, G) values in [-1, 1] (row 0 at the TOP) -> (G, G, 3) banded colours."""
    return np.asarray(output_palette(dark)[output_levels(signed, discretize=discretize)])


@functools.lru_cache(maxsize=4)
def _palette(dark: bool, border: str | None = None) -> np.ndarray:
    """The banded palette, plus the frame's colour as the last entry when there is one."""
    table = output_palette(dark)
    if border is not None:
        table = np.vstack([table, np.array([_rgb(border)], dtype=np.uint8)])
    return table


def output_png(signed: np.ndarray, *, discretize: bool, dark: bool) -> bytes:
    """The picture as a palette PNG (one byte per pixel, the fixed banded palette)."""
    return colormap.palette_png(output_levels(signed, discretize=discretize), _palette(dark))


def output_uri(signed: np.ndarray, *, discretize: bool, dark: bool) -> str:
    """The picture as a ``data:`` URI for ``layout.images``."""
    return output_uris(np.asarray(signed)[None], discretize=discretize, dark=dark)[0]


def output_uris(
    signed: np.ndarray, *, discretize: bool, dark: bool, border: str | None = None
) -> list[str]:
    """(F, G, G) pictures at once (the colour levels in one pass) -> F data URIs.

    ``border``: a frame of that colour, one pixel wide, drawn into every picture (a layout
    shape per panel would cost plotly a redraw on every animation frame).
    """
    levels = output_levels(signed, discretize=discretize)
    plte = _palette(dark, border)
    if border is not None:
        edge = 2 * LEVELS + 1
        levels[:, :1, :] = levels[:, -1:, :] = edge
        levels[:, :, :1] = levels[:, :, -1:] = edge
    return [
        "data:image/png;base64," + base64.b64encode(colormap.palette_png(lv, plte)).decode("ascii")
        for lv in levels
    ]


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class DataDraw:
    """The data set as drawn: points (N, 2) and targets (N,) of each split, the plotted
    region ((x0, x1), (y0, y1)), and whether targets are classes (else regression values)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]]
    classify: bool
    show_test: bool
    scale: float = 1.0  # regression: |target| drawn at full colour


@dataclass(frozen=True)
class RunDraw:
    """One run, ready to draw: per-epoch curves (at ``epochs``), one picture per frame, and a
    few words for its panel title."""

    label: str
    title: str
    color: str
    dash: str
    epochs: np.ndarray  # (E,) epochs of the curves
    loss: np.ndarray  # (E,) training loss
    metric: np.ndarray | None  # (E,) training accuracy (0-1), or test loss for regression
    pictures: Sequence[str]  # one PNG data URI per frame
    diverged_epoch: float | None
    summary: str  # "100 % · loss 0.003"


# ---------------------------------------------------------------- geometry


def grid_shape(n: int) -> tuple[int, int]:
    """(columns, rows) of the small multiples: at most 3 columns, as square as possible."""
    cols = 1 if n <= 1 else (2 if n <= 4 else 3)
    return cols, max(1, math.ceil(n / cols))


def panel_origin(i: int, n: int) -> tuple[float, float]:
    """Lower-left corner of panel i (unit squares; row 0 at the top)."""
    cols, rows = grid_shape(n)
    col, row = i % cols, i // cols
    return col * (1 + PANEL_GAP), (rows - 1 - row) * (1 + PANEL_GAP + TITLE_ROOM)


def _unit(points: np.ndarray, bounds: tuple[tuple[float, float], tuple[float, float]]) -> Any:
    (x0, x1), (y0, y1) = bounds
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return (p[:, 0] - x0) / (x1 - x0), (p[:, 1] - y0) / (y1 - y0)


def _thin(n: int, most: int) -> np.ndarray:
    if n <= most:
        return np.arange(n)
    return np.unique(np.rint(np.linspace(0, n - 1, most)).astype(np.int64))


@dataclass(frozen=True)
class LinearBand:
    """A linear band of the curve axes: value in [lo, hi] -> paper [p0, p1] (Band's API)."""

    lo: float
    hi: float
    p0: float
    p1: float
    percent: bool = False

    def y(self, values: np.ndarray) -> list[Any]:
        v = np.asarray(values, dtype=np.float64)
        return rounded(self.p0 + (v - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0), 4)

    def ticks(self) -> tuple[list[Any], list[str]]:
        vals = [0.5, 0.75, 1.0] if self.percent else list(np.linspace(self.lo, self.hi, 3))
        text = [f"{round(v * 100)} %" if self.percent else f"{v:.3g}" for v in vals]
        return self.y(np.array(vals)), text


def _points_trace(
    data: DataDraw, n: int, test: bool, colors: dict[str, str], large: bool
) -> dict[str, Any]:
    xs = data.x_test if test else data.x_train
    ys = data.y_test if test else data.y_train
    pick = _thin(len(ys), MAX_POINTS_DRAWN)
    u, v = _unit(xs[pick], data.bounds)
    y = ys[pick]
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    u, v, y, xy = u[inside], v[inside], y[inside], xs[pick][inside]
    if data.classify:
        fill = np.where(y > 0.5, BLUE, ORANGE).tolist()
    else:
        t = np.clip(y / data.scale, -1, 1)
        fill = [BLUE if a > 0 else ORANGE for a in t]
    px: list[Any] = []
    py: list[Any] = []
    for i in range(n):
        ox, oy = panel_origin(i, n)
        px += rounded(u + ox, 4)
        py += rounded(v + oy, 4)
    name = "test points" if test else "training points"
    label = "class %{customdata[2]}" if data.classify else "target %{customdata[2]:.3g}"
    custom = np.column_stack([xy, y]).round(4).tolist() * n
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": px,
        "y": py,
        "customdata": custom,
        "marker": {
            "size": (8 if large else 6) - (1 if test else 0),
            "color": fill * n,
            "line": {
                "width": 1.2 if test else 0.8,
                "color": "#000000" if test else colors["paper"],
            },
            "opacity": 0.8 if test else 1.0,
            "symbol": "circle",
        },
        "hovertemplate": f"{name}: (%{{customdata[0]}}, %{{customdata[1]}}), {label}"
        "<extra></extra>",
        "showlegend": False,
    }


# ---------------------------------------------------------------- the training figure


def _images(runs: Sequence[RunDraw], frame: int) -> list[dict[str, Any]]:
    n = len(runs)
    out = []
    for i, r in enumerate(runs):
        ox, oy = panel_origin(i, n)
        pics = r.pictures
        out.append(
            {
                "source": pics[min(frame, len(pics) - 1)] if pics else "",
                "xref": "x",
                "yref": "y",
                "x": ox,
                "y": oy + 1.0,
                "sizex": 1.0,
                "sizey": 1.0,
                "sizing": "stretch",
                "layer": "below",
            }
        )
    return out


def _value_at(epochs: np.ndarray, values: np.ndarray, e: np.ndarray) -> np.ndarray:
    i = np.clip(np.searchsorted(epochs, e, side="right") - 1, 0, len(epochs) - 1)
    return np.asarray(values[i])


def training_figure(
    data: DataDraw,
    runs: Sequence[RunDraw],
    frame_epochs: np.ndarray,
    style: Style = Style(),
    *,
    metric_title: str = "training accuracy",
    metric_percent: bool = True,
) -> Fig:
    """Small multiples of every run's decision boundary and the curves beside them, animated
    over ``frame_epochs`` (F,). Each run's ``pictures`` has one entry per frame."""
    colors = style.colors
    f = style.font
    n = max(1, len(runs))
    cols, rows = grid_shape(n)
    width = cols * (1 + PANEL_GAP) - PANEL_GAP
    height = rows * (1 + PANEL_GAP + TITLE_ROOM) - PANEL_GAP
    data_traces: list[dict[str, Any]] = [_points_trace(data, n, False, colors, style.large_fonts)]
    if data.show_test and len(data.y_test):
        data_traces.append(_points_trace(data, n, True, colors, style.large_fonts))
    annotations: list[dict[str, Any]] = []
    for i, r in enumerate(runs):
        ox, oy = panel_origin(i, n)
        name, _, tags = r.title.partition(" · ")  # the optimizer, then what sets it apart
        annotations.append(
            {
                "text": "<br>".join(filter(None, (f"<b>{name}</b>", tags, r.summary))),
                "x": ox + 0.5,
                "y": oy + 1.0,
                "xref": "x",
                "yref": "y",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {
                    "size": min(f - 2, 14),
                    "color": r.color if r.color != "#000000" else colors["font"],
                },
            }
        )
    # the curves: loss (log) above, the metric below; one trace per run
    dom_x = [0.62, 1.0]
    top, bottom = [0.56, 0.98], [0.02, 0.44]
    e_max = max(float(frame_epochs[-1]) if len(frame_epochs) else 1.0, 1.0)
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    for r in runs:
        keep = _thin(len(r.epochs), CURVE_POINTS)
        if r.diverged_epoch is not None:
            keep = keep[r.epochs[keep] <= r.diverged_epoch]
        m = None if r.metric is None else np.clip(r.metric[keep], 0.0, DRAWN_MAX)
        curves.append((r.epochs[keep], np.clip(r.loss[keep], GAP_FLOOR, DRAWN_MAX), m))
    loss_band = Band.around([c[1] for c in curves], top)
    metric_band: Band | LinearBand
    if metric_percent:
        metric_band = LinearBand(0.4, 1.02, bottom[0], bottom[1], percent=True)
    else:
        metric_band = Band.around(
            [np.maximum(c[2], GAP_FLOOR) for c in curves if c[2] is not None], bottom
        )
    traces = list(data_traces)
    for r, (ep, loss, m) in zip(runs, curves, strict=True):
        x: list[Any] = np.round(ep, 3).tolist()
        ys = loss_band.y(loss)
        cd: list[Any] = list(significant(loss))
        if m is not None:
            mm = np.clip(m, 0.4, 1.02) if metric_percent else np.maximum(m, GAP_FLOOR)
            x = [*x, None, *x]
            ys = [*ys, None, *metric_band.y(mm)]
            cd = [*cd, None, *(significant(np.maximum(m, GAP_FLOOR)))]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": r.title,
                "legendgroup": r.label,
                "x": x,
                "y": ys,
                "customdata": cd,
                "xaxis": "x2",
                "yaxis": "y2",
                "line": {"color": r.color, "width": 2.5, "dash": r.dash},
                "hovertemplate": r.title + " epoch %{x}: %{customdata:.4g}<extra></extra>",
            }
        )
    div = [(r, c) for r, c in zip(runs, curves, strict=True) if r.diverged_epoch is not None]
    if div:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "diverged",
                "x": [float(c[0][-1]) if len(c[0]) else 0.0 for _, c in div],
                "y": [loss_band.y(c[1][-1:])[0] if len(c[1]) else top[1] for _, c in div],
                "text": [f"{r.title} diverged (epoch {r.diverged_epoch:g})" for r, _ in div],
                "xaxis": "x2",
                "yaxis": "y2",
                "marker": {
                    "symbol": "x",
                    "size": 16,
                    "color": [r.color for r, _ in div],
                    "line": {"width": 2, "color": colors["font"]},
                },
                "hovertemplate": "%{text}<extra></extra>",
                "showlegend": False,
            }
        )
    # the animated trace: each run's current point on both bands, then the epoch readout
    fe = np.asarray(frame_epochs, dtype=np.float64)
    now_x: list[list[Any]] = [[] for _ in fe]
    now_y: list[list[Any]] = [[] for _ in fe]
    marker_colors: list[str] = []
    for _band_i in range(2 if any(c[2] is not None for c in curves) else 1):
        for r, (ep, loss, m) in zip(runs, curves, strict=True):
            values = loss if _band_i == 0 else m
            if values is None or not len(ep):
                continue
            e_now = np.minimum(fe, ep[-1])
            v = _value_at(ep, values, e_now)
            if _band_i == 0:
                yy = loss_band.y(v)
            else:
                vv = np.clip(v, 0.4, 1.02) if metric_percent else np.maximum(v, GAP_FLOOR)
                yy = metric_band.y(vv)
            xx = np.round(_value_at(ep, ep, e_now), 3).tolist()
            for j in range(len(fe)):
                now_x[j].append(xx[j])
                now_y[j].append(yy[j])
            marker_colors.append(r.color)
    readout_x, readout_y = 0.0, top[0]  # lower left of the loss band: the curves fall away
    frames_data = []
    for j, e in enumerate(fe):
        frames_data.append(
            {
                "x": [*now_x[j], readout_x],
                "y": [*now_y[j], readout_y],
                "text": [""] * len(now_x[j]) + [f"epoch {int(e)}"],
            }
        )
    first = frames_data[0] if frames_data else {"x": [], "y": [], "text": []}
    traces.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "now",
            "x": first["x"],
            "y": first["y"],
            "text": first["text"],
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
            "marker": {
                "size": [10] * len(marker_colors) + [0],
                "color": [*marker_colors, "rgba(0,0,0,0)"],
                "line": {"width": 1.5, "color": colors["font"]},
            },
            "textposition": "top right",
            "textfont": {"size": f + 2, "color": colors["font"]},
            "cliponaxis": False,
            "hoverinfo": "skip",
        }
    )
    # the data points ride along in every frame (an empty update): a frame that swaps the
    # pictures otherwise leaves plotly drawing only the traces it names, and the points of
    # the panels vanished from the first frame on
    animated = [*range(len(data_traces)), len(traces) - 1]
    frames = [
        {
            "name": str(int(e)),
            "data": [*({} for _ in data_traces), frames_data[j]],
            "traces": animated,
            # only each picture's source: plotly merges a frame's layout.images into the
            # figure's entry by entry (measured: positions kept, pictures swapped)
            "layout": {"images": [{"source": im["source"]} for im in _images(runs, j)]},
        }
        for j, e in enumerate(fe)
    ]
    axis = axis_style(colors, f)
    tickvals: list[Any] = []
    ticktext: list[str] = []
    for band in (loss_band, metric_band) if any(c[2] is not None for c in curves) else (loss_band,):
        band_vals, band_text = band.ticks()
        tickvals += band_vals
        ticktext += band_text
    layout: dict[str, Any] = {
        "height": style.height,
        "margin": {
            "l": 8,
            "r": 44 + 8 * style.large_fonts,
            "t": 36,
            "b": 96 + 24 * style.large_fonts,
        },
        "paper_bgcolor": paper_color(style),
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"size": f, "color": colors["font"], "family": "Source Sans, sans-serif"},
        "hovermode": "closest",
        "dragmode": False,
        "showlegend": True,
        # x = 0: a horizontal legend anchored further right pushed plotly's margins and
        # moved the Play buttons and the scrubber off their places
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "y": 1.0,
            "yanchor": "bottom",
            "font": {"size": f - 2},
            "bgcolor": "rgba(0,0,0,0)",
        },
        "xaxis": {
            "domain": [0.0, 0.56],
            "range": [-0.02, width + 0.02],
            "visible": False,
            "fixedrange": True,
        },
        "yaxis": {
            "domain": [0.0, 1.0],
            "range": [-0.02, height + 0.02],
            "visible": False,
            "fixedrange": True,
            "scaleanchor": "x",
        },
        "xaxis2": axis
        | {
            "domain": dom_x,
            "anchor": "y2",
            "range": [0, e_max],
        },
        "yaxis2": axis
        | {
            "domain": [bottom[0], top[1]],
            "range": [bottom[0], top[1]],
            "anchor": "x2",
            "fixedrange": True,
            "showgrid": True,
            "gridcolor": colors["grid"],
            "tickmode": "array",
            "tickvals": tickvals,
            "ticktext": ticktext,
            "side": "right",
        },
        "annotations": [
            *annotations,
            *(
                {
                    "text": title,
                    "xref": "paper",
                    "yref": "paper",
                    "x": dom_x[0],
                    "y": (lo + hi) / 2,
                    "xanchor": "right",
                    "yanchor": "middle",
                    "textangle": -90,
                    "showarrow": False,
                    "font": {"size": f - 1},
                }
                for title, (lo, hi) in (
                    ("training loss", top),
                    (metric_title, bottom),
                )
                if title != ""
                and (title == "training loss" or (curves and curves[0][2] is not None))
            ),
        ],
        "images": _images(runs, 0),
    }
    if len(fe) > 1:
        layout |= playback_controls(
            style,
            np.asarray(frame_epochs),
            buttons=(1.0, -0.09 - 0.04 * style.large_fonts),
            slider=(0.0, 0.56, -0.04),
            pad=(round(1.2 * f), 0),
        )
    return {"data": traces, "layout": layout, "frames": frames if len(fe) > 1 else []}


# ---------------------------------------------------------------- the curves figure


@dataclass(frozen=True)
class CurveRun:
    """One run's curves: loss at every recorded step, and per epoch the training and test
    loss and accuracy (None where they do not apply)."""

    label: str
    title: str
    color: str
    dash: str
    steps: np.ndarray
    step_loss: np.ndarray
    epochs: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray | None
    train_acc: np.ndarray | None
    test_acc: np.ndarray | None
    step_acc: np.ndarray | None = None  # training accuracy at every recorded step
    spe: int = 1  # steps per epoch: a step's x on the accuracy row (in epochs)


def curves_figure(columns: Sequence[tuple[str, Sequence[CurveRun]]], style: Style = Style()) -> Fig:
    """Rows: loss per step, loss per epoch, accuracy per epoch (classification); one column
    per batching scheme (title, runs). Log scale for losses; test curves dashed."""
    colors = style.colors
    f = style.font
    axis = axis_style(colors, f) | {"showgrid": True, "gridcolor": colors["grid"]}
    ncol = max(1, len(columns))
    has_acc = any(r.train_acc is not None for _, runs in columns for r in runs)
    # with only full batches a step is an epoch: the per-step row would repeat the next one
    per_step = any(len(r.steps) != len(r.epochs) for _, runs in columns for r in runs)
    kinds = [k for k in ("step", "epoch", "accuracy") if (k != "step" or per_step)
             and (k != "accuracy" or has_acc)]  # fmt: skip
    nrow = len(kinds)
    gap_x, gap_y = 0.06, 0.1
    w = (1 - gap_x * (ncol - 1)) / ncol
    h = (1 - gap_y * (nrow - 1)) / nrow
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "height": 250 * nrow + 60,
        "margin": {"l": 70, "r": 16, "t": 60, "b": 50},
        "paper_bgcolor": paper_color(style),
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"size": f, "color": colors["font"], "family": "Source Sans, sans-serif"},
        "hovermode": "closest",
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"size": f - 2},
        },
        "annotations": [],
    }
    titles = {
        "step": "training loss per step",
        "epoch": "loss per epoch" if per_step else "loss per epoch (= per step)",
        "accuracy": "accuracy per step (thin) and epoch" if per_step else "accuracy per epoch",
    }
    shown: set[str] = set()
    for c, (col_title, runs) in enumerate(columns):
        x0 = c * (w + gap_x)
        for row, kind in enumerate(kinds):
            k = row * ncol + c + 1
            ax = "" if k == 1 else str(k)
            y1 = 1 - row * (h + gap_y)
            is_log = kind != "accuracy"
            layout[f"xaxis{ax}"] = axis | {
                "domain": [x0, x0 + w],
                "anchor": f"y{ax}",
                "title": {"text": "step" if kind == "step" else "epoch", "font": {"size": f - 2}},
            }
            layout[f"yaxis{ax}"] = axis | {
                "domain": [y1 - h, y1],
                "anchor": f"x{ax}",
                "type": "log" if is_log else "linear",
                "title": {"text": titles[kind] if c == 0 else "", "font": {"size": f - 2}},
                "exponentformat": "power",
            }
            if not is_log:
                layout[f"yaxis{ax}"] |= {"range": [0.4, 1.03], "tickformat": ".0%"}
            for r in runs:
                series: list[tuple[np.ndarray, np.ndarray | None, str, bool, float]]
                if kind == "step":
                    series = [(r.steps, r.step_loss, "solid", True, 2)]
                elif kind == "epoch":
                    series = [(r.epochs, r.train_loss, "solid", True, 2),
                              (r.epochs, r.test_loss, "dash", False, 2)]  # fmt: skip
                else:
                    series = [(r.epochs, r.train_acc, "solid", True, 2),
                              (r.epochs, r.test_acc, "dash", False, 2)]  # fmt: skip
                    if per_step and r.step_acc is not None and len(r.steps) != len(r.epochs):
                        series.insert(0, (r.steps / r.spe, r.step_acc, "solid", True, 0.8))
                for xs, ys, dash, train, width in series:
                    if ys is None or not len(xs):
                        continue
                    keep = _thin(len(xs), 1000)
                    yv = np.maximum(ys[keep], GAP_FLOOR) if is_log else ys[keep]
                    first = r.label not in shown and train
                    shown.add(r.label)
                    what = "training" if train else "test"
                    traces.append(
                        {
                            "type": "scatter",
                            "mode": "lines",
                            "name": r.title,
                            "legendgroup": r.label,
                            "showlegend": first,
                            "x": xs[keep].tolist(),
                            "y": significant(yv, 5) if is_log else rounded(yv, 4),
                            "xaxis": f"x{ax}",
                            "yaxis": f"y{ax}",
                            "line": {"color": r.color, "width": width, "dash": dash},
                            "opacity": 1.0 if width >= 2 else 0.6,
                            "hovertemplate": f"{r.title}, {what}: %{{y:.4g}} at "
                            + ("step" if kind == "step" else "epoch")
                            + " %{x}<extra></extra>",
                        }
                    )
        if ncol > 1 or col_title:
            layout["annotations"].append(
                {
                    "text": f"<b>{col_title}</b>",
                    "xref": "paper",
                    "yref": "paper",
                    "x": x0 + w / 2,
                    "y": 1.0,
                    "yanchor": "bottom",
                    "yshift": 4,
                    "showarrow": False,
                    "font": {"size": f},
                }
            )
    if ncol > 1 or any(t for t, _ in columns):
        layout["legend"]["y"] = 1.08
        layout["margin"]["t"] = 90
    return {"data": traces, "layout": layout}

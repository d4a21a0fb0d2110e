"""Pure figure builders: surface + trajectories in, a plain plotly figure dict out.

Everything is built as plain dicts and lists (never through plotly.graph_objects), because the
validators cost about a millisecond per animation frame. One generic builder serves every
surface; it is driven only by the surface's metadata (bounds, minima, saddles, log colour).

The race figure has three panels: the surface (left) with each optimizer's path and a moving
head per run, and on the right the loss gap (loss − f*) above the gradient norm, both against
the step on logarithmic scales, with a marker at the current animation step. The animation is
client-side: plotly frames that move only the two marker traces (``redraw: false``), at most
``max_frames`` of them, driven by Play / Pause / speed buttons and a step slider.

plotly.js re-runs its defaults and calc step for *every* trace on every animation frame, so
playback speed is set by the number of traces, not by their points. Each optimizer therefore
draws both of its curves as one trace: the two curve panels are two :class:`Band` s of one
pair of axes (``x2``/``y2``) whose y coordinate is the paper height, each band mapping log10
of its values onto its own height, with its own ticks (8 optimizers: 21 traces instead of 31,
playback 28-29 -> 33-34 fps in headless Chromium; benchmarks/bench_app.py).

Trace order of the race figure (the tests and the browser test rely on the names, not indices):
``click-grid``, critical points, ``start``, one path per optimizer, ``diverged``, one curve
trace per optimizer (loss gap, a break, gradient norm), then the animated ``heads`` and
``curves-now`` (the current point of every curve plus the step readout) traces, always last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from app import colormap

if TYPE_CHECKING:
    from optimizers import Trajectory
    from surfaces import Surface

Fig = dict[str, Any]

LIGHT = {"paper": "#FFFFFF", "font": "#262730", "grid": "#D5D8DE", "muted": "#6B6F7B"}
DARK = {"paper": "#0E1117", "font": "#FAFAFA", "grid": "#3A3F4B", "muted": "#A3A8B8"}
POINT_STYLE = {  # kind -> (legend name, marker symbol, size)
    "global": ("global minimum", "star", 17),
    "local": ("local minimum", "diamond", 10),
    "saddle": ("saddle point", "x", 12),
}
GAP_FLOOR = 1e-16  # the loss-gap axis is logarithmic: an exact minimum is drawn at this floor
CLICK_GRID = 32  # clickable points per axis (plotly recomputes every trace on every frame)
# 1x playback. plotly shows the next frame at the first display tick (60 Hz: every 16.7 ms) that
# comes more than FRAME_MS after the last frame: 20 ms meant every second tick, a 30 fps ceiling;
# 16 ms lets a browser that keeps up show two ticks in three (about 40 fps).
FRAME_MS = 16
PATH_EPS = 1 / 1000  # path points closer than this fraction of the plot are merged
CURVE_POINTS = 200  # at most this many points per loss / gradient-norm curve
# Scrubber positions: plotly lays out every slider step (and measures its label) on each draw
# and moves the slider on every frame it has a step for; 50 steps instead of one per frame cut
# a redraw by ~40 % and raised playback by ~3 fps in headless Chromium (benchmarks/bench_app.py).
# The exact step of every frame is the step readout (the last point of "curves-now").
SLIDER_STEPS = 50
IMAGE_PIXELS = 160


@dataclass(frozen=True)
class Style:
    """How the figure looks; nothing here changes the maths."""

    dark: bool = False
    large_fonts: bool = False
    embed: bool = False  # presenter mode: taller figure
    max_frames: int = 150
    cmap: str = "viridis"
    stacked: bool = False  # narrow screens: the curves under the surface instead of beside it

    @property
    def colors(self) -> dict[str, str]:
        return DARK if self.dark else LIGHT

    @property
    def font(self) -> int:
        return 20 if self.large_fonts else 14

    @property
    def height(self) -> int:
        base = 620 if self.embed else 540  # presenter: fills a 1280 x 720 projector
        return base + (40 if self.large_fonts else 0) + (440 if self.stacked else 0)

    @property
    def domains(self) -> dict[str, list[float]]:
        """Paper fractions: the surface's axes (x, y), the curves' x range (x2) and the heights
        of the loss band (y2) and the gradient-norm band (y3); the controls' anchors."""
        if self.stacked:  # the two curve bands under the surface, full width
            return {
                "x": [0.0, 1.0],
                "y": [0.45, 1.0],
                "x2": [0.0, 1.0],
                "y2": [0.22, 0.37],
                "y3": [0.0, 0.15],
                "slider": [0.0, 1.0],
                "buttons": [1.0, -0.06],
                "slider_y": [-0.11],
            }
        return {
            "x": [0.0, 0.58],
            "y": [0.0, 1.0],
            "x2": [0.68, 1.0],
            "y2": [0.54, 1.0],
            "y3": [0.0, 0.46],
            # large fonts: wider buttons, so a shorter slider and the buttons a row lower
            "slider": [0.0, 0.46 if self.large_fonts else 0.58],
            "buttons": [1.0, -0.2 if self.large_fonts else -0.17],
            "slider_y": [-0.08],
        }


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


# ---------------------------------------------------------------- numbers


def decimals_for(span: float, digits: int = 4) -> int:
    """Decimals that keep ``digits`` significant digits across a range of width ``span``."""
    if not (span > 0 and math.isfinite(span)):
        return digits
    return max(0, digits - 1 - math.floor(math.log10(span)))


def rounded(a: np.ndarray, decimals: int) -> list[Any]:
    """Array -> nested lists of floats rounded for a compact JSON payload (NaN -> None)."""
    r = np.round(np.asarray(a, dtype=np.float64), decimals)
    if np.isfinite(r).all():
        return list(r.tolist())
    return [None if not math.isfinite(v) else v for v in r.ravel().tolist()]


def significant(a: np.ndarray, digits: int = 4) -> list[float]:
    """Positive array -> list of floats with ``digits`` significant digits (log-axis data)."""
    a = np.asarray(a, dtype=np.float64)
    mag = np.floor(np.log10(np.maximum(np.abs(a), 1e-300)))
    scale = 10.0 ** (digits - 1 - mag)
    return list((np.rint(a * scale) / scale).tolist())


def exit_point(path: np.ndarray, bounds: tuple[tuple[float, float], tuple[float, float]]):
    """Where a path (M, 2) last leaves the rectangle ``bounds`` (its end point if it never does).

    Used for diverged runs: the path is drawn up to the plot's edge and a marker placed there.
    """
    (x0, x1), (y0, y1) = bounds
    inside = (path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1)
    if inside[-1]:
        return path[-1].copy()
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        return np.array([min(max(path[-1, 0], x0), x1), min(max(path[-1, 1], y0), y1)])
    a, b = path[idx[-1]], path[idx[-1] + 1]
    d = b - a
    t = 1.0
    for k, (lo, hi) in enumerate(((x0, x1), (y0, y1))):
        if d[k] > 0:
            t = min(t, (hi - a[k]) / d[k])
        elif d[k] < 0:
            t = min(t, (lo - a[k]) / d[k])
    return a + max(0.0, t) * d


def reference_value(surface: Surface, z_grid: np.ndarray | None = None) -> float | None:
    """f* for the loss-gap curves: the lowest known minimum, None when the surface has none."""
    values = [p.value for p in surface.minima if p.kind == "global"] or [
        p.value for p in surface.minima
    ]
    return float(min(values)) if values else None


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
    for (name, traj), (color, dash) in zip(
        runs.items(), colormap.path_colors(len(runs), dark=dark), strict=True
    ):
        pos = np.array(traj.positions, dtype=np.float64)  # (R, K, 2), copied: we edit it
        steps = np.asarray(traj.steps)
        div = np.asarray(traj.diverged_at)
        exits = np.full((pos.shape[1], 2), np.nan)
        for k in np.flatnonzero(div >= 0):
            r = int(np.searchsorted(steps, div[k], side="left"))
            r = min(r, len(steps) - 1)
            exits[k] = exit_point(pos[: r + 1, k], surface.bounds)
            pos[r:, k] = exits[k]
        loss = np.asarray(traj.loss[:, 0], dtype=np.float64)
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
                grad_norm=np.asarray(traj.grad_norm[:, 0], dtype=np.float64),
            )
        )
    return out


# ---------------------------------------------------------------- the race figure


def surface_image(surface: Surface, *, dark: bool, cmap: str = "viridis") -> dict[str, Any]:
    """The surface as a ``layout.images`` entry: a banded PNG data URI over the bounds."""
    _, _, z = surface.grid(IMAGE_PIXELS)
    unit, _, _ = colormap.normalise(z, log=surface.log_color)
    colors = DARK if dark else LIGHT
    rgb = colormap.banded_rgb(unit[::-1], cmap=cmap, blend_to=colors["paper"], blend=0.3)
    (x0, x1), (y0, y1) = surface.bounds
    return {
        "source": colormap.png_data_uri(rgb),
        "xref": "x",
        "yref": "y",
        "x": x0,
        "y": y1,
        "sizex": x1 - x0,
        "sizey": y1 - y0,
        "sizing": "stretch",
        "layer": "below",
        "opacity": 1.0,
    }


def _click_grid(surface: Surface, dec: int) -> dict[str, Any]:
    (x0, x1), (y0, y1) = surface.bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, CLICK_GRID), np.linspace(y0, y1, CLICK_GRID))
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "click-grid",
        "x": rounded(gx.ravel(), dec),
        "y": rounded(gy.ravel(), dec),
        # plotly finds hovered and clicked points in its calcdata, not in the SVG: drawing one
        # marker instead of CLICK_GRID**2 saves ~0.1 s per draw and paint work on every frame
        "marker": {"size": 9, "opacity": 0.001, "color": "#808080", "maxdisplayed": 1},
        "hovertemplate": "start here: (%{x:.2f}, %{y:.2f})<extra></extra>",
        "showlegend": False,
    }


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
    return path[keep]


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


def _visible_until(s: Series) -> np.ndarray:
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
) -> Fig:
    """The main view as a plain plotly figure dict with client-side animation frames.

    ``starts`` is (K, 2). ``series`` may be empty (then only the surface is drawn).
    ``image`` is :func:`surface_image`'s result when the caller caches it.
    """
    colors = style.colors
    (x0, x1), (y0, y1) = surface.bounds
    dec = decimals_for(max(x1 - x0, y1 - y0))
    ax_x, ax_y = surface.axis_labels
    data: list[dict[str, Any]] = [_click_grid(surface, dec)]
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
        xs, ys = _joined(_visible_until(s), dec, PATH_EPS * max(x1 - x0, y1 - y0))
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
    curves = []
    for s in series:
        stop = _curve_stop(s)
        stride = -(-stop // CURVE_POINTS)  # ceil: keeps the payload and playback light
        curves.append(
            (
                s.steps[:stop:stride],
                np.maximum(s.gap[:stop:stride], GAP_FLOOR),
                np.maximum(s.grad_norm[:stop:stride], GAP_FLOOR),
            )
        )
    dom = style.domains
    bands = (
        Band.around([c[1] for c in curves], dom["y2"]),
        Band.around([c[2] for c in curves], dom["y3"]),
    )
    for s, (steps, gap, gn) in zip(series, curves, strict=True):
        x = steps.astype(np.int64).tolist()
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": s.title,
                "legendgroup": s.name,
                "showlegend": False,
                "x": [*x, None, *x],  # the loss gap, a break, the gradient norm
                "y": [*bands[0].y(gap), None, *bands[1].y(gn)],
                "customdata": [*significant(gap), None, *significant(gn)],
                "xaxis": "x2",
                "yaxis": "y2",
                "line": {"color": s.color, "width": 2.5, "dash": s.dash},
                "hovertemplate": s.title + " step %{x}: %{customdata:.3g}<extra></extra>",
            }
        )
    per_frame = _frame_traces(series, fsteps, dec, bands)
    heads = per_frame[0]
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
                "line": {"width": 2, "color": colors["font"]},
            },
            "hoverinfo": "skip",
        }
    )
    # The current point of every curve (loss band, then gradient-norm band) and, last, the
    # step readout: a text-only point in the loss band's lower left corner, which the curves
    # leave free (they start high at step 0 and fall to the right). One trace, not three.
    curve_colors = [s.color for s in series] * 2
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
                "line": {"width": 1.5, "color": colors["font"]},
            },
            "textposition": "top right",
            "textfont": {"size": style.font + 2, "color": colors["font"]},
            "cliponaxis": False,
            "hoverinfo": "skip",
        }
    )
    animated = [len(data) - 2, len(data) - 1]
    frames = [
        {"name": str(int(t)), "data": d, "traces": animated}
        for t, d in zip(fsteps, per_frame, strict=True)
    ]
    layout = _layout(surface, style, (ax_x, ax_y), fsteps, bands if series else None)
    # fixed ranges: plotly then skips autoranging on every animation frame
    layout["xaxis2"]["range"] = [0, max(n_steps, 1)]
    layout["images"] = [image or surface_image(surface, dark=style.dark, cmap=style.cmap)]
    return {"data": data, "layout": layout, "frames": frames if series else []}


def log_range(span: Sequence[float]) -> list[float]:
    """A log axis range (log10 units) around ``span`` = [lo, hi], padded 6 %."""
    lo, hi = (math.log10(v) for v in span)
    pad = 0.06 * max(hi - lo, 0.5)
    return [lo - pad, hi + pad]


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_label(value: float) -> str:
    """A log-axis tick label: 1, 10, 100 and 10ⁿ for decades; 0.05, 2, 500 or 2×10ⁿ between."""
    k = math.floor(math.log10(value) + 1e-9)
    m = round(value / 10.0**k)
    if m == 10:
        m, k = 1, k + 1
    if m == 1:
        return {0: "1", 1: "10", 2: "100"}.get(k, "10" + str(k).translate(_SUPERSCRIPT))
    if -2 <= k <= 2:
        return f"{m * 10.0**k:.{max(0, -k)}f}"
    return f"{m}×10" + str(k).translate(_SUPERSCRIPT)


@dataclass(frozen=True)
class Band:
    """One curve panel inside the shared curve axes: log10(value) in [lo, hi] -> paper [p0, p1].

    The y axis of the curves is the paper height itself (range = the bands' extent), so one
    trace can hold an optimizer's loss curve and its gradient-norm curve, each in its own band.
    """

    lo: float
    hi: float
    p0: float
    p1: float

    @classmethod
    def around(cls, arrays: Sequence[np.ndarray], paper: Sequence[float]) -> Band:
        """The band showing every positive value of ``arrays`` (padded), on ``paper``."""
        finite = [a[np.isfinite(a)] for a in arrays]
        values = np.concatenate(finite) if finite else np.array([])
        if values.size == 0:
            values = np.array([GAP_FLOOR, 1.0])
        lo, hi = log_range([float(values.min()), float(values.max())])
        return cls(lo, hi, float(paper[0]), float(paper[1]))

    def y(self, values: np.ndarray) -> list[Any]:
        """Positive values -> paper heights (rounded to 1e-4 of the chart: below a pixel)."""
        logs = np.log10(np.asarray(values, dtype=np.float64))
        return rounded(self.p0 + (logs - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0), 4)

    def ticks(self) -> tuple[list[Any], list[str]]:
        """Tick heights and labels: decades (every n-th for a wide band), else 1-2-5 steps."""
        span = self.hi - self.lo
        every = max(1, math.ceil(span / 4)) if span >= 2 else 1
        values = [10.0**k for k in range(math.ceil(self.lo), math.floor(self.hi) + 1)][::every]
        for mantissas in ((1, 2, 5), range(1, 10)):
            if len(values) >= 2:
                break
            values = [
                m * 10.0**k
                for k in range(math.floor(self.lo), math.ceil(self.hi) + 1)
                for m in mantissas
                if self.lo <= math.log10(m * 10.0**k) <= self.hi
            ]
        return self.y(np.array(values)), [power_label(v) for v in values]


def _curve_stop(s: Series) -> int:
    """Recorded states to draw on the curves: up to run 0's divergence, else all."""
    d = int(s.diverged_at[0]) if len(s.diverged_at) else -1
    if d < 0:
        return len(s.steps)
    return min(int(np.searchsorted(s.steps, d, side="left")) + 1, len(s.steps))


def _frame_traces(
    series: Sequence[Series],
    fsteps: np.ndarray,
    dec: int,
    bands: tuple[Band, Band],
) -> list[list[dict[str, Any]]]:
    """The two animated traces for each frame step: the heads on the surface, and the current
    point of every curve (loss band, gradient-norm band) followed by the step readout.

    Vectorized over frames: one rounding and one ``tolist`` per array, not per frame.
    """
    readout_y = bands[0].p0
    if not series:
        return [
            [{"x": [], "y": []}, {"x": [0], "y": [readout_y], "text": ["step 0"]}] for _ in fsteps
        ]
    heads, lx, ly, gy = [], [], [], []
    for s in series:
        r = np.searchsorted(s.steps, fsteps, side="right") - 1
        r = np.clip(r, 0, len(s.steps) - 1)
        heads.append(s.positions[r])  # (F, K, 2)
        rc = np.minimum(r, _curve_stop(s) - 1)
        lx.append(s.steps[rc])
        ly.append(np.maximum(s.gap[rc], GAP_FLOOR))
        gy.append(np.maximum(s.grad_norm[rc], GAP_FLOOR))
    h = np.concatenate(heads, axis=1)  # (F, K_all, 2)
    hx, hy = rounded(h[..., 0], dec), rounded(h[..., 1], dec)
    sx = np.stack(lx, axis=1).astype(np.int64).tolist()  # (F, S)
    sl, sg = np.stack(ly, axis=1), np.stack(gy, axis=1)
    yl = np.array(bands[0].y(sl.ravel())).reshape(sl.shape).tolist()
    yg = np.array(bands[1].y(sg.ravel())).reshape(sg.shape).tolist()
    blank = [""] * (2 * len(series))
    return [
        [
            {"x": hx[i], "y": hy[i]},
            {
                "x": sx[i] + sx[i] + [0],
                "y": yl[i] + yg[i] + [readout_y],
                "text": [*blank, f"step {int(t)}"],
            },
        ]
        for i, t in enumerate(fsteps)
    ]


def _anim_args(duration: int) -> dict[str, Any]:
    return {
        "frame": {"duration": duration, "redraw": False},
        "transition": {"duration": 0},
        "fromcurrent": True,
        "mode": "immediate",
    }


def _layout(
    surface: Surface,
    style: Style,
    labels: tuple[str, str],
    fsteps: np.ndarray,
    bands: tuple[Band, Band] | None,
) -> dict[str, Any]:
    """The layout; ``bands`` (None: nothing to animate) place the two curve panels."""
    animated = bands is not None
    colors = style.colors
    f = style.font
    dom = style.domains
    (x0, x1), (y0, y1) = surface.bounds
    axis = {
        "showgrid": False,
        "zeroline": False,
        "linecolor": colors["grid"],
        "tickfont": {"size": f - 2},
        "title": {"font": {"size": f}},
    }
    gap_title = "loss − f*" if reference_value(surface) is not None else "loss"
    curve_y = [dom["y3"][0], dom["y2"][1]]  # the curves' y axis is the paper height itself
    tickvals: list[Any] = []
    ticktext: list[str] = []
    for band in bands or ():
        vals, text = band.ticks()
        tickvals += vals
        ticktext += text
    layout: dict[str, Any] = {
        "height": style.height,
        "margin": {
            "l": 64,
            "r": 16,
            "t": 56,
            "b": (96 if animated else 40) + 30 * style.stacked + 24 * style.large_fonts,
        },
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
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
        "xaxis2": axis
        | {"domain": dom["x2"], "anchor": "y2", "title": {"text": "step", "font": {"size": f}}},
        # Two bands, each with its own log ticks; zooming moves the steps only.
        "yaxis2": axis
        | {
            "domain": curve_y,
            "range": curve_y,
            "anchor": "x2",
            "fixedrange": True,
            "showgrid": True,
            "gridcolor": colors["grid"],
            "tickmode": "array",
            "tickvals": tickvals,
            "ticktext": ticktext,
        },
        # The bands' titles, where the axis titles of two separate panels would be.
        "annotations": [
            {
                "text": title,
                "xref": "paper",
                "yref": "paper",
                "x": dom["x2"][0],
                "y": (lo + hi) / 2,
                "xanchor": "right",
                "yanchor": "middle",
                "xshift": -round(3.4 * (f - 2)),
                "textangle": -90,
                "showarrow": False,
                "font": {"size": f},
            }
            for title, (lo, hi) in ((gap_title, dom["y2"]), ("|∇f|", dom["y3"]))
        ],
    }
    if not animated:
        return layout
    button = {"method": "animate"}
    layout["updatemenus"] = [
        {
            "type": "buttons",
            "direction": "left",
            "showactive": False,
            "x": dom["buttons"][0],
            "xanchor": "right",  # never past the right edge: plotly would widen the margin
            "y": dom["buttons"][1],
            "yanchor": "top",
            "pad": {"t": 0, "r": 8},
            "font": {"size": f - 1, "color": "#262730"},
            "bgcolor": "#F0F2F6",
            "bordercolor": colors["grid"],
            "buttons": [
                button | {"label": "▶ Play", "args": [None, _anim_args(FRAME_MS)]},
                button
                | {
                    "label": "Pause",
                    "args": [
                        [None],
                        {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"},
                    ],
                },
                button | {"label": "Slow", "args": [None, _anim_args(3 * FRAME_MS)]},
                button | {"label": "Fast", "args": [None, _anim_args(FRAME_MS // 2)]},
                button
                | {
                    "label": "Replay",
                    "args": [None, _anim_args(FRAME_MS) | {"fromcurrent": False}],
                },
            ],
        }
    ]
    layout["sliders"] = [
        {
            "active": 0,
            "x": 0.0,
            "len": dom["slider"][1] - dom["slider"][0],
            "y": dom["slider_y"][0],
            "yanchor": "top",
            # The room the step label above the rail and the tick labels below it took, so
            # the chart keeps its layout (the step readout shows the step instead).
            "pad": {"t": round(1.6 * f), "b": round(1.6 * (f - 2))},
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
                        {
                            "frame": {"duration": 0, "redraw": False},
                            "mode": "immediate",
                            "transition": {"duration": 0},
                        },
                    ],
                }
                for t in slider_steps(fsteps)
            ],
        }
    ]
    return layout


def slider_steps(fsteps: np.ndarray, n: int = SLIDER_STEPS) -> np.ndarray:
    """At most ``n`` of the frame steps, evenly spaced, first and last included."""
    if len(fsteps) <= n:
        return fsteps
    return fsteps[np.unique(np.rint(np.linspace(0, len(fsteps) - 1, n)).astype(np.int64))]


class PlainFigure(go.Figure):
    """Hands a prebuilt plain figure dict to ``st.plotly_chart`` without re-validation.

    ``st.plotly_chart`` passes a *dict* through ``plotly.graph_objects.Figure(**dict)``, whose
    validators cost about 0.4 s for a race with 150 frames; a Figure instance is taken as
    already valid and only ``to_dict()`` is called. This subclass is an empty Figure whose
    ``to_dict()`` returns the dict it wraps, so the payload is exactly the plain dict.
    """

    def __init__(self, fig: Fig) -> None:
        super().__init__()
        self._plain = fig

    def to_dict(self) -> Fig:
        return self._plain


# ---------------------------------------------------------------- the 3-D view


def surface_3d_figure(
    surface: Surface, series: Sequence[Series], style: Style = Style(), n: int = 60
) -> Fig:
    """The surface as a 3-D mesh with each run's path lifted onto it (a plain dict)."""
    colors = style.colors
    xs, ys, z = surface.grid(n)
    unit, _, _ = colormap.normalise(z, log=surface.log_color)
    dec = decimals_for(float(np.ptp(xs)) or 1.0)
    zdec = decimals_for(float(np.nanmax(z) - np.nanmin(z)) or 1.0)
    data: list[dict[str, Any]] = [
        {
            "type": "surface",
            "name": surface.title,
            "x": rounded(xs, dec),
            "y": rounded(ys, dec),
            "z": rounded(z, zdec),
            "surfacecolor": rounded(unit, 3),
            "colorscale": colormap.color_scale(style.cmap),
            "showscale": False,
            "opacity": 0.9,
            "hovertemplate": "(%{x:.2f}, %{y:.2f}) f = %{z:.3g}<extra></extra>",
        }
    ]
    zmin = float(np.nanmin(z))
    lift = 0.01 * (float(np.nanmax(z)) - zmin)
    (x0, x1), (y0, y1) = surface.bounds
    for s in series:
        path = thin(_visible_until(s)[:, 0], PATH_EPS * max(x1 - x0, y1 - y0))
        inside = (path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1)
        vals = np.where(inside, surface.value(path), np.nan)  # gaps where it left the plot
        data.append(
            {
                "type": "scatter3d",
                "mode": "lines",
                "name": s.title,
                "x": rounded(np.where(inside, path[:, 0], np.nan), dec),
                "y": rounded(np.where(inside, path[:, 1], np.nan), dec),
                "z": rounded(vals + lift, zdec),
                "line": {"color": s.color, "width": 6},
                "connectgaps": False,
            }
        )
    ax_x, ax_y = surface.axis_labels
    scene_axis = {"backgroundcolor": colors["paper"], "gridcolor": colors["grid"]}
    return {
        "data": data,
        "layout": {
            "height": style.height,
            "margin": {"l": 0, "r": 0, "t": 30, "b": 0},
            "paper_bgcolor": colors["paper"],
            "font": {"size": style.font, "color": colors["font"]},
            "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom"},
            "uirevision": surface.name,
            "scene": {
                "xaxis": scene_axis | {"title": {"text": ax_x}, "range": [x0, x1]},
                "yaxis": scene_axis | {"title": {"text": ax_y}, "range": [y0, y1]},
                "zaxis": scene_axis | {"title": {"text": "loss"}},
                "aspectmode": "manual",
                "aspectratio": {"x": 1, "y": 1, "z": 0.6},
            },
        },
    }

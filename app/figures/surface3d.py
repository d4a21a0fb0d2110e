"""The race in 3-D: the surface as a mesh, each run's path lifted onto it, and the same
playback as the 2-D race (Play / Pause / Slow / Fast / Replay and the scrubber) moving a head
per run along its path.

A 3-D scene is WebGL: plotly redraws the whole scene for each animation frame (``redraw``),
so the 3-D race has fewer frames than the 2-D one (:data:`MAX_FRAMES`) and only the heads move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from app.figures import colormap
from app.figures.format import decimals_for, rounded
from app.figures.layout import Fig, Style
from app.figures.race import PATH_EPS, Series, frame_steps, playback_controls, thin, visible_until

if TYPE_CHECKING:
    from surfaces import Surface

MAX_FRAMES = 60
GRID = 48  # mesh points per axis: a smooth enough surface that redraws quickly
META = {"op": "race3d"}


def _lifted(surface: Surface, xy: np.ndarray, lift: float) -> np.ndarray:
    """Heights of the points ``xy`` (..., 2) on the surface, lifted a little above it (NaN for
    points outside the plot)."""
    (x0, x1), (y0, y1) = surface.bounds
    inside = (xy[..., 0] >= x0) & (xy[..., 0] <= x1) & (xy[..., 1] >= y0) & (xy[..., 1] <= y1)
    return np.where(inside, surface.value(xy) + lift, np.nan)


def surface_3d_figure(
    surface: Surface, series: Sequence[Series], style: Style = Style(), n: int = GRID
) -> Fig:
    """The 3-D race as a plain dict: mesh, lifted paths, a head per run and client-side
    playback frames that move the heads."""
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
        path = thin(visible_until(s)[:, 0], PATH_EPS * max(x1 - x0, y1 - y0))
        vals = _lifted(surface, path, lift)  # gaps where it left the plot
        inside = np.isfinite(vals)
        data.append(
            {
                "type": "scatter3d",
                "mode": "lines",
                "name": s.title,
                "x": rounded(np.where(inside, path[:, 0], np.nan), dec),
                "y": rounded(np.where(inside, path[:, 1], np.nan), dec),
                "z": rounded(vals, zdec),
                "line": {"color": s.color, "width": 6, "dash": s.dash},
                "connectgaps": False,
                "hoverinfo": "skip",
            }
        )
    n_steps = int(max((int(s.steps[-1]) for s in series), default=0))
    fsteps = frame_steps(n_steps, MAX_FRAMES)
    per_frame = _heads(surface, series, fsteps, lift, dec, zdec)
    if series:
        data.append(
            {
                "type": "scatter3d",
                "mode": "markers",
                "name": "heads",
                **per_frame[0],
                "marker": {
                    "size": 7 if style.large_fonts else 6,
                    "color": [s.color for s in series for _ in range(s.positions.shape[1])],
                    "line": {"width": 1, "color": colors["font"]},
                },
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
    ax_x, ax_y = surface.axis_labels
    scene_axis = {  # few ticks: the three axes' labels crowd each other in perspective
        "backgroundcolor": colors["paper"],
        "gridcolor": colors["grid"],
        "nticks": 5,
        "tickfont": {"size": style.font - 2},
    }
    layout: dict[str, Any] = {
        "height": style.height,
        "margin": {"l": 0, "r": 0, "t": 30, "b": 96 if series else 10},
        "paper_bgcolor": colors["paper"],
        "font": {"size": style.font, "color": colors["font"]},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "uirevision": surface.name,
        "meta": dict(META),
        "scene": {
            "domain": {"x": [0.0, 1.0], "y": [0.0, 1.0]},
            "xaxis": scene_axis | {"title": {"text": ax_x}, "range": [x0, x1]},
            "yaxis": scene_axis | {"title": {"text": ax_y}, "range": [y0, y1]},
            "zaxis": scene_axis | {"title": {"text": "loss"}},
            "aspectmode": "manual",
            "aspectratio": {"x": 1, "y": 1, "z": 0.6},
            # from above the front left: the paths on the floor stay in view
            "camera": {"eye": {"x": -0.85, "y": -1.35, "z": 1.35}},
        },
    }
    if not series:
        return {"data": data, "layout": layout, "frames": []}
    wide = replace(style, stacked=True)  # controls under the scene, across its whole width
    layout |= playback_controls(wide, fsteps, redraw=True)
    heads = len(data) - 1
    frames = [
        {"name": str(int(t)), "data": [d], "traces": [heads]}
        for t, d in zip(fsteps, per_frame, strict=True)
    ]
    return {"data": data, "layout": layout, "frames": frames}


def _heads(
    surface: Surface,
    series: Sequence[Series],
    fsteps: np.ndarray,
    lift: float,
    dec: int,
    zdec: int,
) -> list[dict[str, Any]]:
    """Each frame's head positions (x, y, z lists) for every run of every series."""
    if not series:
        return [{"x": [], "y": [], "z": []} for _ in fsteps]
    parts = []
    for s in series:
        r = np.clip(np.searchsorted(s.steps, fsteps, side="right") - 1, 0, len(s.steps) - 1)
        parts.append(s.positions[r])  # (F, K, 2)
    xy = np.concatenate(parts, axis=1)  # (F, K_all, 2)
    zs = _lifted(surface, xy, lift)
    hx, hy = rounded(xy[..., 0], dec), rounded(xy[..., 1], dec)
    return [{"x": hx[i], "y": hy[i], "z": rounded(zs[i], zdec)} for i in range(len(fsteps))]

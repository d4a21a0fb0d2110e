"""Every run's path through the loss landscape on one shared plane. Pure: numbers in, a plain
plotly dict out.

Left: the plane (coordinates along its two directions), coloured by the true loss computed at
every grid point (a background picture, which survives playback), the centre, each run's path
and a marker per run that plays along it (the race of Explore). Right, against the epoch: each
run's true loss (solid) beside the loss the plane shows under its shadow (dotted) on a log
scale, and below, how far off the plane the run is. Where the two losses part, the picture
misleads; the page says so in words too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.figures import colormap
from app.figures.curves import GAP_FLOOR, Band
from app.figures.format import decimals_for, rounded, significant
from app.figures.layout import Fig, Style, axis_style
from app.figures.networks import DRAWN_MAX, LinearBand, paper_color
from app.figures.race import playback_controls, thin


@dataclass(frozen=True)
class PathDraw:
    """One run on the plane, per drawn row: epoch (R,), plane coordinates (R, 2), distance off
    the plane (R,), true loss (R,) and the loss of the plane under it (R,)."""

    label: str
    title: str
    color: str
    dash: str
    epochs: np.ndarray
    coords: np.ndarray
    off: np.ndarray
    true_loss: np.ndarray
    plane_loss: np.ndarray
    diverged: bool


def plane_image(
    loss: np.ndarray, ranges: tuple[tuple[float, float], tuple[float, float]], dark: bool
) -> dict[str, Any]:
    """The loss grid (n, n; row j at b[j]) as a banded picture over the plane's ranges."""
    unit, _, _ = colormap.normalise(loss, log=True)
    paper = "#0E1117" if dark else "#FFFFFF"
    rgb = colormap.banded_rgb(unit[::-1], blend_to=paper, blend=0.3)
    (a0, a1), (b0, b1) = ranges
    return {
        "source": colormap.png_data_uri(rgb),
        "xref": "x",
        "yref": "y",
        "x": a0,
        "y": b1,
        "sizex": a1 - a0,
        "sizey": b1 - b0,
        "sizing": "stretch",
        "layer": "below",
    }


def _at(epochs: np.ndarray, values: np.ndarray, e: np.ndarray) -> np.ndarray:
    i = np.clip(np.searchsorted(epochs, e, side="right") - 1, 0, len(epochs) - 1)
    return np.asarray(values[i])


def landscape_figure(
    paths: list[PathDraw],
    loss: np.ndarray,
    ranges: tuple[tuple[float, float], tuple[float, float]],
    frame_epochs: np.ndarray,
    style: Style = Style(),
    *,
    axis_titles: tuple[str, str] = ("direction 1", "direction 2"),
) -> Fig:
    """The plane with the paths, and the two curve bands, animated over ``frame_epochs``."""
    colors = style.colors
    f = style.font
    (a0, a1), (b0, b1) = ranges
    dec = decimals_for(max(a1 - a0, b1 - b0))
    eps = 1e-3 * max(a1 - a0, b1 - b0)
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "centre",
            "x": [0.0],
            "y": [0.0],
            "marker": {
                "symbol": "star",
                "size": 16,
                "color": "#FFFFFF",
                "line": {"width": 1.5, "color": "#000000"},
            },
            "hovertemplate": "the centre of the plane<extra></extra>",
        }
    ]
    for p in paths:
        c = thin(p.coords, eps)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": p.title,
                "legendgroup": p.label,
                "x": rounded(c[:, 0], dec),
                "y": rounded(c[:, 1], dec),
                "line": {"color": p.color, "width": 3, "dash": p.dash},
                "opacity": 0.85,
                "hovertemplate": p.title + " (%{x:.3g}, %{y:.3g})<extra></extra>",
            }
        )
    top, bottom = [0.56, 1.0], [0.0, 0.42]
    for i, p in enumerate(paths):  # losses drawn up to 1e100 (a log axis needs finite ticks)
        paths[i] = dataclasses.replace(
            p,
            true_loss=np.clip(p.true_loss, GAP_FLOOR, DRAWN_MAX),
            plane_loss=np.clip(p.plane_loss, GAP_FLOOR, DRAWN_MAX),
            off=np.clip(p.off, 0.0, DRAWN_MAX),
        )
    band = Band.around([np.concatenate([p.true_loss, p.plane_loss]) for p in paths], top)
    off_max = max((float(p.off.max()) for p in paths if len(p.off)), default=1.0)
    off_band = LinearBand(0.0, max(off_max * 1.1, 1e-9), bottom[0], bottom[1])
    for p in paths:
        e = np.round(p.epochs, 3).tolist()
        tl = np.maximum(p.true_loss, GAP_FLOOR)
        pl = np.maximum(p.plane_loss, GAP_FLOOR)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": p.title + " true loss",
                "legendgroup": p.label,
                "showlegend": False,
                "x": [*e, None, *e],
                "y": [*band.y(tl), None, *off_band.y(p.off)],
                "customdata": [*significant(tl), None, *significant(np.maximum(p.off, 1e-300))],
                "xaxis": "x2",
                "yaxis": "y2",
                "line": {"color": p.color, "width": 2.5, "dash": "solid"},
                "hovertemplate": p.title + " epoch %{x}: %{customdata:.4g}<extra></extra>",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": p.title + " on the plane",
                "legendgroup": p.label,
                "showlegend": False,
                "x": e,
                "y": band.y(pl),
                "customdata": significant(pl),
                "xaxis": "x2",
                "yaxis": "y2",
                "line": {"color": p.color, "width": 2, "dash": "dot"},
                "hovertemplate": p.title
                + " epoch %{x}: the plane shows %{customdata:.4g}<extra></extra>",
            }
        )
    fe = np.asarray(frame_epochs, dtype=np.float64)
    heads_x: list[list[Any]] = [[] for _ in fe]
    heads_y: list[list[Any]] = [[] for _ in fe]
    now_x: list[list[Any]] = [[] for _ in fe]
    now_y: list[list[Any]] = [[] for _ in fe]
    for p in paths:
        e_now = np.minimum(fe, p.epochs[-1])
        xy = _at(p.epochs, p.coords, e_now)
        hx, hy = rounded(xy[:, 0], dec), rounded(xy[:, 1], dec)
        ex = np.round(_at(p.epochs, p.epochs, e_now), 3).tolist()
        ly = band.y(np.maximum(_at(p.epochs, p.true_loss, e_now), GAP_FLOOR))
        oy = off_band.y(_at(p.epochs, p.off, e_now))
        for j in range(len(fe)):
            heads_x[j].append(hx[j])
            heads_y[j].append(hy[j])
            now_x[j] += [ex[j], ex[j]]
            now_y[j] += [ly[j], oy[j]]
    e_max = max(float(fe[-1]) if len(fe) else 1.0, 1.0)
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "heads",
            "x": heads_x[0] if len(fe) else [],
            "y": heads_y[0] if len(fe) else [],
            "showlegend": False,
            "marker": {
                "size": 13,
                "color": [p.color for p in paths],
                "line": {"width": 2, "color": colors["font"]},
            },
            "hoverinfo": "skip",
        }
    )
    now_colors = [c for p in paths for c in (p.color, p.color)]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "now",
            "x": [*now_x[0], e_max] if len(fe) else [],
            "y": [*now_y[0], top[1]] if len(fe) else [],
            "text": [""] * len(now_colors) + [f"epoch {int(fe[0])}" if len(fe) else ""],
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
            "marker": {
                "size": [9] * len(now_colors) + [0],
                "color": [*now_colors, "rgba(0,0,0,0)"],
                "line": {"width": 1.2, "color": colors["font"]},
            },
            "textposition": "bottom left",
            "textfont": {"size": f + 1, "color": colors["font"]},
            "cliponaxis": False,
            "hoverinfo": "skip",
        }
    )
    animated = [len(traces) - 2, len(traces) - 1]
    frames = [
        {
            "name": str(int(e)),
            "traces": animated,
            "data": [
                {"x": heads_x[j], "y": heads_y[j]},
                {
                    "x": [*now_x[j], e_max],
                    "y": [*now_y[j], top[1]],
                    "text": [""] * len(now_colors) + [f"epoch {int(e)}"],
                },
            ],
        }
        for j, e in enumerate(fe)
    ]
    axis = axis_style(colors, f)
    tv, tt = band.ticks()
    ov, ot = off_band.ticks()
    layout: dict[str, Any] = {
        "height": style.height,
        "margin": {"l": 64, "r": 16, "t": 40, "b": 110 + 24 * style.large_fonts},
        "paper_bgcolor": paper_color(style),
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"size": f, "color": colors["font"], "family": "Source Sans, sans-serif"},
        "hovermode": "closest",
        "dragmode": "pan",
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.01,
            "yanchor": "bottom",
            "font": {"size": f - 2},
            "bgcolor": "rgba(0,0,0,0)",
        },
        "xaxis": axis
        | {
            "domain": [0.0, 0.56],
            "range": [a0, a1],
            "title": {"text": axis_titles[0], "font": {"size": f - 1}},
        },
        "yaxis": axis
        | {
            "domain": [0.0, 1.0],
            "range": [b0, b1],
            "title": {"text": axis_titles[1], "font": {"size": f - 1}},
        },
        "xaxis2": axis
        | {
            "domain": [0.66, 1.0],
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
            "tickvals": tv + ov,
            "ticktext": tt + ot,
        },
        "annotations": [
            {
                "text": title,
                "xref": "paper",
                "yref": "paper",
                "x": 0.66,
                "y": (lo + hi) / 2,
                "xanchor": "right",
                "yanchor": "middle",
                "xshift": -round(3.4 * (f - 2)),
                "textangle": -90,
                "showarrow": False,
                "font": {"size": f - 2},
            }
            for title, (lo, hi) in (
                ("loss: true ─, on the plane ┄", top),
                ("distance off the plane", bottom),
            )
        ],
        "images": [plane_image(loss, ranges, style.dark)],
        "uirevision": "landscape",
    }
    if len(fe) > 1:
        layout |= playback_controls(
            style, fe, buttons=(1.0, -0.12), slider=(0.0, 0.56, -0.1), pad=(round(1.2 * f), 0)
        )
    return {"data": traces, "layout": layout, "frames": frames if len(fe) > 1 else []}

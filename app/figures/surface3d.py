"""The surface in 3-D with each run's path lifted onto it (behind the page's 3-D toggle)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from app.figures import colormap
from app.figures.format import decimals_for, rounded
from app.figures.layout import Fig, Style
from app.figures.race import PATH_EPS, Series, thin, visible_until

if TYPE_CHECKING:
    from surfaces import Surface


def surface_3d_figure(
    surface: Surface, series: Sequence[Series], style: Style = Style(), n: int = 60
) -> Fig:
    """The surface as a 3-D mesh with each run's path lifted onto it (a plain dict)."""
    colors = style.colors
    xs, ys, z = surface.grid(n)
    unit, _, _ = colormap.normalise(z, log=surface.log_color)
    dec = decimals_for(float(np.ptp(xs)) or 1.0)
    zdec = decimals_for(float(np.nanmax(z) - np.nanmin(z)) or 1.0)
    data: list[dict[str, object]] = [
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

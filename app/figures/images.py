"""The surface as a picture: the race's background image and the lessons' still pictures.

The race figure shows the surface as a background image (``layout.images``) instead of a
contour or heatmap trace, because plotly.js drops those layers when an animation plays. A
lesson's still picture (:func:`race_thumbnail`) is the same banded surface with each run's path
drawn on it by Pillow: a small PNG, made once per lesson and cached by the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from app.figures import colormap
from app.figures.layout import DARK, LIGHT

if TYPE_CHECKING:
    from app.figures.race import Series
    from surfaces import Surface

IMAGE_PIXELS = 160
THUMB_SIZE = (240, 160)  # width, height of a lesson's still picture


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


def race_thumbnail(
    surface: Surface,
    series: Sequence[Series],
    starts: np.ndarray,
    *,
    dark: bool = False,
    size: tuple[int, int] = THUMB_SIZE,
) -> bytes:
    """A small PNG of a race: the banded surface, every run's path, the starts and the ends.

    ``starts`` is (K, 2). Paths are clipped to the plot (a diverged run ends at the edge, as on
    the page); drawn at twice the size and shrunk, so that lines are smooth.
    """
    scale = 2
    w, h = size[0] * scale, size[1] * scale
    (x0, x1), (y0, y1) = surface.bounds
    _, _, z = surface.grid(IMAGE_PIXELS)
    unit, _, _ = colormap.normalise(z, log=surface.log_color)
    paper = (DARK if dark else LIGHT)["paper"]
    rgb = colormap.banded_rgb(unit[::-1], blend_to=paper, blend=0.3)
    img = Image.fromarray(rgb, "RGB").resize((w, h), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(img)

    def px(points: np.ndarray) -> list[tuple[float, float]]:
        xs = np.clip((points[:, 0] - x0) / (x1 - x0), 0.0, 1.0) * (w - 1)
        ys = (1.0 - np.clip((points[:, 1] - y0) / (y1 - y0), 0.0, 1.0)) * (h - 1)
        return list(zip(xs.tolist(), ys.tolist(), strict=True))

    outline = "#FFFFFF" if dark else "#000000"
    for s in series:
        for k in range(s.positions.shape[1]):
            line = px(s.positions[:, k])
            draw.line(line, fill=s.color, width=3 * scale, joint="curve")
            ex, ey = line[-1]
            r = 4 * scale
            draw.ellipse(
                (ex - r, ey - r, ex + r, ey + r), fill=s.color, outline=outline, width=scale
            )
    for sx, sy in px(np.asarray(starts, dtype=np.float64)):
        r = 5 * scale
        draw.ellipse((sx - r, sy - r, sx + r, sy + r), outline=outline, width=2 * scale)
    return colormap.png_bytes(np.asarray(img.resize(size, Image.Resampling.LANCZOS)))

"""Colour for the surface: a colour-blind-safe palette, colour maps and PNG images (Pillow).

The race figure shows the surface as a background image (``layout.images``) instead of a
contour or heatmap trace, because plotly.js drops those layers when an animation plays. The
image is a banded (filled-contour look) rendering of the surface on its grid, coloured through
a perceptually uniform map (viridis or cividis, from plotly's own colour stops) and blended
towards the page colour so that the optimizers' paths stay the most prominent thing on screen.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.colors
from PIL import Image

import optimizers

#: Okabe & Ito (2008), a palette distinguishable with every common colour-vision deficiency.
#: Ordered so that the first colours contrast best with the viridis/cividis background; black
#: is swapped for white on a dark figure (see :func:`optimizer_style`).
OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#0072B2",  # blue
    "#CC79A7",  # reddish purple
    "#000000",  # black
    "#F0E442",  # yellow
)
#: Line styles: with the seven path colours, 28 distinct (colour, dash) pairs.
DASHES = ("solid", "dash", "dot", "dashdot")
#: The optimizers' colours: Okabe-Ito without its yellow, which vanishes on the surface's
#: high (yellow) ground.
PATH_PALETTE = OKABE_ITO[:7]

COLORMAPS = {
    "viridis": plotly.colors.sequential.Viridis,
    "cividis": plotly.colors.sequential.Cividis,
}


def color_order() -> list[str]:
    """Every optimizer in the order it takes its colour: the default race's first (the five
    most distinct colours, solid lines), then the registry's order."""
    names = optimizers.names()
    return [
        *(n for n in optimizers.DEFAULT_SET if n in names),
        *(n for n in names if n not in optimizers.DEFAULT_SET),
    ]


def optimizer_style(name: str, *, dark: bool = False) -> tuple[str, str]:
    """The one (colour, dash) of optimizer ``name``, the same in every race, curve, table and
    export: the i-th optimizer of :func:`color_order` takes path colour i mod 7, solid for
    the first seven and dashed for the next seven (so all fourteen differ by colour or by
    dash). Black is drawn white on a dark figure. An unknown name takes grey."""
    order = color_order()
    if name not in order:
        return ("#808080", "solid")
    i = order.index(name)
    color = PATH_PALETTE[i % len(PATH_PALETTE)]
    if dark and color == "#000000":
        color = "#FFFFFF"
    return color, DASHES[(i // len(PATH_PALETTE)) % len(DASHES)]


_SHADES = (0.0, -0.45, 0.3, -0.7)  # a variant's colour: mixed towards black (<0) or white (>0)
#: The moving marker of a variant: the shape tells the runs of one optimizer apart in playback.
VARIANT_SYMBOLS = ("circle", "square", "diamond", "triangle-up")


def variant_style(name: str, variant: int, *, dark: bool = False) -> tuple[str, str]:
    """The style of the ``variant``-th run of one optimizer in a race that compares it with
    itself (learning rates, batch sizes): the optimizer's own hue, darker or lighter, and its
    own line style, so that its runs read as one optimizer and still tell apart."""
    color, dash = optimizer_style(name, dark=dark)
    if variant == 0:
        return color, dash
    shade = _SHADES[variant % len(_SHADES)]
    rgb = np.array(_hex_to_rgb(color), dtype=np.float64)
    target = 255.0 if shade > 0 else 0.0
    if color in ("#000000", "#FFFFFF"):
        target, shade = 127.0, 0.45 * (1 + variant // len(_SHADES))
    mixed = rgb + (target - rgb) * min(abs(shade), 0.9)
    r, g, b = (round(float(v)) for v in mixed)
    own = DASHES.index(dash)
    return f"#{r:02X}{g:02X}{b:02X}", DASHES[(own + variant) % len(DASHES)]


def variant_symbol(variant: int) -> str:
    return VARIANT_SYMBOLS[variant % len(VARIANT_SYMBOLS)]


def path_colors(n: int, *, dark: bool = False) -> list[tuple[str, str]]:
    """``n`` (colour, dash) pairs by position (for pictures that are not of optimizers)."""
    palette = [("#FFFFFF" if (dark and c == "#000000") else c) for c in OKABE_ITO]
    return [
        (palette[i % len(palette)], DASHES[(i // len(palette)) % len(DASHES)]) for i in range(n)
    ]


def _hex_to_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def lut(name: str = "viridis", n: int = 256) -> np.ndarray:
    """(n, 3) uint8 colour table interpolated linearly between the map's stops."""
    try:
        stops = np.array([_hex_to_rgb(c) for c in COLORMAPS[name]], dtype=np.float64)
    except KeyError:
        raise ValueError(f"colormap must be one of {sorted(COLORMAPS)}, got {name!r}") from None
    at = np.linspace(0.0, 1.0, len(stops))
    t = np.linspace(0.0, 1.0, n)
    table = np.stack([np.interp(t, at, stops[:, c]) for c in range(3)], axis=-1)
    return np.clip(np.rint(table), 0, 255).astype(np.uint8)


def color_scale(name: str = "viridis") -> list[list[float | str]]:
    """The same map as a plotly colorscale (for the 3-D surface and the colour bar)."""
    stops = COLORMAPS[name]
    return [[i / (len(stops) - 1), c] for i, c in enumerate(stops)]


def normalise(z: np.ndarray, *, log: bool) -> tuple[np.ndarray, float, float]:
    """Map ``z`` to [0, 1] (log10 of the height above the minimum when ``log``).

    Returns the normalised array and the (low, high) of the scale it used, in the units that
    were mapped (log10 units when ``log``). Non-finite values map to 1 (the top colour).
    """
    z = np.asarray(z, dtype=np.float64)
    finite = np.isfinite(z)
    if not finite.any():
        return np.ones_like(z), 0.0, 1.0
    zmin = float(z[finite].min())
    if log:
        span = float(z[finite].max()) - zmin
        floor = max(span * 1e-6, 1e-12)
        w = np.log10(np.where(finite, z - zmin, 0.0) + floor)
    else:
        w = np.where(finite, z, zmin)
    lo, hi = float(w[finite].min()), float(w[finite].max())
    if not hi > lo:
        return np.zeros_like(z), lo, lo + 1.0
    out = (w - lo) / (hi - lo)
    out[~finite] = 1.0
    return out, lo, hi


def banded_rgb(
    unit: np.ndarray,
    *,
    levels: int = 24,
    cmap: str = "viridis",
    blend_to: str = "#FFFFFF",
    blend: float = 0.35,
) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) uint8, quantised into ``levels`` bands.

    Banding gives the filled-contour look and compresses very well in PNG. ``blend`` mixes
    each colour with ``blend_to`` (the page colour) so paths drawn on top stand out.
    """
    table = lut(cmap, levels).astype(np.float64)
    paper = np.array(_hex_to_rgb(blend_to), dtype=np.float64)
    table = table * (1.0 - blend) + paper * blend
    idx = np.clip((np.asarray(unit) * levels).astype(np.int64), 0, levels - 1)
    return np.clip(np.rint(table[idx]), 0, 255).astype(np.uint8)


def encode_png(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes (Pillow); row 0 is the TOP of the image.

    A banded image has a few dozen colours: it is written as an exact palette image (one byte
    per pixel, a third of the size in the page's payload); other images as plain RGB.
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must have shape (H, W, 3), got {rgb.shape}")
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
    colors, index = np.unique(packed | rgb[..., 2], return_inverse=True)
    if len(colors) <= 256:
        img = Image.fromarray(index.reshape(rgb.shape[:2]).astype(np.uint8), "P")
        palette = np.stack([colors >> 16, (colors >> 8) & 255, colors & 255], axis=-1)
        img.putpalette(palette.astype(np.uint8).ravel().tolist())
    else:
        img = Image.fromarray(rgb, "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


png_bytes = encode_png


def palette_png(index: np.ndarray, palette: np.ndarray) -> bytes:
    """(H, W) uint8 indices into ``palette`` (n <= 256, 3) -> a palette PNG, row 0 at the top:
    one byte a pixel and no search for colours that are known already (the pictures of maps
    and of networks' decision boundaries: a hundred or more per figure)."""
    index = np.ascontiguousarray(index, dtype=np.uint8)
    h, w = index.shape
    img = Image.frombuffer("P", (w, h), index.tobytes(), "raw", "P", 0, 1)
    img.putpalette(np.ascontiguousarray(palette, dtype=np.uint8).tobytes(), "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def png_data_uri(rgb: np.ndarray) -> str:
    """(H, W, 3) uint8 -> ``data:image/png;base64,...`` for ``layout.images``."""
    return "data:image/png;base64," + base64.b64encode(encode_png(rgb)).decode("ascii")


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> (H, W, 3) uint8 (the inverse of :func:`encode_png`, for the tests)."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB")).copy()

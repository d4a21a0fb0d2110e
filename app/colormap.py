"""Colour for the surface: a colour-blind-safe LUT and a tiny PNG encoder (numpy + zlib).

The race figure shows the surface as a background image (``layout.images``) instead of a
contour or heatmap trace, because plotly.js drops those layers when an animation plays. The
image is a banded (filled-contour look) rendering of the surface on its grid, coloured through
a perceptually uniform map (viridis or cividis, from plotly's own colour stops) and blended
towards the page colour so that the optimizers' paths stay the most prominent thing on screen.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import plotly.colors

#: Okabe & Ito (2008), a palette distinguishable with every common colour-vision deficiency.
#: Ordered so that the first colours contrast best with the viridis/cividis background; black
#: is swapped for white on a dark page (see :func:`path_colors`).
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
#: Dash styles that tell the 9th and later optimizers apart from the first eight.
DASHES = ("solid", "dash", "dot", "dashdot")

COLORMAPS = {
    "viridis": plotly.colors.sequential.Viridis,
    "cividis": plotly.colors.sequential.Cividis,
}


def path_colors(n: int, *, dark: bool = False) -> list[tuple[str, str]]:
    """``n`` (colour, dash) pairs: Okabe-Ito colours first, then the same colours dashed."""
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


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes; row 0 is the TOP of the image.

    Each row uses the PNG "Sub" filter (difference to the pixel on the left), which turns the
    long runs of a banded image into zeros that zlib packs tightly.
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must have shape (H, W, 3), got {rgb.shape}")
    h, w, _ = rgb.shape
    sub = rgb.copy()
    sub[:, 1:, :] = rgb[:, 1:, :] - rgb[:, :-1, :]  # uint8 arithmetic wraps mod 256, as PNG wants
    rows = np.concatenate([np.ones((h, 1), dtype=np.uint8), sub.reshape(h, w * 3)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)),
            _chunk(b"IEND", b""),
        )
    )


def png_data_uri(rgb: np.ndarray) -> str:
    """(H, W, 3) uint8 -> ``data:image/png;base64,...`` for ``layout.images``."""
    return "data:image/png;base64," + base64.b64encode(encode_png(rgb)).decode("ascii")


def decode_png(data: bytes) -> np.ndarray:
    """Inverse of :func:`encode_png` (8-bit RGB, filter types 0 and 1 only): for the tests."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * 3)
    out = raw[:, 1:].reshape(height, width, 3).copy()
    for r in range(height):
        if raw[r, 0] == 1:
            out[r] = np.cumsum(out[r].astype(np.int64), axis=0).astype(np.uint8)
        elif raw[r, 0] != 0:
            raise ValueError(f"unsupported PNG filter {raw[r, 0]}")
    return out

"""Maps of thousands of runs as figures: the sweep map and the basin map. Pure: plain dicts.

Each map is a PNG picture under its axes (``layout.images``: 65,536 cells cost tens of kB as a
palette image, and the browser redraws it at once) plus an invisible layer of points for the
hover label and the click, grouped by what the cell shows (converging, at the minimum,
diverged...) so that each group's label names exactly its own values. The points are sent as
typed arrays (plotly.js's base64 ``bdata``: 4 bytes per number instead of ~18 characters of
JSON). Up to :data:`HOVER_POINTS` points per figure carry the labels; a finer map (a 256 × 256
sweep, a 512 × 512 basin map) labels every 2nd or 4th cell, with the exact values of that cell,
and says so: the picture itself always shows every cell.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from app import axes
from app.figures import colormap
from app.figures.format import power_label
from app.figures.layout import Fig, Style, axis_style

HOVER_POINTS = 36_000  # hover/click points per figure (about 1 MB of labels at most)
MIN_PIXELS = 480  # a map's picture is scaled up (nearest neighbour) to at least this size
DIVERGED_COLOR = "#D55E00"  # Okabe-Ito vermillion: not in viridis, not among the basins
NOT_YET = {"light": "#BDBDBD", "dark": "#5F6368"}  # not within tolerance / no minimum yet
#: the basins' colours: colour-blind-friendly, without vermillion (diverged) or grey
BASIN_COLORS = (  # the first four: Himmelblau's valleys in four unlike colours
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#CC79A7",
    "#0072B2",
    "#E69F00",
    "#88CCEE",
    "#117733",
    "#DDCC77",
    "#332288",
    "#AA4499",
    "#44AA99",
)
SHADES = 8  # the basin map's shading levels (steps taken)
DARKEST = 0.35  # the slowest arrival is drawn at this fraction of its basin's brightness
PREFIX = "hover:"  # the name of every hover/click trace: hover:<panel>:<group>


# ---------------------------------------------------------------- small pieces


def typed(a: np.ndarray, dtype: str = "f4") -> dict[str, Any]:
    """A typed array for plotly.js (``{"dtype", "bdata"[, "shape"]}``), NaN kept as NaN."""
    arr = np.ascontiguousarray(np.asarray(a), dtype="<" + dtype)
    out: dict[str, Any] = {"dtype": dtype, "bdata": base64.b64encode(arr.tobytes()).decode()}
    if arr.ndim > 1:
        out["shape"] = ",".join(str(s) for s in arr.shape)
    return out


def _hex(color: str) -> np.ndarray:
    c = color.lstrip("#")
    return np.array([int(c[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def rgb_of(color: str) -> np.ndarray:
    """A "#RRGGBB" colour as (3,) uint8."""
    return _hex(color).astype(np.uint8)


def upscale(rgb: np.ndarray, min_pixels: int = MIN_PIXELS) -> np.ndarray:
    """Scale a small picture up by a whole factor (nearest neighbour), so that the browser
    does not blur its cells when it stretches it over the axes."""
    h, w = rgb.shape[:2]
    f = max(1, math.ceil(min_pixels / max(1, min(h, w))))
    return np.repeat(np.repeat(rgb, f, axis=0), f, axis=1) if f > 1 else rgb


def hover_stride(cells: int, budget: int = HOVER_POINTS) -> int:
    """Label every s-th cell along each axis so that at most ``budget`` points are sent."""
    return max(1, math.ceil(math.sqrt(cells / budget)))


def _coord(v: float, log: bool) -> float:
    return math.log10(v) if log else v


def panel_grid(n: int, per_row: int = 3) -> list[tuple[list[float], list[float]]]:
    """Paper domains (x, y) of n panels: up to ``per_row`` side by side, then more rows."""
    rows = math.ceil(n / per_row)
    cols = min(n, per_row)
    gap_x, gap_y = 0.06, 0.12
    w = (1.0 - gap_x * (cols - 1)) / cols
    h = (1.0 - gap_y * (rows - 1)) / rows
    out = []
    for i in range(n):
        r, c = divmod(i, per_row)
        x0 = c * (w + gap_x)
        y1 = 1.0 - r * (h + gap_y)
        out.append(([x0, x0 + w], [y1 - h, y1]))
    return out


def axis_names(i: int) -> tuple[str, str, str, str]:
    """('x2', 'y2', 'xaxis2', 'yaxis2') for panel i (0: 'x', 'y', 'xaxis', 'yaxis')."""
    s = "" if i == 0 else str(i + 1)
    return "x" + s, "y" + s, "xaxis" + s, "yaxis" + s


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Decade ticks (and 2, 5 between when the range is short) in log10 units, labelled."""
    a, b = math.log10(lo), math.log10(hi)
    vals: list[float] = []
    mants = (1.0,) if b - a > 3 else (1.0, 2.0, 5.0)
    for e in range(math.floor(a) - 1, math.ceil(b) + 1):
        for m in mants:
            v = m * 10.0**e
            if lo <= v <= hi:
                vals.append(v)
    return [math.log10(v) for v in vals], [power_label(v) for v in vals]


def _panel_axes(
    layout: Fig,
    i: int,
    dom: tuple[list[float], list[float]],
    xaxis: dict[str, Any],
    yaxis: dict[str, Any],
    style: Style,
    titles: tuple[str, str],
) -> None:
    _, _, xa, ya = axis_names(i)
    xs, ys = axis_names(i)[:2]
    base = axis_style(style.colors, style.font)
    layout[xa] = {
        **base,
        **xaxis,
        "domain": dom[0],
        "anchor": ys,
        "fixedrange": True,
        "title": {"text": titles[0], "font": {"size": style.font}, "standoff": 4},
    }
    layout[ya] = {
        **base,
        **yaxis,
        "domain": dom[1],
        "anchor": xs,
        "fixedrange": True,
        "title": {"text": titles[1] if i % 3 == 0 else "", "font": {"size": style.font}},
    }


def _axis_spec(key: str, lo_edge: float, hi_edge: float, log: bool) -> dict[str, Any]:
    if log:
        tv, tt = log_ticks(lo_edge, hi_edge)
        return {
            "type": "log",
            "range": [math.log10(lo_edge), math.log10(hi_edge)],
            "tickvals": [10.0**v for v in tv],
            "ticktext": tt,
        }
    spec: dict[str, Any] = {"type": "linear", "range": [lo_edge, hi_edge]}
    if key in axes.RUN_AXES:
        spec["tickformat"] = "d"
    return spec


def _image(
    index: np.ndarray,
    palette: np.ndarray,
    i: int,
    x_edges: tuple[float, float],
    y_edges: tuple[float, float],
    log: tuple[bool, bool],
) -> dict[str, Any]:
    """``layout.images`` entry: indexed picture (rows from the lowest y up) over the edges."""
    xs, ys = axis_names(i)[:2]
    x0, x1 = (_coord(v, log[0]) for v in x_edges)
    y0, y1 = (_coord(v, log[1]) for v in y_edges)
    png = colormap.palette_png(upscale(index[::-1]), palette)
    return {
        "source": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        "xref": xs,
        "yref": ys,
        "x": x0,
        "y": y1,
        "sizex": x1 - x0,
        "sizey": y1 - y0,
        "sizing": "stretch",
        "layer": "below",
        "opacity": 1.0,
    }


def _base_layout(style: Style, height: int) -> Fig:
    colors = style.colors
    f = style.font
    return {
        "height": height,
        "margin": {"l": 64, "r": 96, "t": 60, "b": 56},
        "paper_bgcolor": colors["paper"],
        "plot_bgcolor": colors["paper"],
        "font": {"size": f, "color": colors["font"], "family": "Source Sans, sans-serif"},
        "hovermode": "closest",
        "hoverlabel": {"font": {"size": f - 1}},
        "showlegend": True,
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "y": -0.16,
            "yanchor": "top",
            "font": {"size": f - 2},
        },
        "dragmode": False,
        "annotations": [],
        "images": [],
    }


def _swatch(name: str, color: str, symbol: str = "square") -> dict[str, Any]:
    """A legend entry only: a coloured square that explains a colour of the map."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [None],
        "y": [None],
        "name": name,
        "marker": {"symbol": symbol, "size": 12, "color": color, "line": {"width": 0}},
        "hoverinfo": "skip",
    }


def _colorbar(
    title: str, ticks: list[tuple[float, str]], dark: bool, x: float = 1.01
) -> dict[str, Any]:
    """An invisible trace that draws the shared colour bar (good = bright, at the top)."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [None],
        "y": [None],
        "showlegend": False,
        "hoverinfo": "skip",
        "marker": {
            "color": [0.0, 1.0],
            "cmin": 0.0,
            "cmax": 1.0,
            "colorscale": colormap.color_scale("viridis"),
            "showscale": True,
            "colorbar": {
                "title": {"text": title, "side": "right"},
                "x": x,
                "len": 0.9,
                "thickness": 14,
                "tickvals": [u for u, _ in ticks],
                "ticktext": [t for _, t in ticks],
                "outlinewidth": 0,
                "bgcolor": "rgba(0,0,0,0)",
                "tickfont": {"color": "#FAFAFA" if dark else "#262730"},
            },
        },
    }


def _title(
    i: int, title: str, bits: Sequence[str], dom: tuple[list[float], list[float]], style: Style
) -> dict[str, Any]:
    """A panel's title: the optimizer in bold, what stands out on a second, smaller line."""
    second = " · ".join(bits) or "&nbsp;"  # every title two lines: the panels line up
    small = f"<br><span style='font-size:{style.font - 2}px'>{second}</span>"
    return {
        "text": f"<b>{title}</b>" + small,
        "x": (dom[0][0] + dom[0][1]) / 2,
        "y": dom[1][1],
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": style.font, "color": style.colors["font"]},
        "name": f"panel-title-{i}",
    }


# ---------------------------------------------------------------- the sweep map


@dataclass(frozen=True)
class Edges:
    """The stability edges drawn on every sweep map whose axis is the learning rate."""

    lam_max: float
    local: bool  # read at a minimum of a surface that is not a quadratic
    at: tuple[float, float]


@dataclass(frozen=True)
class Scale:
    """How a metric maps to colour: unit = (v - lo) / (hi - lo) on log10 values when ``log``;
    lower is better, so unit 0 is drawn bright (viridis reversed)."""

    name: str
    title: str
    log: bool
    lo: float
    hi: float

    def unit(self, v: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.log10(np.maximum(v, 1e-300)) if self.log else np.asarray(v, dtype=np.float64)
            lo = math.log10(self.lo) if self.log else self.lo
            hi = math.log10(self.hi) if self.log else self.hi
            return np.clip((w - lo) / max(hi - lo, 1e-12), 0.0, 1.0)

    def ticks(self) -> list[tuple[float, str]]:
        """Colour-bar ticks as (position on the bar: 1 = best, label)."""
        if self.log:
            a, b = math.log10(self.lo), math.log10(self.hi)
            step = max(1, math.ceil((b - a) / 6))
            vals = [10.0**e for e in range(math.ceil(a), math.floor(b) + 1, step)] or [self.lo]
        else:
            vals = list(np.linspace(self.lo, self.hi, 5))
        fmt = power_label if self.log else (lambda v: f"{v:.3g}")
        return [(1.0 - float(self.unit(np.array(v))), fmt(v)) for v in vals]


def metric(result: Any, name: str) -> np.ndarray | None:
    """The (ny, nx) values a sweep map is coloured by (NaN where a cell has none)."""
    if name == "gap":
        out = result.gap if result.gap is not None else result.final_loss
        return np.asarray(out)
    if name in ("distance", "rate"):
        value = getattr(result, name)
        return None if value is None else np.asarray(value)
    if name == "steps":
        if result.tol_step is None:
            return None
        return np.where(result.tol_step >= 0, result.tol_step, np.nan).astype(np.float64)
    raise ValueError(f"unknown colour {name!r}")


def scale_for(results: Sequence[Any], name: str, tol: float) -> Scale | None:
    """One colour scale for every panel (the same colour means the same value)."""
    vals = []
    for r in results:
        m = metric(r, name)
        if m is None:
            continue
        ok = np.isfinite(m) & (r.diverged_at < 0)
        if name in ("gap", "distance"):
            ok &= m > 0
        if ok.any():
            vals.append(m[ok])
    if not vals:
        return None
    v = np.concatenate(vals)
    no_minima = results[0].gap is None
    if name == "gap" and not no_minima:
        lo = max(float(v.min()), 1e-16)
        hi = max(float(v.max()), lo * 10)
        return Scale(name, "final loss − f*", True, lo, hi)
    if name == "gap":  # no known minimum: the final loss, linear
        lo, hi = float(v.min()), float(v.max())
        return Scale(name, "final loss", False, lo, hi if hi > lo else lo + 1)
    if name == "distance":
        lo = max(float(v.min()), 1e-16)
        return Scale(name, "distance to minimum", True, lo, max(float(v.max()), lo * 10))
    if name == "rate":
        return Scale(name, "rate per step", False, 0.0, 1.0)
    top = float(max(r.spec.steps for r in results))
    return Scale(name, f"steps to gap ≤ {tol:g}", False, 0.0, max(top, 1.0))


LEVELS = 240  # colours of a sweep map's scale


def sweep_palette(dark: bool) -> np.ndarray:
    """(LEVELS + 2, 3) uint8: reversed viridis (index 0 bright = best), then the colour of
    "no value" (not within tolerance) and of "diverged"."""
    lut = colormap.lut("viridis", LEVELS)[::-1]
    extra = np.array([rgb_of(NOT_YET["dark" if dark else "light"]), rgb_of(DIVERGED_COLOR)])
    return np.concatenate([lut, extra]).astype(np.uint8)


def sweep_index(result: Any, scale: Scale | None, name: str) -> np.ndarray:
    """(ny, nx) uint8 into :func:`sweep_palette`, row 0 at the lowest y."""
    ny, nx = result.final_loss.shape
    idx = np.full((ny, nx), LEVELS, dtype=np.uint8)
    m = metric(result, name)
    if m is not None and scale is not None:
        if name == "rate":  # at the minimum to rounding: as fast as it gets
            m = np.where(np.isnan(m) & (result.diverged_at < 0), 0.0, m)
        ok = np.isfinite(m)
        level = np.rint(scale.unit(np.where(ok, m, scale.lo)) * (LEVELS - 1)).astype(np.uint8)
        idx[ok] = level[ok]
    idx[result.diverged_at >= 0] = LEVELS + 1
    return idx


def sweep_rgb(result: Any, scale: Scale | None, name: str, dark: bool) -> np.ndarray:
    """(ny, nx, 3) uint8, row 0 at the lowest y: the metric through reversed viridis; the
    diverged cells vermillion; cells without a value (not within tolerance) grey."""
    return np.asarray(sweep_palette(dark)[sweep_index(result, scale, name)])


@dataclass(frozen=True)
class Group:
    """One kind of cell for the hover label: its cells and the lines its label shows."""

    name: str
    mask: np.ndarray  # (ny, nx)
    columns: list[tuple[str, np.ndarray, str]]  # (label, values (ny, nx), d3 format)
    header: str = ""


def sweep_groups(result: Any, tol: float) -> list[Group]:
    """The kinds of cell of a sweep map and what each one's hover label says."""
    div = result.diverged_at
    alive = div < 0
    groups = [Group("diverged", ~alive, [("diverged at step", div, "d")], "diverged")]
    if result.gap is None:  # no known minimum
        groups.append(Group("ran", alive, [("final loss", result.final_loss, ".4g")]))
        return groups
    readable = np.isfinite(result.rate) if result.rate is not None else alive
    cols = [
        ("loss gap", result.gap, ".3g"),
        ("distance to minimum", result.distance, ".3g"),
    ]
    rate_col = [("rate per step", result.rate, ".4f")]
    if result.tol_step is None:
        groups.append(Group("converging", alive & readable, cols + rate_col))
        groups.append(Group("at-minimum", alive & ~readable, cols, "at the minimum (to rounding)"))
        return groups
    within = result.tol_step >= 0
    every = f" (checked every {result.tol_every})" if result.tol_every > 1 else ""
    steps_col = [(f"gap ≤ {tol:g} by step{every}", result.tol_step, "d")]
    groups += [
        Group("within", alive & within & readable, cols + rate_col + steps_col),
        Group("at-minimum", alive & within & ~readable, cols + steps_col, "at the minimum"),
        Group(
            "not-within",
            alive & ~within,
            [*cols, ("rate per step", result.rate, ".4f")],
            f"gap > {tol:g} at the end",
        ),
    ]
    return groups


def hover_traces(
    i: int,
    groups: Sequence[Group],
    xs: np.ndarray,
    ys: np.ndarray,
    labels: tuple[str, str],
    title: str,
    stride: int,
) -> list[dict[str, Any]]:
    """One invisible marker trace per group: labels on hover, and the click."""
    xa, ya = axis_names(i)[:2]
    ny, nx = len(ys), len(xs)
    iy, ix = np.indices((ny, nx))
    off = stride // 2
    sampled = ((iy % stride) == off % max(ny, 1)) & ((ix % stride) == off % max(nx, 1))
    if stride == 1:
        sampled[:] = True
    out = []
    for g in groups:
        sel = g.mask & sampled
        if not sel.any():
            continue
        cd = np.stack([np.asarray(c[1], dtype=np.float64)[sel] for c in g.columns], axis=-1)
        lines = [f"<b>{title}</b>"]
        if g.header:
            lines.append(f"<i>{g.header}</i>")
        lines.append(f"{labels[0]} = %{{x:.4g}}")
        lines.append(f"{labels[1]} = %{{y:.4g}}")
        lines += [f"{lab}: %{{customdata[{k}]:{fmt}}}" for k, (lab, _, fmt) in enumerate(g.columns)]
        out.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{PREFIX}{i}:{g.name}",
                "x": typed(xs[ix[sel]]),
                "y": typed(ys[iy[sel]]),
                "customdata": typed(cd),
                "xaxis": xa,
                "yaxis": ya,
                "marker": {"size": 8, "opacity": 0.001, "color": "#808080", "maxdisplayed": 1},
                "hovertemplate": "<br>".join(lines) + "<extra></extra>",
                "showlegend": False,
            }
        )
    return out


def edge_traces(
    i: int, edges: Edges, x: Any, y: Any, style: Style, first: bool, has_beta: bool = True
) -> list[dict[str, Any]]:
    """GD's edge lr = 2/λ_max and momentum's (2 + 2β)/λ_max, where an axis is the learning
    rate (and the other β for the curve, on the maps of optimizers that have a β)."""
    xa, ya = axis_names(i)[:2]
    color = style.colors["font"]
    local = " (local)" if edges.local else ""
    out = []
    for lr_ax, other, lr_is_x in ((x, y, True), (y, x, False)):
        if lr_ax.key != "lr":
            continue
        lo, hi = lr_ax.lo, lr_ax.hi
        o_lo, o_hi = other.lo, other.hi
        gd = 2.0 / edges.lam_max
        if lo <= gd <= hi:
            xs_, ys_ = ([gd, gd], [o_lo, o_hi]) if lr_is_x else ([o_lo, o_hi], [gd, gd])
            out.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": xs_,
                    "y": ys_,
                    "xaxis": xa,
                    "yaxis": ya,
                    "name": f"GD's edge 2/λmax = {gd:.3g}{local}",
                    "legendgroup": "gd-edge",
                    "showlegend": first,
                    "line": {"color": color, "width": 2, "dash": "dash"},
                    "hovertemplate": f"gradient descent's stability edge{local}: "
                    f"lr = 2/λmax = {gd:.4g}<extra></extra>",
                }
            )
        if other.key == "beta" and has_beta:
            beta = np.linspace(max(o_lo, 0.0), min(o_hi, 0.9999), 60)
            lr = (2.0 + 2.0 * beta) / edges.lam_max
            keep = (lr >= lo) & (lr <= hi)
            if keep.any():
                a, b = lr[keep].tolist(), beta[keep].tolist()
                out.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": a if lr_is_x else b,
                        "y": b if lr_is_x else a,
                        "xaxis": xa,
                        "yaxis": ya,
                        "name": f"momentum's edge (2+2β)/λmax{local}",
                        "legendgroup": "momentum-edge",
                        "showlegend": first,
                        "line": {"color": color, "width": 2, "dash": "dot"},
                        "hovertemplate": f"heavy-ball momentum's stability edge{local}: "
                        "lr = (2 + 2β)/λmax<extra></extra>",
                    }
                )
    return out


def sweep_figure(
    results: Sequence[Any],
    titles: Sequence[str],
    color: str,
    style: Style,
    edges: Edges | None = None,
    tol: float = 1e-3,
) -> Fig:
    """Every optimizer's sweep map side by side on the same axes and colour scale."""
    if not results:
        raise ValueError("no maps to draw")
    spec0 = results[0].spec
    x, y = spec0.x, spec0.y
    xs, ys = results[0].xs, results[0].ys
    x_edges = axes.edges(xs, log=x.log)
    y_edges = axes.edges(ys, log=y.log)
    labels = (axes.symbol(x.key), axes.symbol(y.key))
    scale = scale_for(results, color, tol)
    doms = panel_grid(len(results))
    rows = math.ceil(len(results) / 3)
    height = (560 if style.embed else 520) + (rows - 1) * 380 + (40 if style.large_fonts else 0)
    layout = _base_layout(style, height)
    data: list[dict[str, Any]] = []
    cells = sum(r.final_loss.size for r in results)
    stride = hover_stride(cells)
    palette = sweep_palette(style.dark)
    for i, (r, title) in enumerate(zip(results, titles, strict=True)):
        xspec = _axis_spec(x.key, *x_edges, x.log)
        yspec = _axis_spec(y.key, *y_edges, y.log)
        _panel_axes(layout, i, doms[i], xspec, yspec, style, labels)
        index = sweep_index(r, scale, color)
        layout["images"].append(_image(index, palette, i, x_edges, y_edges, (x.log, y.log)))
        bits = [f"{r.diverged_fraction:.0%} diverged"] if r.diverged_fraction else []
        if any(r.flat):
            flat = [axes.symbol(a.key) for a, f in zip((x, y), r.flat, strict=True) if f]
            bits.append("no " + ", ".join(flat) + ": flat along it")
        layout["annotations"].append(_title(i, title, bits, doms[i], style))
        data += hover_traces(i, sweep_groups(r, tol), xs, ys, labels, title, stride)
        if edges is not None:
            flat_beta = (x.key == "beta" and r.flat[0]) or (y.key == "beta" and r.flat[1])
            data += edge_traces(i, edges, x, y, style, first=i == 0, has_beta=not flat_beta)
    seen: set[str] = set()
    for t in data:  # one legend entry per kind of line, on the first panel that draws it
        group = t.get("legendgroup")
        if group in ("gd-edge", "momentum-edge"):
            t["showlegend"] = group not in seen
            seen.add(group)
    data.append(_swatch("diverged", DIVERGED_COLOR))
    if color == "steps":
        data.append(
            _swatch(f"gap > {tol:g} at the end", NOT_YET["dark" if style.dark else "light"])
        )
    if scale is not None:
        data.append(_colorbar(scale.title, scale.ticks(), style.dark))
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- the basin map


def basin_color(label: int) -> str:
    return BASIN_COLORS[label % len(BASIN_COLORS)]


def basin_palette(dark: bool) -> np.ndarray:
    """(len(BASIN_COLORS) * SHADES + 2, 3) uint8: each basin's colour in SHADES steps from
    full brightness to DARKEST, then "no minimum yet" and "diverged"."""
    base = np.array([_hex(c) for c in BASIN_COLORS])  # (C, 3)
    shade = 1.0 - (1.0 - DARKEST) * np.arange(SHADES) / (SHADES - 1)  # (S,)
    table = (base[:, None, :] * shade[None, :, None]).reshape(-1, 3)
    extra = np.array([_hex(NOT_YET["dark" if dark else "light"]), _hex(DIVERGED_COLOR)])
    return np.asarray(np.clip(np.rint(np.concatenate([table, extra])), 0, 255), dtype=np.uint8)


def basin_index(result: Any) -> np.ndarray:
    """(n, n) uint8 into :func:`basin_palette`: the basin's colour, shaded by the steps it
    took to settle there (few shades: a small PNG), row 0 at the lowest y."""
    lab = np.asarray(result.label, dtype=np.int64)
    none = len(BASIN_COLORS) * SHADES
    idx = np.full(lab.shape, none, dtype=np.uint8)
    got = lab >= 0
    if got.any():
        t = np.clip(result.arrived[got] / max(int(result.spec.steps), 1), 0.0, 1.0)
        level = np.floor(t * (SHADES - 1) + 0.5).astype(np.int64)
        idx[got] = (lab[got] % len(BASIN_COLORS)) * SHADES + level
    idx[lab == -2] = none + 1
    return idx


def basin_rgb(result: Any, dark: bool) -> np.ndarray:
    """(n, n, 3) uint8, row 0 at the lowest y: each start in the colour of the minimum it ends
    in, darker the more steps it took to settle there; no minimum yet grey, diverged
    vermillion."""
    return np.asarray(basin_palette(dark)[basin_index(result)])


def basin_groups(result: Any, minima: Sequence[Any]) -> list[Group]:
    lab = np.asarray(result.label, dtype=np.int64)
    every = f" (checked every {result.stride})" if result.stride > 1 else ""
    groups = [
        Group("diverged", lab == -2, [("diverged at step", result.diverged_at, "d")], "diverged"),
        Group(
            "none",
            lab == -1,
            [
                ("ends at x", result.final[..., 0], ".3f"),
                ("ends at y", result.final[..., 1], ".3f"),
            ],
            f"no minimum yet after {result.spec.steps} steps",
        ),
    ]
    for m, p in enumerate(minima):
        mask = lab == m
        if mask.any():
            groups.append(
                Group(
                    f"min{m}",
                    mask,
                    [(f"stays within {result.radius:.2g} from step{every}", result.arrived, "d")],
                    f"ends in the {p.kind} minimum at ({p.xy[0]:.3g}, {p.xy[1]:.3g})",
                )
            )
    return groups


def basin_figure(
    results: Sequence[Any],
    titles: Sequence[str],
    minima: Sequence[Any],
    labels: tuple[str, str],
    style: Style,
) -> Fig:
    """Every optimizer's basin map side by side over the same window of starts."""
    if not results:
        raise ValueError("no maps to draw")
    x0, x1, y0, y1 = results[0].spec.box
    doms = panel_grid(len(results))
    rows = math.ceil(len(results) / 3)
    height = (560 if style.embed else 520) + (rows - 1) * 380 + (40 if style.large_fonts else 0)
    layout = _base_layout(style, height)
    data: list[dict[str, Any]] = []
    cells = sum(r.label.size for r in results)
    stride = hover_stride(cells)
    palette = basin_palette(style.dark)
    mx = [p.xy[0] for p in minima if x0 <= p.xy[0] <= x1 and y0 <= p.xy[1] <= y1]
    my = [p.xy[1] for p in minima if x0 <= p.xy[0] <= x1 and y0 <= p.xy[1] <= y1]
    for i, (r, title) in enumerate(zip(results, titles, strict=True)):
        xa, ya = axis_names(i)[:2]
        _panel_axes(layout, i, doms[i], {"range": [x0, x1]}, {"range": [y0, y1]}, style, labels)
        layout["images"].append(
            _image(basin_index(r), palette, i, (x0, x1), (y0, y1), (False, False))
        )
        share = float((r.label == -2).mean())
        none = float((r.label == -1).mean())
        bits = [f"{share:.0%} diverged"] if share else []
        bits += [f"{none:.0%} no minimum yet"] if none else []
        layout["annotations"].append(_title(i, title, bits, doms[i], style))
        data += hover_traces(
            i, basin_groups(r, minima), r.xs, r.ys, ("start x", "start y"), title, stride
        )
        if mx:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": mx,
                    "y": my,
                    "xaxis": xa,
                    "yaxis": ya,
                    "name": "minima",
                    "legendgroup": "minima",
                    "showlegend": i == 0,
                    "marker": {
                        "symbol": "star",
                        "size": 11,
                        "color": "#FFFFFF",
                        "line": {"width": 1.2, "color": "#000000"},
                    },
                    "hoverinfo": "skip",
                }
            )
    for m, p in enumerate(minima[: len(BASIN_COLORS)]):
        data.append(_swatch(f"→ ({p.xy[0]:.2f}, {p.xy[1]:.2f})", basin_color(m)))
    data.append(_swatch("no minimum yet", NOT_YET["dark" if style.dark else "light"]))
    data.append(_swatch("diverged", DIVERGED_COLOR))
    layout["margin"]["r"] = 24
    return {"data": data, "layout": layout}


def hover_panel(trace_name: str) -> int | None:
    """The panel index of a hover/click trace by its name (None: not a map's trace)."""
    if not isinstance(trace_name, str) or not trace_name.startswith(PREFIX):
        return None
    try:
        return int(trace_name[len(PREFIX) :].split(":", 1)[0])
    except ValueError:
        return None


def nearest_index(values: np.ndarray, v: float, log: bool) -> int:
    """The cell whose centre is nearest to ``v`` (in log10 on a log axis)."""
    vals = np.asarray(values, dtype=np.float64)
    if log and v > 0 and (vals > 0).all():
        return int(np.argmin(np.abs(np.log10(vals) - math.log10(v))))
    return int(np.argmin(np.abs(vals - v)))


# ---------------------------------------------------------------- lessons' still pictures


THUMB_SIZE = (240, 160)


def thumbnail(
    panels: Sequence[np.ndarray], *, dark: bool, size: tuple[int, int] = THUMB_SIZE
) -> bytes:
    """Maps side by side as one small PNG: each panel (rows from the lowest y up) stretched
    into an equal share of the width, with a thin gap in the page's colour."""

    w, h = size
    paper = _hex("#0E1117" if dark else "#FFFFFF").astype(np.uint8)
    canvas = np.empty((h, w, 3), dtype=np.uint8)
    canvas[:] = paper
    n = max(1, len(panels))
    gap = 4
    pw = (w - gap * (n - 1)) // n
    for i, rgb in enumerate(panels):
        img = Image.fromarray(np.ascontiguousarray(rgb[::-1]), "RGB")
        part = np.asarray(img.resize((pw, h), Image.Resampling.NEAREST))
        x0 = i * (pw + gap)
        canvas[:, x0 : x0 + pw] = part
    return colormap.png_bytes(canvas)


def curve_thumbnail(
    curves: Sequence[tuple[np.ndarray, np.ndarray, str]],
    *,
    dark: bool,
    size: tuple[int, int] = THUMB_SIZE,
) -> bytes:
    """Curves (x, y, colour) in their own ranges as a small PNG (the range test's picture)."""
    from PIL import ImageDraw

    scale = 2
    w, h = size[0] * scale, size[1] * scale
    img = Image.new("RGB", (w, h), "#0E1117" if dark else "#FFFFFF")
    draw = ImageDraw.Draw(img)
    pts = [(x[np.isfinite(y)], y[np.isfinite(y)]) for x, y, _ in curves]
    xs = np.concatenate([p[0] for p in pts]) if pts else np.zeros(1)
    ys = np.concatenate([p[1] for p in pts]) if pts else np.zeros(1)
    if xs.size < 2:
        return colormap.png_bytes(np.asarray(img.resize(size)))
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    pad = 8 * scale
    for (x, y), (_, _, color) in zip(pts, curves, strict=True):
        if x.size < 2:
            continue
        px = pad + (x - x0) / max(x1 - x0, 1e-12) * (w - 2 * pad)
        py = h - pad - (y - y0) / max(y1 - y0, 1e-12) * (h - 2 * pad)
        draw.line(list(zip(px.tolist(), py.tolist(), strict=True)), fill=color, width=3 * scale)
    return colormap.png_bytes(np.asarray(img.resize(size, Image.Resampling.LANCZOS)))

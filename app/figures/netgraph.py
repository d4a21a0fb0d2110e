"""Inside one network (TensorFlow Playground's signature view). Pure: numbers in, a plain
plotly dict out.

Columns of nodes: the input features, each hidden layer, the output. Every node is a small
picture of what it outputs over the input plane (orange negative, blue positive, each node on
its own scale). Every weight is a line from its input node to its unit, as wide as the weight
is large and blue where it is positive, orange where negative. Hovering a weight's midpoint
shows its value, the gradient of the step shown and the optimizer's state for it; hovering a
node shows its bias the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.figures.layout import Fig, Style
from app.figures.networks import BLUE, ORANGE, paper_color

WIDTHS = (0.6, 1.5, 3.0, 5.0, 8.0)  # line widths of the weight-size buckets (px)
MAX_HOVER_LINKS = 2000  # hover markers on the largest weights beyond this many links
NODE = 0.8  # node picture size, in node spacings


@dataclass(frozen=True)
class NodeDraw:
    """One node: its name ("x", "h1[2]", "out"), its picture and its hover lines."""

    name: str
    picture: str
    hover: str


@dataclass(frozen=True)
class GraphDraw:
    """A network to draw: node columns (inputs first), weights per layer (out, in) with
    hover text per weight (out, in)."""

    columns: Sequence[Sequence[NodeDraw]]
    weights: Sequence[np.ndarray]
    hover: Sequence[Sequence[Sequence[str]]]
    title: str


PLOT_WIDTH = 760  # px: the plot's usual width in the page, which sets the column spacing


def height_of(tallest: int) -> int:
    """The plot's height in px for a network whose tallest column has ``tallest`` nodes."""
    return int(min(760, max(260, 50 + 46 * tallest)))


def spacing(n_columns: int, tallest: int) -> float:
    """Horizontal distance between columns (vertical: 1 per node), so that the network
    fills a plot of PLOT_WIDTH x height_of(tallest) px with square node pictures."""
    per_px = (tallest + 0.5) / height_of(tallest)
    return max(1.5, (PLOT_WIDTH * per_px - 1.2) / max(n_columns - 1, 1))


def _positions(columns: Sequence[Sequence[NodeDraw]]) -> list[np.ndarray]:
    """Node centres (n_l, 2) per column: x = column x spacing, y in [0, tallest - 1]."""
    tallest = max(len(c) for c in columns)
    gap = spacing(len(columns), tallest)
    out = []
    for i, col in enumerate(columns):
        n = len(col)
        y = (tallest - 1) / 2 + (np.arange(n)[::-1] - (n - 1) / 2)
        out.append(np.column_stack([np.full(n, i * gap), y]))
    return out


def graph_figure(g: GraphDraw, style: Style = Style()) -> Fig:
    colors = style.colors
    f = style.font
    pos = _positions(g.columns)
    tallest = max(len(c) for c in g.columns)
    size = NODE
    big = max((float(np.abs(w).max()) for w in g.weights if w.size), default=1.0) or 1.0
    buckets: dict[tuple[int, bool], tuple[list[Any], list[Any]]] = {}
    mids: list[tuple[float, float, float, str]] = []
    for layer, w in enumerate(g.weights):
        src, dst = pos[layer], pos[layer + 1]
        for r in range(w.shape[0]):
            for c in range(w.shape[1]):
                v = float(w[r, c])
                k = min(len(WIDTHS) - 1, int(abs(v) / big * len(WIDTHS)))
                xs, ys = buckets.setdefault((k, v >= 0), ([], []))
                x0, y0 = float(src[c, 0]) + size / 2, float(src[c, 1])
                x1, y1 = float(dst[r, 0]) - size / 2, float(dst[r, 1])
                xs += [round(x0, 4), round(x1, 4), None]
                ys += [round(y0, 4), round(y1, 4), None]
                mids.append(((x0 + x1) / 2, (y0 + y1) / 2, abs(v), g.hover[layer][r][c]))
    traces: list[dict[str, Any]] = []
    for (k, positive), (xs, ys) in sorted(buckets.items()):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs,
                "y": ys,
                "line": {"color": BLUE if positive else ORANGE, "width": WIDTHS[k]},
                "opacity": 0.85,
                "hoverinfo": "skip",
                "showlegend": False,
                "name": f"weights {'+' if positive else '−'}{k}",
            }
        )
    if len(mids) > MAX_HOVER_LINKS:
        mids = sorted(mids, key=lambda m: -m[2])[:MAX_HOVER_LINKS]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "links",
            "x": [round(m[0], 4) for m in mids],
            "y": [round(m[1], 4) for m in mids],
            "text": [m[3] for m in mids],
            "marker": {"size": 9, "color": colors["font"], "opacity": 0.25},
            "hovertemplate": "%{text}<extra></extra>",
            "showlegend": False,
        }
    )
    node_x = [float(p[0]) for col in pos for p in col]
    node_y = [float(p[1]) for col in pos for p in col]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "nodes",
            "x": node_x,
            "y": node_y,
            "text": [n.hover for col in g.columns for n in col],
            "marker": {"size": 28, "symbol": "square", "opacity": 0.001, "color": colors["font"]},
            "hovertemplate": "%{text}<extra></extra>",
            "showlegend": False,
        }
    )
    images = []
    annotations = []
    shapes = []
    for col, p in zip(g.columns, pos, strict=True):
        for node, (x, y) in zip(col, p, strict=True):
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "y",
                    "x0": float(x) - size / 2,
                    "x1": float(x) + size / 2,
                    "y0": float(y) - size / 2,
                    "y1": float(y) + size / 2,
                    "line": {"color": colors["muted"], "width": 1},
                    "layer": "above",
                }
            )
            images.append(
                {
                    "source": node.picture,
                    "xref": "x",
                    "yref": "y",
                    "x": float(x) - size / 2,
                    "y": float(y) + size / 2,
                    "sizex": size,
                    "sizey": size,
                    "sizing": "stretch",
                    "layer": "above",
                }
            )
    names = ["inputs", *[f"hidden {i}" for i in range(1, len(g.columns) - 1)], "output"]
    for i, name in enumerate(names):
        annotations.append(
            {
                "text": name,
                "x": float(pos[i][0, 0]),
                "y": tallest - 0.5,
                "xref": "x",
                "yref": "y",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": f - 2, "color": colors["muted"]},
            }
        )
    for node, (x, y) in zip(g.columns[0], pos[0], strict=True):
        annotations.append(
            {
                "text": node.name,
                "x": float(x) - size / 2,
                "y": float(y),
                "xref": "x",
                "yref": "y",
                "xanchor": "right",
                "showarrow": False,
                "font": {"size": f - 2, "color": colors["font"]},
            }
        )
    height = height_of(tallest)
    right = float(pos[-1][0, 0])
    return {
        "data": traces,
        "layout": {
            "height": height + (60 if style.large_fonts else 0),
            "margin": {"l": 50, "r": 10, "t": 40, "b": 10},
            "paper_bgcolor": paper_color(style),
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"size": f, "color": colors["font"], "family": "Source Sans, sans-serif"},
            "title": {"text": g.title, "font": {"size": f}, "x": 0, "xanchor": "left"},
            "hovermode": "closest",
            "dragmode": False,
            "xaxis": {"visible": False, "range": [-0.6, right + 0.6], "fixedrange": True},
            "yaxis": {
                "visible": False,
                "range": [-0.6, tallest - 0.1],
                "fixedrange": True,
                "scaleanchor": "x",
            },
            "images": images,
            "shapes": shapes,
            "annotations": annotations,
        },
    }


def hover_lines(name: str, value: float, grad: float, state: Mapping[str, float]) -> str:
    """``w[1][2,0] = 0.53<br>gradient −0.012<br>exp_avg 0.004``."""
    parts = [f"<b>{name}</b> = {value:.4g}", f"gradient {grad:.4g}"]
    parts += [f"{k} {v:.4g}" for k, v in state.items()]
    return "<br>".join(parts)


def node_hover(title: str, bias: str | None) -> str:
    return f"<b>{title}</b>" + (f"<br>{bias}" if bias else "")


def layer_names(sizes: Sequence[int], inputs: Sequence[str]) -> list[list[str]]:
    """Node names per column: the input labels, h1[0] ..., out."""
    cols = [list(inputs)]
    for layer, n in enumerate(sizes[1:-1], start=1):
        cols.append([f"h{layer}[{j}]" for j in range(n)])
    cols.append(["out"])
    return cols

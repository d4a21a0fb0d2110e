"""How often does it work: one setting from K initialisations, per run. Pure: numbers in, a
plain plotly dict out.

One row per run (optimizer and batch size), one dot per initialisation at its final training
loss (log scale), spread vertically so that the distribution shows; filled dots worked (100 %
training accuracy, or a loss below the target), hollow ✕ did not. The share that worked is
written at the right. Each dot carries its seed: a click on it opens that run on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.figures.curves import GAP_FLOOR
from app.figures.format import significant
from app.figures.layout import Fig, Style, axis_style
from app.figures.networks import paper_color

JITTER = 0.32


@dataclass(frozen=True)
class OftenRow:
    """One run's initialisations: seeds (K,), final losses (K,), success (K,), dead units
    (K,), accuracy (K,) or None, diverged (K,)."""

    label: str
    title: str
    color: str
    seeds: np.ndarray
    loss: np.ndarray
    success: np.ndarray
    dead: np.ndarray
    accuracy: np.ndarray | None
    diverged: np.ndarray


def often_figure(rows: Sequence[OftenRow], what: str, style: Style = Style()) -> Fig:
    """The strip plot; ``what`` says what counts as working ("100 % training accuracy")."""
    colors = style.colors
    f = style.font
    traces: list[dict[str, Any]] = []
    n = len(rows)
    for i, r in enumerate(rows):
        y0 = n - 1 - i
        k = len(r.seeds)
        rng = np.random.default_rng(i)
        jitter = y0 + rng.uniform(-JITTER, JITTER, k)
        loss = np.maximum(r.loss, GAP_FLOOR)
        for ok in (True, False):
            sel = r.success == ok
            if not sel.any():
                continue
            acc = r.accuracy[sel] if r.accuracy is not None else np.full(sel.sum(), np.nan)
            custom = [
                [int(s), r.label, round(float(a) * 100, 1) if np.isfinite(a) else "—", int(d),
                 "diverged" if dv else ""]
                for s, a, d, dv in zip(r.seeds[sel], acc, r.dead[sel], r.diverged[sel],
                                       strict=True)
            ]  # fmt: skip
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": f"{r.title}: {'worked' if ok else 'failed'}",
                    "legendgroup": r.label,
                    "showlegend": False,
                    "x": significant(loss[sel], 4),
                    "y": np.round(jitter[sel], 3).tolist(),
                    "customdata": custom,
                    "marker": {
                        "size": 8,
                        "symbol": "circle" if ok else "x-thin-open",
                        "color": r.color if ok else colors["font"],
                        "line": {
                            "width": 1.5 if not ok else 0.5,
                            "color": colors["font"] if not ok else colors["paper"],
                        },
                        "opacity": 0.75 if ok else 0.9,
                    },
                    "hovertemplate": "seed %{customdata[0]}: final loss %{x:.3g}, training "
                    "accuracy %{customdata[2]} %, dead ReLU units %{customdata[3]} "
                    "%{customdata[4]}<br>click to open this run<extra></extra>",
                }
            )
    axis = axis_style(colors, f)
    annotations = []
    for i, r in enumerate(rows):
        share = float(np.mean(r.success)) if len(r.success) else 0.0
        annotations.append(
            {
                "text": f"<b>{share:.0%}</b> of {len(r.seeds)}",
                "xref": "paper",
                "yref": "y",
                "x": 1.0,
                "y": n - 1 - i,
                "xanchor": "left",
                "showarrow": False,
                "font": {"size": f, "color": r.color if r.color != "#000000" else colors["font"]},
            }
        )
    return {
        "data": traces,
        "layout": {
            "height": 90 + 70 * max(n, 1),
            "margin": {"l": 10, "r": 110, "t": 40, "b": 50},
            "paper_bgcolor": paper_color(style),
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"size": f, "color": colors["font"], "family": "Source Sans, sans-serif"},
            "hovermode": "closest",
            "dragmode": False,
            "xaxis": axis
            | {
                "type": "log",
                "showgrid": True,
                "gridcolor": colors["grid"],
                "exponentformat": "power",
                "title": {"text": "final training loss", "font": {"size": f - 1}},
            },
            "yaxis": axis
            | {
                "tickmode": "array",
                "tickvals": list(range(n)),
                "ticktext": [r.title for r in rows][::-1],
                "range": [-0.6, n - 0.4],
                "fixedrange": True,
                "automargin": True,
            },
            "title": {
                "text": f"share that worked ({what}) at the right; ✕: did not",
                "font": {"size": f - 2, "color": colors["muted"]},
                "x": 1.0,
                "xanchor": "right",
            },
            "annotations": annotations,
        },
    }

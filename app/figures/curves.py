"""The loss-gap and gradient-norm curves beside the race, drawn in two bands of one axis pair.

plotly.js re-runs its defaults and calc step for *every* trace on every animation frame, so
playback speed is set by the number of traces, not by their points. Each optimizer therefore
draws both of its curves as one trace: the two curve panels are two :class:`Band` s of one
pair of axes (``x2``/``y2``) whose y coordinate is the paper height, each band mapping log10
of its values onto its own height, with its own ticks (benchmarks/APP_RESULTS.md has the
measurements that led here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.figures.format import log_range, power_label, rounded, significant

if TYPE_CHECKING:
    from app.figures.race import Series
    from surfaces import Surface

GAP_FLOOR = 1e-16  # the loss-gap axis is logarithmic: an exact minimum is drawn at this floor
CURVE_POINTS = 200  # at most this many points per loss / gradient-norm curve
Curve = tuple[np.ndarray, np.ndarray, np.ndarray]  # steps, loss gap, gradient norm


def reference_value(surface: Surface) -> float | None:
    """f* for the loss-gap curves: the lowest known minimum, None when the surface has none."""
    values = [p.value for p in surface.minima if p.kind == "global"] or [
        p.value for p in surface.minima
    ]
    return float(min(values)) if values else None


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


def curve_stop(s: Series) -> int:
    """Recorded states to draw on the curves: up to run 0's divergence, else all."""
    d = int(s.diverged_at[0]) if len(s.diverged_at) else -1
    if d < 0:
        return len(s.steps)
    return min(int(np.searchsorted(s.steps, d, side="left")) + 1, len(s.steps))


def curves_of(series: Sequence[Series]) -> list[Curve]:
    """Each series' drawn curves: at most CURVE_POINTS steps, up to run 0's divergence."""
    out = []
    for s in series:
        stop = curve_stop(s)
        stride = -(-stop // CURVE_POINTS)  # ceil: keeps the payload and playback light
        out.append(
            (
                s.steps[:stop:stride],
                np.maximum(s.gap[:stop:stride], GAP_FLOOR),
                np.maximum(s.grad_norm[:stop:stride], GAP_FLOOR),
            )
        )
    return out


def bands_for(curves: Sequence[Curve], domains: dict[str, list[float]]) -> tuple[Band, Band]:
    """The loss band (paper ``y2``) and the gradient-norm band (paper ``y3``)."""
    return (
        Band.around([c[1] for c in curves], domains["y2"]),
        Band.around([c[2] for c in curves], domains["y3"]),
    )


def curve_traces(
    series: Sequence[Series], curves: Sequence[Curve], bands: tuple[Band, Band]
) -> list[dict[str, Any]]:
    """One trace per optimizer: its loss gap, a break, its gradient norm."""
    traces = []
    for s, (steps, gap, gn) in zip(series, curves, strict=True):
        x = steps.astype(np.int64).tolist()
        traces.append(
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
    return traces


def curves_layout(
    surface: Surface,
    domains: dict[str, list[float]],
    bands: tuple[Band, Band] | None,
    axis: dict[str, Any],
    colors: dict[str, str],
    font: int,
) -> dict[str, Any]:
    """The curves' axes (``xaxis2``/``yaxis2``) and the bands' titles."""
    gap_title = "loss − f*" if reference_value(surface) is not None else "loss"
    curve_y = [domains["y3"][0], domains["y2"][1]]  # the curves' y axis is the paper height
    tickvals: list[Any] = []
    ticktext: list[str] = []
    for band in bands or ():
        vals, text = band.ticks()
        tickvals += vals
        ticktext += text
    return {
        "xaxis2": axis
        | {
            "domain": domains["x2"],
            "anchor": "y2",
            "title": {"text": "step", "font": {"size": font}},
        },
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
                "x": domains["x2"][0],
                "y": (lo + hi) / 2,
                "xanchor": "right",
                "yanchor": "middle",
                "xshift": -round(3.4 * (font - 2)),
                "textangle": -90,
                "showarrow": False,
                "font": {"size": font},
            }
            for title, (lo, hi) in ((gap_title, domains["y2"]), ("|∇f|", domains["y3"]))
        ],
    }

"""The curves beside the race: the loss (gap to f*), the gradient norm and, with a schedule,
the learning rate per step, each in its own band of one axis pair.

plotly.js re-runs its defaults and calc step for *every* trace on every animation frame, so
playback speed is set by the number of traces, not by their points. Each optimizer therefore
draws all of its curves as one trace: the curve panels are :class:`Band` s of one pair of axes
(``x2``/``y2``) whose y coordinate is the paper height, each band mapping its values onto its
own height, with its own ticks (benchmarks/APP_RESULTS.md has the measurements that led here).

A band is logarithmic (log10 of positive values), or *signed*: a symmetric log scale
``sign(v) log10(1 + |v| / c)`` that shows negative values honestly. The loss band is signed on
a surface without a known minimum (x² − y² falls without bound: its loss goes to −900, which a
log scale of the loss would have clipped to a floor that reads as "loss ≈ 0") and whenever a
loss drops below the f* it is measured against.
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

GAP_FLOOR = 1e-16  # a logarithmic band draws an exact minimum (a zero gap) at this floor
CURVE_POINTS = 200  # at most this many points per curve
NEGATIVE = -1e-12  # a loss gap below this is a loss below f*: the loss band turns signed


@dataclass(frozen=True)
class Curve:
    """One series' drawn curves: steps (R',) with loss (gap) and gradient norm, and the
    learning rate of each step (T',) at ``lr_steps``."""

    steps: np.ndarray
    gap: np.ndarray
    grad_norm: np.ndarray
    lr_steps: np.ndarray
    lr: np.ndarray


def reference_value(surface: Surface) -> float | None:
    """f* for the loss-gap curves: the lowest known minimum, None when the surface has none."""
    values = [p.value for p in surface.minima if p.kind == "global"] or [
        p.value for p in surface.minima
    ]
    return float(min(values)) if values else None


@dataclass(frozen=True)
class Band:
    """One curve panel inside the shared curve axes: t(value) in [lo, hi] -> paper [p0, p1],
    with t = log10 (positive values) or, for a ``signed`` band, sign(v) log10(1 + |v| / c).

    The y axis of the curves is the paper height itself (range = the bands' extent), so one
    trace can hold an optimizer's curves, each in its own band.
    """

    lo: float
    hi: float
    p0: float
    p1: float
    signed: bool = False
    c: float = 1.0  # a signed band's linear threshold

    @classmethod
    def around(
        cls, arrays: Sequence[np.ndarray], paper: Sequence[float], *, signed: bool = False
    ) -> Band:
        """The band showing every value of ``arrays`` (positive ones unless ``signed``),
        padded, on ``paper``."""
        finite = [a[np.isfinite(a) & ((a > 0) | signed)] for a in arrays]
        values = np.concatenate(finite) if finite else np.array([])
        if not signed:
            if values.size == 0:
                values = np.array([GAP_FLOOR, 1.0])
            lo, hi = log_range([float(values.min()), float(values.max())])
            return cls(lo, hi, float(paper[0]), float(paper[1]))
        big = float(np.abs(values).max()) if values.size else 1.0
        c = 10.0 ** (math.floor(math.log10(big)) - 3) if big > 0 else 1.0
        band = cls(0.0, 1.0, float(paper[0]), float(paper[1]), True, c)
        t = band.transform(values) if values.size else np.array([0.0, 1.0])
        lo, hi = float(min(t.min(), 0.0)), float(max(t.max(), 0.0))
        pad = 0.06 * max(hi - lo, 0.5)
        return cls(lo - pad, hi + pad, float(paper[0]), float(paper[1]), True, c)

    def transform(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if self.signed:
            return np.asarray(np.sign(v) * np.log10(1.0 + np.abs(v) / self.c))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.log10(v))

    def y(self, values: np.ndarray) -> list[Any]:
        """Values -> paper heights (rounded to 1e-4 of the chart: below a pixel)."""
        t = self.transform(values)
        return rounded(self.p0 + (t - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0), 4)

    def clip(self, values: np.ndarray) -> np.ndarray:
        """Values as this band draws them: a log band lifts zeros to its floor."""
        v = np.asarray(values, dtype=np.float64)
        return v if self.signed else np.maximum(v, GAP_FLOOR)

    def ticks(self) -> tuple[list[Any], list[str]]:
        """Tick heights and labels: decades (every n-th for a wide band), else 1-2-5 steps;
        a signed band: 0 and ±10ᵏ."""
        if self.signed:
            return self._signed_ticks()
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

    def _signed_ticks(self) -> tuple[list[Any], list[str]]:
        k0 = math.ceil(math.log10(self.c))
        mags = [10.0**k for k in range(k0, k0 + 40)]
        values = [0.0] + [s * m for m in mags for s in (1.0, -1.0)]
        inside = sorted(
            v for v in values if self.lo <= float(self.transform(np.array(v))) <= self.hi
        )
        positive = [v for v in inside if v > 0]
        negative = [v for v in inside if v < 0]
        every = max(1, math.ceil(max(len(positive), len(negative)) / 3))
        keep = [0.0, *positive[::-1][::every], *negative[::every]]
        keep = sorted(v for v in keep if v in inside)
        labels = ["0" if v == 0 else ("−" if v < 0 else "") + power_label(abs(v)) for v in keep]
        return self.y(np.array(keep)), labels


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
        last = max(int(s.steps[stop - 1]), 0)  # the learning rate of steps 1..last
        lr_steps = np.arange(1, last + 1)[::stride] if len(s.lr) else np.zeros(0, np.int64)
        out.append(
            Curve(
                steps=s.steps[:stop:stride],
                gap=s.gap[:stop:stride],
                grad_norm=s.grad_norm[:stop:stride],
                lr_steps=lr_steps,
                lr=s.lr[lr_steps - 1] if lr_steps.size else np.zeros(0),
            )
        )
    return out


def loss_is_signed(surface: Surface, curves: Sequence[Curve]) -> bool:
    """The loss band is signed where a log scale of the gap would lie: no known minimum, or a
    loss below the f* it is measured against."""
    if reference_value(surface) is None:
        return True
    return any(bool(np.any(c.gap[np.isfinite(c.gap)] < NEGATIVE)) for c in curves)


def bands_for(
    curves: Sequence[Curve],
    domains: dict[str, list[float]],
    *,
    signed: bool = False,
    lr: bool = False,
) -> tuple[Band, ...]:
    """The loss band (paper ``y2``), the gradient-norm band (``y3``) and, with ``lr``, the
    learning-rate band (``y4``)."""
    gaps = [c.gap if signed else np.maximum(c.gap, GAP_FLOOR) for c in curves]
    bands: tuple[Band, ...] = (
        Band.around(gaps, domains["y2"], signed=signed),
        Band.around([np.maximum(c.grad_norm, GAP_FLOOR) for c in curves], domains["y3"]),
    )
    if lr:
        bands += (Band.around([c.lr for c in curves], domains["y4"]),)
    return bands


def curve_traces(
    series: Sequence[Series], curves: Sequence[Curve], bands: Sequence[Band]
) -> list[dict[str, Any]]:
    """One trace per optimizer: its loss (gap), a break, its gradient norm (and, with a
    learning-rate band, a break and its learning rate)."""
    traces = []
    for s, c in zip(series, curves, strict=True):
        x = c.steps.astype(np.int64).tolist()
        gap, gn = bands[0].clip(c.gap), bands[1].clip(c.grad_norm)
        xs: list[Any] = [*x, None, *x]
        ys: list[Any] = [*bands[0].y(gap), None, *bands[1].y(gn)]
        custom: list[Any] = [*significant(gap), None, *significant(gn)]
        if len(bands) > 2:
            xs += [None, *c.lr_steps.astype(np.int64).tolist()]
            ys += [None, *bands[2].y(c.lr)]
            custom += [None, *significant(c.lr)]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": s.title,
                "legendgroup": s.name,
                "showlegend": False,
                "x": xs,
                "y": ys,
                "customdata": custom,
                "xaxis": "x2",
                "yaxis": "y2",
                "line": {"color": s.color, "width": 2.5, "dash": s.dash},
                "hovertemplate": s.title + " step %{x}: %{customdata:.3g}<extra></extra>",
            }
        )
    return traces


def band_titles(surface: Surface, signed: bool, lr: bool) -> list[str]:
    """The bands' titles, top to bottom."""
    if reference_value(surface) is None:
        loss = "loss f (symlog)"
    else:
        loss = "loss − f* (symlog)" if signed else "loss − f*"
    return [loss, "|∇f|"] + (["learning rate"] if lr else [])


def curves_layout(
    titles: Sequence[str],
    domains: dict[str, list[float]],
    bands: Sequence[Band] | None,
    axis: dict[str, Any],
    colors: dict[str, str],
    font: int,
) -> dict[str, Any]:
    """The curves' axes (``xaxis2``/``yaxis2``) and the bands' titles."""
    panels = [domains[k] for k in ("y2", "y3", "y4")[: len(titles)]]
    curve_y = [panels[-1][0], panels[0][1]]  # the curves' y axis is the paper height
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
        # One band per curve, each with its own ticks; zooming moves the steps only.
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
        # The bands' titles, where the axis titles of separate panels would be.
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
                "font": {"size": font - (2 if len(titles) > 2 else 0)},
            }
            for title, (lo, hi) in zip(titles, panels, strict=True)
        ],
    }

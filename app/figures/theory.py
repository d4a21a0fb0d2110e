"""The theory of momentum on quadratics as figures, and the learning-rate range test.
Pure: plain dicts (the maths is optimizers/theory.py and optimizers/lr_range.py).

* :func:`rate_map_figure`: the convergence rate of heavy-ball momentum over (αλ, β), with the
  stability boundary αλ = 2 + 2β, critical damping β = (1 − √(αλ))² and where each of the
  surface's eigenvalues sits at the chosen (α, β);
* :func:`theory_vs_measured_figure`: the theory's rate max_i ρ(αλ_i, β) beside the rate measured
  on the sweep of real runs, on the same (lr, β) axes and colour scale;
* :func:`eigen_figure`: the current race's error on each eigendirection, step by step;
* :func:`gd_rate_figure`: gradient descent's rate against its step size;
* :func:`damping_figure`: one eigendirection as β moves (a slider in the browser);
* :func:`range_figure`: the loss against the growing learning rate, suggestions marked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.figures import colormap
from app.figures.format import power_label
from app.figures.layout import Fig, Style, axis_style
from app.figures.maps import DIVERGED_COLOR, axis_names, log_ticks, typed
from optimizers import theory

UNSTABLE_TOP = 1.2  # rates from 1 up to this are drawn in the "diverges" colour


def rate_colorscale() -> list[list[Any]]:
    """Reversed viridis on [0, 1) (fast = bright), vermillion from 1 (diverges)."""
    stops = colormap.COLORMAPS["viridis"][::-1]
    edge = 1.0 / UNSTABLE_TOP
    scale: list[list[Any]] = [[edge * i / (len(stops) - 1), c] for i, c in enumerate(stops)]
    scale[-1][0] = edge - 1e-9
    scale += [[edge, DIVERGED_COLOR], [1.0, DIVERGED_COLOR]]
    return scale


def _layout(style: Style, height: int, margin_r: int = 24) -> Fig:
    colors = style.colors
    f = style.font
    return {
        "height": height,
        "margin": {"l": 64, "r": margin_r, "t": 48, "b": 56},
        "paper_bgcolor": colors["paper"],
        "plot_bgcolor": colors["paper"],
        "font": {"size": f, "color": colors["font"], "family": "Source Sans, sans-serif"},
        "hovermode": "closest",
        "hoverlabel": {"font": {"size": f - 1}},
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": -0.18,
            "yanchor": "top",
            "font": {"size": f - 2},
        },
        "dragmode": False,
        "annotations": [],
        "shapes": [],
    }


def _axis(style: Style, title: str, **kw: Any) -> dict[str, Any]:
    a = axis_style(style.colors, style.font)
    a["title"] = {"text": title, "font": {"size": style.font}, "standoff": 4}
    a["fixedrange"] = True
    a.update(kw)
    return a


def _line(x: Any, y: Any, name: str, color: str, dash: str = "solid", **kw: Any) -> dict[str, Any]:
    out = {
        "type": "scatter",
        "mode": "lines",
        "x": list(map(float, x)),
        "y": list(map(float, y)),
        "name": name,
        "line": {"color": color, "width": 2, "dash": dash},
    }
    out.update(kw)
    return out


def _colorbar(title: str) -> dict[str, Any]:
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0, 1.1]
    return {
        "title": {"text": title, "side": "right"},
        "thickness": 14,
        "len": 0.9,
        "tickvals": ticks,
        "ticktext": ["0", "0.25", "0.5", "0.75", "1", "≥ 1: diverges"],
        "outlinewidth": 0,
    }


# ---------------------------------------------------------------- the (αλ, β) plane


def rate_map_figure(
    eigenvalues: Sequence[float],
    alpha: float,
    beta: float,
    optimum: theory.Optimum | None,
    style: Style,
    n: int = 200,
) -> Fig:
    """Momentum's rate ρ(αλ, β) on one eigendirection, over αλ ∈ [0, 4] and β ∈ [0, 1)."""
    h = np.linspace(0.0, 4.0, n)
    b = np.linspace(0.0, 0.999, n)
    z = theory.momentum_rate(h[None, :], b[:, None])
    color = style.colors["font"]
    data: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "x": typed(h),
            "y": typed(b),
            "z": typed(np.minimum(z, UNSTABLE_TOP)),
            "zmin": 0.0,
            "zmax": UNSTABLE_TOP,
            "colorscale": rate_colorscale(),
            "colorbar": _colorbar("rate ρ"),
            "name": "rate",
            "hovertemplate": "αλ = %{x:.3f}<br>β = %{y:.3f}<br>ρ = %{z:.4f}<extra></extra>",
        }
    ]
    bb = np.linspace(0.0, 0.999, 80)
    data.append(
        _line(
            2 + 2 * bb,
            bb,
            "stability edge αλ = 2 + 2β",
            color,
            "dash",
            hovertemplate="stability edge: αλ = 2 + 2β<extra></extra>",
        )
    )
    hh = np.linspace(0.0, 4.0, 161)
    data.append(
        _line(
            hh,
            theory.critical_beta(hh),
            "critical damping β = (1 − √(αλ))²",
            color,
            "dot",
            hovertemplate="critical damping: β = (1 − √(αλ))²<extra></extra>",
        )
    )
    lams = [float(v) for v in eigenvalues]
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [alpha * lam for lam in lams],
            "y": [beta] * len(lams),
            "text": [f"λ{'₁₂₃'[i] if i < 3 else i + 1}" for i in range(len(lams))],
            "textposition": "top center",
            "textfont": {"color": color, "size": style.font},
            "name": f"this race: α = {alpha:.3g}, β = {beta:.3g}",
            "marker": {"size": 12, "color": "#FFFFFF", "line": {"width": 2, "color": "#000000"}},
            "hovertemplate": "αλ = %{x:.3f}, β = %{y:.3f}<extra>eigenvalue</extra>",
        }
    )
    if optimum is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [optimum.momentum_lr * lam for lam in lams],
                "y": [optimum.momentum_beta] * len(lams),
                "name": f"optimum α* = {optimum.momentum_lr:.3g}, β* = {optimum.momentum_beta:.3g}",
                "marker": {
                    "size": 12,
                    "symbol": "diamond-open",
                    "color": color,
                    "line": {"width": 2},
                },
                "hovertemplate": "optimum: αλ = %{x:.3f}, β* = %{y:.3f}<extra></extra>",
            }
        )
    layout = _layout(style, 480 + (40 if style.large_fonts else 0), margin_r=24)
    layout["xaxis"] = _axis(style, "αλ (step size × curvature)", range=[0, 4])
    layout["yaxis"] = _axis(style, "β (momentum)", range=[0, 1])
    layout["title"] = {
        "text": "Momentum's rate on one eigendirection",
        "x": 0.01,
        "font": {"size": style.font + 1},
    }
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- theory beside the runs


def theory_vs_measured_figure(
    sweep: Any, eigenvalues: Sequence[float], optimum: theory.Optimum, style: Style, local: bool
) -> Fig:
    """The theory's rate and the measured rate on the same (lr, β) axes and colours."""
    xs, ys = sweep.xs, sweep.ys
    theo = theory.rate_on_spectrum(xs[None, :], ys[:, None], eigenvalues)
    measured = np.where(sweep.diverged_at >= 0, UNSTABLE_TOP, sweep.rate)
    at_min = np.isnan(measured)  # at the minimum to rounding: faster than can be read
    measured = np.where(at_min, 0.0, measured)
    color = style.colors["font"]
    layout = _layout(style, 470 + (40 if style.large_fonts else 0), margin_r=24)
    tv, tt = log_ticks(float(xs[0]), float(xs[-1]))
    data: list[dict[str, Any]] = []
    sub = " (local)" if local else ""
    for i, (z, title, what) in enumerate(
        (
            (theo, f"theory: max over λ of ρ(αλ, β){sub}", "theory's rate"),
            (
                measured,
                f"measured on {measured.size:,} runs of {sweep.spec.steps} steps",
                "measured rate",
            ),
        )
    ):
        xa, ya, xk, yk = axis_names(i)
        dom = [0.0, 0.47] if i == 0 else [0.53, 1.0]
        layout[xk] = _axis(
            style,
            "learning rate α",
            type="log",
            domain=dom,
            anchor=ya,
            range=[math.log10(xs[0]), math.log10(xs[-1])],
            tickvals=[10.0**v for v in tv],
            ticktext=tt,
        )
        layout[yk] = _axis(
            style,
            "β" if i == 0 else "",
            domain=[0, 1],
            anchor=xa,
            range=[float(ys[0]), float(ys[-1])],
        )
        data.append(
            {
                "type": "heatmap",
                "x": typed(xs),
                "y": typed(ys),
                "z": typed(np.minimum(z, UNSTABLE_TOP)),
                "zmin": 0.0,
                "zmax": UNSTABLE_TOP,
                "colorscale": rate_colorscale(),
                "showscale": i == 1,
                "colorbar": _colorbar("rate per step"),
                "xaxis": xa,
                "yaxis": ya,
                "name": what,
                "hovertemplate": "α = %{x:.4g}<br>β = %{y:.3f}<br>"
                + what
                + " = %{z:.4f}<extra></extra>",
            }
        )
        layout["annotations"].append(
            {
                "text": f"<b>{title}</b>",
                "x": (dom[0] + dom[1]) / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": style.font - 1},
            }
        )
        beta = np.linspace(float(ys[0]), float(ys[-1]), 60)
        lr = (2 + 2 * beta) / optimum.lam_max
        keep = lr <= xs[-1]
        data.append(
            _line(
                lr[keep],
                beta[keep],
                "momentum's edge (2+2β)/λmax" + sub,
                color,
                "dot",
                xaxis=xa,
                yaxis=ya,
                legendgroup="edge",
                showlegend=i == 0,
                hovertemplate="(2 + 2β)/λmax<extra></extra>",
            )
        )
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [optimum.momentum_lr],
                "y": [optimum.momentum_beta],
                "xaxis": xa,
                "yaxis": ya,
                "name": f"optimum (α*, β*) = ({optimum.momentum_lr:.3g}, "
                f"{optimum.momentum_beta:.3g}): rate {optimum.momentum_rate:.4f}",
                "legendgroup": "opt",
                "showlegend": i == 0,
                "marker": {
                    "size": 13,
                    "symbol": "diamond",
                    "color": "#FFFFFF",
                    "line": {"width": 2, "color": "#000000"},
                },
                "hovertemplate": "optimum α* = %{x:.4g}, β* = %{y:.4f}<extra></extra>",
            }
        )
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- the current race


def eigen_figure(
    run: Any, eigenvalues: Sequence[float], alpha: float, beta: float, style: Style
) -> Fig:
    """|⟨x_t − x*, q_i⟩| per eigendirection over the steps (log scale): measured and the
    theory's prediction from the same start."""
    palette = colormap.path_colors(len(eigenvalues), dark=style.dark)
    data: list[dict[str, Any]] = []
    steps = np.asarray(run.steps)
    for i, lam in enumerate(eigenvalues):
        c = palette[i][0]
        meas = np.abs(run.components[:, i])
        pred = np.abs(run.predicted[:, i])
        rate = float(theory.momentum_rate(alpha * float(lam), beta))
        name = f"λ{i + 1} = {float(lam):.3g}: rate {rate:.3f}"
        floor = 1e-300
        data.append(
            _line(
                steps,
                np.maximum(meas, floor),
                name + " (run)",
                c,
                hovertemplate="step %{x}: |error| = %{y:.3g}<extra></extra>",
            )
        )
        data.append(
            _line(
                steps,
                np.maximum(pred, floor),
                name + " (theory)",
                c,
                "dot",
                hovertemplate="step %{x}: theory %{y:.3g}<extra></extra>",
            )
        )
    layout = _layout(style, 400)
    top = max(float(np.abs(run.components).max()), 1e-12)
    tiny = np.abs(run.components).max(axis=1) < top * 1e-15
    end = int(steps[np.argmax(tiny)]) if tiny.any() else int(steps[-1])
    layout["xaxis"] = _axis(style, "step", range=[0, max(10, min(int(steps[-1]), end * 1.15))])
    layout["yaxis"] = _axis(
        style,
        "|error along eigenvector|",
        type="log",
        range=[math.log10(top) - 16, math.log10(top) + 0.5],
        exponentformat="power",
    )
    layout["title"] = {
        "text": f"The error on each eigendirection (α = {alpha:.3g}, β = {beta:.3g})",
        "x": 0.01,
        "font": {"size": style.font + 1},
    }
    return {"data": data, "layout": layout}


def gd_rate_figure(eigenvalues: Sequence[float], optimum: theory.Optimum, style: Style) -> Fig:
    """Gradient descent's rate |1 − αλ_i| against α for each eigenvalue and their maximum."""
    top = 1.25 * 2.0 / optimum.lam_min if optimum.kappa < 3 else 1.3 * optimum.gd_edge
    a = np.linspace(0.0, top, 400)
    palette = colormap.path_colors(len(eigenvalues), dark=style.dark)
    color = style.colors["font"]
    data = [
        _line(
            a,
            theory.gd_rate(a * float(lam)),
            f"|1 − αλ{i + 1}|, λ{i + 1} = {float(lam):.3g}",
            palette[i][0],
            hovertemplate="α = %{x:.4g}: %{y:.4f}<extra></extra>",
        )
        for i, lam in enumerate(eigenvalues)
    ]
    worst = theory.rate_on_spectrum(a, 0.0, eigenvalues)
    data.append(
        _line(
            a,
            worst,
            "rate = max over λ",
            color,
            hovertemplate="α = %{x:.4g}: rate %{y:.4f}<extra></extra>",
            line={"color": color, "width": 4},
        )
    )
    data.append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": [optimum.gd_lr],
            "y": [optimum.gd_rate],
            "name": f"optimum α = 2/(λ₁+λₙ) = {optimum.gd_lr:.3g}: rate (κ−1)/(κ+1) = "
            f"{optimum.gd_rate:.4f}",
            "marker": {
                "size": 12,
                "symbol": "diamond",
                "color": "#FFFFFF",
                "line": {"width": 2, "color": "#000000"},
            },
        }
    )
    layout = _layout(style, 400)
    layout["xaxis"] = _axis(style, "step size α", range=[0, top])
    layout["yaxis"] = _axis(style, "rate per step", range=[0, 1.5])
    layout["shapes"] = [
        {
            "type": "line",
            "x0": optimum.gd_edge,
            "x1": optimum.gd_edge,
            "y0": 0,
            "y1": 1.5,
            "line": {"color": color, "dash": "dash", "width": 1.5},
        },
        {
            "type": "line",
            "x0": 0,
            "x1": top,
            "y0": 1,
            "y1": 1,
            "line": {"color": style.colors["grid"], "width": 1},
        },
    ]
    layout["annotations"] = [
        {
            "text": f"edge 2/λmax = {optimum.gd_edge:.3g}",
            "x": optimum.gd_edge,
            "y": 1.45,
            "showarrow": False,
            "xanchor": "right",
            "font": {"size": style.font - 2},
        }
    ]
    layout["title"] = {
        "text": "Gradient descent's rate against its step size",
        "x": 0.01,
        "font": {"size": style.font + 1},
    }
    return {"data": data, "layout": layout}


def damping_figure(lam: float, alpha: float, beta_now: float, style: Style, steps: int = 60) -> Fig:
    """The error on one eigendirection, e_t / e_0, as β moves (a slider in the browser)."""
    h = alpha * lam
    betas = [round(v, 3) for v in np.linspace(0.0, 0.98, 50)]
    bc = float(theory.critical_beta(min(h, 4.0)))
    if 0 <= bc < 1:
        betas = sorted({*betas, round(bc, 4)})
    t = np.arange(steps + 1)
    color = style.colors["font"]
    start = min(range(len(betas)), key=lambda i: abs(betas[i] - beta_now))

    def title(b: float) -> str:
        return (
            f"One eigendirection (αλ = {h:.3g})<br><span style='font-size:{style.font - 2}px'>"
            f"β = {b:.3g}: {theory.regime(h, b, tol=1e-3)}, rate "
            f"{float(theory.momentum_rate(h, b)):.3f} per step</span>"
        )

    def path(b: float) -> list[float]:
        p = theory.eigen_path(h, b, steps)
        return [float(v) for v in np.clip(p, -3.0, 3.0)]

    data = [
        _line(
            t,
            path(betas[start]),
            "error e_t / e_0",
            "#E69F00",
            hovertemplate="step %{x}: %{y:.4f}<extra></extra>",
            mode="lines+markers",
            marker={"size": 4},
        ),
    ]
    if 0 <= bc < 1:
        data.append(
            _line(
                t,
                path(bc),
                f"critical damping β = (1 − √(αλ))² = {bc:.3g}",
                color,
                "dot",
                hoverinfo="skip",
            )
        )
    data.append(
        _line(
            t,
            theory.eigen_path(h, 0.0, steps).clip(-3, 3),
            "gradient descent (β = 0)",
            style.colors["muted"],
            "dash",
            hoverinfo="skip",
        )
    )
    layout = _layout(style, 430)
    layout["margin"]["b"] = 110
    layout["xaxis"] = _axis(style, "step", range=[0, steps])
    layout["yaxis"] = _axis(style, "e_t / e_0", range=[-1.5, 1.5])
    layout["title"] = {"text": title(betas[start]), "x": 0.01, "font": {"size": style.font}}
    layout["sliders"] = [
        {
            "active": start,
            "currentvalue": {"prefix": "β = ", "font": {"size": style.font - 1}},
            "pad": {"t": 36},
            "len": 1.0,
            "steps": [
                {
                    "label": f"{b:g}",
                    "method": "update",
                    "args": [{"y": [path(b)]}, {"title.text": title(b)}, [0]],
                }
                for b in betas
            ],
        }
    ]
    layout["margin"]["t"] = 64
    layout["legend"].update(
        {
            "orientation": "v",
            "x": 0.99,
            "xanchor": "right",
            "y": 0.99,
            "yanchor": "top",
            "bgcolor": "rgba(128,128,128,0.12)",
        }
    )
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- the range test


def range_figure(
    results: Sequence[Any],
    titles: Sequence[str],
    fstar: float | None,
    edge: float | None,
    style: Style,
) -> Fig:
    """Loss (above f* on a log axis when f* is known) against the learning rate of each step;
    each optimizer's suggestions marked."""
    data: list[dict[str, Any]] = []
    lows, highs = [], []
    for r, title in zip(results, titles, strict=True):
        c = colormap.optimizer_style(r.spec.optimizer, dark=style.dark)[0]
        y = r.read - fstar if fstar is not None else r.read
        if fstar is not None:
            y = np.where(y > 0, y, np.nan)
        data.append(
            _line(
                r.lrs,
                np.nan_to_num(y, nan=np.nan),
                title,
                c,
                hovertemplate="lr %{x:.3g}: loss"
                + (" − f*" if fstar is not None else "")
                + " %{y:.4g}<extra>"
                + title
                + "</extra>",
            )
        )
        data[-1]["y"] = [None if not math.isfinite(v) else v for v in y.tolist()]
        s = r.suggestion
        for lr, label, sym in (
            (s.steepest, "steepest", "triangle-down"),
            (s.minimum_tenth, "minimum ÷ 10", "circle"),
        ):
            if lr is None:
                continue
            j = int(np.argmin(np.abs(np.log10(r.lrs) - math.log10(lr))))
            yv = y[j] if math.isfinite(y[j]) else None
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers+text",
                    "x": [lr],
                    "y": [yv],
                    "text": [f"{power_label(lr) if lr < 1e-2 else f'{lr:.2g}'}"],
                    "textposition": "bottom center",
                    "textfont": {"color": c, "size": style.font - 2},
                    "name": f"{title}: {label} {lr:.3g}",
                    "marker": {
                        "symbol": sym,
                        "size": 13,
                        "color": c,
                        "line": {"width": 1.5, "color": style.colors["font"]},
                    },
                    "hovertemplate": f"{label}: lr = {lr:.4g}<extra>{title}</extra>",
                }
            )
        finite = y[np.isfinite(y)]
        if finite.size:
            lows.append(float(finite.min()))
            highs.append(float(finite.max()))
    layout = _layout(style, 460 + (40 if style.large_fonts else 0))
    lo = min(float(r.lrs[0]) for r in results)
    hi = max(float(r.lrs[-1]) for r in results)
    tv, tt = log_ticks(lo, hi)
    layout["xaxis"] = _axis(
        style,
        "learning rate of the step",
        type="log",
        range=[math.log10(lo), math.log10(hi)],
        tickvals=[10.0**v for v in tv],
        ticktext=tt,
    )
    if fstar is not None and lows:
        bottom = max(min(lows), max(highs) * 1e-16)
        layout["yaxis"] = _axis(
            style,
            "loss − f*",
            type="log",
            exponentformat="power",
            range=[math.log10(bottom) - 0.3, math.log10(max(highs)) + 0.3],
        )
    else:
        layout["yaxis"] = _axis(style, "loss")
    if edge is not None and lo <= edge <= hi:
        layout["shapes"].append(
            {
                "type": "line",
                "x0": edge,
                "x1": edge,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": style.colors["font"], "dash": "dash", "width": 1.5},
            }
        )
        layout["annotations"].append(
            {
                "text": f"2/λmax = {edge:.3g}",
                "x": math.log10(edge),
                "yref": "paper",
                "y": 1.0,
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": style.font - 2},
            }
        )
    return {"data": data, "layout": layout}

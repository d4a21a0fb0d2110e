"""Step-by-step maths of one weight of a network, with the run's own numbers. Pure Python.

The numbers come from :func:`optimizers.trace_lane`: the rule's own traced loop for one
coordinate, fed with the gradients that weight received in the run (the run hands them over
through ``minimize(observe=...)``). Names, symbols and the kind of each quantity (state or
derived) come from the optimizer's metadata, the formulas from ``Optimizer.algorithm``; the
numbers are typeset with the Explore page's helpers (app/explain.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

import optimizers
from app.explain import num
from optimizers import LaneTrace

_NAME = re.compile(r"([wb])\[(\d+)\]\[([\d,]+)\]")


def weight_tex(name: str) -> str:
    """``w[1][2,0]`` -> ``w^{(1)}_{2,0}``; ``b[2][0]`` -> ``b^{(2)}_{0}``."""
    m = _NAME.fullmatch(name)
    if not m:
        return rf"\mathrm{{{name}}}"
    kind, layer, idx = m.groups()
    return rf"{kind}^{{({layer})}}_{{{idx}}}"


@dataclass(frozen=True)
class Quantity:
    key: str
    symbol: optimizers.Symbol
    after: float
    before: float | None = None


@dataclass(frozen=True)
class WeightStep:
    """Step ``t`` of one weight: its value before and after, the gradient, the learning rate,
    the optimizer's state before and after, its derived quantities and the update."""

    optimizer: str
    name: str
    t: int
    before: float
    after: float
    grad: float
    lr: float
    update: float
    state: tuple[Quantity, ...]
    derived: tuple[Quantity, ...]
    algorithm: tuple[str, ...]
    hyper: dict[str, Any]


def weight_step(
    optimizer: str, hyper: dict[str, Any], lane: LaneTrace, name: str, t: int, lr: float
) -> WeightStep:
    """Read step ``t`` (1..lane.steps) of a replayed weight."""
    if not 1 <= t <= lane.steps:
        raise ValueError(f"step must be in [1, {lane.steps}]; got {t}")
    opt = optimizers.get(optimizer)
    state: list[Quantity] = []
    derived: list[Quantity] = []
    for key, arr in lane.trace.items():
        sym = opt.symbols.get(key)
        if key in ("grad", "update") or sym is None:
            continue
        after = float(arr[t - 1])
        if sym.kind == "state":
            before = float(arr[t - 2]) if t >= 2 else lane.initial.get(key)
            state.append(Quantity(key, sym, after, before))
        else:
            derived.append(Quantity(key, sym, after))
    return WeightStep(
        optimizer=opt.name,
        name=name,
        t=t,
        before=float(lane.params[t - 1]),
        after=float(lane.params[t]),
        grad=float(lane.trace["grad"][t - 1]),
        lr=float(lr),
        update=float(lane.trace["update"][t - 1]),
        state=tuple(state),
        derived=tuple(derived),
        algorithm=tuple(opt.algorithm(hyper)),
        hyper=dict(hyper),
    )


def _paren(v: float) -> str:
    text = num(v)
    return f"({text})" if text.startswith("-") else text


def hyper_line(ws: WeightStep) -> str:
    opt = optimizers.get(ws.optimizer)
    parts = []
    for h in opt.hypers:
        v = ws.hyper.get(h.name)
        if v is None or h.kind in ("bool", "choice") or isinstance(v, np.ndarray):
            continue
        sym = h.symbol or rf"\mathrm{{{h.name}}}"
        parts.append(rf"{sym} = {num(float(ws.lr if h.role == 'lr' else v))}")
    return r",\quad ".join(parts)


def weight_latex(ws: WeightStep, loss_before: float, loss_after: float) -> list[str]:
    """The step as LaTeX display lines: the rule, its settings, then this weight's numbers."""
    t = ws.t
    w = weight_tex(ws.name)
    lines = [r"\begin{aligned}" + r" \\ ".join(ws.algorithm) + r"\end{aligned}"]
    hl = hyper_line(ws)
    if hl:
        lines.append(hl)
    lines += [
        rf"\theta = {w}:\qquad \theta_{{{t - 1}}} = {num(ws.before)},\qquad "
        rf"L(\boldsymbol\theta_{{{t - 1}}}) = {num(loss_before)}",
        rf"g_{{{t}}} = \frac{{\partial L}}{{\partial {w}}}\Big|_{{\boldsymbol\theta_{{{t - 1}}}}}"
        rf" = {num(ws.grad)}",
    ]
    for q in ws.state:
        before = num(q.before) if q.before is not None else r"\text{(initial state)}"
        lines.append(
            rf"{q.symbol.at(str(t - 1))} = {before} \;\longrightarrow\; "
            rf"{q.symbol.at(str(t))} = {num(q.after)}"
        )
    for q in ws.derived:
        lines.append(rf"{q.symbol.at(str(t))} = {num(q.after)}")
    lines.append(
        rf"\theta_{{{t}}} = \theta_{{{t - 1}}} + \Delta\theta_{{{t}}} = {num(ws.before)} + "
        rf"{_paren(ws.update)} = {num(ws.after)},\qquad "
        rf"L(\boldsymbol\theta_{{{t}}}) = {num(loss_after)}"
    )
    return lines

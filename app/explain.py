"""Step-by-step maths of one optimizer step, with the run's own numbers.

Pure Python (no streamlit). Everything shown comes from a :class:`Trajectory` simulated with
``trace=True`` — the same core run that draws the path — so no update rule is implemented twice:
this module only reads the recorded gradient, the optimizer state before and after the step,
the derived quantities (bias corrections, per-coordinate effective learning rate, update) and the
positions, and typesets them. Every name, symbol and kind (state or derived) comes from the
optimizer's own metadata (``Optimizer.symbols``), every formula from ``Optimizer.algorithm``.

The three momentum conventions (torch, exponential average, learning rate inside) are run side
by side with ``optimizers.momentum.equivalent_lr`` so the page can show that they coincide.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import optimizers

CONVENTIONS = optimizers.momentum.CONVENTIONS
CONVENTION_TITLES = optimizers.momentum.CONVENTION_TITLES


# ---------------------------------------------------------------- numbers as LaTeX


def num(v: float, digits: int = 6) -> str:
    """A number for LaTeX: 6 significant digits, powers of ten written as ``\\times 10^{k}``."""
    v = float(v)
    if v == 0.0:
        return "0"
    if not math.isfinite(v):
        return r"\infty" if v > 0 else r"-\infty"
    text = f"{v:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return rf"{mant} \times 10^{{{int(exp)}}}"
    return text


def vec(v: Sequence[float] | np.ndarray) -> str:
    """A coordinate pair ``(a,\\ b)``; a scalar stays a scalar."""
    arr = np.atleast_1d(np.asarray(v, dtype=float))
    if arr.size == 1:
        return num(arr[0])
    return r"\left(" + r",\ ".join(num(a) for a in arr) + r"\right)"


# A number, not a sub/superscript (``b_{4}``, ``\beta_1^{4}``): those follow ``_``, ``^``, ``{``.
_NUM_RE = re.compile(r"(?<![\w^_{.])-?\d+(?:\.\d+)?(?: \\times 10\^\{-?\d+\})?")


def numbers_in(tex: str) -> list[float]:
    """Every number written by :func:`num` in ``tex`` (used by the tests to read LaTeX back)."""
    out = []
    for m in _NUM_RE.finditer(tex):
        text = m.group(0)
        if r"\times" in text:
            mant, exp = text.split(r" \times 10^{")
            out.append(float(mant) * 10.0 ** int(exp.rstrip("}")))
        else:
            out.append(float(text))
    return out


# ---------------------------------------------------------------- one step, as data


@dataclass(frozen=True)
class Quantity:
    """One traced quantity at step t: value before the step (state only) and after."""

    key: str
    symbol: optimizers.Symbol
    after: np.ndarray  # (2,) or ()
    before: np.ndarray | None = None  # None: derived quantity, or the state was still empty


@dataclass(frozen=True)
class StepMaths:
    """Everything shown for step ``t`` (1..T) of run ``k`` of one trajectory."""

    optimizer: str
    title: str
    t: int
    k: int
    axis: tuple[str, str]
    point_before: np.ndarray  # (2,)
    point_after: np.ndarray  # (2,)
    loss_before: float
    loss_after: float
    lr: float
    grad: np.ndarray | None  # (2,) the gradient the step used (mini-batch gradient with batches)
    state: tuple[Quantity, ...]
    derived: tuple[Quantity, ...]
    hyper: dict[str, Any] = field(default_factory=dict)
    algorithm: tuple[str, ...] = ()  # the rule's LaTeX for this run's settings
    plain_step: bool = False  # no optimizer state: the step is lr * g
    note: str = ""


def _at(arr: np.ndarray, i: int, k: int) -> np.ndarray:
    a = np.asarray(arr, dtype=float)
    return np.asarray(a[i, k] if a.ndim >= 2 else a[i])


def _hyper_value(hyper: Mapping[str, Any], name: str, k: int) -> Any:
    v = hyper.get(name)
    if isinstance(v, np.ndarray) and v.ndim == 1:
        return v[k].item()
    return v


def step_maths(traj: Any, t: int, k: int = 0, axis: tuple[str, str] = ("x", "y")) -> StepMaths:
    """Read step ``t`` (clamped to 1..T) of run ``k`` from a traced, fully recorded trajectory.

    ``traj.trace`` values are (T, K, 2) or (T, K), index t-1 holding step t; positions are
    (T+1, K, 2) with ``record="all"``.
    """
    if not traj.trace:
        raise ValueError("the trajectory has no trace: simulate it with trace=True")
    pos = np.asarray(traj.positions, dtype=float)  # (R, K, 2)
    steps = np.asarray(traj.steps)
    n_steps = int(np.asarray(traj.lr).shape[0])
    if len(steps) != n_steps + 1:
        raise ValueError("the step-by-step maths needs every step recorded (record='all')")
    if n_steps < 1:
        raise ValueError("the run has no steps to explain")
    t = int(min(max(t, 1), n_steps))
    opt = optimizers.get(traj.optimizer)
    symbols = opt.symbols
    state: list[Quantity] = []
    derived: list[Quantity] = []
    initial = getattr(traj, "trace_initial", {})
    for key, arr in traj.trace.items():
        sym = symbols.get(key)
        if key in ("grad", "update") or sym is None:
            continue
        after = _at(arr, t - 1, k)
        if sym.kind == "state":
            before: np.ndarray | None = None
            if t >= 2:
                before = _at(arr, t - 2, k)
            elif key in initial:
                before = _at(initial[key][None], 0, k)
            state.append(Quantity(key, sym, after, before))
        else:
            derived.append(Quantity(key, sym, after))
    hyper = {h.name: _hyper_value(traj.hyperparams, h.name, k) for h in opt.hypers}
    hyper = {n: v for n, v in hyper.items() if v is not None}
    div = int(np.asarray(traj.diverged_at)[k])
    note = ""
    if div >= 0 and t >= div:
        note = (
            f"This run left the plotted region at step {div}; its point was stopped at the edge "
            "and stays there."
        )
    return StepMaths(
        optimizer=opt.name,
        title=opt.title,
        t=t,
        k=k,
        axis=axis,
        point_before=pos[t - 1, k],
        point_after=pos[t, k],
        loss_before=float(np.asarray(traj.loss)[t - 1, k]),
        loss_after=float(np.asarray(traj.loss)[t, k]),
        lr=float(np.asarray(traj.lr)[t - 1, k]),
        grad=_at(traj.trace["grad"], t - 1, k) if "grad" in traj.trace else None,
        state=tuple(state),
        derived=tuple(derived),
        hyper=hyper,
        algorithm=tuple(opt.algorithm(traj.hyperparams)),
        plain_step=not state
        and opt.uses == "grad"
        and not hyper.get("weight_decay")
        and not hyper.get("maximize"),
        note=note,
    )


# ---------------------------------------------------------------- LaTeX


THETA = optimizers.Symbol(r"\theta", "the point")
GRAD = optimizers.Symbol("g", "the gradient")


def _sub(symbol: optimizers.Symbol, t: int | str) -> str:
    """``symbol`` at step ``t`` (``m_{5}``); unindexed symbols (``\\rho_\\infty``) as they are."""
    return symbol.at(str(t))


def _paren(v: float) -> str:
    """A number, in parentheses when negative (``0 + (-0.3)``)."""
    text = num(v)
    return f"({text})" if text.startswith("-") else text


def to_latex(m: StepMaths) -> list[str]:
    """The step as a list of LaTeX display equations (one ``st.latex`` each)."""
    t = m.t
    theta = THETA
    ax, ay = m.axis
    lines = [
        rf"{_sub(theta, t - 1)} = ({ax}, {ay}) = {vec(m.point_before)}, \qquad "
        rf"f({_sub(theta, t - 1)}) = {num(m.loss_before)}",
    ]
    if m.grad is not None:
        lines.append(rf"{_sub(GRAD, t)} = \nabla f({_sub(theta, t - 1)}) = {vec(m.grad)}")
    for q in m.state:
        before = vec(q.before) if q.before is not None else r"\text{(initial state)}"
        lines.append(
            rf"{_sub(q.symbol, t - 1)} = {before} \;\longrightarrow\; "
            rf"{_sub(q.symbol, t)} = {vec(q.after)}"
        )
    for q in m.derived:
        lines.append(rf"{_sub(q.symbol, t)} = {vec(q.after)}")
    delta = m.point_after - m.point_before
    if m.plain_step and m.grad is not None:
        for i, name in enumerate(m.axis):
            lines.append(
                rf"{name}_{{{t}}} = {name}_{{{t - 1}}} - \eta\, g_{{{name}}} = "
                rf"{num(m.point_before[i])} - {num(m.lr)} \times ({num(m.grad[i])}) = "
                rf"{num(m.point_after[i])}"
            )
    else:
        for i, name in enumerate(m.axis):
            lines.append(
                rf"{name}_{{{t}}} = {name}_{{{t - 1}}} + \Delta {name}_{{{t}}} = "
                rf"{num(m.point_before[i])} + {_paren(delta[i])} = {num(m.point_after[i])}"
            )
    lines.append(
        rf"{_sub(theta, t)} = {vec(m.point_after)}, \qquad f({_sub(theta, t)}) = "
        rf"{num(m.loss_after)}"
    )
    return lines


def hyper_line(m: StepMaths) -> str:
    """The hyperparameters in use, e.g. ``\\eta = 0.01,\\ \\beta_1 = 0.9``."""
    opt = optimizers.get(m.optimizer)
    parts = []
    for h in opt.hypers:
        v = m.hyper.get(h.name)
        if v is None or h.kind in ("bool", "choice"):
            continue
        sym = h.symbol or rf"\mathrm{{{h.name}}}"
        value = m.lr if h.role == "lr" else v
        parts.append(rf"{sym} = {num(float(value))}")
    return r",\quad ".join(parts)


def explain(traj: Any, t: int, k: int = 0, axis: tuple[str, str] = ("x", "y")) -> list[str]:
    """LaTeX lines for step ``t`` of run ``k``: the rule, the hyperparameters, then the numbers."""
    m = step_maths(traj, t, k, axis)
    head = [r"\begin{aligned}" + r" \\ ".join(m.algorithm) + r"\end{aligned}"]
    hl = hyper_line(m)
    return head + ([hl] if hl else []) + to_latex(m)


# ---------------------------------------------------------------- momentum conventions


def convention_lrs(lr: float, beta: float, source: str) -> dict[str, float]:
    """The learning rate each convention needs to trace the same path as ``lr`` in ``source``."""
    eq = optimizers.momentum.equivalent_lr
    return {c: float(eq(lr, beta, source, c)) for c in CONVENTIONS}


def convention_runs(
    surface: Any,
    start: Sequence[float] | np.ndarray,
    steps: int,
    lr: float,
    beta: float,
    source: str = "torch",
    **kwargs: Any,
) -> dict[str, tuple[float, Any]]:
    """Run "momentum" once per convention with matched learning rates: conv -> (lr, Trajectory).

    ``kwargs`` go to ``optimizers.simulate`` (batch_size, seed, ...).
    """
    out: dict[str, tuple[float, Any]] = {}
    for conv, lr_c in convention_lrs(lr, beta, source).items():
        traj = optimizers.simulate(
            surface,
            "momentum",
            np.asarray(start, dtype=float),
            steps,
            lr=lr_c,
            momentum=beta,
            convention=conv,
            **kwargs,
        )
        out[conv] = (lr_c, traj)
    return out


def max_relative_gap(runs: Mapping[str, tuple[float, Any]]) -> float:
    """Largest |p_c - p_ref| / max(1, |p_ref|) over conventions, steps and coordinates."""
    paths = [np.asarray(tr.positions, dtype=float) for _, tr in runs.values()]
    ref = paths[0]
    scale = np.maximum(1.0, np.abs(ref))
    return max(float(np.max(np.abs(p - ref) / scale)) for p in paths)


def conventions_latex(lr: float, beta: float, source: str = "torch") -> list[str]:
    """One line per convention: its rule and the learning rate that matches ``lr`` in ``source``."""
    lines = []
    momentum = optimizers.get("momentum")
    for conv, lr_c in convention_lrs(lr, beta, source).items():
        rule = momentum.algorithm({"convention": conv})[-2:]  # the velocity and the step
        lines.append(
            rf"\text{{{CONVENTION_TITLES[conv]}:}}\quad {rule[0]},\quad {rule[1]},"
            rf"\quad \eta = {num(lr_c)}"
        )
    lines.append(
        r"\eta_{\mathrm{torch}} = (1-\beta)\,\eta_{\mathrm{ema}} = \eta_{\mathrm{inside}}"
        r"\quad(\mu = \beta = \gamma)"
    )
    return lines

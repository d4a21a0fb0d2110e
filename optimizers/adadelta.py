"""Adadelta: steps sized by the RMS of past steps over the RMS of past gradients
(torch.optim.Adadelta).

    v <- ρ v + (1 - ρ) g²;   Δ = sqrt(u + ε) / sqrt(v + ε) · g;   u <- ρ u + (1 - ρ) Δ²
    θ <- θ - η Δ

Reference: Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from optimizers.base import (
    MAXIMIZE,
    Hyper,
    Optimizer,
    Rule,
    Step,
    Symbol,
    eps_hyper,
    gradient_lines,
    lr_hyper,
    wd_hyper,
)


class AdadeltaState(NamedTuple):
    square_avg: Any
    acc_delta: Any


def init(_h: Any) -> AdadeltaState:
    return AdadeltaState(0.0, 0.0)


def step(p: Any, g: Any, s: AdadeltaState, h: Any, _t: Any, lr: Any, xp: Any) -> Step:
    if h.maximize:
        g = -g
    g = g + h.weight_decay * p
    v = s.square_avg * h.rho + (1.0 - h.rho) * g * g
    std = xp.sqrt(v + h.eps)
    scale = xp.sqrt(s.acc_delta + h.eps) / std
    delta = scale * g
    u = s.acc_delta * h.rho + (1.0 - h.rho) * delta * delta
    trace = {"std": std, "delta": delta, "effective_lr": lr * scale}
    return Step(p + -lr * delta, AdadeltaState(v, u), trace)


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h)
    return [
        *lines,
        r"<square_avg>_t \leftarrow <rho>\,<square_avg>_{t-1} + (1-<rho>)\,<grad>_t^2,\quad "
        r"<std>_t = \sqrt{<square_avg>_t + <eps>}",
        r"<delta>_t \leftarrow \sqrt{<acc_delta>_{t-1} + <eps>}\,/\,<std>_t\ \cdot <grad>_t",
        r"<acc_delta>_t \leftarrow <rho>\,<acc_delta>_{t-1} + (1-<rho>)\,<delta>_t^2",
        r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<delta>_t",
    ]


RULE = Rule(
    state=AdadeltaState,
    init=init,
    step=step,
    algorithm=algorithm,
    symbols={
        "square_avg": Symbol("v", "a running mean of the squared gradients", "state"),
        "acc_delta": Symbol("u", "a running mean of the squared steps", "state"),
        "std": Symbol(r"\sigma", "the RMS of the gradients √(v + ε)"),
        "delta": Symbol(r"\Delta", "the step before the learning rate"),
        "effective_lr": Symbol(r"\eta^{\mathrm{eff}}", "the step per unit of gradient"),
    },
)

ADADELTA = Optimizer(
    name="adadelta",
    title="Adadelta",
    summary="steps sized by the RMS of past steps divided by the RMS of past gradients",
    hypers=(
        lr_hyper(1.0),
        Hyper(
            "rho",
            0.9,
            0.0,
            1.0,
            False,
            "decay of both running averages",
            symbol=r"\rho",
            role="rho",
        ),
        eps_hyper(1e-6),
        wd_hyper(),
        MAXIMIZE,
    ),
    rule=RULE,
    reference="Zeiler (2012), ADADELTA: An Adaptive Learning Rate Method; torch.optim.Adadelta",
    torch_class="torch.optim.Adadelta",
    notes="Not in the lessons; torch.optim.Adadelta's rule (rho range [0, 1]).",
)

OPTIMIZERS = (ADADELTA,)

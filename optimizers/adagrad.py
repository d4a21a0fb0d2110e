"""Adagrad: per-coordinate steps shrink with the sum of squared gradients (torch.optim.Adagrad).

    s <- s + g²                        (s starts at initial_accumulator_value)
    θ <- θ + (-η_t g) / (sqrt(s) + ε),     η_t = η / (1 + (t - 1) lr_decay)

Only the diagonal of the accumulated outer product is kept, as in torch and every practical
implementation. Reference: Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online
Learning and Stochastic Optimization", JMLR 12.
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


class AdagradState(NamedTuple):
    """The running sum of squared gradients."""

    sum: Any


def init(h: Any) -> AdagradState:
    return AdagradState(h.initial_accumulator_value)


def step(p: Any, g: Any, s: AdagradState, h: Any, t: Any, lr: Any, xp: Any) -> Step:
    if h.maximize:
        g = -g
    g = g + h.weight_decay * p
    clr = lr / (1.0 + (t - 1.0) * h.lr_decay)
    total = s.sum + g * g
    std = xp.sqrt(total) + h.eps
    trace = {"clr": clr, "std": std, "effective_lr": clr / std}
    return Step(p + (-clr * g) / std, AdagradState(total), trace)


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h)
    return [
        *lines,
        r"<clr>_t \leftarrow <lr> / \left(1 + (<t>-1)\,<lr_decay>\right)",
        r"<sum>_t \leftarrow <sum>_{t-1} + <grad>_t^2,\quad "
        r"<std>_t \leftarrow \sqrt{<sum>_t} + <eps>",
        r"<param>_t \leftarrow <param>_{t-1} - <clr>_t\,<grad>_t / <std>_t",
    ]


RULE = Rule(
    state=AdagradState,
    init=init,
    step=step,
    algorithm=algorithm,
    symbols={
        "sum": Symbol("s", "the sum of all squared gradients so far, per coordinate", "state"),
        "clr": Symbol(r"\eta", "the learning rate after lr_decay"),
        "std": Symbol(r"\delta", "the denominator √s + ε"),
        "effective_lr": Symbol(
            r"\eta^{\mathrm{eff}}", "the step per unit of gradient: η_t/(√s + ε)"
        ),
    },
)

ADAGRAD = Optimizer(
    name="adagrad",
    title="Adagrad",
    summary="each coordinate's step shrinks with the sum of all its past squared gradients",
    hypers=(
        lr_hyper(1e-2),
        Hyper(
            "lr_decay", 0.0, 0.0, 1.0, False, "lr_t = lr / (1 + (t−1)·lr_decay)", symbol=r"\gamma"
        ),
        wd_hyper(),
        Hyper(
            "initial_accumulator_value",
            0.0,
            0.0,
            10.0,
            False,
            "starting value of the sum of squared gradients",
        ),
        eps_hyper(1e-10),
        MAXIMIZE,
    ),
    rule=RULE,
    reference="Duchi, Hazan & Singer (2011), JMLR 12; torch.optim.Adagrad",
    torch_class="torch.optim.Adagrad",
    notes=(
        "The lesson “Neural Nets: Loss and Optimization” writes G_t as a full outer-product "
        "matrix, but its code (and torch) keep only the diagonal: one running sum per "
        "coordinate. torch's default ε is 1e-10."
    ),
)

OPTIMIZERS = (ADAGRAD,)

"""Adamax: Adam with the infinity norm in place of the RMS (torch.optim.Adamax).

    m <- lerp(m, g, 1 - β1);   u <- max(β2 u, |g| + ε)
    θ <- θ + (-(η / (1 - β1ᵗ)) m) / u

Reference: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", section 7.1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from optimizers.base import (
    MAXIMIZE,
    Optimizer,
    Rule,
    Step,
    Symbol,
    beta1_hyper,
    beta2_hyper,
    eps_hyper,
    gradient_lines,
    lr_hyper,
    wd_hyper,
)


class AdamaxState(NamedTuple):
    exp_avg: Any
    exp_inf: Any


def init(_h: Any) -> AdamaxState:
    return AdamaxState(0.0, 0.0)


def step(p: Any, g: Any, s: AdamaxState, h: Any, t: Any, lr: Any, xp: Any) -> Step:
    if h.maximize:
        g = -g
    g = g + h.weight_decay * p
    m = xp.lerp(s.exp_avg, g, 1.0 - h.beta1)
    u = xp.maximum(s.exp_inf * h.beta2, xp.abs(g) + h.eps)
    bias_correction1 = 1.0 - h.beta1**t
    clr = lr / bias_correction1
    trace = {"bias_correction1": bias_correction1, "clr": clr, "effective_lr": clr / u}
    return Step(p + (-clr * m) / u, AdamaxState(m, u), trace)


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h)
    return [
        *lines,
        r"<exp_avg>_t \leftarrow <beta1>\,<exp_avg>_{t-1} + (1-<beta1>)\,<grad>_t",
        r"<exp_inf>_t \leftarrow \max\left(<beta2>\,<exp_inf>_{t-1},\ |<grad>_t| + <eps>\right)",
        r"<bias_correction1>_t = 1-<beta1>^{<t>},\quad "
        r"<clr>_t = <lr> / <bias_correction1>_t",
        r"<param>_t \leftarrow <param>_{t-1} - <clr>_t\,<exp_avg>_t / <exp_inf>_t",
    ]


RULE = Rule(
    state=AdamaxState,
    init=init,
    step=step,
    algorithm=algorithm,
    symbols={
        "exp_avg": Symbol("m", "first moment: a running mean of the gradients", "state"),
        "exp_inf": Symbol("u", "a decaying maximum of |g| (the infinity norm)", "state"),
        "bias_correction1": Symbol("c^{(1)}", "1 − β₁ᵗ: corrects m for starting at zero"),
        "clr": Symbol(r"\eta", "the bias-corrected learning rate η/(1−β₁ᵗ)"),
        "effective_lr": Symbol(r"\eta^{\mathrm{eff}}", "the step per unit of first moment: η_t/u"),
    },
)

ADAMAX = Optimizer(
    name="adamax",
    title="Adamax",
    summary="Adam that divides by the largest recent gradient instead of the RMS",
    hypers=(lr_hyper(2e-3), beta1_hyper(), beta2_hyper(), eps_hyper(), wd_hyper(), MAXIMIZE),
    rule=RULE,
    reference="Kingma & Ba (2015), section 7.1; torch.optim.Adamax",
    torch_class="torch.optim.Adamax",
    notes="Not in the lessons; torch.optim.Adamax's rule (ε inside the max).",
)

OPTIMIZERS = (ADAMAX,)

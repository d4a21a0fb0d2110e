"""RAdam: Adam that starts as momentum and switches its adaptive step on once the variance of
the adaptive learning rate is tractable (torch.optim.RAdam).

    m <- lerp(m, g, 1 - β1);   v <- β2 v + (1 - β2) g²;   m̂ = m / (1 - β1ᵗ)
    ρ_∞ = 2 / (1 - β2) - 1;    ρ_t = ρ_∞ - 2 t β2ᵗ / (1 - β2ᵗ)
    ρ_t > 5:  θ <- θ - m̂ η (sqrt(1 - β2ᵗ) / (sqrt(v) + ε)) r_t,
              r_t = sqrt((ρ_t - 4)(ρ_t - 2) ρ_∞ / ((ρ_∞ - 4)(ρ_∞ - 2) ρ_t))
    else:     θ <- θ - m̂ η

Reference: Liu et al. (2020), "On the Variance of the Adaptive Learning Rate and Beyond", ICLR.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from optimizers.adam import DECOUPLED, weight_decay
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


class RAdamState(NamedTuple):
    exp_avg: Any
    exp_avg_sq: Any


def init(_h: Any) -> RAdamState:
    return RAdamState(0.0, 0.0)


def step(p: Any, g: Any, s: RAdamState, h: Any, t: Any, lr: Any, xp: Any) -> Step:
    p, g = weight_decay(p, g, h, lr)
    m = xp.lerp(s.exp_avg, g, 1.0 - h.beta1)
    v = s.exp_avg_sq * h.beta2 + (1.0 - h.beta2) * g * g
    bias_correction1 = 1.0 - h.beta1**t
    bias_correction2 = 1.0 - h.beta2**t
    m_hat = m / bias_correction1
    rho_inf = 2.0 / (1.0 - h.beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * (h.beta2**t) / bias_correction2
    on = rho_t > 5.0  # torch branches in Python: the rectified step only once it is defined
    rect = xp.sqrt(
        (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
    )
    adaptive = xp.sqrt(bias_correction2) / (xp.sqrt(v) + h.eps)
    new = xp.where(on, p - m_hat * lr * adaptive * rect, p - m_hat * lr)
    trace = {
        "bias_correction1": bias_correction1,
        "bias_correction2": bias_correction2,
        "m_hat": m_hat,
        "rho_inf": rho_inf,
        "rho_t": rho_t,
        "rect": xp.where(on, rect, 0.0),
        "adaptive_lr": xp.where(on, adaptive, 0.0),
    }
    return Step(new, RAdamState(m, v), trace)


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h)
    return [
        *lines,
        r"<exp_avg>_t \leftarrow <beta1>\,<exp_avg>_{t-1} + (1-<beta1>)\,<grad>_t",
        r"<exp_avg_sq>_t \leftarrow <beta2>\,<exp_avg_sq>_{t-1} + (1-<beta2>)\,<grad>_t^2",
        r"<bias_correction1>_t = 1-<beta1>^{<t>},\quad <bias_correction2>_t = 1-<beta2>^{<t>},"
        r"\quad <m_hat>_t \leftarrow <exp_avg>_t / <bias_correction1>_t",
        r"<rho_inf> = 2/(1-<beta2>) - 1,\quad "
        r"<rho_t>_t = <rho_inf> - 2\,<t>\,<beta2>^{<t>} / <bias_correction2>_t",
        r"\text{if } <rho_t>_t > 5:\ <rect>_t = \sqrt{\frac{(<rho_t>_t-4)(<rho_t>_t-2)\,<rho_inf>}"
        r"{(<rho_inf>-4)(<rho_inf>-2)\,<rho_t>_t}},\ "
        r"<adaptive_lr>_t = \sqrt{<bias_correction2>_t} / (\sqrt{<exp_avg_sq>_t} + <eps>),\ "
        r"<param>_t \leftarrow <param>_{t-1} - <m_hat>_t\,<lr>\,<adaptive_lr>_t\,<rect>_t",
        r"\text{else: } <param>_t \leftarrow <param>_{t-1} - <m_hat>_t\,<lr>",
    ]


RULE = Rule(
    state=RAdamState,
    init=init,
    step=step,
    algorithm=algorithm,
    symbols={
        "exp_avg": Symbol("m", "first moment: a running mean of the gradients", "state"),
        "exp_avg_sq": Symbol(
            "v", "second moment: a running mean of the squared gradients", "state"
        ),
        "bias_correction1": Symbol("c^{(1)}", "1 − β₁ᵗ: corrects m for starting at zero"),
        "bias_correction2": Symbol("c^{(2)}", "1 − β₂ᵗ: corrects v for starting at zero"),
        "m_hat": Symbol(r"\hat{m}", "the bias-corrected first moment"),
        "rho_inf": Symbol(
            r"\rho_\infty", "the length of the approximated moving average, at t → ∞", indexed=False
        ),
        "rho_t": Symbol(r"\rho", "the length of the approximated moving average at step t"),
        "rect": Symbol("r", "the variance rectification (0 while ρ_t ≤ 5: no adaptive step yet)"),
        "adaptive_lr": Symbol(r"\ell", "the adaptive factor √(1−β₂ᵗ)/(√v + ε) (0 while ρ_t ≤ 5)"),
    },
)

RADAM = Optimizer(
    name="radam",
    title="RAdam",
    summary="Adam that starts as momentum and switches its adaptive step on once it is reliable",
    hypers=(
        lr_hyper(1e-3),
        beta1_hyper(),
        beta2_hyper(),
        eps_hyper(),
        wd_hyper(),
        DECOUPLED,
        MAXIMIZE,
    ),
    rule=RULE,
    reference=(
        "Liu et al. (2020), On the Variance of the Adaptive Learning Rate and Beyond; "
        "torch.optim.RAdam"
    ),
    torch_class="torch.optim.RAdam",
    notes="Not in the lessons; torch.optim.RAdam's rule.",
)

OPTIMIZERS = (RADAM,)

"""NAdam: Adam with a Nesterov look-ahead on the first moment (torch.optim.NAdam).

    μ_t = β1 (1 - 0.5 · 0.96^(t ψ)),   Π_t = Π_{t-1} μ_t                   (ψ = momentum_decay)
    m <- lerp(m, g, 1 - β1);   v <- β2 v + (1 - β2) g²;   d = sqrt(v / (1 - β2ᵗ)) + ε
    θ <- θ + (-η (1 - μ_t) / (1 - Π_t)) g / d + (-η μ_{t+1} / (1 - Π_t μ_{t+1})) m / d

Reference: Dozat (2016), "Incorporating Nesterov Momentum into Adam", ICLR workshop.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from optimizers.adam import DECOUPLED, weight_decay
from optimizers.base import (
    MAXIMIZE,
    Hyper,
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


class NAdamState(NamedTuple):
    """Moments (per coordinate) and the running product of μ (one per run), as torch keeps."""

    exp_avg: Any
    exp_avg_sq: Any
    mu_product: Any


def init(_h: Any) -> NAdamState:
    return NAdamState(0.0, 0.0, 1.0)


def step(p: Any, g: Any, s: NAdamState, h: Any, t: Any, lr: Any, xp: Any) -> Step:
    bias_correction2 = 1.0 - h.beta2**t
    p, g = weight_decay(p, g, h, lr)
    mu = h.beta1 * (1.0 - 0.5 * 0.96 ** (t * h.momentum_decay))
    mu_next = h.beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1.0) * h.momentum_decay))
    mu_product = s.mu_product * mu
    m = xp.lerp(s.exp_avg, g, 1.0 - h.beta1)
    v = s.exp_avg_sq * h.beta2 + (1.0 - h.beta2) * g * g
    denom = xp.sqrt(v / bias_correction2) + h.eps
    grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
    m_coef = (-lr * mu_next) / (1.0 - mu_product * mu_next)
    new = p + (grad_coef * g) / denom
    new = new + (m_coef * m) / denom
    trace = {
        "mu": mu,
        "mu_next": mu_next,
        "bias_correction2": bias_correction2,
        "denom": denom,
        "grad_coef": grad_coef,
        "m_coef": m_coef,
    }
    return Step(new, NAdamState(m, v, mu_product), trace)


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h)
    return [
        *lines,
        r"<mu>_t \leftarrow <beta1>\left(1 - \tfrac12\, 0.96^{<t>\,<momentum_decay>}\right),\quad "
        r"<mu_next> \leftarrow <beta1>\left(1 - \tfrac12\, 0.96^{(<t>+1)\,<momentum_decay>}\right)",
        r"<mu_product>_t \leftarrow <mu_product>_{t-1}\,<mu>_t",
        r"<exp_avg>_t \leftarrow <beta1>\,<exp_avg>_{t-1} + (1-<beta1>)\,<grad>_t",
        r"<exp_avg_sq>_t \leftarrow <beta2>\,<exp_avg_sq>_{t-1} + (1-<beta2>)\,<grad>_t^2",
        r"<bias_correction2>_t = 1-<beta2>^{<t>},\quad "
        r"<denom>_t \leftarrow \sqrt{<exp_avg_sq>_t / <bias_correction2>_t} + <eps>",
        r"<grad_coef>_t = -<lr>\,(1-<mu>_t) / (1-<mu_product>_t),\quad "
        r"<m_coef>_t = -<lr>\,<mu_next> / (1-<mu_product>_t\,<mu_next>)",
        r"<param>_t \leftarrow <param>_{t-1} + <grad_coef>_t\,<grad>_t / <denom>_t"
        r" + <m_coef>_t\,<exp_avg>_t / <denom>_t",
    ]


RULE = Rule(
    state=NAdamState,
    init=init,
    step=step,
    algorithm=algorithm,
    run_fields=("mu_product",),
    symbols={
        "exp_avg": Symbol("m", "first moment: a running mean of the gradients", "state"),
        "exp_avg_sq": Symbol(
            "v", "second moment: a running mean of the squared gradients", "state"
        ),
        "mu_product": Symbol(
            r"\Pi", "the product of every μ so far (bias correction of m)", "state"
        ),
        "mu": Symbol(r"\mu", "this step's momentum coefficient, warming up to β₁"),
        "mu_next": Symbol(
            r"\mu_{t+1}", "the next step's momentum coefficient (the look-ahead)", indexed=False
        ),
        "bias_correction2": Symbol("c^{(2)}", "1 − β₂ᵗ: corrects v for starting at zero"),
        "denom": Symbol(r"\delta", "the denominator √(v/(1−β₂ᵗ)) + ε"),
        "grad_coef": Symbol(r"\gamma^{(g)}", "the weight of this step's gradient"),
        "m_coef": Symbol(r"\gamma^{(m)}", "the weight of the first moment (the look-ahead)"),
    },
)

NADAM = Optimizer(
    name="nadam",
    title="NAdam",
    summary="Adam whose momentum looks one step ahead, like Nesterov",
    hypers=(
        lr_hyper(2e-3),
        beta1_hyper(),
        beta2_hyper(),
        eps_hyper(),
        wd_hyper(),
        Hyper(
            "momentum_decay",
            4e-3,
            0.0,
            1.0,
            True,
            "how fast μ_t warms up to β₁",
            symbol=r"\psi",
        ),
        DECOUPLED,
        MAXIMIZE,
    ),
    rule=RULE,
    reference="Dozat (2016), Incorporating Nesterov Momentum into Adam; torch.optim.NAdam",
    torch_class="torch.optim.NAdam",
    notes="torch.optim.NAdam's schedule of μ_t (momentum_decay ψ = 0.004 by default).",
)

OPTIMIZERS = (NADAM,)

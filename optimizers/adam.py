"""Adam, AMSGrad and AdamW: torch.optim.Adam's single-tensor step, written once.

With g the gradient (negated if ``maximize``; plus λθ, or θ shrunk by (1 - ηλ) when the weight
decay is decoupled)::

    m <- lerp(m, g, 1 - β1)            v <- β2 v + (1 - β2) g²      (v_max <- max(v_max, v))
    θ <- θ + (-(η / (1 - β1ᵗ)) m) / (sqrt(v) / sqrt(1 - β2ᵗ) + ε)

torch's order of operations: βᵗ as a power of the step, the step size η / (1 - β1ᵗ) applied
by ``addcdiv``. AdamW is the same rule with decoupled weight decay (its own default λ = 0.01).

Reference: Kingma & Ba (2015) "Adam: A Method for Stochastic Optimization"; Reddi et al. (2018)
"On the Convergence of Adam and Beyond" (AMSGrad); Loshchilov & Hutter (2019) "Decoupled Weight
Decay Regularization" (AdamW).
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
    beta1_hyper,
    beta2_hyper,
    eps_hyper,
    gradient_lines,
    lr_hyper,
    wd_hyper,
)

AMSGRAD = Hyper(
    "amsgrad",
    False,
    None,
    None,
    False,
    "AMSGrad: divide by the largest second moment seen so far",
    kind="bool",
)
DECOUPLED = Hyper(
    "decoupled_weight_decay",
    False,
    None,
    None,
    False,
    "apply weight decay to the parameters directly (AdamW style)",
    kind="bool",
)


class AdamState(NamedTuple):
    """torch's state names: first moment, second moment, and its running maximum (AMSGrad)."""

    exp_avg: Any
    exp_avg_sq: Any
    max_exp_avg_sq: Any


def init(_h: Any) -> AdamState:
    return AdamState(0.0, 0.0, 0.0)


def weight_decay(p: Any, g: Any, h: Any, lr: Any) -> tuple[Any, Any]:
    """torch's first lines for the Adam family: maximize, then coupled or decoupled decay."""
    if h.maximize:
        g = -g
    if h.decoupled_weight_decay:
        return p * (1.0 - lr * h.weight_decay), g
    return p, g + h.weight_decay * p


def step(p: Any, g: Any, s: AdamState, h: Any, t: Any, lr: Any, xp: Any) -> Step:
    p, g = weight_decay(p, g, h, lr)
    m = xp.lerp(s.exp_avg, g, 1.0 - h.beta1)
    v = s.exp_avg_sq * h.beta2 + (1.0 - h.beta2) * g * g
    bias_correction1 = 1.0 - h.beta1**t
    bias_correction2 = 1.0 - h.beta2**t
    step_size = lr / bias_correction1
    vmax = xp.maximum(s.max_exp_avg_sq, v) if h.amsgrad else s.max_exp_avg_sq
    denom = xp.sqrt(vmax if h.amsgrad else v) / xp.sqrt(bias_correction2) + h.eps
    trace = {
        "bias_correction1": bias_correction1,
        "bias_correction2": bias_correction2,
        "m_hat": m / bias_correction1,
        "v_hat": (vmax if h.amsgrad else v) / bias_correction2,
        "denom": denom,
        "effective_lr": step_size / denom,
    }
    return Step(p + (-step_size * m) / denom, AdamState(m, v, vmax), trace)


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h)
    lines += [
        r"<exp_avg>_t \leftarrow <beta1>\,<exp_avg>_{t-1} + (1-<beta1>)\,<grad>_t",
        r"<exp_avg_sq>_t \leftarrow <beta2>\,<exp_avg_sq>_{t-1} + (1-<beta2>)\,<grad>_t^2",
        r"<bias_correction1>_t = 1-<beta1>^{<t>},\quad <bias_correction2>_t = 1-<beta2>^{<t>}",
        r"<m_hat>_t \leftarrow <exp_avg>_t / <bias_correction1>_t",
    ]
    if h.amsgrad:
        lines += [
            r"<max_exp_avg_sq>_t \leftarrow \max(<max_exp_avg_sq>_{t-1},\ <exp_avg_sq>_t)",
            r"<v_hat>_t \leftarrow <max_exp_avg_sq>_t / <bias_correction2>_t",
        ]
    else:
        lines.append(r"<v_hat>_t \leftarrow <exp_avg_sq>_t / <bias_correction2>_t")
    return [
        *lines,
        r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<m_hat>_t\,/\,"
        r"\left(\sqrt{<v_hat>_t} + <eps>\right)",
    ]


SYMBOLS = {
    "exp_avg": Symbol("m", "first moment: a running mean of the gradients", "state"),
    "exp_avg_sq": Symbol("v", "second moment: a running mean of the squared gradients", "state"),
    "max_exp_avg_sq": Symbol(r"v^{\max}", "AMSGrad: the largest second moment so far", "state"),
    "bias_correction1": Symbol("c^{(1)}", "1 − β₁ᵗ: corrects m for starting at zero"),
    "bias_correction2": Symbol("c^{(2)}", "1 − β₂ᵗ: corrects v for starting at zero"),
    "m_hat": Symbol(r"\hat{m}", "the bias-corrected first moment"),
    "v_hat": Symbol(r"\hat{v}", "the bias-corrected second moment"),
    "denom": Symbol(r"\delta", "the denominator √v̂ + ε, per coordinate"),
    "effective_lr": Symbol(
        r"\eta^{\mathrm{eff}}", "the step per unit of first moment: η/(1−β₁ᵗ) / (√v̂ + ε)"
    ),
}
RULE = Rule(state=AdamState, init=init, step=step, algorithm=algorithm, symbols=SYMBOLS)


def _entry(name: str, decoupled: bool) -> Optimizer:
    return Optimizer(
        name=name,
        title="AdamW" if decoupled else "Adam",
        summary=(
            "Adam with weight decay applied to the parameters directly, not through the gradient"
            if decoupled
            else "momentum on the gradient divided by a running RMS of the gradient, bias-corrected"
        ),
        hypers=(
            lr_hyper(1e-3),
            beta1_hyper(),
            beta2_hyper(),
            eps_hyper(),
            wd_hyper(1e-2 if decoupled else 0.0, decoupled=decoupled),
            AMSGRAD,
            MAXIMIZE,
            *(() if decoupled else (DECOUPLED,)),
        ),
        rule=RULE,
        reference=(
            "Loshchilov & Hutter (2019), Decoupled Weight Decay Regularization; torch.optim.AdamW"
            if decoupled
            else "Kingma & Ba (2015), Adam: A Method for Stochastic Optimization; torch.optim.Adam"
        ),
        torch_class="torch.optim.AdamW" if decoupled else "torch.optim.Adam",
        notes=(
            "The lesson “OPTIM” updates m from v_{t−1} and drops the bias correction; the "
            "lesson “Neural Nets: Loss and Optimization” puts ε inside the square root. This is "
            "torch.optim's rule: ε outside, both corrections."
        ),
        fixed={"decoupled_weight_decay": True} if decoupled else {},
    )


ADAM = _entry("adam", decoupled=False)
ADAMW = _entry("adamw", decoupled=True)
OPTIMIZERS = (ADAM, ADAMW)

"""RMSprop: divide by a running RMS of the gradient (torch.optim.RMSprop).

    v <- α v + (1 - α) g²
    a = sqrt(v - ḡ²) + ε   (centered, ḡ <- lerp(ḡ, g, 1 - α))      or      sqrt(v) + ε
    θ <- θ + (-η g) / a                               (momentum μ = 0)
    b <- μ b + g / a;  θ <- θ - η b                 (momentum μ > 0)

ε is added outside the square root (torch; the code of the lesson “Neural Nets: Loss and
Optimization” uses 1e-7, torch's default is 1e-8). Reference: Hinton, Srivastava & Swersky,
Neural Networks for Machine Learning, lecture 6e (2012); Graves (2013) for the centered form.
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


class RMSpropState(NamedTuple):
    """Running mean of g², running mean of g (centered), momentum buffer."""

    square_avg: Any
    grad_avg: Any
    momentum_buffer: Any


def init(_h: Any) -> RMSpropState:
    return RMSpropState(0.0, 0.0, 0.0)


def step(p: Any, g: Any, s: RMSpropState, h: Any, _t: Any, lr: Any, xp: Any) -> Step:
    if h.maximize:
        g = -g
    g = g + h.weight_decay * p
    w = 1.0 - h.alpha
    if h.centered:  # v − ḡ² is a small difference of large numbers: round like torch's kernels
        v = xp.fma(w * g, g, s.square_avg * h.alpha)
        gbar = xp.fma(w, g - s.grad_avg, s.grad_avg)
        avg = xp.sqrt(xp.fma(-gbar, gbar, v)) + h.eps
    else:
        v = s.square_avg * h.alpha + w * g * g
        gbar = s.grad_avg
        avg = xp.sqrt(v) + h.eps
    trace = {"avg": avg, "effective_lr": lr / avg}
    mu = h.momentum
    plain = p + (-lr * g) / avg
    if xp.is_zero(mu):
        return Step(plain, RMSpropState(v, gbar, s.momentum_buffer), trace)
    buf = s.momentum_buffer * mu + g / avg
    heavy = mu > 0.0  # torch: a zero momentum takes the plain step, per run
    new = xp.where(heavy, p + -lr * buf, plain)
    return Step(new, RMSpropState(v, gbar, xp.where(heavy, buf, s.momentum_buffer)), trace)


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h)
    lines.append(r"<square_avg>_t \leftarrow <alpha>\,<square_avg>_{t-1} + (1-<alpha>)\,<grad>_t^2")
    if h.centered:
        lines += [
            r"<grad_avg>_t \leftarrow <alpha>\,<grad_avg>_{t-1} + (1-<alpha>)\,<grad>_t",
            r"<avg>_t \leftarrow \sqrt{<square_avg>_t - (<grad_avg>_t)^2} + <eps>",
        ]
    else:
        lines.append(r"<avg>_t \leftarrow \sqrt{<square_avg>_t} + <eps>")
    if h.momentum:
        return [
            *lines,
            r"<momentum_buffer>_t \leftarrow <momentum>\,<momentum_buffer>_{t-1}"
            r" + <grad>_t / <avg>_t",
            r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<momentum_buffer>_t",
        ]
    return [*lines, r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<grad>_t / <avg>_t"]


RULE = Rule(
    state=RMSpropState,
    init=init,
    step=step,
    algorithm=algorithm,
    symbols={
        "square_avg": Symbol("v", "a running mean of the squared gradients", "state"),
        "grad_avg": Symbol(r"\bar{g}", "a running mean of the gradients (centered)", "state"),
        "momentum_buffer": Symbol("u", "the velocity of the scaled steps (momentum)", "state"),
        "avg": Symbol(r"\delta", "the denominator: the running RMS (or deviation) plus ε"),
        "effective_lr": Symbol(r"\eta^{\mathrm{eff}}", "the step per unit of gradient: η/δ"),
    },
)

RMSPROP = Optimizer(
    name="rmsprop",
    title="RMSprop",
    summary="divide each step by a running root-mean-square of recent gradients",
    hypers=(
        lr_hyper(1e-2),
        Hyper(
            "alpha",
            0.99,
            0.0,
            1.0,
            False,
            "decay of the running mean of squared gradients",
            symbol=r"\alpha",
            role="rho",
            open_high=True,
        ),
        eps_hyper(1e-8),
        wd_hyper(),
        Hyper(
            "momentum",
            0.0,
            0.0,
            1.0,
            False,
            "momentum on the scaled step (0 = none)",
            symbol=r"\mu",
            open_high=True,
        ),
        Hyper(
            "centered",
            False,
            None,
            None,
            False,
            "divide by the running variance instead of the raw second moment",
            kind="bool",
        ),
        MAXIMIZE,
    ),
    rule=RULE,
    reference="Hinton, Srivastava & Swersky (2012), lecture 6e; torch.optim.RMSprop",
    torch_class="torch.optim.RMSprop",
    notes=(
        "The code of the lesson “Neural Nets: Loss and Optimization” uses ε = 1e-7; torch's "
        "default is 1e-8, added outside the root."
    ),
)

OPTIMIZERS = (RMSPROP,)

"""Gradient descent, momentum and Nesterov momentum: one rule, torch.optim.SGD's.

With g the gradient (negated if ``maximize``, plus ``weight_decay`` θ)::

    b_1 = g;  b_t = μ b_{t-1} + (1 - τ) g          (τ = dampening; no buffer when μ = 0)
    d = g + μ b (nesterov)  or  d = b (momentum)  or  d = g (μ = 0)
    θ <- θ - η d

``sgd`` takes torch.optim.SGD's own keywords (momentum, dampening, nesterov); ``momentum`` and
``nesterov`` are named settings of the same rule for the UI. Momentum also runs in the two
other conventions of the lessons (``convention``): "ema" v <- β v + (1 - β) g, θ <- θ - η v,
and "lr_inside" v <- γ v + η g, θ <- θ - v (both from v = 0);
:func:`optimizers.momentum.equivalent_lr` converts the learning rate so all three give the
same path.

Reference: Robbins & Monro (1951); Polyak (1964); Sutskever et al. (2013) "On the importance of
initialization and momentum in deep learning"; torch.optim.SGD.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from optimizers.base import (
    MAXIMIZE,
    Hyper,
    Optimizer,
    Rule,
    Step,
    Symbol,
    gradient_lines,
    lr_hyper,
    wd_hyper,
)

CONVENTIONS = ("torch", "ema", "lr_inside")
CONVENTION_TITLES = {
    "torch": "torch.optim (lr outside)",
    "ema": "exponential average (“OPTIM”)",
    "lr_inside": "learning rate inside the velocity",
}


class SGDState(NamedTuple):
    """The momentum buffer (torch's ``momentum_buffer``); unused without momentum."""

    momentum_buffer: Any


def init(_h: Any) -> SGDState:
    return SGDState(0.0)


def step(p: Any, g: Any, s: SGDState, h: Any, t: Any, lr: Any, xp: Any) -> Step:
    if h.maximize:
        g = -g
    g = g + h.weight_decay * p
    mu = h.momentum
    if xp.is_zero(mu):
        return Step(p + -lr * g, s, {})
    if h.convention == "ema":
        buf = mu * s.momentum_buffer + (1.0 - mu) * g
        return Step(p + -lr * buf, SGDState(buf), {})
    if h.convention == "lr_inside":
        buf = mu * s.momentum_buffer + lr * g
        return Step(p + -buf, SGDState(buf), {})
    damp = xp.where(mu != 0.0, h.dampening, 0.0)  # torch keeps no buffer for a zero momentum
    buf = xp.where(t == 1.0, g, s.momentum_buffer * mu + (1.0 - damp) * g)
    d = g + mu * buf if h.nesterov else buf
    return Step(p + -lr * d, SGDState(buf), {"direction": d} if h.nesterov else {})


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h)
    if not h.momentum:
        return [*lines, r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<grad>_t"]
    if h.convention == "ema":
        return [
            *lines,
            r"<momentum_buffer>_t \leftarrow <momentum>\,<momentum_buffer>_{t-1}"
            r" + (1-<momentum>)\,<grad>_t",
            r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<momentum_buffer>_t",
        ]
    if h.convention == "lr_inside":
        return [
            *lines,
            r"<momentum_buffer>_t \leftarrow <momentum>\,<momentum_buffer>_{t-1}"
            r" + <lr>\,<grad>_t",
            r"<param>_t \leftarrow <param>_{t-1} - <momentum_buffer>_t",
        ]
    kept = r"(1-<dampening>)\," if h.dampening else ""
    lines += [
        r"<momentum_buffer>_1 \leftarrow <grad>_1,\quad <momentum_buffer>_t \leftarrow "
        r"<momentum>\,<momentum_buffer>_{t-1} + " + kept + r"<grad>_t",
    ]
    if h.nesterov:
        return [
            *lines,
            r"<direction>_t \leftarrow <grad>_t + <momentum>\,<momentum_buffer>_t",
            r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<direction>_t",
        ]
    return [*lines, r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<momentum_buffer>_t"]


RULE = Rule(
    state=SGDState,
    init=init,
    step=step,
    algorithm=algorithm,
    symbols={
        "momentum_buffer": Symbol("v", "the velocity: a decaying sum of past gradients", "state"),
        "direction": Symbol("d", "the step direction: the gradient plus μ times the velocity"),
    },
)

MOMENTUM = Hyper(
    "momentum",
    0.9,
    0.0,
    1.0,
    False,
    "how much of the previous velocity is kept",
    symbol=r"\mu",
    role="beta",
    open_high=True,
)
DAMPENING = Hyper(
    "dampening",
    0.0,
    0.0,
    1.0,
    False,
    "scales the new gradient by (1 − dampening) after the first step (torch convention only)",
    symbol=r"\tau",
)
NESTEROV_FLAG = Hyper(
    "nesterov", False, None, None, False, "Nesterov's look-ahead correction", kind="bool"
)
CONVENTION = Hyper(
    "convention",
    "torch",
    None,
    None,
    False,
    "torch: v=μv+g, θ−=ηv · ema (“OPTIM”): v=βv+(1−β)g, θ−=ηv · lr_inside: v=γv+ηg, θ−=v",
    kind="choice",
    choices=CONVENTIONS,
)


def check(h: dict[str, Any]) -> None:
    """torch.optim.SGD's own refusal: Nesterov needs a momentum and no dampening."""
    bad = np.any(np.asarray(h["momentum"]) <= 0) or np.any(np.asarray(h["dampening"]) != 0)
    if h.get("nesterov") and bad:
        raise ValueError("sgd: nesterov=True requires momentum > 0 and dampening = 0")


SGD = Optimizer(
    name="sgd",
    title="Gradient descent (SGD)",
    summary="step straight down the gradient; with mini-batches this is stochastic GD",
    hypers=(
        lr_hyper(1e-3),
        wd_hyper(),
        MAXIMIZE,
        Hyper("momentum", 0.0, 0.0, 1.0, False, MOMENTUM.help, symbol=r"\mu", open_high=True),
        DAMPENING,
        NESTEROV_FLAG,
    ),
    rule=RULE,
    reference="Robbins & Monro (1951); torch.optim.SGD",
    torch_class="torch.optim.SGD",
    notes=(
        "The batch GD, SGD and mini-batch GD of the lessons “Neural Network Optimization” and "
        "“OPTIM” are this rule with batch_size N, 1 or b."
    ),
    fixed={"convention": "torch"},
    hidden=("momentum", "dampening", "nesterov"),
    check=check,
)

MOMENTUM_OPT = Optimizer(
    name="momentum",
    title="Momentum",
    summary="a heavy ball: the velocity accumulates past gradients and carries through ravines",
    hypers=(lr_hyper(1e-3), MOMENTUM, DAMPENING, wd_hyper(), MAXIMIZE, CONVENTION),
    rule=RULE,
    reference="Polyak (1964); torch.optim.SGD(momentum=μ)",
    torch_class="torch.optim.SGD",
    notes=(
        "The lessons write momentum three ways: v=μv+g (torch, and the lesson "
        "“Neural Nets: Loss and Optimization”), v=βv+(1−β)g and v=γv+ηg, θ−=v (the lesson "
        "“OPTIM”). With matched learning rates (equivalent_lr) all give the same path; choose "
        "one with `convention`."
    ),
    fixed={"nesterov": False},
)

NESTEROV = Optimizer(
    name="nesterov",
    title="Nesterov momentum",
    summary="momentum that corrects with the gradient at the point it is about to reach",
    hypers=(lr_hyper(1e-3), MOMENTUM, wd_hyper(), MAXIMIZE),
    rule=RULE,
    reference="Nesterov (1983); Sutskever et al. (2013); torch.optim.SGD(nesterov=True)",
    torch_class="torch.optim.SGD",
    notes=(
        "torch stores the look-ahead point itself: θ_torch = x + ρv of the form "
        "v = ρv − α∇f(x + ρv), x += v, so the two give the same look-ahead path. The lesson "
        "“OPTIM” writes the look-ahead as θ + βv while v accumulates +α∇: the correct point "
        "is θ − βv."
    ),
    fixed={"nesterov": True, "convention": "torch", "dampening": 0.0},
)

OPTIMIZERS = (SGD, MOMENTUM_OPT, NESTEROV)

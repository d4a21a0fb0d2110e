"""Plain gradient descent, momentum and Nesterov momentum (torch.optim.SGD).

torch.optim.SGD, with g the gradient (after ``maximize`` and ``weight_decay``)::

    b <- g                              (first step)
    b <- mu b + (1 - dampening) g       (later steps)
    d = g + mu b   (nesterov)   or   d = b   (momentum)   or   d = g   (mu = 0)
    theta <- theta - lr d

Momentum also runs in the two other conventions of the lessons (hyperparameter ``convention``):
"ema" v <- beta v + (1 - beta) g, theta <- theta - lr v, and "lr_inside" v <- gamma v + lr g,
theta <- theta - v (both from v = 0). :func:`optimizers.momentum.equivalent_lr` converts the
learning rate so the three give the same path.

Reference: Polyak (1964), Sutskever et al. (2013) "On the importance of initialization and
momentum in deep learning"; torch.optim.SGD.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from optimizers.base import (
    MAXIMIZE,
    Hyper,
    Hypers,
    Loop,
    Optimizer,
    ScalarOracle,
    Scratch,
    VectorOracle,
    grad_pre,
    grad_pre_into,
    lr_hyper,
    wd_hyper,
)

CONVENTIONS = ("torch", "ema", "lr_inside")

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
CONVENTION = Hyper(
    "convention",
    "torch",
    None,
    None,
    False,
    "torch: v=μv+g, θ−=ηv · ema (lessons): v=βv+(1−β)g, θ−=ηv · lr_inside: v=γv+ηg, θ−=v",
    kind="choice",
    choices=CONVENTIONS,
)


class SGDState(NamedTuple):
    """Momentum buffer (2, n); ``started`` is False before the first step (torch sets b = g)."""

    buf: np.ndarray
    started: list[bool]


# ---------------------------------------------------------------- scalar kernels


def sgd_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    pre = grad_pre(h)
    grad, lrs, _, keep = loop
    for lr in lrs:
        gx, gy = grad(x, y)
        if pre is not None:
            gx, gy = pre(x, y, gx, gy)
        ux, uy = -lr * gx, -lr * gy
        x, y = x + ux, y + uy
        if tr is not None:
            tr.append(((ux, uy),))
        keep((x, y))


def momentum_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    """torch, ema and lr_inside conventions, and Nesterov (``_nesterov``), for one run."""
    pre = grad_pre(h)
    mu = float(h["momentum"])
    conv = h.get("convention", "torch")
    nesterov = bool(h.get("_nesterov", False))
    kept = 1.0 - (float(h.get("dampening", 0.0)) if mu != 0.0 else 0.0)
    new = 1.0 - mu  # the ema weight of the new gradient
    bx = by = 0.0
    first = True
    grad, lrs, _, keep = loop
    for lr in lrs:
        gx, gy = grad(x, y)
        if pre is not None:
            gx, gy = pre(x, y, gx, gy)
        if conv == "torch":
            if first:
                bx, by, first = gx, gy, False
            else:
                bx, by = bx * mu + kept * gx, by * mu + kept * gy
            if nesterov:
                ux, uy = -lr * (gx + mu * bx), -lr * (gy + mu * by)
            else:
                ux, uy = -lr * bx, -lr * by
        elif conv == "ema":
            bx, by = mu * bx + new * gx, mu * by + new * gy
            ux, uy = -lr * bx, -lr * by
        else:
            bx, by = mu * bx + lr * gx, mu * by + lr * gy
            ux, uy = -bx, -by
        x, y = x + ux, y + uy
        if tr is not None:
            tr.append(((bx, by), (ux, uy)))
        keep((x, y))


def nesterov_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    momentum_scalar(x, y, {**h, "_nesterov": True, "convention": "torch"}, tr, o, loop)


# ---------------------------------------------------------------- vector rules


class SGDVector:
    """Plain SGD on (2, n) arrays."""

    def init(self, p: np.ndarray, h: dict[str, Any]) -> SGDState:
        return SGDState(np.zeros_like(p), [False])

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: SGDState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        grad_pre_into(p, g, h, w)
        np.multiply(g, -lr, out=w.b)
        p += w.b


class MomentumVector(SGDVector):
    """Momentum (three conventions) and Nesterov on (2, n) arrays; same operations as the kernel."""

    def __init__(self, nesterov: bool = False) -> None:
        self.nesterov = nesterov

    def init(self, p: np.ndarray, h: dict[str, Any]) -> SGDState:
        mu = h["momentum"]
        damp = h.get("dampening", 0.0)
        h["_keep"] = 1.0 - np.where(mu != 0.0, damp, 0.0)
        h["_new"] = 1.0 - mu
        return SGDState(np.zeros_like(p), [False])

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: SGDState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        grad_pre_into(p, g, h, w)
        mu, b = h["momentum"], s.buf
        conv = "torch" if self.nesterov else h.get("convention", "torch")
        if conv == "torch":
            if not s.started[0]:
                np.copyto(b, g)
                s.started[0] = True
            else:
                b *= mu
                np.multiply(h["_keep"], g, out=w.a)
                b += w.a
            if self.nesterov:
                np.multiply(mu, b, out=w.a)
                np.add(w.a, g, out=w.a)
                np.multiply(w.a, -lr, out=w.b)
            else:
                np.multiply(b, -lr, out=w.b)
        elif conv == "ema":
            b *= mu
            np.multiply(h["_new"], g, out=w.a)
            b += w.a
            np.multiply(b, -lr, out=w.b)
        else:
            b *= mu
            np.multiply(lr, g, out=w.a)
            b += w.a
            np.negative(b, out=w.b)
        p += w.b


# ---------------------------------------------------------------- metadata

_UPDATE = {"update": r"\Delta\theta_t"}

SGD = Optimizer(
    name="sgd",
    title="Gradient descent (SGD)",
    summary="step straight down the gradient; with mini-batches this is stochastic GD",
    hypers=(lr_hyper(1e-3), wd_hyper(), MAXIMIZE),
    update_tex=r"\theta_t = \theta_{t-1} - \eta\, g_t",
    reference="Robbins & Monro (1951); torch.optim.SGD",
    torch_class="torch.optim.SGD",
    trace_symbols={"grad": "g_t", **_UPDATE},
    notes="The lessons' batch GD, SGD and mini-batch GD are this rule with batch_size N, 1 or b.",
    scalar=sgd_scalar,
    vector=SGDVector(),
)

MOMENTUM_OPT = Optimizer(
    name="momentum",
    title="Momentum",
    summary="a heavy ball: the velocity accumulates past gradients and carries through ravines",
    hypers=(lr_hyper(1e-3), MOMENTUM, DAMPENING, wd_hyper(), MAXIMIZE, CONVENTION),
    update_tex=(r"b_t = \mu b_{t-1} + (1-\tau) g_t,\quad \theta_t = \theta_{t-1} - \eta\, b_t"),
    reference="Polyak (1964); torch.optim.SGD(momentum=μ)",
    torch_class="torch.optim.SGD",
    trace_symbols={"grad": "g_t", "momentum_buffer": "b_t", **_UPDATE},
    notes=(
        "The lessons write momentum three ways: v=μv+g (torch, 003), v=βv+(1−β)g (002, an "
        "average) and v=γv+ηg, θ−=v (002). With matched learning rates (equivalent_lr) all give "
        "the same path; choose one with `convention`."
    ),
    scalar=momentum_scalar,
    vector=MomentumVector(),
)

NESTEROV = Optimizer(
    name="nesterov",
    title="Nesterov momentum",
    summary="momentum that corrects with the gradient at the point it is about to reach",
    hypers=(lr_hyper(1e-3), MOMENTUM, wd_hyper(), MAXIMIZE),
    update_tex=(r"b_t = \mu b_{t-1} + g_t,\quad \theta_t = \theta_{t-1} - \eta\,(g_t + \mu b_t)"),
    reference="Nesterov (1983); Sutskever et al. (2013); torch.optim.SGD(nesterov=True)",
    torch_class="torch.optim.SGD",
    trace_symbols={"grad": "g_t", "momentum_buffer": "b_t", **_UPDATE},
    notes=(
        "torch stores the look-ahead point itself: θ_torch = x + ρv of the lessons' form "
        "v = ρv − α∇f(x + ρv), x += v, so the two give the same look-ahead path. Lesson 002 "
        "writes the look-ahead as θ + βv while v accumulates +α∇: the correct point is θ − βv."
    ),
    scalar=nesterov_scalar,
    vector=MomentumVector(nesterov=True),
)

OPTIMIZERS = (SGD, MOMENTUM_OPT, NESTEROV)

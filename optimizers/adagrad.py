"""Adagrad (torch.optim.Adagrad): per-coordinate steps shrink with the sum of squared gradients.

    s <- s + g^2                      (s starts at initial_accumulator_value)
    theta <- theta - lr_t g / (sqrt(s) + eps),   lr_t = lr / (1 + (t - 1) lr_decay)

Only the diagonal of the accumulated outer product is kept (as in torch and every practical
implementation). Reference: Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online
Learning and Stochastic Optimization", JMLR 12.
"""

from __future__ import annotations

import math
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
    eps_hyper,
    grad_pre,
    grad_pre_into,
    lr_hyper,
    wd_hyper,
)


class AdagradState(NamedTuple):
    """Sum of squared gradients, (2, n)."""

    sum: np.ndarray


def adagrad_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    pre = grad_pre(h)
    decay, eps = float(h["lr_decay"]), float(h["eps"])
    sx = sy = float(h["initial_accumulator_value"])
    sqrt = math.sqrt
    grad, lrs, _, keep = loop
    for t, lr in enumerate(lrs, 1):
        gx, gy = grad(x, y)
        if pre is not None:
            gx, gy = pre(x, y, gx, gy)
        clr = lr / (1 + (t - 1) * decay)
        sx, sy = sx + gx * gx, sy + gy * gy
        dx, dy = sqrt(sx) + eps, sqrt(sy) + eps
        ux, uy = -clr * gx / dx, -clr * gy / dy
        x, y = x + ux, y + uy
        if tr is not None:
            tr.append(((sx, sy), (clr / dx, clr / dy), (ux, uy)))
        keep((x, y))


class AdagradVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> AdagradState:
        return AdagradState(np.zeros_like(p) + h["initial_accumulator_value"])

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: AdagradState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, b, c, _ = w
        grad_pre_into(p, g, h, w)
        np.multiply(t - 1, h["lr_decay"], out=c)
        np.add(1, c, out=c)
        np.divide(lr, c, out=c)
        np.negative(c, out=c)
        np.multiply(g, g, out=a)
        s.sum[...] += a
        np.sqrt(s.sum, out=a)
        a += h["eps"]
        np.multiply(c, g, out=b)
        b /= a
        p += b


ADAGRAD = Optimizer(
    name="adagrad",
    title="Adagrad",
    summary="each coordinate's step shrinks with the sum of all its past squared gradients",
    hypers=(
        lr_hyper(1e-2),
        Hyper("lr_decay", 0.0, 0.0, 1.0, False, "lr_t = lr / (1 + (t−1)·lr_decay)"),
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
    update_tex=(
        r"s_t = s_{t-1} + g_t^2,\quad "
        r"\theta_t = \theta_{t-1} - \frac{\eta_t\, g_t}{\sqrt{s_t} + \epsilon}"
    ),
    reference="Duchi, Hazan & Singer (2011), JMLR 12; torch.optim.Adagrad",
    torch_class="torch.optim.Adagrad",
    trace_symbols={
        "grad": "g_t",
        "sum": "s_t",
        "effective_lr": r"\frac{\eta_t}{\sqrt{s_t}+\epsilon}",
        "update": r"\Delta\theta_t",
    },
    notes=(
        "Lesson 003 writes G_t as a full outer-product matrix, but its code (and torch) keep "
        "only the diagonal: one running sum per coordinate. torch's default ε is 1e-10."
    ),
    scalar=adagrad_scalar,
    vector=AdagradVector(),
)

OPTIMIZERS = (ADAGRAD,)

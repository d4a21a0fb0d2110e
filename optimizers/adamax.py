"""Adamax (torch.optim.Adamax): Adam with the infinity norm in place of the RMS.

    m <- lerp(m, g, 1 - beta1);  u <- max(beta2 u, |g| + eps)
    theta <- theta - lr / (1 - beta1^t) * m / u

Reference: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", section 7.1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from optimizers.base import (
    MAXIMIZE,
    Hypers,
    Loop,
    Optimizer,
    ScalarOracle,
    Scratch,
    VectorOracle,
    beta1_hyper,
    beta2_hyper,
    eps_hyper,
    grad_pre,
    grad_pre_into,
    lerp_into,
    lerp_mode,
    lr_hyper,
    wd_hyper,
)


class AdamaxState(NamedTuple):
    exp_avg: np.ndarray  # (2, n)
    exp_inf: np.ndarray  # (2, n)
    beta1_pow: np.ndarray  # (n,)


def adamax_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    pre = grad_pre(h)
    b1, b2, eps = float(h["beta1"]), float(h["beta2"]), float(h["eps"])
    w1 = 1.0 - b1
    c1, low1 = 1.0 - w1, w1 < 0.5
    mx = my = ux_ = uy_ = 0.0
    p1 = 1.0
    grad, lrs, _, keep = loop
    for lr in lrs:
        gx, gy = grad(x, y)
        if pre is not None:
            gx, gy = pre(x, y, gx, gy)
        if low1:
            mx, my = mx + w1 * (gx - mx), my + w1 * (gy - my)
        else:
            mx, my = gx - (gx - mx) * c1, gy - (gy - my) * c1
        ax, ay = ux_ * b2, uy_ * b2
        bx, by = abs(gx) + eps, abs(gy) + eps
        ux_, uy_ = (ax if ax >= bx else bx), (ay if ay >= by else by)
        p1 *= b1
        clr = lr / (1 - p1)
        dx, dy = -clr * mx / ux_, -clr * my / uy_
        x, y = x + dx, y + dy
        if tr is not None:
            tr.append(((mx, my), (ux_, uy_), (clr / ux_, clr / uy_), (dx, dy)))
        keep((x, y))


class AdamaxVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> AdamaxState:
        h["_w1"] = 1.0 - h["beta1"]
        h["_lerp1"] = lerp_mode(h["_w1"])
        return AdamaxState(np.zeros_like(p), np.zeros_like(p), np.ones(np.shape(h["beta1"])))

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: AdamaxState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, b, c, _ = w
        grad_pre_into(p, g, h, w)
        lerp_into(s.exp_avg, g, h["_w1"], a, h["_lerp1"])
        s.exp_inf[...] *= h["beta2"]
        np.abs(g, out=a)
        a += h["eps"]
        np.maximum(s.exp_inf, a, out=s.exp_inf)
        np.multiply(s.beta1_pow, h["beta1"], out=s.beta1_pow)
        np.subtract(1, s.beta1_pow, out=c)
        np.divide(lr, c, out=c)
        np.negative(c, out=c)
        np.multiply(c, s.exp_avg, out=b)
        b /= s.exp_inf
        p += b


ADAMAX = Optimizer(
    name="adamax",
    title="Adamax",
    summary="Adam that divides by the largest recent gradient instead of the RMS",
    hypers=(lr_hyper(2e-3), beta1_hyper(), beta2_hyper(), eps_hyper(), wd_hyper(), MAXIMIZE),
    update_tex=(
        r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\ "
        r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon),\ "
        r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\frac{m_t}{u_t}"
    ),
    reference="Kingma & Ba (2015), section 7.1; torch.optim.Adamax",
    torch_class="torch.optim.Adamax",
    trace_symbols={
        "grad": "g_t",
        "exp_avg": "m_t",
        "exp_inf": "u_t",
        "effective_lr": r"\frac{\eta}{(1-\beta_1^t)\,u_t}",
        "update": r"\Delta\theta_t",
    },
    notes="Not in the lessons; torch.optim.Adamax's rule (ε inside the max).",
    scalar=adamax_scalar,
    vector=AdamaxVector(),
)

OPTIMIZERS = (ADAMAX,)

"""RAdam (torch.optim.RAdam): Adam whose adaptive step is switched on once its variance is tame.

    m <- lerp(m, g, 1 - beta1);  v <- beta2 v + (1 - beta2) g^2;  m_hat = m / (1 - beta1^t)
    rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
    rho_t > 5:  theta <- theta - lr m_hat r_t sqrt(1 - beta2^t) / (sqrt(v) + eps)
                r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
    otherwise:  theta <- theta - lr m_hat          (plain momentum while rho_t is small)

Reference: Liu et al. (2020), "On the Variance of the Adaptive Learning Rate and Beyond", ICLR.
"""

from __future__ import annotations

import math
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
from optimizers.nadam import DECOUPLED


class RAdamState(NamedTuple):
    exp_avg: np.ndarray  # (2, n)
    exp_avg_sq: np.ndarray  # (2, n)
    beta1_pow: np.ndarray  # (n,)
    beta2_pow: np.ndarray  # (n,)


def radam_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    decoupled = bool(h["decoupled_weight_decay"])
    pre = grad_pre({**h, "_decoupled": decoupled})
    b1, b2, eps = float(h["beta1"]), float(h["beta2"]), float(h["eps"])
    wd = float(h["weight_decay"]) if decoupled else 0.0
    w1, w2 = 1.0 - b1, 1.0 - b2
    c1, low1 = 1.0 - w1, w1 < 0.5
    rho_inf = 2 / (1 - b2) - 1
    sqrt = math.sqrt
    mx = my = vx = vy = 0.0
    p1 = p2 = 1.0
    grad, lrs, _, keep = loop
    for t, lr in enumerate(lrs, 1):
        gx, gy = grad(x, y)
        ox, oy = x, y  # the trace's update includes the decoupled decay
        if wd != 0.0:
            f = 1.0 - lr * wd
            x, y = x * f, y * f
        if pre is not None:
            gx, gy = pre(x, y, gx, gy)
        if low1:
            mx, my = mx + w1 * (gx - mx), my + w1 * (gy - my)
        else:
            mx, my = gx - (gx - mx) * c1, gy - (gy - my) * c1
        vx, vy = vx * b2 + w2 * gx * gx, vy * b2 + w2 * gy * gy
        p1 *= b1
        p2 *= b2
        bc1, bc2 = 1.0 - p1, 1.0 - p2
        hx, hy = mx / bc1, my / bc1
        rho_t = rho_inf - 2 * t * p2 / bc2
        if rho_t > 5.0:
            rect = sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            s2 = sqrt(bc2)
            ax, ay = s2 / (sqrt(vx) + eps), s2 / (sqrt(vy) + eps)
            ux, uy = -(hx * lr * ax * rect), -(hy * lr * ay * rect)
        else:
            rect = ax = ay = 0.0
            ux, uy = -(hx * lr), -(hy * lr)
        x, y = x + ux, y + uy
        if tr is not None:
            tr.append(
                (
                    (mx, my),
                    (vx, vy),
                    rho_t,
                    rect,
                    (lr * ax * rect, lr * ay * rect),
                    (x - ox, y - oy),
                )
            )
        keep((x, y))


class RAdamVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> RAdamState:
        h["_decoupled"] = h["decoupled_weight_decay"]
        h["_w1"], h["_w2"] = 1.0 - h["beta1"], 1.0 - h["beta2"]
        h["_lerp1"] = lerp_mode(h["_w1"])
        h["_rho_inf"] = 2 / (1 - h["beta2"]) - 1
        z = np.zeros_like(p)
        b1, b2 = np.shape(h["beta1"]), np.shape(h["beta2"])
        return RAdamState(z, z.copy(), np.ones(b1), np.ones(b2))

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: RAdamState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, b = w.a, w.b
        if h["_decoupled"]:
            p *= 1.0 - lr * h["weight_decay"]
        grad_pre_into(p, g, h, w)
        m, v = s.exp_avg, s.exp_avg_sq
        lerp_into(m, g, h["_w1"], a, h["_lerp1"])
        v *= h["beta2"]
        np.multiply(h["_w2"], g, out=a)
        a *= g
        v += a
        np.multiply(s.beta1_pow, h["beta1"], out=s.beta1_pow)
        np.multiply(s.beta2_pow, h["beta2"], out=s.beta2_pow)
        bc1, bc2 = 1.0 - s.beta1_pow, 1.0 - s.beta2_pow
        rho_inf = h["_rho_inf"]
        rho_t = rho_inf - 2 * t * s.beta2_pow / bc2
        on = rho_t > 5.0
        rect = np.sqrt(
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        )
        np.divide(m, bc1, out=b)  # m_hat
        b *= lr
        if on.any():
            np.sqrt(v, out=a)
            a += h["eps"]
            np.divide(np.sqrt(bc2), a, out=a)
            a *= b
            a *= rect
            np.copyto(b, a, where=on)
        p -= b


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
    update_tex=(
        r"\hat m_t = \frac{m_t}{1-\beta_1^t},\ "
        r"\theta_t = \theta_{t-1} - \eta\,\hat m_t\, r_t "
        r"\frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon}"
        r"\ \text{if}\ \rho_t > 5,\ \text{else}\ \theta_{t-1} - \eta\,\hat m_t"
    ),
    reference=(
        "Liu et al. (2020), On the Variance of the Adaptive Learning Rate and Beyond; "
        "torch.optim.RAdam"
    ),
    torch_class="torch.optim.RAdam",
    trace_symbols={
        "grad": "g_t",
        "exp_avg": "m_t",
        "exp_avg_sq": "v_t",
        "rho_t": r"\rho_t",
        "rect": "r_t",
        "effective_lr": r"\eta\, r_t \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon}",
        "update": r"\Delta\theta_t",
    },
    notes="Not in the lessons; torch.optim.RAdam's rule.",
    scalar=radam_scalar,
    vector=RAdamVector(),
)

OPTIMIZERS = (RADAM,)

"""RMSprop (torch.optim.RMSprop): divide by a running RMS of the gradient.

    v <- alpha v + (1 - alpha) g^2
    a = sqrt(v - gbar^2) + eps  (centered, gbar <- lerp(gbar, g, 1 - alpha))  or  sqrt(v) + eps
    theta <- theta - lr g / a                           (momentum = 0)
    b <- momentum b + g / a; theta <- theta - lr b     (momentum > 0)

ε is added outside the square root (torch; lesson 003's code uses 1e-7, torch's default is 1e-8).
Reference: Hinton, Srivastava & Swersky, Neural Networks for Machine Learning, lecture 6e (2012);
Graves (2013) for the centered form.
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
    fma,
    grad_pre,
    grad_pre_into,
    lr_hyper,
    wd_hyper,
)


class RMSpropState(NamedTuple):
    """Running mean of g² and of g (centered), momentum buffer; all (2, n)."""

    square_avg: np.ndarray
    grad_avg: np.ndarray
    momentum_buffer: np.ndarray


def _nan_sqrt(v: float) -> float:
    return math.sqrt(v) if v >= 0.0 else math.nan


def rmsprop_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    pre = grad_pre(h)
    alpha, eps, mom = float(h["alpha"]), float(h["eps"]), float(h["momentum"])
    centered = bool(h["centered"])
    w = 1.0 - alpha
    sqrt = math.sqrt
    vx = vy = ax = ay = bx = by = 0.0
    grad, lrs, _, keep = loop
    for lr in lrs:
        gx, gy = grad(x, y)
        if pre is not None:
            gx, gy = pre(x, y, gx, gy)
        if centered:  # v ≈ ḡ²: round like torch's fused kernels (see base.fma)
            vx, vy = fma(w * gx, gx, vx * alpha), fma(w * gy, gy, vy * alpha)
            ax, ay = fma(w, gx - ax, ax), fma(w, gy - ay, ay)
            dx, dy = _nan_sqrt(fma(-ax, ax, vx)) + eps, _nan_sqrt(fma(-ay, ay, vy)) + eps
        else:
            vx, vy = vx * alpha + w * gx * gx, vy * alpha + w * gy * gy
            dx, dy = sqrt(vx) + eps, sqrt(vy) + eps
        if mom > 0.0:  # torch's param.add_(buf, alpha=-lr) is fused; see base.fma
            bx, by = bx * mom + gx / dx, by * mom + gy / dy
            nx, ny = fma(-lr, bx, x), fma(-lr, by, y)
        else:
            nx, ny = x + -lr * gx / dx, y + -lr * gy / dy
        ux, uy = nx - x, ny - y
        x, y = nx, ny
        if tr is not None:
            tr.append(((vx, vy), (lr / dx, lr / dy), (ux, uy)))
        keep((x, y))


class RMSpropVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> RMSpropState:
        h["_w"] = 1.0 - h["alpha"]
        h["_heavy"] = np.asarray(h["momentum"] > 0.0)
        z = np.zeros_like(p)
        return RMSpropState(z, z.copy(), z.copy())

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: RMSpropState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, b, _, _ = w
        grad_pre_into(p, g, h, w)
        v = s.square_avg
        if h["centered"]:  # as in the kernel: torch's fused rounding
            np.copyto(v, fma(h["_w"] * g, g, v * h["alpha"]))
            ga = s.grad_avg
            np.copyto(ga, fma(h["_w"], g - ga, ga))
            np.sqrt(fma(-ga, ga, v), out=a)
        else:
            v *= h["alpha"]
            np.multiply(h["_w"], g, out=a)
            a *= g
            v += a
            np.sqrt(v, out=a)
        a += h["eps"]
        heavy = h["_heavy"]
        if not heavy.all():
            np.multiply(-lr, g, out=b)
            b /= a
            b += p
        if heavy.any():
            buf = s.momentum_buffer
            buf *= h["momentum"]
            np.divide(g, a, out=a)
            buf += a
            np.copyto(b, fma(-lr, buf, p), where=heavy)
        np.copyto(p, b)


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
    update_tex=(
        r"v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad "
        r"\theta_t = \theta_{t-1} - \frac{\eta\, g_t}{\sqrt{v_t} + \epsilon}"
    ),
    reference="Hinton, Srivastava & Swersky (2012), lecture 6e; torch.optim.RMSprop",
    torch_class="torch.optim.RMSprop",
    trace_symbols={
        "grad": "g_t",
        "square_avg": "v_t",
        "effective_lr": r"\frac{\eta}{\sqrt{v_t}+\epsilon}",
        "update": r"\Delta\theta_t",
    },
    notes="Lesson 003's code uses ε = 1e-7; torch's default is 1e-8, added outside the root.",
    scalar=rmsprop_scalar,
    vector=RMSpropVector(),
)

OPTIMIZERS = (RMSPROP,)

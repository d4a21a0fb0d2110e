"""Adadelta (torch.optim.Adadelta): steps sized by the RMS of past steps over the RMS of gradients.

    v <- rho v + (1 - rho) g^2
    d = sqrt(u + eps) / sqrt(v + eps) * g
    u <- rho u + (1 - rho) d^2
    theta <- theta - lr d                 (lr = 1 in the paper)

Reference: Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701.
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


class AdadeltaState(NamedTuple):
    square_avg: np.ndarray  # (2, n)
    acc_delta: np.ndarray  # (2, n)


def adadelta_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    pre = grad_pre(h)
    rho, eps = float(h["rho"]), float(h["eps"])
    w = 1 - rho
    sqrt = math.sqrt
    vx = vy = ux = uy = 0.0
    grad, lrs, _, keep = loop
    for lr in lrs:
        gx, gy = grad(x, y)
        if pre is not None:
            gx, gy = pre(x, y, gx, gy)
        vx, vy = vx * rho + w * gx * gx, vy * rho + w * gy * gy
        sx, sy = sqrt(vx + eps), sqrt(vy + eps)
        ex, ey = sqrt(ux + eps) / sx, sqrt(uy + eps) / sy
        dx, dy = ex * gx, ey * gy
        ux, uy = ux * rho + w * dx * dx, uy * rho + w * dy * dy
        x, y = x + -lr * dx, y + -lr * dy
        if tr is not None:
            tr.append(((vx, vy), (ux, uy), (lr * ex, lr * ey), (-lr * dx, -lr * dy)))
        keep((x, y))


class AdadeltaVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> AdadeltaState:
        h["_w"] = 1 - h["rho"]
        return AdadeltaState(np.zeros_like(p), np.zeros_like(p))

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: AdadeltaState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, b, _, _ = w
        grad_pre_into(p, g, h, w)
        v, u = s.square_avg, s.acc_delta
        v *= h["rho"]
        np.multiply(h["_w"], g, out=a)
        a *= g
        v += a
        np.add(v, h["eps"], out=a)
        np.sqrt(a, out=a)
        np.add(u, h["eps"], out=b)
        np.sqrt(b, out=b)
        b /= a
        b *= g
        u *= h["rho"]
        np.multiply(h["_w"], b, out=a)
        a *= b
        u += a
        np.multiply(-lr, b, out=b)
        p += b


ADADELTA = Optimizer(
    name="adadelta",
    title="Adadelta",
    summary="steps sized by the RMS of past steps divided by the RMS of past gradients",
    hypers=(
        lr_hyper(1.0),
        Hyper(
            "rho",
            0.9,
            0.0,
            1.0,
            False,
            "decay of both running averages",
            symbol=r"\rho",
            role="rho",
        ),
        eps_hyper(1e-6),
        wd_hyper(),
        MAXIMIZE,
    ),
    update_tex=(
        r"v_t = \rho v_{t-1} + (1-\rho) g_t^2,\ "
        r"\Delta_t = \frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}} g_t,\ "
        r"u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2,\ \theta_t = \theta_{t-1} - \eta\Delta_t"
    ),
    reference="Zeiler (2012), ADADELTA: An Adaptive Learning Rate Method; torch.optim.Adadelta",
    torch_class="torch.optim.Adadelta",
    trace_symbols={
        "grad": "g_t",
        "square_avg": "v_t",
        "acc_delta": "u_t",
        "effective_lr": r"\eta\frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}}",
        "update": r"\Delta\theta_t",
    },
    notes="Not in the lessons; torch.optim.Adadelta's rule (rho range [0, 1]).",
    scalar=adadelta_scalar,
    vector=AdadeltaVector(),
)

OPTIMIZERS = (ADADELTA,)

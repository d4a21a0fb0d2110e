"""Lion (EvoLved Sign Momentum): move every coordinate by exactly lr, in the sign of a momentum.

    c = beta1 m + (1 - beta1) g
    theta <- theta (1 - lr lambda) - lr sign(c)
    m <- beta2 m + (1 - beta2) g

torch.optim has no Lion; this follows the paper's Algorithm 2 and its reference implementation
(google/automl lion, lucidrains/lion-pytorch) operation by operation; the test oracle is that
loop written with torch tensors.

Reference: Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms", NeurIPS.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from optimizers.base import (
    Hypers,
    Loop,
    Optimizer,
    ScalarOracle,
    Scratch,
    VectorOracle,
    beta1_hyper,
    beta2_hyper,
    lr_hyper,
    wd_hyper,
)


class LionState(NamedTuple):
    exp_avg: np.ndarray  # (2, n)


def _sign(v: float) -> float:
    return 1.0 if v > 0.0 else (-1.0 if v < 0.0 else 0.0 * v)


def lion_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    b1, b2, wd = float(h["beta1"]), float(h["beta2"]), float(h["weight_decay"])
    w1, w2 = 1 - b1, 1 - b2
    mx = my = 0.0
    grad, lrs, _, keep = loop
    for lr in lrs:
        gx, gy = grad(x, y)
        ox, oy = x, y  # the trace's update includes the decoupled decay
        if wd != 0.0:
            f = 1 - lr * wd
            x, y = x * f, y * f
        cx, cy = mx * b1 + w1 * gx, my * b1 + w1 * gy
        ux, uy = -lr * _sign(cx), -lr * _sign(cy)
        x, y = x + ux, y + uy
        mx, my = mx * b2 + w2 * gx, my * b2 + w2 * gy
        if tr is not None:
            tr.append(((cx, cy), (mx, my), (x - ox, y - oy)))
        keep((x, y))


class LionVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> LionState:
        h["_w1"], h["_w2"] = 1 - h["beta1"], 1 - h["beta2"]
        return LionState(np.zeros_like(p))

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: LionState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, b, c, _ = w
        if np.any(h["weight_decay"] != 0.0):
            np.multiply(lr, h["weight_decay"], out=c)
            np.subtract(1, c, out=c)
            p *= c
        m = s.exp_avg
        np.multiply(m, h["beta1"], out=a)
        np.multiply(h["_w1"], g, out=b)
        a += b
        np.sign(a, out=a)
        np.multiply(-lr, a, out=a)
        p += a
        m *= h["beta2"]
        np.multiply(h["_w2"], g, out=b)
        m += b


LION = Optimizer(
    name="lion",
    title="Lion",
    summary="every coordinate moves by exactly lr, in the sign of a blend of momentum and gradient",
    hypers=(lr_hyper(1e-4), beta1_hyper(0.9), beta2_hyper(0.99), wd_hyper(0.0, decoupled=True)),
    update_tex=(
        r"c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\ "
        r"\theta_t = \theta_{t-1}(1-\eta\lambda) - \eta\,\mathrm{sign}(c_t),\ "
        r"m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t"
    ),
    reference="Chen et al. (2023), Symbolic Discovery of Optimization Algorithms (Lion), NeurIPS",
    torch_class=None,
    trace_symbols={
        "grad": "g_t",
        "interp": "c_t",
        "exp_avg": "m_t",
        "update": r"\Delta\theta_t",
    },
    notes="Not in the lessons and not in torch.optim: the paper's Algorithm 2.",
    scalar=lion_scalar,
    vector=LionVector(),
)

OPTIMIZERS = (LION,)

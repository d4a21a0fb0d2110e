"""Adam, its AMSGrad variant and AdamW (torch.optim.Adam / torch.optim.AdamW).

    m <- lerp(m, g, 1 - beta1)                  (= beta1 m + (1 - beta1) g)
    v <- beta2 v + (1 - beta2) g^2
    theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

amsgrad uses max(v_max, v) in place of v; AdamW first shrinks theta by (1 - lr·λ) (decoupled
weight decay) instead of adding λθ to g. beta^t is carried as a running product.

Reference: Kingma & Ba (2015) "Adam: A Method for Stochastic Optimization"; Reddi et al. (2018)
(AMSGrad); Loshchilov & Hutter (2019) (AdamW).
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

AMSGRAD = Hyper(
    "amsgrad",
    False,
    None,
    None,
    False,
    "AMSGrad: divide by the largest second moment seen so far",
    kind="bool",
)


class AdamState(NamedTuple):
    """First and second moments (2, n), their running maximum, and beta1^t, beta2^t (n,)."""

    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray
    beta1_pow: np.ndarray
    beta2_pow: np.ndarray


def adam_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    pre = grad_pre(h)
    b1, b2, eps = float(h["beta1"]), float(h["beta2"]), float(h["eps"])
    wd = float(h["weight_decay"]) if h.get("_decoupled") else 0.0
    ams = bool(h["amsgrad"])
    w1, w2 = 1.0 - b1, 1.0 - b2
    c1, low1 = 1.0 - w1, w1 < 0.5
    sqrt = math.sqrt
    mx = my = vx = vy = qx = qy = 0.0
    p1 = p2 = 1.0
    grad, lrs, _, keep = loop
    for lr in lrs:
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
        ss = lr / (1.0 - p1)
        bc2 = sqrt(1.0 - p2)
        if ams:
            qx, qy = (qx if qx > vx else vx), (qy if qy > vy else vy)
            dx, dy = sqrt(qx) / bc2 + eps, sqrt(qy) / bc2 + eps
        else:
            dx, dy = sqrt(vx) / bc2 + eps, sqrt(vy) / bc2 + eps
        ux, uy = -ss * mx / dx, -ss * my / dy
        x, y = x + ux, y + uy
        if tr is not None:
            tr.append(
                ((mx, my), (vx, vy), 1.0 - p1, 1.0 - p2, (ss / dx, ss / dy), (x - ox, y - oy))
            )
        keep((x, y))


class AdamVector:
    """Adam / AMSGrad / AdamW on (2, n) arrays; the kernel's operations in the same order."""

    def init(self, p: np.ndarray, h: dict[str, Any]) -> AdamState:
        h["_w1"], h["_w2"] = 1.0 - h["beta1"], 1.0 - h["beta2"]
        h["_lerp1"] = lerp_mode(h["_w1"])
        z = np.zeros_like(p)
        ones = np.ones(np.shape(h["beta1"])), np.ones(np.shape(h["beta2"]))
        return AdamState(z, z.copy(), z.copy() if h["amsgrad"] else z, *ones)

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: AdamState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, b, c, d = w
        if h.get("_decoupled"):
            np.multiply(lr, h["weight_decay"], out=c)
            np.subtract(1.0, c, out=c)
            p *= c
        grad_pre_into(p, g, h, w)
        m, v = s.exp_avg, s.exp_avg_sq
        lerp_into(m, g, h["_w1"], a, h["_lerp1"])
        v *= h["beta2"]
        np.multiply(h["_w2"], g, out=a)
        a *= g
        v += a
        np.multiply(s.beta1_pow, h["beta1"], out=s.beta1_pow)
        np.multiply(s.beta2_pow, h["beta2"], out=s.beta2_pow)
        # -(lr / (1 - beta1^t)) exactly, as lr / (beta1^t - 1); scalars when the betas and lr
        # are shared by all runs, else one (n,) pass into the scratch buffers
        p1, p2 = s.beta1_pow, s.beta2_pow
        if np.ndim(lr) or p1.ndim:
            neg_step = np.divide(lr, np.subtract(p1, 1.0, out=c), out=c)
        else:
            neg_step = lr / (p1 - 1.0)
        bc2_sqrt = np.sqrt(np.subtract(1.0, p2, out=d), out=d) if p2.ndim else np.sqrt(1.0 - p2)
        if h["amsgrad"]:
            np.maximum(s.max_exp_avg_sq, v, out=s.max_exp_avg_sq)
            np.sqrt(s.max_exp_avg_sq, out=a)
        else:
            np.sqrt(v, out=a)
        a /= bc2_sqrt
        a += h["eps"]
        np.multiply(neg_step, m, out=b)
        b /= a
        p += b


def _meta(name: str, decoupled: bool) -> Optimizer:
    title = "AdamW" if decoupled else "Adam"
    wd_tex = r"\theta \leftarrow (1-\eta\lambda)\theta;\ " if decoupled else ""
    return Optimizer(
        name=name,
        title=title,
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
        ),
        update_tex=(
            wd_tex + r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\ "
            r"v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\ "
            r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,"
            r"\frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}"
        ),
        reference=(
            "Loshchilov & Hutter (2019), Decoupled Weight Decay Regularization; torch.optim.AdamW"
            if decoupled
            else "Kingma & Ba (2015), Adam: A Method for Stochastic Optimization; torch.optim.Adam"
        ),
        torch_class="torch.optim.AdamW" if decoupled else "torch.optim.Adam",
        trace_symbols={
            "grad": "g_t",
            "exp_avg": "m_t",
            "exp_avg_sq": "v_t",
            "bias_correction1": r"1-\beta_1^t",
            "bias_correction2": r"1-\beta_2^t",
            "effective_lr": r"\frac{\eta/(1-\beta_1^t)}{\sqrt{\hat v_t}+\epsilon}",
            "update": r"\Delta\theta_t",
        },
        notes=(
            "Lesson 002 updates m from v_{t−1} and drops the bias correction; lesson 003 puts ε "
            "inside the square root. This is torch.optim's rule: ε outside, both corrections."
        ),
        scalar=adam_scalar if not decoupled else _adamw_scalar,
        vector=_AdamWVector() if decoupled else AdamVector(),
    )


def _adamw_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    adam_scalar(x, y, {**h, "_decoupled": True}, tr, o, loop)


class _AdamWVector(AdamVector):
    def init(self, p: np.ndarray, h: dict[str, Any]) -> AdamState:
        h["_decoupled"] = True
        return super().init(p, h)


ADAM = _meta("adam", decoupled=False)
ADAMW = _meta("adamw", decoupled=True)
OPTIMIZERS = (ADAM, ADAMW)

"""NAdam (torch.optim.NAdam): Adam with a Nesterov look-ahead on the first moment.

    mu_t = beta1 (1 - 0.5 * 0.96^(t psi)),  Pi_t = prod_{i<=t} mu_i       (psi = momentum_decay)
    m <- lerp(m, g, 1 - beta1);  v <- beta2 v + (1 - beta2) g^2
    d = sqrt(v / (1 - beta2^t)) + eps
    theta <- theta - lr (1 - mu_t) / (1 - Pi_t) g / d - lr mu_{t+1} / (1 - Pi_t mu_{t+1}) m / d

Reference: Dozat (2016), "Incorporating Nesterov Momentum into Adam", ICLR workshop.
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

DECOUPLED = Hyper(
    "decoupled_weight_decay",
    False,
    None,
    None,
    False,
    "apply weight decay to the parameters directly (AdamW style)",
    kind="bool",
)


class NAdamState(NamedTuple):
    exp_avg: np.ndarray  # (2, n)
    exp_avg_sq: np.ndarray  # (2, n)
    mu_product: np.ndarray  # (n,)
    beta2_pow: np.ndarray  # (n,)


def nadam_scalar(x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop) -> None:
    decoupled = bool(h["decoupled_weight_decay"])
    pre = grad_pre({**h, "_decoupled": decoupled})
    b1, b2, eps = float(h["beta1"]), float(h["beta2"]), float(h["eps"])
    wd, psi = float(h["weight_decay"]) if decoupled else 0.0, float(h["momentum_decay"])
    w1, w2 = 1.0 - b1, 1.0 - b2
    c1, low1 = 1.0 - w1, w1 < 0.5
    sqrt = math.sqrt
    mx = my = vx = vy = 0.0
    prod = p2 = 1.0
    mu_next = b1 * (1.0 - 0.5 * 0.96 ** (1 * psi))  # mu of step 1
    grad, lrs, _, keep = loop
    for t, lr in enumerate(lrs, 1):
        gx, gy = grad(x, y)
        p2 *= b2
        bc2 = 1.0 - p2
        ox, oy = x, y  # the trace's update includes the decoupled decay
        if wd != 0.0:
            f = 1.0 - lr * wd
            x, y = x * f, y * f
        if pre is not None:
            gx, gy = pre(x, y, gx, gy)
        mu = mu_next  # the same expression at t, computed one step earlier
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod *= mu
        if low1:
            mx, my = mx + w1 * (gx - mx), my + w1 * (gy - my)
        else:
            mx, my = gx - (gx - mx) * c1, gy - (gy - my) * c1
        vx, vy = vx * b2 + w2 * gx * gx, vy * b2 + w2 * gy * gy
        dx, dy = sqrt(vx / bc2) + eps, sqrt(vy / bc2) + eps
        cg = -lr * (1.0 - mu) / (1.0 - prod)
        cm = (-lr * mu_next) / (1.0 - prod * mu_next)
        x1, y1 = x + cg * gx / dx, y + cg * gy / dy
        x1, y1 = x1 + cm * mx / dx, y1 + cm * my / dy
        x, y = x1, y1
        if tr is not None:
            tr.append(((mx, my), (vx, vy), mu, (lr / dx, lr / dy), (x - ox, y - oy)))
        keep((x, y))


class NAdamVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> NAdamState:
        h["_decoupled"] = h["decoupled_weight_decay"]
        h["_w1"], h["_w2"] = 1.0 - h["beta1"], 1.0 - h["beta2"]
        h["_lerp1"] = lerp_mode(h["_w1"])
        z = np.zeros_like(p)
        mu_shape = np.broadcast(h["beta1"], h["momentum_decay"]).shape
        return NAdamState(z, z.copy(), np.ones(mu_shape), np.ones(np.shape(h["beta2"])))

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: NAdamState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, b, c, d = w
        b1, b2, psi = h["beta1"], h["beta2"], h["momentum_decay"]
        np.multiply(s.beta2_pow, b2, out=s.beta2_pow)
        bc2 = 1.0 - s.beta2_pow
        if h["_decoupled"]:
            p *= 1.0 - lr * h["weight_decay"]
        grad_pre_into(p, g, h, w)
        mu = b1 * (1.0 - 0.5 * np.power(0.96, t * psi))
        mu_next = b1 * (1.0 - 0.5 * np.power(0.96, (t + 1) * psi))
        np.multiply(s.mu_product, mu, out=s.mu_product)
        m, v = s.exp_avg, s.exp_avg_sq
        lerp_into(m, g, h["_w1"], a, h["_lerp1"])
        v *= b2
        np.multiply(h["_w2"], g, out=a)
        a *= g
        v += a
        np.divide(v, bc2, out=a)
        np.sqrt(a, out=a)
        a += h["eps"]
        np.multiply(-lr, 1.0 - mu, out=c)
        c /= 1.0 - s.mu_product
        np.multiply(-lr, mu_next, out=d)
        d /= 1.0 - s.mu_product * mu_next
        np.multiply(c, g, out=b)
        b /= a
        p += b
        np.multiply(d, m, out=b)
        b /= a
        p += b


NADAM = Optimizer(
    name="nadam",
    title="NAdam",
    summary="Adam whose momentum looks one step ahead, like Nesterov",
    hypers=(
        lr_hyper(2e-3),
        beta1_hyper(),
        beta2_hyper(),
        eps_hyper(),
        wd_hyper(),
        Hyper(
            "momentum_decay",
            4e-3,
            0.0,
            1.0,
            True,
            "how fast μ_t warms up to β₁",
            symbol=r"\psi",
        ),
        DECOUPLED,
        MAXIMIZE,
    ),
    update_tex=(
        r"\mu_t = \beta_1\left(1 - \tfrac12 0.96^{t\psi}\right),\ "
        r"\theta_t = \theta_{t-1} - \eta\frac{1-\mu_t}{1-\prod_{i\le t}\mu_i}\frac{g_t}{d_t}"
        r" - \eta\frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i}\frac{m_t}{d_t},\ "
        r"d_t = \sqrt{v_t/(1-\beta_2^t)} + \epsilon"
    ),
    reference="Dozat (2016), Incorporating Nesterov Momentum into Adam; torch.optim.NAdam",
    torch_class="torch.optim.NAdam",
    trace_symbols={
        "grad": "g_t",
        "exp_avg": "m_t",
        "exp_avg_sq": "v_t",
        "mu": r"\mu_t",
        "effective_lr": r"\frac{\eta}{d_t}",
        "update": r"\Delta\theta_t",
    },
    notes="torch.optim.NAdam's schedule of μ_t (momentum_decay ψ = 0.004 by default).",
    scalar=nadam_scalar,
    vector=NAdamVector(),
)

OPTIMIZERS = (NADAM,)

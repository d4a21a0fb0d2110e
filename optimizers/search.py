"""The two strategies of lesson 003 that need no analytic gradient.

random_search — a local random search, (1+1) evolution strategy::

    z ~ N(0, I);  c = theta + sigma z;  theta <- c if L(c) < L(theta)

finite_difference — gradient descent on a central-difference gradient::

    g_i = (L(theta + h e_i) - L(theta - h e_i)) / (2 h);  theta <- theta - lr g

With mini-batches both compare / difference losses of the SAME batch. The proposals come from
``np.random.default_rng([seed, 1])`` (one (2, K) draw per step), the batches from the seed itself.

References: Rastrigin (1963), "The convergence of the random search method"; Rechenberg (1973)
(the (1+1)-ES); finite differences: Nocedal & Wright, Numerical Optimization, section 8.1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from optimizers.base import (
    Hyper,
    Hypers,
    Loop,
    Optimizer,
    ScalarOracle,
    Scratch,
    VectorOracle,
    lr_hyper,
)


class SearchState(NamedTuple):
    """No state besides the position."""


def random_search_scalar(
    x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop
) -> None:
    value_for, normals, batched = o
    value = value_for(1)
    here = value(x, y)
    lrs, keep = loop.lrs, loop.keep
    for t, (sigma, (zx, zy)) in enumerate(zip(lrs, normals, strict=False), 1):
        cx, cy = x + sigma * zx, y + sigma * zy
        if batched:  # a new batch each step: both losses on the same batch
            value = value_for(t)
            here = value(x, y)
        there = value(cx, cy)
        accept = there < here
        if accept:
            x, y, here = cx, cy, there
        if tr is not None:
            tr.append(((cx, cy), here, there, 1.0 if accept else 0.0))
        keep((x, y))


def finite_difference_scalar(
    x: float, y: float, h: Hypers, tr: Any, o: ScalarOracle, loop: Loop
) -> None:
    value_for = o.value_for
    step = float(h["h"])
    two = 2 * step
    lrs, keep = loop.lrs, loop.keep
    for t, lr in enumerate(lrs, 1):
        value = value_for(t)
        gx = (value(x + step, y) - value(x - step, y)) / two
        gy = (value(x, y + step) - value(x, y - step)) / two
        ux, uy = -lr * gx, -lr * gy
        x, y = x + ux, y + uy
        if tr is not None:
            tr.append(((gx, gy), (ux, uy)))
        keep((x, y))


class RandomSearchVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> SearchState:
        return SearchState()

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: SearchState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a = w.a
        np.multiply(lr, oracle.normal(), out=a)
        a += p
        here, there = oracle.value(p), oracle.value(a)
        np.copyto(p, a, where=there < here)


class FiniteDifferenceVector:
    def init(self, p: np.ndarray, h: dict[str, Any]) -> SearchState:
        return SearchState()

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: SearchState,
        h: dict[str, Any],
        lr: Any,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None:
        a, step = w.a, h["h"]
        two = 2 * step
        for i in (0, 1):
            np.copyto(a, p)
            a[i] += step
            up = oracle.value(a)
            a[i] = p[i] - step
            g[i] = (up - oracle.value(a)) / two
        np.multiply(-lr, g, out=a)
        p += a


SIGMA = Hyper(
    "sigma",
    0.1,
    0.0,
    10.0,
    True,
    "standard deviation of each random proposal",
    symbol=r"\sigma",
    role="lr",
)
H = Hyper(
    "h",
    1e-4,
    0.0,
    1.0,
    True,
    "finite-difference step",
    symbol="h",
    open_low=True,
)

RANDOM_SEARCH = Optimizer(
    name="random_search",
    title="Random search",
    summary="propose a random nearby point; keep it only if the loss goes down",
    hypers=(SIGMA,),
    update_tex=(
        r"c_t = \theta_{t-1} + \sigma z_t,\ z_t\sim\mathcal N(0, I),\quad "
        r"\theta_t = c_t\ \text{if}\ L(c_t) < L(\theta_{t-1})\ \text{else}\ \theta_{t-1}"
    ),
    reference="Rastrigin (1963); Rechenberg (1973), the (1+1) evolution strategy",
    torch_class=None,
    trace_symbols={
        "candidate": "c_t",
        "loss": r"L(\theta_{t-1})",
        "candidate_loss": "L(c_t)",
        "accepted": r"[L(c_t) < L(\theta_{t-1})]",
    },
    notes=(
        "Lesson 003 samples parameters anywhere and keeps the best; here proposals are local "
        "(around the current point) so the path can be drawn. Uses no gradient."
    ),
    scalar=random_search_scalar,
    vector=RandomSearchVector(),
    uses="value",
    needs_normal=True,
)

FINITE_DIFFERENCE = Optimizer(
    name="finite_difference",
    title="Finite-difference GD",
    summary="gradient descent on a numerical gradient: two extra loss evaluations per coordinate",
    hypers=(lr_hyper(1e-3), H),
    update_tex=(
        r"\tilde g_{t,i} = \frac{L(\theta + h e_i) - L(\theta - h e_i)}{2h},\quad "
        r"\theta_t = \theta_{t-1} - \eta\,\tilde g_t"
    ),
    reference="Nocedal & Wright, Numerical Optimization (2006), section 8.1",
    torch_class=None,
    trace_symbols={"fd_grad": r"\tilde g_t", "update": r"\Delta\theta_t"},
    notes=(
        "Lesson 003's numeric gradient (central differences, error O(h²)); with h small the "
        "path equals plain GD's to many digits."
    ),
    scalar=finite_difference_scalar,
    vector=FiniteDifferenceVector(),
    uses="value",
)

OPTIMIZERS = (RANDOM_SEARCH, FINITE_DIFFERENCE)

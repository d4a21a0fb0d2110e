"""Data surfaces over model parameters (w, b): one per-sample term per data point (u_i, v_i).

The loss of a batch is the mean of its points' terms, exactly as a training loop computes it.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from surfaces.base import (
    NUMPY,
    Arr,
    Data,
    Ops,
    Param,
    Params,
    Point,
    SurfaceSpec,
    sigmoid,
    softplus,
)
from surfaces.critical import newton

# The lesson's points: y = 2x exactly, so (w, b) = (2, 0) fits with zero loss under MSE and MAE.
LINEAR_U = (1.0, 2.0, 3.0, 4.0)
LINEAR_V = (2.0, 4.0, 6.0, 8.0)

# Hours studied -> passed (1) or not (0). The classes overlap (a fail at 2.5 h and 3.5 h, a
# pass at 2 h), so no line separates them and the cross-entropy has a finite minimum.
LOGISTIC_U = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
LOGISTIC_V = (0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0)


def _mse(w: Arr, b: Arr, u: Arr, v: Arr, _xp: Ops) -> Arr:  # (w u + b - v)^2
    r = w * u + b - v
    return r * r


def _mse_grad(w: Arr, b: Arr, u: Arr, v: Arr, _xp: Ops) -> tuple[Arr, Arr]:
    r2 = 2.0 * (w * u + b - v)
    return r2 * u, r2


def _mae(w: Arr, b: Arr, u: Arr, v: Arr, xp: Ops) -> Arr:  # |w u + b - v|
    return xp.abs(w * u + b - v)


def _mae_grad(w: Arr, b: Arr, u: Arr, v: Arr, xp: Ops) -> tuple[Arr, Arr]:
    s = xp.sign(w * u + b - v)  # the subgradient 0 where the residual is exactly 0
    return s * u, s


def _linear(p: Params) -> Data:
    mse = p["loss"] == "mse"
    return Data(
        _mse if mse else _mae,
        _mse_grad if mse else _mae_grad,
        LINEAR_U,
        LINEAR_V,
        bounds=((-1.0, 5.0), (-3.0, 3.0)),
        default_start=(0.0, 0.0),
        log_color=mse,
        minima=(Point((2.0, 0.0), 0.0, "global"),),
    )


# Binary cross-entropy of the logit z = w u + b against label v in {0, 1}:
# -v log σ(z) - (1 - v) log(1 - σ(z)) = softplus(s z) with s = 1 - 2v, i.e. ±1.
def _bce(w: Arr, b: Arr, u: Arr, v: Arr, xp: Ops) -> Arr:
    return softplus((1.0 - 2.0 * v) * (w * u + b), xp)


def _bce_grad(w: Arr, b: Arr, u: Arr, v: Arr, xp: Ops) -> tuple[Arr, Arr]:
    s = 1.0 - 2.0 * v
    d = s * sigmoid(s * (w * u + b), xp)  # d loss / d z
    return d * u, d


@cache
def logistic_minimum() -> Point:
    """The cross-entropy minimum, by Newton (convex: its one critical point), computed once."""
    u, v = np.array(LOGISTIC_U), np.array(LOGISTIC_V)

    def grad(w: float, b: float) -> tuple[float, float]:
        gw, gb = _bce_grad(w, b, u, v, NUMPY)
        return float(gw.mean()), float(gb.mean())

    w, b = newton(grad, 1.0, -3.0)
    return Point((w, b), float(_bce(w, b, u, v, NUMPY).mean()), "global")


def _logistic(_p: Params) -> Data:
    return Data(
        _bce,
        _bce_grad,
        LOGISTIC_U,
        LOGISTIC_V,
        bounds=((-2.0, 5.0), (-10.0, 4.0)),
        default_start=(-1.0, 2.0),
        log_color=True,
        minima=(logistic_minimum(),),
    )


SPECS = (
    SurfaceSpec(
        "linear_regression",
        "Linear regression",
        "Fit y = w x + b to four points: MSE is a stretched bowl, MAE a sharp-edged valley.",
        (
            Param(
                "loss",
                "mse",
                None,
                None,
                False,
                "mse: mean squared error; mae: mean absolute error (gradient uses sign)",
                ("mse", "mae"),
                "choice",
            ),
        ),
        ("w", "b"),
        _linear,
    ),
    SurfaceSpec(
        "logistic_regression",
        "Logistic regression",
        "Binary cross-entropy of a one-feature classifier on overlapping classes: convex, "
        "with a long flat valley.",
        (),
        ("w", "b"),
        _logistic,
    ),
)

"""Convergence theory of gradient descent and heavy-ball momentum on quadratics. Pure NumPy.

On f(x) = ½ (x − x*)ᵀ H (x − x*) every update rule that is linear in the gradient splits into
independent one-dimensional problems, one per eigenvalue λ of H (Goh 2017, "Why Momentum
Really Works", Distill; Polyak 1964). On one eigendirection the error e = ⟨x − x*, q⟩ obeys

* gradient descent, x ← x − α g:                   e_{t+1} = (1 − αλ) e_t;
* heavy-ball momentum in torch's convention, v ← βv + g, x ← x − αv (torch.optim.SGD with
  ``momentum=β``; its first step has v = g, the same as starting from v = 0)::

      ⎡ e_{t+1}  ⎤   ⎡ 1 − h   −β ⎤ ⎡ e_t  ⎤
      ⎣ αv_{t+1} ⎦ = ⎣   h      β ⎦ ⎣ αv_t ⎦ ,      h = αλ,

  whose characteristic polynomial is z² − (1 + β − h) z + β.

The convergence rate is the spectral radius ρ of that 2×2 matrix (|1 − h| for gradient
descent): the error shrinks like ρᵗ. Everything below is written over arrays (any shape,
broadcast) so that a whole (αλ, β) plane is one call.

Facts used by the app (each tested against runs of :func:`optimizers.simulate`):

* stable iff 0 < h < 2 + 2β (for 0 ≤ β < 1); gradient descent: 0 < h < 2;
* critical damping (a double root) on β = (1 − √h)²: below it the roots are real (over-damped,
  no oscillation), above it complex with |z| = √β (under-damped, oscillating);
* with eigenvalues λ_min ≤ … ≤ λ_max and κ = λ_max / λ_min, gradient descent is fastest at
  α = 2 / (λ_min + λ_max) with rate (κ − 1)/(κ + 1); momentum at
  α* = (2 / (√λ_min + √λ_max))², β* = ((√κ − 1)/(√κ + 1))², with rate (√κ − 1)/(√κ + 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ArrayLike = float | np.ndarray
UNDER, CRITICAL, OVER, UNSTABLE = "under-damped", "critically damped", "over-damped", "unstable"


def momentum_matrix(h: ArrayLike, beta: ArrayLike) -> np.ndarray:
    """The iteration matrix on (e, αv) for h = αλ and β: (..., 2, 2)."""
    h_, b_ = np.broadcast_arrays(np.asarray(h, dtype=np.float64), np.asarray(beta, np.float64))
    out = np.empty((*h_.shape, 2, 2))
    out[..., 0, 0] = 1.0 - h_
    out[..., 0, 1] = -b_
    out[..., 1, 0] = h_
    out[..., 1, 1] = b_
    return out


def momentum_roots(h: ArrayLike, beta: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The two eigenvalues of :func:`momentum_matrix` (complex arrays)."""
    h_ = np.asarray(h, dtype=np.float64)
    b_ = np.asarray(beta, dtype=np.float64)
    tr = 1.0 + b_ - h_
    disc = np.sqrt((tr * tr - 4.0 * b_).astype(np.complex128))
    return (tr + disc) / 2.0, (tr - disc) / 2.0


def momentum_rate(h: ArrayLike, beta: ArrayLike) -> np.ndarray:
    """Spectral radius of heavy-ball momentum on one eigendirection (β = 0: gradient descent).

    Closed form of max |z| over the roots of z² − (1 + β − h) z + β: √β when the roots are
    complex, else the larger of |(tr ± √disc) / 2|. Shapes broadcast.
    """
    h_ = np.asarray(h, dtype=np.float64)
    b_ = np.asarray(beta, dtype=np.float64)
    tr = 1.0 + b_ - h_
    disc = tr * tr - 4.0 * b_
    with np.errstate(invalid="ignore"):
        root = np.sqrt(np.maximum(disc, 0.0))
        real = np.maximum(np.abs(tr + root), np.abs(tr - root)) / 2.0
        cplx = np.sqrt(np.maximum(b_, 0.0))
    return np.asarray(np.where(disc >= 0.0, real, cplx))


def gd_rate(h: ArrayLike) -> np.ndarray:
    """Gradient descent's rate on one eigendirection: |1 − αλ|."""
    return np.abs(1.0 - np.asarray(h, dtype=np.float64))


def rate_on_spectrum(
    alpha: ArrayLike, beta: ArrayLike, eigenvalues: Sequence[float] | np.ndarray
) -> np.ndarray:
    """The rate of the whole quadratic: max over its eigenvalues of :func:`momentum_rate`."""
    a = np.asarray(alpha, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    rates = [momentum_rate(a * float(lam), b) for lam in eigenvalues]
    return np.asarray(np.max(np.stack(np.broadcast_arrays(*rates)), axis=0))


def stability_edge(lam_max: float, beta: ArrayLike = 0.0) -> np.ndarray:
    """The largest stable learning rate, (2 + 2β) / λ_max (β = 0: gradient descent's 2/λ_max)."""
    if not lam_max > 0:
        raise ValueError(f"lam_max must be positive; got {lam_max!r}")
    return np.asarray((2.0 + 2.0 * np.asarray(beta, dtype=np.float64)) / lam_max)


def critical_beta(h: ArrayLike) -> np.ndarray:
    """β of critical damping at h = αλ: (1 − √h)² (h ≥ 0)."""
    return np.asarray((1.0 - np.sqrt(np.asarray(h, dtype=np.float64))) ** 2)


def regime(h: float, beta: float, *, tol: float = 1e-9) -> str:
    """ "under-damped", "critically damped", "over-damped" or "unstable" at (h, β)."""
    if float(momentum_rate(h, beta)) >= 1.0:
        return UNSTABLE
    disc = (1.0 + beta - h) ** 2 - 4.0 * beta
    if abs(disc) <= tol:
        return CRITICAL
    return UNDER if disc < 0 else OVER


@dataclass(frozen=True)
class Optimum:
    """The best constant settings for a quadratic with eigenvalues in [λ_min, λ_max]."""

    lam_min: float
    lam_max: float
    kappa: float
    gd_lr: float  # 2 / (λ_min + λ_max)
    gd_rate: float  # (κ − 1) / (κ + 1)
    momentum_lr: float  # (2 / (√λ_min + √λ_max))²
    momentum_beta: float  # ((√κ − 1) / (√κ + 1))²
    momentum_rate: float  # (√κ − 1) / (√κ + 1)
    gd_edge: float  # 2 / λ_max


def optimum(eigenvalues: Sequence[float] | np.ndarray) -> Optimum:
    """Optimal gradient descent and momentum for a positive-definite spectrum."""
    lams = [float(v) for v in eigenvalues]
    if not lams or min(lams) <= 0 or not all(math.isfinite(v) for v in lams):
        raise ValueError(f"eigenvalues must be positive and finite; got {lams!r}")
    lo, hi = min(lams), max(lams)
    kappa = hi / lo
    sk = math.sqrt(kappa)
    return Optimum(
        lam_min=lo,
        lam_max=hi,
        kappa=kappa,
        gd_lr=2.0 / (lo + hi),
        gd_rate=(kappa - 1.0) / (kappa + 1.0),
        momentum_lr=(2.0 / (math.sqrt(lo) + math.sqrt(hi))) ** 2,
        momentum_beta=((sk - 1.0) / (sk + 1.0)) ** 2,
        momentum_rate=(sk - 1.0) / (sk + 1.0),
        gd_edge=2.0 / hi,
    )


def eigen_path(h: float, beta: float, steps: int, e0: float = 1.0) -> np.ndarray:
    """The error on one eigendirection over ``steps`` steps of momentum from rest: (steps + 1,).

    e_1 = (1 − h) e_0 and e_{t+1} = (1 + β − h) e_t − β e_{t−1}: the three-term recurrence of
    the matrix above (torch's first step, v = g, equals a start from v = 0).
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0; got {steps}")
    out = np.empty(steps + 1)
    out[0] = e0
    if steps:
        out[1] = (1.0 - h) * e0
    a = 1.0 + beta - h
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps):
            out[t + 1] = a * out[t] - beta * out[t - 1]
    return out


def measured_rate(d0: ArrayLike, d1: ArrayLike, steps: ArrayLike) -> np.ndarray:
    """The rate a run shows between two distances to the minimum ``steps`` apart:
    (d1 / d0)^(1 / steps). NaN where it cannot be read (a zero or non-finite distance)."""
    a = np.asarray(d0, dtype=np.float64)
    b = np.asarray(d1, dtype=np.float64)
    n = np.asarray(steps, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.exp((np.log(b) - np.log(a)) / n)
    ok = (a > 0) & (b > 0) & np.isfinite(r)
    return np.asarray(np.where(ok, r, np.nan))


def eigen_components(
    points: np.ndarray, minimum: Sequence[float], vectors: np.ndarray
) -> np.ndarray:
    """The error x − x* split on the eigenvectors (columns of ``vectors``): (..., 2) -> (..., 2)."""
    err = np.asarray(points, dtype=np.float64) - np.asarray(minimum, dtype=np.float64)
    return np.asarray(err @ np.asarray(vectors, dtype=np.float64))

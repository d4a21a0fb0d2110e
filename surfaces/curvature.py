"""Curvature of a surface: its Hessian at a point, the eigenvalues and eigenvectors, and
whether the surface is a quadratic. Pure NumPy (torch's autograd is the tests' oracle).

The Hessian comes from fourth-order central differences of the surface's exact gradient,
H[:, j] = (−∇f(x + 2h e_j) + 8 ∇f(x + h e_j) − 8 ∇f(x − h e_j) + ∇f(x − 2h e_j)) / 12h, then
symmetrised. On a quadratic the gradient is linear, so the difference is exact up to rounding
whatever h is; elsewhere the error is O(h⁴) with h = 1e-4 of the surface's span (below 1e-9
relative on every surface here, against torch autograd in tests/test_theory.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

STEP = 1e-4  # the difference step, as a fraction of the surface's smaller span
QUADRATIC_RTOL = 1e-6  # Hessians at the probe points agree this closely on a quadratic


def _span(surface: Any) -> float:
    (x0, x1), (y0, y1) = surface.bounds
    return float(min(x1 - x0, y1 - y0))


def hessian(surface: Any, xy: Sequence[float], step: float | None = None) -> np.ndarray:
    """The (2, 2) Hessian of ``surface`` at ``xy`` (central differences of its gradient)."""
    p = np.asarray(xy, dtype=np.float64).reshape(2)
    if not np.isfinite(p).all():
        raise ValueError(f"xy must be two finite numbers; got {xy!r}")
    h = float(step) if step is not None else STEP * _span(surface)
    parts = []
    for e in (np.array([h, 0.0]), np.array([0.0, h])):
        g = np.asarray(surface.grad(np.stack([p + 2 * e, p + e, p - e, p - 2 * e])))
        parts.append((-g[0] + 8.0 * g[1] - 8.0 * g[2] + g[3]) / (12.0 * h))
    cols = np.stack(parts, axis=-1)
    return np.asarray((cols + cols.T) / 2.0)


@dataclass(frozen=True)
class Curvature:
    """The Hessian at one point and its eigen-decomposition (eigenvalues ascending)."""

    at: tuple[float, float]
    hessian: np.ndarray  # (2, 2)
    eigenvalues: np.ndarray  # (2,) ascending
    eigenvectors: np.ndarray  # (2, 2): column i belongs to eigenvalue i

    @property
    def lam_min(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def lam_max(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def positive_definite(self) -> bool:
        return self.lam_min > 0

    @property
    def kappa(self) -> float:
        """The condition number λ_max / λ_min (inf when not positive definite)."""
        return self.lam_max / self.lam_min if self.lam_min > 0 else float("inf")


def curvature(surface: Any, xy: Sequence[float]) -> Curvature:
    """The Hessian of ``surface`` at ``xy`` with its eigenvalues and eigenvectors."""
    hess = hessian(surface, xy)
    vals, vecs = np.linalg.eigh(hess)
    return Curvature((float(xy[0]), float(xy[1])), hess, vals, vecs)


def is_quadratic(surface: Any, rtol: float = QUADRATIC_RTOL) -> bool:
    """Whether the Hessian is the same at the centre, the four corners of the bounds and a few
    points at irrational-looking fractions of them (so a periodic term cannot hide)."""
    (x0, x1), (y0, y1) = surface.bounds
    fractions = [(0.5, 0.5), (0, 0), (0, 1), (1, 0), (1, 1), (0.137, 0.291), (0.713, 0.853)]
    pts = [(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)) for fx, fy in fractions]
    ref = hessian(surface, pts[0])
    scale = max(float(np.abs(ref).max()), 1e-300)
    return all(float(np.abs(hessian(surface, p) - ref).max()) <= rtol * scale for p in pts[1:])


def reference_minimum(surface: Any, start: Sequence[float] | None = None) -> Any | None:
    """The minimum the curvature is read at: the global minimum nearest to ``start`` (or the
    first global minimum), else the nearest minimum of any kind; None without minima."""
    if not surface.minima:
        return None
    pool = [p for p in surface.minima if p.kind == "global"] or list(surface.minima)
    if start is None:
        return pool[0]
    sx, sy = float(start[0]), float(start[1])
    return min(pool, key=lambda p: (p.xy[0] - sx) ** 2 + (p.xy[1] - sy) ** 2)

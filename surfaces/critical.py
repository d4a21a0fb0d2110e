"""Critical points refined by Newton's method at construction (no tables of rounded numbers).

The Hessian is a central finite difference of the analytic gradient; Newton with an
approximate Hessian still converges to an exact zero of the analytic gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from surfaces.base import SCALAR, GradFn, Point, ValueFn

ScalarGrad = Callable[[float, float], tuple[float, float]]
ScalarValue = Callable[[float, float], float]


def hessian(grad: ScalarGrad, x: float, y: float) -> tuple[float, float, float]:
    """Symmetric finite-difference Hessian (hxx, hxy, hyy) of an analytic gradient."""
    hx, hy = 1e-5 * (1.0 + abs(x)), 1e-5 * (1.0 + abs(y))
    gxp, gyp = grad(x + hx, y)
    gxm, gym = grad(x - hx, y)
    gxq, gyq = grad(x, y + hy)
    gxr, gyr = grad(x, y - hy)
    hxx = (gxp - gxm) / (2 * hx)
    hyy = (gyq - gyr) / (2 * hy)
    hxy = 0.5 * ((gyp - gym) / (2 * hx) + (gxq - gxr) / (2 * hy))
    return hxx, hxy, hyy


def classify(grad: ScalarGrad, x: float, y: float) -> str:
    """ "minimum", "maximum", "saddle" or "degenerate" from the Hessian's eigenvalue signs."""
    a, b, d = hessian(grad, x, y)
    det, tr = a * d - b * b, a + d
    scale = max(abs(a), abs(b), abs(d), 1e-300)
    if det < -1e-9 * scale * scale:
        return "saddle"
    if det > 1e-9 * scale * scale:
        return "minimum" if tr > 0 else "maximum"
    return "degenerate"


def newton(grad: ScalarGrad, x: float, y: float, max_iter: int = 100) -> tuple[float, float]:
    """Refine a guess to a zero of ``grad``; RuntimeError if it does not converge."""
    for _ in range(max_iter):
        gx, gy = grad(x, y)
        a, b, d = hessian(grad, x, y)
        det = a * d - b * b
        if det == 0.0 or not math.isfinite(det):
            break
        dx, dy = (d * gx - b * gy) / det, (a * gy - b * gx) / det
        x, y = x - dx, y - dy
        if abs(dx) + abs(dy) <= 1e-15 * (1.0 + abs(x) + abs(y)):
            break
    gx, gy = grad(x, y)
    if not math.hypot(gx, gy) <= 1e-9:
        norm = math.hypot(gx, gy)
        raise RuntimeError(f"Newton did not converge near ({x}, {y}): |grad| = {norm}")
    return x, y


def refine_points(
    grad: ScalarGrad,
    value: ScalarValue,
    minima_guesses: Iterable[tuple[float, float]],
    saddle_guesses: Iterable[tuple[float, float]] = (),
) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """Newton-refine guesses, check each is the expected kind, label global vs local minima."""
    found: list[tuple[float, float, float]] = []
    for gx0, gy0 in minima_guesses:
        x, y = newton(grad, gx0, gy0)
        if classify(grad, x, y) != "minimum":
            raise RuntimeError(f"guess ({gx0}, {gy0}) refined to a non-minimum ({x}, {y})")
        found.append((x, y, value(x, y)))
    saddles = []
    for gx0, gy0 in saddle_guesses:
        x, y = newton(grad, gx0, gy0)
        if classify(grad, x, y) != "saddle":
            raise RuntimeError(f"guess ({gx0}, {gy0}) refined to a non-saddle ({x}, {y})")
        saddles.append(Point((x, y), value(x, y), "saddle"))
    return label_minima(found), tuple(saddles)


def label_minima(found: Iterable[tuple[float, float, float]]) -> tuple[Point, ...]:
    """Points for (x, y, value) minima; those within 1e-9 of the lowest value are global."""
    pts = list(found)
    best = min(v for _, _, v in pts)
    tol = 1e-9 * (1.0 + abs(best))
    return tuple(Point((x, y), v, "global" if v <= best + tol else "local") for x, y, v in pts)


def critical_points(
    value: ValueFn,
    grad: GradFn,
    minima_guesses: Iterable[tuple[float, float]],
    saddle_guesses: Iterable[tuple[float, float]] = (),
) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """:func:`refine_points` for a surface's (x, y, xp) maths, run on plain floats."""
    return refine_points(
        lambda x, y: grad(x, y, SCALAR),
        lambda x, y: value(x, y, SCALAR),
        minima_guesses,
        saddle_guesses,
    )

"""Classic optimisation test functions, with their minima from the literature.

References: Jamil & Yang, "A literature survey of benchmark functions for global optimisation
problems" (2013), and the Virtual Library of Simulation Experiments (Surjanovic & Bingham).
Literature coordinates are only starting guesses: every critical point is refined by Newton's
method on the analytic gradient at construction (surfaces.critical).
"""

from __future__ import annotations

import math

from surfaces.base import NOISE, SCALAR, Analytic, Arr, Ops, Param, Params, Point, SurfaceSpec
from surfaces.critical import critical_points, label_minima

TAU = 2.0 * math.pi


def _rosenbrock(p: Params) -> Analytic:
    a, b = float(p["a"]), float(p["b"])

    def value(x: Arr, y: Arr, _xp: Ops) -> Arr:  # (a - x)^2 + b (y - x^2)^2
        d, e = a - x, y - x * x
        return d * d + b * e * e

    def grad(x: Arr, y: Arr, _xp: Ops) -> tuple[Arr, Arr]:
        e = y - x * x
        return -2.0 * (a - x) - 4.0 * b * x * e, 2.0 * b * e

    return Analytic(
        value,
        grad,
        bounds=((-2.0, 2.0), (-1.0, 3.0)),
        default_start=(-1.5, 2.0),
        log_color=True,
        minima=(Point((a, a * a), 0.0, "global"),),
    )


def _beale(_p: Params) -> Analytic:
    def value(x: Arr, y: Arr, _xp: Ops) -> Arr:
        y2 = y * y
        t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y2 * y
        return t1 * t1 + t2 * t2 + t3 * t3

    def grad(x: Arr, y: Arr, _xp: Ops) -> tuple[Arr, Arr]:
        y2 = y * y
        t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y2 * y
        dx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y2 * y - 1.0))
        dy = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
        return dx, dy

    minima, saddles = critical_points(value, grad, [(3.0, 0.5)], _BEALE_SADDLES)
    return Analytic(
        value,
        grad,
        bounds=((-4.5, 4.5), (-4.5, 4.5)),
        default_start=(1.0, 1.5),
        log_color=True,
        minima=minima,
        saddles=saddles,
    )


_BEALE_SADDLES = [(0.0, 1.0), (0.1005, -2.6445)]


def _himmelblau(_p: Params) -> Analytic:
    def value(x: Arr, y: Arr, _xp: Ops) -> Arr:  # (x^2 + y - 11)^2 + (x + y^2 - 7)^2
        s, t = x * x + y - 11.0, x + y * y - 7.0
        return s * s + t * t

    def grad(x: Arr, y: Arr, _xp: Ops) -> tuple[Arr, Arr]:
        s, t = x * x + y - 11.0, x + y * y - 7.0
        return 4.0 * x * s + 2.0 * t, 2.0 * s + 4.0 * y * t

    minima, saddles = critical_points(value, grad, _HIMMELBLAU_MINIMA, _HIMMELBLAU_SADDLES)
    return Analytic(
        value,
        grad,
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        default_start=(0.0, 0.0),
        log_color=True,
        minima=minima,
        saddles=saddles,
    )


_HIMMELBLAU_MINIMA = [
    (3.0, 2.0),
    (-2.805118, 3.131312),
    (-3.779310, -3.283186),
    (3.584428, -1.848126),
]
_HIMMELBLAU_SADDLES = [
    (0.086677, 2.884254),
    (-3.073026, -0.081353),
    (3.385154, 0.073852),
    (-0.127961, -1.953715),
]


# Rastrigin is separable: f = r(x) + r(y), r(t) = t^2 + 10 (1 - cos 2 pi t). Its local minima are
# the products of the 1-D minima of r, one near every integer.
def _r(t: Arr, xp: Ops) -> Arr:
    return t * t + 10.0 - 10.0 * xp.cos(TAU * t)


def _dr(t: Arr, xp: Ops) -> Arr:
    return 2.0 * t + 10.0 * TAU * xp.sin(TAU * t)


def _d2r(t: float) -> float:
    return 2.0 + 10.0 * TAU * TAU * math.cos(TAU * t)


def _rastrigin_1d_minima(lo: float, hi: float) -> list[float]:
    """Zeros of r' with r'' > 0 inside [lo, hi], by a 1-D Newton solve from each integer."""
    out = []
    for k in range(math.ceil(lo), math.floor(hi) + 1):
        t = float(k)
        for _ in range(50):
            step = _dr(t, SCALAR) / _d2r(t)
            t -= step
            if abs(step) <= 1e-16 * (1.0 + abs(t)):
                break
        if lo <= t <= hi and _d2r(t) > 0.0:
            out.append(t)
    return out


def _rastrigin(_p: Params) -> Analytic:
    def value(x: Arr, y: Arr, xp: Ops) -> Arr:
        return _r(x, xp) + _r(y, xp)

    def grad(x: Arr, y: Arr, xp: Ops) -> tuple[Arr, Arr]:
        return _dr(x, xp), _dr(y, xp)

    lim = 5.12
    ts = _rastrigin_1d_minima(-lim, lim)
    minima = label_minima((x, y, value(x, y, SCALAR)) for x in ts for y in ts)
    return Analytic(
        value,
        grad,
        bounds=((-lim, lim), (-lim, lim)),
        default_start=(4.2, -3.6),
        log_color=False,
        minima=minima,
    )


def _camel(_p: Params) -> Analytic:
    def value(x: Arr, y: Arr, _xp: Ops) -> Arr:  # (4 - 2.1x^2 + x^4/3) x^2 + xy + (4y^2 - 4) y^2
        x2, y2 = x * x, y * y
        return (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (4.0 * y2 - 4.0) * y2

    def grad(x: Arr, y: Arr, _xp: Ops) -> tuple[Arr, Arr]:
        x2 = x * x
        return 8.0 * x - 8.4 * x2 * x + 2.0 * x2 * x2 * x + y, x - 8.0 * y + 16.0 * y * y * y

    minima, saddles = critical_points(value, grad, _CAMEL_MINIMA, _CAMEL_SADDLES)
    return Analytic(
        value,
        grad,
        bounds=((-2.2, 2.2), (-1.2, 1.2)),
        default_start=(-1.9, 1.0),
        log_color=False,
        minima=minima,
        saddles=saddles,
    )


_CAMEL_MINIMA = [
    (0.0898, -0.7126),
    (-0.0898, 0.7126),
    (-1.7036, 0.7961),
    (1.7036, -0.7961),
    (1.6071, 0.5687),
    (-1.6071, -0.5687),
]
_CAMEL_SADDLES = [
    (0.0, 0.0),
    (1.2961, 0.6051),
    (-1.2961, -0.6051),
    (1.1092, -0.7683),
    (-1.1092, 0.7683),
    (1.6381, 0.2287),
    (-1.6381, -0.2287),
]


SPECS = (
    SurfaceSpec(
        "rosenbrock",
        "Rosenbrock",
        "A curved banana valley: finding it is easy, following its floor to (a, a²) is slow.",
        (
            Param("a", 1.0, -1.5, 1.5, False, "the minimum sits at (a, a²)"),
            Param("b", 100.0, 1.0, 1000.0, True, "steepness of the valley walls"),
            NOISE,
        ),
        ("x", "y"),
        _rosenbrock,
    ),
    SurfaceSpec(
        "beale",
        "Beale",
        "Flat plateaus and steep corners around one sharp minimum at (3, 0.5).",
        (NOISE,),
        ("x", "y"),
        _beale,
    ),
    SurfaceSpec(
        "himmelblau",
        "Himmelblau",
        "Four equally deep minima: from the middle all end in the same one; start elsewhere to "
        "end in another.",
        (NOISE,),
        ("x", "y"),
        _himmelblau,
    ),
    SurfaceSpec(
        "rastrigin",
        "Rastrigin",
        "A bowl covered in regular bumps: a hundred local minima trap plain gradient descent.",
        (NOISE,),
        ("x", "y"),
        _rastrigin,
    ),
    SurfaceSpec(
        "six_hump_camel",
        "Six-hump camel",
        "Two global and four local minima of different depths, a test of which basin wins.",
        (NOISE,),
        ("x", "y"),
        _camel,
    ),
)

"""Designed non-convex landscapes: escaping saddles, and basins of different depth."""

from __future__ import annotations

import math

from surfaces.base import NOISE, SCALAR, Analytic, Arr, Ops, Params, Point, SurfaceSpec
from surfaces.critical import critical_points

HALF_PI = 0.5 * math.pi


def _saddle_escape(_p: Params) -> Analytic:
    def value(x: Arr, y: Arr, xp: Ops) -> Arr:  # sin x + y^2
        return xp.sin(x) + y * y

    def grad(x: Arr, y: Arr, xp: Ops) -> tuple[Arr, Arr]:
        return xp.cos(x), 2.0 * y

    # cos x = 0, y = 0: sin x = -1 gives minima (value -1), sin x = +1 saddles (value 1).
    mins = (-HALF_PI, 3.0 * HALF_PI)
    sads = (-3.0 * HALF_PI, HALF_PI)
    return Analytic(
        value,
        grad,
        bounds=((-2.0 * math.pi, 2.0 * math.pi), (-3.0, 3.0)),
        default_start=(1.6, 2.5),
        log_color=False,
        minima=tuple(Point((x, 0.0), value(x, 0.0, SCALAR), "global") for x in mins),
        saddles=tuple(Point((x, 0.0), value(x, 0.0, SCALAR), "saddle") for x in sads),
    )


# Gaussian wells (centre x, centre y, depth, width) on the shallow bowl 0.1 (x^2 + y^2).
WELLS = ((-2.0, -1.5, 2.0, 0.9), (2.0, 1.0, 1.4, 0.8), (-1.0, 2.2, 0.9, 0.7))
# Rough positions of the critical points (from a Newton search over a grid), refined below.
_WELL_SADDLES = [(0.08, 0.005), (-0.08, 0.99)]


def _multi_minima(_p: Params) -> Analytic:
    def value(x: Arr, y: Arr, xp: Ops) -> Arr:
        f = 0.1 * (x * x + y * y)
        for cx, cy, depth, width in WELLS:
            dx, dy = x - cx, y - cy
            f = f - depth * xp.exp(-(dx * dx + dy * dy) / (2.0 * width * width))
        return f

    def grad(x: Arr, y: Arr, xp: Ops) -> tuple[Arr, Arr]:
        gx, gy = 0.2 * x, 0.2 * y
        for cx, cy, depth, width in WELLS:
            dx, dy = x - cx, y - cy
            k = depth / (width * width) * xp.exp(-(dx * dx + dy * dy) / (2.0 * width * width))
            gx, gy = gx + k * dx, gy + k * dy
        return gx, gy

    minima, saddles = critical_points(
        value, grad, [(cx, cy) for cx, cy, _, _ in WELLS], _WELL_SADDLES
    )
    return Analytic(
        value,
        grad,
        bounds=((-4.0, 4.0), (-4.0, 4.0)),
        default_start=(3.5, 3.5),  # GD settles in the nearer, shallower well
        log_color=False,
        minima=minima,
        saddles=saddles,
    )


SPECS = (
    SurfaceSpec(
        "saddle_escape",
        "Saddle escape",
        "sin x + y²: saddles sit between minima, and slow methods linger before sliding off.",
        (NOISE,),
        ("x", "y"),
        _saddle_escape,
    ),
    SurfaceSpec(
        "multi_minima",
        "Several minima",
        "Three wells of different depth on a shallow bowl: the nearest basin is not the deepest.",
        (NOISE,),
        ("x", "y"),
        _multi_minima,
    ),
)

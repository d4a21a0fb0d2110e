"""Quadratic forms: the bowl, the ill-conditioned ravine and the pure saddle.

Each surface writes its value and gradient side by side over the array namespace ``xp``.
"""

from __future__ import annotations

import math

from surfaces.base import NOISE, Analytic, Arr, Ops, Param, Params, Point, SurfaceSpec


def _bowl(p: Params) -> Analytic:
    cx, cy, ax, ay = (float(p[k]) for k in ("cx", "cy", "ax", "ay"))

    def value(x: Arr, y: Arr, _xp: Ops) -> Arr:  # ax (x - cx)^2 + ay (y - cy)^2
        dx, dy = x - cx, y - cy
        return ax * dx * dx + ay * dy * dy

    def grad(x: Arr, y: Arr, _xp: Ops) -> tuple[Arr, Arr]:
        return 2.0 * ax * (x - cx), 2.0 * ay * (y - cy)

    return Analytic(
        value,
        grad,
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        default_start=(-4.0, 3.5),
        log_color=False,
        minima=(Point((cx, cy), 0.0, "global"),),
    )


def _ravine(p: Params) -> Analytic:
    kappa = float(p["kappa"])
    theta = math.radians(float(p["angle"]))
    c, s = math.cos(theta), math.sin(theta)

    def value(x: Arr, y: Arr, _xp: Ops) -> Arr:  # (u^2 + kappa v^2) / 2 in rotated axes (u, v)
        u, v = c * x + s * y, c * y - s * x
        return 0.5 * (u * u + kappa * v * v)

    def grad(x: Arr, y: Arr, _xp: Ops) -> tuple[Arr, Arr]:
        u, v = c * x + s * y, c * y - s * x
        return c * u - s * kappa * v, s * u + c * kappa * v

    return Analytic(
        value,
        grad,
        bounds=((-10.0, 10.0), (-10.0, 10.0)),
        default_start=(-8.0, 4.0),
        log_color=True,
        minima=(Point((0.0, 0.0), 0.0, "global"),),
    )


def _saddle(_p: Params) -> Analytic:
    def value(x: Arr, y: Arr, _xp: Ops) -> Arr:  # x^2 - y^2
        return x * x - y * y

    def grad(x: Arr, y: Arr, _xp: Ops) -> tuple[Arr, Arr]:
        return 2.0 * x, -2.0 * y

    return Analytic(
        value,
        grad,
        bounds=((-3.0, 3.0), (-3.0, 3.0)),
        default_start=(-2.5, 0.01),
        log_color=False,
        minima=(),
        saddles=(Point((0.0, 0.0), 0.0, "saddle"),),
    )


SPECS = (
    SurfaceSpec(
        "quadratic_bowl",
        "Quadratic bowl",
        "A round (or stretched) bowl with one minimum: the easy case where every method arrives.",
        (
            Param("cx", 0.0, -4.0, 4.0, False, "x of the centre (the minimum)"),
            Param("cy", 0.0, -4.0, 4.0, False, "y of the centre (the minimum)"),
            Param("ax", 1.0, 0.1, 10.0, True, "curvature along x: f = ax (x - cx)² + ..."),
            Param("ay", 1.0, 0.1, 10.0, True, "curvature along y: ... + ay (y - cy)²"),
            NOISE,
        ),
        ("x", "y"),
        _bowl,
    ),
    SurfaceSpec(
        "ravine",
        "Ravine",
        "A long, narrow valley: a large step makes gradient descent zig-zag; momentum crosses it "
        "in slow swings.",
        (
            Param("kappa", 25.0, 1.0, 1000.0, True, "condition number: steep/shallow curvature"),
            Param("angle", 0.0, -90.0, 90.0, False, "rotation of the valley in degrees"),
            NOISE,
        ),
        ("x", "y"),
        _ravine,
    ),
    SurfaceSpec(
        "saddle",
        "Saddle",
        "x² − y² has no minimum: a point on the ridge y = 0 stalls, any nudge escapes downhill.",
        (NOISE,),
        ("x", "y"),
        _saddle,
    ),
)

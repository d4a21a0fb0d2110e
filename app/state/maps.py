"""The Maps page's whole state as one plain value, and how each field lives in the URL.

A map is thousands of runs: a sweep over two hyperparameters, a basin map over a grid of
starts, the quadratic theory beside measured runs, or a learning-rate range test. Everything
a view depends on is a field of :class:`MapsState`, declared once (default, URL key,
validation, widget); ranges and choices come from the core's metadata (app/axes.py). Grid
sizes and axis ranges beyond the caps are clamped with a warning, nonsense axes (a switch
such as ``nesterov``, the same hyperparameter twice) are refused with one. Pure Python.

Query keys (only fields that differ from ``MapsState()`` are written)::

    view=basin                     sweep | basin | theory | range
    surface=himmelblau  himmelblau.noise=0.1            the surface and its parameters
    opt=sgd,momentum,adam  adam.lr=0.05                 optimizers and their own settings
    start=-8,4  steps=300  batch=4  seed=1              the runs
    x=lr  y=beta  xr=0.0001,1  yr=0,0.99  grid=128      the sweep map's axes and grid
    color=steps  tol=0.001                              what colours it
    bgrid=256  box=-5,5,-5,5  click=zoom                the basin map
    alpha=0.02  tbeta=0.6  lam=max                      the theory's settings
    lrmin=1e-06  lrmax=10  rsteps=200                   the range test
    big=1  dark=1  embed=true                           view
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import surfaces
from app import axes
from app.state import codec
from app.state import view as room
from app.state.codec import (
    Bad,
    Choice,
    Codec,
    Ctx,
    Float,
    Int,
    Key,
    OwnedParams,
    Params,
    Plain,
    Reader,
    Scalar,
    Session,
    declare,
    fmt,
    parse_float,
    parse_int,
    shown,
)
from app.state.explore import PAGE_HYPER, Start, _check_surface, surface_of, surface_params
from app.state.keys import Keys
from app.state.training import OptimizerList, hyper_store, optimizer_hypers, optimizer_names

K = Keys("maps")
VIEWS = ("sweep", "basin", "theory", "range")
VIEW_TITLES = {
    "sweep": "Sweep map",
    "basin": "Basin map",
    "theory": "Theory on quadratics",
    "range": "Learning-rate range test",
}
COLORS = ("gap", "steps", "distance", "rate")
COLOR_TITLES = {
    "gap": "final loss gap",
    "steps": "steps to tolerance",
    "distance": "distance to the nearest minimum",
    "rate": "convergence rate",
}
CLICKS = ("race", "zoom")
LAMBDAS = ("min", "max")
MAX_RANGE_STEPS = 1000
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "adam")


# ---------------------------------------------------------------- parsers of this page


@dataclass(frozen=True)
class Clamped(Plain):
    """A field whose value is pulled inside its limits with a warning instead of refused
    (a grid of 1,000 cells becomes 256): ``clamp(value, ctx) -> (value, note or None)``."""

    clamp: Callable[[Any, Ctx], tuple[Any, str | None]] = lambda v, _c: (v, None)

    def decode(self, rd: Reader, ctx: Ctx, default: Any) -> Any:
        raw = rd.take(self.key)
        if raw is None:
            return default
        try:
            value = self.parse(raw, ctx)
        except Bad as exc:
            rd.warn(f"Ignored `{self.key}={shown(raw)}`: {exc}; using {codec.describe(default)}.")
            return default
        value, note = self.clamp(value, ctx)
        if note:
            rd.warn(f"`{self.key}={shown(raw)}`: {note}.")
        return value


@dataclass(frozen=True)
class AnyInt:
    """A whole number (any size: the field's clamp pulls it inside its limits)."""

    examples_: tuple[str, ...]

    def __call__(self, raw: str, _ctx: Ctx) -> int:
        return parse_int(raw)

    def examples(self, _ctx: Ctx) -> list[str]:
        return list(self.examples_)


def _cells(cap: int) -> Callable[[Any, Ctx], tuple[Any, str | None]]:
    def clamp(v: Any, _ctx: Ctx) -> tuple[Any, str | None]:
        return axes.clamp_cells(int(v), cap)

    return clamp


@dataclass(frozen=True)
class AxisKey:
    """An axis of the sweep map: a role, a numeric hyperparameter, batch size or steps; never
    a switch, never the other axis (``other`` names the field decoded before it; ``avoid`` is
    the other axis's default, left out of the examples)."""

    other: str | None = None
    avoid: str | None = None

    def __call__(self, raw: str, _ctx: Ctx) -> str:
        if raw in axes.switches():
            raise Bad(
                f"{raw} is an on/off switch, not a number: it cannot be an axis of a map "
                "(pick a numeric hyperparameter such as the learning rate)"
            )
        if raw not in axes.all_keys():
            raise Bad(
                "not a hyperparameter of any optimizer (an axis is lr, beta, beta2, rho, any "
                "numeric hyperparameter's name, batch_size or steps)"
            )
        return raw

    def examples(self, ctx: Ctx) -> list[str]:
        pool = axes.options(ctx.get("optimizers") or DEFAULT_OPTIMIZERS, 16)
        taken = ctx.get(self.other) if self.other else self.avoid
        return [k for k in pool if k != taken][:4]


@dataclass(frozen=True)
class SecondAxis(Plain):
    """The y axis: never the x axis. A link that makes it the x axis (given so, or by
    default) gets another one, with one warning."""

    def decode(self, rd: Reader, ctx: Ctx, default: Any) -> Any:
        x = ctx["x_axis"]
        raw = rd.values.get(self.key)
        other = next(k for k in (default, "lr", "beta") if k != x)
        if raw is not None and raw == x:
            rd.take(self.key)
            rd.warn(
                f"Ignored `{self.key}={shown(raw)}`: it is the x axis too, and a map needs two "
                f"different hyperparameters; using {axes.label(other)}."
            )
            return other
        value = super().decode(rd, ctx, default)
        if value == x:
            rd.warn(f"The y axis cannot also be {axes.label(x)}: using {axes.label(other)}.")
            return other
        return value


def axis_info(key: str, ctx: Ctx) -> axes.AxisInfo:
    surf = surface_of(ctx)
    return axes.info(
        key,
        ctx.get("optimizers") or DEFAULT_OPTIMIZERS,
        n_samples=surf.n_samples,
        max_steps=axes.MAX_STEPS,
    )


@dataclass(frozen=True)
class AxisRange:
    """Two numbers ``lo,hi`` with lo < hi for the axis named by field ``axis``."""

    axis: str

    def __call__(self, raw: str, _ctx: Ctx) -> tuple[float, float]:
        parts = raw.split(",")
        if len(parts) != 2:
            raise Bad("expected two numbers like 0.0001,1")
        lo, hi = (parse_float(p.strip()) for p in parts)
        if not lo < hi:
            raise Bad("expected the smaller number first")
        return (lo, hi)

    def clamp(self, value: Any, ctx: Ctx) -> tuple[Any, str | None]:
        if value is None:
            return value, None
        return axis_info(ctx[self.axis], ctx).clamp(*value)

    def examples(self, ctx: Ctx) -> list[str]:
        a = axis_info(ctx[self.axis], ctx)
        lo, hi = a.default
        if a.log:
            mid = math.sqrt(lo * hi)
            return [f"{lo!r},{mid!r}", f"{mid!r},{hi!r}"]
        mid = (lo + hi) / 2
        if a.integer:
            mid = float(math.floor(mid))
        return [f"{lo!r},{mid!r}", f"{mid!r},{hi!r}"]


@dataclass(frozen=True)
class Box:
    """The basin map's window ``x0,x1,y0,y1`` inside the surface's divergence box."""

    def __call__(self, raw: str, ctx: Ctx) -> tuple[float, float, float, float]:
        parts = raw.split(",")
        if len(parts) != 4:
            raise Bad("expected four numbers like -5,5,-5,5 (x from, x to, y from, y to)")
        x0, x1, y0, y1 = (parse_float(p.strip()) for p in parts)
        if not (x0 < x1 and y0 < y1):
            raise Bad("expected x from < x to and y from < y to")
        (bx0, bx1), (by0, by1) = surface_of(ctx).box
        if x0 < bx0 or x1 > bx1 or y0 < by0 or y1 > by1:
            raise Bad(f"expected a window inside x {bx0:g} … {bx1:g}, y {by0:g} … {by1:g}")
        return (x0, x1, y0, y1)

    def examples(self, ctx: Ctx) -> list[str]:
        (x0, x1), (y0, y1) = surface_of(ctx).bounds
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        return [f"{x0!r},{xm!r},{y0!r},{ym!r}", f"{xm!r},{x1!r},{ym!r},{y1!r}"]


@dataclass(frozen=True)
class Positive:
    """A number in (0, high]."""

    high: float

    def __call__(self, raw: str, _ctx: Ctx) -> float:
        v = parse_float(raw, 0.0, self.high)
        if v <= 0:
            raise Bad(f"expected a number above 0, at most {self.high:g}")
        return v

    def examples(self, _ctx: Ctx) -> list[str]:
        return ["0.01", "0.5"]


@dataclass(frozen=True)
class RangeTop:
    """The range test's top learning rate: above its bottom (field ``range_min``)."""

    high: float

    def __call__(self, raw: str, ctx: Ctx) -> float:
        v = Positive(self.high)(raw, ctx)
        if v <= ctx["range_min"]:
            raise Bad(
                f"expected a number above lrmin = {ctx['range_min']:g}, at most {self.high:g}"
            )
        return v

    def examples(self, ctx: Ctx) -> list[str]:
        lo = float(ctx["range_min"])
        return [repr(v) for v in (1.0, 3.0) if lo < v <= self.high]


def _joined(value: Any) -> str:
    return ",".join(fmt(v) for v in value)


# ---------------------------------------------------------------- widgets


hyper_key = K.hyper
surface_key = K.surface_param
START_SURFACE = K("_start_surface")


def _bind_surface_params(ss: Session, value: Any, state: Any) -> None:
    if state.surface in surfaces.SPECS:
        for p in surface_params(state.surface).values():
            ss[surface_key(state.surface, p.name)] = value.get(p.name, p.default)


def page_default(optimizer: str, hyper: str, torch_default: Scalar) -> Scalar:
    """Where this page starts an optimizer's setting: :data:`PAGE_HYPER` (Explore's starting
    learning rates, which move on these surfaces), else torch's default. ``hyper`` in a
    state and a link holds only what differs from it."""
    return PAGE_HYPER.get(optimizer, {}).get(hyper, torch_default)


def _bind_hyper(ss: Session, value: Any, _state: Any) -> None:
    import optimizers

    store = hyper_store(ss, K)
    for opt in optimizers.names():
        own = value.get(opt, {})
        for h in optimizers.get(opt).hypers:
            store[hyper_key(opt, h.name)] = own.get(h.name, page_default(opt, h.name, h.default))
            ss.pop(hyper_key(opt, h.name), None)


def _bind_start(ss: Session, value: Any, state: Any) -> None:
    if value is not None:
        ss[K("start_x")], ss[K("start_y")] = float(value[0]), float(value[1])
        ss[START_SURFACE] = state.surface
    else:
        ss.pop(START_SURFACE, None)


def _bind_range(name: str) -> Callable[[Session, Any, Any], None]:
    """An axis range shows in two number boxes; None (the default range) clears them."""

    def bind(ss: Session, value: Any, _state: Any) -> None:
        ss[K(name)] = value  # the page's range widgets read it (app/widgets/maps.py)
        ss.pop(K(name + "_lo"), None)
        ss.pop(K(name + "_hi"), None)

    return bind


def _bind_box(ss: Session, value: Any, _state: Any) -> None:
    ss[K("box")] = value


def _bind_optional(name: str) -> Callable[[Session, Any, Any], None]:
    def bind(ss: Session, value: Any, _state: Any) -> None:
        ss[K(name)] = value
        ss.pop(K(name + "_on"), None)
        ss.pop(K(name + "_value"), None)

    return bind


def _full(value: Any) -> Any:
    return "full batch" if value is None else int(value)


# ---------------------------------------------------------------- the state


@dataclass
class MapsState:
    """One complete, reproducible map (whichever view shows it).

    ``hyper[opt][name]``: each optimizer's own settings (torch keywords), used for every
    hyperparameter the map does not sweep. ``x_range`` / ``y_range`` None: the axis's default
    range (the learning rate's reaches past the surface's stability edge). ``box`` None: the
    basin map covers the surface's bounds. ``theory_lr`` / ``theory_beta`` None: the optimal
    settings for the surface's Hessian.
    """

    view: str = declare("sweep", Plain("view", Choice(lambda _c: VIEWS), widget=Key(K("view"))))
    surface: str = declare(
        "ravine", Plain("surface", Choice(lambda _c: surfaces.names()), widget=Key(K("surface")))
    )
    surface_params: dict[str, Scalar] = declare(
        {},
        Params(
            prefix=lambda c: c["surface"] + ".",
            metas=lambda c: surface_params(c["surface"]),
            together=_check_surface,
            widget=_bind_surface_params,
            pattern="<surface>.<param>",
        ),
    )
    optimizers: tuple[str, ...] = declare(
        DEFAULT_OPTIMIZERS,
        Plain("opt", OptimizerList(), widget=Key(K("optimizers"), list), show=_joined),
    )
    hyper: dict[str, dict[str, Scalar]] = declare(
        {},
        OwnedParams(
            owners=optimizer_names,
            chosen=lambda c: c["optimizers"],
            metas=optimizer_hypers,
            what="optimizers",
            widget=_bind_hyper,
            pattern="<optimizer>.<hyper>",
        ),
    )
    start: tuple[float, float] | None = declare(
        None, Plain("start", Start(), widget=_bind_start, show=_joined)
    )
    steps: int = declare(200, Plain("steps", Int(1, axes.MAX_STEPS), widget=Key(K("steps"), int)))
    batch_size: int | None = declare(
        None,
        Plain("batch", Int(1, lambda c: surface_of(c).n_samples), widget=Key(K("batch"), _full)),
    )
    seed: int = declare(0, Plain("seed", Int(0, 2**32 - 1), widget=Key(K("seed"), int)))
    x_axis: str = declare("lr", Plain("x", AxisKey(avoid="beta"), widget=Key(K("x_axis"))))
    y_axis: str = declare("beta", SecondAxis("y", AxisKey("x_axis"), widget=Key(K("y_axis"))))
    x_range: tuple[float, float] | None = declare(
        None,
        Clamped(
            "xr",
            AxisRange("x_axis"),
            widget=_bind_range("x_range"),
            show=_joined,
            clamp=AxisRange("x_axis").clamp,
        ),
    )
    y_range: tuple[float, float] | None = declare(
        None,
        Clamped(
            "yr",
            AxisRange("y_axis"),
            widget=_bind_range("y_range"),
            show=_joined,
            clamp=AxisRange("y_axis").clamp,
        ),
    )
    grid: int = declare(
        128,
        Clamped(
            "grid",
            AnyInt(("8", "64", "256")),
            widget=Key(K("grid"), int),
            clamp=_cells(axes.MAX_SWEEP_CELLS),
        ),
    )
    color: str = declare("gap", Plain("color", Choice(lambda _c: COLORS), widget=Key(K("color"))))
    tol: float = declare(1e-3, Plain("tol", Float(1e-12, 1e3), widget=Key(K("tol"), float)))
    basin_grid: int = declare(
        256,
        Clamped(
            "bgrid",
            AnyInt(("8", "128", "512")),
            widget=Key(K("basin_grid"), int),
            clamp=_cells(axes.MAX_BASIN_CELLS),
        ),
    )
    box: tuple[float, float, float, float] | None = declare(
        None, Plain("box", Box(), widget=_bind_box, show=_joined)
    )
    click: str = declare("race", Plain("click", Choice(lambda _c: CLICKS), widget=Key(K("click"))))
    theory_lr: float | None = declare(
        None, Plain("alpha", Positive(10.0), widget=_bind_optional("theory_lr"))
    )
    theory_beta: float | None = declare(
        None, Plain("tbeta", Float(0.0, 0.9999), widget=_bind_optional("theory_beta"))
    )
    theory_lambda: str = declare(
        "min", Plain("lam", Choice(lambda _c: LAMBDAS), widget=Key(K("theory_lambda")))
    )
    range_min: float = declare(
        1e-6, Plain("lrmin", Positive(10.0), widget=Key(K("range_min"), float))
    )
    range_max: float = declare(
        10.0, Plain("lrmax", RangeTop(10.0), widget=Key(K("range_max"), float))
    )
    range_steps: int = declare(
        200, Plain("rsteps", Int(10, MAX_RANGE_STEPS), widget=Key(K("range_steps"), int))
    )
    large_fonts: bool = room.large_fonts()
    dark: bool = room.dark()
    embed: bool = room.embed()


CODEC: Codec[MapsState] = Codec(
    MapsState,
    "maps",
    contexts=(
        {},
        {"surface": "himmelblau", "opt": "sgd,adam", "x": "lr", "y": "steps", "view": "basin"},
        {"surface": "linear_regression", "opt": "momentum,rmsprop", "y": "batch_size"},
    ),
)
decode = CODEC.decode
encode = CODEC.encode

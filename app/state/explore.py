"""The Explore page's whole state as one plain value, and how each field lives in the URL.

Everything a race depends on is a field of :class:`ExploreState`, declared once: its default,
its name in the URL, its validation (every range and choice comes from the core's metadata:
``surfaces.SPECS`` params, optimizer and schedule ``Hyper``s) and the widget that shows it. A
URL, a lesson (app/presets.py) and the widgets therefore describe the same thing, and
:data:`CODEC` reads and writes links from these declarations (app/state/codec.py).
Pure Python: no streamlit import.

Query keys (only fields that differ from ``ExploreState()`` are written)::

    surface=ravine              ravine.noise=0.3        <surface>.<param>
    surface=custom  custom.formula=x^2%2B3*y^2  custom.x_min=-2     a typed formula
    opt=sgd,momentum,adam       adam.lr=0.003           <optimizer>.<hyper>
    shared=1  lr=0.05  beta=0.9  rho=0.9  beta2=0.999   global controls
    start=-1.5,2  swarm=8  steps=300  batch=4  seed=7   run settings
    sched=step  sched.step_size=50                      learning-rate schedule
    lrs=0.01,0.5  batches=1,2,4                         the same optimizer side by side
    3d=1  big=1  dark=1  embed=true                     view (embed: presenter mode)
    explain=adam  conv=ema                              step-by-step maths panel
    lesson=nesterov                                     the lesson whose note is shown
    v=2                                                 the link format (codec.Codec)

A link without ``v`` predates link versions: an optimizer it names without a learning rate runs
torch's default, as it did then. From ``v=2`` on, such an optimizer starts from the page's value
for the surface (:data:`PAGE_HYPER`), exactly as a plain visit does.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import optimizers
import surfaces
from app.state import codec, view
from app.state import schedule as lr_schedule
from app.state.codec import (
    Bad,
    Binder,
    Bool,
    Choice,
    Codec,
    Ctx,
    Int,
    Key,
    OwnedParams,
    Params,
    Plain,
    Scalar,
    Session,
    declare,
    fmt,
    parse_float,
    parse_int,
)
from app.state.keys import EXPLORE as K
from app.state.training import (
    FULL,
    LearningRates,
    OptimizerList,
    RoleValue,
    hyper_store,
    momentum_conventions,
    optimizer_hypers,
    optimizer_names,
    role_switch,
)

MAX_STEPS = 2000  # the steps slider's top (0 = just the start)
MAX_SWARM = 12
MAX_BATCH_SIZES = 4
MAX_SEED = 2**32 - 1
COORD_LIMIT = 1e6  # a start must also lie inside the surface's divergence box


# ---------------------------------------------------------------- metadata from the core


def surface_params(name: str) -> dict[str, Any]:
    """The surface's ``Param``s by name, in declaration order."""
    params = surfaces.SPECS[name].params
    items = params.values() if isinstance(params, Mapping) else params
    return {p.name: p for p in items}


@functools.lru_cache(maxsize=64)
def _surface(name: str, params: tuple[tuple[str, Scalar], ...]) -> surfaces.Surface:
    return surfaces.get(name, **dict(params))


def surface_of(ctx: Ctx) -> surfaces.Surface:
    """The surface the fields decoded so far describe."""
    return _surface(ctx["surface"], tuple(sorted(ctx["surface_params"].items())))


def start_owner(name: str, params: Mapping[str, Any]) -> str:
    """What a start belongs to: the surface and, for a typed formula, its text (another f is
    another surface: the start goes back to its default; other parameters keep the start)."""
    spec = surfaces.SPECS.get(name)
    typed = [p for p in spec.params if p.kind == "text"] if spec is not None else []
    return "\n".join([name, *(str(params.get(p.name, p.default)) for p in typed)])


def n_samples(state: ExploreState) -> int:
    """N of the state's surface (with its parameters)."""
    return int(surfaces.get(state.surface, **state.surface_params).n_samples)


# ---------------------------------------------------------------- parsers of this page


def _check_surface(values: dict[str, Scalar], ctx: Ctx) -> None:
    try:
        surfaces.get(ctx["surface"], **values)
    except ValueError as exc:
        raise Bad(str(exc)) from None


@dataclass(frozen=True)
class Start:
    """Two numbers like -1.5,2 inside the surface's divergence box."""

    def __call__(self, raw: str, ctx: Ctx) -> tuple[float, float]:
        parts = raw.split(",")
        if len(parts) != 2:
            raise Bad("expected two numbers like -1.5,2")
        (x0, x1), (y0, y1) = surface_of(ctx).box
        x = parse_float(parts[0].strip(), max(x0, -COORD_LIMIT), min(x1, COORD_LIMIT))
        y = parse_float(parts[1].strip(), max(y0, -COORD_LIMIT), min(y1, COORD_LIMIT))
        return (x, y)

    def examples(self, ctx: Ctx) -> list[str]:
        (x0, x1), (y0, y1) = surface_of(ctx).bounds
        return [f"{x0 + (x1 - x0) / 4!r},{y1 - (y1 - y0) / 3!r}", "0.0,0.0"]


@dataclass(frozen=True)
class BatchSizes:
    """1 to MAX_BATCH_SIZES distinct batch sizes, each from 1 to the surface's N."""

    def __call__(self, raw: str, ctx: Ctx) -> tuple[int, ...]:
        n = surface_of(ctx).n_samples
        parts = [p.strip() for p in raw.split(",")]
        if not parts or len(parts) > MAX_BATCH_SIZES:
            raise Bad(f"expected 1 to {MAX_BATCH_SIZES} batch sizes, each from 1 to {n}")
        vals = tuple(parse_int(p, 1, n) for p in parts)
        if len(set(vals)) != len(vals):
            raise Bad("a batch size is listed twice")
        return vals

    def examples(self, ctx: Ctx) -> list[str]:
        n = surface_of(ctx).n_samples
        return ["1", f"1,{n}"] if n > 1 else ["1"]


def _joined(value: Any) -> str:
    return ",".join(fmt(v) for v in value)


# ---------------------------------------------------------------- widgets of this page


hyper_key = K.hyper
surface_key = K.surface_param
START_SURFACE = K("_start_surface")
HYPER_SURFACE = K("_hyper_surface")  # the surface whose page values the settings started from


def _bind_surface_params(ss: Session, value: Any, state: Any) -> None:
    """Unlisted parameters go back to their defaults."""
    if state.surface in surfaces.SPECS:
        for p in surface_params(state.surface).values():
            ss[surface_key(state.surface, p.name)] = value.get(p.name, p.default)


def _bind_hyper(ss: Session, value: Any, state: Any) -> None:
    """Into the store: the widget of the optimizer shown re-reads it when drawn.

    The chosen optimizers get the state's values; the others the page's values for the
    state's surface (what they start from when picked later, as on a plain visit)."""
    store = hyper_store(ss, K)
    for opt in optimizers.names():
        own = value.get(opt, {}) if opt in state.optimizers else page_defaults(state.surface, opt)
        for h in optimizers.get(opt).hypers:
            store[hyper_key(opt, h.name)] = own.get(h.name, h.default)
            ss.pop(hyper_key(opt, h.name), None)
    ss[HYPER_SURFACE] = state.surface  # the page's values the store started from


def _bind_start(ss: Session, value: Any, state: Any) -> None:
    if value is not None:
        ss[K("start_x")], ss[K("start_y")] = float(value[0]), float(value[1])
        ss[START_SURFACE] = start_owner(state.surface, state.surface_params)
    else:
        ss.pop(START_SURFACE, None)  # the start widgets reset to the surface's default start


def _bind_role(role: str) -> Binder:
    def bind(ss: Session, value: Any, _state: Any) -> None:
        ss[role_switch(role, K)] = value is not None
        if value is not None:
            ss[K(role)] = float(value)

    return bind


def _full(value: Any) -> Any:
    return FULL if value is None else int(value)


LESSON_KEY = K("lesson")


def lesson_keys(_ctx: Ctx | None = None) -> list[str]:
    """The lessons that open on this page, in course order."""
    from app import presets  # the lessons hold Explore states: read them lazily

    return [p.key for p in presets.course("explore")]


def _role(role: str) -> Plain:
    return Plain(role, RoleValue(role), widget=_bind_role(role))


# ---------------------------------------------------------------- the state


@dataclass
class ExploreState:
    """One complete, reproducible race.

    ``hyper[opt][name]`` holds each selected optimizer's own hyperparameters (torch keywords;
    Adam's betas split as ``beta1``/``beta2``). When ``shared_lr`` is on, ``lr`` overrides every
    optimizer's learning rate. ``beta``, ``rho`` and ``beta2`` are the course's global controls:
    when ``None`` each optimizer keeps its own value, otherwise they drive every hyperparameter
    whose role is "beta", "rho" or "beta2". ``compare_lrs`` / ``compare_batch_sizes``: the same
    optimizer side by side (app/presets.py: run_variants).

    Each field: default, then its declaration (URL key, validation, widget); in the order
    they are read, so a field may depend on the ones above it.
    """

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
        (), Plain("opt", OptimizerList(), widget=Key(K("optimizers"), list), show=_joined)
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
            defaults=lambda c, o: page_defaults(c["surface"], o),
        ),
    )
    shared_lr: bool = declare(False, Plain("shared", Bool(), widget=Key(K("shared_lr"), bool)))
    lr: float = declare(
        0.01, Plain("lr", RoleValue("lr"), widget=Key(K("lr"), float, also=(K("_lr"),)))
    )
    beta: float | None = declare(None, _role("beta"))
    rho: float | None = declare(None, _role("rho"))
    beta2: float | None = declare(None, _role("beta2"))
    start: tuple[float, float] | None = declare(  # None: the surface's default start
        None, Plain("start", Start(), widget=_bind_start, show=_joined)
    )
    swarm: int = declare(1, Plain("swarm", Int(1, MAX_SWARM), widget=Key(K("swarm"), int)))
    steps: int = declare(200, Plain("steps", Int(0, MAX_STEPS), widget=Key(K("steps"), int)))
    batch_size: int | None = declare(  # None: full batch
        None,
        Plain("batch", Int(1, lambda c: surface_of(c).n_samples), widget=Key(K("batch"), _full)),
    )
    seed: int = declare(0, Plain("seed", Int(0, MAX_SEED), widget=Key(K("seed"), int)))
    schedule: str = lr_schedule.name(K)
    schedule_params: dict[str, Scalar] = lr_schedule.params(K)
    view_3d: bool = declare(False, Plain("3d", Bool(), widget=Key(K("view_3d"), bool)))
    large_fonts: bool = view.large_fonts()
    dark: bool = view.dark()
    embed: bool = view.embed()  # presenter / embed mode: controls hidden, chart enlarged
    explain_optimizer: str | None = declare(  # the step-by-step maths panel's optimizer
        None,
        Plain("explain", Choice(lambda c: c["optimizers"]), widget=Key(K("explain_optimizer"))),
    )
    momentum_convention: str = declare(
        "torch",
        Plain(
            "conv",
            Choice(lambda _c: momentum_conventions()),
            widget=Key(K("momentum_convention")),
        ),
    )
    compare_lrs: tuple[float, ...] = declare(
        (), Plain("lrs", LearningRates(), widget=Key(K("compare_lrs"), tuple), show=_joined)
    )
    compare_batch_sizes: tuple[int, ...] = declare(
        (),
        Plain("batches", BatchSizes(), widget=Key(K("compare_batch_sizes"), tuple), show=_joined),
    )
    lesson: str | None = declare(  # the lesson whose "what to watch" note is shown
        None, Plain("lesson", Choice(lesson_keys), widget=Key(LESSON_KEY))
    )


LINK_VERSION = 2  # 2: a chosen optimizer's missing setting means the page's value (PAGE_HYPER)
DISPLAY_FIELDS = ("view_3d", *view.VIEW_FIELDS)  # how the page looks; a lesson leaves them be

CODEC: Codec[ExploreState] = Codec(
    ExploreState,
    "explore",
    version=LINK_VERSION,
    display=DISPLAY_FIELDS,
    contexts=(
        {},
        {"surface": "linear_regression", "opt": "sgd,momentum,adam", "sched": "step"},
        {"surface": "rosenbrock", "opt": "rmsprop,adadelta", "sched": "plateau"},
        {"surface": "custom", "opt": "sgd,adam"},  # a typed formula: custom.formula=...
    ),
)
KEYS = CODEC.keys()  # field name -> URL key, for the fields under one key
decode = CODEC.decode
encode = CODEC.encode
canonical = CODEC.canonical
query_string = codec.query_string


def href(state: ExploreState) -> str:
    """A relative link, from any page, that opens ``state`` on Explore (the app's root URL,
    whatever path the app is served under; ``explore`` itself is no page address)."""
    return "./?" + query_string(encode(state))  # Explore is the default page: the app's root


MAX_VALUE_LEN = codec.MAX_VALUE_LEN
MAX_WARNINGS = codec.MAX_WARNINGS


# The Explore page's first race on each surface. torch's default learning rates (Adam's 0.001,
# SGD's 0.001) barely move within the default steps, so the page starts every optimizer from
# its own learning rate for the surface on screen: PAGE_HYPER[optimizer] everywhere, except
# where SURFACE_HYPER[surface][optimizer] says otherwise. They are chosen so that each surface's
# first race shows what its one-line description says (tests/test_first_races.py checks it).
# The core's metadata keeps torch's defaults; the About card names both.
#
# These tables are part of the link format: from version 2 on, a link that names an optimizer
# but not its learning rate means the page's value for that surface (see codec.OwnedParams), so
# a hand-written ``?opt=sgd`` runs the race the page shows. Changing a value here changes what
# existing version-2 links mean: raise LINK_VERSION and keep the old tables for the old version.
PAGE_HYPER: dict[str, dict[str, Scalar]] = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.003},
    "nesterov": {"lr": 0.003},
    "rmsprop": {"lr": 0.03},
    "adam": {"lr": 0.1},
    "adamw": {"lr": 0.05},
    "nadam": {"lr": 0.05},
    "radam": {"lr": 0.1},
    "adamax": {"lr": 0.05},
    "adagrad": {"lr": 0.3},
    "lion": {"lr": 0.03},
}


def _rates(**lr: float) -> dict[str, dict[str, Scalar]]:
    """A surface's learning rates; finite differences (gradient descent on a numeric
    gradient) takes gradient descent's."""
    out: dict[str, dict[str, Scalar]] = {name: {"lr": v} for name, v in lr.items()}
    if "sgd" in lr:
        out.setdefault("finite_difference", {"lr": lr["sgd"]})
    return out


SURFACE_HYPER: dict[str, dict[str, dict[str, Scalar]]] = {
    # every optimizer arrives (the easy case)
    "quadratic_bowl": _rates(sgd=0.05, momentum=0.01, nesterov=0.01, rmsprop=0.05, adam=0.1),
    # gradient descent's step is large enough to zig-zag from wall to wall
    "ravine": _rates(sgd=0.07, momentum=0.01, nesterov=0.01, rmsprop=0.1, adam=0.3),
    # everyone slides to the saddle, lingers, then leaves downhill (and the plot)
    "saddle": _rates(sgd=0.02, momentum=0.002, nesterov=0.002, rmsprop=0.01, adam=0.02),
    "saddle_escape": _rates(sgd=0.1, momentum=0.01, nesterov=0.01, rmsprop=0.01, adam=0.05),
    # every optimizer settles in the nearer, shallower well
    "multi_minima": _rates(sgd=0.3, momentum=0.05, nesterov=0.05, rmsprop=0.05, adam=0.1),
    # all reach the banana's floor; none gets along it to (1, 1) in 200 steps
    "rosenbrock": _rates(
        sgd=0.0015, momentum=0.0005, nesterov=0.0005, rmsprop=0.02, adam=0.1, radam=0.007
    ),
    "beale": _rates(sgd=0.01, momentum=0.002, nesterov=0.002, rmsprop=0.01, adam=0.05, radam=0.01),
    "himmelblau": _rates(
        sgd=0.01, momentum=0.002, nesterov=0.002, rmsprop=0.05, adam=0.1, radam=0.05
    ),
    # gradient descent is trapped at once; RMSprop hops a few bumps towards the centre
    "rastrigin": _rates(
        sgd=0.002, momentum=0.005, nesterov=0.002, rmsprop=0.1, adam=0.1, radam=0.01
    ),
    # two basins win: the momentum methods reach a global minimum, the others a local one
    "six_hump_camel": _rates(sgd=0.02, momentum=0.07, nesterov=0.05, rmsprop=0.02, adam=0.05),
    "linear_regression": _rates(sgd=0.01, momentum=0.003, nesterov=0.003, rmsprop=0.03, adam=0.1),
    "logistic_regression": _rates(sgd=0.5, momentum=0.1, nesterov=0.1, rmsprop=0.05, adam=0.1),
}


def page_defaults(surface: str, optimizer: str) -> dict[str, Scalar]:
    """The values a plain visit starts ``optimizer`` from on ``surface`` (where they are not
    torch's): the learning rate of that surface's first race."""
    return dict(PAGE_HYPER.get(optimizer, {})) | dict(
        SURFACE_HYPER.get(surface, {}).get(optimizer, {})
    )


def page_table(surface: str) -> dict[str, dict[str, Scalar]]:
    """optimizer -> its page values on ``surface`` (for the widgets and the About cards)."""
    return {n: page_defaults(surface, n) for n in optimizers.names()}


def follow_surface(ss: Session, surface: str) -> None:
    """The visitor picked another surface: every setting still at the page's value for the
    previous surface moves to the page's value for this one (so its first race is the page's),
    while the settings the visitor changed stay as they are."""
    before = ss.get(HYPER_SURFACE)
    ss[HYPER_SURFACE] = surface
    if before is None or before == surface or before not in surfaces.SPECS:
        return
    store = hyper_store(ss, K)
    for opt in optimizers.names():
        old, new = page_defaults(str(before), opt), page_defaults(surface, opt)
        for h in optimizers.get(opt).hypers:
            key = hyper_key(opt, h.name)
            was = old.get(h.name, h.default)
            if new.get(h.name, h.default) != was and ss.get(key, store.get(key, was)) == was:
                store[key] = new.get(h.name, h.default)
                ss.pop(key, None)


def page_hyper(surface: str, names: Iterable[str]) -> dict[str, dict[str, Scalar]]:
    """``ExploreState.hyper`` of a plain visit racing ``names`` on ``surface``."""
    out = {}
    for n in names:
        torch_defaults = optimizers.get(n).defaults()
        own = {h: v for h, v in page_defaults(surface, n).items() if torch_defaults.get(h) != v}
        if own:
            out[n] = own
    return out

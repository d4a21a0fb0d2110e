"""The Networks page's whole state as one plain value, and how each field lives in the URL.

Everything the page shows depends only on :class:`NetworksState`: the data set and the network
(every TensorFlow Playground control), the optimizers and their settings (the same controls as
Explore, from the core's metadata), the training (epochs, batching, seed, schedule) and which
views are open and what they look at. Each field is declared once: default, URL key,
validation (ranges from ``surfaces.datasets.SPECS``, ``surfaces.network`` and the optimizers'
``Hyper``s) and the widget that shows it; :data:`CODEC` builds share links from it.
Pure Python: no streamlit import.

Query keys (only fields that differ from ``NetworksState()`` are written)::

    data=spiral  n=400  noise=0.2  ratio=0.7  dseed=3     the data set
    test=1  discrete=1                                    show test data, discretise output
    feat=x,y,x2  hidden=8,4  act=tanh  reg=l2  rate=0.01  the network
    init=zeros  bce=logits
    opt=sgd,adam  adam.lr=0.003  shared=1 lr=0.1 beta=0.9 the optimizers (as on Explore)
    epochs=500  batch=2  shuffle=1  batches=4,1,2  seed=7 the training
    lrs=10,1,0.1                                          the same optimizer side by side
    sched=step  sched.step_size=50                        learning-rate schedule
    views=curves,often  plane=random  centre=adam         the views and what they show
    focus=adam  at=120  w=3  inits=200  target=0.01
    big=1  dark=1  embed=true                             view options of every page

``hyper`` holds only what differs from the page's starting values (:data:`PAGE_HYPER`: the
lesson's learning rates), so a plain visit has a bare link.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import optimizers
from app.state import schedule as lr_schedule
from app.state import view
from app.state.codec import (
    Bad,
    Bool,
    Choice,
    Codec,
    Ctx,
    Float,
    Int,
    Key,
    OwnedParams,
    Plain,
    Scalar,
    Session,
    declare,
    fmt,
    parse_int,
    shown,
)
from app.state.keys import NETWORKS as K
from app.state.training import (
    FULL,
    LearningRates,
    RoleValue,
    hyper_store,
    momentum_conventions,
    optimizer_hypers,
    optimizer_names,
    role_switch,
)
from surfaces import datasets
from surfaces.network import ACTIVATIONS, BCE_FORMS, FEATURES, INITS, MAX_LAYERS, MAX_UNITS
from surfaces.network import REGULARIZATIONS as REGS

MAX_EPOCHS = 5000
MAX_RUN_STEPS = 20_000  # optimizer steps per run (epochs x batches per epoch)
MAX_SEED = 2**32 - 1
MAX_COMPARE = 3  # batching schemes side by side
MAX_INITS = 1000
DEFAULT_INITS = 200
RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # TensorFlow Playground's
VIEWS: dict[str, str] = {  # key -> title, in page order
    "curves": "Loss and accuracy",
    "landscape": "Loss landscape",
    "inside": "Inside one network",
    "maths": "Step-by-step maths",
    "often": "How often does it work",
    "export": "Export",
    "about": "About the optimizers",
}
DEFAULT_VIEWS = ("curves", "landscape", "inside", "maths")
PLANES = ("pca", "random")
DEFAULT_OPTIMIZERS = tuple(n for n in optimizers.DEFAULT_SET if n in optimizers.names())

# The lesson's learning rates (lesson 002 trains the XOR network with each of these); every
# other optimizer starts where it visibly learns XOR within the default 1,000 epochs.
PAGE_HYPER: dict[str, dict[str, Scalar]] = {
    "sgd": {"lr": 0.1},
    "momentum": {"lr": 0.1},
    "nesterov": {"lr": 0.1},
    "adagrad": {"lr": 0.1},
    "rmsprop": {"lr": 0.01},
    "adam": {"lr": 0.01},
    "adamw": {"lr": 0.01},
    "nadam": {"lr": 0.01},
    "radam": {"lr": 0.01},
    "adamax": {"lr": 0.01},
    "lion": {"lr": 0.001},
    "finite_difference": {"lr": 0.1},
}


def page_default(optimizer: str, hyper: str) -> Scalar:
    """Where a plain visit starts ``optimizer``'s ``hyper``: the page's value, else torch's."""
    h = optimizer_hypers(optimizer)[hyper]
    value: Scalar = PAGE_HYPER.get(optimizer, {}).get(hyper, h.default)
    return value


# ---------------------------------------------------------------- the data set and network


def spec(name: str) -> datasets.DatasetSpec:
    return datasets.SPECS[name]


def data_spec(ctx: Ctx) -> datasets.DatasetSpec:
    return spec(ctx["dataset"])


def n_points(ctx: Ctx) -> int:
    n = ctx.get("n_points")
    return int(data_spec(ctx).n_default if n is None else n)


def train_ratio(ctx: Ctx) -> float:
    r = ctx.get("train_ratio")
    return float(data_spec(ctx).ratio_default if r is None else r)


def n_train(ctx: Ctx) -> int:
    """Training points: the first floor(N x ratio) of the shuffled set (surfaces.datasets)."""
    return math.floor(n_points(ctx) * train_ratio(ctx))


def features_of(ctx: Ctx) -> tuple[str, ...]:
    f = ctx.get("features")
    return tuple(data_spec(ctx).features if f is None else f)


def hidden_of(ctx: Ctx) -> tuple[int, ...]:
    h = ctx.get("hidden")
    return tuple(data_spec(ctx).hidden if h is None else h)


def sizes_of(ctx: Ctx) -> tuple[int, ...]:
    return (len(features_of(ctx)), *hidden_of(ctx), 1)


def dim_of(ctx: Ctx) -> int:
    """D, the number of parameters of the network the fields describe."""
    return sum(o * i + o for i, o in pairwise(sizes_of(ctx)))


def steps_per_epoch(n: int, batch: int | None) -> int:
    """Batches per epoch: ceil(N / B) (the last one shorter), 1 for the full batch."""
    if batch is None or n <= 0 or batch >= n:
        return 1
    return -(-n // batch)


def run_labels(ctx: Ctx) -> list[str]:
    """Every run the page draws: each optimizer, times each compared learning rate, times
    each compared batch size: ``adam``, ``sgd@lr=0.5``, ``sgd@B=1``, ``sgd@lr=0.5,B=1``."""
    lrs = ctx.get("compare_lrs") or (None,)
    sizes = ctx.get("compare_batch_sizes") or (None,)
    out = []
    for o in ctx["optimizers"]:
        for lr in lrs:
            for b in sizes:
                tags = ([] if lr is None else [f"lr={lr:.10g}"]) + ([] if b is None else [f"B={b}"])
                out.append(o + ("@" + ",".join(tags) if tags else ""))
    return out


# ---------------------------------------------------------------- parsers of this page


@dataclass(frozen=True)
class DataInt:
    """A whole number in the data set's range of points (train + test)."""

    def __call__(self, raw: str, ctx: Ctx) -> int:
        lo, hi = data_spec(ctx).n_range
        return parse_int(raw, lo, hi)

    def examples(self, ctx: Ctx) -> list[str]:
        lo, hi = data_spec(ctx).n_range
        return sorted({str(lo), str(hi), str((lo + hi) // 2)})


@dataclass(frozen=True)
class DataFloat:
    """A number in the data set's range of ``which`` ("noise_range" or "ratio_range")."""

    which: str

    def __call__(self, raw: str, ctx: Ctx) -> float:
        lo, hi = getattr(data_spec(ctx), self.which)
        return Float(lo, hi)(raw, ctx)

    def examples(self, ctx: Ctx) -> list[str]:
        lo, hi = getattr(data_spec(ctx), self.which)
        return [repr(float(v)) for v in sorted({lo, hi, round((lo + hi) / 2, 3)})]


def _names(raw: str) -> list[str]:
    return [p.strip() for p in raw.split(",") if p.strip()]


@dataclass(frozen=True)
class FeatureList:
    """Input features separated by commas, at least one, each once (x,y,x2,sin_x, ...)."""

    def __call__(self, raw: str, _ctx: Ctx) -> tuple[str, ...]:
        names = _names(raw)
        bad = [n for n in names if n not in FEATURES]
        if bad:
            raise Bad(f"unknown feature {shown(bad[0])} (known: {', '.join(FEATURES)})")
        if not names or len(set(names)) != len(names):
            raise Bad(f"expected distinct features separated by commas from {', '.join(FEATURES)}")
        return tuple(f for f in FEATURES if f in names)  # canonical order

    def examples(self, _ctx: Ctx) -> list[str]:
        return ["x", "x,y,x2,y2", ",".join(FEATURES)]


NO_HIDDEN = "-"  # the link's spelling of a network without hidden layers


@dataclass(frozen=True)
class HiddenLayers:
    """Units per hidden layer, e.g. 8,4: at most MAX_LAYERS layers of 1 to MAX_UNITS units."""

    def __call__(self, raw: str, _ctx: Ctx) -> tuple[int, ...]:
        if raw.strip() == NO_HIDDEN:
            return ()
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) > MAX_LAYERS:
            raise Bad(f"at most {MAX_LAYERS} hidden layers")
        return tuple(parse_int(p, 1, MAX_UNITS) for p in parts)

    def examples(self, _ctx: Ctx) -> list[str]:
        return [NO_HIDDEN, "8", "32,32,32,32,32,32", "3,5"]


def _hidden_text(value: Any) -> str:
    return ",".join(str(v) for v in value) if value else NO_HIDDEN


@dataclass(frozen=True)
class NameList:
    """Names from ``options(ctx)`` separated by commas, each once; ``-`` for none."""

    options: Any  # Callable[[Ctx], Sequence[str]]
    what: str
    most: int

    def __call__(self, raw: str, ctx: Ctx) -> tuple[str, ...]:
        if raw.strip() == NO_HIDDEN:
            return ()
        known = list(self.options(ctx))
        names = _names(raw)
        bad = [n for n in names if n not in known]
        if bad:
            raise Bad(f"unknown {self.what} {shown(bad[0])} (known: {', '.join(known)})")
        if not names:
            raise Bad(f"expected {self.what} names separated by commas")
        if len(set(names)) != len(names):
            raise Bad(f"a {self.what} is listed twice")
        if len(names) > self.most:
            raise Bad(f"at most {self.most} {self.what}s")
        return tuple(names)

    def examples(self, ctx: Ctx) -> list[str]:
        known = list(self.options(ctx))
        return [NO_HIDDEN, known[0], ",".join(known[: self.most])]


def _list_text(value: Any) -> str:
    return ",".join(str(v) for v in value) if value else NO_HIDDEN


@dataclass(frozen=True)
class BatchSize:
    """A batch size from 1 to the number of training points."""

    def __call__(self, raw: str, ctx: Ctx) -> int:
        return parse_int(raw, 1, max(1, n_train(ctx)))

    def examples(self, ctx: Ctx) -> list[str]:
        n = max(1, n_train(ctx))
        return sorted({"1", str(max(1, n // 2))})


@dataclass(frozen=True)
class BatchSizes:
    """1 to MAX_COMPARE distinct batch sizes, each from 1 to N (N: the full batch)."""

    def __call__(self, raw: str, ctx: Ctx) -> tuple[int, ...]:
        n = max(1, n_train(ctx))
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) > MAX_COMPARE:
            raise Bad(f"expected 1 to {MAX_COMPARE} batch sizes, each from 1 to {n}")
        vals = tuple(parse_int(p, 1, n) for p in parts)
        if len(set(vals)) != len(vals):
            raise Bad("a batch size is listed twice")
        return vals

    def examples(self, ctx: Ctx) -> list[str]:
        n = max(1, n_train(ctx))
        return [f"{n},1,2" if n > 2 else "1", "1"]


@dataclass(frozen=True)
class WeightIndex:
    """A parameter index of the network the fields describe: 0 to D - 1."""

    def __call__(self, raw: str, ctx: Ctx) -> int:
        return parse_int(raw, 0, dim_of(ctx) - 1)

    def examples(self, ctx: Ctx) -> list[str]:
        return sorted({"0", str(dim_of(ctx) - 1)})


def _joined(value: Any) -> str:
    return ",".join(fmt(v) for v in value)


# ---------------------------------------------------------------- widgets of this page

hyper_key = K.hyper


def _bind_hyper(ss: Session, value: Any, _state: Any) -> None:
    """Into the page's store of every optimizer's settings (the shown optimizer's widget
    re-reads it when drawn); what the state leaves out starts at the page's value."""
    store = hyper_store(ss, K)
    for opt in optimizers.names():
        own = value.get(opt, {})
        for h in optimizers.get(opt).hypers:
            store[hyper_key(opt, h.name)] = own.get(h.name, page_default(opt, h.name))
            ss.pop(hyper_key(opt, h.name), None)


def _bind_problem(ss: Session, value: Any, _state: Any) -> None:
    ss[K("dataset")] = ss[K("_dataset")] = value
    if value in datasets.SPECS:
        ss[K("problem")] = datasets.SPECS[value].problem


def _bind_hidden(ss: Session, value: Any, state: Any) -> None:
    layers = hidden_of({"dataset": state.dataset, "hidden": value})
    ss[K("layers")] = len(layers)
    for i in range(MAX_LAYERS):
        ss[K(f"units{i}")] = layers[i] if i < len(layers) else 4


def _bind_optional(key: str, to_widget: Any, default_of: Any) -> Any:
    """A field whose None means the data set's own value: the widget shows that value."""

    def bind(ss: Session, value: Any, state: Any) -> None:
        ss[key] = to_widget(default_of(state) if value is None else value)

    return bind


def _optional(key: str, to_widget: Any = lambda v: v) -> Any:
    """A field whose None means "the page's choice": no value in its widget (it then shows
    the default the page computes), else the value."""

    def bind(ss: Session, value: Any, _state: Any) -> None:
        if value is None:
            ss.pop(key, None)
        else:
            ss[key] = to_widget(value)

    return bind


def _bind_role(role: str) -> Any:
    """The switch "one shared β / ρ / β₂" and, while on, its value (the shared widgets'
    keys, as on Explore: app/widgets/training.py)."""

    def bind(ss: Session, value: Any, _state: Any) -> None:
        ss[role_switch(role, K)] = value is not None
        if value is not None:
            ss[K(role)] = float(value)

    return bind


def _full(value: Any) -> Any:
    return FULL if value is None else int(value)


def _role(role: str) -> Plain:
    return Plain(role, RoleValue(role), widget=_bind_role(role))


def _percent(value: float) -> int:
    return round(100 * value)


# ---------------------------------------------------------------- the state


@dataclass
class NetworksState:
    """One complete, reproducible training of small networks with several optimizers.

    ``None`` in ``n_points``, ``train_ratio``, ``features`` and ``hidden`` means the data
    set's own value (``surfaces.datasets.SPECS``); ``batch_size`` None is the full batch,
    ``shuffle`` False walks the batches in order (the lesson's ``for i in range(0, N, B)``),
    True draws a fresh permutation every epoch (``DataLoader(shuffle=True)``).
    ``compare_batch_sizes`` runs every optimizer once per batch size (the lessons' three
    batching schemes side by side), ``compare_lrs`` once per learning rate.
    ``focus``/``at``/``weight`` choose the run, step and parameter of the inside view and the
    step-by-step maths (None: the first run, its last step, the first weight). Each field:
    default, then its declaration (URL key, validation, widget), in the order they are read.
    """

    dataset: str = declare(
        "xor", Plain("data", Choice(lambda _c: datasets.names()), widget=_bind_problem)
    )
    n_points: int | None = declare(
        None,
        Plain("n", DataInt(), widget=_bind_optional(K("n"), int, lambda s: n_points(vars(s)))),
    )
    noise: float = declare(
        0.0, Plain("noise", DataFloat("noise_range"), widget=Key(K("noise"), float))
    )
    train_ratio: float | None = declare(
        None,
        Plain(
            "ratio",
            DataFloat("ratio_range"),
            widget=_bind_optional(K("ratio"), _percent, lambda s: train_ratio(vars(s))),
        ),
    )
    data_seed: int = declare(0, Plain("dseed", Int(0, MAX_SEED), widget=Key(K("data_seed"), int)))
    show_test: bool = declare(False, Plain("test", Bool(), widget=Key(K("show_test"), bool)))
    discretize: bool = declare(False, Plain("discrete", Bool(), widget=Key(K("discretize"), bool)))
    features: tuple[str, ...] | None = declare(
        None,
        Plain(
            "feat",
            FeatureList(),
            widget=_bind_optional(K("features"), list, lambda s: features_of(vars(s))),
            show=_joined,
        ),
    )
    hidden: tuple[int, ...] | None = declare(
        None, Plain("hidden", HiddenLayers(), widget=_bind_hidden, show=_hidden_text)
    )
    activation: str = declare(
        "relu", Plain("act", Choice(lambda _c: ACTIVATIONS), widget=Key(K("activation")))
    )
    regularization: str = declare(
        "none", Plain("reg", Choice(lambda _c: REGS), widget=Key(K("regularization")))
    )
    rate: float = declare(0.0, Plain("rate", Float(0.0, 10.0), widget=Key(K("rate"), float)))
    init: str = declare("torch", Plain("init", Choice(lambda _c: INITS), widget=Key(K("init"))))
    bce: str = declare("torch", Plain("bce", Choice(lambda _c: BCE_FORMS), widget=Key(K("bce"))))
    optimizers: tuple[str, ...] = declare(
        DEFAULT_OPTIMIZERS,
        Plain(
            "opt",
            NameList(lambda _c: optimizers.names(), "optimizer", 14),
            widget=Key(K("optimizers"), list),
            show=_list_text,
        ),
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
    shared_lr: bool = declare(False, Plain("shared", Bool(), widget=Key(K("shared_lr"), bool)))
    lr: float = declare(
        0.1, Plain("lr", RoleValue("lr"), widget=Key(K("lr"), float, also=(K("_lr"),)))
    )
    beta: float | None = declare(None, _role("beta"))
    rho: float | None = declare(None, _role("rho"))
    beta2: float | None = declare(None, _role("beta2"))
    momentum_convention: str = declare(
        "torch",
        Plain(
            "conv",
            Choice(lambda _c: momentum_conventions()),
            widget=Key(K("momentum_convention")),
        ),
    )
    batch_size: int | None = declare(  # None: full batch
        None, Plain("batch", BatchSize(), widget=Key(K("batch"), _full))
    )
    shuffle: bool = declare(False, Plain("shuffle", Bool(), widget=Key(K("shuffle"), bool)))
    compare_batch_sizes: tuple[int, ...] = declare(
        (),
        Plain("batches", BatchSizes(), widget=Key(K("compare_batch_sizes"), list), show=_joined),
    )
    compare_lrs: tuple[float, ...] = declare(
        (), Plain("lrs", LearningRates(), widget=Key(K("compare_lrs"), list), show=_joined)
    )
    epochs: int = declare(1000, Plain("epochs", Int(0, MAX_EPOCHS), widget=Key(K("epochs"), int)))
    seed: int = declare(0, Plain("seed", Int(0, MAX_SEED), widget=Key(K("seed"), int)))
    schedule: str = lr_schedule.name(K)
    schedule_params: dict[str, Scalar] = lr_schedule.params(K)
    views: tuple[str, ...] = declare(
        DEFAULT_VIEWS,
        Plain(
            "views",
            NameList(lambda _c: tuple(VIEWS), "view", len(VIEWS)),
            widget=Key(K("views"), list),
            show=_list_text,
        ),
    )
    plane: str = declare("pca", Plain("plane", Choice(lambda _c: PLANES), widget=Key(K("plane"))))
    centre: str = declare(
        "best",
        Plain(
            "centre",
            Choice(lambda c: ("best", "start", *run_labels(c))),
            widget=Key(K("centre")),
        ),
    )
    focus: str | None = declare(
        None, Plain("focus", Choice(run_labels), widget=_optional(K("focus")))
    )
    at: int | None = declare(  # None: the last step
        None, Plain("at", Int(0, MAX_RUN_STEPS), widget=_optional(K("at"), int))
    )
    weight: int | None = declare(
        None, Plain("w", WeightIndex(), widget=_optional(K("weight"), int))
    )
    inits: int = declare(
        DEFAULT_INITS, Plain("inits", Int(2, MAX_INITS), widget=Key(K("inits"), int))
    )
    target: float | None = declare(  # None: 100 % training accuracy (classification)
        None, Plain("target", Float(1e-12, 100.0), widget=_optional(K("target"), float))
    )
    large_fonts: bool = view.large_fonts()
    dark: bool = view.dark()
    embed: bool = view.embed()


CODEC: Codec[NetworksState] = Codec(
    NetworksState,
    "networks",
    contexts=(
        {},
        {"data": "spiral", "opt": "sgd,adam", "sched": "step", "hidden": "8,4"},
        {"data": "plane", "opt": "rmsprop,adadelta", "sched": "plateau", "shuffle": "1"},
    ),
)


def context(state: NetworksState) -> dict[str, Any]:
    """The state's fields by name (what the helpers above read)."""
    return CODEC.context(state)


def effective_hypers(state: NetworksState, name: str) -> dict[str, Scalar]:
    """Optimizer ``name``'s hyperparameters: torch's defaults, the page's starting values,
    the state's own, then the shared learning rate and the global β / ρ / β₂ / convention."""
    opt = optimizers.get(name)
    out: dict[str, Scalar] = dict(opt.defaults())
    out.update(PAGE_HYPER.get(name, {}))
    own = state.hyper.get(name, {})
    roles = {"beta": state.beta, "rho": state.rho, "beta2": state.beta2}
    for h in opt.hypers:
        if h.name in own:
            out[h.name] = own[h.name]
        if h.role == "lr" and state.shared_lr:
            out[h.name] = state.lr
        elif h.role in roles and roles[h.role] is not None:
            out[h.name] = roles[h.role]  # type: ignore[assignment]
        if h.name == "convention":
            out[h.name] = state.momentum_convention
    return out


def page_hyper(values: Mapping[str, Mapping[str, Scalar]]) -> dict[str, dict[str, Scalar]]:
    """Widget values that differ from the core's defaults -> those that differ from the
    page's starting values (what ``NetworksState.hyper`` holds)."""
    out: dict[str, dict[str, Scalar]] = {}
    for opt, vals in values.items():
        defaults = {h.name: page_default(opt, h.name) for h in optimizers.get(opt).hypers}
        core = optimizers.get(opt).defaults()
        full = {**core, **vals}
        diff = {k: v for k, v in full.items() if k in defaults and v != defaults[k]}
        if diff:
            out[opt] = diff
    return out

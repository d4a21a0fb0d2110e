"""The Explore page's widgets, built from the core's metadata, and their link to AppState.

Every widget has a fixed ``st.session_state`` key (see :func:`hyper_key` and friends), so that
:func:`apply_state` can write a whole AppState into the widgets (a preset, a shared URL) and
:func:`read_state` can read it back. Widgets are drawn without a ``value=`` argument: their
value lives in session state, and :func:`_ensure` first replaces anything invalid there (an
out-of-range number from a URL, an option that no longer exists) with a valid value, so that
no combination of inputs can make a widget raise.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

import optimizers
import surfaces
from app.state import AppState, Scalar, page_default
from optimizers import Hyper
from surfaces import Param

OWN = "each own"  # the global β / ρ / β₂ controls' "leave every optimizer its own value"
FULL = "full batch"
MAX_STEPS = 2000
MAX_SWARM = 12
GLOBAL_ROLES = {"beta": "β (momentum, β₁)", "rho": "ρ (RMSprop / Adadelta decay)", "beta2": "β₂"}
BETA_OPTIONS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)
MANTISSAS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)


# ---------------------------------------------------------------- keys


def surface_key(surface: str, param: str) -> str:
    return f"sp.{surface}.{param}"


def hyper_key(opt: str, hyper: str) -> str:
    return f"hp.{opt}.{hyper}"


def schedule_key(schedule: str, param: str) -> str:
    return f"sc.{schedule}.{param}"


# ---------------------------------------------------------------- option lists


def log_options(low: float, high: float) -> list[float]:
    """1-1.5-2-3-5-7 × 10^k values from ``low`` to ``high`` (both included)."""
    out = {float(low), float(high)}
    for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for m in MANTISSAS:
            v = float(f"{m * 10.0**e:.6g}")
            if low <= v <= high:
                out.add(v)
    return sorted(out)


def _with(options: Sequence[Any], value: Any) -> list[Any]:
    """``options`` plus ``value`` (kept sorted for numbers), so a URL's exact value survives."""
    opts = list(options)
    if value in opts:
        return opts
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        nums = sorted([o for o in opts if isinstance(o, int | float)] + [float(value)])
        return [o for o in opts if not isinstance(o, int | float)] + nums
    return opts


def fmt_number(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _ensure(key: str, valid: Callable[[Any], bool], default: Any) -> Any:
    """Make ``st.session_state[key]`` valid for its widget before the widget is drawn."""
    if key not in st.session_state or not valid(st.session_state[key]):
        st.session_state[key] = default
    return st.session_state[key]


def _in_range(low: float | None, high: float | None) -> Callable[[Any], bool]:
    def ok(v: Any) -> bool:
        return (
            isinstance(v, int | float)
            and not isinstance(v, bool)
            and math.isfinite(v)
            and (low is None or v >= low)
            and (high is None or v <= high)
        )

    return ok


# ---------------------------------------------------------------- generic controls


def number_control(
    key: str,
    label: str,
    *,
    default: float,
    low: float | None,
    high: float | None,
    log: bool,
    kind: str,
    help: str,
    disabled: bool = False,
    open_high: bool = False,
    open_low: bool = False,
) -> float:
    """A control for one numeric parameter: log slider, linear slider or number box."""
    hi = high
    if high is not None and open_high:
        hi = high - (1e-4 if high <= 1 else 1e-6 * abs(high))
    lo = low
    if low is not None and open_low:
        lo = low + (1e-4 if not log else low * 1e-3) if low == 0 else low
    if log:
        if lo is None or lo <= 0:  # a log slider needs a positive bottom: 3 decades below
            lo = min(float(default) / 1000, 1e-5) if float(default) > 0 else 1e-6
        top = hi if hi is not None else max(float(default) * 1000, 1.0)
        value = _ensure(key, _in_range(lo, top), float(default))
        return float(
            st.select_slider(
                label,
                options=_with(log_options(lo, top), value),
                key=key,
                format_func=fmt_number,
                help=help,
                disabled=disabled,
            )
        )
    if kind == "int":
        lo_i = int(lo) if lo is not None else 0
        hi_i = int(hi) if hi is not None else None
        _ensure(key, lambda v: _in_range(lo_i, hi_i)(v) and float(v).is_integer(), int(default))
        st.session_state[key] = int(st.session_state[key])
        return int(
            st.number_input(
                label, min_value=lo_i, max_value=hi_i, step=1, key=key, help=help, disabled=disabled
            )
        )
    if open_high and high == 1.0 and lo is not None and hi is not None and lo >= 0:
        opts = [b for b in BETA_OPTIONS if lo <= b <= hi]
        value = _ensure(key, _in_range(lo, hi), float(default))
        return float(
            st.select_slider(
                label,
                options=_with(opts, float(value)),
                key=key,
                format_func=fmt_number,
                help=help,
                disabled=disabled,
            )
        )
    if lo is not None and hi is not None:
        value = _ensure(key, _in_range(lo, hi), float(default))
        if not isinstance(value, float):
            value = st.session_state[key] = float(value)
        step = float(f"{(hi - lo) / 100:.1g}")
        return float(
            st.slider(
                label,
                min_value=float(lo),
                max_value=float(hi),
                step=step,
                key=key,
                help=help,
                disabled=disabled,
            )
        )
    _ensure(key, _in_range(lo, hi), float(default))
    st.session_state[key] = float(st.session_state[key])
    return float(
        st.number_input(
            label,
            min_value=None if lo is None else float(lo),
            max_value=None if hi is None else float(hi),
            key=key,
            help=help,
            disabled=disabled,
            format="%g",
        )
    )


def choice_control(key: str, label: str, choices: Sequence[str], default: str, help: str) -> str:
    _ensure(key, lambda v: v in choices, default)
    return str(st.selectbox(label, options=list(choices), key=key, help=help))


def bool_control(key: str, label: str, default: bool, help: str, disabled: bool = False) -> bool:
    _ensure(key, lambda v: isinstance(v, bool), bool(default))
    return bool(st.checkbox(label, key=key, help=help, disabled=disabled))


def hyper_control(
    key: str, h: Hyper, *, label: str | None = None, disabled: bool = False
) -> Scalar:
    """A control built from a core ``Hyper`` (optimizer or schedule metadata)."""
    text = label or (f"{h.name} (${h.symbol}$)" if h.symbol else h.name)
    if h.kind == "bool":
        return bool_control(key, text, bool(h.default), h.help, disabled)
    if h.kind == "choice":
        return choice_control(key, text, h.choices, str(h.default), h.help)
    return number_control(
        key,
        text,
        default=float(h.default),
        low=h.low,
        high=h.high,
        log=h.log,
        kind=h.kind,
        help=h.help,
        disabled=disabled,
        open_high=h.open_high,
        open_low=h.open_low,
    )


def param_control(key: str, p: Param) -> Scalar:
    """A control built from a surface ``Param``."""
    if p.kind == "choice":
        return choice_control(key, p.name, p.choices, str(p.default), p.help)
    return number_control(
        key,
        p.name,
        default=float(p.default),
        low=p.low,
        high=p.high,
        log=p.log,
        kind=p.kind,
        help=p.help,
    )


# ---------------------------------------------------------------- sections


def surface_ui() -> tuple[str, dict[str, Scalar]]:
    """Surface picker and its own parameters."""
    names = surfaces.names()
    _ensure(
        "surface",
        lambda v: v in names,
        AppState().surface if AppState().surface in names else names[0],
    )
    name = str(
        st.selectbox(
            "Surface",
            options=names,
            key="surface",
            format_func=lambda n: surfaces.SPECS[n].title,
        )
    )
    params: dict[str, Scalar] = {}
    spec = surfaces.SPECS[name]
    if spec.params:
        with st.expander("Surface parameters", expanded=False):
            for p in spec.params:
                value = param_control(surface_key(name, p.name), p)
                if value != p.default:
                    params[p.name] = value
    return name, params


def default_optimizers() -> list[str]:
    return [n for n in optimizers.DEFAULT_SET if n in optimizers.names()]


def optimizers_ui(shared_lr: bool) -> tuple[list[str], dict[str, dict[str, Scalar]]]:
    """Optimizer multi-select and one expander of hyperparameters per selected optimizer."""
    names = optimizers.names()
    _ensure(
        "optimizers",
        lambda v: isinstance(v, list) and all(n in names for n in v),
        default_optimizers(),
    )
    chosen = list(
        st.multiselect(
            "Optimizers",
            options=names,
            key="optimizers",
            format_func=lambda n: optimizers.get(n).title,
            help="every optimizer of the core; each gets its own colour",
        )
    )
    hyper: dict[str, dict[str, Scalar]] = {}
    if not chosen:
        return chosen, hyper
    store = _store()
    _ensure("tune", lambda v: v in chosen, chosen[0])
    tuned = st.selectbox(
        "Settings of",
        options=chosen,
        key="tune",
        format_func=lambda n: optimizers.get(n).title,
        help="each optimizer keeps its own settings; pick one to change them. Greyed-out "
        "settings follow the Training controls below (shared learning rate, β, ρ, β₂).",
    )
    more = any(not _main_hyper(h) for h in optimizers.get(tuned).hypers if h.name != "convention")
    show_all = more and bool_control(
        "all_hypers",
        "Show every setting",
        False,
        "also the rarer settings (eps, weight decay, maximize, ...); a setting that is not at "
        "its default is always shown",
    )
    for name in chosen:
        values: dict[str, Scalar] = {}
        for h in optimizers.get(name).hypers:
            if h.name == "convention":
                continue  # one global switch, see training_ui
            key = hyper_key(name, h.name)
            start = page_default(name, h.name, h.default)  # a plain visit's value
            drawn = name == tuned and (show_all or _main_hyper(h) or store.get(key, start) != start)
            if drawn:
                if key not in st.session_state and key in store:
                    st.session_state[key] = store[key]
                locked = (h.role == "lr" and shared_lr) or (
                    h.role in GLOBAL_ROLES and st.session_state.get(h.role, OWN) != OWN
                )
                shown = h if start == h.default else dataclasses.replace(h, default=start)
                value = hyper_control(key, shown, disabled=locked)
                store[key] = value
            else:  # not drawn (fewer widgets, faster reruns): the remembered value
                value = store.get(key, start)
            if value != h.default:
                values[h.name] = value
        if values:
            hyper[name] = values
    return chosen, hyper


def _main_hyper(h: Hyper) -> bool:
    """A setting drawn for every optimizer; the rarer ones wait for "Show every setting"."""
    return h.role is not None or h.name in ("momentum", "h")


def _store() -> dict[str, Scalar]:
    """Hyperparameter values of the optimizers whose controls are not drawn in this run.

    Streamlit forgets the value of a widget that is not drawn in a run, so every
    optimizer's settings are also kept here (a plain session-state entry).
    """
    store: dict[str, Scalar] = st.session_state.setdefault("_hyper_store", {})
    return store


@functools.cache
def _role_present(role: str) -> bool:
    return any(h.role == role for n in optimizers.names() for h in optimizers.get(n).hypers)


def training_ui(n_samples: int, chosen: Sequence[str]) -> dict[str, Any]:
    """The course's global controls: shared lr, β, ρ, β₂, batch, steps, seed, schedule."""
    out: dict[str, Any] = {}
    out["shared_lr"] = bool_control(
        "shared_lr", "Shared learning rate", False, "one learning rate for every optimizer"
    )
    ss = st.session_state
    if out["shared_lr"]:  # drawn only when it drives something (fewer widgets per rerun)
        if "lr" not in ss and "_lr" in ss:
            ss["lr"] = ss["_lr"]
        lr_value = _ensure("lr", _in_range(1e-5, 10.0), AppState().lr)
        out["lr"] = float(
            st.select_slider(
                "Learning rate η",
                options=_with(log_options(1e-5, 10.0), lr_value),
                key="lr",
                format_func=fmt_number,
                help="used by every optimizer while 'Shared learning rate' is on",
            )
        )
        ss["_lr"] = out["lr"]
    else:  # not drawn: the remembered value (Streamlit forgets an undrawn widget's value)
        kept = ss.get("_lr", ss.get("lr"))
        out["lr"] = float(kept) if _in_range(1e-5, 10.0)(kept) else AppState().lr
    for role, label in GLOBAL_ROLES.items():
        if not _role_present(role):
            out[role] = None
            continue
        value = _ensure(role, lambda v: v == OWN or _in_range(0.0, 0.9999)(v), OWN)
        picked = st.select_slider(
            label,
            options=[OWN, *_with(BETA_OPTIONS, value if value != OWN else 0.9)],
            key=role,
            format_func=fmt_number,
            help=f"'{OWN}': every optimizer keeps its own value; otherwise this value drives "
            f"the {role} of every optimizer that has one",
        )
        out[role] = None if picked == OWN else float(picked)
    conv = next(
        (h for n in chosen for h in optimizers.get(n).hypers if h.name == "convention"), None
    )
    if conv is not None:
        out["momentum_convention"] = choice_control(
            "momentum_convention", "Momentum convention", conv.choices, str(conv.default), conv.help
        )
    else:  # no selected optimizer has one: keep the value for when one is selected again
        out["momentum_convention"] = str(st.session_state.get("momentum_convention", "torch"))
    batch_opts: list[Any] = [*range(1, max(n_samples, 1)), FULL]
    batch = _ensure("batch", lambda v: v in batch_opts, FULL)
    batch = st.select_slider(
        f"Batch size (N = {n_samples})",
        options=batch_opts,
        key="batch",
        help="samples per gradient: 1 is SGD, 'full batch' is exact gradient descent",
    )
    out["batch_size"] = None if batch == FULL else int(batch)
    _ensure("steps", lambda v: isinstance(v, int) and 0 <= v <= MAX_STEPS, AppState().steps)
    out["steps"] = int(st.slider("Steps", 0, MAX_STEPS, step=10, key="steps"))
    _ensure("seed", lambda v: isinstance(v, int) and 0 <= v < 2**32, 0)
    out["seed"] = int(st.number_input("Random seed", 0, 2**32 - 1, step=1, key="seed"))
    names = optimizers.schedules.names()
    schedule = choice_control(
        "schedule",
        "Learning-rate schedule",
        names,
        "constant",
        "how the learning rate changes with the step (torch.optim.lr_scheduler)",
    )
    cls = optimizers.schedules.get(schedule)
    params: dict[str, Scalar] = {}
    for h in cls.hypers:
        value = hyper_control(schedule_key(schedule, h.name), h)
        if value != h.default:
            params[h.name] = value
    out["schedule"] = schedule
    out["schedule_params"] = params
    return out


def start_ui(surface: surfaces.Surface) -> dict[str, Any]:
    """Exact start coordinates (the chart click writes the same keys) and the swarm size."""
    dx, dy = surface.default_start
    if st.session_state.get("_start_surface") != surface.name:
        st.session_state["start_x"], st.session_state["start_y"] = float(dx), float(dy)
        st.session_state["_start_surface"] = surface.name
    coords = []
    for col, key, label, (lo, hi), d in zip(
        st.columns(2),
        ("start_x", "start_y"),
        surface.axis_labels,
        surface.bounds,
        (dx, dy),
        strict=True,
    ):
        _ensure(key, _in_range(lo, hi), float(d))
        coords.append(
            col.number_input(
                f"start {label}",
                min_value=float(lo),
                max_value=float(hi),
                step=(hi - lo) / 100,
                key=key,
                format="%.3f",
            )
        )
    x, y = coords
    _ensure("swarm", lambda v: isinstance(v, int) and 1 <= v <= MAX_SWARM, 1)
    swarm = int(
        st.slider(
            "Starts (swarm)",
            1,
            MAX_SWARM,
            key="swarm",
            help="1: one start; more: a ring of starts around it, every optimizer from each",
        )
    )
    start = None if (float(x), float(y)) == (float(dx), float(dy)) else (float(x), float(y))
    return {"start": start, "swarm": swarm}


def display_ui() -> dict[str, Any]:
    return {
        "view_3d": bool_control("view_3d", "3-D view", False, "the surface in 3-D with the paths"),
        "large_fonts": bool_control(
            "large_fonts", "Large fonts", False, "for a projector at the back of the room"
        ),
        "dark": bool_control("dark", "Dark figure", False, "dark chart background"),
        "embed": bool_control(
            "embed", "Presenter mode", False, "hide the controls and enlarge the chart"
        ),
    }


def layout_ui() -> bool:
    """Curves under the surface (for narrow screens); a view setting, not part of the race."""
    return bool_control(
        "stacked", "Curves under the surface", False, "for narrow screens such as a tablet"
    )


# ---------------------------------------------------------------- AppState <-> widgets


def apply_state(state: AppState) -> None:
    """Write ``state`` into the widgets' session-state keys (presets, shared links).

    Call it before the widgets are drawn in a run (or rerun afterwards). Values a widget
    cannot show are repaired by :func:`_ensure` when the widget is drawn.
    """
    ss = st.session_state
    ss["surface"] = state.surface
    spec = surfaces.SPECS.get(state.surface)
    for p in spec.params if spec else ():  # unlisted parameters go back to their defaults
        ss[surface_key(state.surface, p.name)] = state.surface_params.get(p.name, p.default)
    ss["optimizers"] = list(state.optimizers)
    store = _store()
    for opt in optimizers.names():
        own = state.hyper.get(opt, {})
        for h in optimizers.get(opt).hypers:
            store[hyper_key(opt, h.name)] = own.get(h.name, h.default)
            ss.pop(hyper_key(opt, h.name), None)  # the widget re-reads the store when drawn
    ss["shared_lr"] = bool(state.shared_lr)
    ss["lr"] = ss["_lr"] = float(state.lr)
    for role in GLOBAL_ROLES:
        value = getattr(state, role)
        ss[role] = OWN if value is None else float(value)
    ss["momentum_convention"] = state.momentum_convention
    ss["batch"] = FULL if state.batch_size is None else int(state.batch_size)
    ss["steps"] = int(state.steps)
    ss["seed"] = int(state.seed)
    ss["schedule"] = state.schedule
    if state.schedule in optimizers.schedules.names():
        for h in optimizers.schedules.get(state.schedule).hypers:
            ss[schedule_key(state.schedule, h.name)] = state.schedule_params.get(h.name, h.default)
    if state.start is not None:
        ss["start_x"], ss["start_y"] = float(state.start[0]), float(state.start[1])
        ss["_start_surface"] = state.surface
    else:
        ss.pop("_start_surface", None)  # start_ui resets to the surface's default start
    ss["swarm"] = int(state.swarm)
    ss["view_3d"] = bool(state.view_3d)
    ss["large_fonts"] = bool(state.large_fonts)
    ss["dark"] = bool(state.dark)
    ss["embed"] = bool(state.embed)
    ss["explain_optimizer"] = state.explain_optimizer

"""The page's state as a share link: ``encode`` an AppState into query parameters, ``decode`` back.

Pure Python (no streamlit). Every range and choice comes from the core's metadata
(``surfaces.SPECS`` params, optimizer ``Hyper``s, schedule ``Hyper``s); nothing here repeats a
number that the core owns. ``decode`` never raises: each bad field falls back to its default and
adds one polite warning that names the field, what was given (shortened) and what is allowed.

Query keys (only fields that differ from ``AppState()`` are written)::

    surface=ravine              ravine.noise=0.3        <surface>.<param>
    opt=sgd,momentum,adam       adam.lr=0.003           <optimizer>.<hyper>
    shared=1  lr=0.05  beta=0.9  rho=0.9  beta2=0.999   global controls
    start=-1.5,2  swarm=8  steps=300  batch=4  seed=7   run settings
    sched=step  sched.step_size=50                      learning-rate schedule
    lrs=0.01,0.5  batches=1,2,4                         the same optimizer side by side
    3d=1  big=1  dark=1  embed=true                     view (embed: presenter mode)
    explain=adam  conv=ema                              step-by-step maths panel

Round trip: ``decode(encode(s)) == (s, [])`` for every valid ``s``; ``canonical(s)`` returns the
nearest valid state (and the warnings) for any ``s``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import optimizers
import surfaces
from app.state import AppState, Scalar

MAX_VALUE_LEN = 200  # longer values are rejected unread
MAX_KEY_LEN = 60
MAX_KEYS = 300  # keys beyond this many are ignored (one warning)
MAX_OPTIMIZERS = 14
MAX_STEPS = 2000  # as app/controls.py's steps slider (0 = just the start)
MAX_SWARM = 12  # the page's swarm control goes to 12 (app/controls.py)
MAX_BATCH_SIZES = 4
MAX_LRS = 4
MAX_SEED = 2**32 - 1
MAX_WARNINGS = 12
COORD_LIMIT = 1e6  # a start must also lie inside the surface's divergence box

_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INT_RE = re.compile(r"[+-]?\d+", re.ASCII)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_DEFAULT = AppState()

# field name -> query key for the plain fields (dict-valued fields use prefixed keys)
KEYS: dict[str, str] = {
    "surface": "surface",
    "optimizers": "opt",
    "shared_lr": "shared",
    "lr": "lr",
    "beta": "beta",
    "rho": "rho",
    "beta2": "beta2",
    "start": "start",
    "swarm": "swarm",
    "steps": "steps",
    "batch_size": "batch",
    "seed": "seed",
    "schedule": "sched",
    "view_3d": "3d",
    "large_fonts": "big",
    "dark": "dark",
    "embed": "embed",
    "explain_optimizer": "explain",
    "momentum_convention": "conv",
    "compare_lrs": "lrs",
    "compare_batch_sizes": "batches",
}
SCHED_PREFIX = "sched."
GLOBAL_ROLES = ("lr", "beta", "rho", "beta2")  # AppState fields driven by Hyper.role


class _Bad(ValueError):
    """One field's value is unusable; the message says what is allowed."""


# ---------------------------------------------------------------- metadata from the core


def surface_params(name: str) -> dict[str, Any]:
    """The surface's ``Param``s by name, in declaration order."""
    params = surfaces.SPECS[name].params
    items = params.values() if isinstance(params, Mapping) else params
    return {p.name: p for p in items}


def optimizer_hypers(name: str) -> dict[str, Any]:
    """The optimizer's ``Hyper``s by name."""
    return {h.name: h for h in optimizers.get(name).hypers}


def schedule_names() -> list[str]:
    return list(optimizers.schedules.names())


def schedule_hypers(name: str) -> dict[str, Any]:
    """The schedule's ``Hyper``s by name (empty for the constant rate)."""
    return {h.name: h for h in optimizers.schedules.get(name).hypers}


def role_hypers(role: str, chosen: Iterable[str]) -> list[tuple[str, Any]]:
    """(optimizer, Hyper) pairs that a global control with ``role`` drives.

    The chosen optimizers with that role, or every optimizer when none of them has it.
    """
    names = list(chosen)
    for pool in (names, optimizers.names()):
        found = [(n, h) for n in pool for h in optimizers.get(n).hypers if h.role == role]
        if found:
            return found
    return []


def momentum_conventions() -> tuple[str, ...]:
    hyp = optimizer_hypers("momentum").get("convention")
    return tuple(hyp.choices) if hyp is not None else ("torch",)


def n_samples(state: AppState) -> int:
    """N of the state's surface (with its parameters)."""
    return int(surfaces.get(state.surface, **state.surface_params).n_samples)


# ---------------------------------------------------------------- parsing and formatting


def _shown(raw: str) -> str:
    """A short, harmless rendering of user input for a warning (shown inside a code span, so
    only a backtick could break out of it; control characters are replaced too)."""
    clean = "".join(c if c.isprintable() and c not in "`\\<>" else "?" for c in raw)
    return clean[:30] + ("…" if len(clean) > 30 else "")


def _fmt_num(v: float | None) -> str:
    return "any" if v is None else f"{v:g}"


def _range_text(low: float | None, high: float | None, what: str) -> str:
    if low is None and high is None:
        return f"expected {what}"
    return f"expected {what} from {_fmt_num(low)} to {_fmt_num(high)}"


def parse_float(raw: str, low: float | None = None, high: float | None = None) -> float:
    if not _FLOAT_RE.fullmatch(raw):
        raise _Bad(_range_text(low, high, "a finite number"))
    v = float(raw)
    if not math.isfinite(v) or (low is not None and v < low) or (high is not None and v > high):
        raise _Bad(_range_text(low, high, "a number"))
    return v


def parse_int(raw: str, low: int | None = None, high: int | None = None) -> int:
    if not _INT_RE.fullmatch(raw) or len(raw) > 20:
        raise _Bad(_range_text(low, high, "a whole number"))
    v = int(raw)
    if (low is not None and v < low) or (high is not None and v > high):
        raise _Bad(_range_text(low, high, "a whole number"))
    return v


def parse_bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise _Bad("expected 1 or 0")


def parse_choice(raw: str, choices: Iterable[str]) -> str:
    allowed = tuple(choices)
    if raw not in allowed:
        raise _Bad("expected one of " + ", ".join(allowed))
    return raw


def _allowed(meta: Any) -> str:
    if hasattr(meta, "range_text"):
        return str(meta.range_text())
    if getattr(meta, "choices", ()):
        return "one of " + ", ".join(meta.choices)
    return f"[{_fmt_num(meta.low)}, {_fmt_num(meta.high)}]"


def parse_meta(meta: Any, raw: str, check: Callable[[Any], Any] | None = None) -> Scalar:
    """Parse ``raw`` by the kind of a ``Param`` / ``Hyper``, then validate with the core's own
    ``check`` (so ranges, open ends and choices are exactly the core's)."""
    kind = getattr(meta, "kind", "float")
    value: Scalar
    if kind == "bool":
        value = parse_bool(raw)
    elif kind == "choice":
        value = raw
    else:
        value = parse_float(raw)
        if kind == "int":
            if value != round(value) or abs(value) > 2**53:
                raise _Bad(f"expected a whole number in {_allowed(meta)}")
            value = int(value)
    try:
        checked = (check or meta.check)(value)
    except (ValueError, TypeError):
        what = "a number" if kind in ("float", "int") else "a value"
        raise _Bad(f"expected {what} in {_allowed(meta)}") from None
    return int(checked) if kind == "int" else checked


def fmt(v: Any) -> str:
    """Shortest text that parses back to exactly ``v``."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


# ---------------------------------------------------------------- decode


class _Reader:
    """Hands out query values one key at a time and collects warnings."""

    def __init__(self, query: Mapping[Any, Any]) -> None:
        self.warnings: list[str] = []
        self.values: dict[str, str] = {}
        try:
            items = list(query.items())
        except Exception:
            items = []
            self.warn("The link's settings could not be read; using the defaults.")
        if len(items) > MAX_KEYS:
            self.warn(f"The link has {len(items)} settings; only the first {MAX_KEYS} were read.")
            items = items[:MAX_KEYS]
        for key, value in items:
            self._add(key, value)

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def _add(self, key: Any, value: Any) -> None:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LEN:
            shown = _shown(str(key)) if isinstance(key, str) else type(key).__name__
            self.warn(f"Ignored a setting with an unusable name (`{shown}`).")
            return
        if isinstance(value, (list, tuple)):
            vals = [v for v in value if isinstance(v, str)]
            if len(vals) != len(value) or not vals:
                self.warn(f"Ignored `{_shown(key)}`: its value is not text.")
                return
            if len(set(vals)) > 1:
                self.warn(
                    f"Ignored `{_shown(key)}`: it appears {len(vals)} times with different "
                    "values; using the default."
                )
                return
            value = vals[0]
        if not isinstance(value, str):
            self.warn(f"Ignored `{_shown(key)}`: its value is not text.")
            return
        if len(value) > MAX_VALUE_LEN:
            self.warn(
                f"Ignored `{_shown(key)}`: its value is {len(value)} characters long "
                f"(at most {MAX_VALUE_LEN}); using the default."
            )
            return
        self.values[key] = value

    def take(self, key: str) -> str | None:
        return self.values.pop(key, None)

    def field(self, key: str, parse: Callable[[str], Any], default: Any) -> Any:
        """Parse one plain key; on failure warn and return ``default``."""
        raw = self.take(key)
        if raw is None:
            return default
        try:
            return parse(raw)
        except _Bad as exc:
            self.warn(f"Ignored `{key}={_shown(raw)}`: {exc}; using {_describe(default)}.")
            return default

    def prefixed(self, prefix: str) -> dict[str, str]:
        """Pop every ``prefix<name>`` key; returns name -> raw value."""
        found = {k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix)}
        for name in found:
            del self.values[prefix + name]
        return found


def _describe(default: Any) -> str:
    if default is None or default == ():
        return "the default"
    if isinstance(default, tuple):
        return "the default (" + (", ".join(fmt(v) for v in default) or "none") + ")"
    return f"the default ({fmt(default)})"


def _parse_named(
    rd: _Reader,
    key: str,
    raws: Mapping[str, str],
    metas: Mapping[str, Any],
    owner: str | None = None,
) -> dict[str, Scalar]:
    """Validate ``{name: raw}`` against ``{name: Param|Hyper}``; warn about the rest."""
    out: dict[str, Scalar] = {}
    for name, raw in raws.items():
        meta = metas.get(name)
        if meta is None:
            rd.warn(
                f"Ignored `{key}{_shown(name)}`: no such setting (known: "
                + (", ".join(metas) or "none")
                + ")."
            )
            continue
        try:
            check = None if owner is None else (lambda v, m=meta: m.check(v, owner))
            out[name] = parse_meta(meta, raw, check)
        except _Bad as exc:
            rd.warn(f"Ignored `{key}{name}={_shown(raw)}`: {exc}; using {fmt(meta.default)}.")
    return out


def _parse_optimizers(raw: str) -> tuple[str, ...]:
    known = optimizers.names()
    names = [n.strip() for n in raw.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad:
        shown = ", ".join(_shown(b) for b in bad[:3])
        raise _Bad(f"unknown optimizer {shown} (known: {', '.join(known)})")
    if not names:
        raise _Bad("expected optimizer names separated by commas")
    if len(set(names)) != len(names):
        raise _Bad("an optimizer is listed twice")
    if len(names) > MAX_OPTIMIZERS:
        raise _Bad(f"at most {MAX_OPTIMIZERS} optimizers")
    return tuple(names)


def _parse_pair(
    raw: str, box: tuple[tuple[float, float], tuple[float, float]]
) -> tuple[float, float]:
    parts = raw.split(",")
    if len(parts) != 2:
        raise _Bad("expected two numbers like -1.5,2")
    (x0, x1), (y0, y1) = box
    x = parse_float(parts[0].strip(), max(x0, -COORD_LIMIT), min(x1, COORD_LIMIT))
    y = parse_float(parts[1].strip(), max(y0, -COORD_LIMIT), min(y1, COORD_LIMIT))
    return (x, y)


def _parse_batches(raw: str, n: int) -> tuple[int, ...]:
    parts = [p.strip() for p in raw.split(",")]
    if not parts or len(parts) > MAX_BATCH_SIZES:
        raise _Bad(f"expected 1 to {MAX_BATCH_SIZES} batch sizes, each from 1 to {n}")
    vals = tuple(parse_int(p, 1, n) for p in parts)
    if len(set(vals)) != len(vals):
        raise _Bad("a batch size is listed twice")
    return vals


def _parse_role(raw: str, *, role: str, chosen: Iterable[str]) -> float:
    """A global control's value: valid for every hyperparameter it drives."""
    value = parse_float(raw)
    for name, hyp in role_hypers(role, chosen):
        try:
            hyp.check(value, name)
        except ValueError:
            msg = f"expected a number in {_allowed(hyp)} (the range of {name}.{hyp.name})"
            raise _Bad(msg) from None
    return value


def _parse_lrs(raw: str, chosen: Iterable[str]) -> tuple[float, ...]:
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) > MAX_LRS:
        raise _Bad(f"expected 1 to {MAX_LRS} learning rates")
    vals = tuple(_parse_role(p, role="lr", chosen=chosen) for p in parts)
    if len(set(vals)) != len(vals):
        raise _Bad("a learning rate is listed twice")
    return vals


def decode(query: Mapping[str, str | list[str]]) -> tuple[AppState, list[str]]:
    """Query parameters -> (state, warnings). Never raises; bad fields fall back to defaults."""
    try:
        return _decode(query)
    except Exception as exc:  # a defect here must never take the page down
        return AppState(), [f"The link could not be read ({type(exc).__name__}); using defaults."]


def _decode(query: Mapping[str, str | list[str]]) -> tuple[AppState, list[str]]:
    rd = _Reader(query)
    d = _DEFAULT
    k = KEYS

    surface = rd.field(k["surface"], lambda r: parse_choice(r, surfaces.names()), d.surface)
    sparams = _parse_named(rd, surface + ".", rd.prefixed(surface + "."), surface_params(surface))
    try:
        surf = surfaces.get(surface, **sparams)
    except ValueError as exc:
        rd.warn(f"Ignored the {surface} parameters ({_shown(str(exc))}); using their defaults.")
        sparams = {}
        surf = surfaces.get(surface)
    n = int(surf.n_samples)

    opts: tuple[str, ...] = rd.field(k["optimizers"], _parse_optimizers, d.optimizers)
    hyper: dict[str, dict[str, Scalar]] = {}
    for name in optimizers.names():
        raws = rd.prefixed(name + ".")
        if not raws:
            continue
        if name not in opts:
            rd.warn(f"Ignored the settings for `{name}`: it is not among the chosen optimizers.")
            continue
        vals = _parse_named(rd, name + ".", raws, optimizer_hypers(name), owner=name)
        if vals:
            hyper[name] = vals
    hyper = {o: hyper[o] for o in opts if o in hyper}  # order follows the optimizer list

    shared = rd.field(k["shared_lr"], parse_bool, d.shared_lr)
    roles: dict[str, Any] = {}
    for role in GLOBAL_ROLES:
        roles[role] = rd.field(
            k[role], partial(_parse_role, role=role, chosen=opts), getattr(d, role)
        )

    start = rd.field(k["start"], lambda r: _parse_pair(r, surf.box), d.start)
    swarm = rd.field(k["swarm"], lambda r: parse_int(r, 1, MAX_SWARM), d.swarm)
    steps = rd.field(k["steps"], lambda r: parse_int(r, 0, MAX_STEPS), d.steps)
    batch = rd.field(k["batch_size"], lambda r: parse_int(r, 1, n), d.batch_size)
    seed = rd.field(k["seed"], lambda r: parse_int(r, 0, MAX_SEED), d.seed)
    lrs = rd.field(k["compare_lrs"], lambda r: _parse_lrs(r, opts), d.compare_lrs)
    batches = rd.field(
        k["compare_batch_sizes"], lambda r: _parse_batches(r, n), d.compare_batch_sizes
    )

    schedule = rd.field(k["schedule"], lambda r: parse_choice(r, schedule_names()), d.schedule)
    sched_params = _parse_named(
        rd,
        SCHED_PREFIX,
        rd.prefixed(SCHED_PREFIX),
        schedule_hypers(schedule),
        owner=f"schedule {schedule!r}",
    )

    flags = {
        f: rd.field(k[f], parse_bool, getattr(d, f))
        for f in ("view_3d", "large_fonts", "dark", "embed")
    }
    explain = rd.field(
        k["explain_optimizer"],
        lambda r: parse_choice(r, opts),
        d.explain_optimizer,
    )
    conv = rd.field(
        k["momentum_convention"],
        lambda r: parse_choice(r, momentum_conventions()),
        d.momentum_convention,
    )

    for key, raw in rd.values.items():
        rd.warn(f"Ignored unknown setting `{_shown(key)}={_shown(raw)}`.")
    state = AppState(
        surface=surface,
        surface_params=sparams,
        optimizers=opts,
        hyper=hyper,
        shared_lr=shared,
        lr=roles["lr"],
        beta=roles["beta"],
        rho=roles["rho"],
        beta2=roles["beta2"],
        start=start,
        swarm=swarm,
        steps=steps,
        batch_size=batch,
        seed=seed,
        schedule=schedule,
        schedule_params=sched_params,
        explain_optimizer=explain,
        momentum_convention=conv,
        compare_lrs=lrs,
        compare_batch_sizes=batches,
        **flags,
    )
    warnings = rd.warnings
    if len(warnings) > MAX_WARNINGS:
        more = len(warnings) - MAX_WARNINGS + 1
        warnings = [*warnings[: MAX_WARNINGS - 1], f"… and {more} more ignored settings."]
    return state, warnings


# ---------------------------------------------------------------- encode


def encode(state: AppState) -> dict[str, str]:
    """State -> query parameters: only the fields that differ from ``AppState()``."""
    out: dict[str, str] = {}
    for f in dataclasses.fields(AppState):
        value = getattr(state, f.name)
        if value == getattr(_DEFAULT, f.name):
            continue
        if f.name == "surface_params":
            out.update({f"{state.surface}.{p}": fmt(v) for p, v in value.items()})
        elif f.name == "hyper":
            for opt, vals in value.items():
                out.update({f"{opt}.{h}": fmt(v) for h, v in vals.items()})
        elif f.name == "schedule_params":
            out.update({SCHED_PREFIX + p: fmt(v) for p, v in value.items()})
        elif f.name in ("optimizers", "start", "compare_lrs", "compare_batch_sizes"):
            out[KEYS[f.name]] = ",".join(fmt(v) for v in value)
        elif f.name == "embed":
            out[KEYS[f.name]] = "true"  # Streamlit's own spelling: it also hides its chrome
        elif f.name in KEYS:
            out[KEYS[f.name]] = fmt(value)
    return out


def canonical(state: AppState) -> tuple[AppState, list[str]]:
    """The valid state nearest to ``state`` (bad fields reset) and what was reset."""
    return decode(encode(state))


def query_string(params: Mapping[str, str]) -> str:
    """``encode``'s dict as a URL query (``a=1&b=x%2Cy`` with readable commas kept)."""
    from urllib.parse import quote

    return "&".join(f"{quote(k, safe='.')}={quote(v, safe=',.-')}" for k, v in params.items())

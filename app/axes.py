"""The axes of a hyperparameter map, read from the core's metadata. Pure Python: no streamlit.

An axis key is one of

* a **role** of the core's ``Hyper`` metadata ("lr", "beta", "beta2", "rho"): for each
  optimizer the hyperparameter with that role (β is momentum's ``momentum`` and Adam's
  ``beta1``), so optimizers with different names for the same idea share the axes;
* the **name** of any other numeric hyperparameter ("weight_decay", "eps", SGD's "momentum");
* ``batch_size`` (1 … N, a setting of the run) or ``steps`` (the number of steps).

An optimizer that has no hyperparameter for an axis gives the same result along it (gradient
descent has no β): its map is computed along the other axis and repeated. A switch (a boolean
or choice hyperparameter such as ``nesterov``) is not a number and can never be an axis, nor
can one hyperparameter be both axes: :func:`check_axes` refuses them with a message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

import optimizers
from optimizers import Hyper

ROLES = ("lr", "beta", "beta2", "rho")
BATCH, STEPS = "batch_size", "steps"
RUN_AXES = (BATCH, STEPS)
MIN_CELLS, MAX_SWEEP_CELLS, MAX_BASIN_CELLS = 8, 256, 512
MAX_STEPS = 2000
LOG_FLOOR = 1e-12  # the smallest value a log axis may start at
OPEN_GAP = 1e-4  # how far below an open upper end (β < 1) a linear axis stops


class AxisError(ValueError):
    """An axis (or a pair of axes) that cannot make a map; the message says why."""


_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "eta": "η",
    "lambda": "λ",
    "mu": "μ",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "psi": "ψ",
}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def plain_symbol(tex: str) -> str:
    r"""A LaTeX symbol of the metadata as plain text for chart labels: ``\beta_2`` -> ``β₂``."""
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _GREEK.get(m.group(1), m.group(1)), tex)
    text = re.sub(r"_\{?(\d+)\}?", lambda m: m.group(1).translate(_SUB), text)
    return text.replace("{", "").replace("}", "")


def _numeric(h: Hyper) -> bool:
    return h.kind in ("float", "int")


def hyper_for(key: str, optimizer: str) -> Hyper | None:
    """The hyperparameter of ``optimizer`` that axis ``key`` sweeps (None: the optimizer has
    none, so its map is flat along that axis). Role keys go by role, the others by name."""
    for h in optimizers.get(optimizer).hypers:
        if (key in ROLES and h.role == key) or (key not in ROLES and h.name == key):
            return h
    return None


def all_keys() -> list[str]:
    """Every key an axis could ever have: the roles, every hyperparameter name, the run's own."""
    names = [h.name for o in optimizers.names() for h in optimizers.get(o).hypers]
    rest = [n for n in dict.fromkeys(names) if n not in ROLES]
    return [*ROLES, *rest, *RUN_AXES]


def switches() -> set[str]:
    """Names of every on/off or choice hyperparameter (never an axis)."""
    return {
        h.name
        for o in optimizers.names()
        for h in optimizers.get(o).hypers
        if not _numeric(h) and h.name not in ROLES
    }


def options(chosen: Sequence[str], n_samples: int) -> list[str]:
    """The axis keys that make sense for the chosen optimizers: roles and numeric
    hyperparameters that at least one of them has, batch size (when N > 1) and steps."""
    out: list[str] = []
    for role in ROLES:
        if any(hyper_for(role, o) is not None for o in chosen):
            out.append(role)
    for o in chosen:
        for h in optimizers.get(o).hypers:
            if _numeric(h) and h.role is None and h.name not in out:
                out.append(h.name)
    if n_samples > 1:
        out.append(BATCH)
    out.append(STEPS)
    return out


def check_key(key: str) -> None:
    """Refuse what can never be an axis (an unknown key, a switch); AxisError says why."""
    if key in switches():
        raise AxisError(
            f"{key} is an on/off switch, not a number: it cannot be an axis of a map "
            "(pick a numeric hyperparameter such as the learning rate)"
        )
    if key not in all_keys():
        raise AxisError(f"{key!r} is not a hyperparameter of any optimizer")


def check_axes(x: str, y: str, chosen: Sequence[str], n_samples: int = 1) -> None:
    """Refuse a pair of axes that cannot make a map, with a clear message."""
    check_key(x)
    check_key(y)
    if x == y:
        raise AxisError(f"both axes are {label(x)}: a map needs two different hyperparameters")
    for o in chosen:
        hx = hyper_for(x, o)
        if hx is not None and hx == hyper_for(y, o):
            raise AxisError(
                f"{label(x)} and {label(y)} are the same hyperparameter of "
                f"{optimizers.get(o).title} ({hx.name}): a map needs two different ones"
            )
    if BATCH in (x, y) and n_samples <= 1:
        raise AxisError("this surface has one sample (N = 1): batch size cannot be an axis")
    for key in (x, y):
        if key not in RUN_AXES and chosen and all(hyper_for(key, o) is None for o in chosen):
            names = ", ".join(optimizers.get(o).title for o in chosen)
            raise AxisError(f"none of the chosen optimizers ({names}) has {label(key)}")


def hypers_of(key: str, pool: Iterable[str] | None = None) -> list[tuple[str, Hyper]]:
    """(optimizer, Hyper) for every optimizer of ``pool`` (default: all) that has ``key``."""
    found = []
    for o in pool if pool is not None else optimizers.names():
        h = hyper_for(key, o)
        if h is not None:
            found.append((o, h))
    return found


def label(key: str) -> str:
    """A short readable name: "learning rate", "β (momentum, beta1)", "batch size"."""
    if key == BATCH:
        return "batch size"
    if key == STEPS:
        return "steps"
    if key == "lr":
        return "learning rate"
    found = hypers_of(key)
    if not found:
        return key
    sym = symbol(key)
    if key in ROLES:
        names = ", ".join(dict.fromkeys(h.name for _, h in found))
        return f"{sym or key} ({names})"
    return f"{key} ({sym})" if sym else key


def symbol(key: str) -> str:
    """The axis title's short symbol: "lr", "β", "β₂", "B", "T", "ε"."""
    if key == BATCH:
        return "batch size"
    if key == STEPS:
        return "steps"
    if key == "lr":
        return "lr"
    if key in ROLES:  # the role's own letter: "beta2" -> β₂
        return plain_symbol("\\" + re.sub(r"(\d)$", r"_\1", key))
    found = hypers_of(key)
    if found and found[0][1].symbol:
        return plain_symbol(found[0][1].symbol)
    return key


@dataclass(frozen=True)
class AxisInfo:
    """What an axis allows: its limits (inclusive), scale and kind; its default range."""

    key: str
    low: float
    high: float
    log: bool
    integer: bool
    default: tuple[float, float]

    def clamp(self, lo: float, hi: float) -> tuple[tuple[float, float], str | None]:
        """The range [lo, hi] inside the limits; a note when it had to change."""
        new_lo = min(max(float(lo), self.low), self.high)
        new_hi = min(max(float(hi), self.low), self.high)
        if self.integer:
            new_lo, new_hi = float(math.ceil(new_lo)), float(math.floor(new_hi))
        if new_hi <= new_lo:
            return self.default, (
                f"the range {lo:g} … {hi:g} of {label(self.key)} is empty inside its limits "
                f"{self.low:g} … {self.high:g}; using {self.default[0]:g} … {self.default[1]:g}"
            )
        if (new_lo, new_hi) != (float(lo), float(hi)):
            return (new_lo, new_hi), (
                f"{label(self.key)} goes from {self.low:g} to {self.high:g}: the range "
                f"{lo:g} … {hi:g} was clamped to {new_lo:g} … {new_hi:g}"
            )
        return (new_lo, new_hi), None


def _edge_decades(lam_max: float | None) -> tuple[float, float]:
    """A learning-rate range of four decades that ends above momentum's stability edge."""
    if lam_max is None or not lam_max > 0 or not math.isfinite(lam_max):
        return 1e-4, 1.0
    top = 10.0 ** math.ceil(math.log10(4.0 * 2.0 / lam_max))
    return top * 1e-4, top


def info(
    key: str,
    chosen: Sequence[str] = (),
    *,
    n_samples: int = 1,
    max_steps: int = MAX_STEPS,
    lam_max: float | None = None,
) -> AxisInfo:
    """The limits of axis ``key`` for the chosen optimizers (the intersection of their
    hyperparameters' ranges) and its default range (the learning rate's from the surface's
    largest curvature ``lam_max``, so that the stability edge is on the map)."""
    check_key(key)
    if key == BATCH:
        n = max(1, int(n_samples))
        return AxisInfo(key, 1.0, float(n), n > 16, True, (1.0, float(n)))
    if key == STEPS:
        top = float(max_steps)
        return AxisInfo(key, 1.0, top, False, True, (min(10.0, top), top))
    found = hypers_of(key, chosen) or hypers_of(key)
    lows = [h.low if h.low is not None else -1e6 for _, h in found]
    highs = [h.high if h.high is not None else 1e6 for _, h in found]
    log = any(h.log for _, h in found)
    integer = all(h.kind == "int" for _, h in found)
    low, high = max(lows), min(highs)
    if any(h.open_high for _, h in found):
        high -= OPEN_GAP if high <= 1 else 1e-6 * abs(high)
    if log:
        low = max(low, LOG_FLOOR)
    elif any(h.open_low for _, h in found):
        low += OPEN_GAP
    default = _default_range(key, found, low, high, log, lam_max)
    return AxisInfo(key, float(low), float(high), log, integer, default)


def _default_range(
    key: str,
    found: list[tuple[str, Hyper]],
    low: float,
    high: float,
    log: bool,
    lam_max: float | None,
) -> tuple[float, float]:
    if key == "lr":
        lo, hi = _edge_decades(lam_max)
    elif key in ("beta2", "rho"):  # averages of squared gradients: the action is near 1
        lo, hi = 0.5, 0.999
    elif any(h.open_high for _, h in found):  # a decay factor in [0, 1)
        lo, hi = max(low, 0.0), 0.99
    elif log:
        d = float(found[0][1].default) if found else 1.0
        lo, hi = (d / 100, d * 100) if d > 0 else (1e-6, 1e-2)
    else:
        lo, hi = low, min(high, max(low + 1.0, 1.0))
    lo, hi = min(max(lo, low), high), min(max(hi, low), high)
    return (lo, hi) if hi > lo else (low, high)


def values(lo: float, hi: float, n: int, *, log: bool, integer: bool) -> np.ndarray:
    """The cell centres of an axis: n values from lo to hi (geometric on a log axis); distinct
    whole numbers for an integer axis (possibly fewer than n)."""
    n = max(1, int(n))
    v = np.geomspace(lo, hi, n) if log and lo > 0 else np.linspace(lo, hi, n)
    if integer:
        v = np.unique(np.rint(v))
    return np.asarray(v, dtype=np.float64)


def edges(v: np.ndarray, *, log: bool) -> tuple[float, float]:
    """The outer edges of the cells centred on ``v`` (half a cell beyond each end)."""
    if len(v) == 1:
        return (v[0] / 1.5, v[0] * 1.5) if log and v[0] > 0 else (v[0] - 0.5, v[0] + 0.5)
    if log and v[0] > 0:
        r0, r1 = math.sqrt(v[1] / v[0]), math.sqrt(v[-1] / v[-2])
        return float(v[0] / r0), float(v[-1] * r1)
    return float(v[0] - (v[1] - v[0]) / 2), float(v[-1] + (v[-1] - v[-2]) / 2)


def clamp_cells(n: int, cap: int) -> tuple[int, str | None]:
    """The grid size inside [MIN_CELLS, cap]; a note when it had to change."""
    m = min(max(int(n), MIN_CELLS), cap)
    if m != n:
        return m, f"a grid of {n} cells per axis is outside {MIN_CELLS} … {cap}; using {m}"
    return m, None

"""What every page that trains shares about its optimizers: their names and settings from the
core's metadata, the global controls (a shared learning rate, β, ρ, β₂) and what they drive,
the parsers of an optimizer list and of learning rates in a link, and the session entries
that keep each optimizer's settings while its widgets are not drawn.

Explore, Networks and Maps declare their fields with these (app/state/explore.py,
networks.py, maps.py); the widgets that bind them are app/widgets/pickers.py and training.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import optimizers
from app.state.codec import Bad, Ctx, Scalar, Session, allowed_text, parse_float, shown
from app.state.keys import Keys

MAX_OPTIMIZERS = 14
MAX_LRS = 4
GLOBAL_ROLES = ("lr", "beta", "rho", "beta2")  # state fields driven by Hyper.role
ROLE_DEFAULT = {"beta": 0.9, "rho": 0.99, "beta2": 0.999}  # a shared β / ρ / β₂ starts here
FULL = "full batch"  # what the batch widget shows for None


# ---------------------------------------------------------------- metadata from the core


def optimizer_names() -> list[str]:
    return list(optimizers.names())


def optimizer_hypers(name: str) -> dict[str, Any]:
    """The optimizer's ``Hyper``s by name."""
    return {h.name: h for h in optimizers.get(name).hypers}


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


# ---------------------------------------------------------------- parsers


@dataclass(frozen=True)
class OptimizerList:
    """Optimizer names separated by commas: known, each once, at most MAX_OPTIMIZERS."""

    def __call__(self, raw: str, _ctx: Ctx) -> tuple[str, ...]:
        known = optimizers.names()
        names = [n.strip() for n in raw.split(",") if n.strip()]
        bad = [n for n in names if n not in known]
        if bad:
            listed = ", ".join(shown(b) for b in bad[:3])
            raise Bad(f"unknown optimizer {listed} (known: {', '.join(known)})")
        if not names:
            raise Bad("expected optimizer names separated by commas")
        if len(set(names)) != len(names):
            raise Bad("an optimizer is listed twice")
        if len(names) > MAX_OPTIMIZERS:
            raise Bad(f"at most {MAX_OPTIMIZERS} optimizers")
        return tuple(names)

    def examples(self, _ctx: Ctx) -> list[str]:
        names = optimizers.names()
        return [names[0], ",".join(names[:3]), ",".join(names[:MAX_OPTIMIZERS])]


def _role_value(raw: str, role: str, chosen: Iterable[str]) -> float:
    """A global control's value: valid for every hyperparameter it drives."""
    value = parse_float(raw)
    for name, hyp in role_hypers(role, chosen):
        try:
            hyp.check(value, name)
        except ValueError:
            msg = f"expected a number in {allowed_text(hyp)} (the range of {name}.{hyp.name})"
            raise Bad(msg) from None
    return value


_ROLE_SAMPLES = (0.05, 0.5, 0.9, 0.95, 0.3, 0.001, 0.99)


def _role_samples(role: str, chosen: Iterable[str]) -> list[float]:
    out = []
    for v in _ROLE_SAMPLES:
        try:
            out.append(_role_value(repr(v), role, chosen))
        except Bad:
            continue
    return out


@dataclass(frozen=True)
class RoleValue:
    """The value of a global control (shared lr, β, ρ, β₂) for the chosen optimizers."""

    role: str

    def __call__(self, raw: str, ctx: Ctx) -> float:
        return _role_value(raw, self.role, ctx["optimizers"])

    def examples(self, ctx: Ctx) -> list[str]:
        return [repr(v) for v in _role_samples(self.role, ctx["optimizers"])[:2]]


@dataclass(frozen=True)
class LearningRates:
    """1 to MAX_LRS distinct learning rates, each valid for the chosen optimizers."""

    def __call__(self, raw: str, ctx: Ctx) -> tuple[float, ...]:
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) > MAX_LRS:
            raise Bad(f"expected 1 to {MAX_LRS} learning rates")
        vals = tuple(_role_value(p, "lr", ctx["optimizers"]) for p in parts)
        if len(set(vals)) != len(vals):
            raise Bad("a learning rate is listed twice")
        return vals

    def examples(self, ctx: Ctx) -> list[str]:
        samples = _role_samples("lr", ctx["optimizers"])
        return [",".join(repr(v) for v in samples[:2]), repr(samples[0])] if samples else []


# ---------------------------------------------------------------- session entries


def hyper_store(ss: Session, keys: Keys) -> dict[str, Scalar]:
    """Every optimizer's hyperparameter values, also those whose widgets are not drawn.

    Streamlit forgets the value of a widget that is not drawn in a run, so the settings are
    also kept here (a plain session-state entry of the page).
    """
    store: dict[str, Scalar] = ss.setdefault(keys("_hyper_store"), {})
    return store


def role_switch(role: str, keys: Keys) -> str:
    """The key of the switch "one shared β / ρ / β₂ for every optimizer" (off: each its own)."""
    return keys(f"{role}_shared")

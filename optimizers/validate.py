"""Validation at the boundary: every bad argument of ``minimize`` or ``simulate`` raises a
ValueError that names the parameter and its allowed range."""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizers.base import Optimizer
from optimizers.registry import get
from optimizers.schedules import Schedule, make

MAX_STEPS = 1_000_000
MEMORY_CAP = 512 * 2**20  # bytes a Trajectory may hold


def resolve(optimizer: str | Optimizer) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    return get(optimizer)


def check_int(name: str, value: Any, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        raise ValueError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    return int(value)


def check_hypers(opt: Optimizer, given: dict[str, Any], k: int) -> dict[str, Any]:
    """Every setting of ``opt`` for K runs: validated, defaults filled, ``fixed`` applied."""
    given = dict(given)
    names = [h.name for h in opt.hypers]
    if "betas" in given and "beta1" in names:
        betas = given.pop("betas")
        try:
            given["beta1"], given["beta2"] = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}") from None
    unknown = sorted(set(given) - set(names))
    if unknown:
        fixed = [u for u in unknown if u in opt.fixed]
        if fixed:
            raise ValueError(
                f"optimizer {opt.name!r} fixes {fixed[0]!r} = {opt.fixed[fixed[0]]!r}; "
                f"use 'sgd' to set it"
            )
        raise ValueError(
            f"optimizer {opt.name!r} has no hyperparameter {unknown[0]!r}; allowed: "
            f"{', '.join(names)}"
        )
    out: dict[str, Any] = {}
    for h in opt.hypers:
        value = h.check(given.get(h.name, h.default), opt.name)
        if isinstance(value, np.ndarray) and value.shape != (k,):
            raise ValueError(
                f"{opt.name}: hyperparameter {h.name!r} must be a scalar or have shape (K,) = "
                f"({k},); got shape {value.shape}"
            )
        out[h.name] = value
    out.update(opt.fixed)
    if opt.check is not None:
        opt.check(out)
    return out


def check_schedule(schedule: Any) -> Schedule:
    if schedule is None:
        return Schedule()
    if isinstance(schedule, str):
        return make(schedule)
    if isinstance(schedule, Schedule):
        return schedule
    raise ValueError(
        "schedule must be None, a schedule name or an optimizers.schedules object; "
        f"got {schedule!r}"
    )


def record_steps(record: Any, steps: int) -> np.ndarray:
    if record == "all":
        return np.arange(steps + 1)
    if record == "final":
        return np.array([steps])
    if isinstance(record, int | np.integer) and not isinstance(record, bool) and record >= 1:
        rec = np.arange(0, steps + 1, int(record))
        return rec if rec[-1] == steps else np.append(rec, steps)
    raise ValueError(
        f"record must be 'all', 'final' or an integer n >= 1 (every n-th step); got {record!r}"
    )


def estimate_bytes(r: int, k: int, d: int, t: int, table: bool, trace: bool) -> int:
    """Bytes a call keeps: recorded states, a per-run learning-rate table, the trace."""
    per_state = r * k * (d + 1 + 1 + d) * 8  # params, loss, grad norm, gradient scratch
    return per_state + (t * k * 8 if table else 0) + (t * k * 16 * d * 8 if trace else 0)

"""The course's global controls, shared by every page that trains with optimizers: a shared
learning rate, β, ρ, β₂, momentum convention, batch size, steps, seed and schedule.

Keys (under the page's namespace): ``shared_lr``, ``lr`` (``_lr`` remembers it while hidden),
``beta``, ``rho``, ``beta2``, ``momentum_convention``, ``batch``, ``steps``, ``seed``,
``schedule``, ``sc.<schedule>.<param>``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import streamlit as st

import optimizers
from app.figures.format import fmt_number
from app.state.codec import Scalar
from app.state.explore import FULL, MAX_STEPS, OWN
from app.state.keys import Keys
from app.widgets.controls import (
    BETA_OPTIONS,
    bool_control,
    choice_control,
    ensure,
    hyper_control,
    in_range,
    log_options,
    with_value,
)

ROLE_LABELS = {"beta": "β (momentum, β₁)", "rho": "ρ (RMSprop / Adadelta decay)", "beta2": "β₂"}
LR_RANGE = (1e-5, 10.0)


@functools.cache
def _role_present(role: str) -> bool:
    return any(h.role == role for n in optimizers.names() for h in optimizers.get(n).hypers)


def training_ui(
    keys: Keys, n_samples: int, chosen: Sequence[str], *, lr: float, steps: int
) -> dict[str, Any]:
    """The global controls; returns their values by state field (``lr``, ``steps``: the
    page's defaults)."""
    out = globals_ui(keys, chosen, lr=lr)
    batch_opts: list[Any] = [*range(1, max(n_samples, 1)), FULL]
    ensure(keys("batch"), lambda v: v in batch_opts, FULL)
    batch = st.select_slider(
        f"Batch size (N = {n_samples})",
        options=batch_opts,
        key=keys("batch"),
        help="samples per gradient: 1 is SGD, 'full batch' is exact gradient descent",
    )
    out["batch_size"] = None if batch == FULL else int(batch)
    ensure(keys("steps"), lambda v: isinstance(v, int) and 0 <= v <= MAX_STEPS, steps)
    out["steps"] = int(st.slider("Steps", 0, MAX_STEPS, step=10, key=keys("steps")))
    ensure(keys("seed"), lambda v: isinstance(v, int) and 0 <= v < 2**32, 0)
    out["seed"] = int(st.number_input("Random seed", 0, 2**32 - 1, step=1, key=keys("seed")))
    out["schedule"], out["schedule_params"] = schedule_ui(keys)
    return out


def globals_ui(keys: Keys, chosen: Sequence[str], *, lr: float) -> dict[str, Any]:
    """The course's global optimizer controls: a shared learning rate, β, ρ, β₂ and the
    momentum convention; returns their values by state field (``lr``: the page's default)."""
    ss = st.session_state
    out: dict[str, Any] = {}
    out["shared_lr"] = bool_control(
        keys("shared_lr"), "Shared learning rate", False, "one learning rate for every optimizer"
    )
    lr_key, kept_key = keys("lr"), keys("_lr")
    if out["shared_lr"]:  # drawn only when it drives something (fewer widgets per rerun)
        if lr_key not in ss and kept_key in ss:
            ss[lr_key] = ss[kept_key]
        lr_value = ensure(lr_key, in_range(*LR_RANGE), lr)
        out["lr"] = float(
            st.select_slider(
                "Learning rate η",
                options=with_value(log_options(*LR_RANGE), lr_value),
                key=lr_key,
                format_func=fmt_number,
                help="used by every optimizer while 'Shared learning rate' is on",
            )
        )
        ss[kept_key] = out["lr"]
    else:  # not drawn: the remembered value (Streamlit forgets an undrawn widget's value)
        kept = ss.get(kept_key, ss.get(lr_key))
        out["lr"] = float(kept) if in_range(*LR_RANGE)(kept) else lr
    for role, label in ROLE_LABELS.items():
        if not _role_present(role):
            out[role] = None
            continue
        value = ensure(keys(role), lambda v: v == OWN or in_range(0.0, 0.9999)(v), OWN)
        picked = st.select_slider(
            label,
            options=[OWN, *with_value(BETA_OPTIONS, value if value != OWN else 0.9)],
            key=keys(role),
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
            keys("momentum_convention"),
            "Momentum convention",
            conv.choices,
            str(conv.default),
            conv.help,
        )
    else:  # no selected optimizer has one: keep the value for when one is selected again
        out["momentum_convention"] = str(ss.get(keys("momentum_convention"), "torch"))
    return out


def schedule_ui(keys: Keys) -> tuple[str, dict[str, Scalar]]:
    """The learning-rate schedule and its own parameters (those not at their defaults)."""
    schedule = choice_control(
        keys("schedule"),
        "Learning-rate schedule",
        optimizers.schedules.names(),
        "constant",
        "how the learning rate changes with the step (torch.optim.lr_scheduler)",
    )
    params: dict[str, Scalar] = {}
    for h in optimizers.schedules.get(schedule).hypers:
        value = hyper_control(keys.schedule_param(schedule, h.name), h)
        if value != h.default:
            params[h.name] = value
    return schedule, params

"""The course's global controls, shared by every page that trains with optimizers: a shared
learning rate, β, ρ, β₂, momentum convention, batch size, steps, seed and schedule.

Keys (under the page's namespace): ``shared_lr``, ``lr`` (``_lr`` remembers it while hidden),
``beta``, ``rho``, ``beta2``, ``momentum_convention``, ``batch``, ``steps``, ``seed``,
``schedule``, ``sc.<schedule>.<param>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

import optimizers
from app.figures.format import fmt_number
from app.state.codec import Scalar
from app.state.explore import MAX_STEPS
from app.state.keys import Keys
from app.state.training import FULL, ROLE_DEFAULT, role_switch
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
# Every step count up to 10, then 5s, 10s, 25s and 50s up to MAX_STEPS (a link's exact value is
# added to these when it is not one of them).
STEP_OPTIONS = sorted(
    {*range(0, 11), *range(15, 101, 5), *range(110, 301, 10), *range(325, 1001, 25)}
    | set(range(1050, MAX_STEPS + 1, 50))
)


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
    value = ensure(keys("steps"), lambda v: isinstance(v, int) and 0 <= v <= MAX_STEPS, steps)
    out["steps"] = int(
        st.select_slider(
            "Steps",
            options=sorted({*STEP_OPTIONS, int(value)}),
            key=keys("steps"),
            help="optimizer steps in the race: one at a time up to 10 (to follow the first "
            "steps one by one), then coarser",
        )
    )
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
        out[role] = role_ui(keys, role, label, chosen)
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


def role_ui(keys: Keys, role: str, label: str, chosen: Sequence[str]) -> float | None:
    """A switch "one shared value for every optimizer" and, while it is on, the value: the
    global β, ρ or β₂ (None: each optimizer uses its own, set under "Settings of").

    Drawn when a chosen optimizer has a setting of this role (or the switch is on, so that
    it can be turned off).
    """
    ss = st.session_state
    switch = role_switch(role, keys)
    drivers = [n for n in chosen if any(h.role == role for h in optimizers.get(n).hypers)]
    on = bool(ss.get(switch, False))
    if not drivers and not on:
        return None
    names = ", ".join(optimizers.get(n).title for n in drivers) or "no chosen optimizer"
    on = bool_control(
        switch,
        f"Shared {label}",
        False,
        f"Off: each optimizer uses its own {label.split(' ')[0]} (under 'Settings of'). On: "
        f"one value drives it for every optimizer that has one (now: {names}).",
    )
    if not on:
        return None
    value = ensure(keys(role), in_range(0.0, 0.9999), ROLE_DEFAULT[role])
    return float(
        st.select_slider(
            label,
            options=with_value(BETA_OPTIONS, float(value)),
            key=keys(role),
            format_func=fmt_number,
            help=f"drives the {role} of: {names}",
        )
    )


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

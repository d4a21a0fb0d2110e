"""The learning-rate schedule, a setting of every page that trains (Explore and Networks).

One declaration for both: the schedule's name (``sched=step``) and its parameters
(``sched.step_size=50``), each bound to the widgets under the page's own keys. A page's state
declares them with one line each (``schedule: str = schedule.name(K)``).
"""

from __future__ import annotations

from typing import Any

import optimizers
from app.state.codec import Choice, Key, Params, Plain, Session, declare
from app.state.keys import Keys


def names() -> list[str]:
    return list(optimizers.schedules.names())


def hypers(name: str) -> dict[str, Any]:
    """The schedule's ``Hyper``s by name (empty for the constant rate)."""
    return {h.name: h for h in optimizers.schedules.get(name).hypers}


def name(keys: Keys) -> Any:
    """Which schedule (``constant`` by default)."""
    return declare(
        "constant", Plain("sched", Choice(lambda _c: names()), widget=Key(keys("schedule")))
    )


def params(keys: Keys) -> Any:
    """The chosen schedule's parameters, each starting at its default."""

    def bind(ss: Session, value: Any, state: Any) -> None:
        if state.schedule in optimizers.schedules.names():
            for h in optimizers.schedules.get(state.schedule).hypers:
                ss[keys.schedule_param(state.schedule, h.name)] = value.get(h.name, h.default)

    return declare(
        {},
        Params(
            prefix=lambda _c: "sched.",
            metas=lambda c: hypers(c["schedule"]),
            owner=lambda c: f"schedule {c['schedule']!r}",
            widget=bind,
            pattern="sched.<param>",
        ),
    )

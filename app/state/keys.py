"""Session-state keys, namespaced per page: ``explore.steps``, ``lessons.topic``, ``app.dark``.

A page's widgets and its private session values all live under its own prefix, so two pages
can both have a "steps" without colliding. ``APP`` holds what every page shares (the view
options, the plotly warm-up flag).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """``Keys("explore")("hp", "adam", "lr") == "explore.hp.adam.lr"``."""

    page: str

    def __call__(self, *parts: str) -> str:
        return ".".join((self.page, *parts))

    def owns(self, key: str) -> bool:
        return key.startswith(self.page + ".")

    # the widgets generated from metadata: one key per parameter of a surface, optimizer or
    # learning-rate schedule (app/widgets/)
    def surface_param(self, surface: str, param: str) -> str:
        return self("sp", surface, param)

    def hyper(self, optimizer: str, hyper: str) -> str:
        return self("hp", optimizer, hyper)

    def schedule_param(self, schedule: str, param: str) -> str:
        return self("sc", schedule, param)


APP = Keys("app")
EXPLORE = Keys("explore")
LESSONS = Keys("lessons")
NETWORKS = Keys("networks")

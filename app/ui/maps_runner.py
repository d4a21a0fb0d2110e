"""The Maps page's contact with the worker's map queue, and its caches.

Every map goes through one :class:`app.mapwork.MapWorker` per server process
(``st.cache_resource``): results are shared by every session (two students who ask for the
same map compute it once), at most ``mapwork.SLOTS`` maps run at a time at a lower CPU
priority, and the rest wait in line. While a session waits it shows the map's place in the
line, or a progress bar once the wait is longer than half a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from app import mapwork, sweeps

PROGRESS_AFTER_S = 0.5  # a wait longer than this shows a progress bar
POLL_S = 0.1


@st.cache_resource(max_entries=1, show_spinner=False)
def worker() -> mapwork.MapWorker:
    """The process's map queue and result cache (one per server process); the processes that
    share a map's runs start now, while the page draws its controls."""
    sweeps.POOL.warm()
    return mapwork.MapWorker()


@dataclass(frozen=True)
class Job:
    """One map to compute: its cache key, the function that computes it, its size."""

    key: str
    fn: Callable[[], Any]
    work: int  # trajectory-steps
    kind: str  # "sweep", "basin", "range": each has its own speed estimate


def _describe(
    tickets: Sequence[mapwork.Ticket], w: mapwork.MapWorker, started: float
) -> tuple[float, str]:
    total = sum(max(t.work, 1) for t in tickets)
    done = sum(max(t.work, 1) * t.progress() for t in tickets)
    ahead = [w.position(t) for t in tickets if not t.done()]
    waiting = [p for p in ahead if p > 0]
    elapsed = time.monotonic() - started
    runs = sum(t.work for t in tickets)
    if waiting and len(waiting) == len(ahead):
        first = min(waiting)
        text = (
            f"In line: {first - 1} other map{'s' if first != 2 else ''} ahead of yours on this "
            f"server (position {first}). Other students' maps are being computed; yours starts "
            "next in turn."
        )
    else:
        text = f"Computing {runs:,} trajectory-steps… {elapsed:.1f} s"
    return done / total, text


def run_jobs(jobs: Sequence[Job]) -> list[Any]:
    """Every job's result (or the exception it raised), through the worker's queue."""
    w = worker()
    tickets: list[mapwork.Ticket] = []
    for job in jobs:
        tickets.append(w.submit(job.key, job.fn, work=job.work, kind=job.kind))
    if any(not t.done() for t in tickets):
        started = time.monotonic()
        slot = st.empty()
        bar = None
        with contextlib.ExitStack() as stack:
            for t in tickets:
                stack.enter_context(w.waiting(t))
            while True:
                pending = [t for t in tickets if not t.done()]
                if not pending:
                    break
                pending[0].done_event.wait(POLL_S)
                if time.monotonic() - started >= PROGRESS_AFTER_S or any(
                    w.position(t) > 0 for t in pending
                ):
                    frac, text = _describe(tickets, w, started)
                    if bar is None:
                        bar = slot.progress(frac, text=text)
                    else:
                        bar.progress(frac, text=text)
        slot.empty()
    out: list[Any] = []
    for t in tickets:
        try:
            out.append(t.value())
        except Exception as exc:  # shown by the page, per map
            out.append(exc)
    return out


def cached_figure(key: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A figure built once per ``key`` (the maps it draws and the view options) and shared
    read-only by every session (nobody mutates a figure dict)."""
    return _figure(key, build)


@st.cache_resource(max_entries=16, show_spinner=False)
def _figure(key: str, _build: Callable[[], dict[str, Any]]) -> dict[str, Any]:  # noqa: ARG001
    return _build()


# ---------------------------------------------------------------- the lessons' pictures


LESSON_GRID = 48  # cells per axis of a lesson's still picture


@st.cache_data(max_entries=32, show_spinner=False)
def _lesson_picture(query: str, dark: bool) -> bytes:
    import json

    import numpy as np

    from app import sweeps
    from app.figures import colormap
    from app.figures import maps as map_figs
    from app.state.maps import decode
    from optimizers import theory

    state, _ = decode(json.loads(query))
    if state.view == "sweep":
        small = dataclasses.replace(state, grid=LESSON_GRID)
        specs, _ = sweeps.sweep_specs(small)
        res = [sweeps.run_sweep(s) for s in specs[:3]]
        scale = map_figs.scale_for(res, state.color, state.tol)
        return map_figs.thumbnail(
            [map_figs.sweep_rgb(r, scale, state.color, dark) for r in res], dark=dark
        )
    if state.view == "basin":
        small = dataclasses.replace(state, basin_grid=LESSON_GRID * 2)
        bspecs, _ = sweeps.basin_specs(small)
        return map_figs.thumbnail(
            [map_figs.basin_rgb(sweeps.run_basin(s), dark) for s in bspecs[:3]], dark=dark
        )
    if state.view == "theory":
        _, th, _ = sweeps.theory_spec(state)
        h = np.linspace(0.0, 4.0, 240)
        b = np.linspace(0.0, 0.999, 160)
        rate = theory.momentum_rate(h[None, :], b[:, None])
        lut = colormap.lut("viridis", 240)[::-1]
        rgb = lut[np.clip((rate * 239).astype(int), 0, 239)]
        rgb[rate >= 1] = map_figs.rgb_of(map_figs.DIVERGED_COLOR)
        if th is not None and th.optimum is not None:  # the optimum's eigenvalues: white dots
            for lam in th.curvature.eigenvalues:
                i = round(th.optimum.momentum_beta / 0.999 * 159)
                j = round(min(th.optimum.momentum_lr * float(lam), 4.0) / 4.0 * 239)
                rgb[max(i - 4, 0) : i + 5, max(j - 4, 0) : j + 5] = 255
        return map_figs.thumbnail([rgb], dark=dark)
    rspecs, _ = sweeps.range_specs(state)
    curves = []
    for s in rspecs:
        c = colormap.optimizer_style(s.optimizer, dark=dark)[0]
        r = sweeps.run_range(s)
        y = np.log10(np.maximum(r.read - np.nanmin(r.read) + 1e-12, 1e-12))
        curves.append((np.log10(r.lrs), y, c))
    return map_figs.curve_thumbnail(curves, dark=dark)


def lesson_picture(state: Any, *, dark: bool = False) -> bytes:
    """A Maps lesson as a small PNG: its maps at a coarse grid (cached: lessons never change)."""
    import json

    from app.state.maps import encode

    return _lesson_picture(json.dumps(encode(state), sort_keys=True), dark)

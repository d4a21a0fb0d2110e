"""Maps as computations: hyperparameter sweeps, basins of attraction, the quadratic theory's
data and the learning-rate range test. Pure Python and NumPy: no streamlit, no plotly.

Every map is ONE vectorised core call per optimizer: ``optimizers.simulate`` with (K,)
hyperparameter arrays (a sweep) or K starts (a basin map), on the NumPy engine (the one the
Docker image has), its runs shared between :data:`PROCESSES` worker processes
(:class:`optimizers.pool.SimulatePool`, at the map queue's lowered priority): the same numbers
as one process, in about half the time on two cores. Two settings of a call cannot vary per
run and are handled as follows:

* **steps** as an axis: one call runs to the largest step count and records every state; the
  map reads each column at its own step count;
* **batch size** as an axis: one call per batch size (at most N of them, N ≤ 16 here).

"Steps to tolerance" and the basin map's shading need more than the final state: the call
still records only the final state, and the engine checks each run every n-th step during the
run: its loss against f* + tol (``reach_loss``: the first step within tolerance), or which
minimum it is within reach of (``settle_points``: the step from which it stayed there); n gives
at least :data:`REACH_CHECKS` (:data:`BASIN_CHECKS`) checks per run, more while they are cheap
(128 × 128 runs of 200 steps are checked every 2nd step). The **rate** colour needs the
distances along the way: that call records every n-th state, within :data:`RECORD_BUDGET`
bytes. ``benchmarks/bench_maps.py`` measures what each costs.

Specs are frozen and hashable: they are the cache keys (app/mapwork.py). Results hold plain
arrays; the figures (app/figures/maps.py) turn them into images.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import optimizers
import surfaces
from app import axes
from app.axes import BATCH, STEPS
from app.mapwork import NICE
from app.state.codec import Scalar
from app.state.explore import ExploreState
from app.state.maps import PAGE_HYPER, MapsState
from optimizers import lr_range, theory
from optimizers.pool import SimulatePool
from surfaces import curvature

ENGINE = "numpy"  # the engine the Docker image has (no C++ compiler there)
PROCESSES = min(2, os.cpu_count() or 1)  # the map's runs are shared by this many processes
POOL = SimulatePool(PROCESSES, nice=NICE)  # started by the first large map
RECORD_BUDGET = 48 * 2**20  # bytes the recorded states of one call may take
BYTES_PER_STATE = 48  # per run and recorded state: position, loss, gradient norm, scratch
ARRIVAL_FRACTION = 0.02  # a run has arrived within this fraction of the bounds' smaller span
NO_MINIMUM, DIVERGED = -1, -2  # basin labels besides the index of a minimum
DETAIL_STATES = 50  # the rate colour reads at most this many recorded states ...
CHEAP_RUN_STATES = 2_000_000  # ... unless every state of every run is this cheap
REACH_CHECKS = 25  # "steps to tolerance": the loss checked at least this often per run ...
CHEAP_RUN_CHECKS = 2_000_000  # ... or at more steps while all checks of all runs are this few
BASIN_CHECKS = 8  # the basin map's shading: where each run is, checked at least this often ...
CHEAP_BASIN_CHECKS = 8_000_000  # ... or more often while checks x runs x minima stay this few
THEORY_LAMBDAS = ("min", "max")


def _items(d: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(d.items()))


@dataclass(frozen=True)
class GridAxis:
    """One axis of a sweep: its key (app/axes.py), range, cell count and scale."""

    key: str
    lo: float
    hi: float
    n: int
    log: bool
    integer: bool

    def values(self) -> np.ndarray:
        return axes.values(self.lo, self.hi, self.n, log=self.log, integer=self.integer)


# ---------------------------------------------------------------- what a map runs


def effective_hypers(state: MapsState, optimizer: str) -> dict[str, Scalar]:
    """The optimizer's settings on this page: torch's defaults, then the page's starting
    values (:data:`app.state.maps.PAGE_HYPER`: learning rates that move on these surfaces),
    then ``state.hyper``; the momentum convention stays torch's (the theory is written in
    it)."""
    opt = optimizers.get(optimizer)
    out: dict[str, Scalar] = dict(opt.defaults())
    out.update(PAGE_HYPER.get(optimizer, {}))
    own = state.hyper.get(optimizer, {})
    for h in opt.hypers:
        if h.name in own:
            out[h.name] = own[h.name]
    out.pop("convention", None)
    return out


def surface_of(state: MapsState) -> Any:
    return surfaces.get(state.surface, **state.surface_params)


def start_of(state: MapsState, surface: Any) -> tuple[float, float]:
    x, y = state.start if state.start is not None else surface.default_start
    return (float(x), float(y))


def lam_max_of(surface: Any, start: Sequence[float]) -> float | None:
    """The largest Hessian eigenvalue at the minimum the curvature is read at (None: none)."""
    ref = curvature.reference_minimum(surface, start)
    if ref is None:
        return None
    lam = curvature.curvature(surface, ref.xy).lam_max
    return lam if lam > 0 else None


@dataclass(frozen=True)
class SweepSpec:
    """One optimizer's sweep: everything its map depends on (the cache key)."""

    surface: str
    surface_params: tuple[tuple[str, Any], ...]
    optimizer: str
    hypers: tuple[tuple[str, Any], ...]  # every setting the axes do not sweep
    start: tuple[float, float]
    steps: int
    batch_size: int | None
    seed: int
    x: GridAxis
    y: GridAxis
    tol: float
    detail: bool = False  # record every n-th state (the rate colour)
    reach: bool = False  # note each run's first step within tol (the steps colour)

    def key(self) -> str:
        return "sweep:" + json.dumps(_plain(self), sort_keys=True)

    def lanes(self) -> int:
        """K of one call: the cells of the axes this optimizer has as hyperparameters."""
        k = 1
        for ax in (self.x, self.y):
            if ax.key not in axes.RUN_AXES and axes.hyper_for(ax.key, self.optimizer):
                k *= len(ax.values())
        return k

    def work(self) -> int:
        """Trajectory-steps the map takes (for the progress estimate)."""
        steps = self.steps
        calls = 1
        for ax in (self.x, self.y):
            if ax.key == STEPS:
                steps = int(ax.values().max())
            if ax.key == BATCH:
                calls = len(ax.values())
        return self.lanes() * steps * calls


def _plain(obj: Any) -> Any:
    """A spec as JSON-able plain values (for its cache key)."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _plain(getattr(obj, k)) for k in obj.__dataclass_fields__}
    if isinstance(obj, tuple | list):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    return obj


def grid_axis(state: MapsState, which: str, surface: Any, lam_max: float | None) -> GridAxis:
    """The x or y axis of the state's sweep, its range clamped inside the axis's limits."""
    key = state.x_axis if which == "x" else state.y_axis
    rng = state.x_range if which == "x" else state.y_range
    a = axes.info(
        key,
        state.optimizers,
        n_samples=surface.n_samples,
        max_steps=axes.MAX_STEPS,
        lam_max=lam_max,
    )
    lo, hi = a.clamp(*rng)[0] if rng is not None else a.default
    n, _ = axes.clamp_cells(state.grid, axes.MAX_SWEEP_CELLS)
    return GridAxis(key, float(lo), float(hi), n, a.log, a.integer)


def sweep_specs(state: MapsState) -> tuple[list[SweepSpec], list[str]]:
    """The sweep of every chosen optimizer, and notes for the page (flat maps, clamps).

    Raises :class:`app.axes.AxisError` for axes that cannot make a map.
    """
    surface = surface_of(state)
    axes.check_axes(state.x_axis, state.y_axis, state.optimizers, surface.n_samples)
    start = start_of(state, surface)
    lam = lam_max_of(surface, start)
    notes = []
    for rng, which in ((state.x_range, "x"), (state.y_range, "y")):
        key = state.x_axis if which == "x" else state.y_axis
        if rng is not None:
            a = axes.info(key, state.optimizers, n_samples=surface.n_samples)
            note = a.clamp(*rng)[1]
            if note:
                notes.append(note[0].upper() + note[1:] + ".")
    grid_note = axes.clamp_cells(state.grid, axes.MAX_SWEEP_CELLS)[1]
    if grid_note:
        notes.append(grid_note[0].upper() + grid_note[1:] + ".")
    x = grid_axis(state, "x", surface, lam)
    y = grid_axis(state, "y", surface, lam)
    specs = []
    for opt in state.optimizers:
        hypers = effective_hypers(state, opt)
        for ax in (x, y):
            h = axes.hyper_for(ax.key, opt) if ax.key not in axes.RUN_AXES else None
            if h is not None:
                hypers.pop(h.name, None)
            elif ax.key not in axes.RUN_AXES:
                notes.append(
                    f"{optimizers.get(opt).title} has no {axes.label(ax.key)}: its map is the "
                    "same all along that axis."
                )
        specs.append(
            SweepSpec(
                surface=state.surface,
                surface_params=_items(state.surface_params),
                optimizer=opt,
                hypers=_items(hypers),
                start=start,
                steps=int(state.steps),
                batch_size=_batch(state.batch_size, surface),
                seed=int(state.seed),
                x=x,
                y=y,
                tol=float(state.tol),
                detail=state.color == "rate",
                reach=state.color == "steps",
            )
        )
    if BATCH in (x.key, y.key) and _noiseless(surface):
        notes.append(
            "This surface has no gradient noise (its noise parameter is 0), so every batch size "
            "gives the same gradient and the map is the same along batch size. Raise the "
            "surface's noise to see mini-batches differ."
        )
    return specs, notes


def _noiseless(surface: Any) -> bool:
    return "noise" in surface.params and float(surface.params["noise"]) == 0.0


def _batch(batch: int | None, surface: Any) -> int | None:
    if batch is None or batch >= surface.n_samples:
        return None
    return int(batch)


# ---------------------------------------------------------------- reading the runs


def check_every(
    lanes: int, steps: int, least: int = REACH_CHECKS, cheap: int = CHEAP_RUN_CHECKS
) -> int:
    """Check K runs every n-th step as they run: at least ``least`` times per run, more while
    K × checks stays within ``cheap`` (a loss check costs about a step; a basin map passes K ×
    its minima, as a check measures the distance to each)."""
    checks = max(least, cheap // max(1, lanes))
    return max(1, math.ceil(steps / checks))


def record_stride(
    lanes: int, steps: int, budget: int = RECORD_BUDGET, most: int = DETAIL_STATES
) -> int:
    """Record every n-th state: at most ``most`` states (each costs about two steps of every
    run to measure) unless all of them are cheap (:data:`CHEAP_RUN_STATES` run-states), and
    always few enough that the recorded states of K runs fit in ``budget`` bytes."""
    k = max(1, lanes)
    fit = max(2, budget // (k * BYTES_PER_STATE) - 2)
    states = min(fit, max(most, CHEAP_RUN_STATES // k))
    return max(1, math.ceil(steps / states))


@dataclass(frozen=True)
class Minima:
    """The surface's minima as arrays, and f* (the lowest of their values)."""

    xy: np.ndarray  # (M, 2)
    values: np.ndarray  # (M,)
    fstar: float | None

    @classmethod
    def of(cls, surface: Any) -> Minima:
        pts = list(surface.minima)
        xy = np.array([p.xy for p in pts], dtype=np.float64).reshape(-1, 2)
        vals = np.array([p.value for p in pts], dtype=np.float64)
        return cls(xy, vals, float(vals.min()) if len(vals) else None)

    def nearest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index (...,), distance (...,)) of the nearest minimum to points (..., 2)."""
        if not len(self.xy):
            shape = points.shape[:-1]
            return np.full(shape, -1), np.full(shape, np.nan)
        best_i = np.zeros(points.shape[:-1], dtype=np.int64)
        best_d = np.full(points.shape[:-1], np.inf)
        for i, m in enumerate(self.xy):  # M is small except on Rastrigin (121)
            d = np.hypot(points[..., 0] - m[0], points[..., 1] - m[1])
            closer = d < best_d
            best_i[closer] = i
            best_d[closer] = d[closer]
        return best_i, best_d


def rate_floor(minima_xy: np.ndarray) -> float:
    """Below this distance to a minimum, rounding hides the error (x − x* cancels)."""
    scale = float(np.abs(minima_xy).max()) if len(minima_xy) else 0.0
    return max(1e-300, 16 * np.finfo(np.float64).eps * scale)


def _last_readable_rate(
    traj: optimizers.Trajectory, target: np.ndarray, d0: np.ndarray, floor: float, j: int
) -> np.ndarray:
    """(d_s / d_0)^(1/s) at the last recorded step s <= rec[j] whose distance to ``target``
    (K, 2) is above ``floor``; NaN when even the first recorded step is below it."""
    rec = traj.steps[1 : j + 1]
    p = traj.params[1 : j + 1]
    d = np.hypot(p[..., 0] - target[:, 0], p[..., 1] - target[:, 1])  # (R', K)
    above = d > floor
    any_above = above.any(axis=0)
    last = len(rec) - 1 - np.argmax(above[::-1], axis=0)
    cols = np.arange(d.shape[1])
    rate = theory.measured_rate(d0, d[last, cols], rec[last])
    return np.where(any_above, rate, np.nan)


def _read(
    traj: optimizers.Trajectory,
    minima: Minima,
    at_steps: Sequence[int],
    tol: float,
    start: Sequence[float],
) -> dict[str, np.ndarray]:
    """Per-run values at each step count of ``at_steps``: dict name -> (E, K).

    The rate is (d_s / d_0)^(1/s) with d the distance to the minimum the run is nearest at
    step t and d_0 from the start: s = t, or with a single read-out (``at_steps`` of one step
    count and several recorded states) the last recorded step whose distance is still above
    the rounding floor (a fast run reaches the minimum to rounding long before t). NaN where
    it cannot be read (at the minimum to rounding already at the first recorded step, or
    diverged). Steps to tolerance are the engine's own checks during the run
    (``traj.reached_at``) where the call asked for them, else read from the recorded states.
    """
    rec = traj.steps
    div = traj.diverged_at
    dead_at = np.where(div >= 0, div, np.iinfo(np.int64).max)
    out: dict[str, list[np.ndarray]] = {}

    def put(name: str, value: np.ndarray) -> None:
        out.setdefault(name, []).append(value)

    first = traj.reached_at  # the engine's checks during the run, when asked for
    if first is None and minima.fstar is not None and len(rec) > 1:
        gap_all = traj.loss - minima.fstar
        ok = (gap_all <= tol) & (rec[:, None] < dead_at[None, :])
        first = np.where(ok.any(axis=0), rec[np.argmax(ok, axis=0)], -1)
    sx, sy = float(start[0]), float(start[1])
    d0 = np.hypot(minima.xy[:, 0] - sx, minima.xy[:, 1] - sy) if len(minima.xy) else None
    floor = rate_floor(minima.xy)
    for t in at_steps:
        j = int(np.searchsorted(rec, t))
        dead = dead_at <= t
        put("final_loss", traj.loss[j])
        put("diverged", np.where(dead, div, -1))
        idx, dist = minima.nearest(traj.params[j])
        put("nearest", idx)
        if minima.fstar is not None and d0 is not None:
            put("distance", dist)
            put("gap", traj.loss[j] - minima.fstar)
            if first is not None:
                put("tol", np.where(dead | (first > t), -1, first))
            if len(at_steps) == 1 and len(rec) > 2:
                rate = _last_readable_rate(traj, minima.xy[idx], d0[idx], floor, j)
            else:
                readable = (dist > floor) & (t > 0)
                rate = theory.measured_rate(d0[idx], np.where(readable, dist, np.nan), max(t, 1))
            put("rate", np.where(dead, np.nan, rate))
    return {k: np.stack(v) for k, v in out.items()}


@dataclass(frozen=True)
class SweepResult:
    """One optimizer's sweep map: (ny, nx) arrays, row i at ys[i], column j at xs[j]."""

    spec: SweepSpec
    xs: np.ndarray
    ys: np.ndarray
    final_loss: np.ndarray
    gap: np.ndarray | None  # final loss − f*; None without known minima
    distance: np.ndarray | None  # to the nearest minimum
    nearest: np.ndarray  # index of the nearest minimum (-1 without minima)
    diverged_at: np.ndarray  # the step it diverged at, -1 if it did not
    tol_step: np.ndarray | None  # first checked step within tol (-1: not within it)
    rate: np.ndarray | None  # measured convergence rate (NaN: not readable)
    stride: int  # states recorded every `stride` steps (0: only the final state)
    tol_every: int  # tol_step checked every `tol_every` steps (0: not checked)
    flat: tuple[bool, bool]  # (along x, along y): the optimizer has no such hyperparameter
    calls: int
    simulate_s: float
    total_s: float = 0.0

    @property
    def nbytes(self) -> int:
        return sum(
            v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray)
        )  # the cache's size bound

    @property
    def diverged_fraction(self) -> float:
        return float((self.diverged_at >= 0).mean())


def run_sweep(spec: SweepSpec) -> SweepResult:
    """The sweep map of ``spec``: one ``simulate`` call (one per batch size on that axis)."""
    t_start = time.perf_counter()
    surface = surfaces.get(spec.surface, **dict(spec.surface_params))
    minima = Minima.of(surface)
    vals = {"x": spec.x.values(), "y": spec.y.values()}
    kinds: dict[str, str] = {}
    for name, ax in (("x", spec.x), ("y", spec.y)):
        if ax.key in axes.RUN_AXES:
            kinds[name] = ax.key
        else:
            kinds[name] = "lane" if axes.hyper_for(ax.key, spec.optimizer) else "flat"
    lane_dims = [d for d in ("y", "x") if kinds[d] == "lane"]
    lane_shape = [len(vals[d]) for d in lane_dims]
    k = int(np.prod(lane_shape)) if lane_shape else 1
    mesh = np.meshgrid(*[vals[d] for d in lane_dims], indexing="ij") if lane_dims else []
    hypers: dict[str, Any] = dict(spec.hypers)
    for d, lane in zip(lane_dims, mesh, strict=True):
        h = axes.hyper_for((spec.x if d == "x" else spec.y).key, spec.optimizer)
        assert h is not None
        hypers[h.name] = lane.ravel().astype(np.int64) if h.kind == "int" else lane.ravel()
    steps_dim = next((d for d in ("x", "y") if kinds[d] == STEPS), None)
    batch_dim = next((d for d in ("x", "y") if kinds[d] == BATCH), None)
    at_steps = [int(v) for v in vals[steps_dim]] if steps_dim else [spec.steps]
    t_max = max(at_steps)
    batches: list[int | None] = (
        [int(b) for b in vals[batch_dim]] if batch_dim else [spec.batch_size]
    )
    reach: dict[str, Any] = {}
    if steps_dim:
        stride: int | str = 1  # each column reads its own step count
        tol_every = 1
    elif spec.detail:
        stride = tol_every = record_stride(k, t_max)
    else:
        stride, tol_every = "final", 0
        if spec.reach and minima.fstar is not None:
            tol_every = check_every(k, t_max)
            reach = {"reach_loss": minima.fstar + spec.tol, "check_every": tol_every}
    starts = np.tile(np.asarray(spec.start, dtype=np.float64), (k, 1))
    n_samples = surface.n_samples
    parts: list[dict[str, np.ndarray]] = []
    sim = 0.0
    read = functools.partial(
        _read, minima=minima, at_steps=at_steps, tol=spec.tol, start=tuple(spec.start)
    )
    for b in batches:
        t0 = time.perf_counter()  # the runs and their reading, in the pool's processes
        part = POOL.read(
            read,
            surface,
            spec.optimizer,
            starts,
            t_max,
            batch_size=None if b is None or b >= n_samples else b,
            seed=spec.seed,
            record=stride,
            engine=ENGINE,
            **reach,
            **hypers,
        )
        sim += time.perf_counter() - t0
        parts.append(part)
    full = {name: np.stack([p[name] for p in parts]) for name in parts[0]}  # (B, E, K)
    ny, nx = len(vals["y"]), len(vals["x"])
    iy, ix = np.indices((ny, nx))
    pick = {"y": iy, "x": ix}
    b_idx = pick[batch_dim] if batch_dim else np.zeros_like(iy)
    e_idx = pick[steps_dim] if steps_dim else np.zeros_like(iy)
    lane_idx = np.zeros_like(iy)
    for d, size in zip(lane_dims, lane_shape, strict=True):
        lane_idx = lane_idx * size + pick[d]

    plain = lane_dims == ["y", "x"] and len(parts) == 1 and len(at_steps) == 1

    def grid(name: str) -> np.ndarray | None:
        if name not in full:
            return None
        if plain:  # one call, one read-out, both axes its runs: cell (i, j) is run i·nx + j
            return np.asarray(full[name].reshape(ny, nx))
        return np.asarray(
            full[name].reshape(len(batches), len(at_steps), k)[b_idx, e_idx, lane_idx]
        )

    has_min = minima.fstar is not None
    result = SweepResult(
        spec=spec,
        xs=vals["x"],
        ys=vals["y"],
        final_loss=np.asarray(grid("final_loss")),
        gap=grid("gap"),
        distance=grid("distance") if has_min else None,
        nearest=np.asarray(grid("nearest")),
        diverged_at=np.asarray(grid("diverged")),
        tol_step=grid("tol"),
        rate=grid("rate"),
        stride=stride if isinstance(stride, int) else 0,
        tol_every=tol_every if "tol" in full else 0,
        flat=(kinds["x"] == "flat", kinds["y"] == "flat"),
        calls=len(batches),
        simulate_s=sim,
    )
    object.__setattr__(result, "total_s", time.perf_counter() - t_start)
    _freeze(result)
    return result


def _freeze(result: Any) -> None:
    """Results are shared between sessions: make their arrays read-only."""
    for v in vars(result).values():
        if isinstance(v, np.ndarray):
            v.flags.writeable = False


def cell_settings(spec: SweepSpec, iy: int, ix: int) -> dict[str, Any]:
    """What the run of cell (row iy, column ix) used: hyperparameters, steps, batch size."""
    hypers: dict[str, Any] = dict(spec.hypers)
    steps, batch = spec.steps, spec.batch_size
    for ax, i in ((spec.x, ix), (spec.y, iy)):
        v = float(ax.values()[i])
        if ax.key == STEPS:
            steps = int(v)
        elif ax.key == BATCH:
            batch = int(v)
        else:
            h = axes.hyper_for(ax.key, spec.optimizer)
            if h is not None:
                hypers[h.name] = int(v) if h.kind == "int" else v
    return {"hypers": hypers, "steps": steps, "batch_size": batch}


def explore_state(
    optimizer: str,
    surface: str,
    surface_params: Mapping[str, Any],
    hypers: Mapping[str, Any],
    start: Sequence[float],
    steps: int,
    batch_size: int | None,
    seed: int,
) -> ExploreState:
    """The race on Explore of one run of a map: its optimizer alone, with exactly its settings."""
    opt = optimizers.get(optimizer)
    defaults = opt.defaults()
    own = {
        h.name: hypers[h.name]
        for h in opt.hypers
        if h.name in hypers and h.name != "convention" and hypers[h.name] != defaults[h.name]
    }
    n = surfaces.get(surface, **dict(surface_params)).n_samples
    return ExploreState(
        surface=surface,
        surface_params=dict(surface_params),
        optimizers=(optimizer,),
        hyper={optimizer: own} if own else {},
        start=(float(start[0]), float(start[1])),
        steps=int(steps),
        batch_size=None if batch_size is None or batch_size >= n else int(batch_size),
        seed=int(seed),
    )


def sweep_cell_state(spec: SweepSpec, iy: int, ix: int) -> ExploreState:
    """The race of one cell of a sweep map, for Explore."""
    cell = cell_settings(spec, iy, ix)
    return explore_state(
        spec.optimizer,
        spec.surface,
        dict(spec.surface_params),
        cell["hypers"],
        spec.start,
        cell["steps"],
        cell["batch_size"],
        spec.seed,
    )


# ---------------------------------------------------------------- basins of attraction


@dataclass(frozen=True)
class BasinSpec:
    """One optimizer's basin map: n × n starts over ``box`` = (x0, x1, y0, y1)."""

    surface: str
    surface_params: tuple[tuple[str, Any], ...]
    optimizer: str
    hypers: tuple[tuple[str, Any], ...]
    steps: int
    batch_size: int | None
    seed: int
    n: int
    box: tuple[float, float, float, float]

    def key(self) -> str:
        return "basin:" + json.dumps(_plain(self), sort_keys=True)

    def work(self) -> int:
        return self.n * self.n * self.steps

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres (n,) along x and y: the starts."""
        x0, x1, y0, y1 = self.box
        c = (np.arange(self.n) + 0.5) / self.n
        return x0 + c * (x1 - x0), y0 + c * (y1 - y0)


def basin_specs(state: MapsState) -> tuple[list[BasinSpec], list[str]]:
    surface = surface_of(state)
    n, note = axes.clamp_cells(state.basin_grid, axes.MAX_BASIN_CELLS)
    notes = [note[0].upper() + note[1:] + "."] if note else []
    (x0, x1), (y0, y1) = surface.bounds
    box = state.box if state.box is not None else (x0, x1, y0, y1)
    specs = [
        BasinSpec(
            surface=state.surface,
            surface_params=_items(state.surface_params),
            optimizer=opt,
            hypers=_items(effective_hypers(state, opt)),
            steps=int(state.steps),
            batch_size=_batch(state.batch_size, surface),
            seed=int(state.seed),
            n=n,
            box=tuple(float(v) for v in box),  # type: ignore[arg-type]
        )
        for opt in state.optimizers
    ]
    return specs, notes


def arrival_radius(surface: Any) -> float:
    """How close to a minimum a run must be to count as in it: 2 % of the bounds' smaller
    span, and at most a quarter of the distance between the two closest minima."""
    (x0, x1), (y0, y1) = surface.bounds
    r = ARRIVAL_FRACTION * min(x1 - x0, y1 - y0)
    pts = np.array([p.xy for p in surface.minima], dtype=np.float64).reshape(-1, 2)
    if len(pts) > 1:
        d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
        d[np.diag_indices(len(pts))] = np.inf
        r = min(r, 0.25 * float(d.min()))
    return float(r)


@dataclass(frozen=True)
class BasinResult:
    """(n, n) arrays over the starts, row i at ys[i], column j at xs[j]."""

    spec: BasinSpec
    xs: np.ndarray
    ys: np.ndarray
    label: np.ndarray  # index of the minimum the run ends in, NO_MINIMUM or DIVERGED
    arrived: np.ndarray  # checked step from which it stayed within the radius of it (-1: none)
    diverged_at: np.ndarray
    final: np.ndarray  # (n, n, 2) where each run ends
    radius: float
    stride: int  # where each run is, checked every `stride` steps
    simulate_s: float
    total_s: float = 0.0

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


def _read_basin(traj: optimizers.Trajectory) -> dict[str, np.ndarray]:
    """Per run: the minimum its last check found it within reach of (else NO_MINIMUM, or
    DIVERGED), the checked step from which it stayed within reach of that minimum (-1: none),
    its divergence step and its final point (2, K): the runs are the last axis. The engine did
    the checks during the run (``settle_points``); a surface without minima has none."""
    final = traj.params[-1]
    k = len(final)
    if traj.settled_near is None or traj.settled_at is None:
        label = np.full(k, NO_MINIMUM, dtype=np.int64)
        arrived = np.full(k, -1, dtype=np.int64)
    else:
        label, arrived = traj.settled_near, traj.settled_at
    label = np.where(traj.diverged_at >= 0, DIVERGED, label)
    return {
        "label": label,
        "arrived": np.where(label >= 0, arrived, -1),
        "diverged_at": np.asarray(traj.diverged_at),
        "final": np.ascontiguousarray(final.T),
    }


def run_basin(spec: BasinSpec) -> BasinResult:
    """The basin map of ``spec``: ONE ``simulate`` call with n² starts."""
    t_start = time.perf_counter()
    surface = surfaces.get(spec.surface, **dict(spec.surface_params))
    minima = Minima.of(surface)
    xs, ys = spec.centres()
    gx, gy = np.meshgrid(xs, ys)
    starts = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    k = len(starts)
    m = len(minima.xy)
    stride = check_every(k * m, spec.steps, BASIN_CHECKS, CHEAP_BASIN_CHECKS)
    radius = arrival_radius(surface)
    settle: dict[str, Any] = (
        {"settle_points": minima.xy, "settle_radius": radius, "check_every": stride} if m else {}
    )
    t0 = time.perf_counter()  # the runs and their reading, in the pool's processes
    got = POOL.read(
        _read_basin,
        surface,
        spec.optimizer,
        starts,
        spec.steps,
        batch_size=spec.batch_size,
        seed=spec.seed,
        record="final",
        engine=ENGINE,
        **settle,
        **dict(spec.hypers),
    )
    sim = time.perf_counter() - t0
    n = spec.n
    result = BasinResult(
        spec=spec,
        xs=xs,
        ys=ys,
        label=got["label"].reshape(n, n).astype(np.int16),
        arrived=got["arrived"].reshape(n, n),
        diverged_at=got["diverged_at"].reshape(n, n),
        final=got["final"].T.reshape(n, n, 2),
        radius=radius,
        stride=stride,
        simulate_s=sim,
    )
    object.__setattr__(result, "total_s", time.perf_counter() - t_start)
    _freeze(result)
    return result


def basin_cell_state(spec: BasinSpec, iy: int, ix: int) -> ExploreState:
    xs, ys = spec.centres()
    return explore_state(
        spec.optimizer,
        spec.surface,
        dict(spec.surface_params),
        dict(spec.hypers),
        (float(xs[ix]), float(ys[iy])),
        spec.steps,
        spec.batch_size,
        spec.seed,
    )


def zoom_box(
    box: Sequence[float], at: Sequence[float], bounds: Any, factor: float = 4.0
) -> tuple[float, float, float, float]:
    """A window ``factor`` times smaller around ``at``, kept inside ``bounds`` (the box)."""
    x0, x1, y0, y1 = (float(v) for v in box)
    (bx0, bx1), (by0, by1) = bounds
    w, h = (x1 - x0) / factor, (y1 - y0) / factor
    cx = min(max(float(at[0]), bx0 + w / 2), bx1 - w / 2)
    cy = min(max(float(at[1]), by0 + h / 2), by1 - h / 2)
    return (cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2)


# ---------------------------------------------------------------- the range test


@dataclass(frozen=True)
class RangeSpec:
    surface: str
    surface_params: tuple[tuple[str, Any], ...]
    optimizer: str
    hypers: tuple[tuple[str, Any], ...]  # without the learning rate
    start: tuple[float, float]
    lr_min: float
    lr_max: float
    steps: int
    batch_size: int | None
    seed: int

    def key(self) -> str:
        return "range:" + json.dumps(_plain(self), sort_keys=True)

    def work(self) -> int:
        return self.steps


def range_specs(state: MapsState) -> tuple[list[RangeSpec], list[str]]:
    surface = surface_of(state)
    start = start_of(state, surface)
    notes = []
    lo, hi = float(state.range_min), float(state.range_max)
    if not lo < hi:
        lo, hi = hi, lo
        notes.append("The smallest learning rate was above the largest: they were swapped.")
    if lo == hi:
        lo, hi = 1e-6, 10.0
    specs = []
    for opt in state.optimizers:
        hyp = effective_hypers(state, opt)
        lr_name = next(h.name for h in optimizers.get(opt).hypers if h.role == "lr")
        hyp.pop(lr_name, None)
        specs.append(
            RangeSpec(
                surface=state.surface,
                surface_params=_items(state.surface_params),
                optimizer=opt,
                hypers=_items(hyp),
                start=start,
                lr_min=lo,
                lr_max=hi,
                steps=int(state.range_steps),
                batch_size=_batch(state.batch_size, surface),
                seed=int(state.seed),
            )
        )
    return specs, notes


@dataclass(frozen=True)
class RangeResult:
    spec: RangeSpec
    lrs: np.ndarray  # (T,) the learning rate of step t
    loss: np.ndarray  # (T,) the full-batch loss after step t (NaN once diverged)
    read: np.ndarray  # (T,) what the rules read: smoothed with mini-batches, else the loss
    suggestion: lr_range.Suggestion
    diverged_at: int
    smoothed: bool
    simulate_s: float

    @property
    def nbytes(self) -> int:
        return int(self.lrs.nbytes * 3)


def run_range(spec: RangeSpec) -> RangeResult:
    """The range test of ``spec``: one run whose learning rate grows exponentially."""
    surface = surfaces.get(spec.surface, **dict(spec.surface_params))
    base, sched = lr_range.schedule(spec.lr_min, spec.lr_max, spec.steps)
    lr_name = next(h.name for h in optimizers.get(spec.optimizer).hypers if h.role == "lr")
    t0 = time.perf_counter()
    traj = optimizers.simulate(
        surface,
        spec.optimizer,
        spec.start,
        spec.steps,
        batch_size=spec.batch_size,
        seed=spec.seed,
        schedule=sched,
        **{**dict(spec.hypers), lr_name: base},
    )
    sim = time.perf_counter() - t0
    lrs = np.array(traj.lr[:, 0], dtype=np.float64)
    loss = np.array(traj.loss[1:, 0], dtype=np.float64)
    div = int(traj.diverged_at[0])
    if div >= 1:
        loss[div - 1 :] = np.nan
    smoothed = spec.batch_size is not None
    read = lr_range.smooth(loss) if smoothed else loss.copy()
    result = RangeResult(
        spec=spec,
        lrs=lrs,
        loss=loss,
        read=read,
        suggestion=lr_range.suggest(lrs, read),
        diverged_at=div,
        smoothed=smoothed,
        simulate_s=sim,
    )
    _freeze(result)
    return result


# ---------------------------------------------------------------- theory on quadratics


@dataclass(frozen=True)
class Theory:
    """The surface's curvature at its minimum and what the theory says about it."""

    minimum: tuple[float, float]
    fstar: float
    curvature: curvature.Curvature
    quadratic: bool
    optimum: theory.Optimum | None  # None when the Hessian is not positive definite

    @property
    def local(self) -> bool:
        return not self.quadratic


def theory_of(surface: Any, start: Sequence[float]) -> Theory | None:
    """The theory's data for ``surface`` (None without a minimum)."""
    ref = curvature.reference_minimum(surface, start)
    if ref is None:
        return None
    cv = curvature.curvature(surface, ref.xy)
    opt = theory.optimum(cv.eigenvalues.tolist()) if cv.positive_definite else None
    return Theory(
        (float(ref.xy[0]), float(ref.xy[1])),
        float(ref.value),
        cv,
        curvature.is_quadratic(surface),
        opt,
    )


@dataclass(frozen=True)
class TheorySpec:
    """The theory view's runs: the chosen (α, β) from the start, and the measured map."""

    surface: str
    surface_params: tuple[tuple[str, Any], ...]
    start: tuple[float, float]
    steps: int
    alpha: float
    beta: float
    sweep: SweepSpec  # momentum over (lr, β) on the same axes as the theory's map


def theory_spec(state: MapsState) -> tuple[TheorySpec | None, Theory | None, list[str]]:
    """The theory view of ``state`` (None with a reason when the surface has no minimum or
    its Hessian there is not positive definite)."""
    surface = surface_of(state)
    start = start_of(state, surface)
    th = theory_of(surface, start)
    if th is None:
        return None, None, ["This surface has no minimum: the theory needs one."]
    if th.optimum is None:
        return None, th, ["The Hessian at the minimum is not positive definite: no rates."]
    opt = th.optimum
    alpha = float(state.theory_lr) if state.theory_lr is not None else opt.momentum_lr
    beta = float(state.theory_beta) if state.theory_beta is not None else opt.momentum_beta
    n, _ = axes.clamp_cells(min(state.grid, 128), axes.MAX_SWEEP_CELLS)
    top = (2.0 + 2.0 * 0.99) / opt.lam_max  # momentum's edge at the top of the β axis
    lo = opt.gd_edge / 50  # 1.5 to 3 decades: where the rates differ
    x = GridAxis("lr", lo, top * 1.5, n, True, False)
    y = GridAxis("beta", 0.0, 0.99, n, False, False)
    sweep = SweepSpec(
        surface=state.surface,
        surface_params=_items(state.surface_params),
        optimizer="momentum",
        hypers=(),
        start=start,
        steps=int(state.steps),
        batch_size=None,
        seed=0,
        x=x,
        y=y,
        tol=float(state.tol),
        detail=True,  # the rate is read before a fast run reaches the minimum to rounding
    )
    notes = []
    if th.local:
        notes.append(
            "This surface is not a quadratic: the theory uses its Hessian at the minimum "
            f"({th.minimum[0]:.3g}, {th.minimum[1]:.3g}), so it describes the runs only once "
            "they are close to it (local)."
        )
    spec = TheorySpec(
        state.surface, _items(state.surface_params), start, int(state.steps), alpha, beta, sweep
    )
    return spec, th, notes


@dataclass(frozen=True)
class EigenRun:
    """One momentum run from the start at (α, β) and its error on the eigendirections."""

    steps: np.ndarray  # (T + 1,)
    components: np.ndarray  # (T + 1, 2): ⟨x_t − x*, q_i⟩ for eigenvalue i (ascending)
    predicted: np.ndarray  # (T + 1, 2): the theory's e_t from the same start (eigen_path)
    diverged_at: int


def eigen_run(spec: TheorySpec, th: Theory) -> EigenRun:
    """The current race's error split on the Hessian's eigendirections, step by step."""
    surface = surfaces.get(spec.surface, **dict(spec.surface_params))
    traj = optimizers.simulate(
        surface,
        "momentum",
        spec.start,
        spec.steps,
        lr=spec.alpha,
        momentum=spec.beta,
    )
    vecs = th.curvature.eigenvectors
    comps = theory.eigen_components(traj.params[:, 0], th.minimum, vecs)
    e0 = comps[0]
    lams = th.curvature.eigenvalues
    pred = np.stack(
        [
            theory.eigen_path(spec.alpha * float(lam), spec.beta, spec.steps, float(e0[i]))
            for i, lam in enumerate(lams)
        ],
        axis=-1,
    )
    return EigenRun(traj.steps, comps, pred, int(traj.diverged_at[0]))


# ---------------------------------------------------------------- exports


def sweep_csv(results: Iterable[SweepResult]) -> str:
    """Every cell of every sweep map: one row per optimizer and cell."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "optimizer",
            "x_axis",
            "x",
            "y_axis",
            "y",
            "final_loss",
            "loss_gap",
            "distance_to_nearest_minimum",
            "steps_to_tolerance",
            "tolerance_checked_every",
            "diverged_at_step",
            "convergence_rate",
        ]
    )
    for r in results:
        ny, nx = r.final_loss.shape
        for i in range(ny):
            for j in range(nx):
                w.writerow(
                    [
                        r.spec.optimizer,
                        r.spec.x.key,
                        repr(float(r.xs[j])),
                        r.spec.y.key,
                        repr(float(r.ys[i])),
                        _num(r.final_loss[i, j]),
                        _num(r.gap[i, j]) if r.gap is not None else "",
                        _num(r.distance[i, j]) if r.distance is not None else "",
                        _int(r.tol_step[i, j]) if r.tol_step is not None else "",
                        r.tol_every or "",
                        _int(r.diverged_at[i, j]),
                        _num(r.rate[i, j]) if r.rate is not None else "",
                    ]
                )
    return buf.getvalue()


def basin_csv(results: Iterable[BasinResult], minima: Sequence[Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "optimizer",
            "start_x",
            "start_y",
            "ends_in",
            "minimum_x",
            "minimum_y",
            "settled_from_step",
            "checked_every",
            "diverged_at_step",
            "final_x",
            "final_y",
        ]
    )
    for r in results:
        n = len(r.xs)
        for i in range(n):
            for j in range(n):
                lab = int(r.label[i, j])
                name = {NO_MINIMUM: "no minimum yet", DIVERGED: "diverged"}.get(lab, f"{lab}")
                mx, my = minima[lab].xy if lab >= 0 else ("", "")
                w.writerow(
                    [
                        r.spec.optimizer,
                        repr(float(r.xs[j])),
                        repr(float(r.ys[i])),
                        name,
                        mx,
                        my,
                        _int(r.arrived[i, j]),
                        r.stride,
                        _int(r.diverged_at[i, j]),
                        _num(r.final[i, j, 0]),
                        _num(r.final[i, j, 1]),
                    ]
                )
    return buf.getvalue()


def theory_csv(sweep: SweepResult, eigenvalues: Sequence[float]) -> str:
    """The theory view's map: for every (α, β), the rate measured on the run and the theory's."""
    theo = theory.rate_on_spectrum(sweep.xs[None, :], sweep.ys[:, None], eigenvalues)
    rate = sweep.rate if sweep.rate is not None else np.full(theo.shape, np.nan)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["lr", "momentum", "measured_rate", "theory_rate", "diverged_at_step"])
    for i in range(len(sweep.ys)):
        for j in range(len(sweep.xs)):
            w.writerow(
                [
                    repr(float(sweep.xs[j])),
                    repr(float(sweep.ys[i])),
                    _num(rate[i, j]),
                    _num(theo[i, j]),
                    _int(sweep.diverged_at[i, j]),
                ]
            )
    return buf.getvalue()


def range_csv(results: Iterable[RangeResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["optimizer", "step", "learning_rate", "loss", "read_by_the_rules"])
    for r in results:
        for t, (lr, loss, read) in enumerate(zip(r.lrs, r.loss, r.read, strict=True), start=1):
            w.writerow([r.spec.optimizer, t, repr(float(lr)), _num(loss), _num(read)])
    return buf.getvalue()


def _num(v: Any) -> str:
    f = float(v)
    return repr(f) if math.isfinite(f) else ""


def _int(v: Any) -> str:
    i = int(v)
    return "" if i < 0 else str(i)


@dataclass
class Timing:
    """What one map cost: the bare simulate calls and everything around them."""

    simulate_s: float = 0.0
    total_s: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)

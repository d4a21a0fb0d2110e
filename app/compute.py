"""From a page state to trajectories, figures and result rows: the pages' only contact with
the core, and every cache of the app.

Each optimizer is simulated on its own, through a bounded ``st.cache_resource`` keyed by
exactly what its run depends on (surface and its parameters, the optimizer and its effective
hyperparameters, starts, steps, batch size, seed, schedule). Changing one optimizer's
hyperparameter therefore recomputes that optimizer only; the others come from the cache. The
figures built from those runs (the race, the surface image, the lessons' still pictures) are
cached here too, so that pages only call and draw.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

import optimizers
import surfaces
from app import figures, presets
from app.state.codec import Scalar, escape_markdown
from app.state.explore import ExploreState
from optimizers import Trajectory
from surfaces import Surface

TOLERANCE = 1e-3  # "reached": the loss stays within this of f* from some step to the end
ROLE_FIELDS = {"beta": "beta", "rho": "rho", "beta2": "beta2"}
SWARM_RADIUS = 0.06  # swarm starts lie on a circle of this fraction of the smaller bound span


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


@st.cache_resource(max_entries=64, show_spinner=False)
def _surface(name: str, params: tuple[tuple[str, Any], ...]) -> Surface:
    return surfaces.get(name, **dict(params))


def build_surface(state: ExploreState) -> Surface:
    """The state's surface (cached; surfaces are immutable). ValueError for bad parameters."""
    return _surface(state.surface, _key(state.surface_params))


def effective_hypers(state: ExploreState, name: str) -> dict[str, Scalar]:
    """Optimizer ``name``'s hyperparameters after the global controls are applied.

    Start from the optimizer's defaults, overlay ``state.hyper[name]`` (unknown keys are
    ignored), then let the shared learning rate and the global β / ρ / β₂ drive every
    hyperparameter whose role they own.
    """
    opt = optimizers.get(name)
    out: dict[str, Scalar] = dict(opt.defaults())
    own = state.hyper.get(name, {})
    for h in opt.hypers:
        if h.name in own:
            out[h.name] = own[h.name]
        if h.role == "lr" and state.shared_lr:
            out[h.name] = state.lr
        elif h.role in ROLE_FIELDS:
            value = getattr(state, ROLE_FIELDS[h.role])
            if value is not None:
                out[h.name] = value
        if h.name == "convention":
            out[h.name] = state.momentum_convention
    return out


def starts(state: ExploreState, surface: Surface) -> np.ndarray:
    """(K, 2) start points: the chosen start, plus a ring around it for a swarm."""
    x, y = state.start if state.start is not None else surface.default_start
    k = max(1, int(state.swarm))
    (x0, x1), (y0, y1) = surface.bounds
    r = SWARM_RADIUS * min(x1 - x0, y1 - y0)
    angles = 2 * np.pi * np.arange(k - 1) / max(k - 1, 1)
    ring = np.stack([x + r * np.cos(angles), y + r * np.sin(angles)], axis=-1)
    pts = np.concatenate([np.array([[x, y]], dtype=np.float64), ring], axis=0)
    pts[:, 0] = np.clip(pts[:, 0], x0, x1)
    pts[:, 1] = np.clip(pts[:, 1], y0, y1)
    return pts


def run_key(
    state: ExploreState,
    optimizer: str,
    hypers: Mapping[str, Any],
    start_points: np.ndarray,
    batch: int | None,
) -> str:
    """Everything one run depends on, as one canonical JSON string (the cache key)."""
    return json.dumps(
        {
            "surface": state.surface,
            "surface_params": dict(state.surface_params),
            "optimizer": optimizer,
            "hypers": dict(hypers),
            "starts": np.asarray(start_points, dtype=np.float64).tolist(),
            "steps": int(state.steps),
            "batch": batch,
            "seed": int(state.seed),
            "schedule": state.schedule,
            "schedule_params": dict(state.schedule_params),
        },
        sort_keys=True,
    )


@st.cache_resource(max_entries=200, show_spinner=False)  # ~10 kB - 1 MB each
def _simulate(key: str) -> Trajectory:
    """One optimizer's run, cached by :func:`run_key` (a string hashes fastest).

    Shared between sessions without a copy per rerun (``st.cache_data`` unpickles every hit);
    its arrays are made read-only, so a reader that tried to edit one would fail loudly
    instead of changing another student's race.
    """
    spec = json.loads(key)
    surface = _surface(spec["surface"], _key(spec["surface_params"]))
    sched = optimizers.schedules.make(spec["schedule"], **spec["schedule_params"])
    traj = _run(spec, surface, sched)
    for value in vars(traj).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    for value in traj.trace.values():
        value.flags.writeable = False
    return traj


def _run(spec: dict[str, Any], surface: Surface, sched: Any) -> Trajectory:
    return optimizers.simulate(
        surface,
        spec["optimizer"],
        np.array(spec["starts"], dtype=np.float64),
        spec["steps"],
        batch_size=spec["batch"],
        seed=spec["seed"],
        schedule=sched,
        **spec["hypers"],
    )


@dataclass
class Race:
    """Everything the page draws from: the surface, the runs and the per-optimizer errors."""

    surface: Surface
    starts: np.ndarray  # (K, 2)
    runs: dict[str, Trajectory] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # optimizer -> message
    keys: dict[str, str] = field(default_factory=dict)  # run label -> its cache key (run_key)

    def signature(self) -> str:
        """Everything the drawn runs depend on, as one string (the figure's cache key)."""
        return json.dumps(
            [
                self.surface.name,
                sorted(self.surface.params.items()),
                np.asarray(self.starts).tolist(),
                list(self.keys.items()),
            ]
        )


def run_title(label: str) -> str:
    """Legend title of a run label: ``"sgd@lr=0.5"`` -> ``"SGD · lr=0.5"``."""
    name, _, tags = label.partition("@")
    title = optimizers.get(name).title if name in optimizers.names() else name
    return f"{title} · {tags.replace(',', ', ')}" if tags else title


def race(state: ExploreState) -> Race:
    """Simulate every run of ``state`` (cached one by one). Bad settings become messages.

    The runs are ``presets.run_variants(state)``: one per selected optimizer, or several per
    optimizer when the state compares learning rates or batch sizes side by side. Raises
    ValueError only for a bad surface; anything one run rejects (a hyperparameter out of
    range) is reported in ``Race.errors`` under its label.
    """
    surface = build_surface(state)
    pts = starts(state, surface)
    out = Race(surface=surface, starts=pts)
    for v in presets.run_variants(state):
        hypers = effective_hypers(state, v.optimizer) | dict(v.overrides)
        batch = v.batch_size if state.compare_batch_sizes else state.batch_size
        try:
            b = None if batch is None or batch >= surface.n_samples else int(batch)
            key = run_key(state, v.optimizer, hypers, pts, b)
            out.runs[v.label] = _simulate(key)
            out.keys[v.label] = key
        except ValueError as exc:
            out.errors[v.label] = str(exc)
    return out


# ---------------------------------------------------------------- the results table


def surface_of(name: str, params: Mapping[str, Any]) -> Surface:
    """Surface ``name`` with ``params`` (cached). ValueError for bad parameters (not cached)."""
    return _surface(name, _key(params))


def fmt(v: float) -> str:
    """A number for the table: never 'nan' or 'inf' on screen."""
    if not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    return f"{v:.2e}"


_LARGEST = float(np.finfo(np.float64).max)  # the core's loss where f was not finite
NONE_FOUND = "None found"  # a surface without a known minimum (a formula's search found none)


def nearest_minimum(surface: Surface, xy: np.ndarray) -> tuple[str, float]:
    """('global (3, 2)', distance) for the known minimum closest to ``xy``;
    (NONE_FOUND, nan) if the surface has none."""
    p, d = _nearest(surface, xy)
    if p is None:
        return NONE_FOUND, math.nan
    return f"{p.kind} ({p.xy[0]:.3g}, {p.xy[1]:.3g})", d


def _nearest(surface: Surface, xy: np.ndarray) -> tuple[Any, float]:
    if not surface.minima:
        return None, math.nan
    pts = np.array([p.xy for p in surface.minima])
    d = np.hypot(pts[:, 0] - xy[0], pts[:, 1] - xy[1])
    i = int(np.argmin(d))
    return surface.minima[i], float(d[i])


def stays_within(gap: np.ndarray, tol: float) -> int | None:
    """Index of the first recorded state from which ``gap`` stays ≤ ``tol`` to the end (a run
    that swings through the target and out again has not reached it); None if it never does.
    """
    over = np.flatnonzero(~(np.asarray(gap) <= tol))
    if over.size == 0:
        return 0
    last = int(over[-1])
    return None if last == len(gap) - 1 else last + 1


def escaped_downhill(surface: Surface, traj: Trajectory, k: int) -> bool:
    """Run ``k`` left the plotted region going downhill on a surface that keeps falling: it
    has no minimum (unbounded below, x² − y²) or it left at a loss below every known minimum.
    Not a divergence that a smaller learning rate would tame."""
    d = int(np.asarray(traj.diverged_at)[k])
    if d < 0:
        return False
    r = min(int(np.searchsorted(traj.steps, d, side="left")), len(traj.steps) - 1)
    loss = np.asarray(traj.loss[: r + 1, k], dtype=np.float64)
    if not np.isfinite(loss).all() or not loss[-1] < loss[0]:
        return False
    fstar = min((p.value for p in surface.minima), default=None)
    return fstar is None or bool(loss[-1] < fstar)


OUTCOMES = ("reached", "local", "moving", "diverged", "escaped", "stopped")


@dataclass(frozen=True)
class Outcome:
    """How one run (one start) ended, for the results table."""

    kind: str  # "reached" | "local" | "moving" | "diverged" | "escaped" | "stopped"
    step: int | None = None  # reached: the step from which it stays within tolerance
    where: str = ""  # local: the minimum, e.g. "(−0.99, 2.02)"


def outcome(surface: Surface, traj: Trajectory, k: int, tol: float = TOLERANCE) -> Outcome:
    """Reached tolerance (and stayed), settled in a local minimum (which), still moving,
    diverged, or left the plot downhill on a surface without a floor."""
    div = np.asarray(traj.diverged_at)
    if div[k] >= 0:
        if k in stop_reasons(surface, traj):  # f not finite there: the surface, not the rate
            return Outcome("stopped", int(div[k]))
        return Outcome("escaped" if escaped_downhill(surface, traj, k) else "diverged", int(div[k]))
    loss = np.asarray(traj.loss[:, k], dtype=np.float64)
    fstar = min((p.value for p in surface.minima), default=None)
    if fstar is None:  # nothing to reach: did it leave the plot, downhill?
        pos = np.asarray(traj.positions[:, k])
        (x0, x1), (y0, y1) = surface.bounds
        out = (pos[:, 0] < x0) | (pos[:, 0] > x1) | (pos[:, 1] < y0) | (pos[:, 1] > y1)
        i = int(np.argmax(out))
        if out[i] and loss[i] < loss[0]:
            return Outcome("escaped", int(traj.steps[i]))
        return Outcome("moving")
    within = stays_within(loss - fstar, tol)
    if within is not None:
        return Outcome("reached", int(traj.steps[within]))
    p, _ = _nearest(surface, np.asarray(traj.positions[-1, k]))
    lowest = fstar if fstar is not None else -math.inf
    if p is not None and p.value > lowest + tol and stays_within(loss - p.value, tol) is not None:
        return Outcome("local", where=f"({p.xy[0]:.3g}, {p.xy[1]:.3g})")
    return Outcome("moving")


def _status(outcomes: Sequence[Outcome]) -> str:
    k = len(outcomes)
    if k == 1:
        o = outcomes[0]
        return {
            "reached": "reached tolerance",
            "local": f"settled in the local minimum at {o.where}",
            "moving": "not yet within tolerance",
            "diverged": f"diverged at step {o.step}",
            "escaped": f"left the plot downhill at step {o.step} (no minimum there)",
            "stopped": f"stopped: f not finite at step {o.step}",
        }[o.kind]
    counts = {kind: sum(o.kind == kind for o in outcomes) for kind in OUTCOMES}
    diverged = [o.step or 0 for o in outcomes if o.kind in ("diverged", "escaped", "stopped")]
    parts = []
    if counts.get("reached"):
        parts.append(f"{counts['reached']} of {k} runs reached tolerance")
    if counts.get("local"):
        parts.append(f"{counts['local']} settled in local minima")
    if diverged:
        word = (
            "diverged"
            if counts.get("diverged")
            else ("stopped: f not finite" if counts.get("stopped") else "left the plot downhill")
        )
        parts.append(f"{len(diverged)} of {k} runs {word} (first at step {min(diverged)})")
    if counts.get("moving"):
        parts.append(f"{counts['moving']} not yet within tolerance")
    return ", ".join(parts)


def result_rows(
    surface: Surface,
    runs: Mapping[str, Trajectory],
    titles: Mapping[str, str],
    tol: float = TOLERANCE,
) -> list[dict[str, str]]:
    """One row per optimizer, as strings ready to show (swarms: the median over runs).

    "Reached" means the loss came within ``tol`` of f* and stayed there to the last step
    (a swing through the minimum does not count); a run that settles in a local minimum says
    which one.
    """
    rows = []
    for name, traj in runs.items():
        k = traj.positions.shape[1]
        div = np.asarray(traj.diverged_at)
        final = np.where(np.abs(traj.loss[-1]) < _LARGEST, traj.loss[-1], math.nan)
        dists = [nearest_minimum(surface, traj.positions[-1, i]) for i in range(k)]
        outcomes = [outcome(surface, traj, i, tol) for i in range(k)]
        reached = [o.step for o in outcomes if o.kind == "reached" and o.step is not None]
        alive = [i for i in range(k) if div[i] < 0] or list(range(k))
        rows.append(
            {
                "optimizer": titles.get(name, name),
                "final loss": fmt(_median(final[alive].tolist())),
                "nearest minimum": dists[alive[0]][0],
                "distance": fmt(_median([dists[i][1] for i in alive])),
                f"within loss − f* ≤ {tol:g} from step": (
                    str(int(_median(reached))) if reached else "—"
                ),
                "status": _status(outcomes),
            }
        )
    return rows


def _median(values: Sequence[float]) -> float:
    """The median of a short list (np.median costs ~20 µs a call); NaN if any value is NaN."""
    v = sorted(float(x) for x in values)
    if not v or any(math.isnan(x) for x in v):
        return math.nan
    m = len(v) // 2
    return v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2


def stop_reasons(surface: Surface, traj: Trajectory) -> dict[int, str]:
    """Run k -> why it stopped, for the runs that stopped inside the surface's divergence box:
    f or its gradient was not finite where the run stands (log of a negative number, ...).
    A run that left the box has no entry."""
    out: dict[int, str] = {}
    (bx0, bx1), (by0, by1) = surface.box
    steps = np.asarray(traj.steps)
    for k, d in enumerate(np.asarray(traj.diverged_at).tolist()):
        if d < 0:
            continue
        row = min(int(np.searchsorted(steps, d)), len(steps) - 1)
        x, y = (float(v) for v in traj.positions[row, k])
        if bx0 < x < bx1 and by0 < y < by1:
            why = surfaces.explain_nonfinite(surface, x, y)
            if why:
                out[k] = why
    return out


def divergence_messages(
    surface: Surface, runs: Mapping[str, Trajectory], titles: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(kind, title, sentence) per optimizer with a run that left the plot, with the likely
    cause: a learning rate too large (kind "diverged"), a surface that keeps falling (kind
    "downhill": no advice to change the rate), or a point where f is not defined (kind
    "stopped", with why: a typed formula's log of a negative number)."""
    out = []
    for name, traj in runs.items():
        div = np.asarray(traj.diverged_at)
        if not (div >= 0).any():
            continue
        first = int(div[div >= 0].min())
        title = titles.get(name, name)
        reasons = stop_reasons(surface, traj)
        if reasons:
            k = min(reasons, key=lambda i: int(div[i]))
            out.append(
                (
                    "stopped",
                    title,
                    f"**{title}** stopped at step {int(div[k])}: "
                    f"{escape_markdown(reasons[k], limit=300)}. The ✕ marks the point; start "
                    "elsewhere or set bounds where f is defined.",
                )
            )
            continue
        runs_left = [i for i in range(len(div)) if div[i] >= 0]
        if all(escaped_downhill(surface, traj, i) for i in runs_left):
            out.append(
                (
                    "downhill",
                    title,
                    f"**{title}** left the plotted region at step {first} going downhill, "
                    "where the ✕ marks it: this surface keeps falling beyond the plot "
                    f"({surface.title} has no minimum there), so there is no bottom to reach. "
                    "That is the surface, not the learning rate.",
                )
            )
            continue
        lr = traj.hyperparams.get("lr")
        lr_text = f" (learning rate {lr:g})" if isinstance(lr, int | float) else ""
        out.append(
            (
                "diverged",
                title,
                f"**{title}** diverged at step {first}{lr_text}: its path left the plot where "
                "the ✕ marks it. A smaller learning rate usually tames it.",
            )
        )
    return out


# ---------------------------------------------------------------- cached figures


@st.cache_data(max_entries=64, show_spinner=False)
def _surface_image(name: str, params: tuple[tuple[str, Any], ...], dark: bool) -> dict[str, Any]:
    return figures.surface_image(_surface(name, params), dark=dark)


# Eight figures: a cached race figure holds ~1.5-3 MB of Python objects (the frames), so 48
# entries made most of a worker's memory growth over 1,000 sessions (benchmarks/load.py memory).
@st.cache_resource(max_entries=8, show_spinner=False)
def _race_figure(
    signature: str,  # noqa: ARG001 (with style_key: the cache key; the rest is not hashed)
    style_key: str,  # noqa: ARG001
    _race: Race,
    _titles: dict[str, str],
    _style: figures.Style,
    explained: figures.Explained | None,
) -> dict[str, Any]:
    surface = _race.surface
    series = figures.prepare(surface, _race.runs, _titles, dark=_style.dark)
    image = _surface_image(surface.name, _key(surface.params), _style.dark)
    return figures.race_figure(surface, series, _race.starts, _style, image, explained)


def race_figure(
    race: Race,
    titles: dict[str, str],
    style: figures.Style,
    explained: figures.Explained | None = None,
) -> dict[str, Any]:
    """The race figure, built once per (runs, view options) and shared read-only.

    :meth:`Race.signature` (every run's cache key) and the style determine the figure
    completely, so a rerun that changes nothing drawn (another panel, the optimizer whose
    settings are shown, a lesson note) reuses it instead of rebuilding it. Nobody mutates the
    returned dict (the page, the exports and plotly only read it).
    """
    return _race_figure(race.signature(), repr(style), race, titles, style, explained)


@st.cache_resource(max_entries=4, show_spinner=False)
def _race_3d_figure(
    signature: str,  # noqa: ARG001 (with style_key: the cache key; the rest is not hashed)
    style_key: str,  # noqa: ARG001
    _race: Race,
    _titles: dict[str, str],
    _style: figures.Style,
) -> dict[str, Any]:
    series = figures.prepare(_race.surface, _race.runs, _titles, dark=_style.dark)
    return figures.surface_3d_figure(_race.surface, series, _style)


def race_3d_figure(race: Race, titles: dict[str, str], style: figures.Style) -> dict[str, Any]:
    """The race in 3-D with its playback, built once per (runs, view options)."""
    return _race_3d_figure(race.signature(), repr(style), race, titles, style)


@st.cache_data(max_entries=64, show_spinner=False)
def _thumbnail(query: str, dark: bool) -> bytes:
    from app.state.explore import decode

    state, _ = decode(json.loads(query))
    race_ = race(state)
    titles = {label: run_title(label) for label in race_.runs}
    series = figures.prepare(race_.surface, race_.runs, titles, dark=dark)
    return figures.race_thumbnail(race_.surface, series, race_.starts, dark=dark)


def lesson_picture(state: ExploreState, *, dark: bool = False) -> bytes:
    """A lesson's race as a small PNG (cached: the lessons never change)."""
    from app.state.explore import encode

    return _thumbnail(json.dumps(encode(state), sort_keys=True), dark)

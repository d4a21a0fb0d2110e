"""From a Networks page state to trained networks, replays, landscapes and initialisation
studies: the page's only contact with the core, and its caches.

Each run (one optimizer, one batch size) is trained on its own through a bounded
``st.cache_resource`` keyed by exactly what it depends on (data set, network, optimizer and its
effective hyperparameters, steps, batching, seed, schedule), so changing one optimizer's
setting retrains that optimizer only. A run is trained with ``optimizers.minimize(...,
observe=...)``: for networks small enough the gradient and every state buffer of every step are
kept beside the trajectory, so the inside view and the step-by-step maths read the very numbers
of the run; for larger ones they replay the run for the steps and weights asked for (the same
arithmetic: the tests hold replays equal to runs).

Pure-ish: streamlit only for the caches. Bad settings raise ValueError with a message for
people; the page shows it.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import streamlit as st

import optimizers
from app import netjobs
from app.netjobs import (
    INIT_WORK_CAP,
    OVERFLOW,
    Inits,
    NetRun,
    Observed,
    freeze,
    plan_steps,
)
from app.state import explore as explore_state
from app.state.codec import Scalar
from app.state.networks import NetworksState, effective_hypers, run_labels, steps_per_epoch
from optimizers import LaneTrace
from surfaces import Network, planes
from surfaces.datasets import CLASSIFICATION
from surfaces.network import FEATURES

__all__ = ["OVERFLOW", "Inits", "NetRun", "Observed", "plan_steps"]
T = TypeVar("T")
log = logging.getLogger(__name__)
GRID_CAP = 2e9  # sample-parameter products of a landscape's loss grid
MAX_PANELS = 12  # decision boundaries drawn side by side


# ---------------------------------------------------------------- the jobs' process


@st.cache_resource(show_spinner=False)
def _pool() -> Executor | None:
    """One worker process per Streamlit worker for the heavy jobs (OP_NETWORK_PROCESSES
    processes; 0 runs them in the Streamlit worker itself). Spawned, not forked: the worker
    that asks has threads."""
    try:
        n = int(os.environ.get("OP_NETWORK_PROCESSES", "1"))
    except ValueError:
        n = 1
    if n <= 0:
        return None
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=min(n, 4), mp_context=ctx, initializer=netjobs.warm)


def call(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the jobs' process (the caller's thread waits without holding the GIL);
    in this process when there is none or it broke (then a new one is made for next time).
    A ValueError raised by the job reaches the caller as it is."""
    pool = _pool()
    if pool is None:
        return fn(*args)
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:
        log.warning("the Networks jobs process broke; running this job here, a new one next")
        _pool.clear()
        return fn(*args)


# ---------------------------------------------------------------- the network


def network_spec(state: NetworksState) -> dict[str, Any]:
    """What the network objective depends on (data set and architecture), as plain values."""
    return {
        "dataset": state.dataset,
        "n": state.n_points,
        "noise": float(state.noise),
        "data_seed": int(state.data_seed),
        "train_ratio": state.train_ratio,
        "hidden": None if state.hidden is None else list(state.hidden),
        "features": None if state.features is None else list(state.features),
        "activation": state.activation,
        "regularization": state.regularization,
        "rate": float(state.rate),
        "init": state.init,
        "bce": state.bce,
    }


@st.cache_resource(max_entries=32, show_spinner=False)
def _network(key: str) -> Network:
    return netjobs.network(json.loads(key))


def build_network(state: NetworksState) -> Network:
    """The state's network objective (cached, immutable). ValueError for bad settings (an empty
    or one-class training set, sizes beyond the caps), worded for people."""
    return _network(json.dumps(network_spec(state), sort_keys=True))


# ---------------------------------------------------------------- one run


@st.cache_resource(max_entries=48, show_spinner=False)
def _train(key: str) -> NetRun:
    """One run, cached by :func:`run_spec` as JSON (trained in the jobs' process); its arrays
    are read-only (shared by every session of the worker)."""
    run = call(netjobs.train, key)
    freeze(run)
    return run


def run_spec(
    state: NetworksState, optimizer: str, hypers: Mapping[str, Scalar], batch: int | None
) -> dict[str, Any]:
    """Everything one run depends on."""
    return {
        "network": network_spec(state),
        "optimizer": optimizer,
        "hypers": dict(hypers),
        "epochs": int(state.epochs),
        "batch": batch,
        "shuffle": bool(state.shuffle),
        "seed": int(state.seed),
        "schedule": state.schedule,
        "schedule_params": dict(state.schedule_params),
    }


# ---------------------------------------------------------------- every run of the page


@dataclass(frozen=True)
class Variant:
    """One run the page draws: ``label`` keys the runs, legend and colour; ``overrides`` go
    on top of the optimizer's hyperparameters (a compared learning rate)."""

    label: str
    optimizer: str
    batch: int | None  # None: the full batch
    overrides: tuple[tuple[str, float], ...] = ()


def variants(state: NetworksState, n_train: int) -> list[Variant]:
    """Each optimizer, times each compared learning rate, times each compared batch size
    (a batch size of N is the full batch), in the order of ``run_labels``."""
    out = []
    labels = iter(run_labels(vars(state)))
    lrs: Sequence[float | None] = state.compare_lrs or (None,)
    sizes: Sequence[int | None] = state.compare_batch_sizes or (state.batch_size,)
    for opt in state.optimizers:
        lr_key = next(h.name for h in optimizers.get(opt).hypers if h.role == "lr")
        for lr in lrs:
            over = () if lr is None else ((lr_key, float(lr)),)
            for b in sizes:
                batch = None if b is None or b >= n_train else int(b)
                out.append(Variant(next(labels), opt, batch, over))
    return out


def run_title(label: str, n_train: int | None = None) -> str:
    """``"sgd@lr=0.5,B=1"`` -> ``"SGD · lr 0.5 · one sample at a time"``."""
    name, _, tags = label.partition("@")
    title = optimizers.get(name).title if name in optimizers.names() else name
    parts = [title]
    for tag in filter(None, tags.split(",")):
        key, _, value = tag.partition("=")
        if key == "B":
            b = int(value)
            parts.append(scheme_title(None if n_train is not None and b >= n_train else b))
        else:
            parts.append(f"{key} {value}")
    return " · ".join(parts)


def scheme_title(batch: int | None) -> str:
    if batch is None:
        return "full batch"
    if batch == 1:
        return "one sample at a time"
    return f"mini-batches of {batch}"


@dataclass
class Training:
    """Everything the page draws from. ``problem``: why nothing could be trained (bad data or
    network settings), else None; ``errors``: per run; ``notes``: what the page changed."""

    net: Network | None
    runs: dict[str, NetRun] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problem: str | None = None

    def signature(self) -> str:
        """Everything the drawn runs depend on (the figures' cache key)."""
        return json.dumps([(lb, r.key) for lb, r in self.runs.items()])

    @property
    def epochs(self) -> int:
        return max((r.epochs for r in self.runs.values()), default=0)


def training(state: NetworksState) -> Training:
    """Train every run of ``state`` (cached one by one). Bad settings become messages."""
    try:
        net = build_network(state)
    except ValueError as exc:
        return Training(None, problem=str(exc))
    out = Training(net)
    notes: set[str] = set()
    for v in variants(state, net.n_samples):
        try:
            hypers = effective_hypers(state, v.optimizer) | dict(v.overrides)
            spec = run_spec(state, v.optimizer, hypers, v.batch)
            _, _, _, note = plan_steps(net, spec)
            if note:
                notes.add(note)
            run = _train(json.dumps(spec, sort_keys=True))
        except ValueError as exc:
            out.errors[v.label] = str(exc)
            continue
        labelled = NetRun(**{**vars(run), "label": v.label})
        out.runs[v.label] = labelled
    out.notes = sorted(notes)
    return out


# ---------------------------------------------------------------- frames and steps


def frame_epochs(train: Training, max_frames: int) -> np.ndarray:
    """The epochs the animation shows: at most ``max_frames``, recorded by every run."""
    if not train.runs:
        return np.zeros(1, dtype=np.int64)
    common: set[int] | None = None
    for r in train.runs.values():
        done = np.asarray(r.traj.steps) // r.spe
        exact = np.asarray(r.traj.steps) % r.spe == 0
        got = set(done[exact].tolist())
        common = got if common is None else common & got
    epochs = np.array(sorted(common or {0}), dtype=np.int64)
    if len(epochs) <= max_frames:
        return epochs
    pick = np.unique(np.rint(np.linspace(0, len(epochs) - 1, max_frames)).astype(np.int64))
    return epochs[pick]


def row_at(run: NetRun, t: int) -> int:
    """The recorded row at or before step ``t``."""
    r = int(np.searchsorted(run.traj.steps, t, side="right")) - 1
    return min(max(r, 0), len(run.traj.steps) - 1)


def view_step(run: NetRun, at: int | None) -> int:
    """The step the inside view and the maths show: ``at`` within the run (None: the last)."""
    last = run.steps
    if run.diverged_at >= 0:
        last = min(last, max(run.diverged_at - 1, 0))
    return last if at is None else int(min(max(at, 0), last))


# ---------------------------------------------------------------- replays


@st.cache_resource(max_entries=8, show_spinner=False)
def _observed(key: str) -> Observed | None:
    """Every step of a run with every coordinate (None: too big to keep); in the jobs' process."""
    out = call(netjobs.observe_all, key)
    if out is not None:
        freeze(out)
    return out


@st.cache_resource(max_entries=16, show_spinner=False)
def _replay(key: str, upto: int, only: int, coord: int) -> Observed:
    """Steps 0..upto (or only step ``only`` when it is >= 0) of coordinate ``coord`` (all when
    -1), replayed in the jobs' process; plain numbers key the cache (hashing a tuple of
    thousands of steps took longer than the lookup saved)."""
    steps = [only] if only >= 0 else range(upto + 1)
    out = call(netjobs.observe, key, list(steps), None if coord < 0 else [coord])
    freeze(out)
    return out


def observed(run: NetRun) -> Observed | None:
    """Every step's gradient and optimizer state of ``run`` (replayed once, cached), or None
    for a run too big to keep them all."""
    return _observed(run.key)


@dataclass(frozen=True)
class Snapshot:
    """A run's network after step ``t``: parameters (D,), the gradient step t used (D,; zero
    at t = 0) and each state buffer of the rule after step t."""

    t: int
    params: np.ndarray
    grad: np.ndarray
    state: dict[str, np.ndarray]


def snapshot(run: NetRun, t: int) -> Snapshot:
    """The network of ``run`` after step ``t`` with its gradient and optimizer state."""
    obs = observed(run)
    if obs is None:
        obs = _replay(run.key, t, t, -1)
    i = obs.index(t)
    if i is None:  # the run stopped before t (diverged): its last point
        return Snapshot(t, run.traj.params[-1, 0], np.zeros(run.traj.params.shape[-1]), {})
    return Snapshot(
        t, obs.params[i], obs.grad[i], {n: np.asarray(a[i]) for n, a in obs.state.items()}
    )


def lane_series(run: NetRun, weight: int, upto: int) -> tuple[np.ndarray, float]:
    """The gradients (upto,) weight ``weight`` received in steps 1..upto, and its start."""
    obs = observed(run)
    col = weight
    if obs is None:
        obs, col = _replay(run.key, upto, -1, weight), 0
    return np.asarray(obs.grad[1 : upto + 1, col]), float(obs.params[0, col])


def lane(run: NetRun, weight: int, upto: int) -> LaneTrace:
    """Weight ``weight``'s named trace over steps 1..upto (optimizers.trace_lane), fed with
    the gradients of the run itself. ValueError for rules that need the whole vector."""
    grads, x0 = lane_series(run, weight, upto)
    hyp = {k: v for k, v in run.traj.hyperparams.items()}
    return optimizers.trace_lane(
        run.optimizer,
        grads,
        np.asarray(run.traj.lr[:upto, 0]),
        x0,
        batched=run.batch is not None,
        **hyp,
    )


# ---------------------------------------------------------------- the loss landscape


@dataclass(frozen=True)
class Landscape:
    """One shared plane for every run: the loss on a grid, each path's report, the warning."""

    plane: planes.Plane
    a: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    reports: dict[str, planes.PathReport]
    rows: dict[str, np.ndarray]  # label -> recorded rows drawn (R',)
    centre_text: str
    far: list[str]


MAX_PATH_ROWS = 400  # points per path projected and drawn


def _path_rows(run: NetRun) -> np.ndarray:
    n = len(run.traj.steps)
    if run.diverged_at >= 0:
        n = max(1, row_at(run, run.diverged_at - 1) + 1)
    rows = np.arange(n)
    if n > MAX_PATH_ROWS:
        rows = np.unique(np.rint(np.linspace(0, n - 1, MAX_PATH_ROWS)).astype(np.int64))
    return rows


def _centre(train: Training, centre: str) -> tuple[np.ndarray, str]:
    runs = train.runs
    first = next(iter(runs.values()))
    if centre == "start":
        return np.asarray(first.traj.params[0, 0]), "the initial network (every run's start)"
    if centre in runs:
        r = runs[centre]
        return np.asarray(r.traj.params[_path_rows(r)[-1], 0]), f"the final point of {centre}"
    best = min(runs.values(), key=lambda r: float(r.traj.loss[_path_rows(r)[-1], 0]))
    return (
        np.asarray(best.traj.params[_path_rows(best)[-1], 0]),
        f"the best final point ({best.label})",
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def _landscape(
    signature: str,  # noqa: ARG001 (with the options: the cache key)
    kind: str,
    centre: str,
    seed: int,
    n: int,
    _train: Training,
) -> Landscape:
    train = _train
    net = train.net
    assert net is not None
    c, text = _centre(train, centre)
    rows = {lb: _path_rows(r) for lb, r in train.runs.items()}
    pts = np.concatenate([r.traj.params[rows[lb], 0] for lb, r in train.runs.items()])
    if kind == "random":
        filters, biases = planes.network_filters(net.param_info)
        plane = planes.random_plane(c, filters, biases, seed, pts)
    else:
        plane = planes.pca_plane(pts, c)

    def value(p: np.ndarray) -> np.ndarray:
        return np.asarray(net.value(p))

    reports = {
        lb: planes.path_report(value, plane, r.traj.params[rows[lb], 0], r.traj.loss[rows[lb], 0])
        for lb, r in train.runs.items()
    }
    allc = np.concatenate([rep.coords for rep in reports.values()])
    ranges = planes.grid_ranges(allc)
    a, b, loss = planes.loss_grid(value, plane, ranges, n)
    far = [list(reports)[i] for i in planes.far_off(list(reports.values()))]
    out = Landscape(plane, a, b, loss, reports, rows, text, far)
    return out


def grid_size(net: Network, wanted: int = 64) -> int:
    """Loss-grid points per side, fewer for big networks (n^2 x N x D within GRID_CAP)."""
    per = max(1, net.n_samples * net.dim)
    return int(max(12, min(wanted, math.isqrt(int(GRID_CAP / per)))))


def landscape(train: Training, kind: str, centre: str, seed: int) -> Landscape:
    """The shared plane of every run (cached). ValueError when no plane can be drawn."""
    if not train.runs or train.net is None:
        raise ValueError("no run to draw")
    if centre not in ("best", "start") and centre not in train.runs:
        centre = "best"
    n = grid_size(train.net)
    return _landscape(train.signature(), kind, centre, seed, n, train)


# ---------------------------------------------------------------- how often does it work


def inits_spec(state: NetworksState, variant: Variant, net: Network) -> dict[str, Any]:
    hypers = effective_hypers(state, variant.optimizer) | dict(variant.overrides)
    spec = run_spec(state, variant.optimizer, hypers, variant.batch)
    spec["inits"] = int(state.inits)
    _, _, steps, _ = plan_steps(net, spec)
    b = net.n_samples if variant.batch is None else variant.batch
    work = state.inits * steps * b * net.dim
    if work > INIT_WORK_CAP:
        raise ValueError(
            f"{state.inits:,} initialisations x {steps:,} steps of a {net.dim:,}-parameter "
            "network is more than this page runs at once: lower the initialisations, the "
            "epochs or the network"
        )
    return spec


@st.cache_resource(max_entries=32, show_spinner=False)
def _inits(key: str) -> Inits:
    out = call(netjobs.run_inits, key)
    freeze(out)
    return out


def inits(
    state: NetworksState,
    train: Training,
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[dict[str, Inits], dict[str, str]]:
    """Every run's setting from ``state.inits`` initialisations (cached per run), calling
    ``progress(done, total, label)`` before each. Returns (results, errors) by run label."""
    out: dict[str, Inits] = {}
    errors: dict[str, str] = {}
    net = train.net
    if net is None:
        return out, errors
    todo = [v for v in variants(state, net.n_samples) if v.label in train.runs]
    for i, v in enumerate(todo):
        if progress is not None:
            progress(i, len(todo), v.label)
        try:
            out[v.label] = _inits(json.dumps(inits_spec(state, v, net), sort_keys=True))
        except ValueError as exc:
            errors[v.label] = str(exc)
    if progress is not None:
        progress(len(todo), len(todo), "")
    return out, errors


# ---------------------------------------------------------------- the same race on Explore


def explore_race(
    state: NetworksState, net: Network | None
) -> tuple[explore_state.ExploreState, str] | None:
    """The lessons' linear regression as a network (y = w x + b, MSE) is Explore's
    ``linear_regression`` surface in (w, b): (Explore's state of the same race, a note on
    where it differs), or None when this network is not that surface (hidden layers, other
    inputs, a regularisation term). Full-batch and shuffled runs are the same there (to rounding:
    the network sums in another order);
    Explore has no in-order mini-batches and at most its own number of steps."""
    if (
        net is None
        or state.dataset != "linear"
        or net.sizes != (1, 1)
        or tuple(net.features) != ("x",)
        or state.regularization != "none"
    ):
        return None
    spe = steps_per_epoch(net.n_samples, state.batch_size)
    steps = state.epochs * spe
    notes = []
    if steps > explore_state.MAX_STEPS:
        notes.append(f"Explore runs at most {explore_state.MAX_STEPS:,} steps of the {steps:,}")
        steps = explore_state.MAX_STEPS
    if spe > 1 and not state.shuffle:
        notes.append("Explore draws its mini-batches shuffled each epoch, not in order")
    w, b = (float(v) for v in np.ravel(net.init(state.seed)))
    race = explore_state.ExploreState(
        surface="linear_regression",
        optimizers=state.optimizers,
        # every setting as this page resolves it (its own starting values are not Explore's);
        # the learning rate always, the rest where it is not torch's default (a short link)
        hyper={name: _differs(name, effective_hypers(state, name)) for name in state.optimizers},
        momentum_convention=state.momentum_convention,
        start=(w, b),
        steps=steps,
        batch_size=state.batch_size,
        seed=state.seed,
        schedule=state.schedule,
        schedule_params=dict(state.schedule_params),
        compare_lrs=state.compare_lrs,
        compare_batch_sizes=state.compare_batch_sizes,
        large_fonts=state.large_fonts,
        dark=state.dark,
    )
    return race, "; ".join(notes)


def _differs(name: str, values: Mapping[str, Scalar]) -> dict[str, Scalar]:
    opt = optimizers.get(name)
    torch = opt.defaults()
    lr = next(h.name for h in opt.hypers if h.role == "lr")
    return {k: v for k, v in values.items() if k == lr or torch.get(k) != v}


# ---------------------------------------------------------------- messages


def divergence_messages(train: Training, titles: Mapping[str, str]) -> list[str]:
    """One sentence per run that diverged (its parameters stopped being finite numbers)."""
    out = []
    for lb, r in train.runs.items():
        if r.diverged_at >= 0:
            lr = r.traj.hyperparams.get("lr")
            lr_text = f" with learning rate {lr:g}" if isinstance(lr, int | float) else ""
            out.append(
                f"**{titles.get(lb, lb)}** diverged at step {r.diverged_at:,} (epoch "
                f"{math.ceil(r.diverged_at / r.spe):,}){lr_text}: its loss or its weights "
                "stopped being finite numbers, so it stops there (✕ on the curves). A smaller "
                "learning rate usually tames it."
            )
    return out


# ---------------------------------------------------------------- figures (cached)

FRAMES = 100  # animation frames of the training and landscape figures
PICTURE = 50  # pixels per side of a decision-boundary picture
NODE_PICTURE = 24  # pixels per side of a node's picture in the inside view


def titles(train: Training) -> dict[str, str]:
    n = train.net.n_samples if train.net is not None else None
    return {lb: run_title(lb, n) for lb in train.runs}


def run_colors(labels: Sequence[str], dark: bool) -> dict[str, tuple[str, str]]:
    """Each run in its optimizer's one colour (as on Explore and Maps); the runs that compare
    an optimizer with itself (learning rates, batch sizes) in shades and dashes of it."""
    from app.figures import colormap

    seen: dict[str, int] = {}
    out = {}
    for lb in labels:
        opt = lb.split("@", 1)[0]
        out[lb] = colormap.variant_style(opt, seen.get(opt, 0), dark=dark)
        seen[opt] = seen.get(opt, 0) + 1
    return out


def _grid(bounds: tuple[tuple[float, float], tuple[float, float]], n: int) -> np.ndarray:
    """(n * n, 2) points, row 0 of the picture (the top, y1) first."""
    (x0, x1), (y0, y1) = bounds
    xs, ys = np.linspace(x0, x1, n), np.linspace(y1, y0, n)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def target_scale(net: Network) -> float:
    """Regression outputs drawn at full colour at this |value| (the largest target)."""
    y = np.abs(np.asarray(net.data.y_train))
    return float(y.max()) if y.size and y.max() > 0 else 1.0


def signed_output(net: Network, values: np.ndarray) -> np.ndarray:
    """Network outputs -> [-1, 1] for the pictures (2p - 1, or the value over the scale)."""
    if net.problem == CLASSIFICATION:
        return np.asarray(2.0 * values - 1.0)
    return np.asarray(values / target_scale(net))


@st.cache_resource(max_entries=64, show_spinner=False)
def _pictures(
    key: str, steps_text: str, discretize: bool, dark: bool, border: str | None = None
) -> list[str]:
    """One run's decision-boundary pictures after each of the steps (comma-separated: one
    string hashes far faster than a tuple of a hundred numbers), as PNG data URIs."""
    from app.figures import networks as nf

    steps = [int(t) for t in steps_text.split(",")]
    run = _train(key)
    net = _network(json.dumps(json.loads(key)["network"], sort_keys=True))
    rows = [row_at(run, t) for t in steps]
    params = np.asarray(run.traj.params[rows, 0])
    grid = _grid(net.data.bounds, PICTURE)
    out = signed_output(net, predict(net, params, grid))
    return nf.output_uris(
        out.reshape(-1, PICTURE, PICTURE), discretize=discretize, dark=dark, border=border
    )


def predict(net: Network, params: np.ndarray, points: np.ndarray) -> np.ndarray:
    """net.predict in chunks of a few parameter vectors: (K, D), (M, 2) -> (K, M). Small
    temporaries stay in the cache (one call over 60 x 2,500 points was 8x slower)."""
    per = max(1, 20_000 // max(1, len(points)))
    return np.concatenate([net.predict(params[i : i + per], points)
                           for i in range(0, len(params), per)])  # fmt: skip


def data_draw(net: Network, show_test: bool) -> Any:
    from app.figures.networks import DataDraw

    d = net.data
    return DataDraw(
        np.asarray(d.x_train), np.asarray(d.y_train), np.asarray(d.x_test),
        np.asarray(d.y_test), d.bounds, net.problem == CLASSIFICATION, show_test,
        target_scale(net),
    )  # fmt: skip


def epoch_rows(run: NetRun) -> np.ndarray:
    """Recorded rows at the end of an epoch (step a multiple of the steps per epoch)."""
    steps = np.asarray(run.traj.steps)
    rows = np.flatnonzero(steps % run.spe == 0)
    if run.diverged_at >= 0:
        rows = rows[steps[rows] < run.diverged_at]
    return rows if len(rows) else np.array([0])


def summary(run: NetRun) -> str:
    """A few words under a panel's title: where the run ends (its accuracy and loss after the
    last epoch, whatever epoch the picture shows), or where it diverged."""
    if run.diverged_at >= 0:
        return f"diverged at step {run.diverged_at:,}"
    loss = float(run.traj.loss[-1, 0])
    if run.train_acc is not None:
        return f"final: acc {run.train_acc[-1]:.0%} · loss {loss:.3g}"
    return f"final loss {loss:.3g}"


@st.cache_resource(max_entries=8, show_spinner=False)
def _training_figure(
    signature: str,  # noqa: ARG001 (with the other keys: the cache key)
    style_key: str,  # noqa: ARG001
    discretize: bool,
    show_test: bool,
    _train: Training,
    _style: Any,
) -> tuple[dict[str, Any], np.ndarray]:
    from app.figures import networks as nf

    train, style = _train, _style
    assert train.net is not None
    net = train.net
    fe = frame_epochs(train, FRAMES)
    labels = list(train.runs)[:MAX_PANELS]
    names = titles(train)
    cols = run_colors(list(train.runs), style.dark)
    runs = []
    for lb in labels:
        r = train.runs[lb]
        steps = tuple(int(e) * r.spe for e in fe)
        rows = epoch_rows(r)
        source = r.train_acc if r.train_acc is not None else r.test_loss
        metric = None if source is None else source[rows]
        runs.append(
            nf.RunDraw(
                lb, names[lb], cols[lb][0], cols[lb][1],
                np.asarray(r.traj.steps)[rows] / r.spe, np.asarray(r.traj.loss[rows, 0]),
                None if metric is None else np.asarray(metric),
                _pictures(r.key, ",".join(map(str, steps)), discretize, style.dark, cols[lb][0]),
                None if r.diverged_at < 0 else r.diverged_at / r.spe, summary(r),
            )
        )  # fmt: skip
    classify = net.problem == CLASSIFICATION
    fig = nf.training_figure(
        data_draw(net, show_test),
        runs,
        fe,
        style,
        metric_title="training accuracy" if classify else "test loss",
        metric_percent=classify,
    )
    return fig, fe


def training_figure(
    train: Training, style: Any, *, discretize: bool, show_test: bool
) -> tuple[dict[str, Any], np.ndarray]:
    """The training figure and its frame epochs, built once per (runs, view options)."""
    return _training_figure(train.signature(), repr(style), discretize, show_test, train, style)


def curves_figure(train: Training, style: Any) -> dict[str, Any]:
    """Loss per step and per epoch, accuracy per step and per epoch; one column per batching
    scheme."""
    from app.figures import networks as nf

    names = titles(train)
    cols = run_colors(list(train.runs), style.dark)
    groups: dict[str, list[Any]] = {}
    for lb, r in train.runs.items():
        stop = len(r.traj.steps) if r.diverged_at < 0 else row_at(r, r.diverged_at - 1) + 1
        rows = epoch_rows(r)
        name, _, tags = lb.partition("@")
        kept = [t for t in tags.split(",") if t and not t.startswith("B=")]
        compared = len(kept) != len([t for t in tags.split(",") if t])
        scheme = scheme_title(r.batch) if compared else ""
        short = run_title(name + ("@" + ",".join(kept) if kept else ""))
        groups.setdefault(scheme, []).append(
            nf.CurveRun(
                lb, short if compared else names[lb], *cols[lb],
                np.asarray(r.traj.steps[:stop]), np.asarray(r.traj.loss[:stop, 0]),
                np.asarray(r.traj.steps)[rows] / r.spe, np.asarray(r.traj.loss[rows, 0]),
                None if r.test_loss is None else np.asarray(r.test_loss[rows]),
                None if r.train_acc is None else np.asarray(r.train_acc[rows]),
                None if r.test_acc is None else np.asarray(r.test_acc[rows]),
                step_acc=None if r.train_acc is None else np.asarray(r.train_acc[:stop]),
                spe=r.spe,
            )
        )  # fmt: skip
    return nf.curves_figure(list(groups.items()), style)


def landscape_figure(train: Training, land: Landscape, style: Any) -> dict[str, Any]:
    from app.figures import landscape as lf

    names = titles(train)
    cols = run_colors(list(train.runs), style.dark)
    fe = frame_epochs(train, FRAMES)
    paths = []
    for lb, rep in land.reports.items():
        r = train.runs[lb]
        rows = land.rows[lb]
        paths.append(
            lf.PathDraw(
                lb, names[lb], *cols[lb], np.asarray(r.traj.steps)[rows] / r.spe, rep.coords,
                rep.off, rep.true_loss, rep.plane_loss, r.diverged_at >= 0,
            )
        )  # fmt: skip
    ranges = ((float(land.a[0]), float(land.a[-1])), (float(land.b[0]), float(land.b[-1])))
    what = "principal direction" if land.plane.kind == "pca" else "random direction"
    return lf.landscape_figure(
        paths, land.loss, ranges, fe, style, axis_titles=(f"{what} 1", f"{what} 2")
    )


def node_pictures(net: Network, params: np.ndarray, dark: bool) -> list[list[str]]:
    """Every node's output over the input plane as a picture, per column (inputs first)."""
    from app.figures.networks import output_uri

    outs = net.layer_outputs(params, _grid(net.data.bounds, NODE_PICTURE))
    cols = []
    for i, layer in enumerate(outs):
        pics = []
        for v in layer:
            if i == len(outs) - 1:
                s = signed_output(net, v)
            else:
                m = float(np.abs(v).max())
                s = v / m if m > 0 else v
            pics.append(output_uri(s.reshape(NODE_PICTURE, NODE_PICTURE), discretize=False,
                                   dark=dark))  # fmt: skip
        cols.append(pics)
    return cols


def graph_figure(train: Training, run: NetRun, snap: Snapshot, style: Any) -> dict[str, Any]:
    """Inside one network: node pictures, weights as links, hover with gradient and state."""
    from app.figures import netgraph as ng

    net = train.net
    assert net is not None
    pics = node_pictures(net, snap.params, style.dark)
    names = ng.layer_names(net.sizes, [FEATURES[f][0] for f in net.features])
    info = net.param_info

    def lines(i: int) -> str:
        state = {k: float(v[i]) for k, v in snap.state.items() if np.ndim(v) == 1}
        return ng.hover_lines(info[i].name, float(snap.params[i]), float(snap.grad[i]), state)

    bias_at: dict[tuple[int, int], int] = {
        (p.layer, p.row): p.index for p in info if p.kind == "bias"
    }
    columns = []
    for c, (col_names, col_pics) in enumerate(zip(names, pics, strict=True)):
        nodes = []
        for j, (nm, pic) in enumerate(zip(col_names, col_pics, strict=True)):
            b = bias_at.get((c, j))
            nodes.append(ng.NodeDraw(nm, pic, ng.node_hover(nm, None if b is None else lines(b))))
        columns.append(nodes)
    weights = [w for w, _ in net.weights(snap.params)]
    hover = []
    for o, i, w0, _ in net.arch.offsets:
        hover.append([[lines(w0 + r * i + c) for c in range(i)] for r in range(o)])
    epoch = snap.t / run.spe
    title = f"{titles(train)[run.label]} after step {snap.t:,} (epoch {epoch:.4g})"
    return ng.graph_figure(ng.GraphDraw(columns, weights, hover, title), style)


def often_figure(
    train: Training, results: Mapping[str, Inits], target: float | None, style: Any
) -> tuple[dict[str, Any], str]:
    from app.figures import often as of

    names = titles(train)
    cols = run_colors(list(train.runs), style.dark)
    rows = []
    for lb, res in results.items():
        rows.append(
            of.OftenRow(
                lb, names[lb], cols[lb][0], res.seeds, res.loss, res.success(target), res.dead,
                res.accuracy, res.diverged_at >= 0,
            )
        )  # fmt: skip
    classify = train.net is not None and train.net.problem == CLASSIFICATION
    what = (
        "100 % training accuracy"
        if classify and target is None
        else f"final loss below {1e-2 if target is None else target:g}"
    )
    return of.often_figure(rows, what, style), what


# ---------------------------------------------------------------- lessons' still pictures

THUMB = (240, 160)


@st.cache_data(max_entries=32, show_spinner=False)
def _thumbnail(query: str, dark: bool) -> bytes:
    from PIL import Image, ImageDraw

    from app.figures import colormap
    from app.figures.networks import BLUE, ORANGE, output_rgb
    from app.state.networks import CODEC

    state, _ = CODEC.decode(json.loads(query))
    train = training(state)
    w, h = THUMB
    paper = "#0E1117" if dark else "#FFFFFF"
    canvas = Image.new("RGB", (w, h), paper)
    net = train.net
    every = list(train.runs.values())
    pick_runs = np.unique(np.rint(np.linspace(0, len(every) - 1, min(3, len(every)))))
    runs = [every[int(i)] for i in pick_runs] if every else []
    if net is None or not runs:
        return colormap.png_bytes(np.asarray(canvas))
    side = min(h - 8, (w - 8 * (len(runs) + 1)) // len(runs))
    gap = (w - side * len(runs)) / (len(runs) + 1)
    grid = _grid(net.data.bounds, side)
    (x0, x1), (y0, y1) = net.data.bounds
    pts = np.asarray(net.data.x_train)
    ys = np.asarray(net.data.y_train)
    pick = np.linspace(0, len(ys) - 1, min(len(ys), 120)).astype(np.int64)
    for i, r in enumerate(runs):
        params = np.asarray(r.traj.params[-1:, 0])
        out = signed_output(net, predict(net, params, grid))[0].reshape(side, side)
        tile = Image.fromarray(output_rgb(out, discretize=False, dark=dark), "RGB")
        left, top = round(gap + i * (side + gap)), (h - side) // 2
        canvas.paste(tile, (left, top))
        draw = ImageDraw.Draw(canvas)
        for (px, py), y in zip(pts[pick], ys[pick], strict=True):
            cx = left + (px - x0) / (x1 - x0) * (side - 1)
            cy = top + (1 - (py - y0) / (y1 - y0)) * (side - 1)
            color = BLUE if (y > 0.5 if net.problem == CLASSIFICATION else y > 0) else ORANGE
            rad = 4 if len(ys) <= 8 else 2
            draw.ellipse((cx - rad, cy - rad, cx + rad, cy + rad), fill=color, outline=paper)
    return colormap.png_bytes(np.asarray(canvas))


def lesson_picture(state: NetworksState, *, dark: bool = False) -> bytes:
    """A lesson's still picture: the final decision boundaries of its first runs (cached)."""
    from app.state.networks import CODEC

    return _thumbnail(json.dumps(CODEC.encode(state), sort_keys=True), dark)

"""The Networks page's heavy work as plain functions of a JSON key: train a run, replay it
with every step observed, run one setting from many initialisations. Pure (no streamlit).

app/netcompute.py caches their results per key and runs them in a separate worker process
(``OP_NETWORK_PROCESSES``, default 1), so that a student who trains a big network does not hold
the GIL of the Streamlit worker that serves everybody else: the other students' reruns wait
for a core, never for this work to let go of the interpreter. Everything here is picklable.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import optimizers
import surfaces
from app.state.networks import MAX_RUN_STEPS, steps_per_epoch
from optimizers import Observation, Trajectory
from surfaces import Network
from surfaces.datasets import CLASSIFICATION

RECORD_BUDGET = 600_000  # floats of recorded parameters per run (R x D)
OBSERVE_BUDGET = 1_000_000  # floats of per-step gradients and state kept per run
WORK_CAP = 4e9  # sample-parameter products per run (T x B x D): about 2 s here
INIT_WORK_CAP = 2.5e10  # the same over K initialisations (vectorised: about 4x cheaper each)


@functools.lru_cache(maxsize=32)
def _network(key: str) -> Network:
    spec = json.loads(key)
    hidden, features = spec.pop("hidden"), spec.pop("features")
    net, _ = surfaces.network(
        spec.pop("dataset"),
        None if hidden is None else tuple(hidden),
        spec.pop("activation"),
        0,
        features=None if features is None else tuple(features),
        **spec,
    )
    return net


def network(spec: Mapping[str, Any]) -> Network:
    """The network objective of a ``network_spec`` (cached per process)."""
    return _network(json.dumps(dict(spec), sort_keys=True))


@dataclass(frozen=True)
class Observed:
    """Per-step numbers of a run, at the steps (S,) it kept and for the coordinates (C,) it
    kept (None: all D): the parameters after step s (S, C), the gradient step s used (S, C;
    zeros at s = 0) and every state buffer of the rule after step s (name -> (S, C) or (S,))."""

    steps: np.ndarray
    params: np.ndarray
    grad: np.ndarray
    state: dict[str, np.ndarray]
    coords: np.ndarray | None = None

    def index(self, t: int) -> int | None:
        i = int(np.searchsorted(self.steps, t))
        return i if i < len(self.steps) and int(self.steps[i]) == t else None

    @property
    def complete(self) -> bool:
        return len(self.steps) > 0 and int(self.steps[-1]) + 1 == len(self.steps)


class Keeper:
    """``observe`` for minimize: keeps the steps asked for (all when ``steps`` is None) of the
    coordinates asked for (all when ``coords`` is None), in arrays allocated once."""

    def __init__(
        self, steps: Iterable[int] | None, total: int, dim: int, coords: Sequence[int] | None = None
    ) -> None:
        wanted = range(total + 1) if steps is None else sorted({int(s) for s in steps})
        self.slot = {t: i for i, t in enumerate(wanted)}
        self.coords = None if coords is None else np.asarray(coords, dtype=np.int64)
        width = dim if coords is None else len(coords)
        n = len(self.slot)
        self.steps = np.full(n, -1, dtype=np.int64)
        self.params = np.zeros((n, width))
        self.grad = np.zeros((n, width))
        self.state: dict[str, np.ndarray] = {}
        self.filled = 0

    def __call__(self, obs: Observation) -> None:
        i = self.slot.get(obs.t)
        if i is None or len(obs.runs) == 0:
            return
        c = self.coords
        self.steps[i] = obs.t
        self.params[i] = obs.params[0] if c is None else obs.params[0, c]
        if obs.grad is not None:
            self.grad[i] = obs.grad[0] if c is None else obs.grad[0, c]
        for name, arr in obs.state.items():
            buf = self.state.get(name)
            if buf is None:
                shape = (len(self.steps),) if arr.ndim == 1 else self.params.shape
                buf = self.state[name] = np.zeros(shape)
            buf[i] = arr[0] if (c is None or arr.ndim == 1) else arr[0, c]
        self.filled = max(self.filled, i + 1)

    def result(self) -> Observed:
        n = self.filled  # a diverged run stops early: only the steps it made
        keep = self.steps[:n] >= 0
        return Observed(
            self.steps[:n][keep],
            self.params[:n][keep],
            self.grad[:n][keep],
            {k: v[:n][keep] for k, v in self.state.items()},
            self.coords,
        )


@dataclass
class NetRun:
    """One optimizer trained with one batch size: the trajectory and what the page reads.

    ``spe``: steps per epoch; ``train_acc``/``test_acc``/``test_loss`` (R,) at the recorded
    states (None where they do not apply); ``key``: the cache key. The per-step gradients and
    state are replayed on demand (:func:`observed`, :func:`snapshot`, :func:`lane`).
    """

    label: str
    optimizer: str
    batch: int | None
    shuffle: bool
    spe: int
    epochs: int
    traj: Trajectory
    train_acc: np.ndarray | None
    test_loss: np.ndarray | None
    test_acc: np.ndarray | None
    key: str
    hypers: dict[str, Any] = field(default_factory=dict)
    diverged_at: int = -1  # the first step whose weights or loss stopped being finite

    @property
    def steps(self) -> int:
        return int(self.traj.lr.shape[0])

    def epoch_of(self, t: int) -> float:
        return t / self.spe


def _schedule(spec: Mapping[str, Any]) -> Any:
    return optimizers.schedules.make(spec["schedule"], **spec["schedule_params"])


def plan_steps(net: Network, spec: Mapping[str, Any]) -> tuple[int, int, int, str]:
    """(steps per epoch, epochs run, steps, note): the run's length within the caps."""
    batch = spec["batch"]
    spe = steps_per_epoch(net.n_samples, batch)
    epochs = int(spec["epochs"])
    note = ""
    top = MAX_RUN_STEPS // spe
    b = net.n_samples if batch is None else min(batch, net.n_samples)
    top = min(top, int(WORK_CAP / max(1, spe * b * net.dim)))
    if epochs > top:
        note = (
            f"{epochs:,} epochs of {spe:,} step{'s' * (spe > 1)} would be "
            f"{epochs * spe:,} optimizer steps on a network of {net.dim:,} parameters: "
            f"more than this page runs at once; it trains the first {max(top, 1):,} epochs."
        )
        epochs = max(top, 1)
    return spe, epochs, epochs * spe, note


OVERFLOW = 1e300  # a loss this large was infinite (the core reports no inf: it writes max float)


def blowup(traj: Trajectory) -> int:
    """The step a run diverged at: its weights stopped being finite (the core's
    ``diverged_at``), or its loss overflowed at a recorded step while the weights were still
    finite numbers; -1 if neither."""
    d = int(traj.diverged_at[0])
    bad = np.flatnonzero(~(np.abs(np.asarray(traj.loss[:, 0])) < OVERFLOW))
    if bad.size:
        t = int(traj.steps[bad[0]])
        d = t if d < 0 else min(d, t)
    return d


def _record(steps: int, spe: int, dim: int) -> str | int:
    if (steps + 1) * dim <= RECORD_BUDGET:
        return "all"
    every = math.ceil((steps / spe + 1) * dim / RECORD_BUDGET)
    return spe * every


def _state_width(optimizer: str, dim: int) -> int:
    fields = getattr(optimizers.get(optimizer).rule.state, "_fields", ())
    return 2 * dim + dim * len(fields)


def freeze(obj: Any) -> None:
    """Make every array of a result read-only (it is shared by every session)."""
    for value in vars(obj).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        elif isinstance(value, Observed):
            freeze(value)
        elif isinstance(value, dict):
            for v in value.values():
                if isinstance(v, np.ndarray):
                    v.flags.writeable = False
    traj = getattr(obj, "traj", None)
    if traj is not None:
        for value in vars(traj).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False


def train(key: str) -> NetRun:
    """One run of :func:`app.netcompute.run_spec` (as JSON); its arrays are read-only."""
    spec = json.loads(key)
    net = network(spec["network"])
    spe, epochs, steps, _ = plan_steps(net, spec)
    x0 = net.init(spec["seed"])
    traj = optimizers.minimize(
        net,
        x0,
        steps,
        spec["optimizer"],
        batch_size=spec["batch"],
        shuffle=spec["shuffle"],
        seed=spec["seed"],
        schedule=_schedule(spec),
        record=_record(steps, spe, net.dim),
        **spec["hypers"],
    )
    p = traj.params[:, 0]
    classify = net.problem == CLASSIFICATION
    has_test = net.data.n_test > 0
    with np.errstate(all="ignore"):  # a diverged run's huge weights overflow the test loss
        test_loss = net.loss(p, "test") if has_test else None
    run = NetRun(
        label="",
        optimizer=spec["optimizer"],
        batch=spec["batch"],
        shuffle=spec["shuffle"],
        spe=spe,
        epochs=epochs,
        traj=traj,
        train_acc=net.accuracy(p, "train") if classify else None,
        test_loss=test_loss,
        test_acc=net.accuracy(p, "test") if classify and has_test else None,
        key=key,
        hypers=dict(spec["hypers"]),
        diverged_at=blowup(traj),
    )
    return run


def observe(key: str, steps: Iterable[int] | None, coords: Sequence[int] | None) -> Observed:
    """Run ``key`` again with ``minimize(observe=...)``, keeping ``steps`` (all: None) of
    ``coords`` (all: None); the same arithmetic as the run (tests/test_replay.py)."""
    spec = json.loads(key)
    net = network(spec["network"])
    _, _, n_steps, _ = plan_steps(net, spec)
    wanted = None if steps is None else [t for t in steps if 0 <= t <= n_steps]
    total = n_steps if wanted is None else max(wanted, default=0)
    keep = Keeper(wanted, total, net.dim, coords)
    optimizers.minimize(
        net,
        net.init(spec["seed"]),
        total,
        spec["optimizer"],
        batch_size=spec["batch"],
        shuffle=spec["shuffle"],
        seed=spec["seed"],
        schedule=_schedule(spec),
        record="final",
        observe=keep,
        **spec["hypers"],
    )
    return keep.result()


@dataclass(frozen=True)
class Inits:
    """One setting from K initialisations (seeds 0..K-1): final loss (K,), training accuracy
    (K,; None for regression), dead ReLU units (K,), the step each run diverged at (K,)."""

    seeds: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray | None
    dead: np.ndarray
    diverged_at: np.ndarray

    def success(self, target: float | None) -> np.ndarray:
        """Runs that worked: 100 % training accuracy, or a final loss below ``target``."""
        ok = self.diverged_at < 0
        if target is not None or self.accuracy is None:
            return np.asarray(ok & (self.loss < (1e-2 if target is None else target)))
        return np.asarray(ok & (self.accuracy >= 1.0))


def run_inits(key: str) -> Inits:
    """One setting from ``spec["inits"]`` initialisations in one vectorised call."""
    spec = json.loads(key)
    net = network(spec["network"])
    _, _, steps, _ = plan_steps(net, spec)
    seeds = np.arange(spec["inits"])
    x0 = net.init(seeds.tolist())
    traj = optimizers.minimize(
        net,
        x0,
        steps,
        spec["optimizer"],
        batch_size=spec["batch"],
        shuffle=spec["shuffle"],
        seed=spec["seed"],
        schedule=_schedule(spec),
        record="final",
        **spec["hypers"],
    )
    final = traj.params[-1]
    acc = net.accuracy(final, "train") if net.problem == CLASSIFICATION else None
    return Inits(seeds, traj.loss[-1].copy(), acc, surfaces.dead_units(net, final),
                 traj.diverged_at.copy())  # fmt: skip


def observe_all(key: str) -> Observed | None:
    """Every step of a run with every coordinate, or None when that is more than
    OBSERVE_BUDGET floats (then the page replays just what a view asks for)."""
    spec = json.loads(key)
    net = network(spec["network"])
    _, _, n_steps, _ = plan_steps(net, spec)
    if (n_steps + 1) * _state_width(spec["optimizer"], net.dim) > OBSERVE_BUDGET:
        return None
    return observe(key, None, None)


NICE = 10  # the jobs process's lower scheduling priority, as the map threads' (app/mapwork.py)


def warm() -> None:
    """The worker process's start: a lower priority, so that a student's rerun on any page gets
    a core before a network in training, and the imports a first job would pay for."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: normal priority
        os.nice(NICE)
    import torch  # noqa: F401 (net.init builds nn.Linear layers)

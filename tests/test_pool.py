"""optimizers.pool: simulate's runs shared between processes give simulate's own Trajectory,
to the bit; calls whose runs share a random stream stay in the caller; a dead worker is
survived."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces
from app import sweeps
from optimizers.pool import MIN_RUNS, SimulatePool, share_of

K = 2 * MIN_RUNS + 123  # two shares, the second one run longer


@pytest.fixture(scope="module")
def pool() -> Iterator[SimulatePool]:
    p = SimulatePool(2)
    yield p
    p.close()


def same(a: optimizers.Trajectory, b: optimizers.Trajectory) -> None:
    for name in ("params", "loss", "grad_norm", "lr", "steps", "diverged_at"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape, name
        assert np.array_equal(x, y), name
    assert (a.reached_at is None) == (b.reached_at is None)
    for name in ("reached_at", "settled_at", "settled_near"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None and y is not None:
            assert np.array_equal(x, y), name
    assert a.engine == b.engine
    assert a.hyperparams.keys() == b.hyperparams.keys()
    for name, v in a.hyperparams.items():
        assert np.array_equal(np.asarray(v), np.asarray(b.hyperparams[name])), name


def starts(k: int, surface: surfaces.Surface, seed: int = 0) -> np.ndarray:
    """K starts inside the surface's box."""
    (x0, x1), (y0, y1) = surface.bounds
    u = np.random.default_rng(seed).uniform(0.05, 0.95, (k, 2))
    return np.stack([x0 + u[:, 0] * (x1 - x0), y0 + u[:, 1] * (y1 - y0)], axis=-1)


CASES = [
    # a sweep: per-run lr and beta1 arrays, many runs leave the box (frozen at their exits)
    (
        "ravine",
        "adam",
        "final",
        {"lr": np.geomspace(1e-3, 9.0, K), "betas": (np.linspace(0.0, 0.99, K), 0.999)},
    ),
    # a sweep coloured by steps to tolerance: the engine notes each run's arrival
    (
        "ravine",
        "momentum",
        "final",
        {
            "lr": np.geomspace(1e-3, 0.5, K),
            "momentum": np.linspace(0.0, 0.99, K),
            "reach_loss": 1e-3,
            "check_every": 9,
        },
    ),
    # a basin map: K starts, where each run settles near one of the six minima, every 7th step
    (
        "six_hump_camel",
        "momentum",
        "final",
        {
            "lr": 0.02,
            "momentum": 0.9,
            "settle_points": np.array([m.xy for m in surfaces.get("six_hump_camel").minima]),
            "settle_radius": 0.05,
            "check_every": 7,
        },
    ),
    # every 40th state recorded
    ("himmelblau", "momentum", 40, {"lr": 0.01, "momentum": 0.9}),
    # a schedule shared by every run: the lr table travels as one column
    ("rosenbrock", "nadam", 25, {"schedule": "cosine"}),
    # a schedule over per-run learning rates: the whole table travels
    ("six_hump_camel", "sgd", "final", {"schedule": "step", "lr": np.linspace(0.001, 0.2, K)}),
]


@pytest.mark.parametrize(
    ("surface", "opt", "record", "kw"), CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES]
)
def test_shared_runs_are_simulate_to_the_bit(
    pool: SimulatePool, surface: str, opt: str, record: object, kw: dict
) -> None:
    s = surfaces.get(surface)
    x0 = starts(K, s)
    kwargs = {"record": record, "engine": "numpy", **kw}
    assert pool.splits(s, opt, K, kwargs) == 2
    same(pool.simulate(s, opt, x0, 120, **kwargs), optimizers.simulate(s, opt, x0, 120, **kwargs))


def test_a_typed_formula_travels_as_its_text(pool: SimulatePool) -> None:
    s = surfaces.get("custom", formula="x^2 + 3*sin(y)^2 - x*y/4")
    x0 = starts(K, s)
    got = pool.simulate(s, "rmsprop", x0, 80, record="final", engine="numpy", lr=0.05)
    same(got, optimizers.simulate(s, "rmsprop", x0, 80, record="final", engine="numpy", lr=0.05))


def test_shared_random_streams_and_small_calls_stay_here(pool: SimulatePool) -> None:
    ravine = surfaces.get("ravine")
    assert pool.splits(ravine, "random_search", K, {}) == 1  # its proposals: one stream
    assert pool.splits(ravine, "adam", MIN_RUNS, {}) == 1  # too few runs to share
    assert pool.splits(ravine, "adam", K, {"trace": True}) == 1
    data = next(surfaces.get(n) for n in surfaces.names() if surfaces.get(n).n_samples > 1)
    assert pool.splits(data, "sgd", K, {"batch_size": 1}) == 1  # mini-batches: one stream
    assert pool.splits(data, "sgd", K, {"batch_size": data.n_samples}) == 2  # full batch


def test_an_error_in_a_share_is_raised_and_the_workers_go_on(pool: SimulatePool) -> None:
    s = surfaces.get("ravine")
    x0 = starts(K, s)
    lr = np.full(K, 0.01)
    lr[-1] = -1.0  # only the second share holds the bad value
    with pytest.raises(ValueError, match="lr"):
        pool.simulate(s, "sgd", x0, 10, record="final", engine="numpy", lr=lr)
    good = pool.simulate(s, "sgd", x0, 10, record="final", engine="numpy", lr=0.01)
    same(good, optimizers.simulate(s, "sgd", x0, 10, record="final", engine="numpy", lr=0.01))


def test_a_dead_worker_is_survived() -> None:
    p = SimulatePool(2)
    try:
        s = surfaces.get("ravine")
        x0 = starts(K, s)
        first = p.simulate(s, "sgd", x0, 30, record="final", engine="numpy", lr=0.05)
        for w in p._workers:
            os.kill(w.proc.pid, signal.SIGKILL)
        time.sleep(0.5)
        again = p.simulate(s, "sgd", x0, 30, record="final", engine="numpy", lr=0.05)
        same(again, first)
        third = p.simulate(s, "sgd", x0, 30, record="final", engine="numpy", lr=0.05)
        same(third, first)
    finally:
        p.close()


def test_each_process_reads_its_own_runs(pool: SimulatePool) -> None:
    """``read``: only what a map reads travels back, and it is what reading every run gives."""
    s = surfaces.get("himmelblau")
    x0 = starts(K, s)
    minima = sweeps.Minima.of(s)
    read = sweeps._read_basin
    kw: dict[str, Any] = {
        "record": "final",
        "engine": "numpy",
        "lr": 0.01,
        "momentum": 0.9,
        "settle_points": minima.xy,
        "settle_radius": 0.1,
        "check_every": 9,
    }
    assert pool.splits(s, "momentum", K, kw) == 2
    got = pool.read(read, s, "momentum", x0, 200, **kw)
    want = read(optimizers.simulate(s, "momentum", x0, 200, **kw))
    assert got.keys() == want.keys()
    for name in want:
        assert np.array_equal(got[name], want[name]), name
    assert (got["arrived"] > 0).any()
    assert (got["label"] >= 0).any()


def test_workers_that_cannot_start_leave_the_call_to_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = SimulatePool(2)
    monkeypatch.setattr("optimizers.pool.sys.executable", "/nonexistent/python")
    try:
        s = surfaces.get("ravine")
        x0 = starts(K, s)
        got = p.simulate(s, "sgd", x0, 20, record="final", engine="numpy", lr=0.05)
        same(got, optimizers.simulate(s, "sgd", x0, 20, record="final", engine="numpy", lr=0.05))
        assert p._workers == []
    finally:
        p.close()


def test_points_to_settle_near_go_whole_to_every_share() -> None:
    """K points to settle near are not a per-run setting of K runs: never cut."""
    pts = np.zeros((K, 2))
    lr = np.linspace(0.01, 0.1, K)
    kw = share_of({"settle_points": pts, "lr": lr, "betas": (lr, 0.99)}, K, 10, 20)
    assert kw["settle_points"] is pts
    assert np.array_equal(kw["lr"], lr[10:20])
    assert np.array_equal(kw["betas"][0], lr[10:20])

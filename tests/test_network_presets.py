"""Every claim a Networks lesson makes in its "what to watch" holds in the numbers of the very
runs the page draws (app/netcompute.py from the lesson's state)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import surfaces
from app import netcompute as nc
from app import presets
from app.state.networks import CODEC


def runs(key: str) -> dict[str, nc.NetRun]:
    p = presets.BY_KEY[key]
    assert CODEC.canonical(p.state) == (p.state, [])  # every lesson is a valid link
    train = nc.training(p.state)
    assert train.problem is None, train.problem
    assert not train.errors, train.errors
    return train.runs


def epoch_values(r: nc.NetRun, values: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(np.asarray(r.traj.steps) % r.spe == 0)
    return np.asarray(values[rows])


def first_true(ok: np.ndarray) -> int:
    return int(np.argmax(ok)) if ok.any() else -1


def test_the_three_batching_schemes() -> None:
    rs = runs("net_batching")
    full, one, two = rs["sgd@B=4"], rs["sgd@B=1"], rs["sgd@B=2"]
    assert (full.spe, one.spe, two.spe) == (1, 4, 2)
    accs = [epoch_values(r, np.asarray(r.train_acc)) for r in (one, two, full)]
    assert [first_true(a == 1.0) for a in accs] == [
        8,
        16,
        32,
    ]
    finals = [float(r.traj.loss[-1, 0]) for r in (one, two, full)]
    assert finals == pytest.approx([0.011, 0.030, 0.10], abs=1e-3)
    assert finals == sorted(finals)
    rise_one = float(np.diff(one.traj.loss[:, 0]).max())
    rise_full = float(np.diff(full.traj.loss[:, 0]).max())
    assert rise_one > 10 * rise_full > 0


def test_the_lessons_six_optimizers() -> None:
    rs = runs("net_optimizers")
    below = {n: first_true(r.traj.loss[:, 0] < 0.1) for n, r in rs.items()}
    assert below["momentum"] <= 65
    assert below["nesterov"] <= 65
    assert 100 <= below["rmsprop"] <= 110
    assert 120 <= below["adagrad"] <= 130
    assert 180 <= below["adam"] <= 190
    assert below["sgd"] == 503
    finals = {n: float(r.traj.loss[-1, 0]) for n, r in rs.items()}
    assert min(finals, key=finals.__getitem__) == "rmsprop"
    assert finals["rmsprop"] == pytest.approx(0.0004, abs=5e-5)
    assert max(finals, key=finals.__getitem__) == "sgd"
    assert finals["sgd"] == pytest.approx(0.03, abs=1e-3)
    assert all(r.train_acc is not None and r.train_acc[-1] == 1.0 for r in rs.values())
    # right long before small: 100 % accuracy while the loss is still above 0.1
    sgd = rs["sgd"]
    assert sgd.train_acc is not None
    assert first_true(sgd.train_acc == 1.0) < below["sgd"]


def test_a_start_whose_relu_units_die() -> None:
    rs = runs("net_dead_relu")
    net = surfaces.network("xor", seed=2)[0]
    x0 = rs["sgd"].traj.params[0, 0][None]
    assert int(surfaces.dead_units(net, x0)[0]) == 1  # one dead from the start
    for name in ("sgd", "momentum", "nesterov"):
        r = rs[name]
        assert float(r.traj.loss[-1, 0]) == pytest.approx(math.log(2), abs=1e-4)
        assert r.train_acc is not None
        assert r.train_acc[-1] == 0.5
        dead = [int(surfaces.dead_units(net, r.traj.params[t, 0][None])[0]) for t in (0, 20)]
        assert dead == [1, 2]  # a second one dies within the first 20 steps
    for name in ("adagrad", "rmsprop", "adam"):
        r = rs[name]
        assert r.train_acc is not None
        assert r.train_acc[-1] == 1.0
        assert int(surfaces.dead_units(net, r.traj.params[-1, 0][None])[0]) == 2
    assert presets.BY_KEY["net_dead_relu"].state.views == ("inside", "often")


def test_a_learning_rate_too_large() -> None:
    rs = runs("net_lr_too_large")
    net = surfaces.network("xor")[0]
    big = rs["sgd@lr=10"]
    dead = [int(surfaces.dead_units(net, big.traj.params[t, 0][None])[0]) for t in (2, 3)]
    assert dead[0] < 4
    assert dead[1] == 4  # all four dead by step 3
    assert big.train_acc is not None
    assert big.train_acc[-1] == 0.5
    assert float(big.traj.loss[-1, 0]) == pytest.approx(1.04, abs=0.01)
    assert float(rs["sgd@lr=1"].traj.loss[-1, 0]) == pytest.approx(0.0017, abs=1e-4)
    assert float(rs["sgd@lr=0.1"].traj.loss[-1, 0]) == pytest.approx(0.029, abs=1e-3)


def test_adam_against_sgd_on_the_spirals() -> None:
    rs = runs("net_spirals")
    sgd, adam = rs["sgd"], rs["adam"]
    assert sgd.train_acc is not None
    assert adam.train_acc is not None
    assert adam.test_acc is not None
    assert sgd.train_acc[-1] == pytest.approx(0.61, abs=0.01)
    assert adam.train_acc[-1] == 1.0
    assert adam.test_acc[-1] == pytest.approx(0.98, abs=0.01)


def test_an_all_zero_start_never_moves() -> None:
    rs = runs("net_zero_init")
    for r in rs.values():
        assert not np.asarray(r.traj.params).any()  # every parameter stays exactly 0
        assert float(r.traj.loss[-1, 0]) == pytest.approx(math.log(2))
        assert r.train_acc is not None
        assert r.train_acc[-1] == 0.5

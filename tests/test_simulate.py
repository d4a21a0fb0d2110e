"""simulate's contract: shapes, divergence, record modes, seeds, trace, validation, conventions."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces
from optimizers.minimize import SCALAR_MAX_K
from optimizers.momentum import equivalent_lr

PATHS = ["scalar", "vector"]


@pytest.fixture
def rosen() -> surfaces.Surface:
    return surfaces.get("rosenbrock")


def _inside(
    tr: optimizers.Trajectory, box: tuple[tuple[float, float], tuple[float, float]]
) -> bool:
    (xlo, xhi), (ylo, yhi) = box
    p = tr.positions
    return bool(
        ((p[..., 0] >= xlo) & (p[..., 0] <= xhi) & (p[..., 1] >= ylo) & (p[..., 1] <= yhi)).all()
    )


def test_names_and_metadata() -> None:
    names = optimizers.names()
    assert names == [
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "nadam",
        "radam",
        "adamax",
        "adadelta",
        "lion",
        "random_search",
        "finite_difference",
    ]
    assert set(optimizers.DEFAULT_SET) <= set(names)
    for name in names:
        opt = optimizers.get(name)
        assert opt.name == name
        assert opt.title
        assert opt.summary
        assert opt.update_tex
        assert opt.reference
        assert sum(h.role == "lr" for h in opt.hypers) == 1
        for h in opt.hypers:
            assert h.help
            assert h.kind in ("float", "bool", "choice", "int")
            assert h.check(h.default, name) == h.default  # every default is inside its range
    roles = {(n, h.name): h.role for n in names for h in optimizers.get(n).hypers if h.role}
    assert roles[("momentum", "momentum")] == "beta"
    assert roles[("adam", "beta1")] == "beta"
    assert roles[("adam", "beta2")] == "beta2"
    assert roles[("rmsprop", "alpha")] == "rho"
    assert roles[("adadelta", "rho")] == "rho"


@pytest.mark.parametrize("path", PATHS)
def test_shapes_and_finite_outputs(rosen: surfaces.Surface, path: str) -> None:
    starts = np.array([[-1.5, 2.0], [0.0, 0.0], [1.2, 1.0]])
    tr = optimizers.simulate(rosen, "adam", starts, 30, lr=0.01, _path=path)
    assert tr.positions.shape == (31, 3, 2)
    assert tr.loss.shape == tr.grad_norm.shape == (31, 3)
    assert tr.lr.shape == (30, 3)
    assert tr.steps.tolist() == list(range(31))
    assert tr.diverged_at.tolist() == [-1, -1, -1]
    np.testing.assert_allclose(tr.loss, rosen.value(tr.positions))
    np.testing.assert_allclose(tr.grad_norm, np.linalg.norm(rosen.grad(tr.positions), axis=-1))
    assert tr.optimizer == "adam"
    assert tr.surface == "rosenbrock"
    assert tr.hyperparams["lr"] == 0.01


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", optimizers.names())
def test_divergence_stops_cleanly(rosen: surfaces.Surface, name: str, path: str) -> None:
    lr_key = next(h.name for h in optimizers.get(name).hypers if h.role == "lr")
    big = optimizers.get(name).hyper(lr_key).high
    starts = np.array([[-1.5, 2.0], [1.5, -1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = optimizers.simulate(
            rosen,
            name,
            starts,
            300,
            _path=path,
            **{lr_key: np.array([1e-6, big])},  # type: ignore[arg-type]
        )
    assert tr.diverged_at[0] == -1
    d = int(tr.diverged_at[1])
    for a in (tr.positions, tr.loss, tr.grad_norm, tr.lr):
        assert np.isfinite(a).all()
    assert _inside(tr, rosen.box)
    if name in ("sgd", "momentum", "nesterov", "finite_difference"):
        assert 1 <= d <= 300, f"{name} with {lr_key}={big} should leave the box"
    if d < 0:
        return  # adaptive rules move about lr per step and may stay inside; random search never
        # accepts a proposal outside the box (its loss there is huge)
    frozen = tr.positions[d:, 1]
    assert (frozen == frozen[0]).all()
    (xlo, xhi), (ylo, yhi) = rosen.box
    x, y = frozen[0]
    on_edge = np.isclose([x, x, y, y], [xlo, xhi, ylo, yhi], rtol=0, atol=1e-9).any()
    assert on_edge or np.array_equal(frozen[0], tr.positions[d - 1, 1])  # NaN step: last point


def test_exit_point_is_on_the_segment(rosen: surfaces.Surface) -> None:
    tr = optimizers.simulate(rosen, "sgd", (-1.5, 2.0), 5, lr=1.0)
    d = int(tr.diverged_at[0])
    assert d >= 1
    prev, exit_ = tr.positions[d - 1, 0], tr.positions[d, 0]
    # the unclipped step direction is −lr·g at prev
    direction = -np.asarray(rosen.grad(prev))
    cross = direction[0] * (exit_ - prev)[1] - direction[1] * (exit_ - prev)[0]
    assert abs(cross) <= 1e-9 * np.linalg.norm(direction) * np.linalg.norm(exit_ - prev)


@pytest.mark.parametrize("path", PATHS)
def test_record_modes(rosen: surfaces.Surface, path: str) -> None:
    starts = np.array([[-1.5, 2.0], [0.5, 0.5]])
    full = optimizers.simulate(rosen, "momentum", starts, 25, lr=1e-3, _path=path)
    final = optimizers.simulate(rosen, "momentum", starts, 25, lr=1e-3, record="final", _path=path)
    every = optimizers.simulate(rosen, "momentum", starts, 25, lr=1e-3, record=10, _path=path)
    assert final.positions.shape == (1, 2, 2)
    assert final.steps.tolist() == [25]
    np.testing.assert_array_equal(final.positions[0], full.positions[-1])
    assert every.steps.tolist() == [0, 10, 20, 25]
    np.testing.assert_array_equal(every.positions, full.positions[[0, 10, 20, 25]])
    np.testing.assert_array_equal(every.loss, full.loss[[0, 10, 20, 25]])


def test_record_refuses_what_would_not_fit(rosen: surfaces.Surface) -> None:
    starts = np.zeros((100_000, 2))
    with pytest.raises(ValueError, match=r"record='all'.*MiB.*'final'"):
        optimizers.simulate(rosen, "adam", starts, 1000)


@pytest.mark.parametrize("name", ["sgd", "adam", "random_search", "finite_difference"])
def test_same_seed_same_result(name: str) -> None:
    s = surfaces.get("linear_regression")
    starts = np.array([[0.0, 0.0], [1.0, -1.0], [3.0, 1.0]])
    kw: dict[str, Any] = {"batch_size": 1, "steps": 40}
    a = optimizers.simulate(s, name, starts, seed=5, **kw)
    b = optimizers.simulate(s, name, starts, seed=5, **kw)
    c = optimizers.simulate(s, name, starts, seed=6, **kw)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.array_equal(a.positions, c.positions)
    assert a.seed == 5
    assert a.batch_size == 1


def test_full_batch_size_is_the_exact_gradient() -> None:
    s = surfaces.get("linear_regression")
    a = optimizers.simulate(s, "sgd", (0.0, 0.0), 20, lr=0.01)
    b = optimizers.simulate(s, "sgd", (0.0, 0.0), 20, lr=0.01, batch_size=s.n_samples, seed=3)
    np.testing.assert_array_equal(a.positions, b.positions)


@pytest.mark.parametrize("name", optimizers.names())
def test_trace_matches_the_run(name: str) -> None:
    s = surfaces.get("rosenbrock")
    opt = optimizers.get(name)
    tr = optimizers.simulate(s, name, (-1.5, 2.0), 20, trace=True)
    assert set(tr.trace) <= set(opt.trace_symbols), "every traced quantity has a symbol"
    assert "update" in tr.trace
    assert ("grad" in tr.trace) == (opt.uses == "grad")
    for key, arr in tr.trace.items():
        assert arr.shape[:2] == (20, 1), key
        assert np.isfinite(arr).all(), key
    if "grad" in tr.trace:
        np.testing.assert_allclose(tr.trace["grad"][:, 0], s.grad(tr.positions[:-1, 0]), rtol=1e-12)
    if "update" in tr.trace:
        np.testing.assert_allclose(
            tr.trace["update"][:, 0], np.diff(tr.positions[:, 0], axis=0), rtol=1e-9, atol=1e-15
        )
    plain = optimizers.simulate(s, name, (-1.5, 2.0), 20)
    np.testing.assert_array_equal(plain.positions, tr.positions)


def test_adam_trace_quantities() -> None:
    s = surfaces.get("quadratic_bowl", cx=3.0, cy=3.0)
    tr = optimizers.simulate(s, "adam", (0.0, 0.0), 3, lr=0.01, trace=True)
    g = tr.trace["grad"][:, 0]
    np.testing.assert_allclose(tr.trace["exp_avg"][0, 0], 0.1 * g[0])
    np.testing.assert_allclose(tr.trace["exp_avg_sq"][0, 0], 0.001 * g[0] ** 2)
    np.testing.assert_allclose(tr.trace["bias_correction1"][:, 0], 1 - 0.9 ** np.arange(1, 4))
    np.testing.assert_allclose(tr.trace["bias_correction2"][:, 0], 1 - 0.999 ** np.arange(1, 4))
    # first Adam step is lr·sign(g) (up to ε)
    np.testing.assert_allclose(tr.trace["update"][0, 0], [0.01, 0.01], rtol=1e-6)


@pytest.mark.parametrize("surface_name", ["quadratic_bowl", "linear_regression", "rosenbrock"])
def test_momentum_conventions_coincide(surface_name: str) -> None:
    s = surfaces.get(surface_name)
    lr, beta = 1e-3 if surface_name != "rosenbrock" else 2e-4, 0.9
    paths = {}
    for conv in ("torch", "ema", "lr_inside"):
        lr_c = equivalent_lr(lr, beta, "torch", conv)
        tr = optimizers.simulate(
            s, "momentum", s.default_start, 500, lr=lr_c, momentum=beta, convention=conv
        )
        paths[conv] = tr.positions[:, 0]
    scale = np.abs(paths["torch"]).max()
    for conv in ("ema", "lr_inside"):
        assert np.abs(paths[conv] - paths["torch"]).max() <= 1e-12 * scale, conv
    assert equivalent_lr(0.01, 0.9, "torch", "ema") == pytest.approx(0.1)
    assert equivalent_lr(
        equivalent_lr(0.01, 0.5, "ema", "lr_inside"), 0.5, "lr_inside", "ema"
    ) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="convention"):
        equivalent_lr(0.01, 0.9, "torch", "nope")


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"optimizer": "adamm"}, r"optimizer must be one of sgd, momentum"),
        ({"lr": -0.1}, r"'lr' must be in \[0, 10\]; got -0.1"),
        ({"beta1": 1.0}, r"'beta1' must be in \[0, 1\); got 1.0"),
        ({"betas": (0.9, -0.1)}, r"'beta2' must be in \[0, 1\)"),
        ({"betas": 0.9}, r"betas must be a pair"),
        ({"eps": 0.0}, r"'eps' must be in \(0, 1\]"),
        ({"amsgrad": 1}, r"'amsgrad' must be True or False"),
        ({"momentum": 0.9}, r"no hyperparameter 'momentum'; allowed: lr, beta1"),
        ({"lr": np.array([0.1, 0.2, 0.3])}, r"'lr' must be a scalar or have shape \(K,\) = \(2,\)"),
        ({"lr": "fast"}, r"'lr' must be a number"),
        ({"batch_size": 0}, r"batch_size must be an integer in \[1, 4\]"),
        ({"batch_size": 5}, r"batch_size must be an integer in \[1, 4\]"),
        ({"steps": -1}, r"steps must be an integer in \[0, 1000000\]"),
        ({"record": "some"}, r"record must be 'all', 'final' or an integer"),
        ({"record": 0}, r"record must be"),
        ({"starts": [[0.0, 0.0, 0.0]]}, r"starts must have shape \(2,\) or \(K, 2\)"),
        (
            {"starts": [[1e9, 0.0], [0.0, 0.0]]},
            r"starts must be finite and inside the surface's box",
        ),
        ({"starts": [[np.nan, 0.0], [0.0, 0.0]]}, r"starts must be finite"),
        ({"schedule": 3}, r"schedule must be None, a schedule name"),
        ({"schedule": "warmup"}, r"schedule must be one of constant, step"),
        ({"seed": -1}, r"seed must be an integer"),
    ],
)
def test_bad_input_names_the_parameter_and_range(kwargs: dict, pattern: str) -> None:
    s = surfaces.get("linear_regression")
    call = {"optimizer": "adam", "starts": [[0.0, 0.0], [1.0, 1.0]], "steps": 5, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        optimizers.simulate(s, call.pop("optimizer"), call.pop("starts"), call.pop("steps"), **call)


def test_trace_needs_few_runs(rosen: surfaces.Surface) -> None:
    k = SCALAR_MAX_K
    with pytest.raises(ValueError, match=rf"trace=True needs K <= {k}"):
        optimizers.simulate(rosen, "adam", np.zeros((k + 1, 2)), 5, trace=True)
    assert optimizers.simulate(rosen, "adam", np.zeros((k, 2)), 5, trace=True).trace


def test_flags_must_be_scalars(rosen: surfaces.Surface) -> None:
    with pytest.raises(ValueError, match="'centered' must be True or False"):
        optimizers.simulate(rosen, "rmsprop", np.zeros((2, 2)), 5, centered=np.array([True, False]))


def test_get_unknown_name() -> None:
    with pytest.raises(ValueError, match="optimizer must be one of"):
        optimizers.get("sgdd")


@pytest.mark.parametrize("name", ["adam", "momentum", "random_search"])
def test_trace_with_plateau_and_minibatches_is_the_same_run(name: str) -> None:
    s = surfaces.get("linear_regression")
    sched = optimizers.schedules.make("plateau", patience=2, threshold=0.2, factor=0.5)
    kw: dict[str, Any] = {"batch_size": 2, "seed": 4, "schedule": sched}
    traced = optimizers.simulate(s, name, (0.0, 0.0), 60, trace=True, **kw)
    plain = optimizers.simulate(s, name, (0.0, 0.0), 60, **kw)
    np.testing.assert_array_equal(traced.positions, plain.positions)
    np.testing.assert_array_equal(traced.lr, plain.lr)
    assert len(set(plain.lr[:, 0].tolist())) > 1, "the plateau schedule never reduced"
    starts = np.array([[0.0, 0.0], [3.0, 1.0]])
    vec = optimizers.simulate(s, name, starts, 60, _path="vector", **kw)
    one = optimizers.simulate(s, name, starts, 60, _path="scalar", **kw)
    np.testing.assert_array_equal(vec.lr, one.lr)
    np.testing.assert_allclose(vec.positions, one.positions, rtol=1e-12, atol=1e-15)
    if "grad" in traced.trace:  # the mini-batch gradient that was used, not the full one
        batch = traced.trace["grad"][:, 0]
        full = s.grad(traced.positions[:-1, 0])
        assert not np.allclose(batch, full)

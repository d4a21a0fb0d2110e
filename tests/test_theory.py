"""The quadratic theory (optimizers/theory.py), the curvature of surfaces (surfaces/curvature.py)
and the learning-rate range test (optimizers/lr_range.py), each against an outside oracle:
NumPy's eigenvalues of the iteration matrix, brute-force search, torch autograd's Hessian, and
runs of ``optimizers.simulate`` on quadratic surfaces (the rate the theory predicts is the
rate the runs show, within 1 %)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import optimizers
import surfaces
from optimizers import lr_range, theory
from surfaces import curvature

H = np.linspace(0.0, 4.2, 43)
B = np.linspace(0.0, 0.99, 34)


def test_rate_is_the_spectral_radius_of_the_iteration_matrix() -> None:
    hh, bb = np.meshgrid(H, B)
    m = theory.momentum_matrix(hh, bb)
    radius = np.abs(np.linalg.eigvals(m)).max(axis=-1)
    np.testing.assert_allclose(theory.momentum_rate(hh, bb), radius, rtol=1e-7, atol=1e-7)
    roots = np.stack(theory.momentum_roots(hh, bb), axis=-1)
    np.testing.assert_allclose(np.abs(roots).max(axis=-1), radius, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(theory.momentum_rate(H, 0.0), theory.gd_rate(H), atol=1e-15)


def test_stable_exactly_inside_zero_to_two_plus_two_beta() -> None:
    hh, bb = np.meshgrid(H, B)
    inside = (hh > 1e-9) & (hh < 2 + 2 * bb - 1e-6)
    outside = hh > 2 + 2 * bb + 1e-6
    rate = theory.momentum_rate(hh, bb)
    assert (rate[inside] < 1).all()
    assert (rate[outside] > 1).all()
    np.testing.assert_allclose(theory.stability_edge(25.0, 0.9), 3.8 / 25)
    assert float(theory.stability_edge(2.0)) == 1.0
    with pytest.raises(ValueError, match="lam_max must be positive"):
        theory.stability_edge(0.0)


def test_critical_damping_is_the_double_root() -> None:
    h = np.linspace(0.01, 3.99, 50)
    b = theory.critical_beta(h)
    disc = (1 + b - h) ** 2 - 4 * b
    np.testing.assert_allclose(disc, 0.0, atol=1e-12)
    # below the curve real roots (over-damped), above complex ones of modulus √β
    assert theory.regime(0.5, float(theory.critical_beta(0.5)) * 0.5) == theory.OVER
    assert theory.regime(0.5, 0.9) == theory.UNDER
    assert theory.regime(0.25, 0.25, tol=1e-9) == theory.CRITICAL
    assert theory.regime(3.0, 0.1) == theory.UNSTABLE
    np.testing.assert_allclose(theory.momentum_rate(0.5, 0.9), math.sqrt(0.9))


@pytest.mark.parametrize("lams", [(1.0, 25.0), (1.0, 100.0), (0.3, 16.7), (2.0, 2.0)])
def test_the_optimum_is_the_best_setting_on_a_fine_grid(lams: tuple[float, float]) -> None:
    opt = theory.optimum(lams)
    kappa = lams[1] / lams[0]
    assert opt.kappa == pytest.approx(kappa)
    assert opt.gd_rate == pytest.approx((kappa - 1) / (kappa + 1))
    assert opt.momentum_rate == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1))
    assert opt.gd_edge == pytest.approx(2 / lams[1])
    a = np.linspace(1e-4, opt.gd_edge, 4001)
    gd = theory.rate_on_spectrum(a, 0.0, lams)
    assert gd.min() == pytest.approx(opt.gd_rate, abs=1e-3)
    assert a[np.argmin(gd)] == pytest.approx(opt.gd_lr, rel=1e-2)
    aa, bb = np.meshgrid(np.geomspace(opt.momentum_lr / 3, opt.momentum_lr * 3, 401),
                         np.linspace(0.0, 0.99, 400))  # fmt: skip
    mom = theory.rate_on_spectrum(aa, bb, lams)
    assert mom.min() >= opt.momentum_rate - 1e-6
    assert mom.min() == pytest.approx(opt.momentum_rate, abs=5e-3)
    at = theory.rate_on_spectrum(opt.momentum_lr, opt.momentum_beta, lams)
    assert float(at) == pytest.approx(opt.momentum_rate, rel=1e-6)  # a double root there


def test_optimum_refuses_a_spectrum_that_is_not_positive() -> None:
    for bad in ([], [0.0, 1.0], [-1.0, 2.0], [1.0, math.inf]):
        with pytest.raises(ValueError, match="positive and finite"):
            theory.optimum(bad)


def _envelope_rate(d: np.ndarray, t1: int, t2: int, window: int) -> float:
    """The rate between two windows of a distance curve, read on their maxima (the envelope
    of an oscillating error, whatever its phase)."""
    a = d[t1 : t1 + window].max()
    b = d[t2 : t2 + window].max()
    return float((b / a) ** (1.0 / (t2 - t1)))


CASES = [  # surface, params, optimizer settings: away from critical damping
    ("ravine", {"kappa": 25.0}, 0.05, 0.0),
    ("ravine", {"kappa": 25.0}, 0.02, 0.7),
    ("ravine", {"kappa": 100.0}, 0.0331, 0.6694),
    ("ravine", {"kappa": 10.0, "angle": 30.0}, 0.1, 0.3),
    ("quadratic_bowl", {"ax": 1.0, "ay": 4.0}, 0.05, 0.5),
    ("quadratic_bowl", {"ax": 2.0, "ay": 0.5}, 0.2, 0.0),
    ("linear_regression", {}, 0.01, 0.9),
    ("linear_regression", {}, 0.1, 0.0),
]


@pytest.mark.parametrize(("name", "params", "lr", "beta"), CASES)
def test_the_theorys_rate_is_the_rate_of_the_runs(
    name: str, params: dict[str, float], lr: float, beta: float
) -> None:
    s = surfaces.get(name, **params)
    m = curvature.reference_minimum(s)
    assert m is not None
    lams = curvature.curvature(s, m.xy).eigenvalues
    predicted = float(theory.rate_on_spectrum(lr, beta, lams))
    (x0, x1), (y0, y1) = s.bounds
    start = (x0 + 0.8 * (x1 - x0), y0 + 0.3 * (y1 - y0))
    steps = min(600, int(math.log(1e-12) / math.log(predicted)))
    run = optimizers.simulate(s, "momentum", start, steps, lr=lr, momentum=beta)
    d = np.hypot(*(run.positions[:, 0] - np.asarray(m.xy)).T)
    w = max(4, steps // 20)
    measured = _envelope_rate(d, steps // 3, steps - w, w)
    assert measured == pytest.approx(predicted, rel=0.01), (measured, predicted)


def test_eigen_path_is_a_run_along_one_eigendirection() -> None:
    s = surfaces.get("ravine", kappa=25.0)  # eigenvectors: the x and y axes
    for lr, beta in ((0.05, 0.5), (0.02, 0.95), (0.07, 0.0)):
        run = optimizers.simulate(s, "momentum", (0.0, 3.0), 80, lr=lr, momentum=beta)
        path = theory.eigen_path(lr * 25.0, beta, 80, 3.0)
        np.testing.assert_allclose(run.positions[:, 0, 1], path, rtol=1e-9, atol=1e-12)
    assert theory.eigen_path(0.3, 0.0, 3).tolist() == pytest.approx([1.0, 0.7, 0.49, 0.343])
    with pytest.raises(ValueError, match="steps must be >= 0"):
        theory.eigen_path(0.1, 0.1, -1)


def test_measured_rate_is_nan_where_it_cannot_be_read() -> None:
    r = theory.measured_rate(np.array([1.0, 1.0, 0.0, 1.0]), np.array([0.25, 0.0, 1.0, np.inf]), 2)
    assert r[0] == pytest.approx(0.5)
    assert np.isnan(r[1:]).all()


# ---------------------------------------------------------------- curvature


def _torch_hessian(s: surfaces.Surface, xy: tuple[float, float]) -> np.ndarray:
    p = torch.tensor(xy, dtype=torch.float64)
    return np.asarray(torch.autograd.functional.hessian(lambda q: s.torch_value(q), p).numpy())


@pytest.mark.parametrize("name", surfaces.names())
def test_hessian_matches_torch_autograd(name: str) -> None:
    s = surfaces.get(name)
    (x0, x1), (y0, y1) = s.bounds
    points = [p.xy for p in s.minima[:3]] + [(x0 + 0.37 * (x1 - x0), y0 + 0.61 * (y1 - y0))]
    for xy in points:
        ours = curvature.hessian(s, xy)
        ref = _torch_hessian(s, (float(xy[0]), float(xy[1])))
        scale = max(float(np.abs(ref).max()), 1.0)
        np.testing.assert_allclose(ours, ref, atol=1e-8 * scale)
        assert np.array_equal(ours, ours.T)


def test_quadratics_are_recognised_and_their_curvature_is_exact() -> None:
    assert {n for n in surfaces.names() if curvature.is_quadratic(surfaces.get(n))} == {
        "quadratic_bowl",
        "ravine",
        "saddle",
        "linear_regression",
    }
    cv = curvature.curvature(surfaces.get("ravine", kappa=40.0, angle=25.0), (0.0, 0.0))
    np.testing.assert_allclose(cv.eigenvalues, [1.0, 40.0], rtol=1e-9)
    assert cv.kappa == pytest.approx(40.0)
    lr = curvature.curvature(surfaces.get("linear_regression"), (2.0, 0.0))
    # MSE of y = w x + b on x = 1..4: Hessian (2/N) XᵀX = [[15, 5], [5, 2]]
    np.testing.assert_allclose(lr.hessian, [[15.0, 5.0], [5.0, 2.0]], rtol=1e-9)
    saddle = curvature.curvature(surfaces.get("saddle"), (0.0, 0.0))
    assert not saddle.positive_definite
    assert saddle.kappa == math.inf
    assert curvature.reference_minimum(surfaces.get("saddle")) is None


def test_reference_minimum_is_the_global_one_nearest_the_start() -> None:
    s = surfaces.get("himmelblau")
    m = curvature.reference_minimum(s, (-3.0, 3.0))
    assert m is not None
    assert m.xy == pytest.approx((-2.805118, 3.131313), abs=1e-5)
    camel = surfaces.get("six_hump_camel")
    near = curvature.reference_minimum(camel, (1.7, -0.8))  # a local minimum is nearer
    assert near is not None
    assert near.kind == "global"


# ---------------------------------------------------------------- the range test


def test_range_schedule_grows_exactly_from_lr_min_to_lr_max() -> None:
    base, sched = lr_range.schedule(1e-6, 10.0, 200)
    seq = np.array(sched.sequence(base, 200))
    assert seq[0] == 1e-6
    assert seq[-1] == pytest.approx(10.0, rel=1e-12)
    np.testing.assert_allclose(seq[1:] / seq[:-1], (1e7) ** (1 / 199), rtol=1e-12)
    s = surfaces.get("quadratic_bowl")
    run = optimizers.simulate(s, "sgd", (-4.0, 3.5), 200, schedule=sched, lr=base)
    np.testing.assert_allclose(run.lr[:, 0], seq, rtol=1e-15)
    # the run is gradient descent with that lr at each step
    x = np.array([-4.0, 3.5])
    for t in range(20):
        x = x - seq[t] * 2 * x
    np.testing.assert_allclose(run.positions[20, 0], x, rtol=1e-12)
    with pytest.raises(ValueError, match="0 < lr_min < lr_max"):
        lr_range.schedule(1.0, 0.1, 100)
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        lr_range.RangeTestLR(ratio=10.0, steps=1)


def test_smoothing_is_fastais_bias_corrected_average() -> None:
    loss = np.array([4.0, 2.0, 3.0, 1.0])
    out = lr_range.smooth(loss, 0.5)
    avg, ref = 0.0, []
    for i, v in enumerate(loss):
        avg = 0.5 * avg + 0.5 * v
        ref.append(avg / (1 - 0.5 ** (i + 1)))
    np.testing.assert_allclose(out, ref)
    np.testing.assert_array_equal(lr_range.smooth(loss, 0.0), loss)


def test_suggestions_follow_the_stated_rules() -> None:
    lrs = np.geomspace(1e-4, 1.0, 41)
    x = np.log10(lrs)
    loss = 10.0 / (1 + np.exp(4 * (x + 2)))  # falls fastest at lr = 1e-2 ...
    loss = loss + np.where(x > -0.5, 10 ** (4 * (x + 0.5)) - 1, 0.0)  # ... and blows up past 0.3
    s = lr_range.suggest(lrs, loss)
    assert s.steepest == pytest.approx(1e-2, rel=0.3)
    assert s.best_lr is not None
    assert s.minimum_tenth == pytest.approx(s.best_lr / 10)
    assert lrs[s.stop - 1] < 1.0  # stopped before the end: the loss ran above its start
    assert loss[s.stop] > loss[0]
    # a diverged run (NaN) ends the curve; too short a curve suggests nothing
    assert lr_range.suggest(lrs, np.where(x > -1, np.nan, loss)).stop == int((x <= -1).sum())
    empty = lr_range.suggest(lrs[:1], loss[:1])
    assert empty.steepest is None
    assert empty.minimum_tenth is None
    with pytest.raises(ValueError, match=r"\(T,\) arrays"):
        lr_range.suggest(lrs, loss[:-1])


def test_the_rule_reads_the_lowest_loss_so_far_not_momentums_swings() -> None:
    lrs = np.geomspace(1e-4, 1.0, 60)
    base = 5.0 / (1 + (lrs / 1e-2) ** 2)
    swings = base * (1 + 0.9 * np.sin(np.arange(60)) ** 2)  # up and down, never above start
    s = lr_range.suggest(lrs, swings)
    assert s.stop == 60  # swings below the start do not end the test
    assert s.steepest is not None
    assert 1e-3 < s.steepest < 1e-1


# ---------------------------------------------------------------- what the figures draw


def test_gd_rate_figure_draws_each_eigenvalue_and_marks_the_optimum() -> None:
    from app.figures import theory as tf
    from app.figures.layout import Style

    lams = (1.0, 25.0)
    opt = theory.optimum(lams)
    fig = tf.gd_rate_figure(lams, opt, Style())
    curves = {t["name"]: t for t in fig["data"]}
    for i, lam in enumerate(lams):
        c = curves[f"|1 − αλ{i + 1}|, λ{i + 1} = {lam:.3g}"]
        a = np.asarray(c["x"], dtype=float)
        np.testing.assert_allclose(c["y"], np.abs(1 - a * lam))
    marker = next(t for t in fig["data"] if t["mode"] == "markers")
    assert marker["x"] == [pytest.approx(2 / 26)]
    assert marker["y"] == [pytest.approx(24 / 26)]  # (κ − 1)/(κ + 1), κ = 25
    assert "2/(λ₁+λₙ)" in marker["name"]
    edge = fig["layout"]["shapes"][0]
    assert edge["x0"] == pytest.approx(2 / 25)  # gradient descent's edge 2/λmax


def test_damping_figure_draws_critical_damping_and_a_slider_over_beta() -> None:
    from app.figures import theory as tf
    from app.figures.layout import Style

    lam, alpha = 1.0, 0.25  # αλ = 0.25: critical damping at (1 − √0.25)² = 0.25
    fig = tf.damping_figure(lam, alpha, 0.6, Style())
    names = [t["name"] for t in fig["data"]]
    crit = next(t for t in fig["data"] if t["name"].startswith("critical damping"))
    assert "= 0.25" in crit["name"]
    np.testing.assert_allclose(crit["y"], np.clip(theory.eigen_path(0.25, 0.25, 60), -3, 3))
    assert "gradient descent (β = 0)" in names
    slider = fig["layout"]["sliders"][0]
    labels = [s["label"] for s in slider["steps"]]
    assert "0.25" in labels  # the critical β is one of the slider's stops
    chosen = slider["steps"][slider["active"]]
    assert float(chosen["label"]) == pytest.approx(0.6, abs=0.02)
    for step in slider["steps"]:  # each stop redraws the error for its β, with its regime
        b = float(step["label"])
        np.testing.assert_allclose(
            step["args"][0]["y"][0], np.clip(theory.eigen_path(0.25, b, 60), -3, 3)
        )
        assert theory.regime(0.25, b, tol=1e-3) in step["args"][1]["title.text"]

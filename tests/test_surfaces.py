"""Generic checks over every registered surface (and a few non-default parameters).

Oracles: torch autograd for every gradient, finite differences of the analytic gradient for
Hessians, and the without-replacement sampling formula for mini-batch variance.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import re
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch

import surfaces
from surfaces import iter_batches

CONTRACT_NAMES = [
    "quadratic_bowl",
    "ravine",
    "saddle",
    "saddle_escape",
    "multi_minima",
    "rosenbrock",
    "beale",
    "himmelblau",
    "rastrigin",
    "six_hump_camel",
    "linear_regression",
    "logistic_regression",
    "custom",  # a typed formula (surfaces/formula.py): the default one, and the cases below
]
DATA = {"linear_regression", "logistic_regression"}
ANALYTIC = [n for n in CONTRACT_NAMES if n not in DATA]

Case = tuple[str, dict[str, float | str]]
CASES: list[Case] = [(n, {}) for n in CONTRACT_NAMES]
CASES += [
    ("quadratic_bowl", {"cx": 3.0, "cy": 3.0}),
    ("quadratic_bowl", {"cx": -1.0, "cy": 2.5, "ax": 0.3, "ay": 7.0, "noise": 1.5}),
    ("ravine", {"kappa": 400.0, "angle": 30.0, "noise": 0.5}),
    ("rosenbrock", {"a": -0.5, "b": 10.0, "noise": 2.0}),
    ("linear_regression", {"loss": "mae"}),
    ("custom", {"formula": "(1 - x)^2 + 100*(y - x^2)^2", "noise": 1.0}),
    ("custom", {"formula": "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", "x_min": -1.0, "y_max": 4.5}),
]
CASES += [
    (n, {"noise": 2.0}) for n in ANALYTIC if n not in ("quadratic_bowl", "rosenbrock", "ravine")
]
IDS = [n + "".join(f"-{k}={v}" for k, v in p.items()) for n, p in CASES]


def nonsmooth(name: str, params: dict[str, float | str]) -> bool:
    """MAE is the one non-smooth surface: its Hessian is zero or undefined almost everywhere."""
    return name == "linear_regression" and params.get("loss") == "mae"


@pytest.fixture(params=CASES, ids=IDS)
def case(request: pytest.FixtureRequest) -> tuple[surfaces.Surface, dict[str, float | str]]:
    name, params = request.param
    return surfaces.get(name, **params), params


def inside(s: surfaces.Surface, rng: np.random.Generator, m: int) -> np.ndarray:
    """m uniform points inside the bounds: (m, 2)."""
    (x0, x1), (y0, y1) = s.bounds
    return np.stack([rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)], axis=-1)


def autograd(s: surfaces.Surface, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    v = s.torch_value(t)
    v.sum().backward()
    assert t.grad is not None
    return v.detach().numpy(), t.grad.numpy()


def close(a: np.ndarray, b: np.ndarray, rel: float) -> None:
    """Equal to ``rel`` relative to the largest magnitude of ``b`` (cancellation-safe)."""
    scale = 1.0 + float(np.max(np.abs(b)))
    np.testing.assert_allclose(a, b, rtol=rel, atol=rel * scale)


def fd_hessian(s: surfaces.Surface, x: float, y: float) -> np.ndarray:
    h = 1e-5 * (1.0 + max(abs(x), abs(y)))
    gxp, gxm = np.array(s.grad_scalar(x + h, y)), np.array(s.grad_scalar(x - h, y))
    gyp, gym = np.array(s.grad_scalar(x, y + h)), np.array(s.grad_scalar(x, y - h))
    hess = np.stack([(gxp - gxm) / (2 * h), (gyp - gym) / (2 * h)])
    return np.asarray(0.5 * (hess + hess.T))


# ---------------------------------------------------------------- registry and metadata


def test_names_are_the_contract_list_in_order() -> None:
    assert surfaces.names() == CONTRACT_NAMES
    assert list(surfaces.SPECS) == CONTRACT_NAMES


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_spec_metadata(name: str) -> None:
    spec = surfaces.SPECS[name]
    assert spec.name == name
    assert spec.title
    assert "\n" not in spec.description
    assert 20 < len(spec.description) <= 110
    for p in spec.params:
        assert p.help
        assert p.kind in ("float", "int", "choice", "text")
        assert p.check(p.default) == p.default  # every default is valid (None: optional)
        assert all(p.check(v) == v and v != p.default for v in p.examples)
        if p.kind in ("choice", "text"):
            assert p.default in p.choices or p.kind == "text"
            assert p.low is None
            assert p.high is None
        else:
            assert p.low is not None
            assert p.high is not None
            assert p.low <= p.high
            assert not p.log or p.low > 0
    s = surfaces.get(name)
    optional = {p.name for p in spec.params if p.optional}
    assert s.params == {  # an optional parameter holds the value the surface chose
        p.name: s.params[p.name] if p.name in optional else p.default for p in spec.params
    }
    assert surfaces.get(name, **s.params).params == s.params
    typed = name == "custom"  # a typed formula describes its own f
    assert s.description == (f"f(x, y) = {s.params['formula']}" if typed else spec.description)
    assert (s.name, s.title) == (name, spec.title)
    assert s.axis_labels == (("w", "b") if name in DATA else ("x", "y"))
    assert s.n_samples == {"linear_regression": 4, "logistic_regression": 10}.get(name, 16)


def test_geometry_metadata(case: tuple[surfaces.Surface, dict]) -> None:
    s, _ = case
    (x0, x1), (y0, y1) = s.bounds
    (bx0, bx1), (by0, by1) = s.box
    assert x0 < x1
    assert y0 < y1
    assert x0 <= s.default_start[0] <= x1
    assert y0 <= s.default_start[1] <= y1
    # the divergence box is generous: 10 spans wide, centred on the bounds
    assert math.isclose(bx1 - bx0, 10 * (x1 - x0))
    assert math.isclose(by1 - by0, 10 * (y1 - y0))
    assert math.isclose(bx0 + bx1, x0 + x1)
    assert math.isclose(by0 + by1, y0 + y1)
    for p in (*s.minima, *s.saddles):
        assert x0 <= p.xy[0] <= x1
        assert y0 <= p.xy[1] <= y1
        assert all(isinstance(c, float) for c in (*p.xy, p.value))
    assert all(p.kind in ("global", "local") for p in s.minima)
    assert all(p.kind == "saddle" for p in s.saddles)
    assert (s.minima == ()) == (s.name == "saddle")
    if s.log_color:  # a log colour scale needs a surface that is never negative
        assert s.grid(101)[2].min() >= 0.0
        assert min(p.value for p in s.minima) >= 0.0
    assert math.hypot(*s.grad_scalar(*s.default_start)) > 1e-2  # the start is not at rest


def test_surface_is_immutable() -> None:
    s = surfaces.get("rosenbrock")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.value_scalar = lambda _x, _y: 0.0  # type: ignore[misc]


# ---------------------------------------------------------------- the torch oracle


def test_value_and_grad_match_autograd(case: tuple[surfaces.Surface, dict]) -> None:
    s, _ = case
    pts = inside(s, np.random.default_rng(1), 200)
    tv, tg = autograd(s, pts)
    v, g = s.value(pts), s.grad(pts)
    assert v.shape == (200,)
    assert g.shape == (200, 2)
    assert v.dtype == g.dtype == np.float64
    close(v, tv, 1e-12)
    close(g, tg, 1e-10)


def test_scalar_path_equals_numpy(case: tuple[surfaces.Surface, dict]) -> None:
    s, _ = case
    pts = inside(s, np.random.default_rng(2), 100)
    v, g = s.value(pts), s.grad(pts)
    vs = [s.value_scalar(float(x), float(y)) for x, y in pts]
    gs = [s.grad_scalar(float(x), float(y)) for x, y in pts]
    assert all(type(a) is float for a in vs)
    assert all(type(a) is float and type(b) is float for a, b in gs)
    close(np.array(vs), v, 1e-12)
    close(np.array(gs), g, 1e-12)


def random_batches(s: surfaces.Surface, rng: np.random.Generator, k: int, b: int) -> np.ndarray:
    return rng.permuted(np.broadcast_to(np.arange(s.n_samples), (k, s.n_samples)), axis=1)[:, :b]


@pytest.mark.parametrize("b", [1, 3])
def test_batch_value_and_grad_match_autograd(case: tuple[surfaces.Surface, dict], b: int) -> None:
    s, _ = case
    rng = np.random.default_rng(3)
    pts = inside(s, rng, 50)
    idx = random_batches(s, rng, 50, b)
    t = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    per = s.torch_sample_values(t)
    assert per.shape == (50, s.n_samples)
    tv = per.gather(-1, torch.as_tensor(idx)).mean(dim=-1)
    tv.sum().backward()
    assert t.grad is not None
    bv, bg = s.batch_value(pts, idx), s.batch_grad(pts, idx)
    assert bv.shape == (50,)
    assert bg.shape == (50, 2)
    close(bv, tv.detach().numpy(), 1e-12)
    close(bg, t.grad.numpy(), 1e-10)
    # the scalar batch path agrees with the vectorized one
    sv = [
        s.batch_value_scalar(float(x), float(y), list(i))
        for (x, y), i in zip(pts, idx, strict=True)
    ]
    sg = [s.batch_grad_scalar(float(x), float(y), i) for (x, y), i in zip(pts, idx, strict=True)]
    close(np.array(sv), bv, 1e-12)
    close(np.array(sg), bg, 1e-12)


def test_mean_of_samples_is_the_surface(case: tuple[surfaces.Surface, dict]) -> None:
    s, _ = case
    rng = np.random.default_rng(4)
    pts = inside(s, rng, 64)
    t = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    per = s.torch_sample_values(t)
    per.mean(dim=-1).sum().backward()
    assert t.grad is not None
    close(per.detach().mean(dim=-1).numpy(), s.value(pts), 1e-12)
    close(t.grad.numpy(), s.grad(pts), 1e-12)
    # a full batch (B = N, in any order) is full-batch gradient descent
    full = random_batches(s, rng, 64, s.n_samples)
    close(s.batch_grad(pts, full), s.grad(pts), 1e-12)
    close(s.batch_value(pts, full), s.value(pts), 1e-12)


@pytest.mark.parametrize("name", ANALYTIC)
def test_full_batch_is_exact_for_analytic_surfaces(name: str) -> None:
    """The noise directions sum to exactly zero, so B = N reproduces grad bit for bit."""
    s = surfaces.get(name, noise=3.0)
    rng = np.random.default_rng(5)
    pts = inside(s, rng, 32)
    full = random_batches(s, rng, 32, s.n_samples)
    np.testing.assert_array_equal(s.batch_grad(pts, full), s.grad(pts))
    x, y = (float(c) for c in pts[0])
    assert s.batch_grad_scalar(x, y, full[0]) == s.grad_scalar(x, y)


@pytest.mark.parametrize("name", ANALYTIC)
def test_noise_never_moves_the_minima(name: str) -> None:
    quiet, noisy = surfaces.get(name), surfaces.get(name, noise=4.0)
    assert quiet.minima == noisy.minima
    assert quiet.saddles == noisy.saddles
    pts = inside(quiet, np.random.default_rng(6), 20)
    np.testing.assert_array_equal(quiet.grad(pts), noisy.grad(pts))
    # ... but the per-sample gradients do differ
    one = np.zeros((20, 1), dtype=np.int64)
    assert not np.allclose(noisy.batch_grad(pts, one), quiet.batch_grad(pts, one))
    np.testing.assert_array_equal(quiet.batch_grad(pts, one), quiet.grad(pts))


# ---------------------------------------------------------------- minima and saddles


def test_minima(case: tuple[surfaces.Surface, dict]) -> None:
    s, params = case
    rng = np.random.default_rng(7)
    (x0, x1), (y0, y1) = s.bounds
    for p in s.minima:
        x, y = p.xy
        assert abs(s.value_scalar(x, y) - p.value) <= 1e-9 * (1 + abs(p.value))
        assert math.hypot(*s.grad_scalar(x, y)) <= 1e-6
        r = 1e-3 * min(x1 - x0, y1 - y0)
        near = np.array(p.xy) + rng.uniform(-r, r, (200, 2))
        assert np.all(s.value(near) >= p.value)
        if not nonsmooth(s.name, params):
            assert np.all(np.linalg.eigvalsh(fd_hessian(s, x, y)) > 0)
    if s.minima:
        best = min(p.value for p in s.minima)
        tol = 1e-9 * (1 + abs(best))
        assert all((p.kind == "global") == (p.value <= best + tol) for p in s.minima)
        _, _, z = s.grid(301)
        assert best <= z.min() + tol


def test_saddles(case: tuple[surfaces.Surface, dict]) -> None:
    s, _ = case
    for p in s.saddles:
        x, y = p.xy
        assert abs(s.value_scalar(x, y) - p.value) <= 1e-9 * (1 + abs(p.value))
        assert math.hypot(*s.grad_scalar(x, y)) <= 1e-6
        lo, hi = np.linalg.eigvalsh(fd_hessian(s, x, y))
        assert lo < 0 < hi


def newton_search(s: surfaces.Surface, n: int) -> np.ndarray:
    """Critical points reached by Newton from an n x n grid of starts, vectorized: (M, 2)."""
    xs, ys, _ = s.grid(n)
    p = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    h = 1e-6
    e = np.eye(2) * h
    for _ in range(60):
        g = s.grad(p)
        hess = np.stack([(s.grad(p + e[j]) - s.grad(p - e[j])) / (2 * h) for j in range(2)], -1)
        hess = 0.5 * (hess + np.swapaxes(hess, -1, -2))
        det = np.linalg.det(hess)
        ok = np.abs(det) > 1e-12
        step = np.zeros_like(p)
        step[ok] = np.linalg.solve(hess[ok], g[ok][..., None])[..., 0]
        p = np.clip(p - step, -1e6, 1e6)
    g = s.grad(p)
    (x0, x1), (y0, y1) = s.bounds
    keep = (np.hypot(g[:, 0], g[:, 1]) < 1e-9) & (p[:, 0] > x0) & (p[:, 0] < x1)
    return np.asarray(p[keep & (p[:, 1] > y0) & (p[:, 1] < y1)])


def test_every_minimum_and_saddle_inside_the_bounds_is_listed(
    case: tuple[surfaces.Surface, dict],
) -> None:
    s, params = case
    if nonsmooth(s.name, params):
        pytest.skip("MAE is convex and non-smooth: Newton does not apply")
    listed_min = np.array([p.xy for p in s.minima]).reshape(-1, 2)
    listed_sad = np.array([p.xy for p in s.saddles]).reshape(-1, 2)
    found = newton_search(s, 41)
    assert len(found) > 0
    n_min = n_sad = 0
    for x, y in found:
        eig = np.linalg.eigvalsh(fd_hessian(s, float(x), float(y)))
        if np.all(eig > 1e-6):
            n_min += 1
            assert np.min(np.hypot(*(listed_min - (x, y)).T)) < 1e-6, (x, y)
        elif eig[0] < -1e-6 < 1e-6 < eig[1] and s.name != "rastrigin":  # its 220 are not listed
            n_sad += 1
            assert np.min(np.hypot(*(listed_sad - (x, y)).T)) < 1e-6, (x, y)
    assert n_min > 0 or s.name == "saddle"


def test_rastrigin_minima_are_the_integer_lattice() -> None:
    s = surfaces.get("rastrigin")
    assert len(s.minima) == 121
    xs = sorted({p.xy[0] for p in s.minima})
    assert [round(x) for x in xs] == list(range(-5, 6))
    assert [p for p in s.minima if p.kind == "global"] == [
        surfaces.Point((0.0, 0.0), 0.0, "global")
    ]


def test_literature_minima() -> None:
    camel = surfaces.get("six_hump_camel")
    assert len(camel.minima) == 6
    assert len(camel.saddles) == 7
    glob = sorted(p.xy for p in camel.minima if p.kind == "global")
    np.testing.assert_allclose(glob, [(-0.0898, 0.7126), (0.0898, -0.7126)], atol=1e-4)
    assert all(abs(p.value + 1.0316) < 1e-4 for p in camel.minima if p.kind == "global")
    himmel = surfaces.get("himmelblau")
    assert len(himmel.minima) == 4
    assert all(p.kind == "global" for p in himmel.minima)
    assert (3.0, 2.0) in [p.xy for p in himmel.minima]
    assert surfaces.get("beale").minima[0].xy == (3.0, 0.5)
    assert surfaces.get("rosenbrock", a=0.5).minima[0].xy == (0.5, 0.25)
    escape = surfaces.get("saddle_escape")
    assert len(escape.minima) == 2
    assert len(escape.saddles) == 2
    assert {p.value for p in escape.minima} == {-1.0}
    multi = surfaces.get("multi_minima")
    depths = sorted(p.value for p in multi.minima)
    assert len(depths) == 3
    assert depths[0] < depths[1] < depths[2]


# ---------------------------------------------------------------- lesson numbers and data


def test_linear_regression_lesson_numbers() -> None:
    s = surfaces.get("linear_regression")
    assert s.grad_scalar(0.0, 0.0) == (-30.0, -10.0)
    np.testing.assert_array_equal(s.grad(np.zeros(2)), [-30.0, -10.0])
    assert s.value_scalar(0.0, 0.0) == 30.0  # mean of 2^2, 4^2, 6^2, 8^2
    # per-sample terms: the lesson's SGD gradient for the first point alone
    assert s.batch_grad_scalar(0.0, 0.0, [0]) == (-4.0, -4.0)
    mae = surfaces.get("linear_regression", loss="mae")
    assert mae.value_scalar(0.0, 0.0) == 5.0
    assert mae.grad_scalar(0.0, 0.0) == (-2.5, -1.0)
    assert mae.grad_scalar(2.0, 0.0) == (0.0, 0.0)
    assert not mae.log_color


def test_quadratic_bowl_lesson_numbers() -> None:
    s = surfaces.get("quadratic_bowl", cx=3.0, cy=3.0)
    assert s.value_scalar(0.0, 0.0) == 18.0
    assert s.grad_scalar(0.0, 0.0) == (-6.0, -6.0)
    assert s.minima == (surfaces.Point((3.0, 3.0), 0.0, "global"),)
    plain = surfaces.get("quadratic_bowl")
    pts = inside(plain, np.random.default_rng(8), 50)
    np.testing.assert_array_equal(plain.value(pts), pts[:, 0] ** 2 + pts[:, 1] ** 2)
    np.testing.assert_array_equal(plain.grad(pts), 2 * pts)


def test_logistic_data_is_not_separable_and_the_minimum_is_finite() -> None:
    from surfaces.data import LOGISTIC_U, LOGISTIC_V

    u, v = np.array(LOGISTIC_U), np.array(LOGISTIC_V)
    assert set(v) == {0.0, 1.0}
    # no threshold puts every 1 on one side and every 0 on the other
    assert u[v == 1].min() < u[v == 0].max()
    assert u[v == 0].min() < u[v == 1].max()
    s = surfaces.get("logistic_regression")
    (p,) = s.minima
    assert p.kind == "global"
    assert 0.0 < p.value < math.log(2.0)
    # along any ray from the minimum the loss grows (convex, finite minimum)
    for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
        d = np.array([np.cos(angle), np.sin(angle)])
        assert np.all(np.diff(s.value(np.array(p.xy) + np.outer([0, 1, 10, 100], d))) > 0)


def test_bce_is_stable_at_huge_logits() -> None:
    from surfaces.data import LOGISTIC_V

    s = surfaces.get("logistic_regression")
    pts = np.array([[500.0, 0.0], [-500.0, 0.0], [0.0, 800.0], [1e6, -1e6]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v, g = s.value(pts), s.grad(pts)
    assert np.all(np.isfinite(v))
    assert np.all(np.isfinite(g))
    tv, tg = autograd(s, pts)
    close(v, tv, 1e-12)
    close(g, tg, 1e-10)
    assert all(math.isfinite(s.value_scalar(*map(float, p))) for p in pts)
    # at b = 800 every label-0 point costs its logit 800 (linear, not inf), label-1 points ~0
    zeros = sum(1 for v in LOGISTIC_V if v == 0.0)
    assert s.value_scalar(0.0, 800.0) == 800.0 * zeros / len(LOGISTIC_V)


# ---------------------------------------------------------------- grid


def test_grid(case: tuple[surfaces.Surface, dict]) -> None:
    s, _ = case
    xs, ys, z = s.grid(7)
    assert xs.shape == ys.shape == (7,)
    assert z.shape == (7, 7)
    assert (xs[0], xs[-1]) == s.bounds[0]
    assert (ys[0], ys[-1]) == s.bounds[1]
    assert z[2, 5] == s.value_scalar(float(xs[5]), float(ys[2])) or math.isclose(
        z[2, 5], s.value_scalar(float(xs[5]), float(ys[2])), rel_tol=1e-12
    )


# ---------------------------------------------------------------- mini-batches


def per_sample_grads(s: surfaces.Surface, xy: tuple[float, float]) -> np.ndarray:
    pts = np.broadcast_to(np.array(xy), (s.n_samples, 2))
    return s.batch_grad(pts, np.arange(s.n_samples)[:, None])  # (N, 2)


VARIANCE_CASES = [
    ("linear_regression", {}, (0.5, 1.0), [1, 2, 3]),
    ("logistic_regression", {}, (-1.0, 2.0), [1, 3, 7]),
    ("rosenbrock", {"noise": 2.0}, (-1.5, 2.0), [1, 4, 10]),
    ("multi_minima", {"noise": 1.0}, (3.5, 3.5), [2, 8, 15]),
]


@pytest.mark.parametrize("noise", [0.0, 0.7, 5.0])
def test_noise_is_the_per_sample_gradient_standard_deviation(noise: float) -> None:
    """For analytic surfaces, the N per-sample gradients scatter isotropically around the
    true gradient with standard deviation ``noise`` in each coordinate."""
    s = surfaces.get("himmelblau", noise=noise)
    xy = (0.7, -1.3)
    per = per_sample_grads(s, xy)
    atol = 1e-13 * (1 + np.abs(per).max())
    np.testing.assert_allclose(per.std(axis=0), [noise, noise], rtol=1e-12, atol=atol)
    cov = np.cov(per.T, bias=True)
    assert abs(cov[0, 1]) <= 1e-12 * (1 + noise**2)


@pytest.mark.parametrize(("name", "params", "xy", "sizes"), VARIANCE_CASES)
def test_batch_gradient_is_unbiased_with_the_without_replacement_variance(
    name: str, params: dict, xy: tuple[float, float], sizes: list[int]
) -> None:
    s = surfaces.get(name, **params)
    n = s.n_samples
    per = per_sample_grads(s, xy)
    full = s.grad(np.array(xy))
    np.testing.assert_allclose(per.mean(axis=0), full, rtol=1e-12, atol=1e-12)
    sigma2 = per.var(axis=0)  # population variance of the per-sample gradients
    assert np.all(sigma2 > 0)
    draws = 40_000
    for b in sizes:
        batches = iter_batches(n, b, draws, np.random.default_rng(b))
        idx = next(batches)  # the first batch of each run: a uniform B-subset
        g = s.batch_grad(np.broadcast_to(np.array(xy), (draws, 2)), idx)
        theory = sigma2 / b * (n - b) / (n - 1)
        # unbiased: the mean is within 5 standard errors of the full gradient
        assert np.all(np.abs(g.mean(axis=0) - full) <= 5 * np.sqrt(theory / draws))
        # the variance matches the finite-population formula (sampling error ~1 % here)
        np.testing.assert_allclose(g.var(axis=0), theory, rtol=0.05)


def test_iter_batches_epochs_are_permutations_with_dataloader_sizes() -> None:
    n, b, k = 10, 4, 6
    it = iter_batches(n, b, k, np.random.default_rng(0))
    for _epoch in range(3):
        parts = [next(it) for _ in range(3)]
        assert [p.shape for p in parts] == [(k, 4), (k, 4), (k, 2)]  # last batch smaller
        epoch = np.concatenate(parts, axis=1)
        np.testing.assert_array_equal(np.sort(epoch, axis=1), np.broadcast_to(np.arange(n), (k, n)))
        # runs get different permutations
        assert len({tuple(row) for row in epoch}) > 1


def test_iter_batches_epochs_reshuffle_and_are_seeded() -> None:
    first = list(zip(range(8), iter_batches(16, 16, 3, np.random.default_rng(42)), strict=False))
    again = list(zip(range(8), iter_batches(16, 16, 3, np.random.default_rng(42)), strict=False))
    other = list(zip(range(8), iter_batches(16, 16, 3, np.random.default_rng(43)), strict=False))
    for (_, a), (_, b) in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for (_, a), (_, c) in zip(first, other, strict=True))
    # B = N: every step covers all indices, in a fresh order each epoch
    for _, a in first:
        np.testing.assert_array_equal(np.sort(a, axis=1), np.broadcast_to(np.arange(16), (3, 16)))
    assert len({tuple(a[0]) for _, a in first}) > 1


def test_iter_batches_matches_dataloader_batch_sizes() -> None:
    from torch.utils.data import DataLoader, TensorDataset

    for n, b in [(4, 1), (4, 3), (16, 5), (10, 10), (7, 2)]:
        data = TensorDataset(torch.arange(n))
        loader = DataLoader(data, batch_size=b, shuffle=True, drop_last=False)
        expected = [len(batch) for _epoch in range(2) for (batch,) in loader]  # two epochs
        it = iter_batches(n, b, 2, np.random.default_rng(0))
        assert [next(it).shape[1] for _ in expected] == expected


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: surfaces.get("bowl"), "quadratic_bowl, ravine"),
        (lambda: surfaces.get("rosenbrock", b=0.5), "'b' must be in [1, 1000]"),
        (lambda: surfaces.get("rosenbrock", b=float("nan")), "'b' must be in [1, 1000]"),
        (lambda: surfaces.get("ravine", kappa=1e9), "'kappa' must be in [1, 1000]"),
        (lambda: surfaces.get("quadratic_bowl", noise=-1.0), "'noise' must be in [0, 5]"),
        (lambda: surfaces.get("quadratic_bowl", ax=0.0), "'ax' must be in [0.1, 10]"),
        (lambda: surfaces.get("quadratic_bowl", cx="3"), "'cx' must be a number"),
        (lambda: surfaces.get("quadratic_bowl", cx=True), "'cx' must be a number"),
        (lambda: surfaces.get("quadratic_bowl", lr=0.1), "no parameter 'lr'; valid parameters:"),
        (lambda: surfaces.get("logistic_regression", noise=0.0), "valid parameters: none"),
        (lambda: surfaces.get("linear_regression", loss="huber"), "'loss' must be one of mse, mae"),
        (lambda: surfaces.get("saddle").grid(1), "grid size n must be an integer in [2, 4000]"),
        (lambda: surfaces.get("saddle").value(np.zeros(3)), "last axis of length 2"),
        (
            lambda: next(iter_batches(4, 0, 1, np.random.default_rng())),
            "batch_size must be in [1, 4]",
        ),
        (
            lambda: next(iter_batches(4, 5, 1, np.random.default_rng())),
            "batch_size must be in [1, 4]",
        ),
        (lambda: next(iter_batches(4, 2, 0, np.random.default_rng())), "k must be in [1, inf]"),
        (
            lambda: surfaces.get("linear_regression").batch_grad(
                np.zeros((2, 2)), np.array([[0, 4], [1, 2]])
            ),
            "idx values must be in [0, 3]",
        ),
        (
            lambda: surfaces.get("saddle").batch_grad(np.zeros((2, 2)), np.zeros((3, 1), int)),
            "idx must have shape (K, B) with K = 2",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(
    call: Callable[[], object], needle: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        call()


def test_surface_pickles_by_name_and_params() -> None:
    s = surfaces.get("rosenbrock", a=0.5, noise=1.0)
    t = pickle.loads(pickle.dumps(s))
    assert (t.name, t.params, t.minima, t.bounds) == (s.name, s.params, s.minima, s.bounds)
    assert t.grad_scalar(0.1, 0.2) == s.grad_scalar(0.1, 0.2)
    assert t.batch_grad_scalar(0.1, 0.2, [3]) == s.batch_grad_scalar(0.1, 0.2, [3])


def test_grad_into_writes_the_gradient_in_place(case: tuple[surfaces.Surface, dict]) -> None:
    s, _ = case
    pts = inside(s, np.random.default_rng(9), 10)
    g = np.full((2, 10), np.nan)
    s.grad_into(pts[:, 0], pts[:, 1], g[0], g[1])
    np.testing.assert_array_equal(g.T, s.grad(pts))


def test_finite_and_silent_everywhere_in_the_divergence_box(
    case: tuple[surfaces.Surface, dict],
) -> None:
    """simulate evaluates up to the box edge: no inf, no NaN, no warning there."""
    s, _ = case
    (x0, x1), (y0, y1) = s.box
    xs, ys = np.linspace(x0, x1, 41), np.linspace(y0, y1, 41)
    pts = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    idx = np.zeros((len(pts), 1), dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = [s.value(pts), s.grad(pts), s.batch_value(pts, idx), s.batch_grad(pts, idx)]
        _, _, z = s.grid(50)
    assert all(np.all(np.isfinite(a)) for a in [*out, z])
    for x, y in pts[::37].tolist():
        assert math.isfinite(s.value_scalar(x, y))
        assert all(map(math.isfinite, s.grad_scalar(x, y)))

"""The lessons' worked numbers (shared/seeds), reproduced by simulate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import optimizers
import surfaces


def test_linear_regression_gd_first_step_and_gradients() -> None:
    # 000: w = b = 0, lr 0.01: gradients −30 and −10, first step (0.3, 0.1)
    s = surfaces.get("linear_regression")
    tr = optimizers.simulate(s, "sgd", (0.0, 0.0), 1, lr=0.01, trace=True)
    np.testing.assert_allclose(tr.trace["grad"][0, 0], [-30.0, -10.0], rtol=1e-14)
    np.testing.assert_allclose(tr.positions[1, 0], [0.3, 0.1], rtol=1e-14)


def test_linear_regression_gd_after_10_and_100_steps() -> None:
    # 000 prints w, b after epochs 10 and 100, and the loss computed before that epoch's update
    s = surfaces.get("linear_regression")
    tr = optimizers.simulate(s, "sgd", (0.0, 0.0), 100, lr=0.01)
    assert np.round(tr.positions[10, 0], 4).tolist() == [1.5104, 0.4936]
    assert np.round(tr.positions[100, 0], 4).tolist() == [1.8463, 0.4518]
    assert round(float(tr.loss[9, 0]), 4) == 1.1751
    assert round(float(tr.loss[99, 0]), 4) == 0.0343


def test_gd_on_w_squared_halves_like_the_lesson() -> None:
    # 003: L(W) = W², lr 0.3, W0 = 4: 1.6, 0.64, 0.256, 0.1024 (each coordinate of x² + y²)
    s = surfaces.get("quadratic_bowl")
    tr = optimizers.simulate(s, "sgd", (4.0, 4.0), 4, lr=0.3)
    for t, want in enumerate([1.6, 0.64, 0.256, 0.1024], start=1):
        np.testing.assert_allclose(tr.positions[t, 0], [want, want], rtol=1e-12)


def test_gd_on_theta_minus_3_squared() -> None:
    # 001: (θ − 3)², gradient 2(θ − 3), lr 0.1, 100 steps from 0 -> 2.9999999993888893
    s = surfaces.get("quadratic_bowl", cx=3.0, cy=3.0)
    tr = optimizers.simulate(s, "sgd", (0.0, 0.0), 100, lr=0.1)
    np.testing.assert_allclose(tr.positions[-1, 0], [2.9999999993888893] * 2, rtol=0, atol=1e-12)


def test_adam_on_theta_minus_3_squared() -> None:
    # 001: torch.optim.Adam(lr=0.01), MSELoss(θ, 3), 100 steps from 0 -> θ ≈ 0.93755 (float32)
    s = surfaces.get("quadratic_bowl", cx=3.0, cy=3.0)
    tr = optimizers.simulate(s, "adam", (0.0, 0.0), 100, lr=0.01)
    assert round(float(tr.positions[-1, 0, 0]), 5) == 0.93755
    theta = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.01)
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.mse_loss(theta, torch.tensor(3.0, dtype=torch.float64)).backward()
        opt.step()
    np.testing.assert_allclose(tr.positions[-1, 0], [theta.item()] * 2, rtol=1e-14)


def test_nesterov_from_five_with_the_correct_look_ahead() -> None:
    # 003: f(x) = x², x0 = 5, α 0.1, ρ 0.9, 50 steps of v = ρv − α∇f(x + ρv), x += v.
    # torch's Nesterov stores the look-ahead point θ = x + ρv: the same path, shifted.
    x, v, alpha, rho = 5.0, 0.0, 0.1, 0.9
    look_ahead = [x + rho * v]
    for _ in range(50):
        v = rho * v - alpha * 2.0 * (x + rho * v)
        x = x + v
        look_ahead.append(x + rho * v)
    s = surfaces.get("quadratic_bowl")
    tr = optimizers.simulate(s, "nesterov", (5.0, 5.0), 50, lr=alpha, momentum=rho)
    np.testing.assert_allclose(tr.positions[:, 0, 0], look_ahead, rtol=1e-12, atol=1e-14)
    # the look-ahead gradient really is taken at θ (it is the point the lesson evaluates)
    tr2 = optimizers.simulate(s, "nesterov", (5.0, 5.0), 50, lr=alpha, momentum=rho, trace=True)
    np.testing.assert_allclose(
        tr2.trace["grad"][:, 0, 0], 2.0 * np.array(look_ahead[:-1]), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("wrong_sign", [False, True])
def test_lesson_002_look_ahead_sign(wrong_sign: bool) -> None:
    # 002 accumulates v = βv + α∇f(look-ahead), θ −= v: the look-ahead must be θ − βv
    theta, v, alpha, beta = 5.0, 0.0, 0.1, 0.9
    path = []
    for _ in range(50):
        ahead = theta + beta * v if wrong_sign else theta - beta * v
        v = beta * v + alpha * 2.0 * ahead
        theta -= v
        path.append(theta)
    s = surfaces.get("quadratic_bowl")
    tr = optimizers.simulate(s, "nesterov", (5.0, 5.0), 50, lr=alpha, momentum=beta)
    # θ of this form is the plain point x: the look-ahead point x − βv is what torch stores
    ours = tr.positions[1:, 0, 0]
    lessons = np.array(path)
    vs = np.diff(np.concatenate([[5.0], lessons]))  # −v_t
    matches = np.allclose(ours, lessons + beta * vs, rtol=1e-12, atol=1e-14)
    assert matches != wrong_sign

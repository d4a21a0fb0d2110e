"""Network surfaces (surfaces/network.py) and their data sets (surfaces/datasets.py).

Oracles: torch autograd on the equivalent ``nn.Module`` in float64 (written here from
``nn.Linear`` and torch's own losses, independently of the NumPy maths), torch's own
initialisation under ``torch.manual_seed``, and Explore's ``linear_regression`` surface.
"""

from __future__ import annotations

import itertools
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.fx.experimental.proxy_tensor import make_fx

import surfaces
from surfaces import Dataset, Network, custom_dataset, make_dataset, network
from surfaces.datasets import MAX_POINTS, SPECS
from surfaces.network import FEATURES

RTOL = 1e-12
F64 = torch.float64

# ---------------------------------------------------------------- the torch oracle

TORCH_FEATURES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "x": lambda x, _y: x,
    "y": lambda _x, y: y,
    "x2": lambda x, _y: x**2,
    "y2": lambda _x, y: y**2,
    "xy": lambda x, y: x * y,
    "sin_x": lambda x, _y: torch.sin(x),
    "sin_y": lambda _x, y: torch.sin(y),
    "cos_x": lambda x, _y: torch.cos(x),
    "cos_y": lambda _x, y: torch.cos(y),
}
TORCH_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "linear": nn.Identity,
}


def torch_model(net: Network) -> nn.Sequential:
    """nn.Linear layers with the hidden activation between them, in float64."""
    mods: list[nn.Module] = []
    sizes = net.sizes
    for l, (i, o) in enumerate(itertools.pairwise(sizes)):
        mods.append(nn.Linear(i, o, dtype=F64))
        if l < len(sizes) - 2:
            mods.append(TORCH_ACTIVATIONS[net.arch.activation]())
    return nn.Sequential(*mods)


def torch_features(net: Network, points: np.ndarray) -> torch.Tensor:
    p = torch.tensor(points, dtype=F64)
    return torch.stack([TORCH_FEATURES[f](p[:, 0], p[:, 1]) for f in net.features], dim=1)


def oracle(
    net: Network,
    params: np.ndarray,
    points: np.ndarray,
    targets: np.ndarray,
    *,
    penalty: bool = True,
    bce: str | None = None,
) -> tuple[float, np.ndarray]:
    """Loss and autograd gradient of one parameter vector (D,) on the given samples."""
    model = torch_model(net)
    nn.utils.vector_to_parameters(torch.tensor(params, dtype=F64), model.parameters())
    z = model(torch_features(net, points))[:, 0]
    y = torch.tensor(targets, dtype=F64)
    form = net.arch.bce if bce is None else bce
    if net.problem == "regression":
        loss = nn.MSELoss()(z, y)
    elif form == "torch":
        loss = nn.BCELoss()(torch.sigmoid(z), y)
    else:
        loss = nn.BCEWithLogitsLoss()(z, y)
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    rate = net.arch.rate
    if penalty and net.arch.regularization == "l1":
        loss = loss + rate * sum(w.abs().sum() for w in weights)
    elif penalty and net.arch.regularization == "l2":
        loss = loss + rate * sum(0.5 * (w * w).sum() for w in weights)
    loss.backward()
    grad = torch.cat([p.grad.reshape(-1) for p in model.parameters()])  # type: ignore[union-attr]
    return float(loss.detach()), grad.numpy()


def assert_rel(actual: Any, expected: Any, rtol: float = RTOL) -> None:
    """Each entry within rtol of the expected entry, or of the largest one for tiny entries
    (a sum of terms of both signs is only accurate relative to its terms)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = np.abs(expected).max() if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-3 * rtol * scale)


# ---------------------------------------------------------------- the cases

CASES: dict[str, dict[str, Any]] = {
    "xor-relu": {"dataset": "xor"},
    "xor-relu-bce-torch": {"dataset": "xor", "bce": "torch"},
    "xor-tanh-2layers": {"dataset": "xor", "hidden": (3, 5), "activation": "tanh"},
    "circle-tanh-all-features-l2": {
        "dataset": "circle", "hidden": (8, 4), "activation": "tanh",
        "features": tuple(FEATURES), "regularization": "l2", "rate": 0.01,
        "n": 120, "noise": 0.1,
    },
    "spiral-sigmoid-3layers-l1": {
        "dataset": "spiral", "hidden": (6, 6, 6), "activation": "sigmoid",
        "features": ("x", "y", "sin_x", "sin_y"), "regularization": "l1", "rate": 0.003,
        "n": 100,
    },
    "gauss-linear-no-hidden": {
        "dataset": "gauss", "hidden": (), "activation": "linear", "features": ("x", "y", "xy"),
        "n": 60, "noise": 0.2,
    },
    "quadrants-sigmoid-products": {
        "dataset": "xor_quadrants", "hidden": (5,), "activation": "sigmoid",
        "features": ("x2", "y2", "xy", "cos_x", "cos_y"), "n": 80,
    },
    "moons-relu-bce-torch-l1": {
        "dataset": "moons", "hidden": (7,), "bce": "torch", "regularization": "l1",
        "rate": 0.05, "n": 90, "noise": 0.1,
    },
    "plane-tanh-l2": {
        "dataset": "plane", "hidden": (4, 2), "activation": "tanh", "regularization": "l2",
        "rate": 0.1, "n": 100, "noise": 0.2,
    },
    "bumps-relu-6layers-32-l1": {
        "dataset": "bumps", "hidden": (32, 4, 5, 4, 3, 2), "regularization": "l1",
        "rate": 0.001, "n": 100,
    },
    "linear-regression": {"dataset": "linear"},
}  # fmt: skip


def build(case: str, seed: int | list[int] = 0) -> tuple[Network, np.ndarray]:
    return network(**CASES[case], seed=seed)


def spread(net: Network, k: int, seed: int = 1) -> np.ndarray:
    """K different parameter vectors: torch's initialisation plus noise, one weight set to
    exactly 0 (L1's subgradient there is 0)."""
    rng = np.random.default_rng(seed)
    p = net.init(list(range(k))) + rng.normal(0.0, 0.5, (k, net.dim))
    p[:, 0] = 0.0
    return p


@pytest.mark.parametrize("case", list(CASES))
def test_full_batch_equals_torch_autograd(case: str) -> None:
    net, _ = build(case)
    params = spread(net, 3)
    loss, grad = net.value_and_grad(params)
    assert loss.shape == (3,)
    assert grad.shape == (3, net.dim)
    assert loss.dtype == grad.dtype == np.float64
    for k in range(3):
        ref_loss, ref_grad = oracle(net, params[k], net.data.x_train, net.data.y_train)
        assert_rel(loss[k], ref_loss)
        assert_rel(grad[k], ref_grad)
    assert_rel(net.value(params), loss, 0.0)  # the value path is the same arithmetic


@pytest.mark.parametrize("case", list(CASES))
def test_per_run_batches_equal_torch_autograd(case: str) -> None:
    net, _ = build(case)
    params = spread(net, 4, seed=2)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, net.n_samples, (4, 3))  # each run its own 3 samples, repeats allowed
    loss, grad = net.value_and_grad(params, idx)
    for k in range(4):
        x, y = net.data.x_train[idx[k]], net.data.y_train[idx[k]]
        ref_loss, ref_grad = oracle(net, params[k], x, y)
        assert_rel(loss[k], ref_loss)
        assert_rel(grad[k], ref_grad)
    assert_rel(net.value(params, idx), loss, 0.0)


def test_relu_derivative_at_zero_is_torchs() -> None:
    # hidden biases 0: at the XOR point (0, 0) every hidden pre-activation is exactly 0
    net, x0 = network("xor", seed=[0, 1, 2])
    params = x0.copy()
    params[:, 8:12] = 0.0
    _, grad = net.value_and_grad(params)
    for k in range(3):
        _, ref_grad = oracle(net, params[k], net.data.x_train, net.data.y_train)
        assert_rel(grad[k], ref_grad)


def test_k_runs_equal_one_run_at_a_time() -> None:
    # equal to rounding: BLAS may sum a stack of K rows in another order than one row
    net, _ = build("spiral-sigmoid-3layers-l1")
    params = spread(net, 7)
    idx = np.random.default_rng(0).integers(0, net.n_samples, (7, 5))
    loss, grad = net.value_and_grad(params)
    bloss, bgrad = net.value_and_grad(params, idx)
    for k in range(7):
        one_loss, one_grad = net.value_and_grad(params[k : k + 1])
        assert_rel(one_loss, loss[k : k + 1], 1e-13)
        assert_rel(one_grad, grad[k : k + 1], 1e-13)
        b_loss, b_grad = net.value_and_grad(params[k : k + 1], idx[k : k + 1])
        assert_rel(b_loss, bloss[k : k + 1], 1e-13)
        assert_rel(b_grad, bgrad[k : k + 1], 1e-13)


def test_full_batch_index_equals_no_index() -> None:
    net, x0 = build("xor-relu", seed=[0, 1, 2])
    every = np.tile(np.arange(net.n_samples), (3, 1))
    loss, grad = net.value_and_grad(x0)
    bloss, bgrad = net.value_and_grad(x0, every)
    assert_rel(bloss, loss, 1e-15)
    assert_rel(bgrad, grad, 1e-15)


def test_logits_bce_equals_torch_bce_where_not_saturated() -> None:
    # the default stable form against the lesson's nn.BCELoss()(torch.sigmoid(z), y)
    net, x0 = network("xor", seed=list(range(6)))
    params = np.concatenate([x0, 3.0 * x0])  # logits up to a few units
    loss, grad = net.value_and_grad(params)
    for k in range(len(params)):
        ref_loss, ref_grad = oracle(net, params[k], net.data.x_train, net.data.y_train, bce="torch")
        assert_rel(loss[k], ref_loss)
        assert_rel(grad[k], ref_grad)


def test_saturated_bce_forms() -> None:
    # output bias 200, everything else 0: z = 200 at every point, p rounds to 1 exactly
    net_logits, _ = network("xor")
    net_torch, _ = network("xor", bce="torch")
    p = np.zeros((1, 17))
    p[0, -1] = 200.0
    ref_loss, ref_grad = oracle(net_torch, p[0], net_torch.data.x_train, net_torch.data.y_train)
    loss, grad = net_torch.value_and_grad(p)
    assert ref_loss == 50.0
    assert loss[0] == 50.0
    assert not grad.any()
    assert not ref_grad.any()
    loss, grad = net_logits.value_and_grad(p)
    assert loss[0] == 100.0  # softplus(200) at the two class-0 points, 0 at the others
    assert grad[0, -1] == 0.5
    assert not grad[0, :-1].any()
    # extreme logits: finite values, no overflow, no log(0), no 0 / 0
    p[0, -1] = -1e4
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for net in (net_logits, net_torch):
            loss, grad = net.value_and_grad(p)
            assert np.isfinite(loss).all()
            assert np.isfinite(grad).all()
    assert net_torch.value(p)[0] == 50.0  # log p = -inf, clamped at -100 for y = 1
    # z = -200: log p = -200 is finite but below the clamp
    p[0, -1] = -200.0
    ref_loss, ref_grad = oracle(net_torch, p[0], net_torch.data.x_train, net_torch.data.y_train)
    loss, grad = net_torch.value_and_grad(p)
    assert ref_loss == loss[0] == 50.0
    assert_rel(grad[0], ref_grad)
    assert net_logits.value(p)[0] == 100.0


# ---------------------------------------------------------------- initialisation


class XORModel(nn.Module):
    """Lesson 002's model, built the way the lesson builds it."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, 4)
        self.output = nn.Linear(4, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.sigmoid(self.output(torch.relu(self.hidden(x))))
        return out


SEEDS = [0, 1, 7, 42, 2024, 123456789]


def test_init_equals_the_lessons_model_under_manual_seed() -> None:
    net, x0 = network("xor", seed=SEEDS)
    assert x0.shape == (len(SEEDS), 17)
    assert x0.dtype == np.float64
    for k, s in enumerate(SEEDS):
        torch.manual_seed(s)
        model = XORModel()
        expected = nn.utils.parameters_to_vector(model.parameters()).detach().double().numpy()
        assert np.array_equal(x0[k], expected), s
    assert np.array_equal(network("xor", seed=42)[1], x0[3:4])  # K = 1 by default
    assert np.array_equal(net.init(7), x0[2:3])


def test_init_of_a_deeper_network_equals_torch_sequential() -> None:
    feats = ("x", "y", "x2", "sin_y")
    _, x0 = network("circle", hidden=(8, 3), activation="tanh", features=feats, seed=[5, 6])
    for k, s in enumerate((5, 6)):
        torch.manual_seed(s)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3), nn.Tanh(),
                              nn.Linear(3, 1))  # fmt: skip
        expected = nn.utils.parameters_to_vector(model.parameters()).detach().double().numpy()
        assert np.array_equal(x0[k], expected)


def test_init_leaves_torch_random_state_alone() -> None:
    torch.manual_seed(99)
    before = torch.get_rng_state()
    network("xor", seed=[1, 2, 3])
    assert torch.equal(before, torch.get_rng_state())


def test_zero_init_is_zero_and_shows_the_symmetry_problem() -> None:
    net, x0 = network("xor", init="zeros", seed=[0, 1, 2])
    assert x0.shape == (3, 17)
    assert not x0.any()
    loss, grad = net.value_and_grad(x0)
    assert np.allclose(loss, math.log(2.0))
    # ReLU'(0) = 0 and zero hidden outputs: only the output bias has a gradient (and it is 0
    # on XOR's balanced classes: sigmoid(0) - y averages to 0)
    assert not grad[:, :-1].any()
    tanh_net, z0 = network("xor", activation="sigmoid", init="zeros")
    _, g = tanh_net.value_and_grad(z0)
    w1 = g[0, :8].reshape(4, 2)
    assert np.all(w1 == w1[0])  # every hidden unit gets the same gradient: they stay equal


# ---------------------------------------------------------------- data sets


def test_lesson_xor_is_the_lessons_four_points() -> None:
    d = make_dataset("xor")
    assert d.problem == "classification"
    assert d.x_train.tolist() == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert d.y_train.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert d.n_test == 0
    assert d.x_test.shape == (0, 2)
    net, _ = network("xor")
    assert net.sizes == (2, 4, 1)
    assert net.dim == 17
    assert net.n_samples == 4


TF_SETS = [n for n in SPECS if SPECS[n].shuffle]


@pytest.mark.parametrize("name", TF_SETS)
def test_dataset_shapes_labels_split_and_determinism(name: str) -> None:
    d = make_dataset(name, n=101, noise=0.1, seed=3, train_ratio=0.3)
    assert d.x_train.shape == (30, 2)
    assert d.y_train.shape == (30,)
    assert d.x_test.shape == (71, 2)
    assert d.y_test.shape == (71,)
    assert d.problem == SPECS[name].problem
    y = np.concatenate([d.y_train, d.y_test])
    if d.problem == "classification":
        assert set(np.unique(y)) == {0.0, 1.0}
        assert abs(y.mean() - 0.5) < 0.02  # the generators make both classes evenly
    else:
        assert np.isfinite(y).all()
        assert np.abs(y).max() <= 1.5
    x = np.concatenate([d.x_train, d.x_test])
    assert np.abs(x).max() <= 6.5  # TensorFlow Playground's region
    again = make_dataset(name, n=101, noise=0.1, seed=3, train_ratio=0.3)
    assert np.array_equal(again.x_train, d.x_train)
    assert np.array_equal(again.y_test, d.y_test)
    other = make_dataset(name, n=101, noise=0.1, seed=4, train_ratio=0.3)
    assert not np.array_equal(other.x_train, d.x_train)
    quiet = make_dataset(name, n=101, noise=0.0, seed=3, train_ratio=0.3)
    loud = make_dataset(name, n=101, noise=0.5, seed=3, train_ratio=0.3)
    assert not (np.array_equal(quiet.x_train, loud.x_train) and
                np.array_equal(quiet.y_train, loud.y_train))  # fmt: skip
    assert not d.x_train.flags.writeable
    assert not d.y_test.flags.writeable
    assert make_dataset(name).n_train + make_dataset(name).n_test == SPECS[name].n_default


def test_generators_follow_tensorflow_playground_without_noise() -> None:
    c = make_dataset("circle", n=400, seed=1, train_ratio=1.0)
    r = np.hypot(c.x_train[:, 0], c.x_train[:, 1])
    assert np.array_equal(c.y_train, (r < 2.5).astype(float))
    assert ((r <= 2.5) | ((r >= 3.5) & (r <= 5.0))).all()
    q = make_dataset("xor_quadrants", n=400, seed=1, train_ratio=1.0)
    assert np.array_equal(q.y_train, (q.x_train[:, 0] * q.x_train[:, 1] >= 0).astype(float))
    assert np.abs(q.x_train).min() >= 0.3
    g = make_dataset("gauss", n=400, seed=1, train_ratio=1.0)
    assert np.allclose(g.x_train[g.y_train == 1].mean(0), 2.0, atol=0.2)
    assert np.allclose(g.x_train[g.y_train == 0].mean(0), -2.0, atol=0.2)
    p = make_dataset("plane", n=300, seed=1, train_ratio=1.0)
    assert np.allclose(p.y_train, p.x_train.sum(1) / 10.0, rtol=0, atol=1e-15)
    b = make_dataset("bumps", n=2000, seed=1, train_ratio=1.0)
    near = np.hypot(b.x_train[:, 0] - 4.0, b.x_train[:, 1] + 2.5) < 0.2
    assert near.any()
    assert (b.y_train[near] < -0.85).all()
    s = make_dataset("spiral", n=200, seed=1, train_ratio=1.0)
    rs = np.hypot(s.x_train[:, 0], s.x_train[:, 1])
    assert rs.max() < 5.0
    assert np.isclose(np.sort(rs)[:2], 0.0).all()


def test_lesson_sets_have_fixed_size_no_noise_no_split() -> None:
    with pytest.raises(ValueError, match=r"n must be in \[4, 4\]; got 5"):
        make_dataset("xor", n=5)
    with pytest.raises(ValueError, match=r"noise must be in \[0, 0\]; got 0.1"):
        make_dataset("linear", noise=0.1)
    with pytest.raises(ValueError, match=r"train_ratio must be in \[1, 1\]; got 0.5"):
        make_dataset("xor", train_ratio=0.5)


# ---------------------------------------------------------------- caps and bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden": (4,) * 7}, r"hidden must have at most 6 layers \(0 to 6\); got 7"),
        ({"hidden": (4, 33)}, r"hidden layer size must be in \[1, 32\]; got 33"),
        ({"hidden": (0,)}, r"hidden layer size must be in \[1, 32\]; got 0"),
        ({"hidden": "4"}, r"hidden must be a sequence of layer sizes"),
        ({"dataset": "circle", "n": 2001}, r"n must be in \[2, 2000\]; got 2001"),
        ({"dataset": "mnist"}, r"unknown dataset 'mnist'; valid datasets: xor, linear, circle"),
        ({"activation": "gelu"}, r"activation must be one of relu, tanh, sigmoid, linear"),
        ({"features": ("x", "z")}, r"features must be one of x, y, x2, y2, xy, sin_x"),
        ({"features": ()}, r"features must name at least 1"),
        ({"features": ("x", "x")}, r"features must not repeat"),
        ({"regularization": "l3"}, r"regularization must be one of none, l1, l2"),
        ({"rate": -0.1}, r"rate must be in \[0, 10\]; got -0.1"),
        ({"rate": math.nan}, r"rate must be in \[0, 10\]"),
        ({"init": "xavier"}, r"init must be one of torch, zeros"),
        ({"bce": "naive"}, r"bce must be one of logits, torch"),
        ({"seed": -1}, r"seed must be in \[0, 9223372036854775807\]; got -1"),
        ({"seed": []}, r"seed must hold at least 1 seed"),
        ({"seed": 1.5}, r"seed must be an integer"),
        ({"dataset": "spiral", "noise": 0.6}, r"noise must be in \[0, 0.5\]; got 0.6"),
        ({"dataset": "moons", "train_ratio": 0.05}, r"train_ratio must be in \[0.1, 1\]"),
        ({"dataset": "gauss", "n": 3, "train_ratio": 0.5}, r"only one class"),
        ({"dataset": "gauss", "n": 2, "train_ratio": 0.1}, r"the data set is empty"),
    ],
)
def test_bad_settings_are_refused_with_the_range(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        network(**kwargs)


def test_custom_datasets_are_checked() -> None:
    with pytest.raises(ValueError, match="the data set is empty"):
        custom_dataset(np.zeros((0, 2)), np.zeros(0), problem="classification")
    with pytest.raises(ValueError, match=r"only one class \(1\)"):
        custom_dataset(np.zeros((5, 2)), np.ones(5), problem="classification")
    with pytest.raises(ValueError, match="must be 0 or 1"):
        custom_dataset(np.zeros((2, 2)), [0.0, 2.0], problem="classification")
    with pytest.raises(ValueError, match=rf"at most {MAX_POINTS} points; got 2001"):
        custom_dataset(np.zeros((2001, 2)), np.arange(2001) % 2, problem="classification")
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        custom_dataset(np.zeros((3, 3)), np.zeros(3), problem="regression")
    with pytest.raises(ValueError, match="problem must be one of classification, regression"):
        custom_dataset(np.zeros((3, 2)), np.zeros(3), problem="ranking")
    d = custom_dataset([[0, 0], [1, 1]], [0, 1], problem="classification")
    net, x0 = network(d, hidden=(3,))
    assert net.sizes == (2, 3, 1)
    assert x0.shape == (1, 13)


def test_bad_arguments_to_the_objective() -> None:
    net, x0 = network("xor")
    with pytest.raises(ValueError, match=r"params must have shape \(K, 17\)"):
        net.value_and_grad(x0[0])
    with pytest.raises(ValueError, match=r"params must have shape \(K, 17\)"):
        net.value(np.zeros((2, 16)))
    with pytest.raises(ValueError, match=r"idx must have shape \(K, B\) with K = 1"):
        net.value_and_grad(x0, np.zeros((2, 2), dtype=int))
    with pytest.raises(ValueError, match=r"idx values must be in \[0, 3\]"):
        net.value_and_grad(x0, np.array([[0, 4]]))
    with pytest.raises(ValueError, match=r"idx values must be in \[0, 3\]"):
        net.value(x0, np.array([[-1]]))
    with pytest.raises(ValueError, match="idx must hold integers"):
        net.value_and_grad(x0, np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"points must have shape \(M, 2\)"):
        net.predict(x0, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="split must be one of train, test"):
        net.loss(x0, "validation")
    reg, r0 = network("plane", n=20)
    with pytest.raises(ValueError, match="classification networks only"):
        reg.accuracy(r0)


# ---------------------------------------------------------------- Explore's linear regression


def test_linear_regression_network_is_explores_surface() -> None:
    explore = surfaces.get("linear_regression")
    net, x0 = network("linear")
    assert net.dim == 2
    assert net.sizes == (1, 1)
    assert net.param_names == ("w[1][0,0]", "b[1][0]")
    torch.manual_seed(0)
    layer = nn.Linear(1, 1)
    assert np.array_equal(x0[0], [layer.weight.item(), layer.bias.item()])
    wb = np.random.default_rng(0).uniform([-1.0, -3.0], [5.0, 3.0], (50, 2))
    wb = np.concatenate([wb, [[0.0, 0.0], [2.0, 0.0]]])
    loss, grad = net.value_and_grad(wb)
    assert_rel(loss, explore.value(wb), 1e-14)
    assert_rel(grad, explore.grad(wb), 1e-14)
    assert loss[-1] == 0.0
    assert loss[-2] == 30.0
    assert grad[-2].tolist() == [-30.0, -10.0]  # lesson 000's first gradients
    idx = np.random.default_rng(1).integers(0, 4, (52, 2))
    assert_rel(net.value(wb, idx), explore.batch_value(wb, idx), 1e-14)
    assert_rel(net.value_and_grad(wb, idx)[1], explore.batch_grad(wb, idx), 1e-14)


# ---------------------------------------------------------------- the torch function


@pytest.mark.parametrize(
    "case",
    ["xor-relu", "xor-relu-bce-torch", "spiral-sigmoid-3layers-l1", "plane-tanh-l2",
     "moons-relu-bce-torch-l1", "quadrants-sigmoid-products"],
)  # fmt: skip
def test_torch_function_traces_and_equals_numpy(case: str) -> None:
    net, _ = build(case)
    params = spread(net, 5)
    loss, grad = net.value_and_grad(params)
    t = torch.tensor(params, dtype=F64)
    eager = net.value_and_grad_torch(t)
    assert_rel(eager[0].numpy(), loss)
    assert_rel(eager[1].numpy(), grad)
    assert_rel(net.value_torch(t).numpy(), loss)
    for mode in ("real", "fake"):
        graph = make_fx(net.value_and_grad_torch, tracing_mode=mode)(torch.zeros_like(t))
        traced = graph(t)  # traced at zeros, run at other points: no data-dependent branches
        assert_rel(traced[0].numpy(), loss)
        assert_rel(traced[1].numpy(), grad)
    idx = np.random.default_rng(0).integers(0, net.n_samples, (5, 3))
    bl, bg = net.batch_value_and_grad_torch(t, torch.tensor(idx))
    assert_rel(bl.numpy(), net.value(params, idx))
    assert_rel(bg.numpy(), net.value_and_grad(params, idx)[1])


def test_torch_function_gradient_is_autograd_of_its_value() -> None:
    net, _ = build("bumps-relu-6layers-32-l1")
    t = torch.tensor(spread(net, 3), dtype=F64, requires_grad=True)
    net.value_torch(t).sum().backward()
    _, grad = net.value_and_grad_torch(t.detach())
    assert t.grad is not None
    assert_rel(grad.numpy(), t.grad.numpy())


# ---------------------------------------------------------------- what the page draws


def solved_xor() -> np.ndarray:
    """A ReLU 2-4-1 that classifies XOR: h0 = relu(x + y), h1 = relu(x + y - 1),
    z = 10 (h0 - 2 h1) - 5; units 2 and 3 dead."""
    w1 = np.zeros((4, 2))
    w1[0] = w1[1] = 1.0
    b1 = np.array([0.0, -1.0, 0.0, 0.0])
    w2 = np.array([10.0, -20.0, 0.0, 0.0])
    return np.concatenate([w1.ravel(), b1, w2, [-5.0]])[None, :]


def test_predict_accuracy_and_layer_outputs() -> None:
    net, x0 = network("xor", seed=[0, 1, 2])
    good = solved_xor()
    assert net.accuracy(good).tolist() == [1.0]
    assert np.isnan(net.accuracy(good, "test")).all()
    assert np.isnan(net.loss(good, "test")).all()
    grid = np.stack(np.meshgrid(np.linspace(-0.5, 1.5, 7), np.linspace(-0.5, 1.5, 5)), -1)
    pts = grid.reshape(-1, 2)
    probs = net.predict(x0, pts)
    assert probs.shape == (3, 35)
    for k in range(3):
        model = torch_model(net)
        nn.utils.vector_to_parameters(torch.tensor(x0[k]), model.parameters())
        expected = torch.sigmoid(model(torch.tensor(pts))[:, 0]).detach().numpy()
        assert_rel(probs[k], expected)
        outs = net.layer_outputs(x0[k], pts)
        assert [o.shape for o in outs] == [(2, 35), (4, 35), (1, 35)]
        assert np.array_equal(outs[0], pts.T)
        hidden = model[1](model[0](torch.tensor(pts))).detach().numpy().T
        assert_rel(outs[1], hidden)
        assert_rel(outs[2][0], probs[k])
    on_train = net.predict(x0, net.data.x_train)
    assert_rel(net.accuracy(x0), ((on_train > 0.5) == (net.data.y_train > 0.5)).mean(1), 0.0)


def test_test_split_loss_and_accuracy() -> None:
    net, x0 = network("moons", hidden=(5,), regularization="l2", rate=0.5, n=60, seed=[3, 4])
    d = net.data
    assert d.n_train == 30
    assert d.n_test == 30
    test_loss = net.loss(x0, "test")
    train_loss = net.loss(x0, "train")
    for k in range(2):
        assert_rel(test_loss[k], oracle(net, x0[k], d.x_test, d.y_test, penalty=False)[0])
        assert_rel(train_loss[k], oracle(net, x0[k], d.x_train, d.y_train, penalty=False)[0])
    assert (net.value(x0) > train_loss).all()  # the objective adds the L2 penalty
    acc = net.accuracy(x0, "test")
    probs = net.predict(x0, d.x_test)
    assert_rel(acc, ((probs > 0.5) == (d.y_test == 1.0)).mean(1), 0.0)
    reg, r0 = network("plane", n=40, noise=0.1)
    assert reg.predict(r0, d.x_test).shape == (1, 30)
    assert_rel(reg.loss(r0, "test"), oracle(reg, r0[0], reg.data.x_test, reg.data.y_test)[0:1])


def test_parameter_names_and_shapes() -> None:
    net, x0 = network("circle", hidden=(3, 2), features=("x", "y", "sin_x"), n=40)
    assert net.dim == 3 * 3 + 3 + 2 * 3 + 2 + 1 * 2 + 1 == len(net.param_info)
    assert net.param_shapes == (("w[1]", (3, 3)), ("b[1]", (3,)), ("w[2]", (2, 3)),
                                ("b[2]", (2,)), ("w[3]", (1, 2)), ("b[3]", (1,)))  # fmt: skip
    assert [p.index for p in net.param_info] == list(range(net.dim))
    w = net.param_info[7]  # layer 1's weight[2, 1]: from y to unit 2 of hidden layer 1
    assert (w.name, w.layer, w.kind, w.row, w.col, w.source, w.target) == (
        "w[1][2,1]", 1, "weight", 2, 1, "y", "h1[2]",
    )  # fmt: skip
    assert net.param_info[5].source == "sin x"
    b = net.param_info[10]
    assert (b.name, b.kind, b.target) == ("b[1][1]", "bias", "h1[1]")
    assert net.param_info[15].name == "w[2][1,0]"
    assert net.param_info[15].source == "h1[0]"
    last = net.param_info[-1]
    assert (last.name, last.target) == ("b[3][0]", "out")
    layers = net.weights(x0[0])
    assert [(a.shape, c.shape) for a, c in layers] == [((3, 3), (3,)), ((2, 3), (2,)),
                                                       ((1, 2), (1,))]  # fmt: skip
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    linear = model[2]
    assert isinstance(linear, nn.Linear)
    assert np.array_equal(layers[1][0], linear.weight.detach().double().numpy())
    named = dict(zip(net.param_names, x0[0], strict=True))
    assert named["w[2][1,0]"] == layers[1][0][1, 0]


def test_network_pickles_and_features_are_canonical() -> None:
    net, x0 = network("spiral", hidden=(4,), features=("sin_y", "y", "x"), n=50)
    assert net.features == ("x", "y", "sin_y")
    again = pickle.loads(pickle.dumps(net))
    assert isinstance(again, Network)
    assert isinstance(again.data, Dataset)
    assert np.array_equal(again.value_and_grad(x0)[1], net.value_and_grad(x0)[1])

"""The core's contract, walked over the whole optimizer registry.

* Every engine runs the one definition of each rule and they agree to the last bit on surfaces
  made of + - * /: the scalar engine, the NumPy engine (in chunks, on threads), the compiled
  engine (where a C++ compiler is present; skipped with the reason otherwise).
* ``minimize`` on D parameters matches torch.optim on an ``nn.Module`` (float64), step by step
  from our own points (see tests/test_optimizers_torch.py for why shadowed), with random
  hyperparameters including the flags, full batch and mini-batches in order.
* The trace names every symbol its algorithm's LaTeX uses, and nothing else is written there.
* A new rule is one definition plus one registry entry: registered at run time, it passes the
  same engine checks.
* Bad input to ``minimize`` raises a ValueError that names the parameter.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import pytest
import torch

import optimizers
import surfaces
from optimizers.base import BUILTIN_SYMBOLS, placeholders
from optimizers.engines import compiled
from tests.test_optimizers_torch import draw, step_errors, torch_kwargs

NAMES = optimizers.names()
GRAD_BASED = [n for n in NAMES if optimizers.get(n).uses == "grad"]
TORCH_BACKED = [n for n in NAMES if optimizers.get(n).torch_class]
WHY = compiled.unavailable()
needs_compiler = pytest.mark.skipif(WHY is not None, reason=f"compiled engine: {WHY}")


@pytest.fixture(autouse=True)
def _float64() -> Iterator[None]:
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _lrs(name: str) -> dict[str, Any]:
    opt = optimizers.get(name)
    key = next(h.name for h in opt.hypers if h.role == "lr")
    return {key: {"adadelta": 0.5, "random_search": 0.05}.get(name, 2e-3)}


def _starts(surface: Any, k: int, seed: int) -> np.ndarray:
    (x0, x1), (y0, y1) = surface.bounds
    rng = np.random.default_rng(seed)
    return rng.uniform(
        [x0 + 0.2 * (x1 - x0), y0 + 0.2 * (y1 - y0)],
        [x1 - 0.2 * (x1 - x0), y1 - 0.2 * (y1 - y0)],
        (k, 2),
    )


# ---------------------------------------------------------------- engines agree


BETA_LAYOUTS = {
    # one β per chunk of 3 runs: the vector engine sees a shared number
    "blocks": np.repeat([0.5, 0.8, 0.9], 3),
    # a β per run within each chunk: all below ½, all above, then both sides of ½ (a lerp's
    # weight 1 − β on both sides of ½ takes both of its forms in one chunk)
    "per-run": np.array([0.1, 0.2, 0.3, 0.6, 0.8, 0.9, 0.3, 0.7, 0.95]),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("surface_name", ["rosenbrock", "quadratic_bowl"])
@pytest.mark.parametrize("layout", list(BETA_LAYOUTS))
def test_scalar_and_numpy_engines_agree_to_the_bit(
    name: str, surface_name: str, layout: str
) -> None:
    """Shared and per-run hyperparameters (a sweep grid of betas), chunks of 3 runs."""
    s = surfaces.get(surface_name)
    k = 9
    starts = _starts(s, k, 1)
    opt = optimizers.get(name)
    h: dict[str, Any] = _lrs(name)
    lr_key = next(iter(h))
    h[lr_key] = h[lr_key] * np.geomspace(0.5, 2.0, k)
    for hy in opt.hypers:
        if hy.name in ("beta1", "momentum", "alpha", "rho") and hy.kind == "float":
            h[hy.name] = BETA_LAYOUTS[layout]
    a = optimizers.simulate(s, name, starts, 200, engine="scalar", seed=2, **h)
    b = optimizers.simulate(s, name, starts, 200, engine="numpy", seed=2, _chunk=3, **h)
    assert a.engine == "scalar"
    assert b.engine == "numpy"
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    np.testing.assert_array_equal(a.positions, b.positions)


@pytest.mark.parametrize("name", NAMES)
def test_scalar_and_numpy_engines_agree_to_the_bit_with_every_flag(name: str) -> None:
    """Every flag and choice of the rule (amsgrad, centered, nesterov, dampening, decoupled
    decay, maximize, the momentum conventions ...), per-run learning rates, chunks of 3."""
    s = surfaces.get("rosenbrock")
    k = 6
    starts = _starts(s, k, 4)
    for settings in _settings_to_try(optimizers.get(name))[1:]:
        h: dict[str, Any] = _lrs(name)
        lr_key = next(iter(h))
        h[lr_key] = h[lr_key] * np.geomspace(0.5, 2.0, k)
        a = optimizers.simulate(s, name, starts, 150, engine="scalar", seed=2, **h, **settings)
        b = optimizers.simulate(s, name, starts, 150, engine="numpy", seed=2, _chunk=3, **h,
                                **settings)  # fmt: skip
        np.testing.assert_array_equal(a.diverged_at, b.diverged_at, err_msg=str(settings))
        np.testing.assert_array_equal(a.positions, b.positions, err_msg=str(settings))


@pytest.mark.parametrize("name", NAMES)
def test_engines_agree_with_mini_batches_and_a_schedule(name: str) -> None:
    s = surfaces.get("linear_regression")
    starts = _starts(s, 4, 3)
    kw: dict[str, Any] = {
        "batch_size": 2,
        "seed": 5,
        "schedule": optimizers.schedules.make("step", step_size=7),
    }
    a = optimizers.simulate(s, name, starts, 60, engine="scalar", **kw, **_lrs(name))
    b = optimizers.simulate(s, name, starts, 60, engine="numpy", _chunk=2, **kw, **_lrs(name))
    np.testing.assert_array_equal(a.positions, b.positions)


COMPILED_CASES: list[tuple[str, dict[str, Any]]] = [(n, {}) for n in NAMES] + [
    ("adam", {"amsgrad": True, "maximize": True, "weight_decay": 0.01}),
    ("rmsprop", {"centered": True, "momentum": 0.5}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.001}),
    ("nadam", {"decoupled_weight_decay": True, "weight_decay": 0.01}),
]


@needs_compiler
@pytest.mark.slow
@pytest.mark.parametrize(("name", "flags"), COMPILED_CASES, ids=lambda v: str(v))
def test_compiled_engine_equals_numpy_for_every_rule(name: str, flags: dict[str, Any]) -> None:
    """Per-run learning rates, a β per run from a grid, some runs leaving the box: 2 chunks (the
    second padded), 37 steps (the last block masked), every 5th state recorded."""
    s = surfaces.get("quadratic_bowl", cx=1.0, cy=-0.5, ax=1.0, ay=8.0)
    k = compiled.CHUNK + 5
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    starts = rng.uniform([-3.0, -3.0], [3.0, 3.0], (k, 2))
    opt = optimizers.get(name)
    h: dict[str, Any] = dict(flags)
    lr_key = next(hy.name for hy in opt.hypers if hy.role == "lr")
    h[lr_key] = np.exp(rng.uniform(np.log(1e-3), np.log(0.3), k))
    if "beta1" in opt.defaults():
        h["beta1"] = rng.choice([0.5, 0.8, 0.9], k)
    a = optimizers.simulate(s, name, starts, 37, engine="compiled", record=5, **h)
    b = optimizers.simulate(s, name, starts, 37, engine="numpy", record=5, **h)
    assert a.engine == "compiled"
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    np.testing.assert_array_equal(a.positions, b.positions)


def test_compiled_engine_refusals_say_why() -> None:
    s = surfaces.get("rosenbrock")
    starts = _starts(s, compiled.MIN_K, 4)
    refusals: list[tuple[str, dict[str, Any], str]] = [
        ("adam", {"batch_size": 4}, "mini-batches"),
        ("adam", {"schedule": "plateau"}, "reads the loss"),
    ]
    for name, kw, reason in refusals:
        surface = surfaces.get("rosenbrock", noise=1.0)
        with pytest.raises(ValueError, match=reason):
            optimizers.simulate(surface, name, starts, 3, engine="compiled", **kw)
        assert optimizers.simulate(surface, name, starts, 3, **kw).engine == "numpy"
    for name in ("adam", "random_search"):  # a data surface: a mean over its points
        with pytest.raises(ValueError, match="torch operations"):
            optimizers.simulate(
                surfaces.get("linear_regression"), name, starts * 0, 3, engine="compiled"
            )
    assert s  # the registered surface still builds


# ---------------------------------------------------------------- D parameters: torch oracle


class TinyNet:
    """3 inputs -> 3 tanh units -> 1 output, MSE on 8 samples: D = 16, written by hand."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(8, 3))
        self.y = np.sin(self.x @ np.array([1.0, -2.0, 0.5]))
        self.n_samples = 8
        self.dim = 16

    def unpack(self, p: np.ndarray) -> tuple[np.ndarray, ...]:
        return p[:, :9].reshape(-1, 3, 3), p[:, 9:12], p[:, 12:15], p[:, 15]

    def value_and_grad(
        self, p: np.ndarray, idx: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        w1, b1, w2, b2 = self.unpack(p)
        k = len(p)
        x = np.broadcast_to(self.x, (k, 8, 3)) if idx is None else self.x[idx]
        y = np.broadcast_to(self.y, (k, 8)) if idx is None else self.y[idx]
        n = x.shape[1]
        h = np.tanh(np.einsum("kbi,kji->kbj", x, w1) + b1[:, None, :])
        out = np.einsum("kbj,kj->kb", h, w2) + b2[:, None]
        r = out - y
        loss = (r * r).mean(axis=1)
        dout = 2.0 * r / n
        gw2 = np.einsum("kb,kbj->kj", dout, h)
        gb2 = dout.sum(axis=1)
        dh = dout[:, :, None] * w2[:, None, :] * (1.0 - h * h)
        gw1 = np.einsum("kbj,kbi->kji", dh, x)
        gb1 = dh.sum(axis=1)
        grad = np.concatenate([gw1.reshape(k, 9), gb1, gw2, gb2[:, None]], axis=1)
        return loss, grad

    def module(self, p: np.ndarray) -> torch.nn.Sequential:
        m = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
        m.double()
        self.load(m, p)
        return m

    @staticmethod
    def load(m: torch.nn.Sequential, p: np.ndarray) -> None:
        with torch.no_grad():
            for q, part in zip(m.parameters(), (p[:9], p[9:12], p[12:15], p[15:16]), strict=True):
                q.copy_(torch.from_numpy(part).reshape(q.shape))

    @staticmethod
    def flat(m: torch.nn.Module) -> np.ndarray:
        return np.concatenate([q.detach().numpy().ravel() for q in m.parameters()])


def _torch_shadow(
    net: TinyNet, name: str, ours: np.ndarray, kw: dict[str, Any], batches: list[np.ndarray]
) -> np.ndarray:
    """torch.optim from each of our points: (T, D)."""
    m = net.module(ours[0])
    torch_class = optimizers.get(name).torch_class
    assert torch_class is not None
    cls = getattr(torch.optim, torch_class.rsplit(".", 1)[1])
    opt = cls(m.parameters(), foreach=False, **kw)
    x, y = torch.from_numpy(net.x), torch.from_numpy(net.y)
    out = np.empty((len(ours) - 1, ours.shape[1]))
    for t in range(len(ours) - 1):
        net.load(m, ours[t])
        idx = torch.from_numpy(batches[t]) if batches else slice(None)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(m(x[idx])[:, 0], y[idx])
        loss.backward()
        opt.step()
        out[t] = net.flat(m)
    return out


@pytest.mark.parametrize("flags", [False, True], ids=["defaults", "flags"])
@pytest.mark.parametrize("batch", [None, 3], ids=["full", "in-order-3"])
@pytest.mark.parametrize("name", TORCH_BACKED)
def test_minimize_matches_torch_optim_on_a_network(
    name: str, batch: int | None, flags: bool
) -> None:
    net = TinyNet()
    rng = np.random.default_rng([zlib.crc32(name.encode()), 16, flags, batch or 0])
    k = 3
    h = draw(name, rng, flags, k)
    x0 = rng.normal(scale=0.5, size=(k, net.dim))
    steps = 40
    tr = optimizers.minimize(net, x0, steps, name, batch_size=batch, shuffle=False, **h)
    assert tr.params.shape == (steps + 1, k, net.dim)
    assert tr.engine == "numpy"
    starts = list(range(0, 8, batch)) if batch else []
    batches = [np.arange(lo, min(lo + batch, 8)) for lo in starts] * steps if batch else []
    for j in range(k):
        if tr.diverged_at[j] >= 0:
            continue
        ours = tr.params[:, j]
        bad = step_errors(ours, _torch_shadow(net, name, ours, torch_kwargs(name, h, j), batches))
        assert (bad <= 1.0).all(), (
            f"{name} run {j}: step {int(np.argmax(bad > 1)) + 1} off by {bad.max():.3g}"
        )
    loss, _ = net.value_and_grad(tr.params[-1], None)
    np.testing.assert_allclose(tr.loss[-1], loss, rtol=1e-12)


def test_minimize_equals_simulate_on_a_surface_objective() -> None:
    """A surface written as a minimize objective gives simulate's path on the NumPy engine."""
    s = surfaces.get("rosenbrock")

    class Obj:
        n_samples = 1
        dim = 2

        def value_and_grad(self, p: np.ndarray, _idx: Any) -> tuple[np.ndarray, np.ndarray]:
            return s.value(p), s.grad(p)

    starts = _starts(s, 5, 6)
    a = optimizers.minimize(Obj(), starts, 100, "adam", lr=0.01)
    b = optimizers.simulate(s, "adam", starts, 100, lr=0.01, engine="numpy")
    np.testing.assert_array_equal(a.params, b.positions)


def test_a_non_finite_parameter_stops_that_run() -> None:
    net = TinyNet()
    x0 = np.zeros((2, net.dim))
    tr = optimizers.minimize(net, x0, 300, "sgd", lr=np.array([1e-3, 10.0]), weight_decay=10.0)
    assert tr.diverged_at[0] == -1
    assert tr.diverged_at[1] >= 1
    d = int(tr.diverged_at[1])
    assert np.isfinite(tr.params).all()
    assert np.isfinite(tr.loss).all()
    np.testing.assert_array_equal(
        tr.params[d:, 1], np.broadcast_to(tr.params[d, 1], tr.params[d:, 1].shape)
    )


class Cliff:
    """A loss that becomes infinite past x = 5.5 while the parameters stay finite; its gradient
    is -1 everywhere, so plain gradient descent at lr walks x_t = t lr."""

    n_samples = 1
    dim = 2

    def value_and_grad(
        self, p: np.ndarray, _idx: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        loss = np.where(p[:, 0] > 5.5, np.inf, -p.sum(axis=1))
        return loss, -np.ones_like(p)

    def value_and_grad_torch(self, p: Any) -> tuple[Any, Any]:
        import torch

        loss = torch.where(p[:, 0] > 5.5, torch.inf, -p.sum(dim=1))
        return loss, -torch.ones_like(p)


@pytest.mark.parametrize("record", ["all", 4, "final"])
def test_a_non_finite_loss_stops_that_run_at_its_step(record: Any) -> None:
    """The loss at x = 6 (step 6 at lr 1) is inf: that run ends at step 6, on that point,
    whatever is recorded; a run that never gets there goes on."""
    tr = optimizers.minimize(Cliff(), np.zeros((3, 2)), 20, "sgd", lr=np.array([1.0, 0.25, 2.0]),
                             record=record)  # fmt: skip
    assert tr.diverged_at.tolist() == [6, -1, 3]
    assert tr.params[-1, :, 0].tolist() == [6.0, 5.0, 6.0]
    if record == "all":
        assert tr.params[:7, 0, 0].tolist() == [0.0, 1, 2, 3, 4, 5, 6]
        assert (tr.params[6:, 0] == 6.0).all()


@needs_compiler
def test_a_non_finite_loss_stops_that_run_on_the_compiled_engine_too() -> None:
    lr = np.array([1.0, 0.25, 2.0] * 2)
    a = optimizers.minimize(Cliff(), np.zeros((6, 2)), 20, "adam", lr=lr, engine="numpy")
    b = optimizers.minimize(Cliff(), np.zeros((6, 2)), 20, "adam", lr=lr, engine="compiled")
    assert b.engine == "compiled"
    assert (a.diverged_at >= 0).any()
    assert (a.diverged_at == -1).any()
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    np.testing.assert_array_equal(a.params, b.params)


def test_in_order_batches_walk_the_samples_like_the_lessons_loop() -> None:
    """batch_size 3 of 8 samples, shuffle=False: batches 0-2, 3-5, 6-7, 0-2, ..."""
    seen: list[list[int]] = []

    class Spy(TinyNet):
        def value_and_grad(self, p: np.ndarray, idx: Any) -> tuple[np.ndarray, np.ndarray]:
            if idx is not None:
                seen.append(np.asarray(idx)[0].tolist())
            return super().value_and_grad(p, idx)

    optimizers.minimize(Spy(), np.zeros(16), 5, "sgd", batch_size=3, shuffle=False, lr=1e-3)
    assert seen == [[0, 1, 2], [3, 4, 5], [6, 7], [0, 1, 2], [3, 4, 5]]


def test_sgd_takes_torch_sgds_own_keywords() -> None:
    s = surfaces.get("ravine")
    a = optimizers.simulate(s, "sgd", s.default_start, 80, lr=0.01, momentum=0.9)
    b = optimizers.simulate(s, "momentum", s.default_start, 80, lr=0.01, momentum=0.9)
    np.testing.assert_array_equal(a.positions, b.positions)
    c = optimizers.simulate(s, "sgd", s.default_start, 80, lr=0.01, momentum=0.9, nesterov=True)
    d = optimizers.simulate(s, "nesterov", s.default_start, 80, lr=0.01, momentum=0.9)
    np.testing.assert_array_equal(c.positions, d.positions)
    with pytest.raises(ValueError, match="nesterov=True requires momentum > 0"):
        optimizers.simulate(s, "sgd", s.default_start, 3, nesterov=True)
    with pytest.raises(ValueError, match="fixes 'nesterov'"):
        optimizers.simulate(s, "nesterov", s.default_start, 3, nesterov=False)


@pytest.mark.parametrize(
    ("x0", "steps", "kw", "message"),
    [
        (np.zeros((2, 3)), 5, {}, r"x0 must have shape \(K, D\) with D = 16"),
        (np.zeros((0, 16)), 5, {}, r"x0 must have shape \(K, D\) with K, D >= 1"),
        (np.full(16, np.nan), 5, {}, "x0 must be finite"),
        ("abc", 5, {}, "x0 must be"),
        (np.zeros(16), -1, {}, r"steps must be an integer in \[0, 1000000\]"),
        (np.zeros(16), 5, {"batch_size": 9}, r"batch_size must be an integer in \[1, 8\]"),
        (np.zeros(16), 5, {"lr": -1.0}, r"hyperparameter 'lr' must be in \[0, 10\]"),
        (np.zeros(16), 5, {"shuffle": "yes"}, "shuffle must be True or False"),
        (np.zeros(16), 5, {"record": 0}, "record must be"),
        (np.zeros(16), 5, {"engine": "gpu"}, "engine must be one of"),
        (np.zeros(16), 5, {"engine": "scalar"}, "engine 'scalar' runs 2-D surfaces only"),
    ],
)
def test_minimize_refuses_bad_input_by_name(
    x0: Any, steps: int, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        optimizers.minimize(TinyNet(), x0, steps, "adam", **kw)


def test_minimize_refuses_objectives_of_the_wrong_shape() -> None:
    class Wrong(TinyNet):
        def value_and_grad(self, p: np.ndarray, idx: Any) -> tuple[np.ndarray, np.ndarray]:
            loss, grad = super().value_and_grad(p, idx)
            return loss, grad[:, :5]

    with pytest.raises(ValueError, match=r"grad of shape \(K, D\) = \(1, 16\)"):
        optimizers.minimize(Wrong(), np.zeros(16), 3, "adam")

    class NotOne:
        n_samples = 3

    with pytest.raises(ValueError, match="objective must have n_samples and value_and_grad"):
        optimizers.minimize(NotOne(), np.zeros(2), 3, "adam")


def test_an_x0_of_the_wrong_width_is_named_even_without_dim() -> None:
    """An objective without ``dim`` that cannot take x0's D: a ValueError naming x0's shape,
    not the objective's own exception from inside an engine."""

    class NoDim(TinyNet):
        def __init__(self) -> None:
            super().__init__()
            del self.dim

    with pytest.raises(ValueError, match=r"x0 has shape \(3, 5\), so D = 5\).*reshape"):
        optimizers.minimize(NoDim(), np.zeros((3, 5)), 3, "adam")
    run = optimizers.minimize(NoDim(), np.zeros((3, 16)), 3, "adam")  # the right D runs
    assert run.params.shape == (4, 3, 16)


# ---------------------------------------------------------------- trace and LaTeX


_TEX_WORDS = re.compile(r"\\text\{[^}]*\}|\\mathrm\{[^}]*\}|\\mathcal\{N\}|\\[A-Za-z]+")
_ALLOWED_LETTERS = set("feLI")  # f(θ), L(θ) the loss, e_i a unit vector, I the identity


def _settings_to_try(opt: optimizers.Optimizer) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{}]
    flags = [h for h in opt.hypers if h.kind == "bool"]
    out.append({h.name: True for h in flags} | {"weight_decay": 0.1, "momentum": 0.5})
    for h in opt.hypers:
        if h.kind == "choice":
            out += [{h.name: c, "momentum": 0.5} for c in h.choices]
    return [{k: v for k, v in s.items() if k in opt.defaults()} for s in out]


@pytest.mark.parametrize("name", NAMES)
def test_the_trace_names_every_symbol_the_algorithm_uses(name: str) -> None:
    opt = optimizers.get(name)
    symbols = opt.symbols
    for settings in _settings_to_try(opt):
        lines = opt.rule.algorithm(optimizers.base.Flags(opt.settings(settings)))
        s = surfaces.get("rosenbrock")
        tr = optimizers.simulate(s, name, s.default_start, 3, trace=True, **_lrs(name), **settings)
        for line in lines:
            for key in placeholders(line):
                assert key in symbols or key in BUILTIN_SYMBOLS, f"{name}: <{key}> has no symbol"
                if key in opt.rule.symbols and opt.rule.symbols[key].kind != "hyper":
                    assert key in tr.trace, f"{name} {settings}: <{key}> is shown but not traced"
            # nothing is written by hand: once the placeholders and LaTeX words are gone, only
            # digits, operators, sub/superscripts of the step index and a few letters remain
            bare = _TEX_WORDS.sub(" ", re.sub(r"<\w+>", " ", line))
            letters = set(re.findall(r"[A-Za-z]", bare)) - {"t", "i"}
            assert letters <= _ALLOWED_LETTERS, f"{name}: hand-written symbols {letters} in {line}"
        assert set(tr.trace) <= set(symbols), (
            f"{name}: untraced names {set(tr.trace) - set(symbols)}"
        )


def test_state_shown_is_the_state_that_changes() -> None:
    s = surfaces.get("rosenbrock")
    plain = optimizers.simulate(s, "adam", s.default_start, 3, trace=True)
    ams = optimizers.simulate(s, "adam", s.default_start, 3, trace=True, amsgrad=True)
    assert {"exp_avg", "exp_avg_sq"} <= set(plain.trace)
    assert "max_exp_avg_sq" not in plain.trace
    assert "max_exp_avg_sq" in ams.trace
    radam = optimizers.simulate(s, "radam", s.default_start, 8, trace=True)
    rho = radam.trace["rho_t"][:, 0]
    assert (radam.trace["rect"][:, 0][rho <= 5] == 0).all()
    assert (radam.trace["rect"][:, 0][rho > 5] > 0).all()
    nadam = optimizers.simulate(s, "nadam", s.default_start, 4, trace=True)
    mu = nadam.trace["mu"][:, 0]
    np.testing.assert_allclose(nadam.trace["mu_product"][:, 0], np.cumprod(mu), rtol=1e-15)
    assert nadam.trace_initial["mu_product"][0] == 1.0


# ---------------------------------------------------------------- one file plus one entry


class SignState(NamedTuple):
    momentum_buffer: Any


def _sign_step(p: Any, g: Any, s: SignState, h: Any, _t: Any, lr: Any, xp: Any) -> optimizers.Step:
    buf = s.momentum_buffer * h.momentum + g
    return optimizers.Step(p - lr * xp.sign(buf), SignState(buf), {})


SIGNUM = optimizers.Optimizer(
    name="signum",
    title="Signum",
    summary="the sign of the momentum",
    hypers=(optimizers.base.lr_hyper(1e-3), optimizers.sgd.MOMENTUM),
    rule=optimizers.Rule(
        state=SignState,
        init=lambda _h: SignState(0.0),
        step=_sign_step,
        algorithm=lambda _h: [
            r"<momentum_buffer>_t \leftarrow <momentum>\,<momentum_buffer>_{t-1} + <grad>_t",
            r"<param>_t \leftarrow <param>_{t-1} - <lr>\,\mathrm{sign}(<momentum_buffer>_t)",
        ],
        symbols={"momentum_buffer": optimizers.Symbol("v", "momentum", "state")},
    ),
    reference="Bernstein et al. (2018), signSGD",
)


def test_a_new_rule_is_one_definition_and_one_registry_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(optimizers.REGISTRY, "signum", SIGNUM)
    assert "signum" in optimizers.names()
    s = surfaces.get("rosenbrock")
    starts = _starts(s, 6, 7)
    a = optimizers.simulate(s, "signum", starts, 50, engine="scalar", lr=0.01)
    b = optimizers.simulate(s, "signum", starts, 50, engine="numpy", _chunk=4, lr=0.01)
    np.testing.assert_array_equal(a.positions, b.positions)
    # hand-written reference: the definition did what it says
    x, v = np.array(starts[0]), np.zeros(2)
    for _ in range(50):
        v = 0.9 * v + s.grad(x)
        x = x - 0.01 * np.sign(v)
    np.testing.assert_allclose(a.positions[-1, 0], x, rtol=1e-12)
    test_the_trace_names_every_symbol_the_algorithm_uses("signum")


# ---------------------------------------------------------------- choosing the engine


def _big(surface: Any, k: int = compiled.MIN_K) -> np.ndarray:
    return _starts(surface, k, 5)


@needs_compiler
@pytest.mark.slow
def test_compiled_on_a_sine_surface_is_within_rounding_of_numpy() -> None:
    """sin/cos come from inductor's vector library (Sleef, within 1 ulp) instead of libm, so
    bit-identity is not promised there; on a smooth surface the paths stay within ulps."""
    s = surfaces.get("saddle_escape")
    starts = _starts(s, 64, 15)
    a = optimizers.simulate(s, "adam", starts, 300, engine="compiled", lr=0.01)
    b = optimizers.simulate(s, "adam", starts, 300, engine="numpy", lr=0.01)
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    scale = np.maximum(1.0, np.abs(b.positions).max(axis=(0, 2)))
    err = np.abs(a.positions - b.positions).max(axis=(0, 2)) / scale
    assert err.max() <= 1e-12, f"max relative difference {err.max():.3g}"


def test_missing_compiler_falls_back_silently_and_explicit_request_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXX", "no-such-compiler-xyz")
    if compiled.device() == "cuda":
        pytest.skip("a CUDA GPU needs no C++ compiler")
    assert compiled.unavailable() == (
        "no C++ compiler: 'no-such-compiler-xyz' is not on PATH (inductor compiles C++ with it)"
    )
    s = surfaces.get("rosenbrock")
    monkeypatch.setattr(compiled, "AUTO_WORK", 0)  # auto would compile if it could
    assert optimizers.simulate(s, "adam", _big(s), 3).engine == "numpy"
    with pytest.raises(ValueError, match="no C\\+\\+ compiler"):
        optimizers.simulate(s, "adam", _big(s), 3, engine="compiled")


def test_auto_engine_choice_and_validation() -> None:
    s = surfaces.get("rosenbrock")
    assert optimizers.simulate(s, "adam", s.default_start, 5).engine == "scalar"
    assert optimizers.simulate(s, "adam", _big(s, 50), 5).engine == "numpy"
    # large K but little work: no kernel is compiled for it (unless one is already built)
    assert optimizers.simulate(s, "adam", _big(s), 2, lr=0.123).engine == "numpy"
    assert optimizers.simulate(s, "sgd", _big(s, 9), 2, engine="scalar").engine == "scalar"
    with pytest.raises(ValueError, match="engine must be one of auto, scalar, numpy, compiled"):
        optimizers.simulate(s, "adam", s.default_start, 5, engine="fast")


def test_importing_and_large_numpy_runs_do_not_import_torch() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, numpy as np, optimizers, surfaces\n"
        "s = surfaces.get('rosenbrock')\n"
        "xy = np.tile(s.default_start, (5000, 1))\n"
        "tr = optimizers.simulate(s, 'adam', xy, 3)\n"
        "print(tr.engine, 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.split() == ["numpy", "False"]


@needs_compiler
def test_a_failing_compile_falls_back_to_numpy_under_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch._inductor.compile_fx as cfx

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("simulated toolchain failure")

    monkeypatch.setattr(cfx, "compile_fx", broken)
    monkeypatch.setattr(compiled, "FAILED", [])
    monkeypatch.setattr(compiled, "AUTO_WORK", 0)
    s = surfaces.get("quadratic_bowl", cx=0.25)  # a kernel no other test builds
    starts = _big(s)
    auto = optimizers.simulate(s, "adam", starts, 3)  # tries, fails, falls back
    ref = optimizers.simulate(s, "adam", starts, 3, engine="numpy")
    assert auto.engine == "numpy"
    np.testing.assert_array_equal(auto.positions, ref.positions)
    np.testing.assert_array_equal(auto.diverged_at, ref.diverged_at)
    assert compiled.FAILED
    assert "simulated toolchain failure" in compiled.FAILED[0]
    with pytest.raises(ValueError, match="compiling a kernel failed in this process"):
        optimizers.simulate(s, "adam", starts, 3, engine="compiled")


# ---------------------------------------------------------------- steps to a loss level


def _reached(tr: optimizers.Trajectory, level: float, every: int) -> np.ndarray:
    """Each run's first step of 0, every, 2 every, ... and the last whose recorded loss is at
    or below ``level`` before it diverged (-1: none), read from a record="all" trajectory."""
    t = int(tr.steps[-1])
    checked = [s for s in range(0, t + 1, every)] + ([t] if t % every else [])
    dead = np.where(tr.diverged_at >= 0, tr.diverged_at, t + 1)
    out = np.full(tr.loss.shape[1], -1)
    for j in range(len(out)):
        hit = [s for s in checked if s < dead[j] and tr.loss[s, j] <= level]
        out[j] = hit[0] if hit else -1
    return out


REACH_CASES = [
    # per-run learning rates up to divergence; chunks of 7 runs on two threads
    ("ravine", "momentum", {"momentum": 0.9}, {"_chunk": 7, "_threads": 2}),
    ("rosenbrock", "adam", {}, {"_chunk": 5}),
    # mini-batches: the time loop runs outside the chunks
    ("linear_regression", "sgd", {"batch_size": 4, "seed": 3}, {"_chunk": 6}),
]


@pytest.mark.parametrize(("surface", "name", "kw", "engine_kw"), REACH_CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("every", [1, 7, 60])
def test_the_numpy_engine_notes_the_first_step_at_a_loss_level_inside_its_run(
    surface: str, name: str, kw: dict[str, Any], engine_kw: dict[str, Any], every: int
) -> None:
    """record="final" with reach_loss gives what every recorded state says (60 steps of 0, 7,
    ..., 56 and 60 when 7 does not divide them; t = 0 counts; a diverged run never reaches
    the level after it left), and the recorded states are those of a call without it."""
    s = surfaces.get(surface)
    k = 29
    starts = _starts(s, k, 8)
    lr_key = next(iter(_lrs(name)))
    kw = {**kw, lr_key: np.geomspace(1e-4, 5.0 if name != "adam" else 0.5, k)}
    full = optimizers.simulate(s, name, starts, 60, engine="numpy", record="all", **kw)
    level = float(np.quantile(full.loss[-1], 0.4))  # some runs get there, some do not
    tr = optimizers.simulate(s, name, starts, 60, engine="numpy", record="final",
                             reach_loss=level, check_every=every, **kw, **engine_kw)  # fmt: skip
    want = _reached(full, level, every)
    assert tr.reached_at is not None
    np.testing.assert_array_equal(tr.reached_at, want)
    assert (want >= 0).any()
    assert (want == -1).any()
    if name != "adam":
        assert (full.diverged_at >= 0).any()
    np.testing.assert_array_equal(tr.positions[-1], full.positions[-1])
    assert full.reached_at is None


def test_a_start_at_the_level_has_reached_it_at_step_0() -> None:
    s = surfaces.get("quadratic_bowl")
    m = s.minima[0].xy
    tr = optimizers.simulate(s, "sgd", [m, (m[0] + 1.0, m[1])], 10, engine="numpy",
                             record="final", lr=1e-9, reach_loss=s.minima[0].value + 1e-12,
                             check_every=4)  # fmt: skip
    assert tr.reached_at is not None
    assert tr.reached_at.tolist() == [0, -1]


def _settled(tr: optimizers.Trajectory, points: np.ndarray, radius: float, every: int) -> Any:
    """(settled_near, settled_at) read from a record="all" trajectory: at each checked step
    before the run diverged, the nearest point within ``radius`` (-1: none); the last such, and
    the checked step from which every check found that same one."""
    t = int(tr.steps[-1])
    checked = [s for s in range(0, t + 1, every)] + ([t] if t % every else [])
    dead = np.where(tr.diverged_at >= 0, tr.diverged_at, t + 1)
    k = tr.params.shape[1]
    near_out, at_out = np.full(k, -1), np.full(k, -1)
    for j in range(k):
        seen = []
        for s in checked:
            if s >= dead[j]:
                break
            d2 = ((tr.params[s, j][None, :] - points) ** 2).sum(axis=1)
            seen.append((s, int(np.argmin(d2)) if d2.min() <= radius**2 else -1))
        last = seen[-1][1]
        if last >= 0:
            i = len(seen) - 1
            while i > 0 and seen[i - 1][1] == last:
                i -= 1
            near_out[j], at_out[j] = last, seen[i][0]
    return near_out, at_out


SETTLE_CASES = [
    # momentum swings through one minimum's reach and out again before it stays
    ("himmelblau", "momentum", {"lr": 0.01, "momentum": 0.9}, {"_chunk": 7, "_threads": 2}),
    # some runs leave the box; per-run learning rates
    ("six_hump_camel", "sgd", {"lr": np.geomspace(1e-3, 3.0, 31)}, {"_chunk": 5}),
    # mini-batches: the time loop runs outside the chunks
    ("linear_regression", "sgd", {"lr": 0.05, "batch_size": 2, "seed": 4}, {"_chunk": 8}),
]


@pytest.mark.parametrize(
    ("surface", "name", "kw", "engine_kw"), SETTLE_CASES, ids=[c[0] for c in SETTLE_CASES]
)
@pytest.mark.parametrize("every", [1, 9])
def test_the_numpy_engine_notes_where_each_run_settles_inside_its_run(
    surface: str, name: str, kw: dict[str, Any], engine_kw: dict[str, Any], every: int
) -> None:
    s = surfaces.get(surface)
    k = 31
    starts = _starts(s, k, 6)
    points = np.array([m.xy for m in s.minima])
    (x0, x1), _ = s.bounds
    radius = 0.03 * (x1 - x0)
    full = optimizers.simulate(s, name, starts, 120, engine="numpy", record="all", **kw)
    tr = optimizers.simulate(s, name, starts, 120, engine="numpy", record="final",
                             settle_points=points, settle_radius=radius, check_every=every,
                             **kw, **engine_kw)  # fmt: skip
    near, at = _settled(full, points, radius, every)
    assert tr.settled_near is not None
    assert tr.settled_at is not None
    np.testing.assert_array_equal(tr.settled_near, near)
    np.testing.assert_array_equal(tr.settled_at, at)
    assert (near >= 0).any()
    assert (at > 0).any()
    assert tr.reached_at is None
    if surface == "six_hump_camel":
        assert (full.diverged_at >= 0).any()
        assert (near == -1).any()


def test_a_run_that_passes_through_a_minimum_settles_when_it_stays() -> None:
    """Heavy-ball momentum on a bowl overshoots its minimum: it is within reach early, leaves,
    and settles later; the step it settled at is after its first visit."""
    s = surfaces.get("quadratic_bowl")
    m = np.array([s.minima[0].xy])
    tr = optimizers.simulate(s, "momentum", (2.0, 1.5), 300, record="all", lr=0.05,
                             momentum=0.95)  # fmt: skip
    d = np.hypot(*(tr.positions[:, 0] - m[0]).T)
    radius = 0.1
    first = int(np.argmax(d <= radius))
    got = optimizers.simulate(s, "momentum", np.tile([2.0, 1.5], (30, 1)), 300, engine="numpy",
                              record="final", lr=0.05, momentum=0.95, settle_points=m,
                              settle_radius=radius)  # fmt: skip
    assert got.settled_at is not None
    settled = int(got.settled_at[0])
    assert (d[settled:] <= radius).all()
    assert d[settled - 1] > radius
    assert first < settled


@pytest.mark.parametrize("engine", ["scalar", pytest.param("compiled", marks=needs_compiler)])
def test_every_engine_gives_the_same_steps_to_a_loss_level(engine: str) -> None:
    """The scalar and compiled engines record the checked steps and read them after the run:
    the same steps as the NumPy engine's own checks (a loss level and points to settle near),
    the caller's recorded states unchanged."""
    s = surfaces.get("quadratic_bowl", cx=1.0, cy=-0.5, ax=1.0, ay=8.0)
    k = 20 if engine == "scalar" else compiled.MIN_K
    rng = np.random.default_rng(11)
    starts = rng.uniform([-3.0, -3.0], [3.0, 3.0], (k, 2))
    kw: dict[str, Any] = {"lr": np.exp(rng.uniform(np.log(1e-3), np.log(0.3), k)),
                          "betas": (0.8, 0.999)}  # fmt: skip
    reach: dict[str, Any] = {
        "reach_loss": s.minima[0].value + 0.05,
        "settle_points": [[1.0, -0.5], [0.0, 0.0], [1.2, -0.4]],
        "settle_radius": 0.15,
        "check_every": 3,
    }
    a = optimizers.simulate(s, "adam", starts, 41, engine=engine, record=10, **kw, **reach)
    b = optimizers.simulate(s, "adam", starts, 41, engine="numpy", record=10, **kw, **reach)
    plain = optimizers.simulate(s, "adam", starts, 41, engine=engine, record=10, **kw)
    assert a.engine == engine
    assert a.reached_at is not None
    assert b.reached_at is not None
    assert (b.reached_at >= 0).any()
    assert (b.reached_at == -1).any()
    np.testing.assert_array_equal(a.reached_at, b.reached_at)
    np.testing.assert_array_equal(a.settled_near, b.settled_near)
    np.testing.assert_array_equal(a.settled_at, b.settled_at)
    assert b.settled_near is not None
    assert b.settled_at is not None
    assert (b.settled_near == 0).any()  # the minimum, nearer than the overlapping point 2
    assert (b.settled_near == -1).any()
    assert (b.settled_at > 0).any()
    np.testing.assert_array_equal(a.steps, plain.steps)
    np.testing.assert_array_equal(a.positions, plain.positions)
    np.testing.assert_array_equal(a.loss, plain.loss)


def test_an_objective_run_stopped_by_an_infinite_loss_never_reaches_the_level() -> None:
    """Cliff: the loss -x - y falls until x passes 5.5, where it is inf and the run ends."""
    lr = np.array([1.0, 0.25, 2.0])
    tr = optimizers.minimize(Cliff(), np.zeros((3, 2)), 20, "sgd", lr=lr, record="final",
                             reach_loss=-7.9, check_every=1)  # fmt: skip
    assert tr.reached_at is not None
    # x = y = t lr: -2 t lr <= -7.9 from t lr = 4 (run 0: step 4; run 1: step 16; run 2:
    # step 2), and run 0 stops at step 6, run 2 at step 3, after they got there
    assert tr.reached_at.tolist() == [4, 16, 2]
    assert tr.diverged_at.tolist() == [6, -1, 3]


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"reach_loss": float("nan")}, "reach_loss"),
        ({"reach_loss": float("inf")}, "reach_loss"),
        ({"reach_loss": True}, "reach_loss"),
        ({"reach_loss": "0.1"}, "reach_loss"),
        ({"reach_loss": 0.1, "check_every": 0}, "check_every"),
        ({"reach_loss": 0.1, "check_every": 2.5}, "check_every"),
        ({"settle_points": [[0.0, 0.0]]}, "settle_radius"),
        ({"settle_points": [[0.0, 0.0]], "settle_radius": 0.0}, "settle_radius"),
        ({"settle_points": [[0.0, 0.0]], "settle_radius": float("nan")}, "settle_radius"),
        ({"settle_points": [[0.0, 0.0, 1.0]], "settle_radius": 0.1}, "settle_points"),
        ({"settle_points": [[0.0, float("inf")]], "settle_radius": 0.1}, "settle_points"),
        ({"settle_points": "here", "settle_radius": 0.1}, "settle_points"),
        ({"settle_radius": 0.1}, "settle_radius"),
    ],
)
def test_bad_loss_levels_are_refused_by_name(kw: dict[str, Any], msg: str) -> None:
    s = surfaces.get("quadratic_bowl")
    with pytest.raises(ValueError, match=msg):
        optimizers.simulate(s, "sgd", (1.0, 1.0), 10, **kw)


def test_many_points_are_found_through_cells_as_one_by_one() -> None:
    """Rastrigin's 121 minima: the cells find, for every point, the same nearest one within
    the radius as measuring all of them (points on cell edges, between minima, far outside)."""
    from optimizers.problem import GRID_POINTS, Checks

    s = surfaces.get("rastrigin")
    pts = np.array([m.xy for m in s.minima])
    assert len(pts) > GRID_POINTS
    radius = 0.2
    steps = np.arange(3)
    grid = Checks.make(steps, 2, None, pts, radius)
    plain = dataclasses.replace(grid, cells=None)
    assert grid.cells is not None
    rng = np.random.default_rng(0)
    near_minima = pts[rng.integers(0, len(pts), 20_000)] + rng.uniform(-0.25, 0.25, (20_000, 2))
    edges = np.stack(np.meshgrid(np.arange(-6.0, 6.0, 0.1), np.arange(-6.0, 6.0, 0.1)), -1)
    far = np.array([[1e9, -1e9], [-7.0, 0.0], [0.0, 60.0]])
    xy = np.concatenate([near_minima, edges.reshape(-1, 2), far])
    a = grid.near([xy[:, 0], xy[:, 1]])
    b = plain.near([xy[:, 0], xy[:, 1]])
    np.testing.assert_array_equal(a, b)
    assert (a >= 0).sum() > 5_000
    assert (a == -1).sum() > 5_000

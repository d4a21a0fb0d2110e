"""torch.optim is the oracle: every rule it has, step for step, on several surfaces.

Each case draws K = 4 random hyperparameter sets (one (K,) array per hyperparameter, the flags
shared), runs simulate once (scalar engine and vector engine), and checks every one of the 500
steps of every run against torch.optim's single-tensor loop, float64.

The check is *shadowed*: at each step t torch starts from OUR point x_t, is given the gradient
at x_t, and its state has seen the same gradients as ours (it was fed the gradients of our path
from the start). Its step must land on our x_{t+1} to within

    |x_{t+1} - torch(x_t)| <= 4 ulp(x) + 1e-12 |torch(x_t) - x_t|

in every coordinate. A wrong rule is off by far more than that at some step (the mutants below
fail this check); rounding differences cannot grow, because neither path follows the other's
rounding errors: comparing whole free-running paths instead judges how a chaotic surface (Adam
on Rosenbrock) amplifies an ulp, which depends on the CPU's maths libraries, not on the rule.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

import optimizers
import surfaces

STEPS = 500
K = 4
RTOL = 1e-10  # whole paths of rules without a torch.optim class (Lion's reference loop)
ULPS = 4.0
STEP_RTOL = 1e-12
SURFACES: dict[str, dict[str, Any]] = {
    "rosenbrock": {},
    "quadratic_bowl": {"cx": 1.0, "cy": -0.5, "ax": 1.0, "ay": 8.0},
    "linear_regression": {},
}
TORCH_BACKED = [n for n in optimizers.names() if optimizers.get(n).torch_class]


@pytest.fixture(autouse=True)
def _float64() -> Iterator[None]:
    # torch keeps NAdam's mu_product and the step counters in the default dtype
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _log_u(rng: np.random.Generator, lo: float, hi: float, k: int) -> np.ndarray:
    return np.exp(rng.uniform(math.log(lo), math.log(hi), k))


def draw(name: str, rng: np.random.Generator, flags: bool, k: int = K) -> dict[str, Any]:
    """Random hyperparameters for ``name``: (k,) arrays, flags (non-defaults) shared."""
    u = lambda lo, hi: rng.uniform(lo, hi, k)  # noqa: E731
    lu = lambda lo, hi: _log_u(rng, lo, hi, k)  # noqa: E731
    wd = u(0.0, 0.1) if flags else np.zeros(k)
    betas = {"beta1": u(0.5, 0.95), "beta2": u(0.9, 0.9999), "eps": lu(1e-10, 1e-6)}
    table: dict[str, Callable[[], dict[str, Any]]] = {
        "sgd": lambda: {"lr": lu(1e-4, 2e-3), "weight_decay": wd},
        "momentum": lambda: {
            "lr": lu(1e-4, 1e-3),
            "momentum": u(0.5, 0.95),
            "weight_decay": wd,
            "dampening": u(0.0, 0.5) if flags else np.zeros(k),
        },
        "nesterov": lambda: {"lr": lu(1e-4, 1e-3), "momentum": u(0.5, 0.95), "weight_decay": wd},
        "adagrad": lambda: {
            "lr": lu(1e-3, 1e-1),
            "eps": lu(1e-10, 1e-6),
            "weight_decay": wd,
            "lr_decay": u(0.0, 0.01) if flags else np.zeros(k),
            "initial_accumulator_value": u(0.0, 1.0) if flags else np.zeros(k),
        },
        "rmsprop": lambda: {
            "lr": lu(1e-4, 1e-2) if not flags else lu(1e-4, 3e-4),
            "alpha": u(0.8, 0.999),
            "eps": lu(1e-10, 1e-6),
            "weight_decay": wd,
            "momentum": u(0.0, 0.9) if flags else np.zeros(k),
            "centered": flags,
        },
        "adam": lambda: {"lr": lu(1e-4, 5e-3), **betas, "weight_decay": wd, "amsgrad": flags},
        "adamw": lambda: {"lr": lu(1e-4, 5e-3), **betas, "weight_decay": wd, "amsgrad": flags},
        "nadam": lambda: {
            "lr": lu(1e-4, 5e-3),
            **betas,
            "weight_decay": wd,
            "momentum_decay": lu(1e-3, 1e-2),
            "decoupled_weight_decay": flags,
        },
        "radam": lambda: {
            "lr": lu(1e-4, 1e-3),
            **betas,
            "weight_decay": wd,
            "decoupled_weight_decay": flags,
        },
        "adamax": lambda: {"lr": lu(1e-4, 5e-3), **betas, "weight_decay": wd},
        "adadelta": lambda: {
            "lr": u(0.1, 1.0),
            "rho": u(0.8, 0.99),
            "eps": lu(1e-8, 1e-5),
            "weight_decay": wd,
        },
    }
    if name in table:
        return table[name]()
    return draw_from_metadata(optimizers.get(name), rng, flags, k)


def draw_from_metadata(
    opt: optimizers.Optimizer, rng: np.random.Generator, flags: bool, k: int = K
) -> dict[str, Any]:
    """Random hyperparameters near an entry's defaults, from its metadata alone: what a new
    registry entry gets (the table above only narrows the ranges of the known ones). The
    learning rate log-uniform in [default / 10, default / 2]; other numbers within a tenth of
    their range below the default (log-scaled ones within a factor of 3 around it); weight
    decay and the flags only with ``flags``; choices and maximize at their defaults."""
    out: dict[str, Any] = {}
    for h in opt.hypers:
        d = h.default
        if h.kind == "bool":
            if h.name != "maximize":
                out[h.name] = bool(flags)
        elif h.kind != "float" or not isinstance(d, int | float) or isinstance(d, bool):
            continue
        elif h.role == "lr":
            out[h.name] = _log_u(rng, float(d) / 10.0, float(d) / 2.0, k)
        elif h.name == "weight_decay":
            out[h.name] = rng.uniform(0.0, 0.1, k) if flags else np.zeros(k)
        elif d == 0.0 and not flags:
            out[h.name] = np.zeros(k)
        else:
            lo, hi = (
                h.low if h.low is not None else -np.inf,
                h.high if h.high is not None else np.inf,
            )
            if h.log and d > 0:
                a, b = max(float(d) / 3.0, lo), min(float(d) * 3.0, hi)
                out[h.name] = _log_u(rng, a, b if b > a else a * (1 + 1e-9), k)
            else:
                span = (hi - lo) if np.isfinite(hi - lo) else max(1.0, abs(float(d)))
                a, b = max(float(d) - 0.1 * span, lo), float(d)  # below: gentler (momentum)
                out[h.name] = rng.uniform(a, b, k)
    return out


def torch_kwargs(name: str, h: dict[str, Any], j: int) -> dict[str, Any]:
    """Run j's hyperparameters as torch.optim keywords: betas joined, and the settings the
    entry pins (Nesterov's nesterov=True) where the torch class takes them."""
    opt = optimizers.get(name)
    kw: dict[str, Any] = {
        key: (float(v[j]) if isinstance(v, np.ndarray) else v) for key, v in h.items()
    }
    if "beta1" in kw:
        kw["betas"] = (kw.pop("beta1"), kw.pop("beta2"))
    assert opt.torch_class is not None
    takes = inspect.signature(getattr(torch.optim, opt.torch_class.rsplit(".", 1)[1])).parameters
    kw.update({key: v for key, v in opt.fixed.items() if key in takes})
    return {key: v for key, v in kw.items() if key in takes}


def torch_shadow(name: str, surface: Any, ours: np.ndarray, kw: dict[str, Any]) -> np.ndarray:
    """(T, 2): torch.optim's step from each of OUR points ours[t] (T+1, 2), its state fed the
    gradients of our path, so torch's x_{t+1} is comparable with ours step by step."""
    torch_class = optimizers.get(name).torch_class
    assert torch_class is not None
    cls = getattr(torch.optim, torch_class.rsplit(".", 1)[1])
    p = torch.tensor(ours[0], dtype=torch.float64)
    opt = cls([p], foreach=False, **kw)
    out = np.empty((len(ours) - 1, 2))
    for t in range(len(ours) - 1):
        with torch.no_grad():
            p.copy_(torch.from_numpy(ours[t]))
        with np.errstate(all="ignore"):
            g = np.asarray(surface.grad(ours[t]), dtype=np.float64)
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        out[t] = p.numpy()
    return out


def step_errors(ours: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(T,) how far each of our steps is from torch's, in units of the allowed difference."""
    err = np.abs(pred - ours[1:])
    allowed = ULPS * np.spacing(np.maximum(np.abs(ours[:-1]), np.abs(ours[1:])))
    allowed += STEP_RTOL * np.abs(pred - ours[:-1])
    with np.errstate(all="ignore"):
        ratio = (err / allowed).max(axis=1)
    return np.where(np.isnan(ratio), np.inf, ratio)  # a non-finite step is a failure


def assert_steps_match(
    name: str, surface: Any, ours: np.ndarray, kw: dict[str, Any], what: str
) -> None:
    bad = step_errors(ours, torch_shadow(name, surface, ours, kw))
    if (bad > 1.0).any():
        t = int(np.argmax(bad > 1.0))
        raise AssertionError(
            f"{what}: step {t + 1} differs from torch.optim by {bad[t]:.3g} times the allowed "
            f"4 ulp + {STEP_RTOL:g} x step"
        )


def rel_err(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(ours - ref).max()) / max(1.0, float(np.abs(ref).max()))


def assert_path_close(ours: np.ndarray, ref: np.ndarray, what: str) -> None:
    err = rel_err(ours, ref)
    assert err <= RTOL, f"{what}: max relative difference {err:.3g} > {RTOL:g}"


def _starts(surface: Any, rng: np.random.Generator, k: int) -> np.ndarray:
    (x0, x1), (y0, y1) = surface.bounds
    cx, cy = surface.default_start
    jitter = rng.uniform(-0.1, 0.1, (k, 2)) * [x1 - x0, y1 - y0]
    return np.asarray(np.array([cx, cy]) + jitter)


@pytest.mark.parametrize("flags", [False, True], ids=["defaults", "flags"])
@pytest.mark.parametrize("surface_name", list(SURFACES))
@pytest.mark.parametrize("name", TORCH_BACKED)
def test_matches_torch_optim(name: str, surface_name: str, flags: bool) -> None:
    check_against_torch(name, surface_name, flags)


def check_against_torch(name: str, surface_name: str, flags: bool) -> None:
    surface = surfaces.get(surface_name, **SURFACES[surface_name])
    rng = np.random.default_rng([zlib.crc32(name.encode()), len(surface_name), flags])
    h: dict[str, Any] = draw(name, rng, flags)
    starts = _starts(surface, rng, K)
    kws = [torch_kwargs(name, h, j) for j in range(K)]
    for path in ("scalar", "vector"):
        tr = optimizers.simulate(surface, name, starts, STEPS, _path=path, **h)
        assert (tr.diverged_at == -1).all(), f"{name} diverged: choose gentler draws"
        for j in range(K):
            what = f"{name}/{surface_name}/{path}/run {j}"
            assert_steps_match(name, surface, tr.positions[:, j], kws[j], what)


@pytest.mark.parametrize("flags", [False, True], ids=["defaults", "flags"])
def test_a_new_torch_backed_entry_gets_the_oracle_from_its_metadata(
    flags: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry entry the tests have never heard of (here Adamax and Nesterov momentum under
    new names) is checked against its torch.optim class with hyperparameters drawn from its
    metadata and the settings it pins: one file and one registry line are enough."""
    for base in ("adamax", "nesterov"):
        name = f"{base}_new"
        monkeypatch.setitem(
            optimizers.REGISTRY, name, dataclasses.replace(optimizers.get(base), name=name)
        )
        check_against_torch(name, "rosenbrock", flags)
    # and the draw is not a formality: a wrong rule under a known class fails it
    wrong = dataclasses.replace(
        optimizers.get("adamax"), name="wrong", torch_class="torch.optim.Adam"
    )
    monkeypatch.setitem(optimizers.REGISTRY, "wrong", wrong)
    with pytest.raises(AssertionError, match=r"differs from torch\.optim"):
        check_against_torch("wrong", "rosenbrock", flags)


@pytest.mark.parametrize("name", TORCH_BACKED)
def test_maximize_matches_torch_until_it_leaves_the_box(name: str) -> None:
    surface = surfaces.get("rosenbrock")
    rng = np.random.default_rng(7)
    h: dict[str, Any] = {
        key: v[:1] if isinstance(v, np.ndarray) else v
        for key, v in draw(name, rng, False, 1).items()
    }
    kw = torch_kwargs(name, h, 0)
    start = np.array(surface.default_start)
    tr = optimizers.simulate(surface, name, start, STEPS, maximize=True, **h)
    d = int(tr.diverged_at[0])
    stop = STEPS + 1 if d < 0 else d
    assert stop > 1
    ours = tr.positions[:stop, 0]
    assert_steps_match(name, surface, ours, {**kw, "maximize": True}, f"{name} maximize")


def test_betas_keyword_is_accepted_like_torch() -> None:
    surface = surfaces.get("rosenbrock")
    a = optimizers.simulate(surface, "adam", surface.default_start, 50, betas=(0.8, 0.99))
    b = optimizers.simulate(surface, "adam", surface.default_start, 50, beta1=0.8, beta2=0.99)
    np.testing.assert_array_equal(a.positions, b.positions)


def lion_reference(
    surface: Any, start: np.ndarray, lr: float, b1: float, b2: float, wd: float, steps: int
) -> np.ndarray:
    """Lion as the paper's Algorithm 2 / lion-pytorch write it, in torch tensors."""
    p = torch.tensor(start, dtype=torch.float64)
    m = torch.zeros_like(p)
    out = [p.clone()]
    for _ in range(steps):
        g = torch.from_numpy(np.asarray(surface.grad(p.numpy()), dtype=np.float64))
        p.mul_(1 - lr * wd)
        update = (m * b1 + g * (1 - b1)).sign_()
        p.add_(update, alpha=-lr)
        m.mul_(b2).add_(g, alpha=1 - b2)
        out.append(p.clone())
    return torch.stack(out).numpy()


@pytest.mark.parametrize("surface_name", list(SURFACES))
def test_lion_matches_its_reference_loop(surface_name: str) -> None:
    surface = surfaces.get(surface_name, **SURFACES[surface_name])
    rng = np.random.default_rng(3)
    lr, b1, b2, wd = (
        _log_u(rng, 1e-4, 1e-2, K),
        rng.uniform(0.8, 0.95, K),
        rng.uniform(0.95, 0.999, K),
        rng.uniform(0, 0.1, K),
    )
    starts = _starts(surface, rng, K)
    for path in ("scalar", "vector"):
        tr = optimizers.simulate(
            surface, "lion", starts, STEPS, _path=path, lr=lr, beta1=b1, beta2=b2, weight_decay=wd
        )
        for j in range(K):
            ref = lion_reference(surface, starts[j], lr[j], b1[j], b2[j], wd[j], STEPS)
            assert_path_close(tr.positions[:, j], ref, f"lion/{surface_name}/{path}/run {j}")


# ---------------------------------------------------------------- the check catches wrong rules


def _adam_mutant(
    surface: Any, start: np.ndarray, kw: dict[str, Any], steps: int, mutation: str
) -> np.ndarray:
    """Adam written out in float64 with one deliberate mistake, as lessons 002 and 003 make."""
    lr, (b1, b2), eps = kw["lr"], kw["betas"], kw["eps"]
    x = np.array(start, dtype=np.float64)
    m, v = np.zeros(2), np.zeros(2)
    out = [x.copy()]
    for t in range(1, steps + 1):
        g = np.asarray(surface.grad(x), dtype=np.float64)
        m = b1 * (v if mutation == "m_from_v" else m) + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if mutation == "no_bias_correction":
            x = x - lr * m / (np.sqrt(v) + eps)
        elif mutation == "eps_inside_root":
            x = x - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps)
        else:
            x = x - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out.append(x.copy())
    return np.array(out)


def _nesterov_mutant(
    surface: Any, start: np.ndarray, kw: dict[str, Any], steps: int, mutation: str
) -> np.ndarray:
    """torch's Nesterov (b = μb + g, θ −= lr (g + μb)), or its look-ahead with the wrong sign."""
    lr, mu = kw["lr"], kw["momentum"]
    sign = -1.0 if mutation == "lookahead_sign" else 1.0
    x = np.array(start, dtype=np.float64)
    b = np.zeros(2)
    out = [x.copy()]
    for t in range(steps):
        g = np.asarray(surface.grad(x), dtype=np.float64)
        b = g.copy() if t == 0 else mu * b + g
        x = x - lr * (g + sign * mu * b)
        out.append(x.copy())
    return np.array(out)


MUTANTS = {
    "adam": (_adam_mutant, ("eps_inside_root", "no_bias_correction", "m_from_v")),
    "nesterov": (_nesterov_mutant, ("lookahead_sign",)),
}


@pytest.mark.parametrize("surface_name", list(SURFACES))
@pytest.mark.parametrize(
    ("name", "mutation"), [(n, m) for n, (_, ms) in MUTANTS.items() for m in ms]
)
def test_the_step_check_rejects_wrong_rules(name: str, surface_name: str, mutation: str) -> None:
    """The same draws as the oracle test; the correct loop passes, the mutant fails by far."""
    surface = surfaces.get(surface_name, **SURFACES[surface_name])
    rng = np.random.default_rng([zlib.crc32(name.encode()), len(surface_name), False])
    h: dict[str, Any] = draw(name, rng, False)
    starts = _starts(surface, rng, K)
    loop = MUTANTS[name][0]
    for j in range(K):
        kw = torch_kwargs(name, h, j)
        steps = 100
        with np.errstate(all="ignore"):  # a mutant may blow up: that is a failure below
            right = loop(surface, starts[j], kw, steps, "none")
            wrong = loop(surface, starts[j], kw, steps, mutation)
        pred_right = torch_shadow(name, surface, right, kw)
        assert step_errors(right, pred_right).max() <= 1.0, "the correct loop must pass"
        worst = step_errors(wrong, torch_shadow(name, surface, wrong, kw)).max()
        assert worst > 10.0, f"{name} with {mutation}: only {worst:.3g} times the tolerance"


def _eps_inside_root(p: Any, g: Any, s: Any, h: Any, t: Any, lr: Any, xp: Any) -> Any:
    """Adam as the loss-and-optimization lesson writes it: ε inside the square root."""
    m = xp.lerp(s.exp_avg, g, 1.0 - h.beta1)
    v = s.exp_avg_sq * h.beta2 + (1.0 - h.beta2) * g * g
    c1, c2 = 1.0 - h.beta1**t, 1.0 - h.beta2**t
    return optimizers.Step(
        p - lr * (m / c1) / xp.sqrt(v / c2 + h.eps), s._replace(exp_avg=m, exp_avg_sq=v), {}
    )


def _lookahead_sign(p: Any, g: Any, s: Any, h: Any, t: Any, lr: Any, xp: Any) -> Any:
    """Nesterov with the look-ahead's sign flipped (θ + βv where θ − βv is meant)."""
    buf = xp.where(t == 1.0, g, s.momentum_buffer * h.momentum + g)
    return optimizers.Step(p + -lr * (g - h.momentum * buf), s._replace(momentum_buffer=buf), {})


@pytest.mark.parametrize(
    ("name", "step"), [("adam", _eps_inside_root), ("nesterov", _lookahead_sign)]
)
def test_a_mutated_rule_run_by_the_engines_fails_the_check(name: str, step: Any) -> None:
    """The same check on a wrong definition run through simulate (both engines)."""
    import dataclasses

    opt = optimizers.get(name)
    mutant = dataclasses.replace(opt, rule=dataclasses.replace(opt.rule, step=step))
    surface = surfaces.get("quadratic_bowl", **SURFACES["quadratic_bowl"])
    rng = np.random.default_rng([zlib.crc32(name.encode()), 1, False])
    h = draw(name, rng, False)
    if name == "adam":
        h["eps"] = np.full(K, 1e-3)  # large enough to matter near the minimum
    starts = _starts(surface, rng, K)
    for path in ("scalar", "vector"):
        tr = optimizers.simulate(surface, mutant, starts, 100, _path=path, **h)
        worst = max(
            step_errors(
                tr.positions[:, j],
                torch_shadow(name, surface, tr.positions[:, j], torch_kwargs(name, h, j)),
            ).max()
            for j in range(K)
        )
        assert worst > 10.0, f"{name} mutant on the {path} engine: only {worst:.3g}"

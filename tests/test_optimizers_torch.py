"""torch.optim is the oracle: every rule it has, step for step, on several surfaces.

Each case draws K = 4 random hyperparameter sets (one (K,) array per hyperparameter, the flags
shared), runs simulate once (scalar engine and vector engine), and runs torch.optim four times
with ``p.grad`` set to the surface's analytic gradient, so only the optimizer arithmetic is
compared: 500 steps, float64, every position within 1e-10 relative to the path's scale.

Chaotic runs: Adam on Rosenbrock, Adam-type rules hovering at a minimum (where m/√v of tiny
gradients behaves like a sign), centered RMSprop with momentum... can be so sensitive that torch
itself ends 1e-3 away when every gradient is perturbed by ONE ulp; no second implementation can
agree with it to 1e-10 there (our operations differ from torch's fused CPU kernels by an ulp now
and then). So a run that misses 1e-10 is checked: if torch's own one-ulp-per-step spread is below
1e-12 the run fails; otherwise it is counted as chaotic, and every case must still have at least
3 of its 4 runs verified to 1e-10. The draws keep learning rates where that holds.
"""

from __future__ import annotations

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
RTOL = 1e-10
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
    return table[name]()


def torch_kwargs(name: str, h: dict[str, Any], j: int) -> dict[str, Any]:
    """Run j's hyperparameters as torch.optim keywords (betas joined, nesterov flag)."""
    kw = {key: (float(v[j]) if isinstance(v, np.ndarray) else v) for key, v in h.items()}
    if "beta1" in kw:
        kw["betas"] = (kw.pop("beta1"), kw.pop("beta2"))
    kw.pop("convention", None)
    if name == "nesterov":
        kw["nesterov"] = True
    return kw


def torch_path(
    name: str, surface: Any, start: np.ndarray, kw: dict[str, Any], steps: int, nudge: bool = False
) -> np.ndarray:
    """(T+1, 2) positions of torch.optim's single-tensor loop with analytic gradients.

    ``nudge=True`` moves every gradient coordinate up by one ulp: one ulp of rounding noise per
    step, which measures how much rounding noise this run amplifies.
    """
    cls = getattr(torch.optim, optimizers.get(name).torch_class.rsplit(".", 1)[1])
    p = torch.tensor(start, dtype=torch.float64)
    opt = cls([p], foreach=False, **kw)
    out = np.empty((steps + 1, 2))
    out[0] = start
    for t in range(steps):
        with np.errstate(all="ignore"):  # torch may run far outside the box (maximize)
            g = np.asarray(surface.grad(p.numpy()), dtype=np.float64)
        p.grad = torch.from_numpy(np.nextafter(g, np.inf) if nudge else g)
        opt.step()
        out[t + 1] = p.numpy()
    return out


def rel_err(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(ours - ref).max()) / max(1.0, float(np.abs(ref).max()))


def assert_path_close(ours: np.ndarray, ref: np.ndarray, what: str) -> None:
    err = rel_err(ours, ref)
    assert err <= RTOL, f"{what}: max relative difference {err:.3g} > {RTOL:g}"


def check_run(
    ours: np.ndarray, ref: np.ndarray, spread: Callable[[], np.ndarray], what: str
) -> bool:
    """True if verified to 1e-10; False if torch itself is chaotic there (else the test fails)."""
    err = rel_err(ours, ref)
    if err <= RTOL:
        return True
    own = rel_err(spread(), ref)
    assert own > 1e-12, f"{what}: difference {err:.3g} > {RTOL:g} on a well-conditioned run"
    return False


def _starts(surface: Any, rng: np.random.Generator, k: int) -> np.ndarray:
    (x0, x1), (y0, y1) = surface.bounds
    cx, cy = surface.default_start
    jitter = rng.uniform(-0.1, 0.1, (k, 2)) * [x1 - x0, y1 - y0]
    return np.array([cx, cy]) + jitter


@pytest.mark.parametrize("flags", [False, True], ids=["defaults", "flags"])
@pytest.mark.parametrize("surface_name", list(SURFACES))
@pytest.mark.parametrize("name", TORCH_BACKED)
def test_matches_torch_optim(name: str, surface_name: str, flags: bool) -> None:
    surface = surfaces.get(surface_name, **SURFACES[surface_name])
    rng = np.random.default_rng([zlib.crc32(name.encode()), len(surface_name), flags])
    h = draw(name, rng, flags)
    starts = _starts(surface, rng, K)
    kws = [torch_kwargs(name, h, j) for j in range(K)]
    refs = [torch_path(name, surface, starts[j], kws[j], STEPS) for j in range(K)]
    for path in ("scalar", "vector"):
        tr = optimizers.simulate(surface, name, starts, STEPS, _path=path, **h)
        assert (tr.diverged_at == -1).all(), f"{name} diverged: choose gentler draws"
        verified = 0
        for j in range(K):
            spread = lambda j=j: torch_path(name, surface, starts[j], kws[j], STEPS, True)  # noqa: E731
            verified += check_run(
                tr.positions[:, j], refs[j], spread, f"{name}/{surface_name}/{path}/run {j}"
            )
        assert verified >= K - 1, f"{name}/{surface_name}/{path}: only {verified} runs verified"


@pytest.mark.parametrize("name", TORCH_BACKED)
def test_maximize_matches_torch_until_it_leaves_the_box(name: str) -> None:
    surface = surfaces.get("rosenbrock")
    rng = np.random.default_rng(7)
    h = {
        key: v[:1] if isinstance(v, np.ndarray) else v
        for key, v in draw(name, rng, False, 1).items()
    }
    kw = torch_kwargs(name, h, 0)
    start = np.array(surface.default_start)
    ref = torch_path(name, surface, start, {**kw, "maximize": True}, STEPS)
    tr = optimizers.simulate(surface, name, start, STEPS, maximize=True, **h)
    d = int(tr.diverged_at[0])
    stop = STEPS + 1 if d < 0 else d
    assert stop > 1
    assert_path_close(tr.positions[:stop, 0], ref[:stop], f"{name} maximize")


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

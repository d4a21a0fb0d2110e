"""The compiled engine (optimizers.compiled): same numbers as the NumPy engine and torch.optim.

The kernel performs the NumPy rule's operations in the same order and inductor compiles them
without contraction into fused multiply-adds or reassociation, so on surfaces made of + - * /
the compiled engine must equal the NumPy engine to the last bit (positions, loss, divergence
steps, exit points); against torch.optim the bar is the oracle's 1e-10 relative over 500 steps
(tests/test_optimizers_torch.py explains the chaotic-run allowance).

Every kernel is compiled once (tens of seconds on this 2-core machine, a few seconds from
inductor's cache), so the tests share a handful of kernels. Without a C++ compiler the compiled
tests skip with the reason; the fallback tests run everywhere.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces
from optimizers import compiled
from optimizers.schedules import StepLR
from tests.test_optimizers_torch import assert_steps_match, torch_kwargs

WHY = compiled.unavailable()
needs_compiler = pytest.mark.skipif(WHY is not None, reason=f"compiled engine: {WHY}")
STEPS = 500


def adam_hypers(rng: np.random.Generator, k: int) -> dict[str, Any]:
    """Per-run lr, betas and eps: the graph every Adam test below shares."""
    return {
        "lr": np.exp(rng.uniform(np.log(1e-3), np.log(5e-2), k)),
        "beta1": rng.uniform(0.5, 0.95, k),
        "beta2": rng.uniform(0.9, 0.9999, k),
        "eps": np.exp(rng.uniform(np.log(1e-10), np.log(1e-6), k)),
    }


def starts_in(surface: Any, rng: np.random.Generator, k: int) -> np.ndarray:
    (x0, x1), (y0, y1) = surface.bounds
    return rng.uniform([x0, y0], [x1, y1], (k, 2))


def both_engines(
    surface: Any, seed: int, k: int, steps: int, **kw: Any
) -> tuple[optimizers.Trajectory, optimizers.Trajectory, np.ndarray, dict[str, Any]]:
    """The same K Adam runs (hyperparameters and starts drawn from ``seed``) on the compiled and
    the NumPy engine: (compiled, numpy, starts, hyperparameters)."""
    rng = np.random.default_rng(seed)
    h = adam_hypers(rng, k)
    starts = starts_in(surface, rng, k)
    a = optimizers.simulate(surface, "adam", starts, steps, engine="compiled", **h, **kw)
    b = optimizers.simulate(surface, "adam", starts, steps, engine="numpy", **h, **kw)
    return a, b, starts, h


def assert_identical(a: optimizers.Trajectory, b: optimizers.Trajectory) -> None:
    """Bit for bit: positions, loss, gradient norm, divergence steps."""
    assert a.engine == "compiled" and b.engine == "numpy", (a.engine, b.engine)
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.grad_norm, b.grad_norm)


@needs_compiler
@pytest.mark.parametrize(
    "surface_name, params",
    [("quadratic_bowl", {"cx": 1.0, "cy": -0.5, "ax": 1.0, "ay": 8.0}), ("ravine", {})],
)
def test_compiled_adam_matches_torch_optim_and_numpy(surface_name: str, params: dict) -> None:
    surface = surfaces.get(surface_name, **params)
    k = 4
    ours, numpy_engine, _, h = both_engines(surface, 11, k, STEPS)
    assert_identical(ours, numpy_engine)
    assert (ours.diverged_at == -1).all()
    for j in range(k):
        kw = torch_kwargs("adam", h, j)
        assert_steps_match("adam", surface, ours.positions[:, j], kw, f"{surface_name}/run {j}")


@needs_compiler
def test_compiled_chunks_tail_block_and_every_nth_record_equal_numpy() -> None:
    """Two chunks (the second padded), 37 steps (the last block masks 3 of its 8 steps),
    every 7th state recorded: the same kernel as the bowl test above."""
    surface = surfaces.get("quadratic_bowl", cx=1.0, cy=-0.5, ax=1.0, ay=8.0)
    a, b, _, _ = both_engines(surface, 12, compiled.CHUNK + 3, 37, record=7)
    assert_identical(a, b)
    assert list(a.steps) == [0, 7, 14, 21, 28, 35, 37]


@needs_compiler
def test_compiled_adamw_flags_and_divergence_equal_numpy_and_torch() -> None:
    """AdamW with AMSGrad climbing the bowl (maximize): every run leaves the box; the step,
    the exit point and the frozen tail must match the NumPy engine, the path before the exit
    torch.optim.AdamW."""
    surface = surfaces.get("quadratic_bowl")
    rng = np.random.default_rng(13)
    k = 64
    h: dict[str, Any] = {
        "lr": np.exp(rng.uniform(np.log(0.5), np.log(3.0), k)),
        "beta1": rng.uniform(0.5, 0.95, k),
        "beta2": 0.999,
        "weight_decay": rng.uniform(0.0, 0.01, k),
        "amsgrad": True,
        "maximize": True,
    }
    starts = starts_in(surface, rng, k)
    a = optimizers.simulate(surface, "adamw", starts, 300, engine="compiled", **h)
    b = optimizers.simulate(surface, "adamw", starts, 300, engine="numpy", **h)
    assert_identical(a, b)
    assert (a.diverged_at > 0).mean() > 0.5, "the draws should leave the box"
    for j in np.flatnonzero(a.diverged_at > 1)[:3]:
        d = int(a.diverged_at[j])
        kw = torch_kwargs("adamw", h, j)
        assert_steps_match("adamw", surface, a.positions[:d, j], kw, f"run {j}")


@needs_compiler
def test_compiled_rosenbrock_benchmark_case_equals_numpy() -> None:
    """The benchmark's case (per-run lr/beta1/beta2, final state only), some runs diverging."""
    surface = surfaces.get("rosenbrock")
    rng = np.random.default_rng(14)
    k = 3000
    h = {
        "lr": np.exp(rng.uniform(np.log(1e-4), np.log(3.0), k)),
        "beta1": rng.uniform(0.8, 0.95, k),
        "beta2": rng.uniform(0.99, 0.9999, k),
    }
    starts = starts_in(surface, rng, k)
    a = optimizers.simulate(surface, "adam", starts, 200, record="final", engine="compiled", **h)
    b = optimizers.simulate(surface, "adam", starts, 200, record="final", engine="numpy", **h)
    assert_identical(a, b)
    assert compiled.is_built(compiled_run_probe(surface, starts, h))


@needs_compiler
def test_compiled_on_a_sine_surface_is_within_rounding_of_numpy() -> None:
    """sin/cos come from inductor's vector library (Sleef, within 1 ulp) instead of libm, so
    bit-identity is not promised there; on a smooth non-chaotic surface (sin x + y^2) the paths
    stay within a few ulps of the NumPy engine's (measured: 2e-16 relative over 500 steps; on
    Rastrigin 93% of runs stay bit-identical and a few chaotic ones amplify the last bit)."""
    a, b, _, _ = both_engines(surfaces.get("saddle_escape"), 15, 64, STEPS)
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    scale = np.maximum(1.0, np.abs(b.positions).max(axis=(0, 2)))
    err = np.abs(a.positions - b.positions).max(axis=(0, 2)) / scale
    assert err.max() <= 1e-12, f"max relative difference {err.max():.3g}"


def compiled_run_probe(surface: Any, starts: np.ndarray, h: dict[str, Any]) -> Any:
    """A _Run like simulate builds, to ask the engine about its kernel cache."""
    from optimizers.schedules import Schedule
    from optimizers.simulate import _check_hypers, _Run

    opt = optimizers.get("adam")
    hyp = _check_hypers(opt, h, len(starts))
    rec = np.array([200])
    rec_index = np.full(201, -1)
    rec_index[200] = 0
    return _Run(surface, opt, hyp, starts, 200, None, 0, Schedule(), rec, rec_index, "lr", None)


# ---------------------------------------------------------------- fallbacks (no compiler needed)


def big_starts(surface: Any, k: int = compiled.MIN_K) -> np.ndarray:
    return starts_in(surface, np.random.default_rng(5), k)


@pytest.mark.parametrize(
    "optimizer, kwargs, reason",
    [
        ("sgd", {}, "no compiled form"),
        ("adam", {"batch_size": 4}, "mini-batches"),
        ("adam", {"schedule": StepLR(step_size=3)}, "schedule 'step'"),
        ("adam", {"weight_decay": 0.01}, "coupled weight decay"),
    ],
)
def test_unsupported_calls_run_on_numpy_and_say_why(
    optimizer: str, kwargs: dict[str, Any], reason: str
) -> None:
    surface = surfaces.get("rosenbrock", noise=1.0)
    starts = big_starts(surface)
    tr = optimizers.simulate(surface, optimizer, starts, 3, **kwargs)
    assert tr.engine == "numpy"
    with pytest.raises(ValueError, match=reason):
        optimizers.simulate(surface, optimizer, starts, 3, engine="compiled", **kwargs)


def test_data_surfaces_are_not_compiled() -> None:
    surface = surfaces.get("linear_regression")
    with pytest.raises(ValueError, match="no torch-ready gradient"):
        optimizers.simulate(surface, "adam", big_starts(surface), 3, engine="compiled")


def test_missing_compiler_falls_back_silently_and_explicit_request_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXX", "no-such-compiler-xyz")
    assert compiled.unavailable() == (
        "no C++ compiler: 'no-such-compiler-xyz' is not on PATH (inductor compiles C++ with it)"
    )
    surface = surfaces.get("rosenbrock")
    starts = big_starts(surface)
    monkeypatch.setattr(compiled, "AUTO_WORK", 0)  # auto would compile if it could
    assert optimizers.simulate(surface, "adam", starts, 3).engine == "numpy"
    with pytest.raises(ValueError, match="no C\\+\\+ compiler"):
        optimizers.simulate(surface, "adam", starts, 3, engine="compiled")


def test_auto_engine_choice_and_validation() -> None:
    surface = surfaces.get("rosenbrock")
    assert optimizers.simulate(surface, "adam", surface.default_start, 5).engine == "scalar"
    assert optimizers.simulate(surface, "adam", big_starts(surface, 50), 5).engine == "numpy"
    # large K but little work: no kernel is compiled for it (unless one is already built)
    tr = optimizers.simulate(surface, "adam", big_starts(surface), 2, lr=0.123)
    assert tr.engine == "numpy"
    assert optimizers.simulate(
        surface, "sgd", big_starts(surface, 9), 2, engine="scalar"
    ).engine == ("scalar")
    with pytest.raises(ValueError, match="engine must be one of auto, scalar, numpy, compiled"):
        optimizers.simulate(surface, "adam", surface.default_start, 5, engine="fast")


def test_importing_and_large_numpy_runs_do_not_import_torch() -> None:
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

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated toolchain failure")

    monkeypatch.setattr(cfx, "compile_fx", broken)
    monkeypatch.setattr(compiled, "FAILED", [])
    monkeypatch.setattr(compiled, "AUTO_WORK", 0)
    surface = surfaces.get("quadratic_bowl", cx=0.25)  # a kernel no other test builds
    starts = big_starts(surface)
    auto = optimizers.simulate(surface, "adam", starts, 3)  # tries, fails, falls back
    ref = optimizers.simulate(surface, "adam", starts, 3, engine="numpy")
    assert auto.engine == "numpy"
    np.testing.assert_array_equal(auto.positions, ref.positions)
    np.testing.assert_array_equal(auto.diverged_at, ref.diverged_at)
    assert compiled.FAILED and "simulated toolchain failure" in compiled.FAILED[0]
    with pytest.raises(ValueError, match="compiling a kernel failed in this process"):
        optimizers.simulate(surface, "adam", starts, 3, engine="compiled")

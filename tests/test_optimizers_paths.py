"""The two engines agree: one vectorized call over K runs equals K single scalar runs.

Full batch: K separate ``simulate`` calls (K = 1 each, the scalar engine) against one call on
the vector engine with per-run hyperparameter arrays. Both engines perform the same floating-point
operations in the same order, so the agreement is to the last bit except where NumPy's SIMD
transcendental functions (np.power in NAdam, the surfaces' exp/sin) may differ from libm by an
ulp; the tolerance is 1e-12 relative.

Mini-batches and random proposals: the index stream is ``iter_batches(N, b, K, default_rng(seed))``
(one (K, b) draw per step) and the proposals one (2, K) normal draw per step from
``default_rng([seed, 1])``. Run k of a K-run uses column k of each draw on both engines, so the
scalar engine forced on the same K runs must equal the vector engine; a K = 1 run with the same
seed draws a different stream (documented equivalence).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces

K = 5
STEPS = 200
RTOL = 1e-12


def random_hypers(name: str, rng: np.random.Generator, k: int = K) -> dict[str, Any]:
    """(k,) arrays of numeric hyperparameters around the defaults (flags left at defaults)."""
    out: dict[str, Any] = {}
    for h in optimizers.get(name).hypers:
        if h.kind != "float" or not isinstance(h.default, float):
            continue
        d = h.default
        if h.role == "lr":
            v = d * np.exp(rng.uniform(-1.0, 1.0, k))
        elif h.open_high and h.high == 1.0:  # betas, momentum: stay below 1
            v = (
                1.0 - (1.0 - d) * np.exp(rng.uniform(-0.5, 0.5, k))
                if d > 0
                else rng.uniform(0, 0.5, k)
            )
        elif d == 0.0:
            v = rng.uniform(0.0, 0.05, k) if h.name == "weight_decay" else np.zeros(k)
        else:
            v = d * np.exp(rng.uniform(-0.5, 0.5, k))
        out[h.name] = np.clip(
            v, h.low if h.low is not None else -np.inf, h.high if h.high is not None else np.inf
        )
    return out


def assert_same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    scale = max(1.0, float(np.abs(b).max()))
    err = float(np.abs(a - b).max()) / scale
    assert err <= RTOL, f"{what}: {err:.3g}"


@pytest.mark.parametrize("surface_name", ["quadratic_bowl", "rosenbrock", "himmelblau"])
@pytest.mark.parametrize("name", optimizers.names())
def test_vector_call_equals_single_runs(name: str, surface_name: str) -> None:
    s = surfaces.get(surface_name)
    rng = np.random.default_rng(11)
    h: dict[str, Any] = random_hypers(name, rng)
    starts = np.array(s.default_start) + rng.uniform(-0.3, 0.3, (K, 2))
    vec = optimizers.simulate(s, name, starts, STEPS, _path="vector", **h)
    assert (vec.diverged_at == -1).sum() >= 1
    if optimizers.get(name).needs_normal:  # one proposal stream per K-run: compare the same K-run
        one_k = optimizers.simulate(s, name, starts, STEPS, _path="scalar", **h)
        assert_same(vec.positions, one_k.positions, name)
        return
    for j in range(K):
        one = optimizers.simulate(
            s,
            name,
            starts[j],
            STEPS,
            **{key: float(v[j]) for key, v in h.items()},  # type: ignore[arg-type]
        )
        assert one.diverged_at[0] == vec.diverged_at[j]
        assert_same(vec.positions[:, j], one.positions[:, 0], f"{name} run {j}")
        np.testing.assert_array_equal(vec.lr[:, j], one.lr[:, 0])


@pytest.mark.parametrize(
    "surface",
    [("linear_regression", {}), ("quadratic_bowl", {"noise": 1.0})],
    ids=["data", "noisy"],
)
@pytest.mark.parametrize("name", optimizers.names())
def test_minibatch_engines_agree(name: str, surface: tuple[str, dict[str, Any]]) -> None:
    s = surfaces.get(surface[0], **surface[1])
    rng = np.random.default_rng(5)
    h: dict[str, Any] = random_hypers(name, rng)
    starts = np.array(s.default_start) + rng.uniform(-0.3, 0.3, (K, 2))
    kw: dict[str, Any] = {"batch_size": 2 if s.n_samples > 2 else 1, "seed": 9, **h}
    a = optimizers.simulate(s, name, starts, STEPS, _path="scalar", **kw)
    b = optimizers.simulate(s, name, starts, STEPS, _path="vector", _chunk=2, **kw)
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    assert_same(b.positions, a.positions, name)


@pytest.mark.parametrize("name", ["adam", "momentum", "rmsprop"])
def test_chunks_and_threads_do_not_change_results(name: str) -> None:
    s = surfaces.get("rosenbrock")
    rng = np.random.default_rng(2)
    starts = rng.uniform(-2, 2, (37, 2))
    h: dict[str, Any] = random_hypers(name, rng, 37)
    ref = optimizers.simulate(s, name, starts, 100, _path="vector", _chunk=1000, _threads=1, **h)
    for chunk, threads in [(5, 2), (8, 1), (16, 2)]:
        tr = optimizers.simulate(
            s, name, starts, 100, _path="vector", _chunk=chunk, _threads=threads, **h
        )
        np.testing.assert_array_equal(tr.positions, ref.positions)


@pytest.mark.parametrize("name", ["sgd", "adam", "nesterov"])
def test_divergence_is_the_same_on_both_engines(name: str) -> None:
    s = surfaces.get("rosenbrock")
    starts = np.array([[-1.5, 2.0], [0.5, 0.5], [1.0, -1.0], [-1.0, 1.0]])
    lr = np.array([1e-4, 0.05, 10.0, 0.01])
    a = optimizers.simulate(s, name, starts, 150, _path="scalar", lr=lr)
    b = optimizers.simulate(s, name, starts, 150, _path="vector", _chunk=3, lr=lr)
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    assert (a.diverged_at >= 0).any()
    assert_same(b.positions, a.positions, name)
    np.testing.assert_array_equal(a.loss, b.loss)


def test_lerp_switches_formula_like_torch() -> None:
    # beta1 < 0.5 makes torch's lerp weight >= 0.5: its second formula
    s = surfaces.get("rosenbrock")
    h: dict[str, Any] = {"beta1": np.array([0.3, 0.9, 0.1])}
    starts = np.array([[-1.5, 2.0]] * 3)
    vec = optimizers.simulate(s, "adam", starts, 100, _path="vector", lr=0.01, **h)
    for j in range(3):
        one = optimizers.simulate(s, "adam", starts[j], 100, lr=0.01, beta1=float(h["beta1"][j]))
        np.testing.assert_array_equal(vec.positions[:, j], one.positions[:, 0])


@pytest.mark.parametrize(
    ("k", "chunk", "threads", "count"),
    [(100_000, 16384, 2, 8), (100_000, 16384, 1, 7), (10, 16384, 2, 1), (9000, 4000, 2, 4)],
)
def test_chunk_bounds_cover_every_run_in_balanced_chunks(
    k: int, chunk: int, threads: int, count: int
) -> None:
    from optimizers.engines.vector import chunk_bounds as _chunk_bounds

    bounds = _chunk_bounds(k, chunk, threads)
    assert len(bounds) == count
    assert bounds[0][0] == 0
    assert bounds[-1][1] == k
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) <= chunk
    assert max(sizes) - min(sizes) <= count


def test_balanced_threaded_chunks_equal_one_chunk() -> None:
    """Enough runs for the 2-thread split (4 chunks of 2,049): same bits as one chunk."""
    s = surfaces.get("rosenbrock")
    rng = np.random.default_rng(5)
    k = 8195
    starts = rng.uniform([-2.0, -1.0], [2.0, 3.0], (k, 2))
    h: dict[str, Any] = random_hypers("adam", rng, k)
    kw: dict[str, Any] = {"record": 5, "_path": "vector", **h}
    one = optimizers.simulate(s, "adam", starts, 20, _chunk=k, _threads=1, **kw)
    split = optimizers.simulate(s, "adam", starts, 20, _chunk=3000, _threads=2, **kw)
    np.testing.assert_array_equal(split.positions, one.positions)
    np.testing.assert_array_equal(split.diverged_at, one.diverged_at)


@pytest.mark.parametrize("name", optimizers.names())
def test_block_constant_hypers_equal_single_runs(name: str) -> None:
    """A sweep laid out in blocks: chunks whose runs share a value run it as a scalar operand
    (one chunk below mixes two values and keeps the array); every run still equals its own
    scalar-engine run."""
    s = surfaces.get("rosenbrock")
    rng = np.random.default_rng(7)
    k = 12
    blocks: dict[str, Any] = random_hypers(name, rng, 3)
    h: dict[str, Any] = {key: np.repeat(v, [4, 4, 4]) for key, v in blocks.items()}
    h = {key: np.concatenate([v[:6], v[5:11]]) for key, v in h.items()}  # the last chunk mixes
    starts = np.array(s.default_start) + rng.uniform(-0.3, 0.3, (k, 2))
    vec = optimizers.simulate(s, name, starts, 120, _path="vector", _chunk=4, **h)
    if optimizers.get(name).needs_normal:
        ref = optimizers.simulate(s, name, starts, 120, _path="scalar", **h)
        assert_same(vec.positions, ref.positions, name)
        return
    for j in range(k):
        one = optimizers.simulate(
            s,
            name,
            starts[j],
            120,
            **{key: float(v[j]) for key, v in h.items()},  # type: ignore[arg-type]
        )
        assert one.diverged_at[0] == vec.diverged_at[j]
        assert_same(vec.positions[:, j], one.positions[:, 0], f"{name} run {j}")

"""The maps' computations (app/sweeps.py, app/axes.py): every map cell is the run
``optimizers.simulate`` gives for that cell's settings alone; steps to tolerance, rates and
basin labels read those runs correctly; nonsense axes are refused and oversized ones clamped."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces
from app import axes, sweeps
from app.state import explore as explore_state
from app.state.maps import MapsState
from optimizers import theory

RNG = np.random.default_rng(7)


def sampled(shape: tuple[int, int], n: int = 12) -> list[tuple[int, int]]:
    """Cells to check: the four corners and random ones."""
    ny, nx = shape
    cells = [(0, 0), (0, nx - 1), (ny - 1, 0), (ny - 1, nx - 1)]
    cells += [(int(RNG.integers(ny)), int(RNG.integers(nx))) for _ in range(n)]
    return cells


def single(spec: sweeps.SweepSpec, iy: int, ix: int, record: Any = "all") -> optimizers.Trajectory:
    """The cell's run on its own (K = 1, the scalar engine): what Explore would run."""
    cell = sweeps.cell_settings(spec, iy, ix)
    s = surfaces.get(spec.surface, **dict(spec.surface_params))
    return optimizers.simulate(
        s,
        spec.optimizer,
        spec.start,
        cell["steps"],
        batch_size=cell["batch_size"],
        seed=spec.seed,
        record=record,
        **cell["hypers"],
    )


def check_cells(r: sweeps.SweepResult, cells: list[tuple[int, int]]) -> None:
    minima = sweeps.Minima.of(surfaces.get(r.spec.surface, **dict(r.spec.surface_params)))
    for iy, ix in cells:
        run = single(r.spec, iy, ix)
        div = int(run.diverged_at[0])
        assert int(r.diverged_at[iy, ix]) == div, (iy, ix)
        assert r.final_loss[iy, ix] == pytest.approx(float(run.loss[-1, 0]), rel=1e-12, abs=1e-300)
        if div < 0 and r.distance is not None:
            idx, dist = minima.nearest(run.positions[-1])
            assert int(r.nearest[iy, ix]) == int(idx[0])
            assert r.distance[iy, ix] == pytest.approx(float(dist[0]), rel=1e-12, abs=1e-300)
        if r.tol_step is not None and r.gap is not None and div < 0:
            # the map checks every tol_every-th step (and the last): the first checked step
            # whose gap is within tol, unless the run's own gap there is tol to rounding
            gaps = run.loss[:, 0] - minima.fstar
            last = len(gaps) - 1
            checked = sorted({*range(0, last + 1, r.tol_every), last})
            hits = [c for c in checked if gaps[c] <= r.spec.tol]
            want, t = (hits[0] if hits else -1), int(r.tol_step[iy, ix])
            close = [
                c for c in (t, want) if c >= 0 and abs(gaps[c] - r.spec.tol) <= 1e-9 * r.spec.tol
            ]
            assert t == want or close, (iy, ix, t, want)


def state(**kw: Any) -> MapsState:
    return dataclasses.replace(MapsState(), **kw)


@pytest.mark.parametrize(
    ("surface", "opts", "y", "kw"),
    [
        ("ravine", ("sgd", "momentum", "adam"), "beta", {}),
        ("rosenbrock", ("rmsprop", "nesterov"), "beta", {}),
        ("himmelblau", ("adam",), "beta2", {"color": "steps"}),
        ("ravine", ("momentum", "adagrad"), "steps", {"y_range": (10.0, 120.0)}),
    ],
)
def test_map_cells_equal_individual_runs(
    surface: str, opts: tuple[str, ...], y: str, kw: dict[str, Any]
) -> None:
    st = state(surface=surface, optimizers=opts, y_axis=y, grid=24, steps=120, **kw)
    specs, _ = sweeps.sweep_specs(st)
    assert [s.optimizer for s in specs] == list(opts)
    for spec in specs:
        r = sweeps.run_sweep(spec)
        assert r.calls == 1  # ONE simulate call for the whole map
        assert r.final_loss.shape == (len(r.ys), len(r.xs))
        check_cells(r, sampled(r.final_loss.shape))


def test_a_batch_size_axis_is_one_call_per_batch_size_and_matches_single_runs() -> None:
    st = state(surface="linear_regression", optimizers=("sgd",), y_axis="batch_size", grid=16,
               steps=60, x_range=(1e-4, 0.05))  # fmt: skip
    (spec,), _ = sweeps.sweep_specs(st)
    r = sweeps.run_sweep(spec)
    assert r.ys.tolist() == [1.0, 2.0, 3.0, 4.0]  # N = 4: every batch size once
    assert r.calls == 4
    full = [(3, ix) for ix in range(0, 16, 5)]  # the full batch: deterministic, equal to a run
    check_cells(r, full)
    # mini-batch cells are runs with their own batches: lane ix of a call with K = nx runs
    s = surfaces.get("linear_regression")
    cell = sweeps.cell_settings(spec, 0, 7)
    lane = optimizers.simulate(
        s, "sgd", np.tile(spec.start, (16, 1)), 60, batch_size=1, seed=0, record="final",
        lr=r.xs,
    )  # fmt: skip
    assert cell["batch_size"] == 1
    assert r.final_loss[0, 7] == pytest.approx(float(lane.loss[-1, 7]), rel=1e-12)


def test_an_optimizer_without_the_axis_is_flat_along_it() -> None:
    specs, notes = sweeps.sweep_specs(state(optimizers=("sgd", "momentum"), grid=16, steps=50))
    assert any("Gradient descent (SGD) has no β" in n for n in notes)
    gd = sweeps.run_sweep(specs[0])
    assert gd.flat == (False, True)
    assert specs[0].lanes() == 16  # only the lr axis is run
    assert (gd.final_loss == gd.final_loss[0]).all()
    mom = sweeps.run_sweep(specs[1])
    assert mom.flat == (False, False)
    assert not (mom.final_loss == mom.final_loss[0]).all()


def test_steps_to_tolerance_are_exact_when_every_step_is_checked() -> None:
    st = state(optimizers=("momentum",), grid=8, steps=100, color="steps", tol=1e-6)
    (spec,), _ = sweeps.sweep_specs(st)
    assert spec.reach
    assert not spec.detail
    r = sweeps.run_sweep(spec)
    assert r.stride == 0  # only the final state is recorded: the engine checks as it runs
    assert r.tol_every == 1  # 64 runs x 100 steps are cheap: every step
    check_cells(r, sampled(r.final_loss.shape, 20))
    assert r.tol_step is not None
    assert bool((r.tol_step >= 0).any())
    assert bool((r.tol_step == -1).any())


def test_steps_to_tolerance_on_a_large_map_are_checked_every_few_steps() -> None:
    """48 x 48 runs of 2,000 steps: checked every 3rd step (the 2,000th too), each cell the
    first checked step of its own run within tolerance."""
    st = state(optimizers=("adam",), grid=48, steps=2000, color="steps", tol=1e-4)
    (spec,), _ = sweeps.sweep_specs(st)
    r = sweeps.run_sweep(spec)
    assert r.tol_every == sweeps.check_every(48 * 48, 2000) == 3
    assert r.tol_step is not None
    assert bool((r.tol_step > 0).any())
    assert bool(((r.tol_step % 3 == 0) | (r.tol_step == 2000) | (r.tol_step == -1)).all())
    check_cells(r, sampled(r.final_loss.shape, 12))


def test_the_checks_stay_cheap() -> None:
    assert sweeps.check_every(65536, 500) == math.ceil(500 / (sweeps.CHEAP_RUN_CHECKS // 65536))
    assert sweeps.check_every(16384, 200) == 2
    assert sweeps.check_every(64, 100) == 1
    assert sweeps.check_every(10**7, 500) == math.ceil(500 / sweeps.REACH_CHECKS)


def test_the_stride_keeps_the_recorded_states_within_the_budget() -> None:
    assert sweeps.record_stride(65536, 500) >= math.ceil(
        500 / (sweeps.RECORD_BUDGET // (65536 * sweeps.BYTES_PER_STATE))
    )
    assert sweeps.record_stride(100, 200) == 1  # cheap: every state
    assert sweeps.record_stride(16384, 200) == math.ceil(200 / sweeps.DETAIL_STATES)
    assert sweeps.record_stride(1, 10) == 1


def test_measured_rates_on_a_quadratic_follow_the_theory() -> None:
    st = state(view="theory", surface="ravine", surface_params={"kappa": 25.0}, grid=48)
    spec, th, _ = sweeps.theory_spec(st)
    assert spec is not None
    assert th is not None
    r = sweeps.run_sweep(spec.sweep)
    assert r.rate is not None
    rate = r.rate
    theo = theory.rate_on_spectrum(r.xs[None, :], r.ys[:, None], th.curvature.eigenvalues)
    ok = np.isfinite(rate) & (r.diverged_at < 0) & (theo < 0.999)
    rel = np.abs(rate[ok] - theo[ok]) / theo[ok]
    assert ok.sum() > 500
    assert np.median(rel) < 1e-3
    assert (rel < 0.01).mean() > 0.98  # the rest sit at critical damping (t ρᵗ, not ρᵗ)
    # where the theory says it diverges, the runs did not converge
    unstable = theo > 1.01
    assert ((r.diverged_at >= 0) | (rate > 0.999) | ~np.isfinite(rate))[unstable].all()


def test_basin_labels_are_the_minimum_each_run_ends_nearest_to() -> None:
    """Each start's label is the minimum its own run (alone, on the scalar engine) ends within
    reach of, and its shading the checked step from which that run stayed within reach."""
    hyper = {"sgd": {"lr": 0.01}, "adam": {"lr": 0.1}, "momentum": {"lr": 0.01}}
    st = state(view="basin", surface="himmelblau", optimizers=("sgd", "adam", "momentum"),
               basin_grid=32, steps=150, hyper=hyper)  # fmt: skip
    specs, _ = sweeps.basin_specs(st)
    s = surfaces.get("himmelblau")
    minima = np.array([p.xy for p in s.minima])
    for spec in specs:
        r = sweeps.run_basin(spec)
        assert r.label.shape == (32, 32)
        assert set(np.unique(r.label)) <= {-2, -1, 0, 1, 2, 3}
        checked = sorted({*range(0, spec.steps + 1, r.stride), spec.steps})
        for iy, ix in sampled((32, 32), 25):
            start = (float(r.xs[ix]), float(r.ys[iy]))
            run = optimizers.simulate(s, spec.optimizer, start, spec.steps,
                                      **dict(spec.hypers))  # fmt: skip
            lab = int(r.label[iy, ix])
            if run.diverged_at[0] >= 0:
                assert lab == sweeps.DIVERGED
                continue
            d = np.hypot(*(minima[None] - run.positions[checked, 0][:, None]).transpose(2, 0, 1))
            near = np.where(d.min(axis=1) <= r.radius, d.argmin(axis=1), -1)  # per check
            if near[-1] < 0:
                assert lab == sweeps.NO_MINIMUM
                assert int(r.arrived[iy, ix]) == -1
                continue
            assert lab == near[-1]
            stay = len(near) - 1
            while stay > 0 and near[stay - 1] == lab:
                stay -= 1
            assert int(r.arrived[iy, ix]) == checked[stay]
        assert set(np.unique(r.label)) >= {0, 1, 2, 3}  # all four valleys are reached
    assert (r.arrived > 0).any()


def test_zoom_stays_inside_the_surface_and_is_finer() -> None:
    s = surfaces.get("himmelblau")
    box = sweeps.zoom_box((-5.0, 5.0, -5.0, 5.0), (4.9, -4.9), s.box)
    assert box == pytest.approx((3.65, 6.15, -6.15, -3.65))  # 4x finer, centred on the click
    corner = sweeps.zoom_box((-50.0, 50.0, -50.0, 50.0), (49.0, 49.0), s.box)
    assert corner[1] <= 50.0
    assert corner[3] <= 50.0
    assert corner[1] - corner[0] == pytest.approx(25.0)


def test_a_cells_race_on_explore_is_that_cells_run() -> None:
    st = state(surface="rosenbrock", optimizers=("adam",), grid=8, steps=80)
    (spec,), _ = sweeps.sweep_specs(st)
    r = sweeps.run_sweep(spec)
    race = sweeps.sweep_cell_state(spec, 5, 3)
    assert race.optimizers == ("adam",)
    assert race.hyper["adam"]["lr"] == float(r.xs[3])
    assert race.hyper["adam"]["beta1"] == float(r.ys[5])
    query = explore_state.encode(race)
    back, warnings = explore_state.decode(query)
    assert warnings == []
    assert back == race  # the link carries the exact values
    hyper: dict[str, Any] = dict(back.hyper["adam"])
    run = optimizers.simulate(surfaces.get(back.surface), "adam", back.start, back.steps, **hyper)
    assert float(run.loss[-1, 0]) == pytest.approx(float(r.final_loss[5, 3]), rel=1e-12)


def test_nonsense_axes_are_refused_clearly() -> None:
    with pytest.raises(axes.AxisError, match="both axes are learning rate"):
        axes.check_axes("lr", "lr", ["sgd"])
    with pytest.raises(axes.AxisError, match="nesterov is an on/off switch"):
        axes.check_axes("lr", "nesterov", ["sgd"])
    with pytest.raises(axes.AxisError, match="same hyperparameter of Momentum"):
        axes.check_axes("beta", "momentum", ["momentum"])
    with pytest.raises(axes.AxisError, match="none of the chosen optimizers"):
        axes.check_axes("lr", "beta2", ["sgd", "momentum"])
    with pytest.raises(axes.AxisError, match="not a hyperparameter"):
        axes.check_axes("lr", "banana", ["sgd"])
    with pytest.raises(axes.AxisError, match="one sample"):
        axes.check_axes("lr", "batch_size", ["sgd"], n_samples=1)
    with pytest.raises(axes.AxisError):
        sweeps.sweep_specs(state(x_axis="amsgrad"))


def test_grids_and_ranges_beyond_the_caps_are_clamped_with_a_note() -> None:
    assert axes.clamp_cells(1000, 256) == (
        256,
        "a grid of 1000 cells per axis is outside 8 … 256; using 256",
    )
    assert axes.clamp_cells(2, 256)[0] == 8
    assert axes.clamp_cells(64, 256) == (64, None)
    lr = axes.info("lr", ["sgd"])
    (lo, hi), note = lr.clamp(1e-30, 1e5)
    assert (lo, hi) == (lr.low, 10.0)
    assert note is not None
    assert "clamped" in note
    _, empty = lr.clamp(20.0, 30.0)
    assert empty is not None
    assert "empty" in empty
    specs, notes = sweeps.sweep_specs(state(grid=999, x_range=(1e-30, 100.0)))
    assert specs[0].x.n == 256
    assert specs[0].x.hi == 10.0
    assert any("clamped" in n for n in notes)
    assert any("outside 8 … 256" in n for n in notes)
    bspecs, bnotes = sweeps.basin_specs(state(basin_grid=4096))
    assert bspecs[0].n == 512
    assert bnotes


def test_a_map_where_every_run_diverges_says_so_in_its_numbers() -> None:
    st = state(optimizers=("momentum",), grid=8, steps=100, x_range=(0.5, 10.0))
    (spec,), _ = sweeps.sweep_specs(st)
    r = sweeps.run_sweep(spec)
    assert r.diverged_fraction == 1.0
    assert (r.diverged_at > 0).all()


def test_the_default_learning_rate_range_ends_past_momentums_edge() -> None:
    for name in ("ravine", "quadratic_bowl", "rosenbrock", "himmelblau"):
        s = surfaces.get(name)
        lam = sweeps.lam_max_of(s, s.default_start)
        assert lam is not None
        lo, hi = axes.info("lr", ["momentum"], lam_max=lam).default
        assert lo < 2 / lam < hi
        assert (2 + 2 * 0.99) / lam <= hi
        assert hi / lo == pytest.approx(1e4)


def test_exports_hold_every_cell() -> None:
    st = state(optimizers=("sgd", "momentum"), grid=8, steps=30)
    specs, _ = sweeps.sweep_specs(st)
    res = [sweeps.run_sweep(s) for s in specs]
    rows = sweeps.sweep_csv(res).strip().splitlines()
    assert len(rows) == 1 + 2 * 64
    head = rows[0].split(",")
    first = dict(zip(head, rows[1].split(","), strict=True))
    assert first["optimizer"] == "sgd"
    assert float(first["x"]) == res[0].xs[0]
    assert float(first["final_loss"]) == res[0].final_loss[0, 0]
    bs, _ = sweeps.basin_specs(state(view="basin", surface="himmelblau", basin_grid=8,
                                     optimizers=("sgd",)))  # fmt: skip
    b = sweeps.run_basin(bs[0])
    brows = sweeps.basin_csv([b], surfaces.get("himmelblau").minima).strip().splitlines()
    assert len(brows) == 1 + 64
    rs, _ = sweeps.range_specs(state(view="range", optimizers=("sgd",), range_steps=50))
    rr = sweeps.run_range(rs[0])
    assert len(sweeps.range_csv([rr]).strip().splitlines()) == 51


def test_range_test_is_one_run_with_a_growing_learning_rate() -> None:
    rs, notes = sweeps.range_specs(state(view="range", optimizers=("sgd", "adam"),
                                         range_min=1.0, range_max=1e-3))  # fmt: skip
    assert notes  # swapped
    assert rs[0].lr_min == 1e-3
    for spec in rs:
        r = sweeps.run_range(spec)
        assert r.lrs[0] == pytest.approx(spec.lr_min)
        assert r.lrs[-1] == pytest.approx(spec.lr_max)
        s = surfaces.get(spec.surface)
        base, sched = sweeps.lr_range.schedule(spec.lr_min, spec.lr_max, spec.steps)
        run = optimizers.simulate(s, spec.optimizer, spec.start, spec.steps, schedule=sched,
                                  lr=base, **dict(spec.hypers))  # fmt: skip
        n = r.diverged_at - 1 if r.diverged_at >= 1 else spec.steps
        np.testing.assert_array_equal(r.loss[:n], run.loss[1 : n + 1, 0])

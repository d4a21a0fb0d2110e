"""Lessons: every preset is a valid state, runs through the core, and its claim holds in numbers.

The runs are built exactly as the page builds them: ``presets.run_variants`` for the runs,
``app.compute.effective_hypers`` for each optimizer's hyperparameters and ``app.compute.starts``
for the start points (swarms included).
"""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces
from app import presets
from app.presets import PRESETS, Preset, Variant, run_variants
from app.state import explore as urlstate
from app.state.explore import ExploreState

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from app import compute


def simulate(p: Preset, trace: bool = False) -> dict[str, optimizers.Trajectory]:
    s = p.state
    surf = surfaces.get(s.surface, **s.surface_params)
    starts = compute.starts(s, surf)
    out = {}
    for v in run_variants(s):
        hypers: dict[str, Any] = {**compute.effective_hypers(s, v.optimizer), **v.overrides}
        out[v.label] = optimizers.simulate(
            surf,
            v.optimizer,
            starts,
            s.steps,
            batch_size=v.batch_size,
            seed=s.seed,
            trace=trace,
            **hypers,
        )
    return out


def first_step_below(traj: optimizers.Trajectory, level: float, k: int = 0) -> int:
    idx = np.flatnonzero(traj.loss[:, k] <= level)
    return int(traj.steps[idx[0]]) if idx.size else 10**9


# ---------------------------------------------------------------- every preset


def test_enough_distinct_lessons() -> None:
    assert len(PRESETS) >= 8
    assert len({p.key for p in PRESETS}) == len(PRESETS)
    assert len({p.title for p in PRESETS}) == len(PRESETS)


@pytest.mark.parametrize("p", PRESETS, ids=lambda p: p.key)
def test_preset_is_a_complete_valid_state(p: Preset) -> None:
    s = p.state
    assert decode_roundtrip(s)
    assert s.optimizers
    assert s.start is not None
    assert s.steps > 0
    assert not s.shared_lr
    assert s.beta is None
    assert s.rho is None
    assert s.beta2 is None
    assert s.schedule == "constant"
    # the lesson text: two or three sentences
    sentences = [x for x in p.watch.replace("…", ".").split(". ") if x.strip()]
    assert 2 <= len(sentences) <= 4, p.watch


def decode_roundtrip(s: ExploreState) -> bool:
    return urlstate.decode(urlstate.encode(s)) == (s, [])


@pytest.mark.parametrize("p", PRESETS, ids=lambda p: p.key)
def test_preset_runs_through_the_core(p: Preset) -> None:
    runs = simulate(p, trace=p.state.swarm <= 8)  # the core traces at most 8 starts
    assert list(runs) == [v.label for v in run_variants(p.state)]
    for traj in runs.values():
        assert traj.positions.shape[0] == p.state.steps + 1
        assert np.isfinite(traj.positions).all()
        assert np.isfinite(traj.loss).all()


# ---------------------------------------------------------------- variants


def test_variants_without_comparison_are_one_per_optimizer() -> None:
    s = ExploreState(optimizers=("sgd", "adam"), batch_size=2)
    assert run_variants(s) == [Variant("sgd", "sgd", {}, 2), Variant("adam", "adam", {}, 2)]


def test_variants_cross_learning_rates_and_batch_sizes() -> None:
    s = ExploreState(optimizers=("sgd",), compare_lrs=(0.1, 0.5), compare_batch_sizes=(1, 4))
    got = [(v.label, v.overrides, v.batch_size) for v in run_variants(s)]
    assert got == [
        ("sgd@lr=0.1,B=1", {"lr": 0.1}, 1),
        ("sgd@lr=0.1,B=4", {"lr": 0.1}, 4),
        ("sgd@lr=0.5,B=1", {"lr": 0.5}, 1),
        ("sgd@lr=0.5,B=4", {"lr": 0.5}, 4),
    ]
    assert {presets.label_optimizer(v.label) for v in run_variants(s)} == {"sgd"}


# ---------------------------------------------------------------- the claims, as a viewer sees them
#
# Each lesson's "what to watch" is checked on the chart's own terms: distances in plotted units
# (fractions of the plot's span), a zig-zag as sign changes of the coordinate across the valley,
# noise as the spread of the end points over random seeds, "reached" as the results table says
# it (compute.outcome: within tolerance from that step on).


def span(p: Preset) -> float:
    (x0, x1), (y0, y1) = surfaces.get(p.state.surface, **p.state.surface_params).bounds
    return max(x1 - x0, y1 - y0)


def reached(p: Preset, traj: optimizers.Trajectory) -> int | None:
    o = compute.outcome(surfaces.get(p.state.surface, **p.state.surface_params), traj, 0)
    return o.step if o.kind == "reached" else None


def test_ravine_momentum_glides_where_gd_zigzags() -> None:
    p = presets.BY_KEY["ravine"]
    runs = simulate(p)
    gd, mom = runs["sgd"], runs["momentum"]
    # GD crosses the valley floor (y = 0 on the unrotated ravine) on each of its first ten
    # steps, each time visibly (more than 1 % of the plot away from the floor)
    y = gd.positions[:10, 0, 1]
    assert np.all(np.sign(y[1:]) == -np.sign(y[:-1]))
    assert np.all(np.abs(y) > 0.01 * span(p))
    t_gd, t_mom = reached(p, gd), reached(p, mom)
    assert t_gd is not None
    assert t_mom is not None
    assert t_mom < 0.5 * t_gd, (t_gd, t_mom)


def test_saddle_adam_escapes_first_gd_lingers() -> None:
    runs = simulate(presets.BY_KEY["saddle"])
    saddle_x = math.pi / 2

    def escape(traj: optimizers.Trajectory) -> int:  # a unit away: 8 % of the plot
        far = np.flatnonzero(np.abs(traj.positions[:, 0, 0] - saddle_x) > 1.0)
        return int(far[0]) if far.size else 10**9

    e_gd, e_mom, e_adam = (escape(runs[n]) for n in ("sgd", "momentum", "adam"))
    assert e_adam < e_mom < e_gd <= 150, (e_adam, e_mom, e_gd)
    assert e_gd > 100
    assert 30 < e_mom < 60
    assert e_adam < 20
    # at step 60 gradient descent still sits on the saddle
    assert abs(runs["sgd"].positions[60, 0, 0] - saddle_x) < 0.05


def test_learning_rate_too_large_diverges_too_small_crawls() -> None:
    p = presets.BY_KEY["learning_rate"]
    runs = simulate(p)
    big, small, good = runs["sgd@lr=1.05"], runs["sgd@lr=0.005"], runs["sgd@lr=0.3"]
    assert big.diverged_at[0] > 0
    assert small.diverged_at[0] == -1
    path = small.positions[:, 0]
    covered = 1 - np.linalg.norm(path[-1]) / np.linalg.norm(path[0])
    assert 0.55 < covered < 0.72, covered  # "only about two thirds of the way"
    t = reached(p, good)
    assert t is not None
    assert t <= 6  # "within a few steps"
    assert np.linalg.norm(good.positions[5, 0]) < 0.01 * span(p)


def test_adagrad_stalls_on_the_wall_where_rmsprop_reaches_the_bottom() -> None:
    p = presets.BY_KEY["adagrad_rmsprop"]
    runs = simulate(p, trace=True)
    ada, rms = runs["adagrad"], runs["rmsprop"]
    # the same first step (up to their different eps: 1e-10 versus 1e-8)
    np.testing.assert_allclose(ada.positions[1], rms.positions[1], rtol=1e-8)
    e_ada = ada.trace["effective_lr"][:, 0, :]  # (T, 2)
    e_rms = rms.trace["effective_lr"][:, 0, :]
    assert np.all(np.diff(e_ada, axis=0) <= 1e-15)  # Adagrad's rate never grows
    assert np.all(e_ada[-1] < 0.1 * e_ada[0])
    assert np.all(e_rms[-50:] > 0.2 * e_rms[0])  # RMSprop keeps its stride
    # on the chart: the two ends are far apart; RMSprop is at the bottom, Adagrad on the wall
    end_ada, end_rms = ada.positions[-1, 0], rms.positions[-1, 0]
    assert np.linalg.norm(end_ada - end_rms) > 0.3 * span(p)
    assert reached(p, rms) is not None
    assert reached(p, ada) is None
    assert abs(end_ada[1]) > 0.25 * span(p)  # still high on the wall (the floor is y = 0)


def test_batch_size_noise_is_spread_across_seeds() -> None:
    p = presets.BY_KEY["batch_size"]
    n = surfaces.get(p.state.surface).n_samples
    assert p.state.compare_batch_sizes[-1] == n  # the last run is the full batch
    runs = simulate(p)
    full = runs[f"sgd@B={n}"]
    assert np.all(np.diff(full.loss[:, 0]) <= 0)  # the full batch only goes downhill
    for b in (1, 2):
        assert np.any(np.diff(runs[f"sgd@B={b}"].loss[:, 0]) > 0), b  # a step can go uphill
    spreads = []
    for b in p.state.compare_batch_sizes:
        ends = np.array(
            [
                simulate(presets.Preset(p.key, p.title, p.watch, replace(p.state, seed=seed)))[
                    f"sgd@B={b}"
                ].positions[-1, 0]
                for seed in range(6)
            ]
        )
        spreads.append(float(np.linalg.norm(ends - ends.mean(0), axis=1).max()) / span(p))
    assert spreads[0] > 0.05, spreads  # one point per step: the seeds end visibly apart
    assert spreads == sorted(spreads, reverse=True), spreads  # less noise with larger batches
    assert spreads[-1] < 1e-12  # the full batch: one path whatever the seed
    # the noise does not fade at the minimum: one-point steps stay visible to the end
    last = np.diff(runs["sgd@B=1"].positions[-20:, 0], axis=0)
    assert float(np.linalg.norm(last, axis=1).mean()) > 0.005 * span(p)


def test_many_minima_swarm_splits() -> None:
    p = presets.BY_KEY["many_minima"]
    surf = surfaces.get(p.state.surface)
    final = simulate(p)["sgd"].positions[-1]  # (K, 2)
    mins = np.array([m.xy for m in surf.minima])
    dist = np.linalg.norm(final[:, None, :] - mins[None], axis=-1)  # (K, M)
    assert dist.min(axis=1).max() < 1e-3  # every start ends in a minimum
    assert len(set(dist.argmin(axis=1).tolist())) == 4  # "between all four minima"


def test_lesson_regression_numbers() -> None:
    p = presets.BY_KEY["lesson_regression"]
    runs = simulate(p, trace=True)
    gd, sgd1 = runs["sgd@B=4"], runs["sgd@B=1"]
    np.testing.assert_allclose(gd.trace["grad"][0, 0], [-30.0, -10.0], rtol=1e-12)
    np.testing.assert_allclose(gd.positions[1, 0], [0.3, 0.1], rtol=1e-12)
    np.testing.assert_allclose(gd.positions[10, 0], [1.5104, 0.4936], atol=5e-5)
    np.testing.assert_allclose(gd.positions[100, 0], [1.8463, 0.4518], atol=5e-5)
    assert np.any(np.diff(sgd1.loss[:, 0]) > 0)
    # a noisier route: visibly off the full-batch path at the same step
    apart = np.linalg.norm(sgd1.positions[:, 0] - gd.positions[:, 0], axis=1).max()
    assert apart > 0.02 * span(p)


def test_adam_default_lr_is_far_from_three() -> None:
    p = presets.BY_KEY["adam_default_lr"]
    runs = simulate(p)
    np.testing.assert_allclose(runs["sgd"].positions[-1, 0], 2.9999999993888893, rtol=1e-12)
    np.testing.assert_allclose(runs["adam"].positions[-1, 0], 0.93755, atol=1e-4)
    assert np.linalg.norm(runs["adam"].positions[-1, 0] - 3.0) > 0.25 * span(p)


def test_nesterov_settles_where_momentum_circles() -> None:
    p = presets.BY_KEY["nesterov"]
    runs = simulate(p)
    mom, nag = runs["momentum"], runs["nesterov"]

    def overshoot(traj: optimizers.Trajectory) -> float:
        x = traj.positions[:, 0, 0]
        first = int(np.flatnonzero(np.diff(np.sign(x)) != 0)[0])
        return float(np.abs(x[first + 1 :]).max())

    assert 2.5 < overshoot(mom) < 3.0  # "almost three units"
    assert overshoot(nag) < 0.7 * overshoot(mom)
    r40 = [float(np.linalg.norm(r.positions[40, 0])) for r in (mom, nag)]
    assert r40[1] < 0.05 * r40[0], r40
    assert r40[0] > 0.05 * span(p)  # momentum is visibly away from the centre at step 40
    # the results table agrees: Nesterov reached tolerance; momentum swung through it
    t_nag = reached(p, nag)
    assert t_nag is not None
    assert reached(p, mom) is None


# ---------------------------------------------------------------- the lesson buttons (AppTest)


def test_typed_kink_gd_hops_across_it_adam_settles() -> None:
    p = presets.BY_KEY["typed_kink"]
    surf = surfaces.get(p.state.surface, **p.state.surface_params)
    fb = surfaces.formula_feedback(str(p.state.surface_params["formula"]))
    assert fb.ok
    assert any("abs(x) has a kink" in w for w in fb.warnings)  # the field's warning
    assert surf.minima == ()  # the search finds nothing at a kink ("None found")
    runs = simulate(p)
    gd, adam = runs["sgd"].positions[:, 0], runs["adam"].positions[:, 0]
    # equal steps of 0.1 along x: x = 0.05 at step 20, then -0.05, 0.05, ... for good
    np.testing.assert_allclose(gd[20, 0], 0.05, atol=1e-12)
    np.testing.assert_allclose(np.abs(gd[20:, 0]), 0.05, atol=1e-12)
    assert (np.sign(gd[20:-1, 0]) != np.sign(gd[21:, 0])).all()
    assert np.abs(gd[-50:, 1]).max() < 1e-8  # y, whose slope shrinks, settles at 0
    assert np.hypot(*adam[-1]) < 0.02  # Adam ends within 0.02 of the minimum
    assert np.abs(adam[-50:, 0]).max() < 0.05  # its hops are smaller than GD's


def _lesson_script() -> None:
    import streamlit as st

    from app import presets as lessons
    from app.state.explore import ExploreState
    from app.state.keys import EXPLORE
    from app.ui.lessons_panel import lesson_buttons, lesson_note_ui, take_pending_lesson
    from app.ui.share import share_ui

    chosen = take_pending_lesson(EXPLORE)  # what the page does at the top of its run
    lesson_buttons(EXPLORE, lessons.course("explore"))
    if chosen is not None:
        st.session_state["loaded"] = chosen.state
        st.session_state[EXPLORE("lesson")] = chosen.key
    lesson_note_ui(EXPLORE)
    share_ui(st.session_state.get("loaded", ExploreState()))


def test_a_lesson_button_chooses_its_lesson_and_shows_what_to_watch() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_lesson_script, default_timeout=60)
    at.run()
    assert not at.exception
    assert len([b for b in at.button if (b.key or "").startswith("explore.lesson_")]) == len(
        PRESETS
    )
    p = presets.BY_KEY["adam_default_lr"]
    at.button(key="explore.lesson_adam_default_lr").click().run()
    assert not at.exception
    assert at.session_state["loaded"] == p.state
    assert at.session_state["explore.lessons_open"] is False  # the popover closes
    assert any(html.escape(p.watch) in m.value for m in at.markdown)
    link = at.code[0].value
    assert "opt=sgd,adam" in link
    assert "quadratic_bowl.cx=3.0" in link
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
    assert urlstate.decode(query) == (p.state, [])
    at.button(key="explore.lesson_note_hide").click().run()
    assert not at.exception
    assert not any("op-note" in m.value for m in at.markdown)


# ---------------------------------------------------------------- each lesson on the real page

PAGE = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "app" / "main.py")


def normalized(s: ExploreState) -> ExploreState:
    """Defaults made explicit: the start and every hyperparameter of the chosen optimizers."""
    import dataclasses

    surf = surfaces.get(s.surface, **s.surface_params)
    hyper = {o: {**optimizers.get(o).defaults(), **s.hyper.get(o, {})} for o in s.optimizers}
    for o in hyper:
        hyper[o].pop("convention", None)  # driven by ExploreState.momentum_convention
    return dataclasses.replace(
        s,
        start=s.start or (float(surf.default_start[0]), float(surf.default_start[1])),
        hyper=hyper,
        surface_params=dict(surf.params),
    )


@pytest.mark.parametrize("p", PRESETS, ids=lambda p: p.key)
def test_lesson_link_opens_the_page_with_exactly_that_lesson(p: Preset) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120)
    lesson = presets.with_note(p)  # the lesson's link names it, so its note opens with it
    for key, value in urlstate.encode(lesson).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [w.value for w in at.warning if "Ignored" in w.value]
    assert any(html.escape(p.watch) in m.value for m in at.markdown)
    page_state, warnings = urlstate.decode({k: at.query_params[k] for k in at.query_params})
    assert warnings == []
    assert normalized(page_state) == normalized(lesson)


@pytest.mark.parametrize("key", ["learning_rate", "lesson_regression", "typed_kink"])
def test_lesson_button_on_the_real_page(key: str) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception
    assert not [
        b for b in at.button if b.key and b.key.startswith("explore.lesson_")
    ]  # popover closed
    at.session_state["explore.lessons_open"] = True  # what opening the Lessons popover does
    at.run()
    at.button(key=f"explore.lesson_{key}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    p = presets.BY_KEY[key]
    assert any(html.escape(p.watch) in m.value for m in at.markdown)
    page_state, warnings = urlstate.decode({k: at.query_params[k] for k in at.query_params})
    assert warnings == []
    assert normalized(page_state) == normalized(presets.with_note(p))

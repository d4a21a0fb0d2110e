"""The Maps page (AppTest): every view draws its maps without a traceback, error or warning;
every Maps lesson opens from the catalogue and from the page's own Lessons popover with its
note; a click on a cell opens that run's race on Explore; bad links are clamped or refused
with a message; the figures stay small. And each Maps lesson's claim holds in the numbers."""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import surfaces
from app import presets, routes, sweeps
from app.figures import maps as map_figs
from app.figures.layout import Style
from app.presets import MAP_PRESETS, Preset
from app.state import explore as explore_state
from app.state.maps import CODEC, MapsState, decode
from surfaces import curvature

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
TIMEOUT = 180
PAYLOAD_LIMIT = 1.5 * 2**20  # bytes of one figure


def maps(query: dict[str, str] | None = None, at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for k in list(at.query_params):
        del at.query_params[k]
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(routes.script("maps"))
    return at.run()


def clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]


def texts(elements: Any) -> str:
    return " ".join(str(e.value) for e in elements)


def figures(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def page_state(at: AppTest) -> MapsState:
    state, warnings = decode({k: at.query_params[k] for k in at.query_params})
    assert warnings == []
    return state


@pytest.mark.parametrize("view", ["sweep", "basin", "theory", "range"])
def test_every_view_draws_its_maps(view: str) -> None:
    at = maps({"view": view, "grid": "32", "bgrid": "48"})
    clean(at)
    figs = figures(at)
    assert figs, "no chart"
    main = figs[0] if view != "theory" else figs[2]  # the theory's measured map is third
    assert len(json.dumps(main)) < PAYLOAD_LIMIT
    if view in ("sweep", "basin"):
        assert len(main["layout"]["images"]) == 3  # one picture per optimizer, side by side
        hover = [t for t in main["data"] if str(t.get("name", "")).startswith("hover:")]
        assert hover
        assert all(t["x"]["dtype"] == "f4" and "bdata" in t["x"] for t in hover)
        assert any(a["text"].startswith("<b>Momentum") for a in main["layout"]["annotations"])
    assert at.download_button, "no CSV export"
    assert page_state(at).view == view


def test_the_sweep_map_shows_the_stability_edges_and_says_what_it_shows() -> None:
    at = maps({"grid": "32"})
    clean(at)
    fig = figures(at)[0]
    names = [t.get("name", "") for t in fig["data"]]
    assert any(n.startswith("GD's edge 2/λmax = 0.08") for n in names)  # ravine: λmax = 25
    assert any(n.startswith("momentum's edge (2+2β)/λmax") for n in names)
    shown = texts(at.caption) + texts(at.info)
    assert "click a cell to open that race on Explore" in shown
    assert "Gradient descent (SGD) has no β" in shown
    local = maps({"surface": "himmelblau", "grid": "32"})
    assert any("(local)" in t.get("name", "") for t in figures(local)[0]["data"])


def test_a_click_on_a_cell_opens_that_race_on_explore() -> None:
    at = maps({"grid": "16", "opt": "sgd,adam"})
    clean(at)
    fig = figures(at)[0]
    names = [t.get("name") for t in fig["data"]]
    curve = next(i for i, n in enumerate(names) if n and n.startswith("hover:1:"))
    specs, _ = sweeps.sweep_specs(page_state(at))
    xs, ys = specs[1].x.values(), specs[1].y.values()
    point = {"curve_number": curve, "point_index": 0, "x": float(xs[5]), "y": float(ys[9])}
    at.session_state["maps.map"] = {
        "selection": {"points": [point], "point_indices": [0], "box": [], "lasso": []}
    }
    at.run()
    assert not at.exception
    state, warnings = explore_state.decode({k: at.query_params[k] for k in at.query_params})
    assert warnings == []
    expected = sweeps.sweep_cell_state(specs[1], 9, 5)
    default = surfaces.get(expected.surface).default_start
    assert dataclasses.replace(state, start=state.start or default) == expected
    assert state.hyper["adam"]["lr"] == float(xs[5])
    assert state.hyper["adam"]["beta1"] == float(ys[9])
    assert any(t.get("name") == "heads" for t in figures(at)[0]["data"]), "not on Explore"


def test_a_click_on_the_basin_map_zooms_in_when_asked() -> None:
    at = maps({"view": "basin", "surface": "himmelblau", "bgrid": "24", "click": "zoom"})
    clean(at)
    fig = figures(at)[0]
    curve = next(i for i, t in enumerate(fig["data"]) if str(t.get("name")).startswith("hover:"))
    at.session_state["maps.map"] = {
        "selection": {"points": [{"curve_number": curve, "point_index": 0, "x": 3.0, "y": 2.0}],
                      "point_indices": [0], "box": [], "lasso": []}
    }  # fmt: skip
    at.run()
    clean(at)
    state = page_state(at)
    assert state.box == pytest.approx((1.75, 4.25, 0.75, 3.25))
    assert "Zoomed" in texts(at.caption)
    at.button(key="maps.reset_zoom").click().run()
    assert page_state(at).box is None


def test_a_click_on_the_basin_map_opens_that_starts_race_on_explore() -> None:
    """The default click on a basin map: that start's race on Explore, exactly the run the
    map coloured (the same optimizer, settings, start and steps), ending in the minimum of
    its colour."""
    at = maps({"view": "basin", "surface": "himmelblau", "bgrid": "24", "opt": "sgd,adam"})
    clean(at)
    fig = figures(at)[0]
    curve = next(i for i, t in enumerate(fig["data"]) if str(t.get("name")).startswith("hover:1"))
    specs, _ = sweeps.basin_specs(page_state(at))
    xs, ys = specs[1].centres()
    point = {"curve_number": curve, "point_index": 0, "x": float(xs[17]), "y": float(ys[5])}
    at.session_state["maps.map"] = {
        "selection": {"points": [point], "point_indices": [0], "box": [], "lasso": []}
    }
    at.run()
    assert not at.exception
    state, warnings = explore_state.decode({k: at.query_params[k] for k in at.query_params})
    assert warnings == []
    assert state == sweeps.basin_cell_state(specs[1], 5, 17)
    assert state.optimizers == ("adam",)
    assert state.start == (float(xs[17]), float(ys[5]))
    assert any(t.get("name") == "heads" for t in figures(at)[0]["data"]), "not on Explore"
    res = sweeps.run_basin(specs[1])
    minima = sweeps.Minima.of(surfaces.get("himmelblau"))
    run = explore_state_race(state)
    end = run.params[-1, 0]
    assert minima.nearest(end)[0] == res.label[5, 17]


def explore_state_race(state: explore_state.ExploreState) -> Any:
    from app import compute

    return compute.race(state).runs["adam"]


def test_a_basin_map_whose_runs_all_diverge_says_so() -> None:
    at = maps({"view": "basin", "surface": "himmelblau", "bgrid": "16", "opt": "sgd",
               "sgd.lr": "5"})  # fmt: skip
    assert not at.exception
    assert "Every run diverged from every start" in texts(at.warning)


def test_bad_links_are_clamped_or_refused_with_a_message() -> None:
    at = maps({"grid": "1000", "x": "nesterov", "xr": "1e-30,1e9", "bgrid": "9999"})
    assert not at.exception
    warned = texts(at.warning)
    assert "outside 8 … 256; using 256" in warned
    assert "nesterov is an on/off switch" in warned
    assert "was clamped to" in warned
    assert "outside 8 … 512; using 512" in warned
    assert figures(at), "the page still draws its map"
    same = maps({"x": "beta", "y": "beta"})
    assert not same.exception
    assert "a map needs two different hyperparameters" in texts(same.warning)
    junk = maps({"view": "<script>", "color": "purple", "box": "1,2,3", "alpha": "-1"})
    assert not junk.exception
    assert len(junk.warning) >= 4


def test_axes_that_cannot_make_a_map_are_refused_on_the_page() -> None:
    at = maps({"opt": "sgd", "y": "beta2"})  # gradient descent has no β₂
    assert not at.exception
    assert "cannot be β₂ (beta2): it is not a numeric hyperparameter" in texts(at.warning)
    assert figures(at), "a map on axes that exist"


def test_a_map_whose_runs_all_diverge_says_so() -> None:
    at = maps({"opt": "momentum", "xr": "0.5,10", "grid": "16"})
    assert not at.exception
    assert "Every run of this map diverged" in texts(at.warning)


def test_the_page_keeps_its_settings_across_views_and_shares_them() -> None:
    at = maps({"grid": "40", "y": "beta2", "opt": "adam"})
    clean(at)
    at.button_group(key="maps.view").set_value("basin").run()
    at.button_group(key="maps.view").set_value("sweep").run()
    clean(at)
    state = page_state(at)
    assert (state.grid, state.y_axis, state.optimizers) == (40, "beta2", ("adam",))
    at.session_state["maps.share_open"] = True
    at.run()
    link = at.code[0].value
    assert "grid=40" in link
    assert "y=beta2" in link


@pytest.mark.parametrize("p", MAP_PRESETS, ids=lambda p: p.key)
def test_each_maps_lesson_opens_from_the_catalogue_with_its_note(p: Preset) -> None:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    at.switch_page(routes.script("lessons"))
    at.run()
    assert not at.exception
    at.button(key=f"lessons.open.{p.key}").click().run()
    clean(at)
    assert any(html.escape(p.watch) in m.value for m in at.markdown)  # the lesson's note
    assert page_state(at) == p.state
    assert figures(at)


def test_the_maps_lessons_popover_applies_a_lesson() -> None:
    at = maps()
    at.session_state["maps.lessons_open"] = True
    at.run()
    p = presets.BY_KEY["map_range_test"]
    at.button(key=f"maps.lesson_{p.key}").click().run()
    clean(at)
    assert page_state(at) == p.state
    assert any(html.escape(p.watch) in m.value for m in at.markdown)  # the lesson's note


def test_presenter_mode_hides_the_controls_on_maps() -> None:
    at = maps({"embed": "1"})
    assert not at.exception
    assert any(
        "stSidebar" in str(h.proto) and "display: none" in str(h.proto) for h in at.get("html")
    )


# ---------------------------------------------------------------- payload


def test_the_largest_maps_stay_under_the_payload_limit() -> None:
    st = MapsState(grid=256, steps=30)
    specs, _ = sweeps.sweep_specs(st)
    res = [sweeps.run_sweep(s) for s in specs]
    for color in ("gap", "rate"):
        fig = map_figs.sweep_figure(res, ["a", "b", "c"], color, Style(), None)
        assert len(json.dumps(fig)) < PAYLOAD_LIMIT, color
    bs, _ = sweeps.basin_specs(MapsState(view="basin", surface="himmelblau", basin_grid=512,
                                         steps=20))  # fmt: skip
    bres = [sweeps.run_basin(s) for s in bs]
    fig = map_figs.basin_figure(bres, ["a", "b", "c"], surfaces.get("himmelblau").minima,
                                ("x", "y"), Style())  # fmt: skip
    assert len(json.dumps(fig)) < PAYLOAD_LIMIT


def test_the_picture_shows_every_cell_in_its_colour() -> None:
    st = MapsState(optimizers=("momentum",), grid=16, steps=100, x_range=(1e-3, 1.0))
    (spec,), _ = sweeps.sweep_specs(st)
    r = sweeps.run_sweep(spec)
    scale = map_figs.scale_for([r], "gap", 1e-3)
    rgb = map_figs.sweep_rgb(r, scale, "gap", dark=False)
    div = r.diverged_at >= 0
    assert div.any()
    assert (~div).any()
    assert (rgb[div] == map_figs.rgb_of(map_figs.DIVERGED_COLOR)).all()
    assert r.gap is not None
    gap = r.gap
    best = np.unravel_index(np.argmin(np.where(div, np.inf, gap)), gap.shape)
    worst = np.unravel_index(np.argmax(np.where(div, -np.inf, gap)), gap.shape)
    assert rgb[best].sum() > rgb[worst].sum()  # bright is better


# ---------------------------------------------------------------- the lessons' claims


def test_lesson_momentums_stable_region_ends_on_the_curve() -> None:
    p = presets.BY_KEY["map_momentum_edge"]
    specs, _ = sweeps.sweep_specs(p.state)
    lam = curvature.curvature(surfaces.get("ravine"), (0.0, 0.0)).lam_max
    assert lam == pytest.approx(25.0)
    gd, mom = (sweeps.run_sweep(s) for s in specs)
    xs = gd.xs
    first_div = xs[np.argmax(gd.diverged_at[0] >= 0)]
    assert 0.08 <= first_div <= 0.08 * 1.15  # GD: diverges right of 2/λmax = 0.08
    assert (gd.diverged_at[:, xs < 0.08] < 0).all()
    for i in range(0, len(mom.ys), 8):
        beta = mom.ys[i]
        edge = (2 + 2 * beta) / lam
        row = mom.diverged_at[i]
        assert (row[xs < edge * 0.97] < 0).all(), beta
        if xs[-1] > edge * 1.15:
            assert (row[xs > edge * 1.15] >= 0).all(), beta
    i9 = int(np.argmin(np.abs(mom.ys - 0.9)))
    stable = xs[mom.diverged_at[i9] < 0].max()
    assert stable == pytest.approx(0.152, rel=0.06)  # "up to lr ≈ 0.15, almost twice as far"
    assert gd.gap is not None
    assert mom.gap is not None
    small = xs < 0.01  # "steps below 0.01 leave both far from the minimum after 200 steps"
    assert gd.gap[:, small].min() > 0.5
    assert mom.gap[0, small].min() > 0.5
    assert gd.gap[0, (xs > 0.05) & (xs < 0.08)].max() < 1e-7


def test_lesson_optimal_momentum_on_the_ravine() -> None:
    p = presets.BY_KEY["map_optimal_momentum"]
    spec, th, _ = sweeps.theory_spec(p.state)
    assert spec is not None
    assert th is not None
    assert th.optimum is not None
    opt = th.optimum
    np.testing.assert_allclose(th.curvature.eigenvalues, [1.0, 100.0], rtol=1e-9)
    assert opt.momentum_lr == pytest.approx((2 / 11) ** 2)
    assert opt.momentum_beta == pytest.approx((9 / 11) ** 2)
    assert opt.momentum_rate == pytest.approx(0.818, abs=1e-3)
    assert opt.gd_rate == pytest.approx(0.980, abs=1e-3)
    assert np.ceil(np.log(1e-3) / np.log(opt.momentum_rate)) == 35
    assert np.ceil(np.log(1e-3) / np.log(opt.gd_rate)) == 346
    assert "35 steps instead of 346" in p.watch  # the note says what the table shows
    r = sweeps.run_sweep(spec.sweep)
    assert r.rate is not None
    rate = np.where(np.isfinite(r.rate) & (r.diverged_at < 0), r.rate, np.inf)
    iy, ix = np.unravel_index(np.argmin(rate), rate.shape)
    assert r.xs[ix] == pytest.approx(opt.momentum_lr, rel=0.25)  # the fastest cell is there
    assert r.ys[iy] == pytest.approx(opt.momentum_beta, abs=0.08)
    assert rate[iy, ix] == pytest.approx(opt.momentum_rate, abs=0.02)


def test_lesson_adams_basins_differ_from_gradient_descents() -> None:
    p = presets.BY_KEY["map_himmelblau_basins"]
    specs, _ = sweeps.basin_specs(p.state)
    assert specs[0].n ** 2 == 65536
    gd, adam = (sweeps.run_basin(s) for s in specs)
    assert set(np.unique(gd.label)) == {0, 1, 2, 3}  # four valleys, nothing diverges
    assert set(np.unique(adam.label)) == {0, 1, 2, 3}
    differ = float((gd.label != adam.label).mean())
    assert differ == pytest.approx(0.07, abs=0.01)  # "about 7 % ... end in another valley"


def test_lesson_range_test_on_the_regression() -> None:
    p = presets.BY_KEY["map_range_test"]
    (spec,), _ = sweeps.range_specs(p.state)
    r = sweeps.run_range(spec)
    s = r.suggestion
    edge = 2 / curvature.curvature(surfaces.get("linear_regression"), (2.0, 0.0)).lam_max
    assert edge == pytest.approx(0.12, abs=0.005)
    assert s.steepest == pytest.approx(2e-3, rel=0.15)
    assert s.best_lr is not None
    assert s.minimum_tenth is not None
    assert s.best_lr == pytest.approx(0.59, rel=0.02)
    assert s.best_lr > edge  # the lowest loss comes after the edge
    assert s.minimum_tenth == pytest.approx(0.059, rel=0.02)
    assert s.minimum_tenth < edge
    tenth_off = float(r.lrs[np.argmax(r.loss < 0.9 * r.loss[0])])
    assert tenth_off == pytest.approx(3e-4, rel=0.25)  # within a tenth of its start until then
    assert r.diverged_at > 0


def test_every_maps_lesson_is_a_valid_state_in_the_catalogue() -> None:
    assert len(MAP_PRESETS) >= 4
    assert {p.page for p in MAP_PRESETS} == {"maps"}
    assert {p.state.view for p in MAP_PRESETS} == {"sweep", "basin", "theory", "range"}
    for p in MAP_PRESETS:
        assert CODEC.decode(CODEC.encode(p.state)) == (p.state, [])
        assert p in presets.LESSONS
        assert any(p in lessons for _, lessons in presets.by_topic())
        sentences = [x for x in p.watch.replace("…", ".").split(". ") if x.strip()]
        assert 2 <= len(sentences) <= 4, p.watch


@pytest.mark.parametrize("view", ["sweep", "basin"])
def test_a_typed_formula_maps_like_any_surface(view: str) -> None:
    """Your own function on the Maps page: a sweep, and a basin map whose colours are the
    minima found in the formula (here the two of a double well, at (±1, 0))."""
    formula = "(x^2 - 1)^2 + 2*y^2"
    at = maps({"surface": "custom", "custom.formula": formula, "view": view, "grid": "16",
               "bgrid": "24", "opt": "sgd,adam"})  # fmt: skip
    clean(at)
    state = page_state(at)
    assert state.surface == "custom"
    assert state.surface_params["formula"] == formula
    assert at.query_params["custom.formula"] == formula  # the link carries it
    fig = figures(at)[0]
    assert len(fig["layout"]["images"]) == 2  # one picture per optimizer
    if view == "basin":
        specs, _ = sweeps.basin_specs(state)
        res = sweeps.run_basin(specs[0])
        found = sweeps.Minima.of(sweeps.surface_of(state)).xy
        assert sorted(tuple(round(float(v), 6) for v in p) for p in found) == [
            (-1.0, 0.0), (1.0, 0.0)
        ]  # fmt: skip
        left, right = res.xs < -0.2, res.xs > 0.2
        ends = res.label[:, left], res.label[:, right]
        assert len(set(ends[0].ravel().tolist())) == 1  # each half ends in its own well
        assert len(set(ends[1].ravel().tolist())) == 1
        assert set(ends[0].ravel().tolist()) != set(ends[1].ravel().tolist())
        names = " ".join(str(t.get("name", "")) for t in fig["data"])
        assert "(1.00, 0.00)" in names
        assert "(-1.00, 0.00)" in names


def test_the_range_test_draws_each_optimizer_in_its_own_colour() -> None:
    import optimizers
    from app.figures import colormap

    for chosen in ("sgd,adam", "adam,rmsprop"):
        at = maps({"view": "range", "opt": chosen})
        clean(at)
        fig = figures(at)[0]
        for name in chosen.split(","):
            title = optimizers.get(name).title
            lines = [t for t in fig["data"] if t.get("name") == title and "line" in t]
            assert lines, (chosen, name, [t.get("name") for t in fig["data"]])
            assert lines[0]["line"]["color"] == colormap.optimizer_style(name)[0]

"""The Explore page through Streamlit's AppTest, plus the pure pieces it is built from.

AppTest runs the real page script (app/main.py) against the real core; the figure is read back
from the chart's JSON spec exactly as the browser receives it.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from app import compute, figures
from app.figures import colormap
from app.state.explore import ExploreState

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
TIMEOUT = 60


def fresh(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def spec(at: AppTest, index: int = 0) -> dict[str, Any]:
    fig: dict[str, Any] = json.loads(at.get("plotly_chart")[index].proto.spec)
    return fig


def trace(fig: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in fig["data"] if t.get("name") == name)


def clean(at: AppTest) -> None:
    """No exception, no error box, and a chart on the page."""
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.get("plotly_chart"), "the race chart is missing"


def results_table(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("| optimizer |"))


def texts(elements: Any) -> str:
    return " ".join(str(e.value) for e in elements)


# ---------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def page() -> AppTest:
    return fresh()


def test_first_load_races_the_default_optimizers(page: AppTest) -> None:
    clean(page)
    fig = spec(page)
    names = [t.get("name") for t in fig["data"]]
    for name in controls_default():
        assert optimizers.get(name).title in names
    assert 1 < len(fig["frames"]) <= 150
    assert fig["layout"]["images"][0]["source"].startswith("data:image/png;base64,")
    assert "| optimizer | final loss |" in texts(page.markdown), "the results table is missing"


def controls_default() -> list[str]:
    return [n for n in optimizers.DEFAULT_SET if n in optimizers.names()]


@pytest.mark.parametrize("name", surfaces.names())
def test_every_surface_renders_with_the_default_optimizers(name: str) -> None:
    at = fresh()
    at.selectbox(key="explore.surface").set_value(name).run()
    clean(at)
    fig = spec(at)
    s = surfaces.get(name)
    assert fig["layout"]["xaxis"]["range"] == list(s.bounds[0])
    assert [t["name"] for t in fig["data"]][-2:] == ["heads", "curves-now"]
    assert s.description.replace("*", r"\*") in texts(at.markdown)  # a formula's x*y


def test_changing_steps_changes_the_figure(page: AppTest) -> None:
    before = spec(page)
    page.select_slider(key="explore.steps").set_value(60).run()
    clean(page)
    after = spec(page)
    assert after["frames"] != before["frames"]
    assert after["frames"][-1]["name"] == "60"


def test_one_hyperparameter_changes_only_its_optimizer() -> None:
    at = fresh()
    before = {t["name"]: t for t in spec(at)["data"] if "xaxis" not in t}
    at.selectbox(key="explore.tune").set_value("adam").run()
    at.select_slider(key="explore.hp.adam.lr").set_value(0.01).run()  # the page default is 0.1
    clean(at)
    after = {t["name"]: t for t in spec(at)["data"] if "xaxis" not in t}
    adam = optimizers.get("adam").title
    assert after[adam]["x"] != before[adam]["x"]
    for name in controls_default():
        if name != "adam":
            title = optimizers.get(name).title
            assert after[title]["x"] == before[title]["x"], title
    # switching the settings panel to another optimizer keeps Adam's value
    at.selectbox(key="explore.tune").set_value("sgd").run()
    at.selectbox(key="explore.tune").set_value("adam").run()
    assert at.select_slider(key="explore.hp.adam.lr").value == 0.01
    assert trace(spec(at), adam)["x"] == after[adam]["x"]


def test_shared_learning_rate_drives_every_optimizer() -> None:
    at = fresh()
    at.checkbox(key="explore.shared_lr").check().run()
    at.select_slider(key="explore.lr").set_value(0.05).run()
    clean(at)
    fig = spec(at)
    paths = [trace(fig, optimizers.get(n).title)["x"] for n in ("sgd", "momentum")]
    assert paths[0] != paths[1]
    state = ExploreState(optimizers=("sgd", "adam"), shared_lr=True, lr=0.05)
    assert compute.effective_hypers(state, "adam")["lr"] == 0.05
    assert compute.effective_hypers(state, "sgd")["lr"] == 0.05


def test_divergence_is_reported_with_a_marker_and_a_message() -> None:
    at = fresh()
    at.selectbox(key="explore.surface").set_value("quadratic_bowl").run()
    at.checkbox(key="explore.shared_lr").check().run()
    at.select_slider(key="explore.lr").set_value(10.0).run()
    clean(at)
    warnings = texts(at.warning)
    assert re.search(r"diverged at step \d+", warnings), warnings
    fig = spec(at)
    marks = trace(fig, "diverged")
    (x0, x1), (y0, y1) = surfaces.get("quadratic_bowl").bounds
    for x, y in zip(marks["x"], marks["y"], strict=True):  # on the plot's edge, not off it
        assert x0 - 1e-6 <= x <= x1 + 1e-6
        assert y0 - 1e-6 <= y <= y1 + 1e-6
        assert min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1)) < 1e-3
    table = results_table(at)
    assert "diverged at step" in table
    assert "nan" not in table.lower()
    assert "inf" not in table.lower()


def test_every_optimizer_is_selectable_at_once() -> None:
    at = fresh()
    at.multiselect(key="explore.optimizers").set_value(optimizers.names()).run()
    clean(at)
    names = {t.get("name") for t in spec(at)["data"]}
    for name in optimizers.names():
        assert optimizers.get(name).title in names, name
    assert len(results_table(at).splitlines()) == 2 + len(optimizers.names())


@pytest.mark.parametrize("name", surfaces.names())
def test_bad_input_batch_one_every_optimizer_huge_lr(name: str) -> None:
    at = fresh()
    at.selectbox(key="explore.surface").set_value(name).run()
    at.multiselect(key="explore.optimizers").set_value(optimizers.names()).run()
    at.select_slider(key="explore.batch").set_value(1).run()
    at.checkbox(key="explore.shared_lr").check().run()
    at.select_slider(key="explore.lr").set_value(10.0).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.get("plotly_chart")
    raw = at.get("plotly_chart")[0].proto.spec
    assert "NaN" not in raw.replace('"NaN', "")
    assert "Infinity" not in raw


def test_zero_steps_and_tiny_lr_render_a_message() -> None:
    at = fresh()
    at.select_slider(key="explore.steps").set_value(0).run()
    clean(at)
    assert "Steps is 0" in texts(at.warning)
    at.select_slider(key="explore.steps").set_value(10).run()
    at.checkbox(key="explore.shared_lr").check().run()
    at.select_slider(key="explore.lr").set_value(1e-5).run()
    clean(at)


def test_no_optimizer_selected_says_so() -> None:
    at = fresh()
    at.multiselect(key="explore.optimizers").set_value([]).run()
    assert not at.exception
    assert "Pick at least one optimizer" in texts(at.warning)


def test_swarm_runs_every_optimizer_from_each_start() -> None:
    at = fresh()
    at.slider(key="explore.swarm").set_value(5).run()
    clean(at)
    fig = spec(at)
    assert len(trace(fig, "start")["x"]) == 5
    assert len(trace(fig, "heads")["x"]) == 5 * len(controls_default())


def test_the_url_restores_the_state_and_is_written_back() -> None:
    at = fresh({"surface": "rosenbrock", "opt": "sgd,adam", "steps": "120", "seed": "3"})
    clean(at)
    assert at.selectbox(key="explore.surface").value == "rosenbrock"
    assert at.multiselect(key="explore.optimizers").value == ["sgd", "adam"]
    assert spec(at)["frames"][-1]["name"] == "120"
    assert (
        at.query_params["surface"] == ["rosenbrock"] or at.query_params["surface"] == "rosenbrock"
    )
    at.select_slider(key="explore.steps").set_value(80).run()
    assert "80" in str(at.query_params["steps"])


def test_a_bad_url_gives_polite_warnings_not_an_error() -> None:
    at = fresh({"surface": "nowhere", "steps": "-5", "opt": "adam,bogus"})
    assert not at.exception
    assert at.warning, "bad URL values should be explained"
    assert at.get("plotly_chart")


def test_presenter_mode_enlarges_the_chart() -> None:
    # Streamlit reserves the ``embed`` query key (?embed=true sets st.context.is_embedded,
    # checked in the browser test); the switch in the sidebar does the same.
    at = fresh()
    at.checkbox(key="app.embed").check().run()
    clean(at)
    assert spec(at)["layout"]["height"] > figures.Style().height
    assert any("stSidebar" in str(h.proto) for h in at.get("html"))


def test_large_fonts_and_dark_figure() -> None:
    at = fresh({"big": "1", "dark": "1"})
    clean(at)
    layout = spec(at)["layout"]
    assert layout["font"]["size"] == figures.Style(large_fonts=True).font
    assert layout["font"]["color"] == figures.DARK["font"]


def test_stacked_layout_puts_the_curves_under_the_surface() -> None:
    at = fresh()
    at.checkbox(key="explore.stacked").check().run()
    clean(at)
    layout = spec(at)["layout"]
    assert layout["yaxis2"]["domain"][1] < layout["yaxis"]["domain"][0]
    assert layout["xaxis"]["domain"] == [0.0, 1.0]


def test_3d_view_takes_the_charts_place_with_the_same_playback() -> None:
    at = fresh()
    assert len(at.get("plotly_chart")) == 1
    at.checkbox(key="explore.view_3d").check().run()
    clean(at)
    assert len(at.get("plotly_chart")) == 1  # where the eye is: in place of the map
    fig3d = spec(at)
    assert fig3d["data"][0]["type"] == "surface"
    assert any(t["type"] == "scatter3d" for t in fig3d["data"])
    labels = [b["label"] for b in fig3d["layout"]["updatemenus"][0]["buttons"]]
    assert labels == ["▶ Play", "Pause", "Slow", "Fast", "Replay"]
    assert fig3d["layout"]["sliders"][0]["steps"]
    heads = trace(fig3d, "heads")
    assert len(heads["x"]) == len(controls_default())
    assert len(fig3d["frames"]) > 10
    assert all(f["traces"] == [fig3d["data"].index(heads)] for f in fig3d["frames"])
    assert fig3d["frames"][-1]["data"][0]["x"] != heads["x"]  # the heads move


def test_about_expanders_show_each_update_rule(page: AppTest) -> None:
    page.multiselect(key="explore.optimizers").set_value(["adam"]).run()
    labels = [e.label for e in page.expander]
    assert any(label == "About Adam" for label in labels)
    assert not any("**Reference:**" in m.value for m in page.markdown)  # drawn only when open
    page.session_state["explore.about.adam"] = True  # what opening the expander does
    page.run()
    card = next(m.value for m in page.markdown if "**Reference:**" in m.value)
    assert optimizers.get("adam").update_tex.strip() in card
    assert optimizers.get("adam").reference in card
    for h in optimizers.get("adam").hypers:
        assert f"`{h.name}`" in card


@pytest.mark.parametrize(
    ("page", "inside"),
    [
        ("explore", "app.compute.race"),
        ("lessons", "app.compute.lesson_picture"),
        ("networks", "app.netcompute.training"),
        ("maps", "app.sweeps.sweep_specs"),
    ],
)
def test_an_unexpected_error_shows_a_friendly_message_not_a_traceback(
    page: str, inside: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page runs inside the shared error boundary (app/ui/frame.py)."""

    def boom(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("internal detail")

    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    if page != "explore":
        at.switch_page(f"views/{page}.py")
    monkeypatch.setattr(inside, boom)  # AppTest runs the page in this process
    at.run()
    assert not at.exception
    assert "Sorry, something went wrong" in texts(at.error)
    assert "internal detail" not in texts(at.error)


# ---------------------------------------------------------------- pure pieces


def test_png_round_trip_and_colormap_ends() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    assert np.array_equal(colormap.decode_png(colormap.encode_png(img)), img)
    table = colormap.lut("viridis")
    assert tuple(table[0]) == (0x44, 0x01, 0x54)
    assert tuple(table[-1]) == (0xFD, 0xE7, 0x25)
    unit, lo, hi = colormap.normalise(np.array([[1.0, 10.0], [100.0, np.nan]]), log=True)
    assert unit[1, 1] == 1.0
    assert unit.min() >= 0
    assert unit.max() <= 1
    assert hi > lo


def test_exit_point_lies_on_the_edge() -> None:
    bounds = ((-1.0, 1.0), (-1.0, 1.0))
    path = np.array([[0.0, 0.0], [0.5, 0.0], [3.0, 1.0]])
    p = figures.exit_point(path, bounds)
    assert p[0] == pytest.approx(1.0)
    assert -1 <= p[1] <= 1
    assert np.array_equal(figures.exit_point(path[:2], bounds), path[1])


def test_frames_are_subsampled_and_touch_only_the_animated_traces() -> None:
    s = surfaces.get("ravine")
    runs = {
        n: optimizers.simulate(s, n, np.array(s.default_start), 500) for n in optimizers.names()[:8]
    }
    series = figures.prepare(s, runs, {n: n for n in runs})
    fig = figures.race_figure(s, series, np.array([s.default_start]))
    assert len(fig["frames"]) <= 150
    animated = {len(fig["data"]) - i for i in (1, 2)}
    assert all(set(f["traces"]) == animated for f in fig["frames"])
    assert fig["frames"][0]["name"] == "0"
    assert fig["frames"][-1]["name"] == "500"
    payload = json.dumps(fig, separators=(",", ":"))
    assert len(payload) <= 500_000, len(payload)  # the payload budget


def test_result_rows_never_show_nan() -> None:
    s = surfaces.get("quadratic_bowl")
    runs = {
        "sgd": optimizers.simulate(s, "sgd", np.array([[1.0, 1.0], [2.0, 2.0]]), 50, lr=0.1),
        "big": optimizers.simulate(s, "sgd", np.array([[1.0, 1.0], [2.0, 2.0]]), 50, lr=10.0),
    }
    rows = compute.result_rows(s, runs, {"sgd": "SGD", "big": "SGD, lr 10"})
    assert rows[0]["status"] == "2 of 2 runs reached tolerance"
    assert rows[1]["status"].startswith("2 of 2 runs diverged (first at step ")
    for row in rows:
        for v in row.values():
            assert "nan" not in v.lower()
            assert "inf" not in v.lower()
    assert math.isfinite(float(rows[0]["final loss"]))


def test_median_agrees_with_numpy() -> None:
    rng = np.random.default_rng(0)
    for n in range(1, 14):
        values = rng.normal(size=n) * 10.0 ** rng.integers(-3, 4, size=n)
        assert compute._median(values.tolist()) == pytest.approx(float(np.median(values)))
        assert compute._median([int(v) for v in values * 100]) == float(
            np.median([int(v) for v in values * 100])
        )
    assert math.isnan(compute._median([1.0, math.nan, 2.0]))
    assert math.isnan(compute._median([]))
    assert compute._median([math.inf, 1.0, 2.0]) == 2.0


def test_thin_keeps_corners_and_ends_and_drops_crowded_points() -> None:
    zigzag = np.array([[i, (-1) ** i] for i in range(10)], dtype=float)
    assert np.array_equal(figures.thin(zigzag, 0.01), zigzag)  # every corner is far apart
    crawl = np.stack([np.linspace(0, 1e-3, 200), np.zeros(200)], axis=-1)
    path = np.concatenate([zigzag, zigzag[-1] + crawl])
    out = figures.thin(path, 0.01)
    assert len(out) == len(zigzag) + 1  # the 200-point crawl is one pixel: its end stays
    assert np.array_equal(out[0], path[0])
    assert np.array_equal(out[-1], path[-1])


@pytest.mark.parametrize("schedule", optimizers.schedules.names())
def test_every_schedule_has_working_controls(schedule: str) -> None:
    at = fresh()
    constant = trace(spec(at), optimizers.get("sgd").title)["x"]
    at.selectbox(key="explore.schedule").set_value(schedule).run()
    clean(at)
    for h in optimizers.schedules.get(schedule).hypers:
        assert at.session_state[f"explore.sc.{schedule}.{h.name}"] is not None
    if schedule in ("step", "exponential", "cosine"):  # these lower the lr within 200 steps
        assert trace(spec(at), optimizers.get("sgd").title)["x"] != constant


def test_surface_parameters_change_the_surface() -> None:
    at = fresh()
    image = spec(at)["layout"]["images"][0]["source"]
    at.select_slider(key="explore.sp.ravine.kappa").set_value(100.0).run()
    clean(at)
    assert spec(at)["layout"]["images"][0]["source"] != image
    assert "ravine.kappa" in str(dict(at.query_params))


def test_zero_steps_with_every_view_and_a_swarm() -> None:
    at = fresh()
    at.selectbox(key="explore.surface").set_value("logistic_regression").run()
    at.multiselect(key="explore.optimizers").set_value(optimizers.names()).run()
    at.select_slider(key="explore.steps").set_value(0).run()
    at.slider(key="explore.swarm").set_value(12).run()
    at.checkbox(key="explore.view_3d").check().run()
    at.checkbox(key="explore.stacked").check().run()
    at.segmented_control(key="explore.panels").set_value(["Step-by-step maths", "Export"]).run()
    clean(at)
    assert len(at.get("plotly_chart")) == 1  # the 3-D race, in the map's place
    assert len(trace(spec(at), "heads")["x"]) == 12 * len(optimizers.names())


def test_default_page_race_moves_every_default_optimizer() -> None:
    """The first race a student sees: every default optimizer crosses > 10% of the plot."""
    from app.state.explore import page_defaults

    page = fresh()
    clean(page)
    surface = surfaces.get(ExploreState().surface)
    (x0, x1), (y0, y1) = surface.bounds
    span = min(x1 - x0, y1 - y0)
    fig = spec(page)
    for name in controls_default():
        path = trace(fig, optimizers.get(name).title)
        xs = [v for v in path["x"] if v is not None]
        ys = [v for v in path["y"] if v is not None]
        moved = math.hypot(xs[-1] - xs[0], ys[-1] - ys[0])
        assert moved > 0.1 * span, f"{name} moved only {moved:.3g} of a {span:g} plot"
    # they arrive one after another: the results table tells them apart
    table = results_table(page)
    steps = [row.split("|")[5].strip() for row in table.splitlines()[2:]]
    assert len(set(steps)) >= 4, f"the default race ends too alike: {steps}"
    # the page's defaults are what the widgets show, and torch's defaults stay in the core
    page.selectbox(key="explore.tune").set_value("adam").run()
    assert (
        page.select_slider(key="explore.hp.adam.lr").value == page_defaults("ravine", "adam")["lr"]
    )
    assert optimizers.get("adam").defaults()["lr"] == 0.001


def test_rare_settings_wait_for_show_every_setting_and_keep_their_values() -> None:
    at = fresh({"opt": "adam"})
    clean(at)
    keys = {w.key for w in at.select_slider} | {w.key for w in at.checkbox}
    assert "explore.hp.adam.lr" in keys
    assert "explore.hp.adam.beta1" in keys
    assert "explore.hp.adam.eps" not in keys
    assert "explore.hp.adam.amsgrad" not in keys
    at.checkbox(key="explore.all_hypers").check().run()
    at.checkbox(key="explore.hp.adam.amsgrad").check().run()
    at.checkbox(key="explore.all_hypers").uncheck().run()
    clean(at)
    # not at its default: still shown, still in the race and in the link
    assert at.checkbox(key="explore.hp.adam.amsgrad").value is True
    assert "adam.amsgrad" in str(dict(at.query_params))


def test_shared_learning_rate_is_remembered_while_hidden() -> None:
    at = fresh()
    assert "explore.lr" not in {w.key for w in at.select_slider}, "shown although it drives nothing"
    at.checkbox(key="explore.shared_lr").check().run()
    at.select_slider(key="explore.lr").set_value(0.05).run()
    at.checkbox(key="explore.shared_lr").uncheck().run()
    at.checkbox(key="explore.shared_lr").check().run()
    clean(at)
    assert at.select_slider(key="explore.lr").value == 0.05


def test_the_cached_figure_follows_what_is_drawn() -> None:
    at = fresh()
    before = spec(at)
    at.selectbox(key="explore.tune").set_value("adam").run()  # changes nothing drawn
    assert spec(at) == before
    at.select_slider(key="explore.steps").set_value(60).run()
    assert spec(at) != before


def test_a_new_registry_entry_reaches_the_page_and_its_links(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One file and one registry line: the optimizers picker, its generated controls, the
    link codec and the race take a new entry (signSGD with momentum, tests/test_engines.py)
    with no other edit."""
    from app.state import explore as explore_state
    from tests.test_engines import SIGNUM

    monkeypatch.setitem(optimizers.REGISTRY, "signum", SIGNUM)
    state, warnings = explore_state.decode({"v": "2", "opt": "signum", "signum.lr": "0.02"})
    assert warnings == []
    assert state.optimizers == ("signum",)
    assert state.hyper["signum"]["lr"] == 0.02
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for k, v in explore_state.encode(state).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert "signum" in at.multiselect(key="explore.optimizers").value
    assert at.select_slider(key="explore.hp.signum.lr").value == 0.02
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any(t.get("legendgroup") == "signum" or t.get("name") == "signSGD" for t in fig["data"])

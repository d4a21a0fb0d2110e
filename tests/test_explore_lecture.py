"""Explore as a lecturer and a student meet it (issue #12), through AppTest and the pure
pieces: lessons that leave the display alone, one compact warnings line, honest results and
curves, one colour per optimizer, clear switches, the maths tied to the chart, schedules on
the chart, the 3-D race in place, and one set of defaults for links and the page.

The browser-side items (figure contrast, clicks, the fold, the share popover, the offline file)
are in tests/test_browser_lecture.py.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from app import compute, explain, figures, presets
from app.figures import colormap
from app.state import explore as urlstate
from app.state.explore import ExploreState, decode, encode, page_defaults

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
TIMEOUT = 120
LESSON_TITLES = (
    "“Neural Network Optimization”",
    "“Gradient Descent & Optimization”",
    "“OPTIM”",
    "“Neural Nets: Loss and Optimization”",
)


def fresh(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def spec(at: AppTest, index: int = 0) -> dict[str, Any]:
    fig: dict[str, Any] = json.loads(at.get("plotly_chart")[index].proto.spec)
    return fig


def trace(fig: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in fig["data"] if t.get("name") == name)


def url_state(at: AppTest) -> ExploreState:
    state, warnings = decode({k: at.query_params[k] for k in at.query_params})
    assert warnings == []
    return state


def presenter_css(at: AppTest) -> bool:
    return any(
        "stSidebar" in str(h.proto) and "display: none" in str(h.proto) for h in at.get("html")
    )


def note_shown(at: AppTest, p: presets.Preset) -> bool:
    return any(html.escape(p.watch) in m.value for m in at.markdown)


# ---------------------------------------------------------------- 1. lessons and the display


def open_lesson_from_popover(at: AppTest, key: str) -> AppTest:
    at.session_state["explore.lessons_open"] = True  # what opening the Lessons popover does
    at.run()
    return at.button(key=f"explore.lesson_{key}").click().run()


def test_a_lesson_changes_the_race_never_the_display() -> None:
    at = fresh()
    for key in ("app.large_fonts", "app.dark", "explore.view_3d", "app.embed"):
        at.checkbox(key=key).check().run()
    ok(at)
    p = presets.BY_KEY["nesterov"]
    at = open_lesson_from_popover(at, p.key)
    ok(at)
    for key in ("app.large_fonts", "app.dark", "explore.view_3d", "app.embed"):
        assert at.checkbox(key=key).value is True, key
    assert presenter_css(at), "presenter mode ended: the sidebar came back"
    state = url_state(at)
    # (presenter mode is not written: Streamlit keeps ``embed`` to itself)
    assert (state.large_fonts, state.dark, state.view_3d) == (True, True, True)
    assert state.optimizers == p.state.optimizers
    assert state.lesson == p.key  # the open lesson is in the URL
    assert note_shown(at, p)


def test_a_shared_lesson_link_opens_with_its_note() -> None:
    p = presets.BY_KEY["adagrad_rmsprop"]
    at = fresh(encode(presets.with_note(p)) | {"big": "1"})
    ok(at)
    assert note_shown(at, p)
    assert at.checkbox(key="app.large_fonts").value is True
    # and a hand-written ?lesson=<key> alone opens that lesson, race and note
    at = fresh({"lesson": "nesterov", "embed": "true"})
    ok(at)
    nesterov = presets.BY_KEY["nesterov"]
    assert note_shown(at, nesterov)
    assert url_state(at).optimizers == nesterov.state.optimizers
    assert url_state(at).lesson == "nesterov"
    # hiding the note takes it out of the link
    at.button(key="explore.lesson_note_hide").click().run()
    assert not note_shown(at, nesterov)
    assert url_state(at).lesson is None


def test_presenter_mode_steps_through_the_course() -> None:
    course = presets.course("explore")
    at = fresh()
    at.checkbox(key="app.large_fonts").check().run()
    at.checkbox(key="app.embed").check().run()
    assert at.button(key="explore.lesson_prev").proto.disabled is False  # wraps to the last
    at.button(key="explore.lesson_next").click().run()
    ok(at)
    assert url_state(at).lesson == course[0].key
    at.button(key="explore.lesson_next").click().run()
    assert url_state(at).lesson == course[1].key
    assert note_shown(at, course[1])
    at.button(key="explore.lesson_prev").click().run()
    assert url_state(at).lesson == course[0].key
    assert at.button(key="explore.lesson_prev").proto.disabled is True  # the first lesson
    assert presenter_css(at)
    assert at.checkbox(key="app.large_fonts").value is True
    assert url_state(at).optimizers == course[0].state.optimizers


def test_the_course_buttons_are_only_for_presenter_mode() -> None:
    at = fresh()
    keys = {b.key for b in at.button}
    assert "explore.lesson_next" not in keys
    assert "explore.lesson_prev" not in keys


# ---------------------------------------------------------------- 3. one compact line


def test_many_warnings_fold_into_one_line() -> None:
    five = ",".join(optimizers.DEFAULT_SET)
    at = fresh(
        {"v": "2", "surface": "quadratic_bowl", "opt": five, "shared": "1", "lr": "10.0"}
        | {"steps": "abc"}
    )
    ok(at)
    expanders = [e for e in at.expander if "diverged" in e.label]
    assert len(expanders) == 1, [e.label for e in at.expander]
    line = expanders[0].label
    diverged = sum(int(r.diverged_at[0] >= 0) for r in compute.race(url_state(at)).runs.values())
    assert diverged >= 4
    assert line == f"{diverged} optimizers diverged · 1 link setting ignored"
    # the details are inside it, one per optimizer plus the link's
    inside = [w.value for w in expanders[0].warning]
    assert sum("diverged at step" in w for w in inside) == diverged
    assert any("steps=abc" in w for w in inside)
    assert len(at.warning) == len(inside)  # no warning box outside the line


def test_the_chart_gives_room_to_a_note_and_the_line() -> None:
    plain = spec(fresh())["layout"]["height"]
    p = presets.BY_KEY["learning_rate"]  # a lesson with a diverging run: note and warnings
    at = fresh(encode(presets.with_note(p)))
    ok(at)
    height = spec(at)["layout"]["height"]
    note = len(p.title) + 2 + len(p.watch)
    top = figures.chart_top(head=note, note=True, messages=True)
    assert height == figures.Style(top=top).height < plain
    assert top + height - 11 <= figures.layout.FOLD  # Play's bottom inside the window
    assert height >= figures.layout.MIN_HEIGHT


# ---------------------------------------------------------------- 4. the results table


def one_run(surface: str, name: str, start: tuple[float, float], steps: int, **h: Any) -> Any:
    return optimizers.simulate(surfaces.get(surface), name, np.array(start), steps, **h)


def test_reached_means_stayed_within_tolerance() -> None:
    """Momentum in the Nesterov lesson swings through the centre at step ~10 and out again:
    that is not "reached"; Nesterov stays, and so is faster in the table too."""
    p = presets.BY_KEY["nesterov"]
    surf = surfaces.get(p.state.surface)
    hyper: dict[str, dict[str, Any]] = p.state.hyper
    runs = {
        n: optimizers.simulate(surf, n, np.array(p.state.start), p.state.steps, **hyper[n])
        for n in p.state.optimizers
    }
    mom = runs["momentum"]
    gap = mom.loss[:, 0]
    first_touch = int(np.flatnonzero(gap <= compute.TOLERANCE)[0])
    assert first_touch < 15  # it does touch the tolerance early ...
    assert np.any(gap[first_touch:] > compute.TOLERANCE)  # ... and leaves it again
    rows = compute.result_rows(surf, runs, {"momentum": "Momentum", "nesterov": "Nesterov"})
    col = next(k for k in rows[0] if k.startswith("within"))
    assert rows[0][col] == "—"
    assert rows[0]["status"] == "not yet within tolerance"
    assert rows[1]["status"] == "reached tolerance"
    assert int(rows[1][col]) > first_touch
    assert compute.stays_within(np.array([5.0, 0.0, 2.0, 0.0, 0.0]), 0.1) == 3
    assert compute.stays_within(np.array([5.0, 0.0, 2.0]), 0.1) is None
    assert compute.stays_within(np.array([0.0, 0.0]), 0.1) == 0


@pytest.mark.parametrize(
    ("surface", "start", "lr"),
    [
        ("multi_minima", (3.5, 3.5), 0.3),
        ("rastrigin", (4.2, -3.6), 0.002),
        ("six_hump_camel", (-1.9, 1.0), 0.02),
    ],
)
def test_settling_in_a_local_minimum_names_it(
    surface: str, start: tuple[float, float], lr: float
) -> None:
    surf = surfaces.get(surface)
    traj = one_run(surface, "sgd", start, 300, lr=lr)
    label, dist = compute.nearest_minimum(surf, traj.positions[-1, 0])
    assert label.startswith("local")
    assert dist < 1e-6
    row = compute.result_rows(surf, {"sgd": traj}, {"sgd": "SGD"})[0]
    where = label.removeprefix("local ")
    assert row["status"] == f"settled in the local minimum at {where}"
    swarm = optimizers.simulate(surf, "sgd", np.array([start, start]), 300, lr=lr)
    status = compute.result_rows(surf, {"sgd": swarm}, {"sgd": "SGD"})[0]["status"]
    assert status == "2 settled in local minima"


# ---------------------------------------------------------------- 5. surfaces without a floor


def saddle_race() -> tuple[surfaces.Surface, dict[str, Any]]:
    surf = surfaces.get("saddle")
    start = np.array(surf.default_start)
    return surf, {
        "sgd": optimizers.simulate(surf, "sgd", start, 200, lr=0.05),  # leaves the box
        "adam": optimizers.simulate(surf, "adam", start, 200, lr=0.02),  # leaves the plot
    }


def test_the_saddle_loss_is_plotted_signed() -> None:
    surf, runs = saddle_race()
    assert runs["sgd"].loss[:, 0].min() < -800
    fig = figures.race_figure(
        surf, figures.prepare(surf, runs, {n: n for n in runs}), np.array([surf.default_start])
    )
    layout = fig["layout"]
    assert layout["annotations"][0]["text"] == "loss f (symlog)"
    ticks = dict(zip(layout["yaxis2"]["ticktext"], layout["yaxis2"]["tickvals"], strict=True))
    assert "0" in ticks
    assert any(t.startswith("−") for t in ticks)  # negative losses have ticks of their own
    # the curve goes below the zero tick (no floor at 1e-16 that reads as "loss ≈ 0")
    curve = next(t for t in fig["data"] if t.get("name") == "sgd" and t.get("xaxis") == "x2")
    loss_part = curve["y"][: curve["y"].index(None)]
    assert min(v for v in loss_part if v is not None) < ticks["0"]
    # a surface with a minimum keeps the log scale of the gap
    bowl = surfaces.get("quadratic_bowl")
    run = {"sgd": optimizers.simulate(bowl, "sgd", np.array(bowl.default_start), 50, lr=0.1)}
    fig = figures.race_figure(
        bowl, figures.prepare(bowl, run, {"sgd": "sgd"}), np.array([bowl.default_start])
    )
    assert fig["layout"]["annotations"][0]["text"] == "loss − f*"


def test_leaving_a_surface_without_a_floor_is_not_called_divergence() -> None:
    surf, runs = saddle_race()
    assert runs["sgd"].diverged_at[0] >= 0
    messages = compute.divergence_messages(surf, runs, {"sgd": "SGD", "adam": "Adam"})
    assert len(messages) == 1
    kind, who, full = messages[0]
    assert (kind, who) == ("downhill", "SGD")
    assert "smaller learning rate" not in full
    assert "no minimum" in full
    rows = compute.result_rows(surf, runs, {"sgd": "SGD", "adam": "Adam"})
    assert rows[0]["status"].startswith("left the plot downhill at step")
    assert rows[1]["status"].startswith("left the plot downhill at step")
    # a real divergence still gets the advice
    bowl = surfaces.get("quadratic_bowl")
    big = {"sgd": optimizers.simulate(bowl, "sgd", np.array(bowl.default_start), 50, lr=1.5)}
    ((kind, _, full),) = compute.divergence_messages(bowl, big, {"sgd": "SGD"})
    assert kind == "diverged"
    assert "smaller learning rate" in full


# ---------------------------------------------------------------- 7. one colour per optimizer


def test_every_optimizer_has_its_own_colour_and_dash_from_the_colour_blind_palette() -> None:
    names = optimizers.names()
    styles = [colormap.optimizer_style(n) for n in names]
    assert len(set(styles)) == len(names) == 14
    assert {c for c, _ in styles} <= set(colormap.OKABE_ITO)
    assert "#F0E442" not in {c for c, _ in styles}  # yellow vanishes on the surface's highs
    assert all(colormap.optimizer_style(n)[1] == "solid" for n in optimizers.DEFAULT_SET)
    dark = {colormap.optimizer_style(n, dark=True) for n in names}
    assert len(dark) == 14
    assert "#000000" not in {c for c, _ in dark}


def test_an_optimizer_keeps_its_colour_in_every_race_and_view() -> None:
    surf = surfaces.get("ravine")
    start = np.array(surf.default_start)

    def colours(names: tuple[str, ...]) -> dict[str, str]:
        runs = {n: optimizers.simulate(surf, n, start, 5) for n in names}
        return {s.name: s.color for s in figures.prepare(surf, runs, {n: n for n in runs})}

    adam = colormap.optimizer_style("adam")[0]
    assert colours(("adam",))["adam"] == adam
    assert colours(("sgd", "adam"))["adam"] == adam
    assert colours(optimizers.DEFAULT_SET)["adam"] == adam
    rms = colormap.optimizer_style("rmsprop")[0]
    assert colours(("adagrad", "rmsprop"))["rmsprop"] == rms
    # the page: chart, curves, table and the JSON export agree
    at = fresh({"v": "2", "opt": "adagrad,rmsprop"})
    fig = spec(at)
    rms_title = optimizers.get("rmsprop").title
    paths = [t for t in fig["data"] if t.get("name") == rms_title]
    assert {t["line"]["color"] for t in paths} == {rms}  # the path and its curve trace
    table = next(m.value for m in at.markdown if m.value.startswith("| optimizer |"))
    assert f"color:{rms}" in next(r for r in table.splitlines() if rms_title in r)
    from app import exports

    state = ExploreState(optimizers=("adagrad", "rmsprop"))
    data = json.loads(exports.to_json(state, compute.race(state).runs))
    assert data["runs"]["rmsprop"]["color"] == rms


def test_variants_of_one_optimizer_keep_its_hue_and_differ_in_style() -> None:
    styles = [colormap.variant_style("sgd", j) for j in range(4)]
    assert len(set(styles)) == 4
    assert len({d for _, d in styles}) == 4
    assert styles[0] == colormap.optimizer_style("sgd")


# ---------------------------------------------------------------- 8. β, ρ, β₂ switches


def test_shared_beta_is_a_switch_not_a_slider_that_reads_zero() -> None:
    at = fresh()
    ok(at)
    labels = {c.key: c.label for c in at.checkbox}
    assert labels["explore.beta_shared"].startswith("Shared β")
    assert "explore.beta" not in {s.key for s in at.select_slider}  # off: no value shown
    for s in at.select_slider:
        assert "each own" not in [str(o) for o in s.options]
    at.checkbox(key="explore.beta_shared").check().run()
    ok(at)
    assert at.select_slider(key="explore.beta").value == 0.9
    at.select_slider(key="explore.beta").set_value(0.5).run()
    assert url_state(at).beta == 0.5
    assert compute.effective_hypers(url_state(at), "momentum")["momentum"] == 0.5
    at.checkbox(key="explore.beta_shared").uncheck().run()
    assert url_state(at).beta is None
    # a link with a shared β turns the switch on
    at = fresh({"opt": "momentum,adam", "beta": "0.95"})
    assert at.checkbox(key="explore.beta_shared").value is True
    assert at.select_slider(key="explore.beta").value == 0.95


@pytest.mark.parametrize(
    ("role", "optimizer", "hyper", "label"),
    [("rho", "rmsprop", "alpha", "Shared ρ"), ("beta2", "adam", "beta2", "Shared β₂")],
)
def test_shared_rho_and_beta2_are_switches_too(
    role: str, optimizer: str, hyper: str, label: str
) -> None:
    at = fresh()
    ok(at)
    box = f"explore.{role}_shared"
    assert {c.key: c.label for c in at.checkbox}[box].startswith(label)
    assert f"explore.{role}" not in {s.key for s in at.select_slider}
    at.checkbox(key=box).check().run()
    ok(at)
    slider = at.select_slider(key=f"explore.{role}")
    value = next(float(o) for o in slider.options if float(o) != slider.value)
    slider.set_value(value).run()
    assert getattr(url_state(at), role) == value
    assert compute.effective_hypers(url_state(at), optimizer)[hyper] == value
    at.checkbox(key=box).uncheck().run()
    assert getattr(url_state(at), role) is None


# ---------------------------------------------------------------- 9. what the chart reports


def chart_event(at: AppTest, name: str, x: float, y: float) -> None:
    """What the bridge script sends: a selected point of the trace ``name``."""
    fig = spec(at)
    index = next(i for i, t in enumerate(fig["data"]) if t.get("name") == name)
    point = {"x": x, "y": y, "curve_number": index, "point_number": 0, "point_index": 0}
    at.session_state["explore.race"] = {"selection": {"points": [point]}}


def test_a_click_moves_the_start_to_the_exact_point() -> None:
    at = fresh()
    chart_event(at, figures.CLICK_TARGET, -4.0123, 0.0371)
    at.run()
    ok(at)
    start = trace(spec(at), "start")
    assert start["x"][0] == pytest.approx(-4.01, abs=0.006)  # a pixel is 0.05 here
    assert start["y"][0] == pytest.approx(0.04, abs=0.006)
    assert url_state(at).start == (-4.01, 0.04)


# ---------------------------------------------------------------- 10. the maths


def test_no_symbol_is_written_like_a_coordinate() -> None:
    axes = {a for s in surfaces.names() for a in surfaces.get(s).axis_labels}
    for name in optimizers.names():
        for key, sym in optimizers.get(name).symbols.items():
            assert sym.tex not in axes, (name, key, sym.tex)
    surf = surfaces.get("linear_regression")
    traj = optimizers.simulate(surf, "momentum", (0.0, 0.0), 2, lr=0.01, momentum=0.9, trace=True)
    text = " ".join(explain.explain(traj, 1, axis=surf.axis_labels))
    assert "v_{1} = " in text
    assert not re.search(r"b_\{1\} = \\left\(", text)  # b is the bias, never a pair


def test_captions_name_the_lessons_by_their_titles() -> None:
    texts = [optimizers.get(n).notes for n in optimizers.names()]
    texts += [p.title + " " + p.watch for p in presets.PRESETS]
    for text in texts:
        assert not re.search(r"[Ll]esson 00\d", text), text
        assert not re.search(r"the [\w-]+ lesson\b", text), text
        if re.search(r"\blesson\b", text):
            assert any(t in text for t in LESSON_TITLES), text


def test_the_explained_step_is_marked_and_the_scrubber_sets_it() -> None:
    at = fresh({"v": "2", "opt": "sgd,momentum", "explain": "momentum", "steps": "60"})
    ok(at)
    fig = spec(at)
    mark = trace(fig, figures.EXPLAINED)
    assert mark["text"][-1] == "t = 1"
    animated = fig["frames"][0]["traces"]
    assert fig["data"].index(mark) in animated  # playback moves it with the heads
    chart_event(at, figures.EXPLAINED, 37, 0)  # the visitor moved the scrubber to step 37
    at.run()
    ok(at)
    assert at.number_input(key="explore.explain_step").value == 37
    assert any("step 37 of 60" in m.value for m in at.markdown)
    fig = spec(at)
    mark = trace(fig, figures.EXPLAINED)
    mom = compute.race(url_state(at)).runs["momentum"]
    assert mark["text"][-1] == "t = 37"
    pixel = 0.01  # the figure rounds to a hundredth on this 20-unit plot
    np.testing.assert_allclose([mark["x"][-1], mark["y"][-1]], mom.positions[37, 0], atol=pixel)
    heads = trace(fig, "heads")  # the figure opens where the scrubber was: step 37
    np.testing.assert_allclose([heads["x"][1], heads["y"][1]], mom.positions[37, 0], atol=pixel)
    steps = figures.slider_steps(figures.frame_steps(60, figures.Style().max_frames))
    assert steps[fig["layout"]["sliders"][0]["active"]] <= 37


# ---------------------------------------------------------------- 11. schedules


def test_a_schedule_plots_its_learning_rate_per_step() -> None:
    at = fresh({"v": "2", "opt": "sgd,adam", "sched": "step", "sched.step_size": "50"})
    ok(at)
    fig = spec(at)
    assert [a["text"] for a in fig["layout"]["annotations"]][-1] == "learning rate"
    title = optimizers.get("sgd").title
    sgd = next(t for t in fig["data"] if t.get("name") == title and t.get("xaxis") == "x2")
    parts = " ".join("|" if v is None else "." for v in sgd["y"]).split("|")
    assert len(parts) == 3  # loss, gradient norm, learning rate
    lr = np.array(sgd["customdata"][-len(parts[2].split()) :])
    base = float(page_defaults("ravine", "sgd")["lr"])
    assert lr.max() == pytest.approx(base)
    assert lr.min() == pytest.approx(base * 0.1**3)  # steps 151-200: three decays
    assert len(fig["frames"][-1]["data"][1]["x"]) == 3 * 2 + 1  # three bands, two runs
    plain = spec(fresh())
    assert len(plain["layout"]["annotations"]) == 2  # no schedule: no learning-rate band


def test_schedule_settings_have_plain_labels_and_the_torch_name_in_the_help() -> None:
    at = fresh({"sched": "plateau"})
    ok(at)
    widgets = [*at.number_input, *at.select_slider, *at.selectbox, *at.slider]
    mine = {w.key: w for w in widgets if w.key and w.key.startswith("explore.sc.plateau.")}
    assert mine
    for h in optimizers.schedules.get("plateau").hypers:
        w = mine[f"explore.sc.plateau.{h.name}"]
        assert w.label.startswith(h.label), w.label  # the plain label, not the keyword
        assert f"`{h.name}`" in w.help
    for name in optimizers.schedules.names():
        for h in optimizers.schedules.get(name).hypers:
            assert h.label, (name, h.name)
            assert "_" not in h.label, (name, h.name)
            assert h.label[0].isupper(), (name, h.name)  # words, not a keyword


# ---------------------------------------------------------------- 14. smaller things


def test_steps_reach_every_count_up_to_ten() -> None:
    at = fresh()
    options = [int(o) for o in at.select_slider(key="explore.steps").options]
    assert options[:11] == list(range(11))
    assert options[-1] == urlstate.MAX_STEPS
    at.select_slider(key="explore.steps").set_value(1).run()
    ok(at)
    assert spec(at)["frames"][-1]["name"] == "1"
    assert url_state(at).steps == 1


@pytest.mark.parametrize(
    "opt", ["adam,bogus", "x" * 250, "sgd,sgd", ",".join(optimizers.names() * 2)]
)
def test_a_bad_optimizer_list_falls_back_to_a_default_that_applies(opt: str) -> None:
    at = fresh({"opt": opt})
    ok(at)
    assert any("opt" in w.value and "using the default" in w.value for w in at.warning)
    assert not any("Pick at least one optimizer" in w.value for w in at.warning)
    assert url_state(at).optimizers == tuple(optimizers.DEFAULT_SET)
    names = {t.get("name") for t in spec(at)["data"]}
    assert {optimizers.get(n).title for n in optimizers.DEFAULT_SET} <= names


def test_one_set_of_defaults_for_the_page_and_its_links() -> None:
    """A plain visit, a hand-written v2 link and a bad value all mean the page's values."""
    plain = compute.race(url_state(fresh()))
    hand = fresh({"v": "2", "opt": "sgd"})
    ok(hand)
    lr = page_defaults("ravine", "sgd")["lr"]
    assert compute.effective_hypers(url_state(hand), "sgd")["lr"] == lr
    assert plain.runs["sgd"].hyperparams["lr"] == lr
    bad = fresh({"v": "2", "opt": "sgd", "sgd.lr": "nan"})
    assert any(f"using {lr!r}" in w.value for w in bad.warning)
    assert compute.effective_hypers(url_state(bad), "sgd")["lr"] == lr
    # the page writes that link back without the value it leaves to the page
    assert "sgd.lr" not in {k for k in hand.query_params}
    # a link that only says how to show the page opens the page's own race
    shown = fresh({"big": "1", "dark": "1"})
    assert compute.effective_hypers(url_state(shown), "sgd")["lr"] == lr
    # a link from before link versions keeps its meaning: torch's default learning rate
    old = fresh({"opt": "sgd"})
    assert compute.effective_hypers(url_state(old), "sgd")["lr"] == 0.001
    assert url_state(old).hyper == {}
    # and another surface's first race starts from that surface's values
    at = fresh()
    at.selectbox(key="explore.surface").set_value("rosenbrock").run()
    ok(at)
    state = url_state(at)
    for n in optimizers.DEFAULT_SET:
        assert compute.effective_hypers(state, n)["lr"] == page_defaults("rosenbrock", n)["lr"]


def test_a_setting_the_visitor_changed_survives_a_change_of_surface() -> None:
    at = fresh()
    at.selectbox(key="explore.tune").set_value("adam").run()
    at.select_slider(key="explore.hp.adam.lr").set_value(0.02).run()
    at.selectbox(key="explore.surface").set_value("beale").run()
    ok(at)
    state = url_state(at)
    assert compute.effective_hypers(state, "adam")["lr"] == 0.02
    assert compute.effective_hypers(state, "sgd")["lr"] == page_defaults("beale", "sgd")["lr"]


def test_v2_links_round_trip_and_stay_short() -> None:
    state = ExploreState(
        surface="rosenbrock",
        optimizers=("sgd", "adam"),
        hyper=urlstate.page_hyper("rosenbrock", ("sgd", "adam")),
    )
    q = encode(state)
    assert q == {"v": "2", "surface": "rosenbrock", "opt": "sgd,adam"}
    assert decode(q) == (state, [])
    at_torch = ExploreState(surface="rosenbrock", optimizers=("sgd",))  # torch's 0.001
    q = encode(at_torch)
    assert q["sgd.lr"] == "0.001"
    assert decode(q) == (at_torch, [])


@pytest.mark.parametrize("dark", [False, True])
def test_the_maths_panel_wears_the_explained_optimizers_colour(dark: bool) -> None:
    """The step-by-step maths starts with a swatch in the colour its optimizer has on the
    race, the curves and the table (dark figures included)."""
    at = fresh({"opt": "sgd,adam", "explain": "adam", **({"dark": "1"} if dark else {})})
    at.segmented_control(key="explore.panels").set_value(["Step-by-step maths"]).run()
    ok(at)
    colour = colormap.optimizer_style("adam", dark=dark)[0]
    other = colormap.optimizer_style("sgd", dark=dark)[0]
    head = next(m.value for m in at.markdown if "**Adam**" in m.value and "step" in m.value)
    assert f'color:{colour}"' in head
    assert other not in head
    fig = spec(at)
    assert any(t.get("line", {}).get("color") == colour for t in fig["data"])  # the same hue


def test_an_old_link_says_it_keeps_torchs_rates_and_offers_the_pages() -> None:
    """A link without v=2 that names optimizers but not their learning rates keeps its old
    meaning (torch's rates: tests/test_old_links.py), and says so in the notices with a button
    that puts the page's starting rates in; a v2 link or a link with the rate says nothing."""
    at = fresh({"opt": "sgd,adam"})
    ok(at)
    assert compute.effective_hypers(url_state(at), "sgd")["lr"] == 0.001
    notes = " ".join(str(w.value) for w in at.warning)
    assert "This link has no version" in notes
    assert "(0.07, 0.3)" in notes  # the ravine's starting rates for SGD and Adam
    at.button(key="explore.use_page_rates").click().run()
    ok(at)
    state = url_state(at)
    assert compute.effective_hypers(state, "sgd")["lr"] == page_defaults("ravine", "sgd")["lr"]
    assert compute.effective_hypers(state, "adam")["lr"] == page_defaults("ravine", "adam")["lr"]
    assert "This link has no version" not in " ".join(str(w.value) for w in at.warning)
    for quiet in ({"v": "2", "opt": "sgd"}, {"opt": "sgd", "sgd.lr": "0.001"}, {"big": "1"}):
        at = fresh(quiet)
        assert "This link has no version" not in " ".join(str(w.value) for w in at.warning)

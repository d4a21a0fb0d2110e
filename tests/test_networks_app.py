"""The Networks page through Streamlit's AppTest: the default page, every lesson, every control,
every view, the buttons, the link, and bad input that must end in a clear message.

The figures are read back from the page (``json.loads(chart.proto.spec)``); what the numbers
mean is tested in tests/test_networks_torch.py, tests/test_replay.py and tests/test_planes.py.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import netcompute as nc
from app import netexports, presets, routes
from app.state.networks import CODEC, VIEWS, NetworksState

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
TIMEOUT = 180
K = "networks."


def open_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(routes.script("networks"))
    return at.run()


def clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]


def state_of(at: AppTest) -> NetworksState:
    state, warnings = CODEC.decode({k: at.query_params[k] for k in at.query_params})
    assert warnings == []
    return state


def figures(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def text(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("markdown", "caption", "info", "warning", "error")
             for e in getattr(at, kind)]  # fmt: skip
    return " ".join(parts)


# ---------------------------------------------------------------- the default page


def test_the_default_page_trains_the_lessons_xor_network_with_five_optimizers() -> None:
    at = open_page()
    clean(at)
    assert dict(at.query_params) == {}  # a plain visit: a bare link
    figs = figures(at)
    assert len(figs) == 4  # training, curves, landscape, inside (the maths is LaTeX)
    train = figs[0]
    names = [t["name"] for t in train["data"]]
    assert "training points" in names
    assert names[-1] == "now"  # the animated trace
    assert len(train["frames"]) == nc.FRAMES
    first, last = train["frames"][0], train["frames"][-1]
    assert first["name"] == "0"
    assert last["name"] == "1000"
    assert len(first["layout"]["images"]) == 5  # one decision boundary per optimizer
    assert first["layout"]["images"][0]["source"] != last["layout"]["images"][0]["source"]
    assert {b["label"] for b in train["layout"]["updatemenus"][0]["buttons"]} >= {
        "▶ Play",
        "Pause",
        "Replay",
    }
    assert "epoch 1000" in last["data"][-1]["text"]  # the "now" trace, after the points
    table = " ".join(str(m.value) for m in at.markdown)
    for title in ("Gradient descent (SGD)", "Momentum", "Nesterov momentum", "RMSprop", "Adam"):
        assert title in table
    assert "100%" in table
    assert len(at.get("latex")) >= 5  # the step-by-step maths of one weight
    payload = sum(len(c.proto.spec) for c in at.get("plotly_chart"))
    assert payload < 1_000_000, payload


def test_the_page_is_in_the_navigation_and_the_lessons_catalogue() -> None:
    assert "networks" in routes.BY_NAME
    assert {p.page for p in presets.NETWORK_PRESETS} == {"networks"}
    assert len(presets.NETWORK_PRESETS) >= 5
    assert all(p in presets.LESSONS for p in presets.NETWORK_PRESETS)
    assert presets.for_page("explore") == presets.PRESETS  # Explore's popover is unchanged


# ---------------------------------------------------------------- every lesson


@pytest.mark.parametrize("p", presets.NETWORK_PRESETS, ids=lambda p: p.key)
def test_each_lesson_opens_on_the_networks_page_with_its_note(p: presets.Preset) -> None:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.switch_page(routes.script("lessons"))
    at.run()
    at.button(key=f"lessons.open.{p.key}").click().run()  # switches page
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any(html.escape(p.watch) in m.value for m in at.markdown)  # the lesson's note
    assert state_of(at) == CODEC.canonical(p.state)[0]
    assert figures(at), "no training figure"


def test_a_lesson_from_the_pages_own_popover() -> None:
    at = open_page()
    at.session_state[K + "lessons_open"] = True
    at.run()
    keys = {b.key for b in at.button if b.key and b.key.startswith(K + "lesson_")}
    assert keys == {f"{K}lesson_{p.key}" for p in presets.NETWORK_PRESETS}
    at.button(key=f"{K}lesson_net_spirals").click().run()
    assert not at.exception
    s = state_of(at)
    assert (s.dataset, s.hidden, s.activation) == ("spiral", (8, 8), "tanh")


# ---------------------------------------------------------------- every control

CONTROLS: list[tuple[str, str, Any, dict[str, str]]] = [
    # (widget kind, key, value, what the link then holds)
    ("selectbox", "dataset", "circle", {"data": "circle"}),
    ("checkbox", "show_test", True, {"test": "1"}),
    ("checkbox", "discretize", True, {"discrete": "1"}),
    ("selectbox", "activation", "tanh", {"act": "tanh"}),
    ("selectbox", "regularization", "l2", {"reg": "l2"}),
    ("selectbox", "init", "zeros", {"init": "zeros"}),
    ("selectbox", "bce", "logits", {"bce": "logits"}),
    ("slider", "layers", 2, {"hidden": "4,4"}),
    ("multiselect", "features", ["x", "y", "x2"], {"feat": "x,y,x2"}),
    ("multiselect", "optimizers", ["adam", "lion"], {"opt": "adam,lion"}),
    ("multiselect", "compare_batch_sizes", [4, 1, 2], {"batches": "4,1,2"}),
    ("multiselect", "compare_lrs", [0.1, 1.0], {"lrs": "0.1,1.0"}),
    ("select_slider", "batch", 2, {"batch": "2"}),
    ("radio", "shuffle", True, {"shuffle": "1"}),
    ("checkbox", "shared_lr", True, {"shared": "1"}),
    ("selectbox", "schedule", "step", {"sched": "step"}),
]


@pytest.mark.parametrize(("kind", "key", "value", "link"), CONTROLS, ids=[c[1] for c in CONTROLS])
def test_every_sidebar_control_changes_the_page_and_its_link(
    kind: str, key: str, value: Any, link: dict[str, str]
) -> None:
    at = open_page()
    getattr(at, kind)(key=K + key).set_value(value).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    query = {k: at.query_params[k] for k in at.query_params}
    for k, v in link.items():
        assert query.get(k) in (v, [v]), (key, query)
    assert figures(at), key


def test_number_boxes_and_sliders_of_the_data_and_the_training() -> None:
    at = open_page({"data": "gauss", "epochs": "50"})
    clean(at)
    at.slider(key=K + "n").set_value(200).run()
    at.slider(key=K + "noise").set_value(0.2).run()
    at.slider(key=K + "ratio").set_value(70).run()
    at.number_input(key=K + "data_seed").set_value(4).run()
    at.number_input(key=K + "epochs").set_value(30).run()
    at.number_input(key=K + "seed").set_value(9).run()
    at.selectbox(key=K + "regularization").set_value("l1").run()
    at.select_slider(key=K + "rate").set_value(0.01).run()
    at.slider(key=K + "layers").set_value(1).run()
    at.number_input(key=K + "units0").set_value(7).run()
    assert not at.exception, [e.message for e in at.exception]
    s = state_of(at)
    assert (s.n_points, s.noise, s.train_ratio, s.data_seed) == (200, 0.2, 0.7, 4)
    assert (s.epochs, s.seed, s.rate, s.hidden) == (30, 9, 0.01, (7,))
    train = nc.training(s)
    assert train.net is not None
    assert train.net.n_samples == 140
    assert train.net.sizes == (2, 7, 1)


def test_problem_type_switches_to_the_regression_sets() -> None:
    at = open_page()
    at.segmented_control(key=K + "problem").set_value("regression").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    s = state_of(at)
    assert s.dataset == "linear"  # the lessons' regression: y = w x + b, Explore's surface
    net = nc.build_network(s)
    assert net.sizes == (1, 1)
    assert net.param_names == ("w[1][0,0]", "b[1][0]")
    at.selectbox(key=K + "dataset").set_value("plane").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "test loss" in json.dumps(figures(at)[0]["layout"]["annotations"])


def test_an_optimizers_own_settings_change_only_its_run() -> None:
    at = open_page()
    at.selectbox(key=K + "tune").set_value("adam").run()
    at.select_slider(key=K + "hp.adam.lr").set_value(0.03).run()
    clean(at)
    s = state_of(at)
    assert s.hyper == {"adam": {"lr": 0.03}}
    assert nc.training(s).runs["adam"].traj.hyperparams["lr"] == 0.03


def test_the_one_step_and_reset_buttons() -> None:
    at = open_page()
    assert at.number_input(key=K + "at").value == 1000
    at.button(key=K + "reset_button").click().run()
    assert at.number_input(key=K + "at").value == 0
    assert state_of(at).at == 0
    at.button(key=K + "step_button").click().run()
    assert at.number_input(key=K + "at").value == 1
    assert state_of(at).at == 1
    assert any("step 1 " in str(m.value) or "step 1," in str(m.value) for m in at.markdown)
    at.number_input(key=K + "at").set_value(1000).run()
    at.button(key=K + "step_button").click().run()  # at the end: one more epoch
    assert state_of(at).epochs == 1001
    assert at.number_input(key=K + "at").value == 1001
    clean(at)


# ---------------------------------------------------------------- every view


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_view_draws(view: str) -> None:
    at = open_page({"views": view, "epochs": "200"})
    clean(at)
    if view == "about":
        assert at.expander
    elif view == "export":
        assert len(at.get("download_button")) == 3
    elif view == "maths":
        assert len(at.get("latex")) >= 5
    else:
        assert len(figures(at)) == 2, view


def test_how_often_shows_the_share_that_works_and_the_failures_of_relu_xor() -> None:
    at = open_page({"views": "often", "opt": "sgd", "inits": "60"})
    clean(at)
    fig = figures(at)[1]
    traces = {t["name"]: t for t in fig["data"]}
    worked = traces["Gradient descent (SGD): worked"]
    failed = traces["Gradient descent (SGD): failed"]
    assert len(worked["x"]) + len(failed["x"]) == 60
    assert 0 < len(failed["x"]) < 60  # ReLU XOR 2-4-1 fails from some starts
    seeds = [c[0] for c in failed["customdata"]]
    assert 2 in seeds  # the lesson's "dead units" seed
    assert sum(c[3] >= 1 for c in failed["customdata"]) >= len(failed["x"]) // 2
    assert "dead ReLU unit" in text(at)


def test_a_click_on_a_failed_run_opens_it() -> None:
    at = open_page({"views": "often", "opt": "sgd,adam", "inits": "20"})
    assert not at.exception
    at.session_state[K + "often_chart"] = {
        "selection": {"points": [{"curve_number": 1, "point_index": 0, "customdata": [2, "sgd"]}]}
    }
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    s = state_of(at)
    assert s.seed == 2
    assert "inside" in s.views
    assert "Opened seed 2" in text(at)


def test_the_landscape_says_when_paths_run_off_a_random_plane() -> None:
    at = open_page({"views": "landscape", "plane": "random"})
    assert not at.exception
    assert "far off the plane" in " ".join(str(w.value) for w in at.warning)
    at = open_page({"views": "landscape"})
    clean(at)
    assert "keep **99." in text(at) or "keep **100" in text(at)


def test_an_all_zero_start_explains_why_no_random_plane() -> None:
    at = open_page({"views": "landscape", "plane": "random", "init": "zeros"})
    assert not at.exception
    assert "all-zero" in text(at)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"hidden": "4,4,4,4,4,4,4"}, "at most 6 hidden layers"),
        ({"hidden": "33"}, "from 1 to 32"),
        ({"data": "circle", "n": "5000"}, "from 2 to 2000"),
        ({"opt": "adam", "adam.lr": "1e9"}, "adam.lr"),
        ({"w": "999"}, "Ignored `w=999`"),
        ({"views": "nope"}, "unknown view"),
    ],
)
def test_links_beyond_the_caps_are_explained_politely(query: dict[str, str], needle: str) -> None:
    at = open_page(query)
    assert not at.exception, [e.message for e in at.exception]
    assert needle in " ".join(str(w.value) for w in at.warning)
    assert figures(at)


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"data": "circle", "n": "5", "ratio": "0.1"}, "empty"),
        ({"data": "gauss", "n": "2", "ratio": "0.5"}, "only one class"),
    ],
)
def test_an_empty_or_one_class_data_set_is_a_message(query: dict[str, str], needle: str) -> None:
    at = open_page(query)
    assert not at.exception, [e.message for e in at.exception]
    assert needle in " ".join(str(e.value) for e in at.error)


def test_a_learning_rate_that_overflows_is_marked_diverged_at_its_step() -> None:
    at = open_page({"data": "plane", "opt": "sgd", "sgd.lr": "10", "epochs": "400"})
    assert not at.exception, [e.message for e in at.exception]
    warn = " ".join(str(w.value) for w in at.warning)
    assert "diverged at step" in warn
    fig = figures(at)[0]
    assert "diverged" in [t["name"] for t in fig["data"]]
    assert "overflow" in " ".join(str(m.value) for m in at.markdown) or "diverged" in warn
    table = " ".join(str(m.value) for m in at.markdown)
    assert "nan" not in table.lower().replace("nan ", "")


def test_too_many_steps_are_capped_with_a_message() -> None:
    at = open_page({"data": "spiral", "batch": "1", "epochs": "2000"})
    assert not at.exception, [e.message for e in at.exception]
    assert "more than this page runs at once" in " ".join(str(w.value) for w in at.warning)


def test_no_optimizer_and_no_feature_are_explained() -> None:
    at = open_page()
    at.multiselect(key=K + "optimizers").set_value([]).run()
    assert not at.exception
    assert "Pick at least one optimizer" in text(at)
    at.multiselect(key=K + "optimizers").set_value(["sgd"]).run()
    at.multiselect(key=K + "features").set_value([]).run()
    assert not at.exception
    assert "at least one input feature" in text(at).replace("at least 1", "at least one")


# ---------------------------------------------------------------- link and exports


def test_the_share_link_reproduces_the_page() -> None:
    s = dataclasses.replace(
        NetworksState(), dataset="moons", hidden=(6,), optimizers=("adam",), epochs=80,
        views=("curves",), seed=3,
    )  # fmt: skip
    at = open_page(CODEC.encode(s))
    clean(at)
    assert state_of(at) == s
    at.session_state[K + "share_open"] = True
    at.run()
    assert "data=moons" in at.code[0].value


def test_exports_hold_losses_and_parameters_per_step() -> None:
    s = dataclasses.replace(NetworksState(), optimizers=("sgd", "adam"), epochs=20)
    train = nc.training(s)
    assert train.net is not None
    names = list(train.net.param_names)
    csv_text = netexports.to_csv(s, train.runs, names, "http://x/networks")
    lines = list(csv.reader(ln for ln in csv_text.splitlines() if not ln.startswith("#")))
    head = lines[0]
    assert head[:5] == ["run", "optimizer", "step", "epoch", "loss"]
    assert head[-17:] == names
    assert len(lines) == 1 + 2 * 21
    row = lines[-1]
    run = train.runs["adam"]
    assert float(row[head.index("loss")]) == float(run.traj.loss[-1, 0])
    assert float(row[head.index("b[2][0]")]) == float(run.traj.params[-1, 0, -1])
    data = json.loads(netexports.to_json(s, train.runs, names, ""))
    assert data["parameters"] == names
    assert np.allclose(data["runs"]["sgd"]["params"], train.runs["sgd"].traj.params[:, 0])
    fig, _ = nc.training_figure(train, nc_style(), discretize=False, show_test=False)
    page = netexports.to_html(s, fig)
    assert "Plotly.newPlot" in page or "newPlot" in page
    assert "▶ Play" in page


def nc_style() -> Any:
    from app.figures import Style

    return Style()


def test_presenter_mode_hides_the_controls() -> None:
    at = open_page({"embed": "true"})
    assert not at.exception
    assert any("stSidebar" in str(h.proto) and "display: none" in str(h.proto)
               for h in at.get("html"))  # fmt: skip


def test_big_networks_replay_only_what_a_view_asks_for() -> None:
    s = dataclasses.replace(
        NetworksState(), dataset="circle", hidden=(32, 32), epochs=300, optimizers=("adam",)
    )
    run = nc.training(s).runs["adam"]
    assert nc.observed(run) is None  # every step of every weight: more than the page keeps
    snap = nc.snapshot(run, 123)
    np.testing.assert_array_equal(snap.params, run.traj.params[123, 0])
    assert set(snap.state) == {"exp_avg", "exp_avg_sq"}
    lane = nc.lane(run, 7, 300)  # one weight's series, replayed alone
    np.testing.assert_array_equal(lane.params, run.traj.params[:, 0, 7])


def test_main_area_controls_change_the_link() -> None:
    at = open_page({"views": "landscape,inside,maths,often", "inits": "20"})
    assert not at.exception, [e.message for e in at.exception]
    at.radio(key=K + "plane").set_value("random").run()
    at.selectbox(key=K + "centre").set_value("adam").run()
    at.selectbox(key=K + "focus").set_value("adam").run()
    at.selectbox(key=K + "weight").set_value(5).run()
    at.number_input(key=K + "at").set_value(10).run()
    at.number_input(key=K + "inits").set_value(30).run()
    at.select_slider(key=K + "target").set_value(0.01).run()
    at.segmented_control(key=K + "views").set_value(["inside", "maths", "often"]).run()
    assert not at.exception, [e.message for e in at.exception]
    s = state_of(at)
    assert (s.plane, s.centre, s.focus, s.weight, s.at) == ("random", "adam", "adam", 5, 10)
    assert (s.inits, s.target, s.views) == (30, 0.01, ("inside", "maths", "often"))
    assert "step 10" in " ".join(str(m.value) for m in at.markdown)


def test_the_jobs_process_yields_the_cores_to_the_students_reruns() -> None:
    """The process that trains the networks starts at a lower priority (nice +10), as the
    map threads do, so a rerun on any page gets a core before a network in training."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from app import netjobs

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=netjobs.warm) as pool:
        assert pool.submit(os.nice, 0).result() == min(os.nice(0) + netjobs.NICE, 19)


# ---------------------------------------------------------------- the same race on Explore


def explore_link(at: AppTest) -> str:
    links = [m.value for m in at.markdown if "See these runs as paths" in str(m.value)]
    assert len(links) == 1, text(at)
    return str(links[0])


@pytest.mark.parametrize(
    ("query", "same"),
    [
        ({}, True),
        ({"batch": "2", "shuffle": "1", "epochs": "100"}, True),
        ({"batch": "1", "epochs": "100"}, False),  # in order: Explore shuffles
        ({"epochs": "3000", "batch": "1", "shuffle": "1"}, False),  # past Explore's steps
    ],
)
def test_the_linear_network_opens_its_runs_on_explores_surface(
    query: dict[str, str], same: bool
) -> None:
    """The lessons' linear regression as a network (y = w x + b) links to Explore's
    linear_regression surface, where the same runs are the same numbers step for step (full
    batch and shuffled mini-batches, to rounding); where they cannot be, the link says why."""
    from urllib.parse import parse_qsl, urlsplit

    from app import compute
    from app.state import explore as explore_state

    at = open_page({"data": "linear", "opt": "sgd,momentum,adam", **query})
    assert not at.exception
    line = explore_link(at)
    href = line.split("](", 1)[1].split(")", 1)[0]
    assert href.startswith("./?")  # the root: Explore is the default page
    race, warnings = explore_state.decode(dict(parse_qsl(urlsplit(href).query)))
    assert warnings == []
    assert race.surface == "linear_regression"
    assert race.optimizers == ("sgd", "momentum", "adam")
    state = state_of(at)
    train = nc.training(state)
    explored = compute.race(race)
    for label, run in train.runs.items():
        ours = run.traj.params[:, 0]  # (R, 2): (w, b) at the recorded steps
        theirs = explored.runs[label].params[:, 0]
        steps = np.intersect1d(run.traj.steps, explored.runs[label].steps)
        out = int(explored.runs[label].diverged_at[0])
        if out >= 0:  # Explore stops a run that leaves its surface's box; a network has none
            steps = steps[steps < out]
        assert steps.size > 10
        a = ours[np.searchsorted(run.traj.steps, steps)]
        b = theirs[np.searchsorted(explored.runs[label].steps, steps)]
        if same:  # a convex quadratic: rounding differences (a sum's order) do not grow
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=label)
            assert "step for step" in line
        else:
            assert np.array_equal(a[0], b[0]), label  # the same start
            assert "Explore" in line.split("](", 1)[1]  # the note says what differs
            assert "the same numbers" not in line


def test_no_explore_link_for_a_network_that_is_not_the_surface() -> None:
    at = open_page({"data": "linear", "hidden": "3"})
    assert not at.exception
    assert "See these runs as paths" not in text(at)
    assert "See these runs as paths" not in text(open_page())


def test_the_curves_show_accuracy_per_step_and_per_epoch() -> None:
    """With mini-batches a step is not an epoch: the accuracy row draws each run's training
    accuracy at every recorded step (thin, against epochs) beside its per-epoch curve."""
    state = dataclasses.replace(NetworksState(), batch_size=1, epochs=50,
                                optimizers=("sgd", "adam"))  # fmt: skip
    train = nc.training(state)
    from app.figures.layout import Style

    fig = nc.curves_figure(train, Style())
    thin = [t for t in fig["data"] if t["line"]["width"] < 2 and t["yaxis"] == "y3"]
    assert len(thin) == 2
    for t, (lb, run) in zip(thin, train.runs.items(), strict=True):
        assert t["legendgroup"] == lb
        assert run.train_acc is not None
        steps = np.asarray(run.traj.steps)
        assert len(t["x"]) == len(steps)  # every recorded step (here 200 + 1)
        np.testing.assert_allclose(np.asarray(t["x"]) * run.spe, steps)
        np.testing.assert_allclose(t["y"], np.round(run.train_acc, 4))
    assert "accuracy per step" in json.dumps(fig["layout"])
    full = nc.curves_figure(nc.training(NetworksState()), Style())  # full batch: no thin line
    assert all(t["line"]["width"] >= 2 for t in full["data"])


def test_the_landscape_says_when_it_draws_a_path_through_some_of_its_steps() -> None:
    long = open_page({"views": "landscape"})  # 1,000 epochs: 1,001 recorded states
    assert not long.exception
    assert "drawn through 400 of its recorded steps" in text(long)
    assert "(the longest has 1,001)" in text(long)
    short = open_page({"views": "landscape", "epochs": "200"})
    assert "drawn through" not in text(short)


def test_the_shared_controls_drive_every_run_on_this_page_too() -> None:
    """Explore's global controls on the Networks page: the shared learning rate, the shared β,
    the momentum convention and a schedule's parameters reach every run they own."""
    at = open_page({"opt": "momentum,adam", "shared": "1", "lr": "0.05", "beta": "0.8",
                    "conv": "ema", "sched": "step", "sched.step_size": "100",
                    "sched.gamma": "0.5", "epochs": "300"})  # fmt: skip
    clean(at)
    train = nc.training(state_of(at))
    mom, adam = train.runs["momentum"].traj, train.runs["adam"].traj
    assert mom.hyperparams["lr"] == adam.hyperparams["lr"] == 0.05
    assert mom.hyperparams["momentum"] == 0.8
    assert adam.hyperparams["beta1"] == 0.8
    assert mom.hyperparams["convention"] == "ema"
    assert adam.lr[0, 0] == 0.05
    assert adam.lr[150, 0] == 0.025  # halved at step 100
    assert adam.lr[250, 0] == 0.0125
    # the shared rate's own control moves every run
    at.select_slider(key="networks.lr").set_value(0.02).run()
    clean(at)
    again = nc.training(state_of(at))
    assert {r.traj.hyperparams["lr"] for r in again.runs.values()} == {0.02}


def test_each_run_wears_its_optimizers_colour_as_on_explore() -> None:
    """Adam is Adam's colour whichever optimizers race with it (not the colour of its place in
    the list); an optimizer compared with itself takes shades of its own colour."""
    from app.figures import colormap
    from app.figures.layout import Style

    for chosen in (("sgd", "momentum", "adam"), ("adam", "rmsprop")):
        state = dataclasses.replace(NetworksState(), optimizers=chosen, epochs=50)
        train = nc.training(state)
        fig = nc.curves_figure(train, Style())
        for opt in chosen:
            colour = colormap.optimizer_style(opt)[0]
            lines = [t["line"]["color"] for t in fig["data"] if t["legendgroup"] == opt]
            assert lines, opt
            assert set(lines) == {colour}, (chosen, opt)
    compared = nc.run_colors(["sgd@lr=0.1", "sgd@lr=1.0", "adam"], dark=False)
    assert compared["sgd@lr=0.1"] == colormap.variant_style("sgd", 0)
    assert compared["sgd@lr=1.0"] == colormap.variant_style("sgd", 1)
    assert compared["sgd@lr=0.1"] != compared["sgd@lr=1.0"]
    assert compared["adam"] == colormap.optimizer_style("adam")

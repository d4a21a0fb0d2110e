"""Exports: CSV and JSON carry every point and the settings; the HTML plays offline in Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces
from app import exports, figures
from app.presets import run_variants
from app.state import explore as urlstate
from app.state.explore import ExploreState
from tests.support import artifact, browser

STATE = ExploreState(
    surface="ravine",
    surface_params={"noise": 0.5},
    optimizers=("sgd", "momentum"),
    hyper={"sgd": {"lr": 0.05}, "momentum": {"lr": 0.05, "momentum": 0.8}},
    start=(-8.0, 4.0),
    swarm=2,
    steps=40,
    seed=3,
    compare_batch_sizes=(4, 16),
)


def make_runs(state: ExploreState = STATE) -> dict[str, optimizers.Trajectory]:
    surf = surfaces.get(state.surface, **state.surface_params)
    starts = np.array([state.start, (5.0, -3.0)])
    return {
        v.label: optimizers.simulate(
            surf,
            v.optimizer,
            starts,
            state.steps,
            batch_size=v.batch_size,
            seed=state.seed,
            **dict[str, Any](state.hyper[v.optimizer]),
        )
        for v in run_variants(state)
    }


def make_fig(runs: dict[str, optimizers.Trajectory]) -> dict[str, Any]:
    surf = surfaces.get(STATE.surface, **STATE.surface_params)
    series = figures.prepare(surf, runs, {k: k for k in runs})
    return figures.race_figure(surf, series, np.array([STATE.start, (5.0, -3.0)]))


def test_csv_is_plain_with_every_point() -> None:
    """One header row, then data: any CSV reader takes it as it is (the settings are in the
    JSON export)."""
    runs = make_runs()
    text = exports.to_csv(runs)
    assert text.splitlines()[0] == ",".join(exports.CSV_COLUMNS)
    assert not any(ln.startswith("#") for ln in text.splitlines())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(exports.CSV_COLUMNS)
    assert len(rows) == sum(t.positions.shape[0] * t.positions.shape[1] for t in runs.values())
    for label, traj in runs.items():
        mine = [r for r in rows if r["run"] == label]
        assert {r["optimizer"] for r in mine} == {traj.optimizer}
        for r in mine[::7]:
            k, t = int(r["start"]), int(r["step"])
            assert float(r["x"]) == traj.positions[t, k, 0]  # exact: repr round trip
            assert float(r["y"]) == traj.positions[t, k, 1]
            assert float(r["loss"]) == traj.loss[t, k]
            assert float(r["grad_norm"]) == traj.grad_norm[t, k]
            if t < STATE.steps:
                assert float(r["lr"]) == traj.lr[t, k]
    pandas = pytest.importorskip("pandas", reason="pandas is not installed")
    frame = pandas.read_csv(io.StringIO(text))  # a plain read, no options
    assert list(frame.columns) == list(exports.CSV_COLUMNS)
    assert len(frame) == len(rows)


def test_json_round_trips_paths_and_settings() -> None:
    runs = make_runs()
    data = json.loads(exports.to_json(STATE, runs))
    assert urlstate.decode(data["query"]) == (STATE, [])
    assert data["state"]["compare_batch_sizes"] == [4, 16]
    assert set(data["runs"]) == set(runs)
    for label, traj in runs.items():
        got = data["runs"][label]
        assert got["optimizer"] == traj.optimizer
        assert got["seed"] == STATE.seed
        for k, path in enumerate(got["paths"]):
            np.testing.assert_array_equal(path["x"], traj.positions[:, k, 0])
            np.testing.assert_array_equal(path["loss"], traj.loss[:, k])
            np.testing.assert_array_equal(path["grad_norm"], traj.grad_norm[:, k])
            assert path["diverged_at"] is None


def test_diverged_runs_export_without_nan() -> None:
    surf = surfaces.get("quadratic_bowl")
    traj = optimizers.simulate(surf, "sgd", (1.0, 1.0), 30, lr=1.5)
    assert traj.diverged_at[0] > 0
    state = ExploreState(surface="quadratic_bowl", optimizers=("sgd",), hyper={"sgd": {"lr": 1.5}})
    data = json.loads(exports.to_json(state, {"sgd": traj}))  # allow_nan=False inside
    assert data["runs"]["sgd"]["paths"][0]["diverged_at"] == int(traj.diverged_at[0])
    rows = exports.to_csv({"sgd": traj}).splitlines()
    assert rows[-1].endswith(",1")  # diverged flag on the last row
    assert "nan" not in "\n".join(rows).lower()


def test_png_config_names_the_file() -> None:
    cfg = exports.chart_config(STATE)
    assert cfg["toImageButtonOptions"] == {
        "format": "png",
        "filename": "race_ravine_sgd-momentum",
        "scale": 2,
    }


def test_html_is_standalone() -> None:
    html = exports.to_html(STATE, make_fig(make_runs()), title="Ravine <race> & co")
    assert re.findall(r"<script[^>]*>", html) == ["<script>"] * len(re.findall("<script", html))
    assert not re.search(r"<(link|img|iframe)[^>]+(src|href)=.https?:", html)
    assert len(html) > 3_000_000  # plotly.min.js is inside
    assert "<title>Ravine &lt;race&gt; &amp; co</title>" in html
    assert "opt=sgd,momentum" in html
    assert "batches=4,16" in html


def _points(page: Any) -> list[str]:
    points: list[str] = page.eval_on_selector_all(
        ".scatterlayer .trace .points path",
        "els => els.map(e => e.getAttribute('transform'))",
    )
    return points


def _open_offline(page: Any, path: Any) -> list[str]:
    blocked: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_selector(".scatterlayer .trace .points path", timeout=30_000)
    return blocked


@pytest.mark.browser
def test_exported_html_plays_offline_in_chromium() -> None:
    runs = make_runs()
    path = artifact("export_autoplay.html")
    path.write_text(exports.to_html(STATE, make_fig(runs), autoplay=True), encoding="utf-8")
    with browser() as page:
        blocked = _open_offline(page, path)
        seen = [_points(page)]
        for _ in range(4):
            time.sleep(0.4)
            seen.append(_points(page))
        assert blocked == []
        assert len({tuple(s) for s in seen}) >= 3, "the markers did not move"
        assert page.title() == "Optimizer Playground"
        assert page.locator("table").inner_text().count("momentum") >= 1


@pytest.mark.browser
def test_exported_html_waits_for_play_without_autoplay() -> None:
    path = artifact("export_manual.html")
    path.write_text(exports.to_html(STATE, make_fig(make_runs()), autoplay=False), "utf-8")
    with browser() as page:
        _open_offline(page, path)
        before = _points(page)
        time.sleep(0.8)
        assert _points(page) == before  # nothing plays by itself
        page.locator(".updatemenu-button", has_text="Play").first.click()
        time.sleep(0.8)
        assert _points(page) != before


@pytest.mark.browser
def test_exported_html_has_no_javascript_error_after_replay_pause_play() -> None:
    """Pause interrupts a running animation, and plotly rejects the interrupted animation's
    promise: the exported page runs its buttons itself and catches that."""
    path = artifact("export_buttons.html")
    path.write_text(exports.to_html(STATE, make_fig(make_runs()), autoplay=False), "utf-8")
    with browser() as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _open_offline(page, path)
        moved = []
        for label in ("Replay", "Pause", "Play", "Pause", "Replay", "Play"):
            before = _points(page)
            page.locator(".updatemenu-button", has_text=label).first.click()
            page.wait_for_timeout(500)
            moved.append(_points(page) != before)
        assert errors == []
        assert moved[0]  # the buttons still play
        assert moved[2]


@pytest.mark.browser
def test_figure_without_play_button_gets_one() -> None:
    fig = make_fig(make_runs())
    fig["layout"] = {k: v for k, v in fig["layout"].items() if k not in ("updatemenus", "sliders")}
    path = artifact("export_own_buttons.html")
    path.write_text(exports.to_html(STATE, fig, autoplay=False, frame_ms=40), "utf-8")
    with browser() as page:
        _open_offline(page, path)
        before = _points(page)
        page.click("#play")
        time.sleep(0.8)
        assert _points(page) != before


def test_exports_panel_offers_three_downloads_and_the_png_hint() -> None:
    """The Export panel under the race, on the real page (AppTest)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    main = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
    at = AppTest.from_file(main, default_timeout=120)
    at.query_params["opt"] = "sgd"
    at.run()
    at.segmented_control(key="explore.panels").set_value(["Export"]).run()
    assert not at.exception
    buttons = at.get("download_button")
    assert len(buttons) == 3
    assert any("camera" in c.value and "race_ravine_sgd.png" in c.value for c in at.caption)


def _downloads_script() -> None:
    from app.ui.exports_panel import Download, downloads_ui

    downloads_ui([Download("The grid (CSV)", lambda: "a,b\n1,2\n", "grid.csv", "k")], "grid")


def test_one_download_has_the_png_hint_beside_it() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_downloads_script, default_timeout=60).run()
    assert not at.exception
    assert len(at.get("download_button")) == 1
    assert any("`grid.png`" in c.value for c in at.caption)


# ---------------------------------------------------------------- the real page in Chromium


@pytest.mark.browser
def test_page_export_downloads_an_html_that_plays_offline() -> None:
    from app import presets
    from tests.support import free_port_from, streamlit_server, wait_for_chart

    lesson = presets.BY_KEY["adam_default_lr"].state
    query = urlstate.query_string(urlstate.encode(lesson))
    path = artifact("page_export.html")
    with streamlit_server(free_port_from(8650, 8670)) as url, browser() as page:
        page.goto(f"{url}/?{query}")
        wait_for_chart(page, timeout_ms=90_000)
        assert page.locator("[data-testid=stException]").count() == 0
        page.get_by_text("Export", exact=True).click()
        with page.expect_download(timeout=60_000) as dl:
            page.get_by_role("button", name="Animation (HTML)").click()
        dl.value.save_as(path)
        assert dl.value.suggested_filename == "race_quadratic_bowl_sgd-adam.html"
        with page.expect_download(timeout=60_000) as dl_json:
            page.get_by_role("button", name="Trajectories (JSON)").click()
        data = json.loads(Path(dl_json.value.path()).read_text(encoding="utf-8"))
        assert urlstate.decode(data["query"])[0] == lesson
        np.testing.assert_allclose(data["runs"]["adam"]["paths"][0]["x"][-1], 0.93755, atol=1e-4)
    html = path.read_text(encoding="utf-8")
    assert "Ignored" not in html
    assert "adam.lr" in html
    with browser() as page:
        assert _open_offline(page, path) == []
        before = _points(page)
        page.locator(".updatemenu-button", has_text="Play").first.click()
        time.sleep(0.8)
        assert _points(page) != before


def test_file_names_name_every_optimizer_of_the_race_or_say_how_many() -> None:
    """The default race's five optimizers are all in its file names (Adam was cut off after
    four); past five the name says how many instead of naming some."""
    from app import netexports
    from app.state.explore import ExploreState
    from app.state.networks import NetworksState

    five = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
    assert exports.base_name(ExploreState(optimizers=five)).endswith("rmsprop-adam")
    assert netexports.base_name(NetworksState(optimizers=five)).endswith("rmsprop-adam")
    seven = (*five, "adamw", "lion")
    assert exports.base_name(ExploreState(optimizers=seven)) == "race_ravine_7-optimizers"
    assert netexports.base_name(NetworksState(optimizers=seven)) == "network_xor_7-optimizers"
    assert netexports.base_name(NetworksState(optimizers=())) == "network_xor_none"

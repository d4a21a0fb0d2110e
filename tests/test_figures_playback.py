"""What the race figure and the entry point do for the browser's speed (no browser needed).

The timings themselves are measured by benchmarks/bench_app.py; these tests pin down the
settings those timings rely on, so that a refactor cannot silently undo them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from app import figures

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")


def race(name: str = "rosenbrock", steps: int = 200) -> dict:
    s = surfaces.get(name)
    start = np.array(s.default_start)
    runs = {n: optimizers.simulate(s, n, start, steps) for n in ("sgd", "adam")}
    series = figures.prepare(s, runs, {n: n for n in runs})
    return figures.race_figure(s, series, start[None, :])


def test_clicks_need_no_grid_of_points() -> None:
    """A click anywhere is turned into coordinates by the page's bridge script; the figure
    only carries one invisible target point (not a grid to snap to) and marks itself for it."""
    fig = race()
    target = next(t for t in fig["data"] if t["name"] == figures.CLICK_TARGET)
    assert len(target["x"]) == len(target["y"]) == 1
    assert target["hoverinfo"] == "skip"
    assert fig["layout"]["meta"] == {"op": "race"}
    assert sum(len(t.get("x", [])) for t in fig["data"] if "xaxis" not in t) < 3000


def test_play_is_not_capped_at_half_the_display_rate() -> None:
    menu = race()["layout"]["updatemenus"][0]
    play = next(b for b in menu["buttons"] if "Play" in b["label"])
    frame = play["args"][1]["frame"]
    # plotly advances when more than `duration` ms passed since the last frame: at 60 Hz a
    # duration of 16.7 ms or more could advance only every second tick (30 fps at best)
    assert frame["duration"] < 1000 / 60
    assert frame["redraw"] is False
    assert play["args"][1]["transition"]["duration"] == 0


def test_frames_touch_only_the_marker_traces_and_the_step_readout() -> None:
    fig = race()
    names = [t["name"] for t in fig["data"]]
    moving = {names.index(n) for n in ("heads", "curves-now")}
    assert all(set(f["traces"]) == moving for f in fig["frames"])
    assert all(set(f) == {"name", "data", "traces"} for f in fig["frames"])  # no frame layout
    now = names.index("curves-now")
    for f in fig["frames"]:  # every frame shows its own step, not the nearest slider tick's
        assert f["data"][f["traces"].index(now)]["text"][-1] == f"step {f['name']}"


def test_the_scrubber_has_at_most_fifty_positions_first_and_last_included() -> None:
    fig = race()
    steps = fig["layout"]["sliders"][0]["steps"]
    names = [f["name"] for f in fig["frames"]]
    targets = [s["args"][0][0] for s in steps]
    assert len(fig["frames"]) > figures.SLIDER_STEPS >= len(steps) >= 2
    assert targets[0] == names[0]
    assert targets[-1] == names[-1]
    assert set(targets) <= set(names)
    assert targets == sorted(targets, key=int)
    assert all(s["label"] == "" for s in steps)
    assert not fig["layout"]["sliders"][0]["currentvalue"]["visible"]  # no stale step shown


def test_the_warm_up_chart_is_gone_after_the_first_run() -> None:
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    assert not at.exception
    assert at.session_state["app._plotly_warm"] is True
    charts = at.get("plotly_chart")
    assert len(charts) == 1, "the hidden warm-up chart must be removed at the end of the run"
    assert '"heads"' in charts[0].proto.spec
    at.run()
    assert len(at.get("plotly_chart")) == 1


def test_power_labels_read_like_a_log_axis() -> None:
    cases = {1e-16: "10⁻¹⁶", 0.01: "10⁻²", 0.05: "0.05", 0.5: "0.5", 1: "1", 2: "2", 10: "10"}
    cases |= {50: "50", 100: "100", 500: "500", 1000: "10³", 2000: "2×10³", 0.002: "2×10⁻³"}
    assert {v: figures.power_label(v) for v in cases} == cases


def test_each_band_maps_its_decades_onto_its_own_height() -> None:
    band = figures.Band(lo=-16.3, hi=3.2, p0=0.0, p1=0.46)
    assert band.y(np.array([10**-16.3, 10**3.2])) == [0.0, 0.46]
    heights, labels = band.ticks()
    assert 2 <= len(labels) <= 5
    assert all(0.0 <= h <= 0.46 for h in heights)
    assert labels[0] == "10⁻¹⁶"
    narrow = figures.Band(lo=-0.4, hi=0.45, p0=0.54, p1=1.0)  # less than a decade: 1-2-5
    assert narrow.ticks()[1] == ["0.5", "1", "2"]


def test_one_curve_trace_per_optimizer_holds_both_curves_in_their_bands() -> None:
    fig = race(steps=300)
    layout = fig["layout"]
    lo, hi = layout["yaxis2"]["range"]
    curves = [t for t in fig["data"] if t.get("yaxis") == "y2" and t["mode"] == "lines"]
    assert [t["name"] for t in curves] == ["sgd", "adam"]
    for t in curves:
        split = t["x"].index(None)  # loss gap, a break, gradient norm
        assert t["y"][split] is None
        assert t["customdata"][split] is None
        loss_y, grad_y = t["y"][:split], t["y"][split + 1 :]
        assert min(grad_y) >= lo
        assert max(grad_y) < min(loss_y)
        assert max(loss_y) <= hi
        assert all(v > 0 for v in t["customdata"][:split] + t["customdata"][split + 1 :])
    titles = [a["text"] for a in layout["annotations"]]
    assert titles == ["loss − f*", "|∇f|"]

"""Explore in a real headless Chromium as a lecture meets it (issue #12): the figure readable
on either page theme, Play and the chart above the fold at 1280x720 with a lesson note and
warnings, a click anywhere (on a path too) starting there, the scrubber driving the maths, the
3-D race playing in place and the share popover inside the window. Screenshots go to
test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from app import presets
from app.state.explore import encode, query_string
from tests.support import (
    GD,
    artifact,
    browser,
    chart_trace,
    data_to_page,
    free_port_from,
    press_chart_button,
    streamlit_server,
    wait_for_chart,
)

pytestmark = pytest.mark.browser
PORTS = tuple(int(p) for p in os.environ.get("PLAYGROUND_LECTURE_PORTS", "8760-8780").split("-"))
NO_TRACEBACK = "[data-testid=stException]"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server(free_port_from(*PORTS)) as url:
        yield url


def settle(page: Any) -> None:
    """Until Streamlit is not running the script (its status widget is gone)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000
    )
    page.wait_for_timeout(400)


def open_page(page: Any, url: str, query: str = "") -> None:
    page.goto(f"{url}/{query}")
    wait_for_chart(page, timeout_ms=90_000)
    settle(page)
    assert page.locator(NO_TRACEBACK).count() == 0


def link(state: Any, extra: str = "") -> str:
    return "?" + query_string(encode(state)) + extra


# ---------------------------------------------------------------- 2. readable on any theme


def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


COLOURS_JS = """(sel) => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const gd = document.querySelector(sel);
  const svg = gd.querySelector('.main-svg');
  let bg = rgb(getComputedStyle(svg).backgroundColor);
  if (bg.length === 4 && bg[3] === 0) {  // transparent: the page shows through
    bg = rgb(getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor);
  }
  // tick labels, legend, every axis title (x, y, y2, ...) and the annotations (panel titles)
  const sel2 = '.xtick text, .ytick text, .legendtext, [class$="title"] text, .annotation-text';
  const texts = [...gd.querySelectorAll(sel2)].filter((t) => t.textContent.trim());
  return {bg: bg.slice(0, 3), fills: texts.map((t) => rgb(getComputedStyle(t).fill).slice(0, 3))};
}"""


def assert_readable(page: Any, name: str) -> None:
    colours = page.evaluate(COLOURS_JS, GD)
    assert colours["fills"], "no text found in the figure"
    worst = min(contrast(tuple(f), tuple(colours["bg"])) for f in colours["fills"])
    page.screenshot(path=artifact(f"lecture-readable-{name}.png"))
    assert worst >= 4.5, (name, worst, colours["bg"])  # WCAG AA for text


def test_the_dark_figure_is_readable_on_the_light_page(server: str) -> None:
    with browser() as page:
        open_page(page, server, "?dark=1")
        assert_readable(page, "dark-figure-light-page")


def test_the_figure_is_readable_on_a_dark_page() -> None:
    dark = ["--theme.base", "dark"]
    with streamlit_server(free_port_from(*PORTS), extra=dark) as url, browser() as page:
        for query, name in (("", "dark-page"), ("?dark=1", "dark-figure-dark-page")):
            open_page(page, url, query)
            assert_readable(page, name)


# ---------------------------------------------------------------- 3. above the fold


def assert_above_the_fold(page: Any, height: int, name: str) -> None:
    play = page.locator("[data-testid=stPlotlyChart] g.updatemenu-button", has_text="Play")
    box = play.first.bounding_box()
    assert box is not None, "Play is not drawn"
    assert box["y"] + box["height"] <= height, f"Play is below the fold ({box})"
    chart = page.locator(GD).first.bounding_box()
    assert chart is not None
    assert chart["y"] >= 0
    # the plot itself: its slider rail and the step axis are inside the window
    rail = page.locator("[data-testid=stPlotlyChart] .slider-rail-rect").first.bounding_box()
    assert rail is not None
    assert rail["y"] + rail["height"] <= height, f"the scrubber is below the fold ({rail})"
    page.screenshot(path=artifact(f"lecture-fold-{name}.png"))


@pytest.mark.parametrize(
    ("name", "extra"),
    [("lesson-and-warnings", "&steps=abc"), ("presenter-large", "&big=1&embed=true")],
)
def test_play_and_the_chart_stay_above_the_fold_at_1280x720(
    server: str, name: str, extra: str
) -> None:
    """A lesson whose race diverges (its note and a warning line show) plus a bad setting."""
    lesson = presets.with_note(presets.BY_KEY["learning_rate"])
    with browser((1280, 720)) as page:
        open_page(page, server, link(lesson, extra))
        note = page.locator(".op-note").first.bounding_box()
        assert note is not None, "the lesson note is not shown"
        assert note["y"] + note["height"] <= 720
        lines = page.locator("[data-testid=stExpander] summary", has_text="diverged")
        assert lines.count() == 1
        assert_above_the_fold(page, 720, name)


def test_five_diverging_optimizers_take_one_line(server: str) -> None:
    five = ",".join(["sgd", "momentum", "nesterov", "rmsprop", "adam"])
    query = f"?v=2&surface=quadratic_bowl&opt={five}&shared=1&lr=10.0"
    with browser((1280, 720)) as page:
        open_page(page, server, query)
        assert page.locator("[data-testid=stAlert]:visible").count() == 0  # all folded away
        assert page.locator("[data-testid=stExpander]").count() >= 1
        assert_above_the_fold(page, 720, "five-diverged")


# ---------------------------------------------------------------- 9. a click anywhere


def start_after_click(page: Any, x: float, y: float) -> dict[str, Any]:
    before = chart_trace(page, "start")
    px, py = data_to_page(page, x, y)
    page.mouse.move(px, py)
    page.wait_for_timeout(200)
    page.mouse.click(px, py)
    page.wait_for_function(
        """([sel, x0, y0]) => { const gd = document.querySelector(sel);
             const t = gd && gd._fullData && gd._fullData.find(d => d.name === 'start');
             return t && (t.x[0] !== x0 || t.y[0] !== y0); }""",
        arg=[GD, before["x"][0], before["y"][0]],
        timeout=30_000,
    )
    settle(page)
    return chart_trace(page, "start")


def pixel_units(page: Any) -> tuple[float, float]:
    """Data units per screen pixel on the surface's axes."""
    x: float
    y: float
    x, y = page.evaluate(
        """(sel) => { const L = document.querySelector(sel)._fullLayout;
             return [Math.abs(L.xaxis.p2l(1) - L.xaxis.p2l(0)),
                     Math.abs(L.yaxis.p2l(1) - L.yaxis.p2l(0))]; }""",
        GD,
    )
    return x, y


def test_a_click_on_a_path_or_anywhere_starts_there(server: str) -> None:
    with browser() as page:
        open_page(page, server)
        ux, uy = pixel_units(page)
        # on gradient descent's path, on the ravine's floor: where a student wants to start
        path = chart_trace(page, "Gradient descent (SGD)")
        i = next(
            i
            for i, (px, py) in enumerate(zip(path["x"], path["y"], strict=True))
            if px is not None and -5 < px < -3 and abs(py) < 0.5
        )
        target = (path["x"][i], path["y"][i])
        moved = start_after_click(page, *target)
        assert abs(moved["x"][0] - target[0]) <= ux + 0.01
        assert abs(moved["y"][0] - target[1]) <= uy + 0.01
        # and a point between any grid the old page snapped to
        target = (3.37, -6.21)
        moved = start_after_click(page, *target)
        assert abs(moved["x"][0] - target[0]) <= ux + 0.01
        assert abs(moved["y"][0] - target[1]) <= uy + 0.01
        # a drag still pans instead of moving the start
        px, py = data_to_page(page, 0.0, 0.0)
        page.mouse.move(px, py)
        page.mouse.down()
        page.mouse.move(px + 60, py + 30, steps=5)
        page.mouse.up()
        page.wait_for_timeout(1500)
        settle(page)
        assert chart_trace(page, "start") == moved
        assert page.locator(NO_TRACEBACK).count() == 0
        page.screenshot(path=artifact("lecture-click-on-a-path.png"))


# ---------------------------------------------------------------- 10. the scrubber drives the maths


def test_the_scrubber_sets_the_explained_step(server: str) -> None:
    with browser() as page:
        open_page(page, server, "?v=2&opt=sgd,momentum&explain=momentum&steps=60")
        assert page.get_by_text("step 1 of 60").count() >= 1
        rail = page.locator("[data-testid=stPlotlyChart] .slider-rail-rect").first
        box = rail.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 0.5 * box["width"], box["y"] + box["height"] / 2)
        page.wait_for_function(
            "() => [...document.querySelectorAll('p')].some(p => /step (2[5-9]|3[0-5]) of 60/"
            ".test(p.textContent))",
            timeout=30_000,
        )
        settle(page)
        mark = chart_trace(page, "explained step")
        heads = chart_trace(page, "heads")
        assert (mark["x"][-1], mark["y"][-1]) == (heads["x"][1], heads["y"][1])
        page.screenshot(path=artifact("lecture-scrubber-maths.png"))


# ---------------------------------------------------------------- 12. 3-D in place, playing


def test_the_3d_race_plays_where_the_map_was(server: str) -> None:
    with browser() as page:
        open_page(page, server, "?3d=1")
        charts = page.locator(GD)
        assert charts.count() == 1
        box = charts.first.bounding_box()
        assert box is not None
        assert box["y"] < 300  # where the eye is, not under the results table
        before = chart_trace(page, "heads")
        press_chart_button(page, "Play")
        seen = []
        for _ in range(8):
            page.wait_for_timeout(400)
            seen.append(tuple(chart_trace(page, "heads")["x"]))
        assert any(list(x) != before["x"] for x in seen), "Play did not move the 3-D heads"
        assert len(set(seen)) >= 3
        page.screenshot(path=artifact("lecture-3d-playing.png"))


# ---------------------------------------------------------------- 13. the share popover


@pytest.mark.parametrize("viewport", [(1366, 768), (1280, 720)])
def test_the_share_popover_fits_in_the_window(server: str, viewport: tuple[int, int]) -> None:
    with browser(viewport) as page:
        open_page(page, server)
        page.get_by_role("button", name="Share", exact=True).click()
        code = page.locator("[data-testid=stCode]").first
        code.wait_for(timeout=60_000)
        box = code.bounding_box()
        assert box is not None
        assert box["y"] >= 0
        assert box["y"] + box["height"] <= viewport[1], box
        assert box["x"] + box["width"] <= viewport[0], box
        caption = page.get_by_text("Copy this link").first.bounding_box()
        assert caption is not None
        assert caption["y"] + caption["height"] <= viewport[1]
        page.screenshot(path=artifact(f"lecture-share-{viewport[0]}x{viewport[1]}.png"))


# ---------------------------------------------------------------- 14. the Lessons popover


@pytest.mark.parametrize("path", ["", "networks", "maps"])
def test_choosing_a_lesson_closes_the_lessons_popover(server: str, path: str) -> None:
    """A lecturer picks a lesson and sees it at once: the popover does not stay open over the
    page (it did: it closed only on a click outside it)."""
    course = {"": "explore", "networks": "networks", "maps": "maps"}[path]
    lesson = (presets.MAP_PRESETS if course == "maps" else presets.course(course))[1]
    with browser() as page:
        open_page(page, server, path)
        page.get_by_role("button", name="Lessons", exact=True).click()
        button = page.get_by_role("button", name=lesson.title, exact=True)
        button.wait_for(timeout=60_000)
        button.click()
        settle(page)
        page.wait_for_timeout(600)
        assert page.get_by_role("button", name=lesson.title, exact=True).count() == 0
        # and the lesson is open: its note, "what to watch", is on the page
        page.get_by_text(lesson.watch[:40]).first.wait_for(timeout=30_000)
        assert page.locator(NO_TRACEBACK).count() == 0
        page.screenshot(path=artifact(f"lecture-lesson-chosen-{course}.png"))


# ---------------------------------------------------------------- 15. controls under the plot


@pytest.mark.parametrize("query", ["", "?lesson=learning_rate", "?big=1"])
def test_the_slider_and_play_stay_clear_of_the_axis_titles(server: str, query: str) -> None:
    """Under a lesson note and a two-line legend the plot is shorter; the slider and the Play
    buttons stay under the axis titles "x" and "step" (they rose into them when placed in
    fractions of the plot's height)."""
    with browser() as page:
        open_page(page, server, query)
        box = page.evaluate(
            """(sel) => {
                const gd = document.querySelector(sel);
                const r = (s) => { const e = gd.querySelector(s);
                    if (!e) { return null; } const b = e.getBoundingClientRect();
                    return {top: b.top, bottom: b.bottom}; };
                return {x: r('.xtitle'), step: r('.x2title'), rail: r('.slider-rail-rect'),
                        play: r('.updatemenu-button')};
            }""",
            GD,
        )
        assert all(box.values()), box
        assert box["x"]["bottom"] <= box["rail"]["top"], box
        assert box["step"]["bottom"] <= box["play"]["top"], box
        assert box["play"]["bottom"] <= 720, box

"""The Explore page end to end: real `streamlit run`, real headless Chromium (Playwright).

Reads the chart back from plotly.js itself (``gd._fullData``), presses the chart's own Play
button, clicks the surface, and saves screenshots under test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import surfaces
from app import figures, presets
from tests.support import (
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
PlaywrightTimeout = pytest.importorskip(
    "playwright.sync_api", reason="playwright for Python is not installed (dev extras)"
).TimeoutError

# this suite's loopback range; PLAYGROUND_BROWSER_PORTS="8740-8760" moves it (parallel sessions)
PORTS = tuple(int(p) for p in os.environ.get("PLAYGROUND_BROWSER_PORTS", "8610-8630").split("-"))
NO_TRACEBACK = "[data-testid=stException]"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server(free_port_from(*PORTS)) as url:
        yield url


def open_page(page: Any, url: str, query: str = "") -> None:
    page.goto(f"{url}/{query}")
    wait_for_chart(page, timeout_ms=90_000)
    page.wait_for_function(
        "() => { const gd = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');"
        " return gd && gd._fullData && gd._fullData.some(t => t.name === 'heads'); }",
        timeout=60_000,
    )
    assert page.locator(NO_TRACEBACK).count() == 0


def settle(page: Any) -> None:
    """Wait until Streamlit is not running the script (its status widget is gone)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000
    )
    page.wait_for_timeout(300)


def test_page_loads_and_play_animates(server: str) -> None:
    with browser() as page:
        open_page(page, server)
        before = chart_trace(page, "heads")
        press_chart_button(page, "Play")
        seen = []
        for _ in range(12):
            page.wait_for_timeout(250)
            seen.append(chart_trace(page, "heads")["x"])
        assert any(x != before["x"] for x in seen), "Play did not move the markers"
        assert len({tuple(x) for x in seen}) >= 3, "the markers did not keep moving"
        # the surface image survives playback (a contour/heatmap layer would be dropped)
        assert page.evaluate(
            "() => document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot')"
            "._fullLayout.images.length"
        )
        assert page.locator("[data-testid=stPlotlyChart] svg image").count() >= 1
        page.screenshot(path=artifact("explore-playing.png"))


def test_click_on_the_surface_moves_the_start(server: str) -> None:
    with browser() as page:
        open_page(page, server)
        start = chart_trace(page, "start")
        target = (2.29, -4.19)  # any point: a click starts exactly there
        assert abs(start["x"][0] - target[0]) > 1
        moved_js = (
            "([x0, y0]) => { const gd = document.querySelector("
            "'[data-testid=stPlotlyChart] .js-plotly-plot');"
            " const t = gd && gd._fullData.find(d => d.name === 'start');"
            " return t && (t.x[0] !== x0 || t.y[0] !== y0); }"
        )
        for attempt in range(3):  # a loaded machine may still be settling the first render
            settle(page)
            px, py = data_to_page(page, *target)
            page.mouse.move(px, py)
            page.wait_for_timeout(300)
            page.mouse.click(px, py)
            try:
                page.wait_for_function(moved_js, arg=[start["x"][0], start["y"][0]], timeout=20_000)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        moved = chart_trace(page, "start")
        # a pixel's worth of units along each axis, from the drawn plot area
        px_x, px_y = page.evaluate(
            "() => { const L = document.querySelector("
            "'[data-testid=stPlotlyChart] .js-plotly-plot')._fullLayout;"
            " return [L.xaxis._length, L.yaxis._length]; }"
        )
        (x0, x1), (y0, y1) = surfaces.get("ravine").bounds
        assert moved["x"][0] == pytest.approx(target[0], abs=(x1 - x0) / px_x)
        assert moved["y"][0] == pytest.approx(target[1], abs=(y1 - y0) / px_y)
        assert page.locator(NO_TRACEBACK).count() == 0
        page.screenshot(path=artifact("explore-after-click.png"))


def test_presenter_mode_hides_the_controls(server: str) -> None:
    with browser() as page:
        open_page(page, server, "?embed=1&big=1")
        assert not page.locator("[data-testid=stSidebar]").is_visible()
        height = page.evaluate(
            "() => document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot')"
            "._fullLayout.height"
        )
        assert height > figures.Style().height
        play = page.locator("[data-testid=stPlotlyChart] g.updatemenu-button", has_text="Play")
        box = play.first.bounding_box()
        assert box is not None, "Play is not drawn"
        assert box["y"] + box["height"] <= 720, "Play is below the fold"
        page.screenshot(path=artifact("explore-presenter.png"))


@pytest.mark.parametrize(
    ("name", "viewport", "query"),
    [
        ("light-1280x720", (1280, 720), ""),
        ("large-fonts-1280x720", (1280, 720), "?big=1"),
        ("dark-figure-1280x720", (1280, 720), "?dark=1"),
    ],
)
def test_screenshots(server: str, name: str, viewport: tuple[int, int], query: str) -> None:
    with browser(viewport) as page:
        open_page(page, server, query)
        page.wait_for_timeout(800)
        box = page.locator("[data-testid=stPlotlyChart]").first.bounding_box()
        assert box is not None
        assert box["width"] > 0.5 * viewport[0] - 320
        page.screenshot(path=artifact(f"explore-{name}.png"))


def test_tablet_stacks_the_curves_under_the_surface(server: str) -> None:
    with browser((820, 1180)) as page:
        open_page(page, server)
        page.get_by_text("Curves under the surface").click()
        page.wait_for_function(
            "() => { const gd = document.querySelector("
            "'[data-testid=stPlotlyChart] .js-plotly-plot');"
            " return gd && gd._fullLayout.xaxis.domain[1] === 1; }",
            timeout=30_000,
        )
        page.wait_for_timeout(800)
        page.screenshot(path=artifact("explore-tablet-820x1180.png"))
        page.screenshot(path=artifact("explore-tablet-820x1180-full.png"), full_page=True)


def test_dark_theme_page() -> None:
    dark = ["--theme.base", "dark"]
    with streamlit_server(free_port_from(*PORTS), extra=dark) as url, browser() as page:
        open_page(page, url)
        font = page.evaluate(
            "() => document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot')"
            "._fullLayout.font.color"
        )
        assert font.lower() in ("#fafafa", "rgb(250, 250, 250)")
        page.screenshot(path=artifact("explore-dark-1280x720.png"))


def test_lessons_page_opens_a_lesson_on_explore(server: str) -> None:
    """The navigation shows both pages; a lesson card opens its race at the top of Explore."""
    with browser() as page:
        open_page(page, server)
        nav = page.get_by_role("link", name="Lessons")
        assert nav.first.is_visible(), "the navigation is not shown"
        nav.first.click()
        page.wait_for_selector("[data-testid=stImage] img", timeout=60_000)
        page.wait_for_timeout(500)
        assert page.url.endswith("/lessons")
        page.wait_for_function(  # Maps' and Networks' pictures are computed on a first visit
            f"() => document.querySelectorAll('[data-testid=stImage] img').length >= "
            f"{len(presets.LESSONS)}",
            timeout=120_000,
        )
        assert page.locator("[data-testid=stImage] img").count() == len(presets.LESSONS)
        assert page.locator(NO_TRACEBACK).count() == 0
        page.screenshot(path=artifact("lessons-1280x720.png"))
        page.get_by_role("button", name="Open on Explore").nth(3).click()  # scrolls to it
        wait_for_chart(page, timeout_ms=90_000)
        lesson = presets.by_topic()[1][1][1]  # the fourth card: momentum's second lesson
        page.get_by_text(lesson.title + ".").first.wait_for(timeout=30_000)
        assert "opt=momentum%2Cnesterov" in page.url or "opt=momentum,nesterov" in page.url
        top = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop")
        assert top == 0, "the lesson opened mid-page"
        page.screenshot(path=artifact("lesson-opened-1280x720.png"))

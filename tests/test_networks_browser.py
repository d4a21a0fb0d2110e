"""The Networks page end to end: real `streamlit run`, real headless Chromium (Playwright).

The page loads without a traceback; Play animates the decision boundaries (the panels'
pictures change frame by frame and the epoch readout moves); in presenter mode at 1280 x 720
the Play button is above the fold; every view draws at 1366 x 768. (A click on a failed
initialisation is tested through AppTest, tests/test_networks_app.py.) Screenshots go to
test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import (
    artifact,
    browser,
    free_port_from,
    press_chart_button,
    streamlit_server,
    wait_for_chart,
)

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

PORTS = tuple(int(p) for p in os.environ.get("PLAYGROUND_BROWSER_PORTS", "8640-8660").split("-"))
NO_TRACEBACK = "[data-testid=stException]"
GD = "[data-testid=stPlotlyChart] .js-plotly-plot"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server(free_port_from(*PORTS)) as url:
        yield url


def open_networks(page: Any, url: str, query: str = "") -> None:
    page.goto(f"{url}/networks{query}")
    wait_for_chart(page, timeout_ms=120_000)
    page.wait_for_function(
        f"() => {{ const gd = document.querySelector('{GD}');"
        " return gd && gd._fullData && gd._fullData.some(t => t.name === 'now'); }",
        timeout=90_000,
    )
    page.wait_for_timeout(1000)
    assert page.locator(NO_TRACEBACK).count() == 0


def watch_playback(page: Any) -> None:
    """Record, every animation frame, the first panel's picture and the epoch readout."""
    page.evaluate(
        f"""() => {{
        const gd = document.querySelector('{GD}');
        window.pictures = []; window.readouts = [];
        function tick() {{
            const im = gd.querySelector('.imagelayer image, image');
            const href = im ? im.getAttribute('href') : null;
            if (window.pictures[window.pictures.length - 1] !== href) window.pictures.push(href);
            const now = gd._fullData.find(t => t.name === 'now');
            const text = now && now.text ? now.text[now.text.length - 1] : '';
            if (window.readouts[window.readouts.length - 1] !== text) window.readouts.push(text);
            requestAnimationFrame(tick);
        }}
        requestAnimationFrame(tick);
    }}"""
    )


def test_play_animates_the_decision_boundaries(server: str) -> None:
    with browser((1280, 720)) as page:
        open_networks(page, server)
        page.screenshot(path=artifact("networks-1280x720.png"))
        points = (  # the data points drawn in the panels (4 XOR points x 5 panels)
            f"() => document.querySelector('{GD}')"
            ".querySelectorAll('.subplot.xy .scatterlayer .trace .points path').length"
        )
        assert page.evaluate(points) == 20
        watch_playback(page)
        press_chart_button(page, "Play")
        page.wait_for_timeout(2500)
        assert page.evaluate(points) == 20, "the data points vanished during playback"
        seen = page.evaluate("() => ({p: window.pictures, r: window.readouts})")
        assert len(seen["p"]) >= 20, "the decision boundaries did not change during playback"
        assert all(s and s.startswith("data:image/png") for s in seen["p"])
        epochs = [int(r.split()[-1]) for r in seen["r"] if r.startswith("epoch")]
        assert len(epochs) >= 20
        assert epochs == sorted(epochs)
        assert epochs[-1] > 500
        page.screenshot(path=artifact("networks-played-1280x720.png"))
        press_chart_button(page, "Pause")


def test_presenter_mode_keeps_play_above_the_fold(server: str) -> None:
    with browser((1280, 720)) as page:
        open_networks(page, server, "?embed=true")
        button = page.locator("[data-testid=stPlotlyChart] g.updatemenu-button", has_text="Play")
        box = button.first.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= 720, box
        assert page.locator("[data-testid=stSidebar]").is_hidden()
        page.screenshot(path=artifact("networks-presenter-1280x720.png"))


def test_the_page_at_1366x768_with_every_view(server: str) -> None:
    with browser((1366, 768)) as page:
        open_networks(page, server, "?views=curves,landscape,inside,maths,often&inits=50")
        page.wait_for_function(
            f"() => document.querySelectorAll('{GD}').length >= 5", timeout=120_000
        )
        assert page.locator(NO_TRACEBACK).count() == 0
        page.screenshot(path=artifact("networks-1366x768.png"))
        main = "document.querySelector('[data-testid=stMain]')"
        height = page.evaluate(f"() => {main}.scrollHeight")
        for i, y in enumerate(range(700, height, 700)):
            page.evaluate(f"() => {{ {main}.scrollTop = {y}; }}")
            page.wait_for_timeout(600)
            page.screenshot(path=artifact(f"networks-1366x768-{i + 1}.png"))


def test_the_linear_networks_link_opens_its_runs_on_explore(server: str) -> None:
    """The link under the lessons' linear regression opens Explore (the app's root) with the
    same runs on the (w, b) surface: no "Page not found", the linear-regression race drawn."""
    with browser((1366, 768)) as page:
        open_networks(page, server, "?data=linear&opt=sgd,momentum,adam")
        link = page.get_by_text("See these runs as paths on that surface")
        target = page.evaluate(
            "(a) => new URL(a.getAttribute('href'), location.href).href", link.element_handle()
        )
        page.goto(target)
        wait_for_chart(page, timeout_ms=120_000)
        page.wait_for_timeout(1500)
        body = page.inner_text("body")
        page.screenshot(path=artifact("networks-linear-on-explore.png"))
        assert "Page not found" not in body
        assert page.locator(NO_TRACEBACK).count() == 0
        assert "Linear regression" in body
        names = page.evaluate(f"() => document.querySelector('{GD}')._fullData.map(t => t.name)")
        assert "Adam" in names

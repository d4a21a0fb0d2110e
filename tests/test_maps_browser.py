"""The Maps page end to end: real `streamlit run`, real headless Chromium (Playwright).

The page loads with its maps drawn as pictures (no traceback), a click on a cell of the sweep
map opens Explore with exactly that run's settings, a click on the basin map in zoom mode
recomputes it finer, and screenshots of every view are saved under test-artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from app import sweeps
from app.state.maps import decode
from tests.support import artifact, browser, free_port_from, streamlit_server

pytestmark = pytest.mark.browser
PORTS = tuple(int(p) for p in os.environ.get("PLAYGROUND_MAPS_PORTS", "8650-8670").split("-"))
NO_TRACEBACK = "[data-testid=stException]"
GD = "[data-testid=stPlotlyChart] .js-plotly-plot"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server(free_port_from(*PORTS)) as url:
        yield url


def settle(page: Any, timeout: int = 120_000) -> None:
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=timeout
    )
    page.wait_for_timeout(400)


def open_maps(page: Any, url: str, query: str) -> None:
    page.goto(f"{url}/maps?{query}")
    page.wait_for_function(
        f"() => {{ const gd = document.querySelector('{GD}');"
        " return gd && gd._fullLayout && gd._fullLayout.images && gd._fullLayout.images.length; }",
        timeout=120_000,
    )
    settle(page)
    assert page.locator(NO_TRACEBACK).count() == 0


def cell_pixel(page: Any, x: float, y: float, panel: int = 0) -> tuple[float, float]:
    """Page pixels of the data point (x, y) on a map panel (log axes included: d2p)."""
    px, py = page.evaluate(
        """([sel, x, y, i]) => {
            const gd = document.querySelector(sel), L = gd._fullLayout;
            const xa = L[i ? 'xaxis' + (i + 1) : 'xaxis'], ya = L[i ? 'yaxis' + (i + 1) : 'yaxis'];
            const box = gd.getBoundingClientRect();
            return [box.left + xa._offset + xa.d2p(x), box.top + ya._offset + ya.d2p(y)];
        }""",
        [GD, x, y, panel],
    )
    return float(px), float(py)


def test_the_page_loads_and_a_click_on_a_cell_opens_that_race_on_explore(server: str) -> None:
    query = "opt=sgd,momentum&grid=24&steps=150"
    state, warnings = decode({k: v[0] for k, v in parse_qs(query).items()})
    assert warnings == []
    specs, _ = sweeps.sweep_specs(state)
    mom = specs[1]
    xs, ys = mom.x.values(), mom.y.values()
    ix, iy = 9, 15
    with browser() as page:
        open_maps(page, server, query)
        assert page.locator("[data-testid=stPlotlyChart] svg image").count() >= 2
        page.screenshot(path=artifact("maps-sweep-1280x720.png"))
        px, py = cell_pixel(page, float(xs[ix]), float(ys[iy]), panel=1)
        page.mouse.move(px, py)
        page.wait_for_timeout(300)
        page.mouse.click(px, py)
        # Explore is the default page: it answers at the root URL
        page.wait_for_url(lambda u: "/maps" not in u and "opt=momentum" in u, timeout=60_000)
        page.wait_for_function(
            f"() => {{ const gd = document.querySelector('{GD}');"
            " return gd && gd._fullData && gd._fullData.some(t => t.name === 'heads'); }",
            timeout=90_000,
        )
        got = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
        assert got["opt"] == "momentum"
        assert float(got["momentum.lr"]) == float(xs[ix])
        assert float(got["momentum.momentum"]) == float(ys[iy])
        assert got["steps"] == "150"
        assert page.locator(NO_TRACEBACK).count() == 0
        page.screenshot(path=artifact("maps-click-opened-explore-1280x720.png"))


def test_a_click_on_the_basin_map_zooms_in_and_recomputes(server: str) -> None:
    with browser((1366, 768)) as page:
        open_maps(page, server, "view=basin&surface=himmelblau&opt=sgd,momentum,adam&click=zoom")
        page.screenshot(path=artifact("maps-basin-1366x768.png"))
        before = page.evaluate(f"() => document.querySelector('{GD}')._fullLayout.images[0].source")
        px, py = cell_pixel(page, 0.1, 0.0)
        page.mouse.move(px, py)
        page.wait_for_timeout(300)
        page.mouse.click(px, py)
        # the chart is replaced while it re-renders: the query may find no chart for a moment
        page.wait_for_function(
            f"""(before) => {{ const gd = document.querySelector('{GD}');
                const im = gd && gd._fullLayout && gd._fullLayout.images;
                return !!(im && im.length && im[0].source !== before); }}""",
            arg=before,
            timeout=120_000,
        )
        settle(page)
        q = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
        x0, x1, y0, y1 = (float(v) for v in q["box"].split(","))
        assert x1 - x0 == pytest.approx(2.5)  # a quarter of the width of 10
        assert x0 < 0.1 < x1
        assert y0 < 0.0 < y1
        assert page.get_by_text("Zoomed:").count() == 1
        page.screenshot(path=artifact("maps-basin-zoomed-1366x768.png"))


@pytest.mark.parametrize("view", ["theory", "range"])
def test_the_theory_and_the_range_test_draw(server: str, view: str) -> None:
    with browser() as page:
        page.goto(f"{server}/maps?view={view}")
        page.wait_for_selector("[data-testid=stPlotlyChart] .main-svg", timeout=120_000)
        settle(page)
        assert page.locator(NO_TRACEBACK).count() == 0
        assert page.locator("[data-testid=stPlotlyChart]").count() >= (5 if view == "theory" else 1)
        page.screenshot(path=artifact(f"maps-{view}-1280x720.png"))

"""Your own function end to end: real `streamlit run`, real headless Chromium (Playwright).

A formula typed into the field races (read back from plotly.js itself, ``gd._fullData``), a
bad one shows the caret, and the page's own link reopens exactly the same race. Screenshots
go to test-artifacts/ at 1280x720 and 1366x768.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

import optimizers
import surfaces
from app.state import explore as urlstate
from tests.support import (
    GD,
    artifact,
    browser,
    chart_trace,
    free_port_from,
    streamlit_server,
    wait_for_chart,
)

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

PORTS = tuple(int(p) for p in os.environ.get("PLAYGROUND_FORMULA_PORTS", "8700-8720").split("-"))
FORMULA = "(x - 1)^2 + 4*(y + x/2)^2 + sin(3*x)/2"
NO_TRACEBACK = "[data-testid=stException]"
RACERS = [optimizers.get(n).title for n in optimizers.DEFAULT_SET if n in optimizers.names()]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server(free_port_from(*PORTS)) as url:
        yield url


def settle(page: Any) -> None:
    """The chart is drawn and Streamlit is not running the script."""
    wait_for_chart(page, timeout_ms=90_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000
    )
    page.wait_for_timeout(500)


def x_range(page: Any) -> list[float]:
    rng: list[float] = page.evaluate(
        f"() => document.querySelector('{GD}')._fullLayout.xaxis.range"
    )
    return rng


def drawn_paths(page: Any) -> dict[str, dict[str, Any]]:
    return {title: chart_trace(page, title) for title in RACERS}


@pytest.mark.parametrize("viewport", [(1280, 720), (1366, 768)])
def test_a_typed_formula_races_and_its_link_reopens_it(
    server: str, viewport: tuple[int, int]
) -> None:
    surface = surfaces.get("custom", formula=FORMULA)
    with browser(viewport) as page:
        page.goto(f"{server}/?surface=custom")
        settle(page)
        field = page.get_by_role("textbox", name="f(x, y) =")
        # a mistake first: the error points at it, and the page keeps racing
        field.fill("x^2 + * y")
        page.locator("[data-testid=stCode]", has_text="^").first.wait_for(timeout=60_000)
        settle(page)
        assert (
            "unexpected '*'" in page.locator("[data-testid=stAlertContentError]").first.inner_text()
        )
        assert page.locator(NO_TRACEBACK).count() == 0
        name = f"{viewport[0]}x{viewport[1]}"
        page.screenshot(path=artifact(f"formula-error-{name}.png"))
        # the formula: committed after a pause in typing, no Enter needed
        field.fill(FORMULA)
        page.wait_for_function(
            f"([lo, hi]) => {{ const gd = document.querySelector('{GD}');"
            " const r = gd && gd._fullLayout && gd._fullLayout.xaxis.range;"
            " return !!r && r[0] === lo && r[1] === hi; }",
            arg=list(surface.bounds[0]),
            timeout=60_000,
        )
        settle(page)
        assert page.locator(NO_TRACEBACK).count() == 0
        paths = drawn_paths(page)
        for title, path in paths.items():
            assert len(path["x"]) > 2, f"{title} has no path"
            assert path["x"][0] == pytest.approx(surface.default_start[0], abs=1e-3)
        assert len({tuple(p["x"]) for p in paths.values()}) == len(paths)  # they differ
        marked = chart_trace(page, "global minimum")
        best = min(surface.minima, key=lambda p: p.value)
        assert marked["x"] == [pytest.approx(best.xy[0], abs=1e-3)]
        page.screenshot(path=artifact(f"formula-typed-{name}.png"))
        link = page.url
        state, warnings = urlstate.decode(dict(parse_qsl(urlsplit(link).query)))
        assert warnings == []
        assert state.surface_params["formula"] == FORMULA

        page.goto("about:blank")
        page.goto(link)  # the share link, opened afresh
        settle(page)
        assert page.locator(NO_TRACEBACK).count() == 0
        assert page.get_by_role("textbox", name="f(x, y) =").input_value() == FORMULA
        assert x_range(page) == list(surface.bounds[0])
        assert drawn_paths(page) == paths  # exactly the same race

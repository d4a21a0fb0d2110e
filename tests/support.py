"""Real components for the tests: a Streamlit server on a loopback port and headless Chromium.

Nothing here is mocked. Helpers raise ``pytest.skip`` with the exact reason when a tool the
machine should have (``make sysdeps`` installs it) is missing, instead of passing silently.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHART = "[data-testid=stPlotlyChart] .main-svg"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers 200 or raise with what the server printed."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{out}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s: {last}")


@contextlib.contextmanager
def streamlit_server(
    port: int | None = None, *, app: str = "app/main.py", extra: list[str] | None = None
) -> Iterator[str]:
    """Run ``streamlit run`` on a loopback port; yield its base URL; stop it afterwards."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        app,
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *(extra or []),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/_stcore/health", proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("chromium is not installed (`make sysdeps` installs Debian's chromium)")
    return path


@contextlib.contextmanager
def browser(viewport: tuple[int, int] = (1280, 720)) -> Iterator[Any]:
    """A Playwright page in Debian's headless Chromium (never `playwright install`)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright for Python is not installed (it is in the dev extras)")
    exe = chromium_path()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = b.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            yield page
        finally:
            b.close()


def wait_for_chart(page: Any, timeout_ms: float = 30_000) -> None:
    page.wait_for_selector(CHART, timeout=timeout_ms)


def artifact(name: str) -> Path:
    """A path under test-artifacts/ (created) for screenshots and exports kept by the tests."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def free_port_from(start: int, stop: int) -> int:
    """A free TCP port on 127.0.0.1 in [start, stop), else any free port."""
    for port in range(start, stop):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


# ---------------------------------------------------------------- the race chart in the page
# (helpers for tests/test_browser.py and benchmarks/bench_app.py)

GD = "[data-testid=stPlotlyChart] .js-plotly-plot"


def chart_trace(page: Any, name: str, chart: int = 0) -> dict[str, Any]:
    """x and y of the trace called ``name`` as plotly.js holds them now (``gd._fullData``)."""
    result: dict[str, Any] = page.evaluate(
        """([sel, name, chart]) => {
            const gd = document.querySelectorAll(sel)[chart];
            const t = gd._fullData.find(d => d.name === name);
            return t ? {x: Array.from(t.x || []), y: Array.from(t.y || [])} : null;
        }""",
        [GD, name, chart],
    )
    if result is None:
        raise AssertionError(f"no trace named {name!r} in chart {chart}")
    return result


def press_chart_button(page: Any, label: str) -> None:
    """Click one of the chart's own buttons (plotly updatemenus), e.g. "▶ Play"."""
    page.locator("[data-testid=stPlotlyChart] g.updatemenu-button", has_text=label).first.click()


def data_to_page(page: Any, x: float, y: float, chart: int = 0) -> tuple[float, float]:
    """Page pixel coordinates of the data point (x, y) on the chart's main axes."""
    px, py = page.evaluate(
        """([sel, x, y, chart]) => {
            const gd = document.querySelectorAll(sel)[chart];
            const L = gd._fullLayout, box = gd.getBoundingClientRect();
            return [box.left + L.xaxis._offset + L.xaxis.l2p(x),
                    box.top + L.yaxis._offset + L.yaxis.l2p(y)];
        }""",
        [GD, x, y, chart],
    )
    return float(px), float(py)

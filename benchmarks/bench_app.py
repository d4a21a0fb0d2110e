"""Benchmark of the Explore page: server time per rerun, payload, and browser timings.

    .venv/bin/python benchmarks/bench_app.py [--quick] [--no-browser]

Server side (Streamlit AppTest running the real page, 8 optimizers x 500 steps):
  * rerun after changing ONE optimizer's learning rate (only that optimizer is recomputed;
    the other seven come from st.cache_data), median and 90th percentile;
  * the pieces of a rerun measured alone: cached race, figure build, JSON encoding;
  * the figure payload (the JSON the browser receives).
Browser side (real `streamlit run` + headless Chromium, same race). Each is measured two ways
in the same run, the first being the method of earlier sessions:
  * page load to first chart. Old: navigation start -> Playwright sees plotly's ``.main-svg``
    (Playwright polls, and plotly creates that element *before* it draws anything). New: a
    MutationObserver installed before navigation notes when the race's ``heads`` markers and
    the surface image are in the SVG, and the time is read in the next requestAnimationFrame
    callback, i.e. the first frame that can show the drawn race;
  * slider change to redrawn chart (key press on the Steps slider). Old: first animation
    frame in which plotly's layout holds the new figure. New: one frame later (that figure
    painted);
  * playback frame rate. Old: ``plotly_animatingframe`` events per second. New: frames
    actually painted per second: a requestAnimationFrame loop compares the on-screen
    positions (SVG transforms) of the ``heads`` and ``curves-now`` markers and counts the
    frames that show positions not shown before in that playback. Events can overcount (an
    event for a frame the browser never painted); painted frames cannot.

Targets from the issue: rerun <= 60 ms, payload <= 500 KB, slider -> chart <= 400 ms,
load -> chart <= 3 s, playback >= 30 fps. Results are printed and written to
benchmarks/APP_RESULTS.md. Timings depend on the machine's load; the report records it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import optimizers  # noqa: E402

N_OPTIMIZERS = 8  # the first eight of the registry: sgd ... nadam
STEPS = 500
SURFACE = "rosenbrock"


def query() -> dict[str, str]:
    opts = optimizers.names()[:N_OPTIMIZERS]
    return {"surface": SURFACE, "opt": ",".join(opts), "steps": str(STEPS)}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


# ---------------------------------------------------------------- server side


def bench_server(repeats: int) -> dict[str, Any]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    for k, v in query().items():
        at.query_params[k] = v
    t = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    at.run()  # warm: everything cached
    at.selectbox(key="explore.tune").set_value("adam").run()
    lrs = [0.001, 0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02, 0.03, 0.05, 0.07, 0.1]
    changed: list[float] = []
    script_changed: list[float] = []
    cpu_changed: list[float] = []
    for i in range(repeats):
        at.select_slider(key="explore.hp.adam.lr").set_value(
            lrs[i % len(lrs)] * (1 + i // len(lrs))
        )
        t = time.perf_counter()
        at.run()
        changed.append(time.perf_counter() - t)
        script_changed.append(float(at.session_state["explore._run_ms"]))
        cpu_changed.append(float(at.session_state["explore._run_cpu_ms"]))
    unchanged = []
    script_unchanged: list[float] = []
    cpu_unchanged: list[float] = []
    for _ in range(repeats):
        t = time.perf_counter()
        at.run()
        unchanged.append(time.perf_counter() - t)
        script_unchanged.append(float(at.session_state["explore._run_ms"]))
        cpu_unchanged.append(float(at.session_state["explore._run_cpu_ms"]))
    spec = at.get("plotly_chart")[0].proto.spec
    fig = json.loads(spec)
    return {
        "cold_first_run_s": cold,
        "rerun_one_lr_changed_ms": [x * 1000 for x in changed],
        "rerun_nothing_changed_ms": [x * 1000 for x in unchanged],
        "script_one_lr_changed_ms": script_changed,
        "script_cpu_one_lr_changed_ms": cpu_changed,
        "script_nothing_changed_ms": script_unchanged,
        "script_cpu_nothing_changed_ms": cpu_unchanged,
        "payload_bytes": len(spec.encode()),
        "frames": len(fig.get("frames", [])),
        "traces": len(fig["data"]),
        **bench_pieces(repeats),
    }


def bench_pieces(repeats: int) -> dict[str, Any]:
    """The parts of a rerun measured alone (no Streamlit script runner)."""
    import plotly.io

    from app import compute, figures
    from app.state.explore import ExploreState

    q = query()
    state = ExploreState(surface=SURFACE, optimizers=tuple(q["opt"].split(",")), steps=STEPS)
    race = compute.race(state)  # fills the cache
    image = figures.surface_image(race.surface, dark=False)  # the page caches it too
    build, encode, race_ms = [], [], []
    for _ in range(repeats):
        t = time.perf_counter()
        race = compute.race(state)
        race_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        titles = {label: compute.run_title(label) for label in race.runs}
        series = figures.prepare(race.surface, race.runs, titles)
        fig = figures.race_figure(race.surface, series, race.starts, figures.Style(), image)
        build.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        plotly.io.to_json(fig, validate=False)
        encode.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    compute._simulate.clear()
    compute.race(state)
    all_fresh = (time.perf_counter() - t) * 1000
    return {
        "race_cached_ms": race_ms,
        "figure_build_ms": build,
        "json_encode_ms": encode,
        "race_all_8_uncached_ms": all_fresh,
    }


# ---------------------------------------------------------------- browser side

CHART = "[data-testid=stPlotlyChart] .js-plotly-plot"
PORTS = (8700, 8720)  # loopback range of this benchmark
# Installed before every navigation: notes when the race is drawn (markers and surface image
# in the SVG) and the first animation frame after that.
DRAWN_OBSERVER = """
window.__marks = {};
const mark = (k) => { if (!(k in window.__marks)) window.__marks[k] = performance.now(); };
const drawn = () => {
  const gd = document.querySelector('__CHART__');
  if (!gd || !gd._fullData || !gd.querySelector('image')) return false;
  return Array.from(gd.querySelectorAll('.scatterlayer .trace')).some((g) => {
    const d = g.__data__;
    return d && d[0] && d[0].trace && d[0].trace.name === 'heads' && g.querySelector('.point');
  });
};
new MutationObserver(() => {
  if (!('drawn' in window.__marks) && drawn()) {
    mark('drawn');
    requestAnimationFrame(() => mark('drawn_frame'));
  }
}).observe(document, {subtree: true, childList: true});
""".replace("__CHART__", CHART)
# The on-screen positions of the moving markers (heads on the surface, curves-now on the curves).
MARKERS_SIG = """(gd) => { let s = '';
  gd.querySelectorAll('.scatterlayer .trace').forEach((g) => { const d = g.__data__;
    const name = d && d[0] && d[0].trace ? d[0].trace.name : '';
    if (name === 'heads' || name === 'curves-now')
      g.querySelectorAll('.point').forEach((p) => { s += p.getAttribute('transform'); }); });
  return s; }"""


def bench_browser(repeats: int) -> dict[str, Any]:
    from tests.support import browser, free_port_from, press_chart_button, streamlit_server

    qs = "?" + "&".join(f"{k}={v}" for k, v in query().items())
    keys = ("load_to_chart_ms", "load_to_drawn_ms", "slider_to_chart_ms", "slider_to_painted_ms")
    out: dict[str, Any] = {k: [] for k in keys} | {"playback_fps": [], "painted_fps": []}
    with streamlit_server(free_port_from(*PORTS)) as url, browser() as page:
        page.add_init_script(DRAWN_OBSERVER)
        page.goto(url + "/" + qs)  # warm-up: imports, caches
        page.wait_for_function("() => 'drawn_frame' in window.__marks", timeout=120_000)
        for _ in range(repeats):
            page.goto(url + "/" + qs)
            page.wait_for_selector(CHART + " .main-svg", timeout=60_000)
            out["load_to_chart_ms"].append(page.evaluate("() => performance.now()"))
            page.wait_for_function("() => 'drawn_frame' in window.__marks", timeout=60_000)
            out["load_to_drawn_ms"].append(page.evaluate("() => window.__marks.drawn_frame"))
            page.wait_for_timeout(1000)
        page.wait_for_timeout(1000)
        for _ in range(repeats):
            changed, painted = slider_to_chart(page)
            out["slider_to_chart_ms"].append(changed)
            out["slider_to_painted_ms"].append(painted)
        for _ in range(max(2, repeats // 2)):
            events, painted_fps = playback_fps(page, press_chart_button)
            out["playback_fps"].append(events)
            out["painted_fps"].append(painted_fps)
        # What a visitor first sees: the default page (five optimizers, 200 steps). Plotly
        # re-runs its defaults for every trace on every frame (two traces per optimizer).
        out["default_painted_fps"] = []
        page.goto(url + "/")
        page.wait_for_selector(CHART + " .main-svg", timeout=60_000)
        page.wait_for_timeout(1500)
        for _ in range(max(2, repeats // 2)):
            out["default_painted_fps"].append(playback_fps(page, press_chart_button)[1])
    return out


def bench_load(cold: int, warm: int) -> dict[str, list[float]]:
    """Page load to a drawn race (the race's markers and the surface image in the SVG, then
    the next animation frame), for the default page (what a visitor first sees) and for the
    benchmark's race: on a cold server (a fresh ``streamlit run`` process: the first visit
    pays the app's imports and fills every cache; a fresh browser too), on the warm server in a
    new browser (a student's first visit during a class: nothing in the browser's cache) and on
    the warm server again in the same browser (a reload)."""
    from tests.support import browser, free_port_from, streamlit_server

    pages = {"default": "", "race": "?" + "&".join(f"{k}={v}" for k, v in query().items())}
    kinds = ("cold", "fresh_browser", "warm")
    out: dict[str, list[float]] = {f"{w}_{p}_ms": [] for w in kinds for p in pages}

    def load(page: Any, url: str) -> float:
        page.goto(url)
        page.wait_for_function("() => 'drawn_frame' in window.__marks", timeout=180_000)
        return float(page.evaluate("() => window.__marks.drawn_frame"))

    for _ in range(cold):
        for name, qs in pages.items():
            with streamlit_server(free_port_from(*PORTS)) as url:
                with browser() as page:
                    page.add_init_script(DRAWN_OBSERVER)
                    out[f"cold_{name}_ms"].append(load(page, url + "/" + qs))
                    for _ in range(warm):
                        page.wait_for_timeout(500)
                        out[f"warm_{name}_ms"].append(load(page, url + "/" + qs))
                with browser() as page:
                    page.add_init_script(DRAWN_OBSERVER)
                    out[f"fresh_browser_{name}_ms"].append(load(page, url + "/" + qs))
    return out


def slider_to_chart(page: Any) -> tuple[float, float]:
    """Press an arrow key on the Steps slider; ms until plotly holds the new figure / painted it."""
    page.evaluate(
        """(sel) => {
            window.__t0 = null; window.__t1 = null; window.__t2 = null;
            const sig = () => { const gd = document.querySelector(sel);
                return gd && gd._fullLayout && gd._fullLayout.sliders
                    ? gd._fullLayout.sliders[0].steps.length + ':' +
                      ((gd.layout.sliders[0].steps.slice(-1)[0] || {}).args || [[]])[0][0]
                    : ''; };  // the last scrubber position's frame: the new step count
            const before = sig();
            window.addEventListener('keydown', () => { window.__t0 = performance.now(); },
                                    {capture: true, once: true});
            const poll = () => {
                if (window.__t0 !== null && sig() !== before) {
                    window.__t1 = performance.now();
                    requestAnimationFrame(() => { window.__t2 = performance.now(); });
                    return;
                }
                requestAnimationFrame(poll);
            };
            requestAnimationFrame(poll);
        }""",
        CHART,
    )
    label = page.get_by_text("Steps", exact=True)
    thumb = page.locator("[data-testid=stSlider]", has=label).locator("input[type=range]")
    thumb.focus()
    direction = (
        "ArrowLeft" if page.evaluate("() => (window.__flip = !window.__flip)") else "ArrowRight"
    )
    thumb.press(direction)
    page.wait_for_function("() => window.__t2 !== null", timeout=30_000)
    page.wait_for_timeout(300)
    t0, t1, t2 = page.evaluate("() => [window.__t0, window.__t1, window.__t2]")
    return float(t1 - t0), float(t2 - t0)


def playback_fps(page: Any, press: Any) -> tuple[float, float]:
    """Replay for 3.5 s: (animation events per second, frames painted per second)."""
    page.evaluate(
        """([sel, sigSrc]) => { const gd = document.querySelector(sel);
            const sig = eval(sigSrc);
            const run = (window.__run || 0) + 1;  // a loop left from an earlier call stops
            window.__run = run; window.__frames = []; window.__painted = [];
            if (!gd.__benchHooked) { gd.__benchHooked = true;
                gd.on('plotly_animatingframe', () => window.__frames.push(performance.now())); }
            let last = sig(gd);
            const seen = new Set([last]);  // a state shown again is not a new frame
            const tick = (t) => {
                if (window.__run !== run) return;
                const s = sig(gd);
                if (s !== last && !seen.has(s)) { window.__painted.push(t); seen.add(s); }
                last = s;
                requestAnimationFrame(tick);
            };
            requestAnimationFrame(tick);
        }""",
        [CHART, MARKERS_SIG],
    )
    press(page, "Replay")
    page.wait_for_timeout(3500)
    press(page, "Pause")
    events, painted = page.evaluate(
        "() => { window.__run += 1; return [window.__frames, window.__painted]; }"
    )

    def rate(stamps: list[float]) -> float:
        if len(stamps) < 3:
            return 0.0
        return (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000.0)

    return rate(events), rate(painted)


# ---------------------------------------------------------------- report


NOTES = """## Reading these numbers

- The machine has 2 cores shared by five engineers running tests; the load average is
  recorded above. The page script's *CPU time* (``time.thread_time`` of the script thread)
  is the least load-sensitive server measure; wall time and all browser timings grow with
  the load.
- Server rerun: the figure is built as plain dicts and handed to ``st.plotly_chart`` inside
  an empty ``go.Figure`` subclass whose ``to_dict()`` returns the dict: passing the dict
  itself made Streamlit validate it through ``go.Figure(**dict)``, about 0.4 s for 150
  frames. Only the optimizer whose setting changed is simulated (``st.cache_resource`` keyed
  by a canonical JSON string, read-only arrays, no copy per hit); only one optimizer's main
  settings are drawn at a time (the rarer ones behind "Show every setting"), the shared
  learning-rate slider only while it is on; the panels under the race are drawn only when
  opened. The figure dict is cached per (every run's cache key, view options), so a rerun
  that changes nothing drawn skips building it; it is still JSON-encoded by
  ``st.plotly_chart`` on every run: 1-2 ms with orjson (a dependency since 2026-11-22,
  which plotly picks by itself), 9-10 ms with the stdlib ``json`` before.
- Where the CPU of a rerun went (lr changed, 8 optimizers, measured with ``time.thread_time``
  around each part, 2026-11-22, before orjson): ``st.plotly_chart`` about 12 ms (10 ms of
  it encoding the 136 KB figure with the stdlib json), building the widgets about 15 ms (every
  widget call also scans the whole session state inside Streamlit: selectbox, number_input
  and slider read ``filtered_state``), figure build 4 ms, race 3 ms (one optimizer simulated), the
  Lessons popover's nine buttons 3 ms, the About cards 3 ms, results table 2 ms.
- Page load (Chrome CPU profiles of a load, 2026-11-22): about 0.4 s to the websocket and the
  first messages; then the main thread renders the sidebar, evaluates the syntax-highlighter
  chunk that the Share box's ``st.code`` pulls in (about 0.5 s, before the chart can draw),
  evaluates the plotly.js chunk (4.7 MB, loaded lazily by Streamlit) and draws the race. A
  hidden empty chart sent at the start of a session's first run (app/main.py, removed at the
  end of that run) makes the browser request plotly.js about 0.4 s earlier, while the server
  is still running the page. The click grid's 1024 points are hit-tested by plotly from its
  data, so the SVG draws one of them (``marker.maxdisplayed``): about 0.7 s less to the drawn
  race on this loaded machine (interleaved A/B, 8 loads each).
- Slider change: after the rerun, Streamlit re-renders the page (about a third of the time)
  and plotly redraws the figure; half of plotly's redraw is the step slider measuring each of
  its 150 step labels and "step N" texts (two text measurements per step, on every redraw).
- Playback: for every animation frame plotly.js re-runs ``supplyDefaults`` and ``calc`` over
  every trace and every layout component (4 axes, the legend, the scrubber, the buttons),
  even though a frame moves only the two marker traces (``redraw: false``, no frame
  layout); this, not the drawing, is most of a frame's cost (Chrome CPU profile: 65-73 %
  of the playback time, a quarter of it ``findArrayAttributes`` crawling each trace's
  schema). So the figure keeps traces few: each optimizer's loss and gradient-norm curves
  are one trace in two bands of one axis pair, and one trace moves all curve markers and
  the step readout. 8 optimizers: 31 traces gave 28-29 fps, 21 traces give 33-34 fps.
  Play asks for a frame every 16 ms: plotly advances at the first display tick more than that
  after the last frame, so the former 20 ms could never exceed 30 fps at 60 Hz (every second
  tick); 16 ms lets a browser that keeps up show two ticks in three (about 40 fps).
- History of the figure's other playback settings (moved here from app/figures comments,
  headless Chromium on the 2-core machine, 2026-11): the scrubber has 50 unlabelled positions
  instead of one labelled position per frame (150): a redraw about 40 % shorter and playback
  about 3 fps faster; the invisible click grid (32 x 32 points, hit-tested by plotly from its
  data) draws one marker instead of 1,024: about 0.1 s less per draw and less paint work on
  every frame.
- The multi-page app (issue #11): the router adds one navigation message per run and each
  page reads its state through the table-driven codec; the before/after rows below were
  measured one after the other on the same machine.
"""


KEEP = "## Before and after"  # APP_RESULTS.md keeps what follows this heading

BROWSER_ROWS = (  # (label, result key, unit): each new method first, then the old one
    ("page load to drawn race, default page, COLD server, new browser", "cold_default_ms", "ms"),
    ("  warm server, new browser (a student's first visit)", "fresh_browser_default_ms", "ms"),
    ("  warm server, same browser (a reload)", "warm_default_ms", "ms"),
    ("page load to drawn race, this race, COLD server, new browser", "cold_race_ms", "ms"),
    ("  warm server, new browser", "fresh_browser_race_ms", "ms"),
    ("  warm server, same browser", "warm_race_ms", "ms"),
    ("page load to first chart: race drawn, next frame (new)", "load_to_drawn_ms", "ms"),
    ("  old method: plotly's empty SVG seen by Playwright", "load_to_chart_ms", "ms"),
    ("slider change to redrawn chart: painted (new)", "slider_to_painted_ms", "ms"),
    ("  old method: new figure in plotly's layout", "slider_to_chart_ms", "ms"),
    ("playback: frames painted per second (new)", "painted_fps", "fps"),
    ("  old method: animation events per second", "playback_fps", "fps"),
    ("playback on the default page (5 optimizers), painted", "default_painted_fps", "fps"),
)


def summary(name: str, values: list[float], unit: str) -> str:
    return (
        f"| {name} | {statistics.median(values):.0f} {unit} | {pct(values, 90):.0f} {unit} "
        f"| {(max if unit == 'fps' else min)(values):.0f} {unit} | {len(values)} |"
    )


def write(results: dict[str, Any]) -> str:
    s = results["server"]
    lines = [
        "# Explore page benchmark",
        "",
        f"Measured by `benchmarks/bench_app.py` on {results['when']} "
        f"({os.cpu_count()} CPUs, load average {results['load']} at the start (1 / 5 / 15 "
        "min): above about 1 other work shared the cores, and the timings are upper bounds). "
        "Race: "
        f"{len(query()['opt'].split(','))} optimizers x {STEPS} steps on {SURFACE}.",
        "",
        "| measure | median | p90 | best | n |",
        "|---|---|---|---|---|",
        summary(
            "server: page script after one optimizer's lr changed (CPU time)",
            s["script_cpu_one_lr_changed_ms"],
            "ms",
        ),
        summary(
            "server: page script after one optimizer's lr changed (wall time)",
            s["script_one_lr_changed_ms"],
            "ms",
        ),
        summary(
            "server: page script, nothing changed (CPU time)",
            s["script_cpu_nothing_changed_ms"],
            "ms",
        ),
        summary(
            "server: page script, nothing changed (wall time)", s["script_nothing_changed_ms"], "ms"
        ),
        summary(
            "  same, whole AppTest round trip (lr changed)", s["rerun_one_lr_changed_ms"], "ms"
        ),
        summary("  piece: race from the cache", s["race_cached_ms"], "ms"),
        summary("  piece: figure build (plain dicts)", s["figure_build_ms"], "ms"),
        summary("  piece: JSON encoding (plotly.io.to_json)", s["json_encode_ms"], "ms"),
        "",
        f"- all 8 optimizers simulated without the cache: {s['race_all_8_uncached_ms']:.0f} ms",
        f"- figure payload: {s['payload_bytes'] / 1000:.0f} KB ({s['frames']} frames, "
        f"{s['traces']} traces); target <= 500 KB",
        f"- first run of a fresh session (imports excluded, cold caches): "
        f"{s['cold_first_run_s'] * 1000:.0f} ms",
    ]
    b = results.get("browser")
    if b:
        lines += [
            "",
            "| browser (headless Chromium) | median | p90 | best | n |",
            "|---|---|---|---|---|",
            *(summary(label, b[key], unit) for label, key, unit in BROWSER_ROWS if b.get(key)),
        ]
    lines += [
        "",
        "Targets: rerun <= 60 ms, payload <= 500 KB, slider -> chart <= 400 ms, "
        "load -> chart <= 3 s, playback >= 30 fps.",
        "",
        NOTES,
    ]
    text = "\n".join(lines)
    path = ROOT / "benchmarks" / "APP_RESULTS.md"
    kept = path.read_text().partition(KEEP)[2] if path.exists() else ""
    if kept:  # comparisons written by hand below the marker survive a new run
        text = text.rstrip("\n") + "\n\n" + KEEP + kept
    path.write_text(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--no-browser", action="store_true", help="server side only")
    ap.add_argument(
        "--load-only", action="store_true", help="only page loads (cold and warm), printed"
    )
    args = ap.parse_args()
    if args.load_only:
        loads = bench_load(cold=3, warm=3)
        print(f"load average {os.getloadavg()}")
        for label, key, unit in BROWSER_ROWS:
            if loads.get(key):
                print(summary(label, loads[key], unit))
        return
    repeats = 5 if args.quick else 15
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
        "server": bench_server(repeats),
    }
    if not args.no_browser:
        results["browser"] = bench_browser(max(3, repeats // 3))
        results["browser"] |= bench_load(cold=2 if args.quick else 3, warm=3)
    print(write(results))


if __name__ == "__main__":
    main()

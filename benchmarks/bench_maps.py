"""Benchmark of the Maps page: the bare core call against everything the page does, in one run.

    .venv/bin/python benchmarks/bench_maps.py [--repeats 3] [--no-browser] [--quick]

Server side, for each gradient-based optimizer (the issue's targets: a 256 × 256 sweep of 500
steps in ≤ 0.6 s per optimizer, a 512 × 512 basin map of 500 steps in ≤ 2.5 s, the page adding
≤ 15 % on top of the bare call):

* **bare, one process**: ``optimizers.simulate(..., record="final", engine="numpy")`` with
  the map's (K,) hyperparameter arrays (a sweep) or its K starts (a basin map): the core call
  alone;
* **bare, two processes**: the same call through the page's pool (``sweeps.POOL``, an
  :class:`optimizers.pool.SimulatePool` of two processes): the same numbers, on both cores;
* **page**: the same map as the page makes it: through the worker's queue and cache
  (app/mapwork.py, a fresh one: nothing cached), ``app.sweeps.run_sweep`` / ``run_basin`` (the
  same simulate call plus reading the runs: nearest minimum, gap, rate, labels; a basin map's
  call also checks where each run settles, ``settle_points``, which counts as the page's cost),
  the figure
  (``app.figures.maps``: colouring, PNG encoding, the typed-array hover layer, the stability
  edges) and its JSON encoding as Streamlit does it (``plotly.io.to_json``);
* **page, steps to tolerance**: the sweep coloured by steps to tolerance: still a final-state
  call, in which the engine checks each run's loss every n-th step (``reach_loss``); against
  the same bare final-state call, so the checks count as the page's cost.

The three alternate within each repeat; the best of the repeats is reported (the machine
is shared), with the median beside it; a short map gets more repeats (its two-process call
timed for about ``TIMED_S`` seconds in all, at most ``MAX_REPEATS``). The sweep's second
axis is the optimizer's β (its "beta" role), else its ρ, else its first other numeric
hyperparameter (SGD: momentum), so that every optimizer runs 65,536 runs.

Browser side (real ``streamlit run`` + headless Chromium): the page with three 256 × 256 maps
of 500 steps, then a control that changes only how the maps are drawn (the colour): the time
from the change to the next painted frame of the redrawn chart, with the maps already computed
(excluding compute), for a new figure and for a figure already built once.

Results: printed, and written to benchmarks/MAPS_RESULTS.md and
benchmarks/results/bench_maps.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import plotly.io  # noqa: E402

import optimizers  # noqa: E402
import surfaces  # noqa: E402
from app import axes, mapwork, sweeps  # noqa: E402
from app.figures import maps as map_figs  # noqa: E402
from app.figures.layout import PlainFigure, Style  # noqa: E402
from app.state.maps import MapsState  # noqa: E402

SWEEP_N, SWEEP_STEPS, SWEEP_SURFACE = 256, 500, "ravine"
BASIN_N, BASIN_STEPS, BASIN_SURFACE = 512, 500, "himmelblau"
GRADIENT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
                       "nadam", "radam", "adamax", "adadelta", "lion")  # fmt: skip
BASIN_OPTIMIZERS = ("sgd", "momentum", "adam")
TIMED_S, MAX_REPEATS = 3.0, 25  # each map's two-process call is timed for about this long


def second_axis(opt: str) -> str:
    """The sweep's y axis for ``opt``: β, else ρ, else its first other numeric setting."""
    for role in ("beta", "rho"):
        if axes.hyper_for(role, opt) is not None:
            return role
    for h in optimizers.get(opt).hypers:
        if h.kind in ("float", "int") and h.role is None:
            return h.name
    raise ValueError(opt)


def sweep_spec(opt: str, steps_colour: bool = False, n: int = SWEEP_N) -> sweeps.SweepSpec:
    st = MapsState(
        surface=SWEEP_SURFACE,
        optimizers=(opt,),
        y_axis=second_axis(opt),
        grid=n,
        steps=SWEEP_STEPS,
        color="steps" if steps_colour else "gap",
    )
    (spec,), _ = sweeps.sweep_specs(st)
    assert spec.lanes() == n * n, (opt, spec.lanes())
    return spec


def bare_sweep(spec: sweeps.SweepSpec, shared: bool = False) -> float:
    """The core call alone, with the arrays the map gives it (``shared``: its runs shared by
    the page's process pool, ``sweeps.POOL``, as the page runs it)."""
    xs, ys = spec.x.values(), spec.y.values()
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    hyp = dict(spec.hypers)
    hyp[axes.hyper_for(spec.x.key, spec.optimizer).name] = gx.ravel()  # type: ignore[union-attr]
    hyp[axes.hyper_for(spec.y.key, spec.optimizer).name] = gy.ravel()  # type: ignore[union-attr]
    s = surfaces.get(spec.surface)
    starts = np.tile(np.asarray(spec.start), (gx.size, 1))
    run = sweeps.POOL.simulate if shared else optimizers.simulate
    t0 = time.perf_counter()
    run(s, spec.optimizer, starts, spec.steps, record="final", engine="numpy", **hyp)
    return time.perf_counter() - t0


def to_json(fig: dict[str, Any]) -> str:
    return str(plotly.io.to_json(PlainFigure(fig), validate=False))


def page_sweep(spec: sweeps.SweepSpec) -> dict[str, float]:
    """The page's whole path for one map, timed by part (a fresh queue: nothing cached)."""
    w = mapwork.MapWorker()
    t0 = time.perf_counter()
    r = w.compute(spec.key(), lambda: sweeps.run_sweep(spec), work=spec.work(), kind="sweep")
    t1 = time.perf_counter()
    edges = map_figs.Edges(25.0, False, (0.0, 0.0))
    fig = map_figs.sweep_figure([r], [spec.optimizer], "steps" if spec.reach else "gap",
                                Style(), edges, spec.tol)  # fmt: skip
    t2 = time.perf_counter()
    payload = to_json(fig)
    t3 = time.perf_counter()
    return {
        "simulate": r.simulate_s,
        "read": r.total_s - r.simulate_s,
        "queue": (t1 - t0) - r.total_s,
        "figure": t2 - t1,
        "json": t3 - t2,
        "total": t3 - t0,
        "stride": float(r.tol_every if spec.reach else r.stride),  # steps: checked every n
        "bytes": float(len(payload)),
    }


def basin_spec(opt: str, n: int = BASIN_N) -> sweeps.BasinSpec:
    st = MapsState(view="basin", surface=BASIN_SURFACE, optimizers=(opt,), basin_grid=n,
                   steps=BASIN_STEPS)  # fmt: skip
    (spec,), _ = sweeps.basin_specs(st)
    return spec


def bare_basin(spec: sweeps.BasinSpec, shared: bool = False) -> float:
    xs, ys = spec.centres()
    gx, gy = np.meshgrid(xs, ys)
    starts = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    s = surfaces.get(spec.surface)
    run = sweeps.POOL.simulate if shared else optimizers.simulate
    t0 = time.perf_counter()
    run(s, spec.optimizer, starts, spec.steps, record="final", engine="numpy",
        **dict(spec.hypers))  # fmt: skip
    return time.perf_counter() - t0


def page_basin(spec: sweeps.BasinSpec) -> dict[str, float]:
    w = mapwork.MapWorker()
    s = surfaces.get(spec.surface)
    t0 = time.perf_counter()
    r = w.compute(spec.key(), lambda: sweeps.run_basin(spec), work=spec.work(), kind="basin")
    t1 = time.perf_counter()
    fig = map_figs.basin_figure([r], [spec.optimizer], s.minima, ("x", "y"), Style())
    t2 = time.perf_counter()
    payload = to_json(fig)
    t3 = time.perf_counter()
    return {
        "simulate": r.simulate_s,
        "read": r.total_s - r.simulate_s,
        "queue": (t1 - t0) - r.total_s,
        "figure": t2 - t1,
        "json": t3 - t2,
        "total": t3 - t0,
        "stride": float(r.stride),
        "bytes": float(len(payload)),
    }


def measure(
    bare: Callable[..., float], page: Callable[[], dict[str, float]], repeats: int
) -> dict[str, Any]:
    """Bare on one process, bare on the pool and the page in turn (the order flips each
    repeat); best and median of each."""
    b: list[float] = []
    sh: list[float] = []
    p: list[dict[str, float]] = []
    bare(shared=True)  # the pool's processes started
    # a short map is timed more often: the machine's slow spells weigh more on 0.13 s
    once = bare(shared=True)
    repeats = max(repeats, min(MAX_REPEATS, math.ceil(TIMED_S / once)))
    for i in range(repeats):
        if i % 2 == 0:
            b.append(bare())
            sh.append(bare(shared=True))
            p.append(page())
        else:
            p.append(page())
            sh.append(bare(shared=True))
            b.append(bare())
    best = min(p, key=lambda d: d["total"])
    return {
        "bare_best_s": round(min(b), 3),
        "bare_median_s": round(statistics.median(b), 3),
        "shared_best_s": round(min(sh), 3),
        "shared_median_s": round(statistics.median(sh), 3),
        "page_over_shared_pct": round(100 * (best["total"] / min(sh) - 1), 1),
        # each page run beside its own two-process run (adjacent in every repeat): the
        # machine's slow spells shift both, so the median of the pairs is the steadier figure
        "page_over_shared_paired_pct": round(
            100 * statistics.median(d["total"] / x - 1 for d, x in zip(p, sh, strict=True)), 1
        ),
        "page_best_s": round(best["total"], 3),
        "page_median_s": round(statistics.median(d["total"] for d in p), 3),
        "page_simulate_s": round(best["simulate"], 3),
        "page_parts_ms": {k: round(1000 * best[k], 1) for k in ("read", "queue", "figure", "json")},
        "overhead_pct": round(100 * (best["total"] / min(b) - 1), 1),
        "own_overhead_pct": round(100 * (best["total"] - best["simulate"]) / best["simulate"], 1),
        "stride": int(best["stride"]),
        "payload_kb": round(best["bytes"] / 1024),
        "repeats": repeats,
    }


def server(repeats: int, quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"sweeps": {}, "sweeps_steps_to_tolerance": {}, "basins": {}}
    opts = ("sgd", "momentum", "adam") if quick else GRADIENT_OPTIMIZERS
    for opt in opts:
        spec = sweep_spec(opt)
        row = measure(
            functools.partial(bare_sweep, spec), functools.partial(page_sweep, spec), repeats
        )
        out["sweeps"][opt] = row
        print("sweep", opt, json.dumps(row), flush=True)
    for opt in ("sgd", "momentum", "adam"):
        spec = sweep_spec(opt, steps_colour=True)
        row = measure(
            functools.partial(bare_sweep, spec), functools.partial(page_sweep, spec), repeats
        )
        out["sweeps_steps_to_tolerance"][opt] = row
        print("sweep+steps", opt, json.dumps(row), flush=True)
    for opt in BASIN_OPTIMIZERS if quick else GRADIENT_OPTIMIZERS:
        bspec = basin_spec(opt)
        row = measure(
            functools.partial(bare_basin, bspec), functools.partial(page_basin, bspec), repeats
        )
        out["basins"][opt] = row
        print("basin", opt, json.dumps(row), flush=True)
    out["payload_three_maps"] = payload_three_maps()
    return out


def payload_three_maps() -> dict[str, int]:
    """Bytes of the largest figures: three 256 × 256 sweeps, three 512 × 512 basin maps."""
    specs, _ = sweeps.sweep_specs(MapsState(grid=256, steps=50))
    res = [sweeps.run_sweep(s) for s in specs]
    sweep_fig = map_figs.sweep_figure(res, ["a", "b", "c"], "gap", Style(), None)
    bspecs, _ = sweeps.basin_specs(MapsState(view="basin", surface="himmelblau", basin_grid=512,
                                             steps=50))  # fmt: skip
    bres = [sweeps.run_basin(s) for s in bspecs]
    basin_fig = map_figs.basin_figure(bres, ["a", "b", "c"], surfaces.get("himmelblau").minima,
                                      ("x", "y"), Style())  # fmt: skip
    return {
        "sweep_3x256x256_kb": round(len(to_json(sweep_fig)) / 1024),
        "basin_3x512x512_kb": round(len(to_json(basin_fig)) / 1024),
    }


# ---------------------------------------------------------------- the browser

WATCH_JS = """([sel, before]) => {
  window.__redraw = null;
  const t0 = performance.now();
  const check = () => {
    const gd = document.querySelector(sel);
    const img = gd && gd._fullLayout && gd._fullLayout.images && gd._fullLayout.images[0];
    if (img && img.source !== before) {
      requestAnimationFrame(() => { window.__redraw = performance.now() - t0; });
    } else { requestAnimationFrame(check); }
  };
  check();
}"""


def browser(repeats: int) -> dict[str, Any]:
    from tests.support import browser as chromium
    from tests.support import free_port_from, streamlit_server, wait_for_chart

    gd = "[data-testid=stPlotlyChart] .js-plotly-plot"
    out: dict[str, Any] = {}
    with streamlit_server(free_port_from(8890, 8900)) as url, chromium() as page:
        t0 = time.perf_counter()
        page.goto(f"{url}/maps?grid=256&steps=500")
        wait_for_chart(page, timeout_ms=180_000)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=180_000
        )
        out["first_load_with_compute_s"] = round(time.perf_counter() - t0, 2)
        new: list[float] = []
        cached: list[float] = []
        colors = ["final loss gap", "distance to the nearest minimum"]
        for i in range(2 * repeats):
            before = page.evaluate(
                f"() => document.querySelector('{gd}')._fullLayout.images[0].source"
            )
            option = page.get_by_role("option", name=colors[(i + 1) % 2], exact=True)
            for _ in range(5):  # the sidebar may still be settling: open the list again
                page.get_by_role("combobox", name="Colour by").click()
                try:
                    option.wait_for(timeout=5_000)
                    break
                except Exception:
                    page.keyboard.press("Escape")
            page.evaluate(WATCH_JS, [gd, before])  # from here to the repainted chart
            option.click()
            page.wait_for_function("() => window.__redraw !== null", timeout=120_000)
            ms = float(page.evaluate("() => window.__redraw"))
            (new if i < 2 else cached).append(ms / 1000)
            page.wait_for_function(
                "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000
            )
            page.wait_for_timeout(500)
        out["redraw_new_figure_s"] = [round(v, 3) for v in new]
        out["redraw_cached_figure_s"] = [round(v, 3) for v in cached]
        out["payload_kb"] = round(
            page.evaluate(
                f"() => JSON.stringify(document.querySelector('{gd}')._fullLayout.images"
                ".map(i => i.source)).length"
            )
            / 1024
        )
    return out


def report(res: dict[str, Any]) -> str:
    lines = [
        "# Maps page: measured",
        "",
        f"Produced by `benchmarks/bench_maps.py` on {res['when']} ({os.cpu_count()} cores, "
        f"shared; 1-minute load average {res['loadavg'][0]} at the start, {res['loadavg'][1]} "
        "at the end). Best of the repeats, median in brackets. **One process**: the core call "
        'alone, `optimizers.simulate(..., record="final", engine="numpy")`. **Two processes**: '
        "the same call with its runs shared by the page's pool "
        "(`optimizers.pool.SimulatePool`, two processes at nice +10; the same numbers). "
        "**Page**: the same map through the page's queue and cache (on the pool), reading the "
        "runs, the figure (PNG pictures, typed-array hover layer) and its JSON. What the page "
        "adds: page / two processes − 1, the median over the repeats of each page run against the "
        "two-process run beside it, with best against best in brackets; own overhead: (page − "
        "the page's own simulate call, which includes reading the runs in the pool's "
        "processes) / that call.",
        "",
        f"## Sweep maps: {SWEEP_N} × {SWEEP_N} runs of {SWEEP_STEPS} steps on the "
        f"{SWEEP_SURFACE} (lr × β, ρ or momentum; target ≤ 0.6 s per optimizer)",
        "",
        "| optimizer | one process | two processes | page | page adds | own overhead | read / "
        "figure / JSON (ms) | payload |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def adds(r: dict[str, Any]) -> str:
        return f"{r['page_over_shared_paired_pct']:+} % ({r['page_over_shared_pct']:+} %)"

    def row(name: str, r: dict[str, Any]) -> str:
        parts = r["page_parts_ms"]
        return (
            f"| {name} | {r['bare_best_s']} s ({r['bare_median_s']}) | {r['shared_best_s']} s "
            f"({r['shared_median_s']}) | {r['page_best_s']} s ({r['page_median_s']}) | "
            f"{adds(r)} | {r['own_overhead_pct']:+} % | "
            f"{parts['read']} / {parts['figure']} / {parts['json']} | {r['payload_kb']} kB |"
        )

    for opt, r in res["server"]["sweeps"].items():
        lines.append(row(opt, r))
    lines += [
        "",
        "## The same sweeps coloured by steps to tolerance (the engine checks each run's loss "
        "every n-th step; only the final state is recorded)",
        "",
        "| optimizer | one process (final only) | two processes (final only) | page | page "
        "adds | checked every | read / figure / JSON (ms) | payload |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for opt, r in res["server"]["sweeps_steps_to_tolerance"].items():
        parts = r["page_parts_ms"]
        lines.append(
            f"| {opt} | {r['bare_best_s']} s | {r['shared_best_s']} s | {r['page_best_s']} s "
            f"({r['page_median_s']}) | {adds(r)} | {r['stride']} steps | "
            f"{parts['read']} / {parts['figure']} / {parts['json']} | {r['payload_kb']} kB |"
        )
    lines += [
        "",
        f"## Basin maps: {BASIN_N} × {BASIN_N} starts of {BASIN_STEPS} steps on "
        f"{BASIN_SURFACE} (target ≤ 2.5 s)",
        "",
        "| optimizer | one process | two processes | page | page adds | own overhead | "
        "checked every | read / figure / JSON (ms) | payload |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for opt, r in res["server"]["basins"].items():
        parts = r["page_parts_ms"]
        lines.append(
            f"| {opt} | {r['bare_best_s']} s ({r['bare_median_s']}) | {r['shared_best_s']} s "
            f"({r['shared_median_s']}) | {r['page_best_s']} s ({r['page_median_s']}) | "
            f"{adds(r)} | {r['own_overhead_pct']:+} % | "
            f"{r['stride']} steps | {parts['read']} / {parts['figure']} / {parts['json']} | "
            f"{r['payload_kb']} kB |"
        )
    p = res["server"]["payload_three_maps"]
    lines += [
        "",
        f"Largest figures (limit 1.5 MB): three 256 × 256 sweep maps {p['sweep_3x256x256_kb']} "
        f"kB, three 512 × 512 basin maps {p['basin_3x512x512_kb']} kB.",
        "",
    ]
    if "browser" in res:
        b = res["browser"]
        lines += [
            "## Browser (headless Chromium, real `streamlit run`)",
            "",
            f"- the page with three 256 × 256 maps of 500 steps, first load (computing them): "
            f"{b['first_load_with_compute_s']} s",
            f"- the colour changed (maps already computed): new figure "
            f"{', '.join(str(v) for v in b['redraw_new_figure_s'])} s; figure already built "
            f"{', '.join(str(v) for v in b['redraw_cached_figure_s'])} s (target ≤ 1 s, from "
            "the click on the option to the next painted frame of the redrawn chart)",
            "",
        ]
    load = ROOT / "benchmarks" / "results" / "maps.json"  # benchmarks/load.py maps
    if load.exists():
        import load as load_bench

        text = load_bench.markdown({"maps": json.loads(load.read_text())})
        lines += ["", text[text.index("## Maps while") :]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="sgd, momentum and adam only")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--browser-only", action="store_true", help="keep the last server results")
    ap.add_argument("--report-only", action="store_true", help="rewrite the report from the last")
    args = ap.parse_args(argv)
    last = ROOT / "benchmarks" / "results" / "bench_maps.json"
    if args.report_only:
        (ROOT / "benchmarks" / "MAPS_RESULTS.md").write_text(
            report(json.loads(last.read_text())) + "\n"
        )
        return 0
    load0 = round(os.getloadavg()[0], 1)
    res: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.browser_only and last.exists():
        res["server"] = json.loads(last.read_text())["server"]
    else:
        res["server"] = server(args.repeats, args.quick)
    if not args.no_browser:
        res["browser"] = browser(max(1, args.repeats - 1))
        print("browser", json.dumps(res["browser"]), flush=True)
    res["loadavg"] = [load0, round(os.getloadavg()[0], 1)]
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_maps.json").write_text(json.dumps(res, indent=2) + "\n")
    (ROOT / "benchmarks" / "MAPS_RESULTS.md").write_text(report(res) + "\n")
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())

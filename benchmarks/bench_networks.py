"""Benchmark of the Networks page (issue #13): the core runs, a rerun's server CPU, the
initialisation study, the payload, and the browser's redraw and playback.

    .venv/bin/python benchmarks/bench_networks.py [--quick] [--no-browser]

What is measured (targets from the issue in brackets):
  * core: ``optimizers.minimize`` on the lesson's XOR 2-4-1 network, each of the default five
    optimizers, 1,000 full-batch steps, K = 1 and K = 5; and the same five trainings with the
    lesson's own loop (nn.Module + torch.optim, as the lesson writes it: float32, and float64);
  * server: the default page (XOR, 5 optimizers, 1,000 epochs, full batch, the default views
    drawn: training, curves, landscape, inside, maths) in AppTest; the script thread's CPU
    time (``time.thread_time``) of a rerun after ONE optimizer's learning rate changed (only
    that run is trained again) [<= 150 ms], of a rerun that changes nothing, the cold first
    run, and the payload of every figure [<= 1 MB];
  * 200 initialisations x 5 optimizers x 1,000 steps, nothing cached, wall time [<= 2 s];
  * browser (real ``streamlit run`` + headless Chromium): page load to the training figure
    drawn, a sidebar slider change (SGD's learning rate) to the redrawn figure painted
    [<= 600 ms], and playback: frames painted per second during Replay [>= 30 fps].

Results are printed and written to benchmarks/NETWORKS_RESULTS.md with the machine's load.
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
import surfaces  # noqa: E402

OPTS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
LESSON_LR = {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "rmsprop": 0.01, "adam": 0.01}
STEPS = 1000
PORTS = (8670, 8690)
GD = "[data-testid=stPlotlyChart] .js-plotly-plot"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


# ---------------------------------------------------------------- core


def bench_core(repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in (1, 5):
        net, x0 = surfaces.network("xor", seed=list(range(k)), bce="torch")
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            for name in OPTS:
                optimizers.minimize(net, x0, STEPS, name, lr=LESSON_LR[name])
            times.append((time.perf_counter() - t) / len(OPTS))
        out[f"minimize_k{k}_ms_per_optimizer"] = [x * 1000 for x in times]
    out["torch_loop_float32_ms_per_optimizer"] = torch_loop(repeats, "float32")
    out["torch_loop_float64_ms_per_optimizer"] = torch_loop(repeats, "float64")
    return out


def torch_loop(repeats: int, dtype: str) -> list[float]:
    """The lesson's loop (lesson 002): model(X), BCELoss, zero_grad, backward, step."""
    import torch
    from torch import nn

    dt = getattr(torch, dtype)
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=dt)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=dt)
    classes = {
        "sgd": (torch.optim.SGD, {}),
        "momentum": (torch.optim.SGD, {"momentum": 0.9}),
        "nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
        "rmsprop": (torch.optim.RMSprop, {}),
        "adam": (torch.optim.Adam, {}),
    }
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for name in OPTS:
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
            model = model.to(dt)
            cls, kw = classes[name]
            opt = cls(model.parameters(), lr=LESSON_LR[name], **kw)
            criterion = nn.BCELoss()
            losses = []
            for _epoch in range(STEPS):
                outputs = model(x)
                loss = criterion(outputs, y)
                losses.append(loss.item())
                opt.zero_grad()
                loss.backward()
                opt.step()
        times.append((time.perf_counter() - t) / len(OPTS) * 1000)
    return times


# ---------------------------------------------------------------- server


def bench_server(repeats: int) -> dict[str, Any]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=300)
    at.switch_page("views/networks.py")
    t = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    cpu_cold = float(at.session_state["networks._run_cpu_ms"])
    at.run()
    at.selectbox(key="networks.tune").set_value("adam").run()
    lrs = [0.003, 0.005, 0.007, 0.015, 0.02, 0.03, 0.05, 0.07]
    cpu_changed: list[float] = []
    jobs_changed: list[float] = []
    wall_changed: list[float] = []
    for i in range(repeats):
        at.select_slider(key="networks.hp.adam.lr").set_value(lrs[i % len(lrs)])
        if i >= len(lrs):  # a value not seen before, so the run is not in the cache
            at.session_state["networks.epochs"] = 1000 + i
        jobs0 = jobs_cpu_ms()
        t = time.perf_counter()
        at.run()
        wall_changed.append((time.perf_counter() - t) * 1000)
        cpu_changed.append(float(at.session_state["networks._run_cpu_ms"]))
        jobs_changed.append(jobs_cpu_ms() - jobs0)
        if at.exception or at.error:
            raise RuntimeError("the page failed during the benchmark")
    cpu_same: list[float] = []
    for _ in range(repeats):
        at.run()
        cpu_same.append(float(at.session_state["networks._run_cpu_ms"]))
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    return {
        "cold_first_run_s": cold,
        "cold_first_run_cpu_ms": cpu_cold,
        "rerun_cpu_one_lr_changed_ms": cpu_changed,
        "rerun_jobs_cpu_one_lr_changed_ms": jobs_changed,
        "rerun_total_cpu_one_lr_changed_ms": [
            a + b for a, b in zip(cpu_changed, jobs_changed, strict=True)
        ],
        "rerun_wall_one_lr_changed_ms": wall_changed,
        "rerun_cpu_nothing_changed_ms": cpu_same,
        "payload_bytes": sum(len(s.encode()) for s in specs),
        "payload_training_bytes": len(specs[0].encode()),
        "charts": len(specs),
    }


def jobs_cpu_ms() -> float:
    """CPU time (user + system) of the page's jobs process(es) so far (app/netcompute.py)."""
    from app import netcompute as nc

    pool = nc._pool()
    if pool is None:
        return 0.0
    total = 0
    for pid in list(getattr(pool, "_processes", {}) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return 1000.0 * total / os.sysconf("SC_CLK_TCK")


def bench_inits(repeats: int) -> dict[str, Any]:
    from app import netcompute as nc
    from app.state.networks import NetworksState

    state = NetworksState()
    train = nc.training(state)
    times = []
    for _ in range(repeats):
        nc._inits.clear()
        t = time.perf_counter()
        results, errors = nc.inits(state, train)
        times.append(time.perf_counter() - t)
        assert not errors, errors
        assert len(results) == 5
    worked = {lb: float(r.success(None).mean()) for lb, r in results.items()}
    return {"inits_200x5x1000_s": times, "inits_share_worked": worked}


# ---------------------------------------------------------------- browser


def bench_browser(repeats: int) -> dict[str, Any]:
    from tests.support import browser, free_port_from, press_chart_button, streamlit_server

    out: dict[str, Any] = {"load_to_drawn_ms": [], "slider_to_painted_ms": [], "painted_fps": []}
    with streamlit_server(free_port_from(*PORTS)) as url, browser() as page:
        page.goto(url + "/networks")  # warm-up: imports, caches
        wait_drawn(page)
        for _ in range(repeats):
            page.goto(url + "/networks")
            wait_drawn(page)
            out["load_to_drawn_ms"].append(page.evaluate("() => window.__drawn"))
            page.wait_for_timeout(800)
        for _ in range(repeats):
            out["slider_to_painted_ms"].append(slider_to_painted(page))
        for _ in range(max(2, repeats // 2)):
            out["painted_fps"].append(playback_fps(page, press_chart_button))
    return out


def wait_drawn(page: Any) -> None:
    page.wait_for_function(
        f"""() => {{ const gd = document.querySelector('{GD}');
            if (gd && gd._fullData && gd.querySelector('image') && window.__drawn === undefined)
                requestAnimationFrame(() => {{ window.__drawn = performance.now(); }});
            return window.__drawn !== undefined; }}""",
        timeout=180_000,
    )


def slider_to_painted(page: Any) -> float:
    """Press an arrow key on the learning-rate slider of the optimizer whose settings are shown
    (SGD's on a plain visit); ms until the training figure with the new run is painted (its
    panel titles hold each run's final loss)."""
    page.evaluate(
        f"""() => {{
            window.__t0 = null; window.__t2 = null;
            const sig = () => {{ const gd = document.querySelector('{GD}');
                return gd && gd._fullLayout ? JSON.stringify(
                    (gd._fullLayout.annotations || []).map(a => a.text)) : ''; }};
            const before = sig();
            window.addEventListener('keydown', () => {{ window.__t0 = performance.now(); }},
                                    {{capture: true, once: true}});
            const poll = () => {{
                if (window.__t0 !== null && sig() !== before) {{
                    requestAnimationFrame(() => {{ window.__t2 = performance.now(); }});
                    return;
                }}
                requestAnimationFrame(poll);
            }};
            requestAnimationFrame(poll);
        }}"""
    )
    label = page.get_by_text("lr (", exact=False).first
    slider = page.locator("[data-testid=stSlider]", has=label).first
    thumb = slider.get_by_role("slider")
    thumb.focus()
    flip = page.evaluate("() => (window.__flip = !window.__flip)")
    thumb.press("ArrowLeft" if flip else "ArrowRight")
    page.wait_for_function("() => window.__t2 !== null", timeout=60_000)
    page.wait_for_timeout(500)
    return float(page.evaluate("() => window.__t2 - window.__t0"))


def playback_fps(page: Any, press: Any) -> float:
    """Replay for 3 s; frames painted per second that show a frame not shown before (the
    epoch readout and the first panel's picture)."""
    page.evaluate(
        f"""() => {{ const gd = document.querySelector('{GD}');
            const run = (window.__run || 0) + 1; window.__run = run; window.__painted = [];
            const sig = () => {{ const im = gd.querySelector('image');
                const t = gd.querySelector('.scatterlayer .trace:last-child text');
                return (im ? im.getAttribute('href').length : 0) + ':' +
                       (t ? t.textContent : ''); }};
            let last = sig(); const seen = new Set([last]);
            const tick = (t) => {{ if (window.__run !== run) return;
                const s = sig(); if (s !== last && !seen.has(s)) {{
                    window.__painted.push(t); seen.add(s); }}
                last = s; requestAnimationFrame(tick); }};
            requestAnimationFrame(tick); }}"""
    )
    press(page, "Replay")
    page.wait_for_timeout(3000)
    press(page, "Pause")
    stamps = page.evaluate("() => { window.__run += 1; return window.__painted; }")
    if len(stamps) < 3:
        return 0.0
    return float((len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000.0))


# ---------------------------------------------------------------- report


def summary(values: list[float], unit: str) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.4g} {unit} (p90 {pct(values, 90):.4g}, n={len(values)})"


def write(results: dict[str, Any]) -> str:
    core, server = results["core"], results["server"]
    inits, web = results["inits"], results.get("browser")
    rows = [
        ("minimize, K = 1, one optimizer, 1,000 steps", core["minimize_k1_ms_per_optimizer"],
         "ms", ""),
        ("minimize, K = 5 initialisations, one optimizer, 1,000 steps",
         core["minimize_k5_ms_per_optimizer"], "ms", ""),
        ("the lesson's torch.optim loop, float32, one optimizer, 1,000 epochs",
         core["torch_loop_float32_ms_per_optimizer"], "ms", ""),
        ("the same loop in float64", core["torch_loop_float64_ms_per_optimizer"], "ms", ""),
        ("server CPU, rerun after one optimizer's lr changed: page + jobs process",
         server["rerun_total_cpu_one_lr_changed_ms"], "ms", "≤ 150 ms"),
        ("  of which the page's script thread", server["rerun_cpu_one_lr_changed_ms"], "ms", ""),
        ("  of which the jobs process (training the run)",
         server["rerun_jobs_cpu_one_lr_changed_ms"], "ms", ""),
        ("  wall time of that rerun (AppTest)", server["rerun_wall_one_lr_changed_ms"], "ms", ""),
        ("server CPU, rerun that changes nothing", server["rerun_cpu_nothing_changed_ms"], "ms",
         ""),
        ("200 initialisations x 5 optimizers x 1,000 steps, nothing cached",
         inits["inits_200x5x1000_s"], "s", "≤ 2 s"),
    ]  # fmt: skip
    if web:
        rows += [
            ("Chromium: page load to the training figure drawn", web["load_to_drawn_ms"], "ms",
             ""),
            ("Chromium: slider change to redrawn figure, painted", web["slider_to_painted_ms"],
             "ms", "≤ 600 ms"),
            ("Chromium: playback, frames painted per second", web["painted_fps"], "fps",
             "≥ 30 fps"),
        ]  # fmt: skip
    lines = [
        "# Networks page: measured",
        "",
        f"Measured {results['when']} on this machine ({results['cpus']} CPUs, load average "
        f"{results['load']}), `benchmarks/bench_networks.py`.",
        "",
        "| measure | median (p90) | target |",
        "|---|---:|---|",
    ]
    lines += [f"| {name} | {summary(v, u)} | {target} |" for name, v, u, target in rows]
    lines += [
        "",
        f"- Cold first run of the page (nothing cached, imports done): "
        f"{server['cold_first_run_s']:.2f} s wall, {server['cold_first_run_cpu_ms']:.0f} ms "
        "script CPU.",
        f"- Payload of the default page: {server['payload_bytes'] / 1000:.0f} KB in "
        f"{server['charts']} charts (training figure {server['payload_training_bytes'] / 1000:.0f}"
        " KB) [≤ 1 MB].",
        "- Share of 200 initialisations that reach 100 % training accuracy: "
        + ", ".join(f"{k} {v:.0%}" for k, v in inits["inits_share_worked"].items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    repeats = 3 if args.quick else 8
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    results["core"] = bench_core(repeats)
    print(json.dumps(results["core"], indent=1))
    results["server"] = bench_server(max(repeats, 8))
    print(json.dumps(results["server"], indent=1))
    results["inits"] = bench_inits(max(2, repeats // 2))
    print(json.dumps(results["inits"], indent=1))
    if not args.no_browser:
        results["browser"] = bench_browser(repeats)
        print(json.dumps(results["browser"], indent=1))
    text = write(results)
    (ROOT / "benchmarks" / "NETWORKS_RESULTS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

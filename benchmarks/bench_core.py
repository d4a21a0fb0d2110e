"""Core speed benchmark: the engines against torch.optim, measured in the same run.

Usage: ``python benchmarks/bench_core.py [--quick] [--write] [--against REV] [--only PART]``.

1. Interactive: every optimizer x 1 start x 1,000 steps on Rosenbrock (the scalar engine),
   total and per optimizer. ``--against REV`` measures the same on that git revision in a
   subprocess (its tree from ``git archive``), round by round with this one.
2. Large K: every torch.optim optimizer at K = 100,000 on Rosenbrock, a learning rate per run,
   T = 200 steps, the final state only: the compiled engine (2 threads) and the NumPy engine
   (its default, one thread: on 2-core machines a second made it slower) against
   torch.optim's fastest implementation (fused where torch has it on the CPU, else foreach)
   on one batched (K, 2) tensor with ONE learning rate (torch cannot take K of them), the
   analytic gradient written in torch; ratios torch / compiled and compiled / compiled Adam.
3. D parameters: the lessons' XOR network (2-4-1, ReLU then sigmoid, BCE, 17 parameters, 4
   samples), Adam, 1,000 full-batch steps from K = 1,000 initialisations: ``minimize`` (NumPy
   and compiled engines) against torch.optim.Adam on the K models' stacked parameters with the
   gradients from ``torch.func.vmap`` (functional_call + grad), in ns per run-step.
4. The compiled engine's first call, in a fresh process: an empty inductor cache (trace and C++
   compile) and a warm one.

Timings are the best of ``--repeat`` round-robin rounds (median beside it): the machine is
shared, the best is the least disturbed, and a burst of load hits every case of a round alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

import optimizers
import surfaces
from optimizers.engines import compiled

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
K_BIG, T_BIG = 100_000, 200
T_INTERACTIVE = 1000
INTERACTIVE = """
import sys, time, json
sys.path.insert(0, {tree!r})
import numpy as np, optimizers, surfaces
rosen = surfaces.get("rosenbrock")
engine = {{"engine": "scalar"}} if "engine" in optimizers.simulate.__code__.co_varnames else {{}}
for name in optimizers.names():  # warm: compile every kernel
    optimizers.simulate(rosen, name, rosen.default_start, 5, **engine)
best = {{}}
for _ in range({rounds}):
    for name in optimizers.names():
        t0 = time.perf_counter()
        optimizers.simulate(rosen, name, rosen.default_start, {steps}, **engine)
        best[name] = min(best.get(name, 1e9), time.perf_counter() - t0)
print(json.dumps(best))
"""
FIRST_CALL = """
import sys, time
sys.path.insert(0, "benchmarks")
import numpy as np, torch, optimizers, surfaces
rng = np.random.default_rng(0)
k = 100_000
starts = rng.uniform([-2.0, -1.0], [2.0, 3.0], (k, 2))
lr = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), k))
t0 = time.perf_counter()
optimizers.simulate(surfaces.get("rosenbrock"), "adam", starts, 8, record="final",
                    engine="compiled", lr=lr)
print(time.perf_counter() - t0)
"""


def rounds(cases: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """label -> (best, median) wall seconds over ``repeat`` round-robin rounds."""
    wall: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(repeat):
        for label, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            wall[label].append(time.perf_counter() - t0)
    return {label: (min(w), statistics.median(w)) for label, w in wall.items()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, torch {torch.__version__}; load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the start"
    )


# ---------------------------------------------------------------- 1. interactive


def interactive(repeat: int, against: str | None) -> dict[str, Any]:
    """Per optimizer: best seconds for 1 start x 1,000 steps, this tree (and REV's)."""
    trees = {"this tree": str(REPO)}
    tmp = None
    if against:
        tmp = tempfile.TemporaryDirectory(prefix="bench-rev-")
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", against], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp.name], input=archive, check=True)
        trees[against] = tmp.name
    best: dict[str, dict[str, float]] = {label: {} for label in trees}
    for _ in range(repeat):  # round by round, so that load hits both alike
        for label, tree in trees.items():
            code = INTERACTIVE.format(tree=tree, rounds=3, steps=T_INTERACTIVE)
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
            ).stdout
            import json

            for name, secs in json.loads(out).items():
                best[label][name] = min(best[label].get(name, 9.0), secs)
    if tmp is not None:
        tmp.cleanup()
    return {"per_optimizer": best, "totals": {k: sum(v.values()) for k, v in best.items()}}


# ---------------------------------------------------------------- 2. large K


def rosenbrock_grad_torch(p: torch.Tensor, out: torch.Tensor) -> None:
    """Analytic Rosenbrock gradient (a = 1, b = 100) of a (K, 2) tensor into out, in place."""
    x, y = p[:, 0], p[:, 1]
    e = y - x * x
    torch.mul(e, 200.0, out=out[:, 1])
    torch.mul(x, e, out=out[:, 0])
    out[:, 0].mul_(-400.0).add_(x, alpha=2.0).sub_(2.0)


FUSED_ON_CPU = {"SGD", "Adam", "AdamW", "Adagrad"}  # torch's fused CPU kernels (torch 2.x)


def torch_fastest(name: str, starts: np.ndarray, steps: int) -> tuple[str, Callable[[], None]]:
    """torch.optim's fastest implementation of ``name`` on one (K, 2) tensor, one lr."""
    opt = optimizers.get(name)
    assert opt.torch_class is not None
    cls_name = opt.torch_class.rsplit(".", 1)[1]
    cls = getattr(torch.optim, cls_name)
    kw: dict[str, Any] = {"lr": 1e-3}
    if name == "momentum":
        kw["momentum"] = 0.9
    if name == "nesterov":
        kw.update(momentum=0.9, nesterov=True)
    how = "fused" if cls_name in FUSED_ON_CPU else "foreach"
    kw[how] = True

    def run() -> None:
        p = torch.tensor(starts, dtype=torch.float64)
        p.grad = torch.empty_like(p)
        o = cls([p], **kw)
        for _ in range(steps):
            rosenbrock_grad_torch(p, p.grad)
            o.step()

    return f"torch.optim.{cls_name}({how}=True)", run


def large_k(repeat: int, quick: bool) -> list[dict[str, Any]]:
    k, steps = (20_000, 40) if quick else (K_BIG, T_BIG)
    rng = np.random.default_rng(0)
    starts = rng.uniform([-2.0, -1.0], [2.0, 3.0], (k, 2))
    rosen = surfaces.get("rosenbrock")
    have_compiler = compiled.unavailable() is None
    out = []
    torch.set_num_threads(2)
    # the torch.optim optimizers first, then ours alone (Lion, random search, finite
    # differences: no torch.optim counterpart, timed against compiled Adam only)
    names = sorted(optimizers.names(), key=lambda n: optimizers.get(n).torch_class is None)
    for name in names:
        opt = optimizers.get(name)
        lr_name = next(h.name for h in opt.hypers if h.role == "lr")
        default_lr = float(opt.defaults()[lr_name])
        lr = default_lr * np.exp(rng.uniform(np.log(0.1), np.log(1.0), k))

        def ours(
            engine: str, lr: np.ndarray = lr, name: str = name, lr_name: str = lr_name
        ) -> Callable[[], object]:
            threads = 2 if engine == "compiled" else None  # None: the engine's default
            hyper: dict[str, Any] = {lr_name: lr}
            return lambda: optimizers.simulate(
                rosen, name, starts, steps, record="final", engine=engine, _threads=threads, **hyper
            )

        cases: dict[str, Callable[[], object]] = {"numpy": ours("numpy")}
        label = "—"
        if opt.torch_class:
            label, cases["torch"] = torch_fastest(name, starts, steps)
        if have_compiler:
            t0 = time.perf_counter()
            ours("compiled")()  # build the kernel (not timed below)
            compile_s = time.perf_counter() - t0
            cases["compiled"] = ours("compiled")
        res = rounds(cases, repeat)
        ns = {c: (b / (k * steps) * 1e9, m / (k * steps) * 1e9) for c, (b, m) in res.items()}
        row: dict[str, Any] = {"name": name, "torch_label": label, "ns": ns}
        if have_compiler:
            row["compile_s"] = compile_s
        out.append(row)
        print(
            f"{name:<10} "
            + "  ".join(f"{c} {b:6.2f} ns (med {m:.2f})" for c, (b, m) in ns.items())
            + f"   [{label}]"
        )
    return out


# ---------------------------------------------------------------- 3. D parameters


def xor_case(repeat: int, quick: bool) -> dict[str, Any]:
    """Adam on the XOR network from K initialisations: ns per run-step."""
    from torch.func import functional_call, grad, vmap

    k, steps = (200, 200) if quick else (1000, 1000)
    net, x0 = surfaces.network("xor", seed=list(range(k)))
    lr = 0.01
    torch.set_num_threads(2)

    def ours(engine: str) -> Callable[[], object]:
        return lambda: optimizers.minimize(
            net, x0, steps, "adam", record="final", engine=engine, lr=lr
        )

    xs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    ys = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1), torch.nn.Sigmoid()
    ).double()
    shapes = [p.shape for p in model.parameters()]
    names = [n for n, _ in model.named_parameters()]

    def stacked() -> dict[str, torch.Tensor]:
        out, lo = {}, 0
        for n, shape in zip(names, shapes, strict=True):
            size = int(np.prod(shape))
            out[n] = torch.tensor(x0[:, lo : lo + size].reshape(k, *shape), dtype=torch.float64)
            lo += size
        return out

    def loss(params: dict[str, torch.Tensor]) -> torch.Tensor:
        pred = functional_call(model, params, (xs,))[:, 0]
        return torch.nn.functional.binary_cross_entropy(pred, ys)

    grads = vmap(grad(loss))

    def theirs(how: str) -> Callable[[], None]:
        def run() -> None:
            params = stacked()
            tensors = list(params.values())
            opt = torch.optim.Adam(tensors, lr=lr, foreach=how == "foreach", fused=how == "fused")
            with torch.no_grad():
                for _ in range(steps):
                    g = grads(params)
                    for t, n in zip(tensors, names, strict=True):
                        t.grad = g[n]
                    opt.step()

        return run

    cases: dict[str, Callable[[], object]] = {
        "minimize, NumPy engine": ours("numpy"),
        "torch.optim.Adam(fused=True) + torch.func.vmap": theirs("fused"),
        "torch.optim.Adam(foreach=True) + torch.func.vmap": theirs("foreach"),
    }
    if compiled.unavailable() is None:
        t0 = time.perf_counter()
        ours("compiled")()
        compile_s = time.perf_counter() - t0
        cases["minimize, compiled engine"] = ours("compiled")
    res = rounds(cases, repeat)
    ns = {c: (b / (k * steps) * 1e9, m / (k * steps) * 1e9) for c, (b, m) in res.items()}
    for c, (b, m) in ns.items():
        print(f"XOR {c:<52} {b:8.1f} ns per run-step (median {m:.1f})")
    out: dict[str, Any] = {"k": k, "steps": steps, "ns": ns}
    if compiled.unavailable() is None:
        out["compile_s"] = compile_s
    return out


# ---------------------------------------------------------------- 4. first call


def first_calls() -> list[tuple[str, float]]:
    if compiled.unavailable() is not None:
        return []
    out = []
    with tempfile.TemporaryDirectory(prefix="inductor-bench-") as cache:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
        for label in ("empty inductor cache (trace + C++ compile)", "warm inductor cache"):
            secs = subprocess.run(
                [sys.executable, "-c", FIRST_CALL],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=REPO,
            ).stdout.split()[-1]
            out.append((label, float(secs)))
            print(f"first call, {label}: {float(secs):.1f} s")
    return out


# ---------------------------------------------------------------- report


def write(info: str, results: dict[str, Any]) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Core benchmark (benchmarks/bench_core.py)",
        "",
        f"Measured {now} on: {info}; load average at the end {os.getloadavg()[0]:.1f}.",
        "Each figure is the best of several round-robin rounds, the median beside it.",
        "",
    ]
    inter = results.get("interactive")
    if inter:
        totals = inter["totals"]
        per = inter["per_optimizer"]
        labels = list(per)
        lines += [
            f"## Interactive: {len(per[labels[0]])} optimizers x 1 start x {T_INTERACTIVE} "
            "steps (scalar engine)",
            "",
            "Each tree in its own process, round by round; best of the rounds, in ms.",
            "",
            "| optimizer | " + " | ".join(labels) + " |",
            "|---|" + "---:|" * len(labels),
            *[
                f"| {n} | " + " | ".join(f"{per[lb][n] * 1e3:.2f}" for lb in labels) + " |"
                for n in per[labels[0]]
            ],
            "| **total** | " + " | ".join(f"**{totals[lb] * 1e3:.1f}**" for lb in labels) + " |",
            "",
        ]
        if len(labels) == 2:
            lines += [
                f"This tree / {labels[1]}: {totals[labels[0]] / totals[labels[1]]:.3f}.",
                "",
            ]
    big = results.get("large_k")
    if big:
        have = "compiled" in big[0]["ns"]
        adam = next(r for r in big if r["name"] == "adam")["ns"].get("compiled", (1.0,))[0]
        lines += [
            f"## Large K: K = {K_BIG:,} runs on Rosenbrock, a learning rate per run, T = "
            f"{T_BIG}, the final state",
            "",
            "ns per trajectory-step, best round (median). torch.optim runs its fastest "
            "implementation on one (K, 2) tensor with one learning rate for all runs, on 2 "
            "threads; the compiled engine on 2 threads; the NumPy engine on its default of one "
            "thread.",
            "",
            "| optimizer | compiled engine | NumPy engine | torch.optim | torch / compiled "
            "| compiled / compiled Adam | compile (s) |",
            "|---|---:|---:|---|---:|---:|---:|",
        ]
        for r in big:
            ns = r["ns"]
            c = ns.get("compiled")
            cell = f"{c[0]:.2f} ({c[1]:.2f})" if c else "—"
            t = ns.get("torch")
            ratio = f"{t[0] / c[0]:.2f}x" if c and t else "—"
            rel = f"{c[0] / adam:.2f}" if c else "—"
            theirs = f"{r['torch_label']}: {t[0]:.2f} ({t[1]:.2f})" if t else "— (none)"
            lines.append(
                f"| {r['name']} | {cell} | {ns['numpy'][0]:.2f} ({ns['numpy'][1]:.2f}) | "
                f"{theirs} | {ratio} | {rel} | {r.get('compile_s', 0):.1f} |"
            )
        if not have:
            lines.append("")
            lines.append(f"No compiled engine on this machine: {compiled.unavailable()}.")
        lines.append("")
    xor = results.get("xor")
    if xor:
        lines += [
            f"## D parameters: the XOR network (17 parameters), Adam, {xor['steps']:,} "
            f"full-batch steps from K = {xor['k']:,} initialisations",
            "",
            "| what | ns per run-step (best) | median |",
            "|---|---:|---:|",
            *[f"| {c} | {b:.1f} | {m:.1f} |" for c, (b, m) in xor["ns"].items()],
            "",
        ]
        if "compile_s" in xor:
            lines += [f"The compiled engine's kernel for it took {xor['compile_s']:.1f} s.", ""]
    first = results.get("first")
    if first:
        lines += [
            "## The compiled engine's first call (K = 100,000, 8 steps, a fresh process)",
            "",
            "| first call | seconds |",
            "|---|---:|",
            *[f"| {label} | {secs:.1f} |" for label, secs in first],
            "",
        ]
    (ROOT / "RESULTS.md").write_text("\n".join(lines))
    print(f"wrote {ROOT / 'RESULTS.md'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and runs (smoke run)")
    ap.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--against", help="a git revision to time the interactive case against")
    ap.add_argument("--only", choices=("interactive", "large_k", "xor", "first"), action="append")
    args = ap.parse_args()
    repeat = 2 if args.quick else args.repeat
    parts = args.only or ["interactive", "large_k", "xor", "first"]
    info = machine()
    print(info)
    results: dict[str, Any] = {}
    if "interactive" in parts:
        results["interactive"] = interactive(repeat, args.against)
        print({k: f"{v * 1e3:.1f} ms" for k, v in results["interactive"]["totals"].items()})
    if "large_k" in parts:
        results["large_k"] = large_k(repeat, args.quick)
    if "xor" in parts:
        results["xor"] = xor_case(repeat, args.quick)
    if "first" in parts and not args.quick:
        results["first"] = first_calls()
    if args.write:
        write(info, results)


if __name__ == "__main__":
    main()

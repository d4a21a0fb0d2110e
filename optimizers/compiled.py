"""The compiled engine: many runs, several steps per pass, one fused C++ loop (torch inductor).

For large K the NumPy engine makes about 35 passes over memory per step, and the per-run
hyperparameters keep torch.optim's fused kernels out of reach. Here the whole step (the surface's
analytic gradient, the update rule, the box check and the freeze of diverged runs) is written
once in torch operations, ``BLOCK`` steps unrolled, traced into one graph
(``make_fx``) and compiled by inductor, torch's own compiler, into one vectorized C++ loop over
the runs (OpenMP across threads): each run's state is read once and written once per ``BLOCK``
steps, and the arithmetic runs in AVX registers.

* Same operations, same order as the scalar kernel and the NumPy rule (``optimizers.adam``);
  inductor compiles with ``-ffp-contract=off`` and without reassociation, so the results are
  bit-identical to the other engines on surfaces made of + - * / (tests/test_fast_compiled.py);
  sin/cos/exp come from inductor's vector library (Sleef, within 1 ulp), so on those surfaces
  the paths agree to rounding (sin x + y^2: 2e-16 over 500 steps) and chaotic runs amplify it
  (Rastrigin: 93% of runs bit-identical, a few far apart after 500 steps).
* Fixed shapes, so that one compile serves every K and every step count: ``CHUNK`` runs per
  call (the last chunk padded with frozen copies), ``BLOCK`` steps per call (the last block
  switches its extra steps off with a 0/1 mask), the step number and the per-run or shared
  hyperparameters are tensor inputs. One kernel per (surface and its parameters, rule and its
  flags, which hyperparameters are per-run, whether every step is recorded).
* Diverged runs: a run whose new point is outside ``surface.box`` (or not finite) keeps its
  last inside point from then on; the kernel notes the step and the outside point, and the
  driver computes the exit point on the segment, as the other engines do.
* Compilation takes seconds to a minute (C++ compile); inductor keeps the result in its cache
  (``TORCHINDUCTOR_CACHE_DIR``, by default ``/tmp/torchinductor_<user>``), so a later process
  pays a few seconds. ``COMPILE_SECONDS`` records what each kernel cost in this process.

Rules: Adam, AdamW (AMSGrad, maximize, decoupled weight decay); Adam's coupled weight decay
and everything else run on the NumPy engine. Needs torch and a C++ compiler (``g++`` or
``$CXX``); :func:`unavailable` says why not.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from optimizers.base import lerp_mode

if TYPE_CHECKING:
    import torch

    from optimizers.simulate import _Run

BLOCK = 8  # steps per kernel call, unrolled
CHUNK = 8192  # runs per kernel call (a fixed shape: one compile for every K)
MIN_K = 4096  # engine="auto" leaves smaller K to the NumPy engine
AUTO_WORK = 400_000_000  # auto compiles a new kernel only for K * T above this (~10 s of NumPy)

RULES = ("adam", "adamw")
_KERNELS: dict[tuple[Any, ...], Callable[..., list[torch.Tensor]]] = {}
COMPILE_SECONDS: dict[tuple[Any, ...], float] = {}
FAILED: list[str] = []  # compile errors: engine="auto" stops trying after the first
_LOCK = threading.Lock()


def unavailable() -> str | None:
    """Why the compiled engine cannot run on this machine, or None if it can."""
    if FAILED:
        return f"compiling a kernel failed in this process: {FAILED[-1]}"
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        return f"no C++ compiler: {cxx!r} is not on PATH (inductor compiles C++ with it)"
    return None


def unsupported(run: _Run) -> str | None:
    """Why this simulate call cannot run compiled (rule, surface, options), or None."""
    if run.opt.name not in RULES:
        return f"optimizer {run.opt.name!r} has no compiled form (compiled: {', '.join(RULES)})"
    if run.batch is not None:
        return "mini-batches draw random indices per step"
    if not run.schedule.constant:
        return f"schedule {run.schedule.name!r} (only a constant learning rate is compiled)"
    if run.opt.name == "adam" and _nonzero(run.hyp["weight_decay"]):
        return "Adam's coupled weight decay (a fused multiply-add) is not compiled"
    if _torch_grad(run.surface) is None:
        return f"surface {getattr(run.surface, 'name', '?')!r} has no torch-ready gradient maths"
    return None


def _nonzero(v: Any) -> bool:
    return bool(np.any(np.asarray(v) != 0.0))


def _torch_grad(surface: Any) -> Callable[..., tuple[Any, Any]] | None:
    """The analytic surface's gradient maths (x, y, xp) -> (gx, gy); None for data surfaces
    (their mean over samples would not add up in the scalar engine's order)."""
    engine = getattr(surface, "_engine", None)
    grad = getattr(engine, "_g", None)
    return grad if callable(grad) else None


def _key(run: _Run, every_step: bool) -> tuple[Any, ...]:
    s, h = run.surface, run.hyp
    per_run = tuple(sorted(k for k, v in h.items() if isinstance(v, np.ndarray)))
    flags = (bool(h["amsgrad"]), bool(h["maximize"]), run.opt.name == "adamw")
    params = tuple(sorted(getattr(s, "params", {}).items()))
    w1 = 1.0 - np.asarray(h["beta1"], dtype=np.float64)
    mode = lerp_mode(w1)
    return (s.name, params, s.box, run.opt.name, flags, mode, per_run, every_step, BLOCK, CHUNK)


def is_built(run: _Run) -> bool:
    """Whether this call's kernel is already compiled in this process."""
    return _key(run, False) in _KERNELS or _key(run, True) in _KERNELS


# ---------------------------------------------------------------- the rule, in torch


def _adam_block(
    grad: Callable[..., tuple[Any, Any]],
    box: Any,
    steps: int,
    flags: tuple[bool, bool, bool],
    mode: str,
    every_step: bool,
) -> Callable[..., tuple[torch.Tensor, ...]]:
    """``steps`` Adam steps on (n,) tensors, in the scalar kernel's order (optimizers.adam)."""
    import torch

    from surfaces.base import torch_ops

    xp = torch_ops()
    (xlo, xhi), (ylo, yhi) = box
    ams, maximize, decoupled = flags

    def lerp(m: torch.Tensor, g: torch.Tensor, w1: torch.Tensor, c1: torch.Tensor) -> Any:
        low = m + w1 * (g - m)
        high = g - (g - m) * c1
        if mode == "low":
            return low
        if mode == "high":
            return high
        return torch.where(w1 < 0.5, low, high)

    def block(*a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x, y, alive, dstep, ex, ey, mx, my, vx, vy, qx, qy, p1, p2 = a[:14]
        t0, on, lr, beta1, beta2, eps, wd = a[14:]
        w1, w2 = 1.0 - beta1, 1.0 - beta2
        c1 = 1.0 - w1
        xs, ys = [], []
        for s in range(steps):
            gx, gy = grad(x, y, xp)
            px, py = x, y
            if decoupled:
                f = 1.0 - lr * wd
                px, py = px * f, py * f
            if maximize:
                gx, gy = -gx, -gy
            mx, my = lerp(mx, gx, w1, c1), lerp(my, gy, w1, c1)
            vx = vx * beta2 + w2 * gx * gx
            vy = vy * beta2 + w2 * gy * gy
            p1 = p1 * beta1
            p2 = p2 * beta2
            neg_step = lr / (p1 - 1.0)  # -(lr / (1 - beta1^t)) exactly
            bc2 = torch.sqrt(1.0 - p2)
            if ams:
                qx, qy = torch.maximum(qx, vx), torch.maximum(qy, vy)
                dx, dy = torch.sqrt(qx) / bc2 + eps, torch.sqrt(qy) / bc2 + eps
            else:
                dx, dy = torch.sqrt(vx) / bc2 + eps, torch.sqrt(vy) / bc2 + eps
            nx = px + neg_step * mx / dx
            ny = py + neg_step * my / dy
            # 1.0 while alive, in this call's steps and inside the box (NaN fails each test);
            # chained selects, not boolean ands (inductor casts masks for those)
            live = alive * on[s]
            okf = torch.where(nx >= xlo, live, 0.0)
            okf = torch.where(nx <= xhi, okf, 0.0)
            okf = torch.where(ny >= ylo, okf, 0.0)
            okf = torch.where(ny <= yhi, okf, 0.0)
            leaving = (live - okf) > 0.5
            ok = okf > 0.5
            dstep = torch.where(leaving, t0 + s, dstep)
            ex, ey = torch.where(leaving, nx, ex), torch.where(leaving, ny, ey)
            x, y = torch.where(ok, nx, x), torch.where(ok, ny, y)
            alive = alive - (live - okf)
            if every_step:
                xs.append(x)
                ys.append(y)
        out = (x, y, alive, dstep, ex, ey, mx, my, vx, vy, qx, qy, p1, p2)
        if every_step:
            return (*out, torch.stack(xs), torch.stack(ys))
        return out

    return block


# ---------------------------------------------------------------- compile and run


def _kernel(run: _Run, every_step: bool, inputs: list[torch.Tensor]) -> Callable[..., Any]:
    key = _key(run, every_step)
    with _LOCK:
        fn = _KERNELS.get(key)
        if fn is not None:
            return fn
        import torch
        from torch._inductor.compile_fx import compile_fx
        from torch.fx.experimental.proxy_tensor import make_fx

        grad = _torch_grad(run.surface)
        assert grad is not None
        block = _adam_block(grad, run.surface.box, BLOCK, key[4], key[5], every_step)  # flags, mode
        t0 = time.perf_counter()
        before = torch.get_num_threads()
        # inductor writes the OpenMP loop only when it compiles with more than one thread
        torch.set_num_threads(max(2, before))
        try:
            with torch.no_grad():
                # fake tracing gives the graph a shape environment: inductor's on-disk cache of
                # compiled graphs needs one (with real tensors it is bypassed)
                graph = make_fx(block, tracing_mode="fake")(*inputs)
                fakes = [n.meta["val"] for n in graph.graph.nodes if n.op == "placeholder"]
                compiled = compile_fx(graph, fakes)
        except Exception as e:  # a broken toolchain: note it, the caller falls back
            FAILED.append(f"{type(e).__name__}: {e}"[:500])
            raise
        finally:
            torch.set_num_threads(before)
        COMPILE_SECONDS[key] = time.perf_counter() - t0
        kernel = cast(Callable[..., list["torch.Tensor"]], compiled)
        _KERNELS[key] = kernel
        return kernel


def run_compiled(run: _Run, threads: int) -> None:
    """Fill run.positions (recorded states), run.diverged_at and run.exits for every run."""
    import torch

    from optimizers.simulate import exit_points

    k, t_steps = run.k, run.steps
    rec_index = run.rec_index
    # a block records only its last state unless a recorded step falls inside it
    every_step = any(
        (rec_index[t0 : min(t0 + BLOCK - 1, t_steps)] >= 0).any()
        for t0 in range(1, t_steps + 1, BLOCK)
    )
    if rec_index[0] >= 0:
        run.positions[rec_index[0]] = run.starts
    h = run.hyp
    names = ("lr", "beta1", "beta2", "eps", "weight_decay")

    def hyper(name: str, lo: int, hi: int) -> torch.Tensor:
        v = h[name]
        if isinstance(v, np.ndarray):
            part = np.full(CHUNK, v[lo])  # padding: a copy of the chunk's first run
            part[: hi - lo] = v[lo:hi]
            return torch.from_numpy(part)
        return torch.tensor(float(v), dtype=torch.float64)

    full = torch.ones(BLOCK, dtype=torch.float64)
    blocks = [
        (
            t0,
            torch.tensor(float(t0), dtype=torch.float64),
            full
            if t0 + BLOCK - 1 <= t_steps
            else torch.from_numpy((np.arange(t0, t0 + BLOCK) <= t_steps).astype(np.float64)),
        )
        for t0 in range(1, t_steps + 1, BLOCK)
    ]
    fn: Callable[..., Any] | None = None
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            for lo in range(0, k, CHUNK):
                hi = min(lo + CHUNK, k)
                xy = np.repeat(run.starts[lo : lo + 1], CHUNK, axis=0)
                xy[: hi - lo] = run.starts[lo:hi]
                alive = np.zeros(CHUNK)
                alive[: hi - lo] = 1.0
                zero = np.zeros(CHUNK)
                state = [
                    torch.from_numpy(np.ascontiguousarray(xy[:, 0])),
                    torch.from_numpy(np.ascontiguousarray(xy[:, 1])),
                    torch.from_numpy(alive),
                    torch.from_numpy(np.full(CHUNK, -1.0)),
                    *(torch.from_numpy(zero.copy()) for _ in range(8)),
                    torch.from_numpy(np.ones(CHUNK)),
                    torch.from_numpy(np.ones(CHUNK)),
                ]
                hyp = [hyper(n, lo, hi) for n in names]
                for t0, step, on in blocks:
                    inputs = [*state, step, on, *hyp]
                    if fn is None:
                        fn = _kernel(run, every_step, inputs)
                    out = fn(*inputs)
                    state = list(out[:14])
                    if every_step:
                        xs, ys = out[14].numpy(), out[15].numpy()
                        for s in range(min(BLOCK, t_steps - t0 + 1)):
                            r = rec_index[t0 + s]
                            if r >= 0:
                                run.positions[r, lo:hi, 0] = xs[s, : hi - lo]
                                run.positions[r, lo:hi, 1] = ys[s, : hi - lo]
                    else:
                        last = min(t0 + BLOCK - 1, t_steps)
                        r = rec_index[last]
                        if r >= 0:
                            run.positions[r, lo:hi, 0] = state[0].numpy()[: hi - lo]
                            run.positions[r, lo:hi, 1] = state[1].numpy()[: hi - lo]
                x, y = state[0].numpy()[: hi - lo], state[1].numpy()[: hi - lo]
                dstep = state[3].numpy()[: hi - lo]
                gone = np.flatnonzero(dstep >= 0)
                if len(gone):
                    prev = np.stack([x[gone], y[gone]])
                    new = np.stack([state[4].numpy()[gone], state[5].numpy()[gone]])
                    run.diverged_at[lo + gone] = dstep[gone].astype(np.int64)
                    run.exits[lo + gone] = exit_points(prev, new, run.surface.box).T
    finally:
        torch.set_num_threads(before)

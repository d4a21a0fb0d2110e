"""Run an optimizer from K starts on a surface and keep what the app plots.

Two engines, like torch.optim's single-tensor and multi-tensor paths:

* the scalar engine (K <= SCALAR_MAX_K, the interactive case): each run is one Python loop over
  the steps inside the rule's kernel, its state in local floats (see :mod:`optimizers.base`),
  the surface's ``grad_scalar``; the path is turned into an array once at the end, where one
  NumPy pass finds the first step outside the box;
* the vector engine (larger K): NumPy on (2, n) structure-of-arrays chunks of n runs. Without
  mini-batches or random proposals each chunk runs all T steps while it is hot in the cache, and
  chunks are shared by a small thread pool (NumPy releases the GIL inside its loops). With
  per-step draws (mini-batches, random search) the time loop is outside, so every run sees the
  same random stream as on the scalar engine.

A third, optional engine (:mod:`optimizers.compiled`, ``engine="compiled"``, or chosen by
``engine="auto"`` for large K when it applies and pays) runs the same operations for Adam and
AdamW in one C++ loop compiled by torch inductor, 8 steps per pass over the runs.

All engines give the same numbers (tests/test_optimizers_paths.py, tests/test_fast_compiled.py);
``Trajectory.engine`` says which one ran. Divergence: a run whose new
point is non-finite or outside ``surface.box`` stops; its stored point is the exit point on the
segment from the last inside point, clipped to the box, and stays frozen afterwards.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizers import compiled
from optimizers.base import Loop, Optimizer, ScalarOracle, Scratch
from optimizers.registry import get
from optimizers.schedules import ReduceLROnPlateau, Schedule, make

SCALAR_MAX_K = 24  # up to this many runs the scalar engine is faster: measured crossover
# K ~ 30 full batch, ~26 with mini-batches (5 optimizers x 1000 steps on Rosenbrock: K = 12
# took 89 ms scalar vs 258 ms on per-step NumPy, which costs ~50 us a step whatever K)
CHUNK = 16384  # runs per chunk: (n,) temporaries at 128 KiB, below the mmap threshold
MIN_THREAD_CHUNK = 4096  # smaller chunks are not worth a second thread
MEMORY_CAP = 512 * 2**20  # bytes a Trajectory may hold
MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class Trajectory:
    """What :func:`simulate` returns; no NaN or inf anywhere.

    positions (R, K, 2), loss (R, K) and grad_norm (R, K) at the recorded states (full-batch
    loss and gradient norm); lr (T, K) the learning rate used at each step; steps (R,) the step
    index of each recorded state; diverged_at (K,) the first step whose point left ``surface.box``
    or was non-finite, -1 if never; trace (only with ``trace=True``): key -> (T, K, 2) or (T, K),
    the value at step t stored at index t - 1.
    """

    positions: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    lr: np.ndarray
    steps: np.ndarray
    diverged_at: np.ndarray
    trace: dict[str, np.ndarray]
    optimizer: str
    hyperparams: dict[str, Any]
    surface: str
    batch_size: int | None
    seed: int
    schedule: str = "constant"
    schedule_params: dict[str, Any] = field(default_factory=dict)
    engine: str = "scalar"  # which engine ran: "scalar", "numpy" or "compiled"


# ---------------------------------------------------------------- validation


def _resolve(optimizer: str | Optimizer) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    return get(optimizer)


def _check_starts(surface: Any, starts: Any) -> np.ndarray:
    try:
        xy = np.array(starts, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"starts must be a (2,) or (K, 2) array of numbers; got {starts!r}"
        ) from None
    if xy.ndim == 1:
        xy = xy[None, :]
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 1:
        raise ValueError(f"starts must have shape (2,) or (K, 2) with K >= 1; got {xy.shape}")
    (xlo, xhi), (ylo, yhi) = surface.box
    inside = (xy[:, 0] >= xlo) & (xy[:, 0] <= xhi) & (xy[:, 1] >= ylo) & (xy[:, 1] <= yhi)
    if not inside.all():
        bad = xy[~inside][0]
        raise ValueError(
            f"starts must be finite and inside the surface's box x in [{xlo:g}, {xhi:g}], "
            f"y in [{ylo:g}, {yhi:g}]; got ({bad[0]:g}, {bad[1]:g})"
        )
    return xy


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        raise ValueError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    return int(value)


def _check_hypers(opt: Optimizer, given: dict[str, Any], k: int) -> dict[str, Any]:
    given = dict(given)
    names = [h.name for h in opt.hypers]
    if "betas" in given and "beta1" in names:
        betas = given.pop("betas")
        try:
            given["beta1"], given["beta2"] = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}") from None
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(
            f"optimizer {opt.name!r} has no hyperparameter {unknown[0]!r}; allowed: "
            f"{', '.join(names)}"
        )
    out: dict[str, Any] = {}
    for h in opt.hypers:
        value = h.check(given.get(h.name, h.default), opt.name)
        if isinstance(value, np.ndarray) and value.shape != (k,):
            raise ValueError(
                f"{opt.name}: hyperparameter {h.name!r} must be a scalar or have shape (K,) = "
                f"({k},); got shape {value.shape}"
            )
        out[h.name] = value
    return out


def _check_batch(surface: Any, batch_size: Any) -> int | None:
    if batch_size is None:
        return None
    n = int(surface.n_samples)
    b = _check_int("batch_size", batch_size, 1, n)
    return None if b == n else b


def _check_schedule(schedule: Any) -> Schedule:
    if schedule is None:
        return Schedule()
    if isinstance(schedule, str):
        return make(schedule)
    if isinstance(schedule, Schedule):
        return schedule
    raise ValueError(
        "schedule must be None, a schedule name or an optimizers.schedules object; "
        f"got {schedule!r}"
    )


def _record_steps(record: Any, steps: int) -> np.ndarray:
    if record == "all":
        return np.arange(steps + 1)
    if record == "final":
        return np.array([steps])
    if isinstance(record, int | np.integer) and not isinstance(record, bool) and record >= 1:
        rec = np.arange(0, steps + 1, int(record))
        return rec if rec[-1] == steps else np.append(rec, steps)
    raise ValueError(
        f"record must be 'all', 'final' or an integer n >= 1 (every n-th step); got {record!r}"
    )


# ---------------------------------------------------------------- shared helpers


def exit_points(prev: np.ndarray, new: np.ndarray, box: Any) -> np.ndarray:
    """Where the segment prev -> new leaves ``box``: (2, m) inside, (2, m) outside -> (2, m).

    A non-finite coordinate counts as far away in its direction; a NaN keeps the last point.
    """
    lo = np.array([[box[0][0]], [box[1][0]]])
    hi = np.array([[box[0][1]], [box[1][1]]])
    with np.errstate(all="ignore"):
        nan = np.isnan(new)
        target = np.clip(np.where(nan, prev, new), -1e300, 1e300)
        d = target - prev
        s_hi = np.where(target > hi, (hi - prev) / d, 1.0)
        s_lo = np.where(target < lo, (lo - prev) / d, 1.0)
        s = np.clip(np.minimum(s_hi, s_lo).min(axis=0), 0.0, 1.0)
        s[nan.any(axis=0)] = 0.0
        return np.clip(prev + s * d, lo, hi)


def _take(obj: Any, keep: np.ndarray, n: int) -> Any:
    """Keep the runs ``keep`` (bool (n,)) of every per-run array inside obj (last axis n)."""
    if isinstance(obj, np.ndarray):
        return np.ascontiguousarray(obj[..., keep]) if obj.ndim and obj.shape[-1] == n else obj
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_take(v, keep, n) for v in obj))
    if isinstance(obj, dict):
        return {key: _take(v, keep, n) for key, v in obj.items()}
    return obj


@dataclass
class _Run:
    """Everything one simulate call shares between runs, chunks and engines."""

    surface: Any
    opt: Optimizer
    hyp: dict[str, Any]
    starts: np.ndarray
    steps: int
    batch: int | None
    seed: int
    schedule: Schedule
    rec: np.ndarray  # (R,) recorded step indices
    rec_index: np.ndarray  # (T + 1,) recorded slot of each step, -1 if not recorded
    lr_key: str
    lr_table: np.ndarray | None  # (T, K) when the schedule does not use the loss
    positions: np.ndarray = field(init=False)
    diverged_at: np.ndarray = field(init=False)
    exits: np.ndarray = field(init=False)
    lr_out: np.ndarray | None = None

    def __post_init__(self) -> None:
        k = len(self.starts)
        self.positions = np.zeros((len(self.rec), k, 2))
        self.diverged_at = np.full(k, -1, dtype=np.int64)
        self.exits = np.zeros((k, 2))
        if self.schedule.uses_loss:
            self.lr_out = np.zeros((self.steps, k))

    @property
    def k(self) -> int:
        return len(self.starts)

    def batches(self) -> Iterator[np.ndarray] | None:
        if self.batch is None:
            return None
        from surfaces import iter_batches

        return iter_batches(
            self.surface.n_samples, self.batch, self.k, np.random.default_rng(self.seed)
        )

    def normals(self) -> np.random.Generator | None:
        """Proposal noise of random search: its own stream, seeded by (seed, 1)."""
        return np.random.default_rng([self.seed, 1]) if self.opt.needs_normal else None


# ---------------------------------------------------------------- scalar engine


def _scalar_engine(run: _Run, trace: bool) -> dict[str, np.ndarray]:
    """Each run in its own Python loop; returns the trace arrays (empty without trace)."""
    opt, t_steps, k = run.opt, run.steps, run.k
    it = run.batches()
    idx: list[list[list[int]]] = [] if it is None else [[] for _ in range(k)]
    if it is not None:
        for _ in range(t_steps):
            b = next(it)
            for j in range(k):
                idx[j].append(b[j].tolist())
    rng = run.normals()
    # one (T, 2, K) draw is the same stream as the vector engine's T draws of (2, K)
    noise = rng.standard_normal((t_steps, 2, k)) if rng is not None else np.zeros((0, 2, k))
    keys = [key for key in opt.trace_symbols if key != "grad"]
    traces: dict[str, list[Any]] = {key: [] for key in opt.trace_symbols}
    for j in range(k):
        tr = _scalar_one(run, j, idx[j] if idx else None, noise, trace)
        if trace:
            grads, rows = tr
            if "grad" in traces:
                traces["grad"].append(grads)
            for i, key in enumerate(keys):
                traces[key].append([row[i] for row in rows])
    if not trace:
        return {}
    out: dict[str, np.ndarray] = {}
    for key, per_run in traces.items():
        first = next((r[0] for r in per_run if r), 0.0)
        shape = (t_steps, k, 2) if isinstance(first, tuple) else (t_steps, k)
        arr = np.zeros(shape)
        for j, rows in enumerate(per_run):
            if rows:
                arr[: len(rows), j] = rows
        out[key] = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    return out


class _PlateauLR:
    """ReduceLROnPlateau for one run of the scalar engine, as the kernel's ``lrs`` iterable.

    At step t it first feeds the loss of the point before step t − 1's update (torch's
    ``opt.step(); sched.step(loss)``), then measures the loss at the current point for the next
    call; ``used`` keeps the learning rate of every step.
    """

    def __init__(
        self, sched: ReduceLROnPlateau, base: float, value: Any, path: list[Any], steps: int
    ) -> None:
        self.sched, self.state, self.value, self.path = sched, sched.start(base), value, path
        self.steps = steps
        self.pending: float | None = None
        self.used: list[float] = []

    def __iter__(self) -> Iterator[float]:
        for _ in range(self.steps):
            if self.pending is not None:
                self.state = self.sched.feed(self.state, self.pending)
            x, y = self.path[-2], self.path[-1]
            self.pending = self.value(x, y)
            lr = float(self.state.lr)
            self.used.append(lr)
            yield lr


def _scalar_one(
    run: _Run, j: int, idx: list[list[int]] | None, noise: np.ndarray, trace: bool
) -> Any:
    """Run j alone: the rule's kernel runs the whole loop; the box is checked afterwards."""
    surface, opt, t_steps = run.surface, run.opt, run.steps
    h = {key: (float(v[j]) if isinstance(v, np.ndarray) else v) for key, v in run.hyp.items()}
    x, y = float(run.starts[j, 0]), float(run.starts[j, 1])
    value_for, grad = _scalar_oracles(surface, idx)
    if opt.uses != "grad":
        grad = _no_grad
    normals = noise[:, :, j].tolist()
    oracle = ScalarOracle(value_for, normals, idx is not None)
    rows: list[Any] | None = [] if trace else None
    grads: list[tuple[float, float]] = []
    if trace:
        plain = grad

        def grad(x: float, y: float) -> Any:
            g = plain(x, y)
            grads.append(g)
            return g

    path = [x, y]  # flat x0, y0, x1, y1, ...: one fromiter at the end, not T + 1 tuples
    lrs: Any = []
    if run.schedule.constant and not run.schedule.uses_loss:
        lrs = itertools.repeat(float(h[run.lr_key]), t_steps)  # no (T,) column to copy
    elif run.lr_table is not None:
        lrs = run.lr_table[:, j].tolist()
    plateau = None
    if isinstance(run.schedule, ReduceLROnPlateau):
        plateau = lrs = _PlateauLR(
            run.schedule, float(h[run.lr_key]), surface.value_scalar, path, t_steps
        )
    try:
        opt.scalar(x, y, h, rows, oracle, Loop(grad, lrs, t_steps, path.extend))
    except (ArithmeticError, ValueError):  # 0/0, overflow, math domain: a non-finite step
        path.extend((math.nan, math.nan))
    arr = np.fromiter(path, np.float64, len(path)).reshape(-1, 2)  # (n, 2), n <= T + 1
    (xlo, xhi), (ylo, yhi) = surface.box
    (mnx, mny), (mxx, mxy) = arr.min(axis=0), arr.max(axis=0)  # NaN propagates: fails below
    d = -1
    if not (mnx >= xlo and mxx <= xhi and mny >= ylo and mxy <= yhi):
        with np.errstate(invalid="ignore"):
            out = ~(
                (arr[:, 0] >= xlo) & (arr[:, 0] <= xhi) & (arr[:, 1] >= ylo) & (arr[:, 1] <= yhi)
            )
        d = int(np.argmax(out)) if out.any() else -1
    if d >= 1:  # left the box (or non-finite) at step d: stop there, at the exit point
        arr = arr[: d + 1].copy()
        arr[d] = exit_points(arr[d - 1 : d].T, arr[d : d + 1].T, surface.box)[:, 0]
        run.diverged_at[j] = d
        run.exits[j] = arr[d]
    rec = run.rec[run.rec < len(arr)]
    run.positions[: len(rec), j] = arr[rec]
    if plateau is not None:
        assert run.lr_out is not None
        used = plateau.used[: d if d >= 1 else t_steps]
        run.lr_out[: len(used), j] = used
        if used:
            run.lr_out[len(used) :, j] = used[-1]
    if not trace:
        return None
    stop = d if d >= 1 else t_steps
    return grads[:stop], (rows or [])[:stop]


def _scalar_oracles(
    surface: Any, idx: list[list[int]] | None
) -> tuple[Callable[[int], Callable[[float, float], float]], Callable[[float, float], Any]]:
    """(loss function of step t's batch, gradient of the next batch) for the scalar engine."""
    if idx is None:
        value_scalar = surface.value_scalar
        return (lambda t: value_scalar), surface.grad_scalar
    bvs, bgs = surface.batch_value_scalar, surface.batch_grad_scalar
    nxt = iter(idx).__next__

    def value_for(t: int) -> Callable[[float, float], float]:
        batch = idx[t - 1]
        return lambda x, y: float(bvs(x, y, batch))

    def batch_grad(x: float, y: float) -> Any:
        return bgs(x, y, nxt())

    return value_for, batch_grad


def _no_grad(x: float, y: float) -> tuple[float, float]:
    return 0.0, 0.0


# ---------------------------------------------------------------- vector engine


class _Oracle:
    """Loss evaluations and random draws for one chunk at one step (search rules)."""

    def __init__(self, chunk: _Chunk) -> None:
        self.chunk = chunk
        self.idx: np.ndarray | None = None
        self.z: np.ndarray | None = None

    def value(self, p: np.ndarray) -> np.ndarray:
        surface = self.chunk.run.surface
        if self.idx is None:
            return np.asarray(surface.value(p.T))
        return np.asarray(surface.batch_value(p.T, self.idx))

    def normal(self) -> np.ndarray:
        assert self.z is not None
        return self.z


class _Chunk:
    """n consecutive runs of the vector engine, in (2, n) arrays."""

    def __init__(self, run: _Run, lo: int, hi: int) -> None:
        self.run = run
        n = hi - lo
        self.n = n
        self.cols: slice | np.ndarray = slice(lo, hi)
        self.gid = np.arange(lo, hi)
        self.p = np.ascontiguousarray(run.starts[lo:hi].T)
        self.prev = np.empty_like(self.p)
        self.g = np.zeros_like(self.p)
        self.h: dict[str, Any] = {}
        for h in run.opt.hypers:
            v = run.hyp[h.name]
            if isinstance(v, np.ndarray):
                part = v[lo:hi]
                # one value for the whole chunk (a sweep laid out in blocks): a scalar operand,
                # and per-run work such as Adam's bias corrections becomes scalar work
                same = h.kind in ("float", "int") and bool((part == part[0]).all())
                self.h[h.name] = float(part[0]) if same else np.ascontiguousarray(part)
            elif h.kind in ("float", "int"):
                self.h[h.name] = float(v)  # shared by all runs: a scalar operand is cheaper
            else:
                self.h[h.name] = v
        self.s = run.opt.vector.init(self.p, self.h)
        self.w = Scratch.new(n)
        self.oracle = _Oracle(self)
        table = run.lr_table
        self.lr_rows = None if table is None or run.schedule.constant else table[:, lo:hi]
        sched = run.schedule
        base = np.broadcast_to(np.asarray(self.h[run.lr_key], dtype=np.float64), (n,)).copy()
        self.plateau = sched.start(base) if isinstance(sched, ReduceLROnPlateau) else None
        (xlo, xhi), (ylo, yhi) = run.surface.box
        self.box = (xlo, xhi, ylo, yhi)
        self.done = False
        grad_into = getattr(run.surface, "grad_into", None)
        self.grad_into = grad_into

    def gradient(self, bidx: np.ndarray | None) -> None:
        surface, p, g = self.run.surface, self.p, self.g
        if bidx is not None:
            np.copyto(g, surface.batch_grad(p.T, bidx[self.cols]).T)
        elif self.grad_into is not None:
            self.grad_into(p[0], p[1], g[0], g[1])
        else:
            np.copyto(g, surface.grad(p.T).T)

    def advance(self, t: int, bidx: np.ndarray | None, z: np.ndarray | None) -> None:
        run, p = self.run, self.p
        if run.opt.uses == "grad":
            self.gradient(bidx)
        else:
            self.oracle.idx = None if bidx is None else bidx[self.cols]
            self.oracle.z = None if z is None else z[:, self.cols]
        if self.plateau is not None:
            lr: Any = self.plateau.lr
            loss = np.asarray(run.surface.value(p.T))
            assert run.lr_out is not None
            run.lr_out[t - 1, self.cols] = lr
        elif self.lr_rows is not None:
            lr = self.lr_rows[t - 1]
        else:
            lr = self.h[run.lr_key]
        np.copyto(self.prev, p)
        run.opt.vector.step(p, self.g, self.s, self.h, lr, t, self.w, self.oracle)
        if self.plateau is not None:
            self.plateau = run.schedule.feed_many(self.plateau, loss)  # type: ignore[attr-defined]
        xlo, xhi, ylo, yhi = self.box
        mn, mx = p.min(axis=1), p.max(axis=1)
        if not (mn[0] >= xlo and mx[0] <= xhi and mn[1] >= ylo and mx[1] <= yhi):
            self.diverge(t)
            if self.done:
                return
        r = run.rec_index[t]
        if r >= 0:
            run.positions[r, self.cols] = self.p.T

    def diverge(self, t: int) -> None:
        p, run = self.p, self.run
        xlo, xhi, ylo, yhi = self.box
        inside = (p[0] >= xlo) & (p[0] <= xhi) & (p[1] >= ylo) & (p[1] <= yhi)
        bad = ~inside
        gids = self.gid[bad]
        run.diverged_at[gids] = t
        run.exits[gids] = exit_points(self.prev[:, bad], p[:, bad], run.surface.box).T
        n = self.n
        self.p, self.prev, self.g = (_take(a, inside, n) for a in (self.p, self.prev, self.g))
        self.s, self.h, self.plateau = (_take(a, inside, n) for a in (self.s, self.h, self.plateau))
        if self.lr_rows is not None:
            self.lr_rows = self.lr_rows[:, inside]
        self.gid = self.gid[inside]
        self.cols = self.gid
        self.n = int(inside.sum())
        self.w = Scratch.new(self.n)
        self.done = self.n == 0


def _record_start(run: _Run) -> None:
    if run.rec_index[0] >= 0:
        run.positions[run.rec_index[0]] = run.starts


def _chunk_bounds(k: int, chunk: int, threads: int) -> list[tuple[int, int]]:
    """Split K runs into equal chunks of at most ``chunk`` runs, as many as a multiple of
    ``threads`` when there are enough runs, so that no thread idles while another finishes a
    last, longer round (K = 100,000 on 2 threads: 8 chunks of 12,500, not 7 of up to 16,384)."""
    n = -(-k // chunk)
    if threads > 1 and k >= threads * MIN_THREAD_CHUNK:
        n = -(-n // threads) * threads
    size = -(-k // n)
    return [(lo, min(lo + size, k)) for lo in range(0, k, size)]


def _vector_engine(run: _Run, chunk: int, threads: int) -> None:
    k, t_steps = run.k, run.steps
    batches, rng = run.batches(), run.normals()
    bounds = _chunk_bounds(k, chunk, 1 if batches is not None or rng is not None else threads)
    if batches is not None or rng is not None:
        chunks = [_Chunk(run, lo, hi) for lo, hi in bounds]
        for t in range(1, t_steps + 1):
            bidx = next(batches) if batches is not None else None
            z = rng.standard_normal((2, k)) if rng is not None else None
            for c in chunks:
                if not c.done:
                    c.advance(t, bidx, z)
        return

    def work(lo_hi: tuple[int, int]) -> None:
        with np.errstate(all="ignore"):
            c = _Chunk(run, *lo_hi)
            for t in range(1, t_steps + 1):
                c.advance(t, None, None)
                if c.done:
                    return

    if threads > 1 and len(bounds) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(work, bounds))
    else:
        for b in bounds:
            work(b)


# ---------------------------------------------------------------- simulate


ENGINES = ("auto", "scalar", "numpy", "compiled")


def _compiled_or_numpy(run: _Run, engine: str, auto: bool) -> str:
    """The compiled engine if it can run this call (and, for "auto", its kernel is built or
    the work is large enough to pay for compiling it), else "numpy"; ValueError with the reason
    when "compiled" was asked for and cannot run."""
    why = compiled.unsupported(run) or compiled.unavailable()
    if engine == "compiled":
        if why is not None:
            raise ValueError(f"engine 'compiled' cannot run this call: {why}")
        return "compiled"
    if why is None and (compiled.is_built(run) or run.k * run.steps >= compiled.AUTO_WORK):
        return "compiled"
    return "numpy"


def _finish_positions(run: _Run) -> None:
    """Freeze every diverged run at its exit point from its divergence step on."""
    div = run.diverged_at
    hit = div >= 0
    if hit.any():
        late = (run.rec[:, None] >= div[None, :]) & hit[None, :]
        run.positions[late] = np.broadcast_to(run.exits, run.positions.shape)[late]
        if run.lr_out is not None:
            for j in np.flatnonzero(hit):
                d = int(div[j])
                if d >= 2:
                    run.lr_out[d:, j] = run.lr_out[d - 1, j]


def _finite(a: np.ndarray) -> np.ndarray:
    if np.isfinite(a).all():
        return a
    big = np.finfo(np.float64).max
    return np.nan_to_num(a, nan=big, posinf=big, neginf=-big)


def _estimate_bytes(r: int, k: int, t: int, table: bool, trace: bool) -> int:
    per_state = r * k * (2 + 1 + 1 + 2) * 8  # positions, loss, grad norm, gradient scratch
    return per_state + (t * k * 8 if table else 0) + (t * k * 16 * 8 if trace else 0)


def simulate(
    surface: Any,
    optimizer: str | Optimizer,
    starts: Any,
    steps: int,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    schedule: Schedule | str | None = None,
    record: str | int = "all",
    trace: bool = False,
    engine: str = "auto",
    _path: str | None = None,
    _chunk: int = CHUNK,
    _threads: int | None = None,
    **hyperparams: Any,
) -> Trajectory:
    """Run ``optimizer`` on ``surface`` from K starts for ``steps`` steps.

    starts: (2,) or (K, 2); hyperparams: torch.optim keywords (``betas=(b1, b2)`` accepted),
    each a scalar or a (K,) array. batch_size None or N: full batch (exact gradient); else
    mini-batches from ``surfaces.iter_batches(N, b, K, np.random.default_rng(seed))``.
    schedule: None, a name, or an :mod:`optimizers.schedules` object. record: "all" (R = T + 1),
    "final" (R = 1) or n (every n-th state plus the last). trace=True (K <= 24): per-step gradient,
    state and derived quantities under ``Optimizer.trace_symbols``. Same seed, same result.
    engine: "auto" (scalar for K <= 24, else NumPy, or the compiled engine when it applies and
    its kernel is built or the work is large: see :mod:`optimizers.compiled`), "scalar",
    "numpy" or "compiled" (ValueError with the reason where it cannot run); every engine gives
    the same numbers, ``Trajectory.engine`` says which one ran.
    Bad input raises ValueError naming the parameter and its allowed range.
    """
    opt = _resolve(optimizer)
    xy = _check_starts(surface, starts)
    k = len(xy)
    t_steps = _check_int("steps", steps, 0, MAX_STEPS)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    hyp = _check_hypers(opt, hyperparams, k)
    batch = _check_batch(surface, batch_size)
    sched = _check_schedule(schedule)
    rec = _record_steps(record, t_steps)
    if _path not in (None, "scalar", "vector"):
        raise ValueError(f"_path must be None, 'scalar' or 'vector'; got {_path!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if _path is not None:
        engine = "scalar" if _path == "scalar" else "numpy"
    if engine == "auto":
        engine = "scalar" if k <= SCALAR_MAX_K or trace else "numpy"
        auto = engine == "numpy" and k >= compiled.MIN_K
    else:
        auto = False
    path = "scalar" if engine == "scalar" else "vector"
    if trace and (path != "scalar" or k > SCALAR_MAX_K):
        raise ValueError(
            f"trace=True needs K <= {SCALAR_MAX_K} runs (the scalar engine); got K={k}"
        )
    lr_key = next(h.name for h in opt.hypers if h.role == "lr")
    base = hyp[lr_key]
    table_needed = not sched.constant and not sched.uses_loss
    need = _estimate_bytes(
        len(rec), k, t_steps, table_needed and isinstance(base, np.ndarray), trace
    )
    if need > MEMORY_CAP:
        raise ValueError(
            f"record={record!r} with K={k} runs and steps={t_steps} would keep about "
            f"{need / 2**20:.0f} MiB (limit {MEMORY_CAP // 2**20} MiB): record 'final' or every "
            "n-th state"
        )
    with np.errstate(all="ignore"):
        lr_table: np.ndarray | None = None
        if sched.uses_loss:
            pass
        elif sched.constant:
            lr_table = np.broadcast_to(np.asarray(base, dtype=np.float64), (t_steps, k))
        elif isinstance(base, np.ndarray):
            lr_table = np.array(sched.sequence(base, t_steps)).reshape(t_steps, k)
        else:
            seq = np.array(sched.sequence(float(base), t_steps), dtype=np.float64)
            lr_table = np.broadcast_to(seq[:, None], (t_steps, k))
        rec_index = np.full(t_steps + 1, -1, dtype=np.int64)
        rec_index[rec] = np.arange(len(rec))
        run = _Run(
            surface, opt, hyp, xy, t_steps, batch, seed, sched, rec, rec_index, lr_key, lr_table
        )
        if auto or engine == "compiled":
            engine = _compiled_or_numpy(run, engine, auto)
        if path == "scalar":
            traces = _scalar_engine(run, trace)
        elif engine == "compiled":
            traces = {}
            try:
                compiled.run_compiled(run, _threads or min(2, os.cpu_count() or 1))
            except Exception:
                if not auto:
                    raise
                engine = "numpy"  # the compiler failed (compiled.FAILED says why): NumPy
                run.diverged_at[:] = -1
        if engine == "numpy":
            traces = {}
            _record_start(run)
            _vector_engine(run, max(1, int(_chunk)), _threads or min(2, os.cpu_count() or 1))
        _finish_positions(run)
        pos = run.positions
        loss = _finite(np.asarray(surface.value(pos), dtype=np.float64))
        g = np.asarray(surface.grad(pos), dtype=np.float64)
        gn = _finite(np.hypot(g[..., 0], g[..., 1]))
    lr_out = run.lr_out if run.lr_out is not None else lr_table
    assert lr_out is not None
    return Trajectory(
        positions=pos,
        loss=loss,
        grad_norm=gn,
        lr=_finite(lr_out) if lr_out.flags.writeable else lr_out,
        steps=rec.copy(),
        diverged_at=run.diverged_at,
        trace=traces,
        optimizer=opt.name,
        hyperparams=hyp,
        surface=getattr(surface, "name", type(surface).__name__),
        batch_size=batch_size,
        seed=seed,
        schedule=sched.name,
        schedule_params=sched.params(),
        engine=engine,
    )

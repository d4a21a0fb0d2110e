"""``minimize`` and ``simulate``: run an optimizer from K starting points, keep what is plotted.

``minimize(objective, x0, steps, optimizer, ...)`` runs any objective of D parameters (a
network, a custom model) from K starting points (K, D); ``simulate(surface, optimizer, starts,
steps, ...)`` is the same on a 2-D surface with its box: a run that leaves the box stops at
the exit point. Both validate at the boundary, choose an engine and return a
:class:`Trajectory`:

* the scalar engine (:mod:`optimizers.engines.scalar`) for a handful of runs on a surface;
* the vector engine (:mod:`optimizers.engines.vector`), NumPy, for everything else;
* the compiled engine (:mod:`optimizers.engines.compiled`) for large work when a C++ compiler
  is present (``engine="auto"`` uses it when its kernel is built or the work pays for the
  compile).

Every engine runs the same traced rule and gives the same numbers; ``Trajectory.engine`` says
which one ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizers.base import Optimizer
from optimizers.engines import compiled, scalar, vector
from optimizers.models import ObjectiveModel, SurfaceModel, call_objective
from optimizers.problem import Checks, Problem, finite, lr_table
from optimizers.schedules import Schedule
from optimizers.validate import (
    MAX_STEPS,
    MEMORY_CAP,
    check_hypers,
    check_int,
    check_schedule,
    estimate_bytes,
    record_steps,
    resolve,
)

SCALAR_MAX_K = 24  # up to this many runs the scalar engine is faster: measured crossover
# K ~ 30 full batch, ~26 with mini-batches (5 optimizers x 1000 steps on Rosenbrock: K = 12
# took 89 ms scalar vs 258 ms on per-step NumPy, which costs ~50 us a step whatever K)
ENGINES = ("auto", "scalar", "numpy", "compiled")
THREADS = min(2, os.cpu_count() or 1)  # the compiled engine's OpenMP threads by default


@dataclass(frozen=True)
class Trajectory:
    """What :func:`minimize` and :func:`simulate` return; no NaN or inf anywhere.

    params (R, K, D) at the recorded states (``positions`` is the same array, the name used
    for 2-D surfaces); loss (R, K) and grad_norm (R, K) there (full batch); lr (T, K) the
    learning rate of each step; steps (R,) the step index of each recorded state; diverged_at
    (K,) the first step whose point left the box or was non-finite, -1 if never; trace (with
    ``trace=True``): name -> (T, K, D) or (T, K), step t at index t - 1, for the gradient, every
    state buffer the rule changes, every derived quantity of its trace and the step taken
    ("update"); trace_initial: each traced state buffer before step 1, (K, D) or (K,);
    reached_at (K,): with ``reach_loss``, each run's first checked step at or below it (-1:
    none), else None; settled_at, settled_near (K,): with ``settle_points``, see simulate.
    """

    params: np.ndarray
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
    shuffle: bool = True
    trace_initial: dict[str, np.ndarray] = field(default_factory=dict)  # state before step 1
    reached_at: np.ndarray | None = None  # (K,) with reach_loss: see simulate
    settled_at: np.ndarray | None = None  # (K,) with settle_points: see simulate
    settled_near: np.ndarray | None = None  # (K,) with settle_points: see simulate

    @property
    def positions(self) -> np.ndarray:
        """The recorded points (R, K, 2) of a 2-D surface: ``params`` by its surface name."""
        return self.params


def _check_engine(engine: str, path: str | None) -> str:
    if path not in (None, "scalar", "vector"):
        raise ValueError(f"_path must be None, 'scalar' or 'vector'; got {path!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if path is not None:
        return "scalar" if path == "scalar" else "numpy"
    return engine


def _check_batch(n: int, batch_size: Any) -> int | None:
    if batch_size is None:
        return None
    b = check_int("batch_size", batch_size, 1, n)
    return None if b == n else b


def _run(
    model: Any,
    opt: Optimizer,
    x0: np.ndarray,
    steps: Any,
    *,
    batch_size: Any,
    shuffle: bool,
    seed: Any,
    schedule: Any,
    record: Any,
    trace: bool,
    engine: str,
    chunk: int,
    threads: int | None,
    hyperparams: dict[str, Any],
    observe: Callable[[vector.Observation], None] | None = None,
    reach_loss: Any = None,
    settle_points: Any = None,
    settle_radius: Any = None,
    check_every: Any = 1,
) -> Trajectory:
    k, d = x0.shape
    t_steps = check_int("steps", steps, 0, MAX_STEPS)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    if not isinstance(shuffle, bool | np.bool_):
        raise ValueError(f"shuffle must be True or False; got {shuffle!r}")
    hyp = check_hypers(opt, hyperparams, k)
    batch = _check_batch(model.n_samples, batch_size)
    sched = check_schedule(schedule)
    rec = record_steps(record, t_steps)
    scalar_ok = isinstance(model, SurfaceModel)
    if engine == "scalar" and not scalar_ok:
        raise ValueError("engine 'scalar' runs 2-D surfaces only (simulate); use 'numpy'")
    if trace and (not scalar_ok or k > SCALAR_MAX_K or engine not in ("auto", "scalar")):
        raise ValueError(
            f"trace=True needs K <= {SCALAR_MAX_K} runs on a 2-D surface (the scalar engine); "
            f"got K={k}"
        )
    if observe is not None and (scalar_ok or engine not in ("auto", "numpy")):
        raise ValueError(f"observe runs objectives on the NumPy engine; got engine={engine!r}")
    auto = engine == "auto" and observe is None
    if engine == "auto":
        engine = "scalar" if scalar_ok and (k <= SCALAR_MAX_K or trace) else "numpy"
    checks = _check_checks(reach_loss, settle_points, settle_radius, check_every, t_steps, d)
    kept = rec
    if checks is not None:
        if engine == "numpy":
            auto = False  # the NumPy engine checks inside its chunks, the others cannot
        else:  # the other engines record the checked steps too; read after the run
            rec = np.union1d(rec, checks.steps)
    lr_key = next(h.name for h in opt.hypers if h.role == "lr")
    base = hyp[lr_key]
    need = estimate_bytes(
        len(rec), k, d, t_steps, not sched.constant and isinstance(base, np.ndarray), trace
    )
    if need > MEMORY_CAP:
        raise ValueError(
            f"record={record!r} with K={k} runs and steps={t_steps} would keep about "
            f"{need / 2**20:.0f} MiB (limit {MEMORY_CAP // 2**20} MiB): record 'final' or every "
            "n-th state"
        )
    with np.errstate(all="ignore"):
        table = lr_table(sched, base, t_steps, k)
        rec_index = np.full(t_steps + 1, -1, dtype=np.int64)
        rec_index[rec] = np.arange(len(rec))
        pb = Problem(
            model, opt, hyp, x0, t_steps, batch, bool(shuffle), seed, sched, rec, rec_index,
            lr_key, table, checks if engine == "numpy" else None,
        )  # fmt: skip
        if engine == "compiled" or (auto and engine == "numpy" and k >= compiled.MIN_K):
            engine = compiled.choose(pb, engine)
        traces: dict[str, np.ndarray] = {}
        initial: dict[str, np.ndarray] = {}
        if engine == "scalar":
            traces, initial = scalar.run(pb, trace)
        elif engine == "compiled":
            try:
                compiled.run(pb, threads or THREADS)
            except Exception:
                if not auto:
                    raise
                engine = "numpy"  # the compiler failed (compiled.FAILED says why): NumPy
                pb.diverged_at[:] = -1
        if engine == "numpy":
            vector.run(pb, max(1, int(chunk)), threads, observe)
        _freeze(pb)
        loss, gnorm = _measure(model, pb.params)
        params = pb.params
        if checks is not None:
            if engine != "numpy":
                _read_checks(pb, checks, loss)
                rows = np.searchsorted(rec, kept)
                params, loss, gnorm, rec = params[rows], loss[rows], gnorm[rows], kept
            pb.settled_at[pb.settled_near < 0] = -1  # near none of the points at the last check
    lr_out = pb.lr_out if pb.lr_out is not None else table
    assert lr_out is not None
    return Trajectory(
        params=params,
        loss=loss,
        grad_norm=gnorm,
        lr=finite(lr_out) if lr_out.flags.writeable else lr_out,
        steps=rec.copy(),
        diverged_at=pb.diverged_at,
        trace=traces,
        optimizer=opt.name,
        hyperparams={h.name: hyp[h.name] for h in opt.hypers},  # as the caller can pass them
        surface=model.name,
        batch_size=batch_size,
        seed=seed,
        schedule=sched.name,
        schedule_params=sched.params(),
        engine=engine,
        shuffle=bool(shuffle),
        trace_initial=initial,
        reached_at=None if checks is None or checks.loss is None else pb.reached_at,
        settled_at=None if checks is None or checks.points is None else pb.settled_at,
        settled_near=None if checks is None or checks.points is None else pb.settled_near,
    )


def _check_checks(
    level: Any, points: Any, radius: Any, every: Any, t_steps: int, d: int
) -> Checks | None:
    """What the run checks (None: nothing): the loss level, the points and their radius, and
    the checked steps 0, every, 2·every, ... and the last."""
    if level is None and points is None:
        if radius is not None:
            raise ValueError("settle_radius needs settle_points")
        return None
    if level is not None and not _finite_number(level):
        raise ValueError(f"reach_loss must be a finite number or None; got {level!r}")
    pts = None
    r = 0.0
    if points is not None:
        try:
            pts = np.array(points, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"settle_points must be an (M, {d}) array of numbers") from None
        if pts.ndim == 1 and pts.shape[0] == d:
            pts = pts[None, :]
        if pts.ndim != 2 or pts.shape[0] < 1 or pts.shape[1] != d or not np.isfinite(pts).all():
            raise ValueError(
                f"settle_points must be an (M, {d}) array of finite numbers; got shape {pts.shape}"
            )
        if not _finite_number(radius) or float(radius) <= 0:
            raise ValueError(f"settle_radius must be a finite number > 0; got {radius!r}")
        r = float(radius)
    elif radius is not None:
        raise ValueError("settle_radius needs settle_points")
    n = check_int("check_every", every, 1, max(1, t_steps))
    return Checks.make(record_steps(n, t_steps), t_steps, None if level is None else float(level),
                       pts, r)  # fmt: skip


def _finite_number(v: Any) -> bool:
    return (
        not isinstance(v, bool)
        and isinstance(v, int | float | np.integer | np.floating)
        and bool(np.isfinite(float(v)))
    )


def _read_checks(pb: Problem, checks: Checks, loss: np.ndarray) -> None:
    """What the NumPy engine notes during its run, read from the recorded states (R, K) of the
    checked steps after it: the same arithmetic on the same numbers, the same steps."""
    rows = np.searchsorted(pb.rec, checks.steps)
    dead = np.where(pb.diverged_at >= 0, pb.diverged_at, np.iinfo(np.int64).max)
    alive = checks.steps[:, None] < dead[None, :]  # (C, K): a run is not checked once it left
    if checks.loss is not None:
        ok = (loss[rows] <= checks.loss) & alive
        pb.reached_at = np.where(ok.any(axis=0), checks.steps[np.argmax(ok, axis=0)], -1)
    if checks.points is not None:
        for c, row in enumerate(rows):
            p = pb.params[row]
            near = checks.near([p[:, i] for i in range(p.shape[1])])
            moved = alive[c] & (pb.settled_near != near)
            pb.settled_near[moved] = near[moved]
            pb.settled_at[moved] = checks.steps[c]


def _freeze(pb: Problem) -> None:
    """Every diverged run stays at its exit point from its divergence step on."""
    div = pb.diverged_at
    hit = div >= 0
    if hit.any():
        late = (pb.rec[:, None] >= div[None, :]) & hit[None, :]
        np.copyto(pb.params, pb.exits[None], where=late[..., None])
        if pb.lr_out is not None:
            for j in np.flatnonzero(hit):
                d = int(div[j])
                if d >= 2:
                    pb.lr_out[d:, j] = pb.lr_out[d - 1, j]


MEASURE_CHUNK = 8192  # points per pass: the temporaries stay in cache (2x faster on big maps)


def _measure(model: Any, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch loss and gradient norm at every recorded state (R, K)."""
    r, k, d = params.shape
    if isinstance(model, SurfaceModel):
        s = model.surface
        flat = params.reshape(-1, d)
        loss = np.empty(len(flat))
        gnorm = np.empty(len(flat))
        for lo in range(0, len(flat), MEASURE_CHUNK):  # elementwise: the same numbers
            part = flat[lo : lo + MEASURE_CHUNK]
            loss[lo : lo + MEASURE_CHUNK] = s.value(part)
            g = np.asarray(s.grad(part), dtype=np.float64)
            gnorm[lo : lo + MEASURE_CHUNK] = np.hypot(g[:, 0], g[:, 1])
        return finite(loss.reshape(r, k)), finite(gnorm.reshape(r, k))
    flat = params.reshape(-1, d)
    loss = np.empty(len(flat))
    gnorm = np.empty(len(flat))
    step = 65536
    for lo in range(0, len(flat), step):
        part = np.ascontiguousarray(flat[lo : lo + step])
        lv, gv = call_objective(model.objective, part, None)
        loss[lo : lo + step] = lv
        gnorm[lo : lo + step] = np.sqrt(np.einsum("ij,ij->i", gv, gv))
    return finite(loss.reshape(r, k)), finite(gnorm.reshape(r, k))


# ---------------------------------------------------------------- the two entry points


def minimize(
    objective: Any,
    x0: Any,
    steps: int,
    optimizer: str | Optimizer,
    *,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    schedule: Schedule | str | None = None,
    record: str | int = "all",
    engine: str = "auto",
    observe: Callable[[vector.Observation], None] | None = None,
    reach_loss: float | None = None,
    settle_points: Any = None,
    settle_radius: float | None = None,
    check_every: int = 1,
    _chunk: int = vector.CHUNK,
    _threads: int | None = None,
    **hyperparams: Any,
) -> Trajectory:
    """Run ``optimizer`` on ``objective`` from K starting points for ``steps`` steps.

    objective: has ``n_samples`` (N) and ``value_and_grad(params (K, D), idx) -> (loss (K,),
    grad (K, D))`` where idx is None (full batch) or a (K, B) int array of sample indices;
    optionally ``dim`` (D, against which x0 is checked), ``value(params, idx)`` and, for the
    compiled engine, ``value_and_grad_torch(params (n, D) tensor)``. x0: (K, D) or (D,) starting
    parameters (without ``dim``, x0's D is tried on the objective once: an objective that fails
    on it is a ValueError naming x0's shape). batch_size None or N: full batch; else
    mini-batches of B samples, drawn like ``DataLoader(shuffle=True)`` from
    ``np.random.default_rng(seed)``, or with ``shuffle=False`` in order (``for i in range(0, N,
    B)``, the last batch shorter). hyperparams: torch.optim keywords (``betas=(b1, b2)``
    accepted), each a scalar or a (K,) array. schedule: None, a name, or an
    :mod:`optimizers.schedules` object. record: "all" (R = T + 1), "final" (R = 1) or n (every
    n-th state plus the last). A run whose parameters become non-finite stops there
    (``diverged_at``) and keeps its last finite parameters; a run whose loss (from
    ``value_and_grad``) becomes inf or NaN stops at the step that reached that point, on it.
    engine: "auto", "numpy" or "compiled" (ValueError with the reason where it cannot run).
    observe: called as ``observe(obs)`` before the first step and after every step with a
    :class:`optimizers.engines.vector.Observation` (the gradient the step used, the new
    parameters and every state buffer of the rule, as views to copy from); the run is then the
    NumPy engine's, one chunk on one thread, and its numbers are the same. reach_loss,
    settle_points (M, D), settle_radius, check_every: as in :func:`simulate`. Bad input raises
    ValueError naming the parameter and its allowed range.
    """
    opt = resolve(optimizer)
    if not hasattr(objective, "value_and_grad") or not hasattr(objective, "n_samples"):
        raise ValueError(
            "objective must have n_samples and value_and_grad(params (K, D), idx); "
            f"got {type(objective).__name__}"
        )
    try:
        arr = np.array(x0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"x0 must be a (K, D) array of numbers; got {type(x0).__name__}") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    dim = getattr(objective, "dim", None)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"x0 must have shape (K, D) with K, D >= 1; got {arr.shape}")
    if dim is not None and arr.shape[1] != int(dim):
        raise ValueError(f"x0 must have shape (K, D) with D = {int(dim)}; got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("x0 must be finite")
    n = getattr(objective, "n_samples", None)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"objective.n_samples must be a positive integer; got {n!r}")
    if dim is None:  # nothing says what D is: one call from x0's first row tells
        try:
            call_objective(objective, np.ascontiguousarray(arr[:1]), None)
        except Exception as exc:
            raise ValueError(
                f"objective.value_and_grad failed on x0's first row (x0 has shape {arr.shape}, "
                f"so D = {arr.shape[1]}): {type(exc).__name__}: {exc}"
            ) from exc
    engine = _check_engine(engine, None)
    model = ObjectiveModel(objective, arr.shape[1])
    return _run(
        model,
        opt,
        arr,
        steps,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        schedule=schedule,
        record=record,
        trace=False,
        engine=engine,
        chunk=_chunk,
        threads=_threads,
        hyperparams=hyperparams,
        observe=observe,
        reach_loss=reach_loss,
        settle_points=settle_points,
        settle_radius=settle_radius,
        check_every=check_every,
    )


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
    reach_loss: float | None = None,
    settle_points: Any = None,
    settle_radius: float | None = None,
    check_every: int = 1,
    _path: str | None = None,
    _chunk: int = vector.CHUNK,
    _threads: int | None = None,
    **hyperparams: Any,
) -> Trajectory:
    """Run ``optimizer`` on a 2-D ``surface`` from K starts for ``steps`` steps.

    starts: (2,) or (K, 2), inside ``surface.box``; hyperparams: torch.optim keywords
    (``betas=(b1, b2)`` accepted), each a scalar or a (K,) array. batch_size None or N: full
    batch (exact gradient); else mini-batches from ``surfaces.iter_batches(N, b, K,
    np.random.default_rng(seed))``. schedule: None, a name, or an :mod:`optimizers.schedules`
    object. record: "all" (R = T + 1), "final" (R = 1) or n (every n-th state plus the last).
    trace=True (K <= 24): per step, the gradient, every state buffer the rule changes and each
    derived quantity of its trace, by name (``Optimizer.symbols``). Same seed, same result.
    engine: "auto" (scalar for K <= 24, else NumPy, or the compiled engine when it applies and
    its kernel is built or the work is large), "scalar", "numpy" or "compiled" (ValueError
    with the reason where it cannot run); every engine gives the same numbers. A run whose new
    point is non-finite or outside ``surface.box`` stops; its stored point is the exit point on
    the segment from the last inside point, and stays there.
    Checks during the run, at steps 0, ``check_every``, 2·``check_every``, ... and the last
    (a run is not checked from the step it diverged at): with ``reach_loss`` (a number),
    ``Trajectory.reached_at`` (K,) is each run's first checked step whose full-batch loss is
    at or below it, else -1; with ``settle_points`` (M, 2) and ``settle_radius``,
    ``Trajectory.settled_near`` (K,) is the point (index) its last check found it within the
    radius of (the nearest such; -1: none) and ``settled_at`` (K,) the checked step from which
    every check found it near that same point (-1: none). The NumPy engine checks inside its
    run, so ``record="final"`` still tells how long each run took; the other engines record
    the checked steps and read them after the run (same steps, same numbers).
    Bad input raises ValueError naming the parameter and its allowed range.
    """
    opt = resolve(optimizer)
    xy = _check_starts(surface, starts)
    engine = _check_engine(engine, _path)
    return _run(
        SurfaceModel(surface),
        opt,
        xy,
        steps,
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
        schedule=schedule,
        record=record,
        trace=trace,
        engine=engine,
        chunk=_chunk,
        threads=_threads,
        hyperparams=hyperparams,
        reach_loss=reach_loss,
        settle_points=settle_points,
        settle_radius=settle_radius,
        check_every=check_every,
    )

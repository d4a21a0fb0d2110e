"""One call of ``minimize`` or ``simulate``, validated: what every engine reads and fills.

* Validation at the boundary: every bad argument raises a ValueError that names the parameter
  and its allowed range (:func:`check_hypers`, :func:`check_int`, ...).
* :class:`Problem`: the validated call (K runs of D parameters, T steps, the optimizer's
  settings, batches, schedule, what to record) and the arrays the engines fill (recorded
  parameters, the step each run diverged at, its exit point).
* Models: what the engines need from the thing being minimised, on structure-of-arrays
  parameters P of shape (D, n): :class:`SurfaceModel` (a 2-D surface, with its plain-float and
  torch forms) and :class:`ObjectiveModel` (any objective with ``n_samples`` and
  ``value_and_grad(params (K, D), idx)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizers.base import FLAG_KINDS, Optimizer
from optimizers.registry import get
from optimizers.schedules import Schedule, make

MAX_STEPS = 1_000_000
MEMORY_CAP = 512 * 2**20  # bytes a Trajectory may hold
BIG = float(np.finfo(np.float64).max)


# ---------------------------------------------------------------- validation


def resolve(optimizer: str | Optimizer) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    return get(optimizer)


def check_int(name: str, value: Any, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        raise ValueError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    return int(value)


def check_hypers(opt: Optimizer, given: dict[str, Any], k: int) -> dict[str, Any]:
    """Every setting of ``opt`` for K runs: validated, defaults filled, ``fixed`` applied."""
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
        fixed = [u for u in unknown if u in opt.fixed]
        if fixed:
            raise ValueError(
                f"optimizer {opt.name!r} fixes {fixed[0]!r} = {opt.fixed[fixed[0]]!r}; "
                f"use 'sgd' to set it"
            )
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
    out.update(opt.fixed)
    if opt.check is not None:
        opt.check(out)
    return out


def check_schedule(schedule: Any) -> Schedule:
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


def record_steps(record: Any, steps: int) -> np.ndarray:
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


def numeric_kinds(opt: Optimizer, settings: dict[str, Any]) -> dict[str, str]:
    """Each numeric setting's kind in this call: "zero" (0 in every run: the rule folds it
    away, as torch skips a zero weight decay), "shared" (one number) or "varying" (an array)."""
    kinds = {}
    flag_names = {h.name for h in opt.hypers if h.kind in FLAG_KINDS}
    for name, v in settings.items():
        if name in flag_names or isinstance(v, bool | str):
            continue
        if isinstance(v, np.ndarray):
            kinds[name] = "zero" if not v.any() else "varying"
        else:
            kinds[name] = "zero" if float(v) == 0.0 else "shared"
    return kinds


def exit_points(prev: np.ndarray, new: np.ndarray, box: Any) -> np.ndarray:
    """Where the segment prev -> new leaves ``box``: (D, m) inside, (D, m) outside -> (D, m).

    A non-finite coordinate counts as far away in its direction; a NaN keeps the last point.
    ``box`` None (no box, only non-finite values stop a run): the last point.
    """
    if box is None:
        return prev.copy()
    lo = np.array([[b[0]] for b in box])
    hi = np.array([[b[1]] for b in box])
    with np.errstate(all="ignore"):
        nan = np.isnan(new)
        target = np.clip(np.where(nan, prev, new), -1e300, 1e300)
        d = target - prev
        s_hi = np.where(target > hi, (hi - prev) / d, 1.0)
        s_lo = np.where(target < lo, (lo - prev) / d, 1.0)
        s = np.clip(np.minimum(s_hi, s_lo).min(axis=0), 0.0, 1.0)
        s[nan.any(axis=0)] = 0.0
        return np.asarray(np.clip(prev + s * d, lo, hi))


# ---------------------------------------------------------------- models


class SurfaceModel:
    """A 2-D surface for the engines (D = 2): plain floats, NumPy on (2, n), torch."""

    d = 2

    def __init__(self, surface: Any) -> None:
        self.surface = surface
        self.n_samples = int(surface.n_samples)
        self.box = surface.box
        self.value_scalar = surface.value_scalar
        self.name = getattr(surface, "name", type(surface).__name__)
        self._grad_into = getattr(surface, "grad_into", None)

    def key(self) -> Any:
        """What identifies the maths for a compiled kernel's cache."""
        s = self.surface
        return (self.name, tuple(sorted(getattr(s, "params", {}).items())), s.box)

    def scalar_oracles(
        self, idx: list[list[int]] | None
    ) -> tuple[Callable[[int], Callable[..., float]], Callable[..., Any]]:
        """(loss function of step t's batch, gradient of the next batch) on floats."""
        s = self.surface
        if idx is None:
            value_scalar = s.value_scalar
            return (lambda _t: value_scalar), s.grad_scalar
        bvs, bgs = s.batch_value_scalar, s.batch_grad_scalar
        nxt = iter(idx).__next__

        def value_for(t: int) -> Callable[..., float]:
            batch = idx[t - 1]
            return lambda x, y: float(bvs(x, y, batch))

        def batch_grad(x: float, y: float) -> Any:
            return bgs(x, y, nxt())

        return value_for, batch_grad

    def grad_T(self, p: np.ndarray, g: np.ndarray, idx: np.ndarray | None) -> None:
        """g (2, n) <- the gradient at p (2, n), of the batches idx (n, B) or the full batch."""
        if idx is not None:
            np.copyto(g, self.surface.batch_grad(p.T, idx).T)
        elif self._grad_into is not None:
            self._grad_into(p[0], p[1], g[0], g[1])
        else:
            np.copyto(g, self.surface.grad(p.T).T)

    def value_T(self, p: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        if idx is None:
            return np.asarray(self.surface.value(p.T))
        return np.asarray(self.surface.batch_value(p.T, idx))

    def value(self, params: np.ndarray) -> np.ndarray:
        """Full-batch loss at params (..., 2)."""
        return np.asarray(self.surface.value(params), dtype=np.float64)

    def torch_grad(self) -> Callable[..., Any] | None:
        """[x, y] (n,) tensors -> [gx, gy], in torch operations; None if the surface has no
        torch-ready maths (data surfaces: their mean over samples would not add up in the same
        order as the other engines)."""
        engine = getattr(self.surface, "_engine", None)
        grad = getattr(engine, "_g", None)
        if not callable(grad):
            return None

        def g(p: list[Any]) -> list[Any]:
            from surfaces.base import torch_ops

            gx, gy = grad(p[0], p[1], torch_ops())
            return [gx + 0.0 * p[0], gy + 0.0 * p[1]]  # a constant component as a tensor

        return g


class ObjectiveModel:
    """Any objective of :func:`optimizers.minimize` for the engines (NumPy and compiled)."""

    def __init__(self, objective: Any, d: int) -> None:
        self.objective = objective
        self.d = d
        self.n_samples = int(objective.n_samples)
        self.box = None
        self.name = getattr(objective, "name", type(objective).__name__)
        self.last_loss: np.ndarray | None = None

    def key(self) -> Any:
        return ("objective", id(self.objective))

    def scalar_oracles(self, _idx: Any) -> Any:
        raise ValueError("the scalar engine runs 2-D surfaces only")

    def value_scalar(self, *_p: float) -> float:
        raise ValueError("the scalar engine runs 2-D surfaces only")

    def grad_T(self, p: np.ndarray, g: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        """g (D, n) <- the gradient at p (D, n); returns the loss (n,) it came with."""
        loss, grad = call_objective(self.objective, np.ascontiguousarray(p.T), idx)
        np.copyto(g, grad.T)
        return loss

    def value_T(self, p: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        return call_objective(self.objective, np.ascontiguousarray(p.T), idx)[0]

    def value(self, params: np.ndarray) -> np.ndarray:
        flat = params.reshape(-1, self.d)
        out = np.empty(len(flat))
        step = 65536
        for lo in range(0, len(flat), step):
            part = np.ascontiguousarray(flat[lo : lo + step])
            fn = getattr(self.objective, "value", None)
            if fn is not None:
                out[lo : lo + step] = np.asarray(fn(part, None), dtype=np.float64)
            else:
                out[lo : lo + step] = call_objective(self.objective, part, None)[0]
        return out.reshape(params.shape[:-1])

    def torch_grad(self) -> Callable[..., Any] | None:
        fn = getattr(self.objective, "value_and_grad_torch", None)
        if not callable(fn):
            return None

        def g(p: list[Any]) -> list[Any]:
            import torch

            return list(fn(torch.stack(p, dim=1))[1].unbind(1))

        return g


def call_objective(
    objective: Any, params: np.ndarray, idx: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``objective.value_and_grad`` with its shapes checked: (K,) loss and (K, D) gradient."""
    k, d = params.shape
    out = objective.value_and_grad(params, idx)
    try:
        loss, grad = out
    except (TypeError, ValueError):
        raise ValueError(
            f"objective.value_and_grad must return (loss (K,), grad (K, D)); got {type(out)}"
        ) from None
    loss = np.asarray(loss, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    if loss.shape != (k,) or grad.shape != (k, d):
        raise ValueError(
            f"objective.value_and_grad must return loss of shape (K,) = ({k},) and grad of "
            f"shape (K, D) = ({k}, {d}); got {loss.shape} and {grad.shape}"
        )
    return loss, grad


# ---------------------------------------------------------------- one call


@dataclass
class Problem:
    """Everything one call shares between its runs, chunks and engines."""

    model: Any  # SurfaceModel | ObjectiveModel
    opt: Optimizer
    hyp: dict[str, Any]  # validated settings: numbers, (K,) arrays, flags
    x0: np.ndarray  # (K, D)
    steps: int
    batch: int | None
    shuffle: bool
    seed: int
    schedule: Schedule
    rec: np.ndarray  # (R,) recorded step indices
    rec_index: np.ndarray  # (T + 1,) recorded slot of each step, -1 if not recorded
    lr_key: str
    lr_table: np.ndarray | None  # (T, K) when the schedule does not use the loss
    params: np.ndarray = field(init=False)  # (R, K, D)
    diverged_at: np.ndarray = field(init=False)  # (K,)
    exits: np.ndarray = field(init=False)  # (K, D)
    lr_out: np.ndarray | None = None

    def __post_init__(self) -> None:
        k, d = self.x0.shape
        self.params = np.zeros((len(self.rec), k, d))
        self.diverged_at = np.full(k, -1, dtype=np.int64)
        self.exits = np.zeros((k, d))
        if self.schedule.uses_loss:
            self.lr_out = np.zeros((self.steps, k))

    @property
    def k(self) -> int:
        return int(self.x0.shape[0])

    @property
    def d(self) -> int:
        return int(self.x0.shape[1])

    @property
    def box(self) -> Any:
        return self.model.box

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(D,) lower and upper limits of a run's parameters (±max float without a box:
        then only inf and NaN stop a run)."""
        if self.box is None:
            return np.full(self.d, -BIG), np.full(self.d, BIG)
        return np.array([b[0] for b in self.box]), np.array([b[1] for b in self.box])

    def first_outside(self, path: np.ndarray) -> int:
        """The first row of ``path`` (n, D) outside the bounds or non-finite, -1 if none."""
        box = self.box
        if box is not None and len(box) == 2:  # a surface: plain floats, the common case
            (xlo, xhi), (ylo, yhi) = box
            (mnx, mny), (mxx, mxy) = path.min(axis=0).tolist(), path.max(axis=0).tolist()
            if mnx >= xlo and mxx <= xhi and mny >= ylo and mxy <= yhi:  # NaN fails
                return -1
        lo, hi = self.bounds()
        with np.errstate(invalid="ignore"):
            out = ~((path >= lo) & (path <= hi)).all(axis=1)
        return int(np.argmax(out)) if out.any() else -1

    def run_settings(self, j: int) -> dict[str, Any]:
        """Run j's settings as Python values (arrays indexed)."""
        return {
            key: (float(v[j]) if isinstance(v, np.ndarray) else v) for key, v in self.hyp.items()
        }

    def batches(self) -> Iterator[np.ndarray] | None:
        """(K, B) sample indices per step: DataLoader(shuffle=True) epochs, or in order."""
        if self.batch is None:
            return None
        from surfaces import iter_batches

        if self.shuffle:
            return iter_batches(
                self.model.n_samples, self.batch, self.k, np.random.default_rng(self.seed)
            )
        return in_order(self.model.n_samples, self.batch, self.k)

    def normals(self) -> np.random.Generator | None:
        """Proposal noise of random search: its own stream, seeded by (seed, 1)."""
        return np.random.default_rng([self.seed, 1]) if self.opt.rule.draws_normal else None


def in_order(n: int, b: int, k: int) -> Iterator[np.ndarray]:
    """The lessons' loop ``for i in range(0, N, B)``: batches in order, the last one shorter
    when B does not divide N; the same for all K runs. Yields (K, B_t) int arrays."""
    starts = list(range(0, n, b))
    while True:
        for lo in starts:
            idx = np.arange(lo, min(lo + b, n))
            yield np.broadcast_to(idx, (k, len(idx)))


def estimate_bytes(r: int, k: int, d: int, t: int, table: bool, trace: bool) -> int:
    per_state = r * k * (d + 1 + 1 + d) * 8  # params, loss, grad norm, gradient scratch
    return per_state + (t * k * 8 if table else 0) + (t * k * 16 * d * 8 if trace else 0)


def lr_table(sched: Schedule, base: Any, t_steps: int, k: int) -> np.ndarray | None:
    """(T, K) learning rates of every step, None for a schedule that reads the loss."""
    if sched.uses_loss:
        return None
    if sched.constant:
        return np.broadcast_to(np.asarray(base, dtype=np.float64), (t_steps, k))
    if isinstance(base, np.ndarray):
        return np.array(sched.sequence(base, t_steps)).reshape(t_steps, k)
    seq = np.array(sched.sequence(float(base), t_steps), dtype=np.float64)
    return np.broadcast_to(seq[:, None], (t_steps, k))


def finite(a: np.ndarray) -> np.ndarray:
    if np.isfinite(a).all():
        return a
    return np.asarray(np.nan_to_num(a, nan=BIG, posinf=BIG, neginf=-BIG))

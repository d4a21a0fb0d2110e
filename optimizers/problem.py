"""One call of ``minimize`` or ``simulate``, validated: what every engine reads and fills.

:class:`Problem` holds the validated call (K runs of D parameters, T steps, the optimizer's
settings, batches, schedule, what to record) and the arrays the engines fill (recorded
parameters, the step each run diverged at, its exit point); the helpers here are what the
engines share about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizers.base import FLAG_KINDS, Optimizer
from optimizers.schedules import Schedule

BIG = float(np.finfo(np.float64).max)


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
    reach_loss: float | None = None  # the engine notes each run's first check at or below it
    reach_at: np.ndarray | None = None  # (T + 1,) bool: the steps at which it checks
    params: np.ndarray = field(init=False)  # (R, K, D)
    diverged_at: np.ndarray = field(init=False)  # (K,)
    exits: np.ndarray = field(init=False)  # (K, D)
    reached_at: np.ndarray = field(init=False)  # (K,) first checked step at or below, else -1
    lr_out: np.ndarray | None = None

    def __post_init__(self) -> None:
        k, d = self.x0.shape
        self.params = np.zeros((len(self.rec), k, d))
        self.diverged_at = np.full(k, -1, dtype=np.int64)
        self.reached_at = np.full(k, -1, dtype=np.int64)
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

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


GRID_POINTS = 12  # more points than this (in 2-D) are found through cells, not one by one
MAX_CELLS = 4_000_000


@dataclass(frozen=True)
class Checks:
    """What the engines check during a run, at the steps ``steps`` (0 and the last among them):
    the full-batch loss against ``loss`` (each run's first step at or below it), the point's
    distance to each of ``points`` (M, D) against ``radius`` (the step from which a run stays
    within it of the same point)."""

    steps: np.ndarray  # (C,) the checked steps, increasing
    at: np.ndarray  # (T + 1,) bool: whether step t is checked
    loss: float | None
    points: np.ndarray | None
    radius: float
    # many points in 2-D: cells of side 2 × radius, each holding at most one point (index, -1)
    cells: tuple[float, float, np.ndarray] | None = None

    @classmethod
    def make(
        cls, steps: np.ndarray, t_steps: int, loss: float | None, points: Any, radius: float
    ) -> Checks:
        at = np.zeros(t_steps + 1, dtype=bool)
        at[steps] = True
        cells = None
        if points is not None and points.shape[0] > GRID_POINTS and points.shape[1] == 2:
            side = 2 * radius
            lo = points.min(axis=0) - 2 * side
            span = np.ceil((points.max(axis=0) + 2 * side - lo) / side).astype(np.int64)
            if span.prod() <= MAX_CELLS:
                table = np.full(span, -1, dtype=np.int64)
                ij = np.floor((points - lo) / side).astype(np.int64)
                if len(np.unique(ij, axis=0)) == len(points):  # one point per cell at most
                    table[ij[:, 0], ij[:, 1]] = np.arange(len(points))
                    cells = (float(lo[0]), float(lo[1]), table)
        return cls(steps, at, loss, points, radius, cells)

    def near(self, coords: Any) -> np.ndarray:
        """(n,) index of the nearest of ``points`` within ``radius`` of each point, -1 if none;
        coords: D arrays (n,), one per coordinate (an engine's rows or a recorded state's
        columns: the same arithmetic either way, so every engine gets the same answer). Many
        points in 2-D: a cell's side is twice the radius, so only the points of the 2 × 2
        cells nearest each point (its own and its neighbours towards the nearer edges) can be
        within the radius, and only those are measured."""
        assert self.points is not None
        n = len(coords[0])
        out = np.full(n, -1, dtype=np.int64)
        best = np.full(n, self.radius * self.radius)
        d2, part = np.empty(n), np.empty(n)
        closer = np.empty(n, dtype=bool)
        if self.cells is not None:
            x0, y0, table = self.cells
            nx, ny = table.shape
            flat = table.ravel()
            side = 2 * self.radius
            with np.errstate(invalid="ignore"):
                fx = np.clip((coords[0] - x0) / side, -2.0, nx + 1.0)
                fy = np.clip((coords[1] - y0) / side, -2.0, ny + 1.0)
            cx, cy = np.floor(fx), np.floor(fy)
            # the neighbour towards the nearer edge: -1 below the cell's middle, else +1
            sx = np.where(fx - cx < 0.5, -1, 1)
            sy = np.where(fy - cy < 0.5, -1, 1)
            cx, cy = cx.astype(np.int64), cy.astype(np.int64)
            px, py = self.points[:, 0], self.points[:, 1]
            for ix in (cx, cx + sx):
                in_x = (ix >= 0) & (ix < nx)
                for iy in (cy, cy + sy):
                    inside = in_x & (iy >= 0) & (iy < ny)
                    cell = np.where(inside, ix * ny + iy, 0)
                    m = np.where(inside, flat.take(cell), -1)
                    mm = np.maximum(m, 0)
                    np.subtract(coords[0], px.take(mm), out=d2)
                    np.multiply(d2, d2, out=d2)
                    np.subtract(coords[1], py.take(mm), out=part)
                    np.multiply(part, part, out=part)
                    np.add(d2, part, out=d2)
                    np.less_equal(d2, best, out=closer)
                    closer &= m >= 0
                    _keep_nearer(out, best, m, d2, closer)
            return out
        for j, centre in enumerate(self.points.tolist()):
            np.subtract(coords[0], centre[0], out=d2)
            np.multiply(d2, d2, out=d2)
            for i in range(1, len(centre)):
                np.subtract(coords[i], centre[i], out=part)
                np.multiply(part, part, out=part)
                np.add(d2, part, out=d2)
            np.less_equal(d2, best, out=closer)  # NaN is never near
            _keep_nearer(out, best, j, d2, closer)
        return out


def _keep_nearer(
    out: np.ndarray, best: np.ndarray, index: Any, d2: np.ndarray, closer: np.ndarray
) -> None:
    """Where ``closer``: the point ``index`` (a number or (n,)) at squared distance d2."""
    np.copyto(out, index, where=closer)
    np.copyto(best, d2, where=closer)


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
    checks: Checks | None = None  # what the engine checks during the run, and when
    params: np.ndarray = field(init=False)  # (R, K, D)
    diverged_at: np.ndarray = field(init=False)  # (K,)
    exits: np.ndarray = field(init=False)  # (K, D)
    reached_at: np.ndarray = field(init=False)  # (K,) first check at or below checks.loss
    settled_at: np.ndarray = field(init=False)  # (K,) check from which it stays near ...
    settled_near: np.ndarray = field(init=False)  # (K,) ... this one of checks.points
    lr_out: np.ndarray | None = None

    def __post_init__(self) -> None:
        k, d = self.x0.shape
        self.params = np.zeros((len(self.rec), k, d))
        self.diverged_at = np.full(k, -1, dtype=np.int64)
        self.reached_at = np.full(k, -1, dtype=np.int64)
        self.settled_at = np.full(k, -1, dtype=np.int64)
        self.settled_near = np.full(k, -1, dtype=np.int64)
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

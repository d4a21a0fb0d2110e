"""One coordinate's step-by-step trace, replayed from the gradients its run used.

The scalar engine records a rule's named trace (the gradient, every state buffer it changes,
its derived quantities such as Adam's bias corrections, the update) for a handful of runs on a
2-D surface. A network has D parameters and runs on the NumPy engine, which keeps no trace.
But every gradient rule is written on one lane (one coordinate of one run, see
:mod:`optimizers.base`): coordinate i's numbers depend only on its own gradients, its own
parameter, the step number and the learning rate of each step. So the trace of coordinate i is
the scalar engine's traced loop for ONE coordinate, fed with that coordinate's gradients.

Where the gradients come from: ``minimize(..., observe=...)`` hands over the gradient of every
step as the run computes it (:class:`optimizers.engines.vector.Observation`), and the learning
rate of every step is the run's ``Trajectory.lr``. The replay then reproduces the run's values
of that coordinate exactly (the engines agree to the bit on the same operations; the tests hold
the replayed parameters equal to the run's).

Rules that read the loss of the whole parameter vector (random search, finite differences) have
no per-coordinate replay: :func:`trace_lane` refuses them with a ValueError that says so.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizers import ir
from optimizers.base import Optimizer
from optimizers.engines import scalar
from optimizers.validate import check_hypers, resolve

WHOLE_VECTOR_OPS = ("value", "normal", "fd_grad")


@dataclass(frozen=True)
class LaneTrace:
    """One coordinate's replay over T steps.

    params (T + 1,): the coordinate before step 1 and after every step; trace: name -> (T,),
    step t at index t - 1 (the gradient, every state buffer the rule changes, its derived
    quantities, "update"); initial: each traced state buffer before step 1. ``steps`` is how
    many steps were replayed (fewer than given when the arithmetic stopped: a non-finite step).
    """

    optimizer: str
    params: np.ndarray
    trace: dict[str, np.ndarray]
    initial: dict[str, float]
    steps: int


def lane_separable(opt: Optimizer, settings: dict[str, Any]) -> bool:
    """Whether ``opt`` with these settings updates each coordinate from its own gradient only."""
    if opt.uses != "grad":
        return False
    kern = scalar.kernel(opt, settings, 1, True)
    need = ir.live(kern.traced.graph, [kern.traced.param, *kern.traced.state.values()])
    ops = kern.traced.graph.ops
    return not any(need[i] and op.kind in WHOLE_VECTOR_OPS for i, op in enumerate(ops))


def trace_lane(
    optimizer: str | Optimizer,
    grads: Any,
    lrs: Any,
    x0: float = 0.0,
    *,
    batched: bool = False,
    **hyperparams: Any,
) -> LaneTrace:
    """Replay one coordinate: its gradients (T,), the learning rate of every step (T,), its
    start value and the run's hyperparameters (torch.optim keywords, scalars).

    ``batched``: whether the run used mini-batches (a rule may read it). ValueError for a rule
    that needs the whole parameter vector, for mismatched lengths and for bad settings.
    """
    opt = resolve(optimizer)
    g = np.asarray(grads, dtype=np.float64).reshape(-1)
    lr = np.asarray(lrs, dtype=np.float64).reshape(-1)
    if g.shape != lr.shape:
        raise ValueError(
            f"grads and lrs must have the same length T; got {g.shape[0]} and {lr.shape[0]}"
        )
    hyp = check_hypers(opt, hyperparams, 1)
    if any(isinstance(v, np.ndarray) for v in hyp.values()):
        raise ValueError("trace_lane replays one run: every hyperparameter must be a scalar")
    settings = dict(hyp)
    if not lane_separable(opt, settings):
        raise ValueError(
            f"{opt.title} changes every parameter from the loss of the whole parameter vector, "
            "so one coordinate cannot be replayed on its own"
        )
    kern = scalar.kernel(opt, settings, 1, True, batched=bool(batched))
    feed = iter(g.tolist())

    def grad(_p: float) -> tuple[float]:
        return (next(feed),)

    def no_value(_t: int) -> Any:
        raise ValueError("a lane-separable rule reads no loss")

    path: list[float] = [float(x0)]
    rows: list[tuple[float, ...]] = []
    # a non-finite step (Python floats raise where NumPy gives inf): the replay ends there
    with contextlib.suppress(ArithmeticError, ValueError):
        kern.fn([float(x0)], settings, grad, no_value, lr.tolist(), path.extend, [], rows)
    n = min(len(rows), len(path) - 1)  # steps that completed
    trace: dict[str, np.ndarray] = {}
    col = 0
    table = np.array(rows[:n], dtype=np.float64).reshape(n, -1)
    for name, width in kern.layout:
        trace[name] = table[:, col]
        col += width
    initial = {
        f: float(v)
        for f, v in ir.initial_state(kern.traced, settings).items()
        if f in dict(kern.layout)
    }
    return LaneTrace(opt.name, np.array(path[: n + 1]), trace, initial, n)

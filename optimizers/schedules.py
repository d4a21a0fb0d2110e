"""Learning-rate schedules, matching torch.optim.lr_scheduler step for step.

The learning rate used at update t (t = 1..T) is the schedule's value after t − 1 calls of
``scheduler.step()``, exactly as in the usual torch loop
``opt.step(); sched.step()``. The recurrences below are torch's "chainable" forms (each value
computed from the previous one), written once with plain arithmetic so that the same code runs on a
Python float (one run) and on a (K,) array (one base learning rate per run).

ReduceLROnPlateau is stepped on the full-batch loss at the position *before* each update
(``loss = f(θ); opt.step(); sched.step(loss)``), with one independent state per run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from optimizers.base import Hyper

LR = Any  # a Python float or a (K,) float64 array


def _positive_int(name: str, help_: str, default: int, label: str, high: int = 100_000) -> Hyper:
    return Hyper(name, default, 1, high, False, help_, kind="int", label=label)


def _gamma(default: float, help_: str, label: str) -> Hyper:
    return Hyper(
        "gamma", default, 0.0, 1.0, False, help_, symbol=r"\gamma", open_low=True, label=label
    )


@dataclass(frozen=True)
class Schedule:
    """Base class: a constant learning rate (torch: no scheduler at all)."""

    name: ClassVar[str] = "constant"
    title: ClassVar[str] = "Constant"
    summary: ClassVar[str] = "the learning rate never changes"
    tex: ClassVar[str] = r"\eta_t = \eta_0"
    torch_class: ClassVar[str | None] = None
    hypers: ClassVar[tuple[Hyper, ...]] = ()
    uses_loss: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for h in self.hypers:
            value = h.check(getattr(self, h.name), f"schedule {self.name!r}")
            if np.ndim(value) != 0:
                raise ValueError(f"schedule {self.name!r}: {h.name!r} must be a scalar")
            object.__setattr__(self, h.name, value)

    @property
    def constant(self) -> bool:
        return type(self) is Schedule

    def advance(self, lr: LR, _base: LR, _epoch: int) -> LR:
        """The learning rate after the ``epoch``-th ``step()`` call, from the previous one."""
        return lr

    def sequence(self, base: LR, steps: int) -> list[Any]:
        """Learning rates used at updates 1..T (floats, or (K,) arrays for an array base)."""
        out = [base]
        lr = base
        for epoch in range(1, steps):
            lr = self.advance(lr, base, epoch)
            out.append(lr)
        return out[:steps]

    def params(self) -> dict[str, Any]:
        return {h.name: getattr(self, h.name) for h in self.hypers}


Constant = Schedule


@dataclass(frozen=True)
class StepLR(Schedule):
    step_size: int = 10
    gamma: float = 0.1
    name: ClassVar[str] = "step"
    title: ClassVar[str] = "Step decay"
    summary: ClassVar[str] = "multiply the learning rate by γ every step_size steps"
    tex: ClassVar[str] = r"\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}"
    torch_class: ClassVar[str | None] = "torch.optim.lr_scheduler.StepLR"
    hypers: ClassVar[tuple[Hyper, ...]] = (
        _positive_int("step_size", "steps between two decays", 10, "Steps between decays"),
        _gamma(0.1, "factor applied at each decay", "Decay factor"),
    )

    def advance(self, lr: LR, _base: LR, epoch: int) -> LR:
        return lr * self.gamma if epoch % self.step_size == 0 else lr


@dataclass(frozen=True)
class ExponentialLR(Schedule):
    gamma: float = 0.99
    name: ClassVar[str] = "exponential"
    title: ClassVar[str] = "Exponential decay"
    summary: ClassVar[str] = "multiply the learning rate by γ after every step"
    tex: ClassVar[str] = r"\eta_t = \eta_0\,\gamma^{t}"
    torch_class: ClassVar[str | None] = "torch.optim.lr_scheduler.ExponentialLR"
    hypers: ClassVar[tuple[Hyper, ...]] = (
        _gamma(0.99, "factor applied after every step", "Decay factor per step"),
    )

    def advance(self, lr: LR, _base: LR, _epoch: int) -> LR:
        return lr * self.gamma


@dataclass(frozen=True)
class CosineAnnealingLR(Schedule):
    T_max: int = 100
    eta_min: float = 0.0
    name: ClassVar[str] = "cosine"
    title: ClassVar[str] = "Cosine annealing"
    summary: ClassVar[str] = (
        "follow half a cosine from the base rate down to eta_min over T_max steps"
    )
    tex: ClassVar[str] = (
        r"\eta_t = \eta_{min} + \tfrac12(\eta_0-\eta_{min})\left(1+\cos\frac{\pi t}{T_{max}}\right)"
    )
    torch_class: ClassVar[str | None] = "torch.optim.lr_scheduler.CosineAnnealingLR"
    hypers: ClassVar[tuple[Hyper, ...]] = (
        _positive_int(
            "T_max", "steps of the half cosine (then it climbs back)", 100, "Steps to the bottom"
        ),
        Hyper(
            "eta_min",
            0.0,
            0.0,
            10.0,
            False,
            "smallest learning rate",
            symbol=r"\eta_{min}",
            label="Lowest learning rate",
        ),
    )

    def advance(self, lr: LR, base: LR, epoch: int) -> LR:
        t_max, eta_min = self.T_max, self.eta_min
        if (epoch - 1 - t_max) % (2 * t_max) == 0:
            return lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        ratio = (1 + math.cos(math.pi * epoch / t_max)) / (
            1 + math.cos(math.pi * (epoch - 1) / t_max)
        )
        return ratio * (lr - eta_min) + eta_min


class PlateauState(NamedTuple):
    """Per-run state of ReduceLROnPlateau: floats for one run, (K,) arrays for many."""

    lr: Any
    best: Any
    bad: Any  # epochs without improvement
    cooldown: Any  # remaining cooldown epochs


@dataclass(frozen=True)
class ReduceLROnPlateau(Schedule):
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8
    name: ClassVar[str] = "plateau"
    title: ClassVar[str] = "Reduce on plateau"
    summary: ClassVar[str] = (
        "multiply the learning rate by factor when the loss has not improved for patience steps"
    )
    tex: ClassVar[str] = r"\eta \leftarrow \max(\eta\cdot f,\ \eta_{min})\ \text{after a plateau}"
    torch_class: ClassVar[str | None] = "torch.optim.lr_scheduler.ReduceLROnPlateau"
    uses_loss: ClassVar[bool] = True
    hypers: ClassVar[tuple[Hyper, ...]] = (
        Hyper(
            "factor",
            0.1,
            0.0,
            1.0,
            False,
            "multiply the rate by this on a plateau",
            open_low=True,
            open_high=True,
            label="Reduction factor",
        ),
        Hyper(
            "patience",
            10,
            0,
            100_000,
            False,
            "steps without improvement tolerated",
            kind="int",
            label="Patience (steps)",
        ),
        Hyper(
            "threshold",
            1e-4,
            0.0,
            1.0,
            True,
            "smallest change that counts as improvement",
            label="Improvement threshold",
        ),
        Hyper(
            "threshold_mode",
            "rel",
            None,
            None,
            False,
            "rel: the improvement is relative to the best loss; abs: absolute",
            kind="choice",
            choices=("rel", "abs"),
            label="Threshold measured as",
        ),
        Hyper(
            "cooldown",
            0,
            0,
            100_000,
            False,
            "steps to wait after a reduction",
            kind="int",
            label="Cooldown (steps)",
        ),
        Hyper(
            "min_lr",
            0.0,
            0.0,
            10.0,
            False,
            "the rate never goes below this",
            label="Lowest learning rate",
        ),
        Hyper(
            "eps",
            1e-8,
            0.0,
            1.0,
            True,
            "reductions smaller than this are skipped",
            label="Smallest reduction",
        ),
    )

    def start(self, base: LR) -> PlateauState:
        if isinstance(base, np.ndarray):
            n = base.shape
            return PlateauState(base.copy(), np.full(n, np.inf), np.zeros(n), np.zeros(n))
        return PlateauState(base, math.inf, 0, 0)

    def feed(self, s: PlateauState, loss: float) -> PlateauState:
        """One ``scheduler.step(loss)`` on one run (Python floats)."""
        lr, best, bad, cool = s
        mark = (
            best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
        )
        if loss < mark:
            best, bad = loss, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > self.patience:
            new = max(lr * self.factor, self.min_lr)
            if lr - new > self.eps:
                lr = new
            cool, bad = self.cooldown, 0
        return PlateauState(lr, best, bad, cool)

    def feed_many(self, s: PlateauState, loss: np.ndarray) -> PlateauState:
        """One ``scheduler.step(loss)`` on each of n runs: the same rules with (n,) arrays."""
        lr, best, bad, cool = s
        if self.threshold_mode == "rel":
            mark = best * (1.0 - self.threshold)
        else:
            mark = best - self.threshold
        better = loss < mark
        best = np.where(better, loss, best)
        bad = np.where(better, 0.0, bad + 1.0)
        in_cool = cool > 0
        cool = np.where(in_cool, cool - 1.0, cool)
        bad = np.where(in_cool, 0.0, bad)
        reduce = bad > self.patience
        new = np.maximum(lr * self.factor, self.min_lr)
        lr = np.where(reduce & (lr - new > self.eps), new, lr)
        cool = np.where(reduce, float(self.cooldown), cool)
        bad = np.where(reduce, 0.0, bad)
        return PlateauState(lr, best, bad, cool)


SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (Schedule, StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau)
}


def names() -> list[str]:
    """Schedule names in UI order."""
    return list(SCHEDULES)


def get(name: str) -> type[Schedule]:
    """The schedule class registered under ``name`` (its ``hypers`` drive the UI)."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {name!r}")
    return SCHEDULES[name]


def make(name: str, **params: Any) -> Schedule:
    """Build a schedule by name; unknown or out-of-range parameters raise ValueError."""
    cls = get(name)
    allowed = {h.name for h in cls.hypers}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"schedule {name!r} has no parameter {unknown[0]!r}; allowed: "
            f"{', '.join(sorted(allowed)) or 'none'}"
        )
    return cls(**params)

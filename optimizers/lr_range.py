"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural
Networks", §3.3; fastai's ``lr_find``). Pure NumPy.

One run whose learning rate grows exponentially from ``lr_min`` to ``lr_max`` over T steps:
step t (t = 1..T) uses lr_t = lr_min · (lr_max / lr_min)^((t − 1) / (T − 1)). The loss after
each step, drawn against the learning rate of that step on a log axis, is flat while the rate
is too small to move, falls once it is large enough, and shoots up when it is too large.

The suggestion follows fastai's rules, written here and stated by the app:

* **steepest**: the learning rate where the loss falls fastest per decade of learning rate
  (fastai's ``steep``). It is read on the lowest loss so far, so that momentum's swings (a
  full-batch loss on a surface goes up and down without any noise) do not count as descent;
* **minimum ÷ 10**: one tenth of the learning rate at the lowest loss (fastai's ``minimum``,
  Smith's rule of thumb: an order of magnitude below where it stops improving).

Both are read only up to where the loss rises above 4 × its lowest value so far (fastai stops
there) and above its starting value, so that a swing of momentum does not end the test early.
With mini-batches the losses are first smoothed by a bias-corrected exponential moving average
with β = 0.98 (fastai's); a full-batch loss has no noise and is used as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from optimizers.schedules import Schedule

STOP_FACTOR = 4.0  # the test stops reading where the loss exceeds 4 x its lowest value
SMOOTHING = 0.98  # fastai's moving-average factor for noisy (mini-batch) losses
RULE = (
    "steepest: the learning rate where the lowest loss so far falls fastest per decade of "
    "learning rate; minimum ÷ 10: a tenth of the learning rate at the lowest loss. Both are "
    "read only up to where the loss first rises above 4 × its lowest value so far and above "
    "its starting value (the run is diverging)."
)


@dataclass(frozen=True)
class RangeTestLR(Schedule):
    """lr_t = lr_min · ratio^((t − 1)/(T − 1)) for t = 1..T, with ``lr_min`` the base rate.

    Not in the schedule registry (a test, not a way to train); ``optimizers.simulate`` takes it
    like any :class:`~optimizers.schedules.Schedule`.
    """

    ratio: float = 1e6  # lr_max / lr_min
    steps: int = 100
    name: ClassVar[str] = "range_test"
    title: ClassVar[str] = "Learning-rate range test"
    summary: ClassVar[str] = "grow the learning rate exponentially from lr_min to lr_max"
    tex: ClassVar[str] = r"\eta_t = \eta_{min}\,(\eta_{max}/\eta_{min})^{(t-1)/(T-1)}"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.ratio) and self.ratio >= 1.0):
            raise ValueError(f"ratio must be a finite number >= 1; got {self.ratio!r}")
        if not (isinstance(self.steps, int) and self.steps >= 2):
            raise ValueError(f"steps must be an integer >= 2; got {self.steps!r}")

    def advance(self, lr: Any, _base: Any, _epoch: int) -> Any:
        return lr * self.ratio ** (1.0 / (self.steps - 1))

    def sequence(self, base: Any, steps: int) -> list[Any]:
        """Exact powers (no drift from repeated multiplication)."""
        return [base * self.ratio ** (i / (self.steps - 1)) for i in range(steps)]

    def params(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "steps": self.steps}


def schedule(lr_min: float, lr_max: float, steps: int) -> tuple[float, RangeTestLR]:
    """(base learning rate, schedule) for ``optimizers.simulate``; ValueError on bad input."""
    if not (math.isfinite(lr_min) and math.isfinite(lr_max) and 0 < lr_min < lr_max):
        raise ValueError(f"need 0 < lr_min < lr_max; got lr_min={lr_min!r}, lr_max={lr_max!r}")
    return float(lr_min), RangeTestLR(ratio=lr_max / lr_min, steps=int(steps))


def smooth(losses: np.ndarray, beta: float = SMOOTHING) -> np.ndarray:
    """Bias-corrected exponential moving average (fastai's): (T,) -> (T,); β = 0: unchanged."""
    x = np.asarray(losses, dtype=np.float64)
    if beta <= 0:
        return x.copy()
    out = np.empty_like(x)
    avg = 0.0
    for i, v in enumerate(x):
        avg = beta * avg + (1.0 - beta) * v
        out[i] = avg / (1.0 - beta ** (i + 1))
    return out


@dataclass(frozen=True)
class Suggestion:
    """What the range test suggests; indices into the (lrs, losses) it was read from."""

    steepest: float | None  # lr at the most negative slope
    minimum_tenth: float | None  # lr at the lowest loss, / 10
    best_lr: float | None  # lr at the lowest loss
    stop: int  # number of points read (up to the first loss > 4 x lowest)
    steepest_index: int | None
    best_index: int | None


def suggest(lrs: np.ndarray, losses: np.ndarray, *, stop_factor: float = STOP_FACTOR) -> Suggestion:
    """Read the range test's curve, lrs (T,) and losses (T,), by the rules of :data:`RULE`.

    A non-finite loss (a diverged run) ends the curve. Heights are read above the curve's own
    floor when it goes below zero (a surface whose minimum value is negative), so the rules do
    not depend on where zero is.
    """
    lr = np.asarray(lrs, dtype=np.float64)
    loss = np.asarray(losses, dtype=np.float64)
    if lr.shape != loss.shape or lr.ndim != 1:
        raise ValueError(f"lrs and losses must be (T,) arrays; got {lr.shape} and {loss.shape}")
    bad = ~np.isfinite(loss) | ~np.isfinite(lr) | (lr <= 0)
    n = int(np.argmax(bad)) if bad.any() else len(loss)
    if n < 2:
        return Suggestion(None, None, None, n, None, None)
    height = loss[:n] - min(0.0, float(loss[:n].min()))
    lowest = np.minimum.accumulate(height)
    over = (height > stop_factor * lowest) & (height > height[0])
    stop = max(int(np.argmax(over)) if over.any() else n, 2)
    best = int(np.argmin(height[:stop]))
    slope = np.diff(lowest[:stop]) / np.diff(np.log10(lr[:stop]))
    steep = int(np.argmin(slope)) if slope.size and float(slope.min()) < 0 else None
    return Suggestion(
        steepest=None if steep is None else float(lr[steep]),
        minimum_tenth=float(lr[best]) / 10.0,
        best_lr=float(lr[best]),
        stop=stop,
        steepest_index=steep,
        best_index=best,
    )

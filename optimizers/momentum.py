"""The three momentum conventions of the lessons, and how to convert between them.

With g_t the gradients and no dampening, after t steps each convention's velocity is a
geometric sum S_t = Σ_{i≤t} β^{t−i} g_i times a constant, and the step taken is:

=========== ============================ =====================
convention  velocity                     step
=========== ============================ =====================
torch       v = β v + g       = S_t      θ −= η_torch · v
ema         v = β v + (1−β) g = (1−β)S_t θ −= η_ema · v
lr_inside   v = β v + η g     = η S_t    θ −= v
=========== ============================ =====================

So the three give the same path when η_torch = (1−β) η_ema = η_lr_inside (for lr_inside only
with a constant learning rate: it folds each step's η into the velocity).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizers.sgd import CONVENTION_TITLES, CONVENTIONS

__all__ = ["CONVENTIONS", "CONVENTION_TITLES", "equivalent_lr"]


def _to_torch_factor(beta: Any, convention: str) -> Any:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}; got {convention!r}")
    return (1.0 - beta) if convention == "ema" else 1.0


def equivalent_lr(lr: Any, beta: Any, from_: str, to: str) -> Any:
    """The learning rate in convention ``to`` that reproduces ``lr`` given in ``from_``.

    ``lr`` and ``beta`` are floats or (K,) arrays; beta must be in [0, 1).

    >>> equivalent_lr(0.01, 0.9, "torch", "ema")  # doctest: +ELLIPSIS
    0.1000...
    """
    b = np.asarray(beta, dtype=np.float64)
    if not np.all((b >= 0.0) & (b < 1.0)):
        raise ValueError(f"beta must be in [0, 1); got {beta!r}")
    out = lr * _to_torch_factor(beta, from_) / _to_torch_factor(beta, to)
    return float(out) if np.ndim(out) == 0 else out

"""Lion (EvoLved Sign Momentum): every coordinate moves by exactly η, in the sign of a blend of
momentum and gradient.

    c = β1 m + (1 - β1) g
    θ <- θ (1 - η λ) - η sign(c)
    m <- β2 m + (1 - β2) g

torch.optim has no Lion; this follows the paper's Algorithm 2 and its reference implementation
(google/automl lion, lucidrains/lion-pytorch) operation by operation; the test oracle is that
loop written with torch tensors.

Reference: Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms", NeurIPS.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from optimizers.base import (
    Optimizer,
    Rule,
    Step,
    Symbol,
    beta1_hyper,
    beta2_hyper,
    gradient_lines,
    lr_hyper,
    wd_hyper,
)


class LionState(NamedTuple):
    exp_avg: Any


def init(_h: Any) -> LionState:
    return LionState(0.0)


def step(p: Any, g: Any, s: LionState, h: Any, _t: Any, lr: Any, xp: Any) -> Step:
    p = p * (1.0 - lr * h.weight_decay)
    c = s.exp_avg * h.beta1 + (1.0 - h.beta1) * g
    m = s.exp_avg * h.beta2 + (1.0 - h.beta2) * g
    return Step(p + -lr * xp.sign(c), LionState(m), {"blend": c})


def algorithm(h: Any) -> list[str]:
    lines = gradient_lines(h, decoupled=True)
    return [
        *lines,
        r"<blend>_t \leftarrow <beta1>\,<exp_avg>_{t-1} + (1-<beta1>)\,<grad>_t",
        r"<param>_t \leftarrow <param>_{t-1} - <lr>\,\mathrm{sign}(<blend>_t)",
        r"<exp_avg>_t \leftarrow <beta2>\,<exp_avg>_{t-1} + (1-<beta2>)\,<grad>_t",
    ]


RULE = Rule(
    state=LionState,
    init=init,
    step=step,
    algorithm=algorithm,
    symbols={
        "exp_avg": Symbol("m", "the momentum: a running mean of the gradients", "state"),
        "blend": Symbol("c", "the blend of momentum and gradient whose sign is the step"),
    },
)

LION = Optimizer(
    name="lion",
    title="Lion",
    summary="every coordinate moves by exactly lr, in the sign of a blend of momentum and gradient",
    hypers=(lr_hyper(1e-4), beta1_hyper(0.9), beta2_hyper(0.99), wd_hyper(0.0, decoupled=True)),
    rule=RULE,
    reference="Chen et al. (2023), Symbolic Discovery of Optimization Algorithms (Lion), NeurIPS",
    torch_class=None,
    notes="Not in the lessons and not in torch.optim: the paper's Algorithm 2.",
)

OPTIMIZERS = (LION,)

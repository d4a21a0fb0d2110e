"""The two strategies of the lesson “Neural Nets: Loss and Optimization” that need no
analytic gradient.

random_search: a local random search, the (1+1) evolution strategy::

    z ~ N(0, I);  c = θ + σ z;  θ <- c if L(c) < L(θ)

finite_difference: gradient descent on a central-difference gradient::

    g_i = (L(θ + h e_i) - L(θ - h e_i)) / (2h);  θ <- θ - η g

With mini-batches both compare or difference losses of the SAME batch. The proposals come from
``np.random.default_rng([seed, 1])``, one (D, K) draw per step; the batches from the seed itself.

References: Rastrigin (1963), "The convergence of the random search method"; Rechenberg (1973)
(the (1+1)-ES); finite differences: Nocedal & Wright, Numerical Optimization, section 8.1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from optimizers.base import Hyper, Optimizer, Rule, Step, Symbol, lr_hyper


class NoState(NamedTuple):
    """No state besides the position."""


def init(_h: Any) -> NoState:
    return NoState()


class SearchState(NamedTuple):
    """The loss at the current point: without mini-batches it is the loss of the last accepted
    point, so each step evaluates the loss once (the proposal's)."""

    loss: Any


def search_init(_h: Any) -> SearchState:
    return SearchState(float("nan"))


def random_search_step(
    p: Any, _g: Any, s: SearchState, h: Any, t: Any, sigma: Any, xp: Any
) -> Step:
    z = xp.normal()
    candidate = p + sigma * z
    # with mini-batches both losses are of this step's batch; else the current point's loss
    # is known from the step before
    here = xp.value(p) if h.batched else xp.where(t == 1.0, xp.value(p), s.loss)
    there = xp.value(candidate)
    accept = there < here
    trace = {
        "noise": z,
        "candidate": candidate,
        "loss": here,
        "candidate_loss": there,
        "accepted": xp.where(accept, 1.0, 0.0),
    }
    kept = s if h.batched else SearchState(xp.where(accept, there, here))
    return Step(xp.where(accept, candidate, p), kept, trace)


def random_search_algorithm(_h: Any) -> list[str]:
    return [
        r"<noise>_t \sim \mathcal{N}(0, I),\quad "
        r"<candidate>_t \leftarrow <param>_{t-1} + <sigma>\,<noise>_t",
        r"<loss>_t = L(<param>_{t-1}),\quad <candidate_loss>_t = L(<candidate>_t)",
        r"<param>_t \leftarrow <candidate>_t \text{ if } <candidate_loss>_t < <loss>_t "
        r"\text{ else } <param>_{t-1}",
    ]


def fd_step(p: Any, _g: Any, s: NoState, h: Any, _t: Any, lr: Any, xp: Any) -> Step:
    fd = xp.fd_grad(p, h.h)
    return Step(p + -lr * fd, s, {"fd_grad": fd})


def fd_algorithm(_h: Any) -> list[str]:
    return [
        r"<fd_grad>_{t,i} \leftarrow \frac{L(<param>_{t-1} + <h>\, e_i) - "
        r"L(<param>_{t-1} - <h>\, e_i)}{2<h>}",
        r"<param>_t \leftarrow <param>_{t-1} - <lr>\,<fd_grad>_t",
    ]


RANDOM_RULE = Rule(
    state=SearchState,
    init=search_init,
    run_fields=("loss",),
    step=random_search_step,
    algorithm=random_search_algorithm,
    symbols={
        "noise": Symbol("z", "a standard normal draw per coordinate"),
        "candidate": Symbol("c", "the random proposal"),
        "loss": Symbol("L", "the loss at the current point (this step's batch)"),
        "candidate_loss": Symbol(r"L^{c}", "the loss at the proposal"),
        "accepted": Symbol("a", "1 if the proposal was taken, else 0"),
    },
    uses="value",
    draws_normal=True,
)
FD_RULE = Rule(
    state=NoState,
    init=init,
    step=fd_step,
    algorithm=fd_algorithm,
    symbols={"fd_grad": Symbol(r"\tilde{g}", "the central-difference gradient")},
    uses="value",
)

SIGMA = Hyper(
    "sigma",
    0.1,
    0.0,
    10.0,
    True,
    "standard deviation of each random proposal",
    symbol=r"\sigma",
    role="lr",
)

H = Hyper(
    "h",
    1e-4,
    0.0,
    1.0,
    True,
    "finite-difference step",
    symbol="h",
    open_low=True,
)

RANDOM_SEARCH = Optimizer(
    name="random_search",
    title="Random search",
    summary="propose a random nearby point; keep it only if the loss goes down",
    hypers=(SIGMA,),
    rule=RANDOM_RULE,
    reference="Rastrigin (1963); Rechenberg (1973), the (1+1) evolution strategy",
    torch_class=None,
    notes=(
        "The lesson “Neural Nets: Loss and Optimization” samples parameters anywhere and keeps "
        "the best; here proposals are local (around the current point) so the path can be "
        "drawn. Uses no gradient."
    ),
)

FINITE_DIFFERENCE = Optimizer(
    name="finite_difference",
    title="Finite-difference GD",
    summary="gradient descent on a numerical gradient: two extra loss evaluations per coordinate",
    hypers=(lr_hyper(1e-3), H),
    rule=FD_RULE,
    reference="Nocedal & Wright, Numerical Optimization (2006), section 8.1",
    torch_class=None,
    notes=(
        "The numeric gradient of the lesson “Neural Nets: Loss and Optimization” (central "
        "differences, error O(h²)); with h small the path equals plain GD's to many digits."
    ),
)

OPTIMIZERS = (RANDOM_SEARCH, FINITE_DIFFERENCE)

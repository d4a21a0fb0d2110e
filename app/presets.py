"""One-click lessons: complete, reproducible races with a note on what to watch, by topic.

Each :class:`Preset` is a complete page state (an :class:`ExploreState` for Explore's
lessons in :data:`PRESETS`, a :class:`MapsState` for the Maps page's in :data:`MAP_PRESETS`, a
:class:`NetworksState` for the Networks page's in :data:`NETWORK_PRESETS`) with a title, two or
three sentences on what to watch, a topic and the page that opens it. The Lessons page
(app/views/lessons.py) shows every lesson (:data:`LESSONS`) grouped by :data:`TOPICS`; each
page offers its own (:func:`for_page`) in its Lessons popover. Pure Python: no streamlit.

Comparing one optimizer with itself: a race compares optimizers, and ``ExploreState.hyper``
holds one dict per optimizer name, so "sgd three times with different batch sizes" cannot be
written as three optimizers. The state has two fields for that, ``compare_lrs`` and
``compare_batch_sizes``, and the page builds its runs with :func:`run_variants`: one
:class:`Variant` per run to draw, in legend order, each with a ``label`` (the key of the runs
dict, the legend entry and the colour key), the ``optimizer`` name, ``overrides`` applied ON
TOP of that optimizer's resolved hyperparameters (``{"lr": 0.5}`` for a learning-rate
variant) and the ``batch_size`` for ``optimizers.simulate`` (``None`` = full batch). With both
fields empty there is one variant per optimizer, labelled with its name. Labels look like
``sgd@lr=0.5``, ``sgd@B=1`` (full batch written as its size) and ``sgd@lr=0.5,B=1``.

Presets never use ``shared_lr`` or the global beta/rho/beta2 controls, so a preset's runs are
``simulate(surface, v.optimizer, starts, state.steps, batch_size=v.batch_size, seed=state.seed,
**{**state.hyper.get(v.optimizer, {}), **v.overrides})``, which the tests run and check.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from app.state.codec import Scalar, fmt
from app.state.explore import ExploreState
from app.state.maps import MapsState
from app.state.networks import NetworksState


@dataclass(frozen=True)
class Variant:
    """One run the page draws: ``label`` keys the runs dict, legend and colour."""

    label: str
    optimizer: str
    overrides: dict[str, Scalar] = field(default_factory=dict)
    batch_size: int | None = None


def run_variants(state: ExploreState) -> list[Variant]:
    """Every run of ``state``: each optimizer times each compared lr times each batch size."""
    lrs: tuple[float | None, ...] = state.compare_lrs or (None,)
    sizes: tuple[int | None, ...] = state.compare_batch_sizes or (state.batch_size,)
    out = []
    for opt in state.optimizers:
        for lr in lrs:
            for b in sizes:
                tags = []
                if lr is not None:
                    tags.append(f"lr={fmt(lr)}")
                if state.compare_batch_sizes:
                    tags.append(f"B={b}")
                label = opt + ("@" + ",".join(tags) if tags else "")
                over: dict[str, Scalar] = {} if lr is None else {"lr": lr}
                out.append(Variant(label, opt, over, b))
    return out


def label_optimizer(label: str) -> str:
    """The optimizer name inside a run label (``"sgd@B=1"`` -> ``"sgd"``)."""
    return label.split("@", 1)[0]


@dataclass(frozen=True)
class Topic:
    """A group of lessons for one part of a course."""

    key: str
    title: str
    blurb: str


TOPICS: tuple[Topic, ...] = (
    Topic(
        "learning_rate",
        "Learning rate",
        "How far one step goes: too far overshoots, too short crawls, and what the rate means "
        "for Adam.",
    ),
    Topic(
        "momentum",
        "Momentum",
        "Velocity carried from step to step: crossing a ravine, and Nesterov's look-ahead.",
    ),
    Topic(
        "adaptive",
        "Adaptive step sizes",
        "Dividing each coordinate's step by the size of its gradients: Adagrad and RMSprop.",
    ),
    Topic(
        "batches",
        "Mini-batches and noise",
        "Gradients from a few samples: noisy paths, and the lesson's regression done both ways.",
    ),
    Topic(
        "landscapes",
        "Saddles and many minima",
        "What the surface does to every optimizer: stalling at a saddle, ending in another valley.",
    ),
    Topic(
        "networks",
        "Training small networks",
        "The lesson's XOR network and TensorFlow Playground's data: batching schemes, every "
        "optimizer, dead ReLU units, a rate too large, Adam against SGD.",
    ),
)


@dataclass(frozen=True)
class Preset:
    """A lesson: a complete state, two or three sentences on what to watch, and its topic.

    ``page`` names the page that opens it (its state's page).
    """

    key: str
    title: str
    watch: str
    state: Any  # the page's state: ExploreState, MapsState or NetworksState
    topic: str = "learning_rate"
    page: str = "explore"


def _state(**kw: Any) -> ExploreState:
    return dataclasses.replace(ExploreState(), **kw)


PRESETS: tuple[Preset, ...] = (
    Preset(
        "ravine",
        "Ravine: zig-zag versus glide",
        "The valley is 25 times steeper across than along. Plain gradient descent bounces from "
        "wall to wall and creeps along the floor; with momentum the sideways pushes cancel while "
        "the push along the valley adds up, so it reaches the bottom in far fewer steps.",
        _state(
            surface="ravine",
            optimizers=("sgd", "momentum"),
            hyper={"sgd": {"lr": 0.07}, "momentum": {"lr": 0.07, "momentum": 0.6}},
            start=(-8.0, 4.0),
            steps=120,
        ),
        topic="momentum",
    ),
    Preset(
        "saddle",
        "Saddle point: who escapes, who stalls",
        "On sin x + y² the start sits a hundred-thousandth to the right of the saddle at "
        "(π/2, 0), where the slope along x is almost zero. Gradient descent slides down into the "
        "saddle and lingers there for over a hundred steps; momentum gathers speed and leaves "
        "after about forty; Adam divides by the gradient's own size, so it is off within about "
        "ten.",
        _state(
            surface="saddle_escape",
            optimizers=("sgd", "momentum", "adam"),
            hyper={
                "sgd": {"lr": 0.1},
                "momentum": {"lr": 0.1, "momentum": 0.9},
                "adam": {"lr": 0.1},
            },
            start=(1.57081, 2.0),
            steps=150,
        ),
        topic="landscapes",
    ),
    Preset(
        "learning_rate",
        "Learning rate: too large, too small, about right",
        "The same gradient descent three times on the bowl x² + y². With a step of 1.05 every "
        "update overshoots the centre by more than it started with, so the point flies off; with "
        "0.005 it crawls and after 100 steps has covered only about two thirds of the way; 0.3 "
        "lands close to the centre within a few steps.",
        _state(
            surface="quadratic_bowl",
            optimizers=("sgd",),
            compare_lrs=(1.05, 0.005, 0.3),
            start=(-4.0, 3.5),
            steps=100,
        ),
        topic="learning_rate",
    ),
    Preset(
        "adagrad_rmsprop",
        "Adagrad's shrinking step versus RMSprop",
        "Both divide each coordinate's step by a running size of its gradients, and the rates "
        "here make their first steps identical. Adagrad divides by the sum of every squared "
        "gradient since the start, so its steps only ever shrink and it stalls high on the "
        "valley's wall. RMSprop (ρ = 0.75) divides by an average of the last few, keeps its "
        "stride down the wall and along the floor, and reaches the bottom.",
        _state(
            surface="ravine",
            optimizers=("adagrad", "rmsprop"),
            hyper={"adagrad": {"lr": 0.1}, "rmsprop": {"lr": 0.05, "alpha": 0.75}},
            start=(-9.0, 9.0),
            steps=200,
        ),
        topic="adaptive",
    ),
    Preset(
        "batch_size",
        "Batch size and gradient noise",
        "SGD on a pass/fail classifier whose classes overlap, with 1, 2, 5 and all 10 points "
        "per step. The full batch takes one smooth path and only goes downhill; small batches "
        "see a different gradient each step, so their paths jitter and their loss goes up as "
        "well as down. The points never agree, so the jitter does not fade; another seed sends "
        "the small batches elsewhere.",
        _state(
            surface="logistic_regression",
            optimizers=("sgd",),
            hyper={"sgd": {"lr": 0.3}},
            compare_batch_sizes=(1, 2, 5, 10),
            start=(-1.0, 2.0),
            steps=150,
            seed=1,
        ),
        topic="batches",
    ),
    Preset(
        "many_minima",
        "Many minima: where you end depends on where you start",
        "Himmelblau's function has four valleys of equal depth around a hilltop. A ring of starts "
        "around the hilltop runs the same gradient descent; each point rolls into the valley on "
        "its side, so the swarm splits between all four minima although the rule and the step "
        "size are identical.",
        _state(
            surface="himmelblau",
            optimizers=("sgd",),
            hyper={"sgd": {"lr": 0.01}},
            start=(-0.27, -0.92),
            swarm=12,
            steps=200,
        ),
        topic="landscapes",
    ),
    Preset(
        "lesson_regression",
        "The regression of “Neural Network Optimization”: batch GD versus per-sample SGD",
        "Fit y = w x + b to (1, 2), (2, 4), (3, 6), (4, 8) from w = b = 0 with learning rate 0.01. "
        "The first full-batch gradient is (−30, −10), so the first step lands on (0.3, 0.1); after "
        "100 steps gradient descent is at w ≈ 1.846, b ≈ 0.452. Per-sample SGD takes a noisier "
        "route toward the same line.",
        _state(
            surface="linear_regression",
            optimizers=("sgd",),
            hyper={"sgd": {"lr": 0.01}},
            compare_batch_sizes=(4, 1),
            start=(0.0, 0.0),
            steps=100,
            explain_optimizer="sgd",
        ),
        topic="batches",
    ),
    Preset(
        "adam_default_lr",
        "Adam's default step on (θ − 3)²",
        "Both coordinates start at 0 and the minimum is at 3. Gradient descent with rate 0.1 "
        "shrinks the gap by a fifth each step and ends within 10⁻⁹ of 3; Adam with rate 0.01 "
        "moves roughly 0.01 per step whatever the gradient, so after 100 steps it is only near "
        "0.94. Adam's rate is a step length, not a multiplier of the slope.",
        _state(
            surface="quadratic_bowl",
            surface_params={"cx": 3.0, "cy": 3.0},
            optimizers=("sgd", "adam"),
            hyper={"sgd": {"lr": 0.1}, "adam": {"lr": 0.01}},
            start=(0.0, 0.0),
            steps=100,
            explain_optimizer="adam",
        ),
        topic="learning_rate",
    ),
    Preset(
        "nesterov",
        "Momentum versus Nesterov on a bowl",
        "Both carry velocity from step to step with β = 0.9 and the same rate. Plain momentum "
        "overshoots the centre by almost three units and keeps swinging through it; Nesterov "
        "looks at the gradient where the velocity is about to take it, brakes earlier, swings "
        "less and is far closer to the centre by step 40.",
        _state(
            surface="quadratic_bowl",
            optimizers=("momentum", "nesterov"),
            hyper={
                "momentum": {"lr": 0.1, "momentum": 0.9},
                "nesterov": {"lr": 0.1, "momentum": 0.9},
            },
            start=(-4.0, 3.5),
            steps=60,
        ),
        topic="momentum",
    ),
    Preset(
        "typed_kink",
        "Your own function: a kink, |x| + y²",
        "Typed as abs(x) + y^2: the field warns that |x| has no gradient at x = 0, and the "
        "minimum search finds nothing there, because it needs a curvature that a kink does not "
        "have. The slope along x is 1 right up to the kink, so gradient descent with rate 0.1 "
        "takes equal steps, reaches x = 0.05 at step 20 and then hops between −0.05 and 0.05 "
        "for good, while y, whose slope shrinks, settles at 0. Adam averages the flipping sign "
        "towards zero, so its hops shrink and it ends within 0.02 of the minimum.",
        _state(
            surface="custom",
            surface_params={
                "formula": "abs(x) + y^2",
                "x_min": -1.0,
                "x_max": 2.5,
                "y_min": -1.0,
                "y_max": 2.0,
            },
            optimizers=("sgd", "adam"),
            hyper={"sgd": {"lr": 0.1}, "adam": {"lr": 0.1}},
            start=(2.05, 1.5),
            steps=150,
        ),
        topic="landscapes",
    ),
)


def _map(**kw: Any) -> MapsState:
    return dataclasses.replace(MapsState(), **kw)


#: The Maps page's lessons: thousands of runs per picture (app/views/maps.py).
MAP_PRESETS: tuple[Preset, ...] = (
    Preset(
        "map_momentum_edge",
        "Where momentum's stable region ends",
        "A sweep of 16,384 runs each for gradient descent and momentum on the ravine "
        "(λmax = 25). Gradient descent converges only left of the dashed line lr = 2/λmax = "
        "0.08 and diverges everywhere to its right. Momentum's edge bends along the dotted "
        "curve lr = (2 + 2β)/λmax, so with β = 0.9 it stays stable up to lr ≈ 0.15, almost "
        "twice as far; at the far left, steps below 0.01 leave both far from the minimum after "
        "200 steps.",
        _map(
            view="sweep",
            surface="ravine",
            optimizers=("sgd", "momentum"),
            x_range=(0.001, 1.0),
            grid=128,
            steps=200,
        ),
        topic="momentum",
        page="maps",
    ),
    Preset(
        "map_optimal_momentum",
        "The optimal momentum on an ill-conditioned ravine",
        "The ravine with κ = 100: its Hessian's eigenvalues are 1 and 100. The theory's best "
        "momentum, α* = (2/(1 + 10))² ≈ 0.033 and β* = (9/11)² ≈ 0.67, shrinks the error by "
        "0.818 per step, against 0.980 for the best gradient descent: 35 steps instead of 346 "
        "for a thousandfold. The measured map beside the theory has its fastest cells at the "
        "same place.",
        _map(view="theory", surface="ravine", surface_params={"kappa": 100.0}, steps=200),
        topic="momentum",
        page="maps",
    ),
    Preset(
        "map_himmelblau_basins",
        "Adam's basins against gradient descent's on Himmelblau",
        "65,536 starts for each optimizer over Himmelblau's four valleys; each start takes "
        "the colour of the minimum it ends in. Gradient descent follows the slope, so its "
        "basins are bounded by the ridges between the valleys. Adam moves every coordinate "
        "by about the same length whatever the slope, so its boundaries shift and straighten: "
        "about 7 % of the starts end in another valley than with gradient descent.",
        _map(
            view="basin",
            surface="himmelblau",
            optimizers=("sgd", "adam"),  # learning rates 0.01 and 0.1: the page's own
            steps=300,
            basin_grid=256,
        ),
        topic="landscapes",
        page="maps",
    ),
    Preset(
        "map_range_test",
        "A learning-rate range test",
        "One run of gradient descent on the lessons' regression while its learning rate grows "
        "from 10⁻⁶ to 10 in 200 steps. The loss stays within a tenth of its start until the "
        "rate reaches about 3·10⁻⁴, falls fastest around 2·10⁻³ and is lowest at 0.59, well "
        "past the stability edge 2/λmax ≈ 0.12, because an instability needs a few steps to "
        "grow. Hence the rule of taking a tenth of the minimum, 0.059, safely below the edge.",
        _map(
            view="range",
            surface="linear_regression",
            optimizers=("sgd",),
            range_min=1e-6,
            range_max=10.0,
            range_steps=200,
        ),
        topic="learning_rate",
        page="maps",
    ),
)


def course(page: str | None = None) -> list[Preset]:
    """Every lesson in course order (topic by topic), or those that open on ``page``."""
    return [p for _, ps in by_topic() for p in ps if page is None or p.page == page]


def with_note(p: Preset) -> Any:
    """The lesson's state with its own note named in it (``lesson=<key>``), where the page's
    state has such a field."""
    if "lesson" in {f.name for f in dataclasses.fields(p.state)}:
        return dataclasses.replace(p.state, lesson=p.key)
    return p.state


def _net(**kw: Any) -> NetworksState:
    return dataclasses.replace(NetworksState(), **kw)


NETWORK_PRESETS: tuple[Preset, ...] = (
    Preset(
        "net_batching",
        "XOR: full batch, one sample at a time, mini-batches of 2",
        "The lesson's three loops: the same SGD (learning rate 0.1) on the lesson's 2-4-1 "
        "network for 500 epochs, walking the four points in order. One sample at a time makes "
        "four updates per epoch, so per epoch it learns fastest: 100 % training accuracy by "
        "epoch 8 (mini-batches of 2: 16, the full batch: 32) and the lowest final loss (0.011 "
        "against 0.030 and 0.10). Per step its loss jumps about far more: each step follows one "
        "point's gradient, and its largest rise is more than ten times the full batch's.",
        _net(
            optimizers=("sgd",),
            compare_batch_sizes=(4, 1, 2),
            epochs=500,
            views=("curves", "landscape"),
        ),
        topic="networks",
        page="networks",
    ),
    Preset(
        "net_optimizers",
        "XOR: the lesson's six optimizers",
        "SGD, momentum and Nesterov at 0.1, Adagrad at 0.1, RMSprop and Adam at 0.01, as the "
        "lesson trains them, for 1,000 epochs from the same start. Momentum and Nesterov get "
        "the loss below 0.1 by epoch 65, RMSprop by 110, Adagrad by 130, Adam by 190 and plain "
        "SGD only by epoch 503; RMSprop ends lowest (0.0004), SGD highest (0.03). All six reach "
        "100 % training accuracy: the network can be right long before its loss is small.",
        _net(
            optimizers=("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"),
            views=("curves", "landscape"),
        ),
        topic="networks",
        page="networks",
    ),
    Preset(
        "net_dead_relu",
        "Dead ReLU units: a start that fails",
        "Seed 2 starts the 2-4-1 ReLU network with one hidden unit already dead (it outputs 0 "
        "on all four points, so no gradient reaches its weights) and a second dies within the "
        "first 20 steps. With the two units left, SGD, momentum and Nesterov stop at loss ln 2 "
        "= 0.693 and 50 % accuracy, while Adagrad, RMSprop and Adam still solve XOR. Open "
        "'Inside one network' to see the blank units, and 'How often does it work' for how "
        "many of 200 starts fail.",
        _net(
            optimizers=("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"),
            seed=2,
            views=("inside", "often"),
        ),
        topic="networks",
        page="networks",
    ),
    Preset(
        "net_lr_too_large",
        "A learning rate too large kills the network",
        "The same SGD on XOR at learning rates 10, 1 and 0.1. At 10 the first steps throw every "
        "hidden unit's weights so far that by step 3 all four ReLU units output 0 on every "
        "point: they are dead, no gradient flows through them again, and the network ends at "
        "50 % accuracy (loss 1.04). At 1 it learns faster than at 0.1 (final loss 0.0017 "
        "against 0.029): too large is not far from just right.",
        _net(
            optimizers=("sgd",),
            compare_lrs=(10.0, 1.0, 0.1),
            views=("inside", "curves"),
        ),
        topic="networks",
        page="networks",
    ),
    Preset(
        "net_spirals",
        "Adam against SGD on the spirals",
        "Two interleaved spirals, a network of two tanh layers of 8 units, the full batch for "
        "1,000 epochs. SGD (0.1) creeps: 61 % training accuracy at the end, its boundary still "
        "a rough diagonal. Adam (0.01) scales each weight's step by the size of its own "
        "gradients and winds its boundary around both arms: 100 % on the training points and "
        "98 % on the held-out half.",
        _net(
            dataset="spiral",
            hidden=(8, 8),
            activation="tanh",
            optimizers=("sgd", "adam"),
            show_test=True,
            views=("curves", "landscape"),
        ),
        topic="networks",
        page="networks",
    ),
    Preset(
        "net_zero_init",
        "All-zero start: nothing moves",
        "Every weight and bias starts at 0. Every hidden unit then computes the same thing, so "
        "they all get the same gradient and can never become different (the symmetry "
        "problem); with ReLU the hidden units output 0 and pass no gradient at all, and on "
        "XOR even the output bias gets none (the classes are balanced). Every optimizer stays "
        "at loss ln 2 = 0.693 with 50 % accuracy.",
        _net(init="zeros", views=("inside", "curves")),
        topic="networks",
        page="networks",
    ),
)

LESSONS: tuple[Preset, ...] = PRESETS + MAP_PRESETS + NETWORK_PRESETS  # every page's lessons
BY_KEY: dict[str, Preset] = {p.key: p for p in LESSONS}
TOPIC_BY_KEY: dict[str, Topic] = {t.key: t for t in TOPICS}


def for_page(page: str) -> tuple[Preset, ...]:
    """The lessons one page opens."""
    return tuple(p for p in LESSONS if p.page == page)


def by_topic(topic: str | None = None) -> list[tuple[Topic, list[Preset]]]:
    """The lessons grouped by topic, in course order (one topic, or all when ``None``)."""
    return [
        (t, [p for p in LESSONS if p.topic == t.key])
        for t in TOPICS
        if topic is None or t.key == topic
    ]

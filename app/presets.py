"""One-click lessons: complete, reproducible races with a note on what to watch.

FOR THE EXPLORE PAGE (app/compute.py, app/explore.py) — comparing one optimizer with itself:
a race compares optimizers, and ``AppState.hyper`` holds one dict per optimizer name, so "sgd
three times with different batch sizes" cannot be written as three optimizers. AppState has two
fields for that, ``compare_lrs`` and ``compare_batch_sizes``. The page must build its runs with
``run_variants(state)``: it returns one :class:`Variant` per run to draw, in legend order, each
with a ``label`` (the key of the runs dict, the legend entry and the colour key), the
``optimizer`` name, ``overrides`` to apply ON TOP of that optimizer's resolved hyperparameters
(``{"lr": 0.5}`` for a learning-rate variant; empty otherwise) and the ``batch_size`` to pass to
``optimizers.simulate`` (which replaces ``state.batch_size`` for that run; ``None`` = full
batch). With both fields empty there is exactly one variant per optimizer, labelled with the
optimizer's name, overrides ``{}`` and ``batch_size=state.batch_size`` — i.e. the page behaves
exactly as before. Labels look like ``sgd@lr=0.5``, ``sgd@B=1``, ``sgd@B=4`` (full batch
written as its size) and ``sgd@lr=0.5,B=1`` when both lists are set. The explain and export
panels accept these labels: ``Trajectory.optimizer`` carries the real optimizer name.

Also for the page: ``classroom_ui.presets_ui()`` (in the Lessons popover) returns the chosen
lesson's state; draw its note with ``classroom_ui.lesson_note_ui()`` outside the popover; pass
``exports.chart_config(state)`` into ``st.plotly_chart(config=...)`` so the camera button saves
a 2x PNG named after the race (the export panel tells students to use it).

Presets never use ``shared_lr`` or the global beta/rho/beta2 controls, so a preset's runs are
``simulate(surface, v.optimizer, starts, state.steps, batch_size=v.batch_size, seed=state.seed,
**{**state.hyper.get(v.optimizer, {}), **v.overrides})``, which the tests run and check.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from app import urlstate
from app.state import AppState, Scalar


@dataclass(frozen=True)
class Variant:
    """One run the page draws: ``label`` keys the runs dict, legend and colour."""

    label: str
    optimizer: str
    overrides: dict[str, Scalar] = field(default_factory=dict)
    batch_size: int | None = None


def run_variants(state: AppState) -> list[Variant]:
    """Every run of ``state``: each optimizer times each compared lr times each batch size."""
    lrs: tuple[float | None, ...] = state.compare_lrs or (None,)
    sizes: tuple[int | None, ...] = state.compare_batch_sizes or (state.batch_size,)
    out = []
    for opt in state.optimizers:
        for lr in lrs:
            for b in sizes:
                tags = []
                if lr is not None:
                    tags.append(f"lr={urlstate.fmt(lr)}")
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
class Preset:
    """A lesson: a complete state and two or three sentences on what to watch."""

    key: str
    title: str
    watch: str
    state: AppState


def _state(**kw: Any) -> AppState:
    return dataclasses.replace(AppState(), **kw)


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
    ),
    Preset(
        "learning_rate",
        "Learning rate: too large, too small, about right",
        "The same gradient descent three times on the bowl x² + y². With a step of 1.05 every "
        "update overshoots the centre by more than it started with, so the point flies off; with "
        "0.005 it barely moves in 100 steps; 0.3 lands close to the centre within a few steps.",
        _state(
            surface="quadratic_bowl",
            optimizers=("sgd",),
            compare_lrs=(1.05, 0.005, 0.3),
            start=(-4.0, 3.5),
            steps=100,
        ),
    ),
    Preset(
        "adagrad_rmsprop",
        "Adagrad's shrinking step versus RMSprop",
        "Both divide each coordinate's step by a running size of its gradient, and the rates "
        "here are set so that their first steps are identical. Adagrad adds up every squared "
        "gradient since the start, so its steps only ever shrink and it crawls along the flat "
        "floor of the valley; RMSprop forgets old gradients, keeps its stride and arrives.",
        _state(
            surface="ravine",
            optimizers=("adagrad", "rmsprop"),
            hyper={"adagrad": {"lr": 0.5}, "rmsprop": {"lr": 0.05}},
            start=(-8.0, 4.0),
            steps=300,
        ),
    ),
    Preset(
        "batch_size",
        "Batch size and gradient noise",
        "Stochastic gradient descent on the four-point regression with one point per step, two "
        "points per step and all four. The full batch follows the smooth steepest path; smaller "
        "batches see a different gradient every step, so their paths jitter around it and their "
        "loss goes up as well as down.",
        _state(
            surface="linear_regression",
            optimizers=("sgd",),
            hyper={"sgd": {"lr": 0.01}},
            compare_batch_sizes=(1, 2, 4),
            start=(0.0, 0.0),
            steps=100,
            seed=1,
        ),
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
    ),
    Preset(
        "lesson_regression",
        "The lesson's regression: batch GD versus per-sample SGD",
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
    ),
)

BY_KEY: dict[str, Preset] = {p.key: p for p in PRESETS}

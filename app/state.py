"""The Explore page's whole state as one plain value.

Everything a race depends on lives here, so that a URL (app/urlstate.py), a preset
(app/presets.py) and the widgets all describe the same thing. Pure Python: no streamlit import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Scalar = float | int | bool | str


@dataclass
class AppState:
    """One complete, reproducible race.

    ``hyper[opt][name]`` holds each selected optimizer's own hyperparameters (torch keywords;
    Adam's betas split as ``beta1``/``beta2``). When ``shared_lr`` is on, ``lr`` overrides every
    optimizer's learning rate. ``beta``, ``rho`` and ``beta2`` are the course's global controls:
    when ``None`` each optimizer keeps its own value, otherwise they drive every hyperparameter
    whose role is "beta", "rho" or "beta2".
    """

    surface: str = "ravine"
    surface_params: dict[str, Scalar] = field(default_factory=dict)
    optimizers: tuple[str, ...] = ()
    hyper: dict[str, dict[str, Scalar]] = field(default_factory=dict)
    shared_lr: bool = False
    lr: float = 0.01
    beta: float | None = None
    rho: float | None = None
    beta2: float | None = None
    start: tuple[float, float] | None = None  # None: the surface's default start
    swarm: int = 1  # number of starts (a small swarm around ``start``)
    steps: int = 200
    batch_size: int | None = None  # None: full batch
    seed: int = 0
    schedule: str = "constant"
    schedule_params: dict[str, Scalar] = field(default_factory=dict)
    view_3d: bool = False
    large_fonts: bool = False
    dark: bool = False
    embed: bool = False  # presenter / embed mode: controls hidden, chart enlarged
    explain_optimizer: str | None = None  # step-by-step maths panel
    momentum_convention: str = "torch"
    # Side-by-side variants of the SAME optimizer (app/presets.py: run_variants): when non-empty,
    # every selected optimizer runs once per learning rate and/or batch size listed here, with
    # run labels like "sgd@lr=0.5" or "sgd@B=1" (B = n_samples is the full batch).
    compare_lrs: tuple[float, ...] = ()
    compare_batch_sizes: tuple[int, ...] = ()


# The Explore page's first race. torch's default learning rates (Adam's 0.001, SGD's 0.001) barely
# move on the default surface within the default steps, so a plain visit starts every optimizer
# from these page defaults instead: on the default ravine each default optimizer crosses a visible
# part of the plot, and they finish at clearly different losses. The core's metadata keeps
# torch's defaults; links and lessons state their own values (an AppState without ``hyper``
# means torch's defaults), and the About card names both.
PAGE_HYPER: dict[str, dict[str, Scalar]] = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.003},
    "nesterov": {"lr": 0.003},
    "rmsprop": {"lr": 0.03},
    "adam": {"lr": 0.1},
    "adamw": {"lr": 0.05},
    "nadam": {"lr": 0.05},
    "radam": {"lr": 0.1},
    "adamax": {"lr": 0.05},
    "adagrad": {"lr": 0.3},
    "lion": {"lr": 0.03},
}


def page_default(optimizer: str, hyper: str, torch_default: Scalar) -> Scalar:
    """The value a plain visit gives ``optimizer``'s ``hyper`` (see :data:`PAGE_HYPER`)."""
    return PAGE_HYPER.get(optimizer, {}).get(hyper, torch_default)

"""The optimizer registry: one entry per update rule, in UI order (no if-chains anywhere)."""

from __future__ import annotations

from optimizers import (
    adadelta,
    adagrad,
    adam,
    adamax,
    lion,
    nadam,
    radam,
    rmsprop,
    search,
    sgd,
)
from optimizers.base import Optimizer

REGISTRY: dict[str, Optimizer] = {
    opt.name: opt
    for module in (sgd, adagrad, rmsprop, adam, nadam, radam, adamax, adadelta, lion, search)
    for opt in module.OPTIMIZERS
}

DEFAULT_SET: tuple[str, ...] = ("sgd", "momentum", "nesterov", "rmsprop", "adam")


def names() -> list[str]:
    """Every optimizer name, in UI order."""
    return list(REGISTRY)


def get(name: str) -> Optimizer:
    """The optimizer registered under ``name``; ValueError listing the names otherwise."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"optimizer must be one of {', '.join(REGISTRY)}; got {name!r}") from None

"""Optimizer Playground's update rules, learning-rate schedules and the simulate engine.

>>> import optimizers
>>> optimizers.names()[:3]
['sgd', 'momentum', 'nesterov']
"""

from optimizers import momentum, schedules
from optimizers.base import Hyper, Optimizer
from optimizers.registry import DEFAULT_SET, REGISTRY, get, names
from optimizers.simulate import Trajectory, simulate

__all__ = [
    "DEFAULT_SET",
    "REGISTRY",
    "Hyper",
    "Optimizer",
    "Trajectory",
    "get",
    "momentum",
    "names",
    "schedules",
    "simulate",
]

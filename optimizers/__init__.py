"""Optimizer Playground's update rules, learning-rate schedules and the engines that run them.

>>> import optimizers
>>> optimizers.names()[:3]
['sgd', 'momentum', 'nesterov']

``simulate`` runs an optimizer on a 2-D surface, ``minimize`` on any objective of D parameters;
each update rule is written once (:mod:`optimizers.base`, :mod:`optimizers.ir`) and every engine
(:mod:`optimizers.engines`) runs that one definition. ``minimize(..., observe=fn)`` shows every
step's gradient and state as the run goes; ``trace_lane`` replays one coordinate's named trace
from those gradients (:mod:`optimizers.replay`).
"""

from optimizers import momentum, schedules
from optimizers.base import Hyper, Optimizer, Rule, Step, Symbol
from optimizers.engines.vector import Observation
from optimizers.minimize import Trajectory, minimize, simulate
from optimizers.registry import DEFAULT_SET, REGISTRY, get, names
from optimizers.replay import LaneTrace, trace_lane

__all__ = [
    "DEFAULT_SET",
    "REGISTRY",
    "Hyper",
    "LaneTrace",
    "Observation",
    "Optimizer",
    "Rule",
    "Step",
    "Symbol",
    "Trajectory",
    "get",
    "minimize",
    "momentum",
    "names",
    "schedules",
    "simulate",
    "trace_lane",
]

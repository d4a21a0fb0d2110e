"""Loss surfaces for Optimizer Playground: data plus pure functions over (x, y)-last arrays.

>>> import surfaces
>>> s = surfaces.get("quadratic_bowl", cx=3.0, cy=3.0)
>>> s.value_scalar(0.0, 0.0), s.grad_scalar(0.0, 0.0)
(18.0, (-6.0, -6.0))

A new surface is one entry in a family module's SPECS; this registry keeps the UI order.

``formula(text, bounds=None)`` builds a surface from a typed-in f(x, y) (surfaces/formula.py),
the registered surface "custom": ``get("custom", formula="x^2 + 3*y^2", x_min=-2, ...)``.

Networks are surfaces over D parameters rather than (x, y): ``surfaces.network("xor")`` gives
the lessons' 2-4-1 network and its initial parameters (surfaces/network.py, data sets in
surfaces/datasets.py).
"""

from __future__ import annotations

from surfaces import classics, data, datasets, landscapes, planes, quadratic
from surfaces.base import Param, Point, Surface, SurfaceSpec, make_surface
from surfaces.batches import iter_batches
from surfaces.datasets import Dataset, custom_dataset, make_dataset
from surfaces.formula import SPECS as _FORMULA_SPECS
from surfaces.formula import FormulaError, explain_nonfinite, formula, formula_feedback
from surfaces.network import Network, ParamInfo, dead_units, network

__all__ = [
    "SPECS",
    "Dataset",
    "FormulaError",
    "Network",
    "Param",
    "ParamInfo",
    "Point",
    "Surface",
    "SurfaceSpec",
    "custom_dataset",
    "datasets",
    "dead_units",
    "explain_nonfinite",
    "formula",
    "formula_feedback",
    "get",
    "iter_batches",
    "make_dataset",
    "names",
    "network",
    "planes",
]

_ORDER = (
    "quadratic_bowl",
    "ravine",
    "saddle",
    "saddle_escape",
    "multi_minima",
    "rosenbrock",
    "beale",
    "himmelblau",
    "rastrigin",
    "six_hump_camel",
    "linear_regression",
    "logistic_regression",
    "custom",
)
_ALL = {s.name: s for m in (quadratic, landscapes, classics, data) for s in m.SPECS}
_ALL.update((s.name, s) for s in _FORMULA_SPECS)
SPECS: dict[str, SurfaceSpec] = {name: _ALL[name] for name in _ORDER}


def names() -> list[str]:
    """Registered surface names, in UI order."""
    return list(SPECS)


def get(name: str, **params: float | str) -> Surface:
    """Build surface ``name`` with ``params`` (defaults filled in).

    Unknown names, unknown parameters and values outside a parameter's range raise ValueError
    naming the parameter and its allowed range.
    """
    spec = SPECS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"unknown surface {name!r}; valid surfaces: {', '.join(SPECS)}")
    return make_surface(spec, spec.check_params(dict(params)))

"""Loss surfaces for Optimizer Playground: data plus pure functions over (x, y)-last arrays.

>>> import surfaces
>>> s = surfaces.get("quadratic_bowl", cx=3.0, cy=3.0)
>>> s.value_scalar(0.0, 0.0), s.grad_scalar(0.0, 0.0)
(18.0, (-6.0, -6.0))

A new surface is one entry in a family module's SPECS; this registry keeps the UI order.
``formula(text, bounds=None)`` builds a surface from a typed-in f(x, y) (surfaces/formula.py);
it is not registered.
"""

from __future__ import annotations

from surfaces import classics, data, landscapes, quadratic
from surfaces.base import Param, Point, Surface, SurfaceSpec, make_surface
from surfaces.batches import iter_batches
from surfaces.formula import FormulaError, explain_nonfinite, formula, formula_feedback

__all__ = [
    "SPECS",
    "FormulaError",
    "Param",
    "Point",
    "Surface",
    "SurfaceSpec",
    "explain_nonfinite",
    "formula",
    "formula_feedback",
    "get",
    "iter_batches",
    "names",
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
)
_ALL = {s.name: s for m in (quadratic, landscapes, classics, data) for s in m.SPECS}
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

"""Surface building blocks: metadata types, array namespaces and the :class:`Surface` object.

A surface's maths is written once, generic over an array namespace ``xp`` (an :class:`Ops`):
:data:`SCALAR` runs it on plain Python floats (the fast path simulate uses for small K),
:data:`NUMPY` on arrays of any leading shape, and :func:`torch_ops` on tensors (the autograd
oracle of the tests). Each surface module writes ``value`` and ``grad`` side by side; this
module binds them to the entry points of the contract.

Every surface is the mean of N per-sample terms f_i:

* analytic surfaces: ``f_i = f + noise * s * (A_i x + B_i y)`` with integer directions
  ``(A_i, B_i)`` taken in ± pairs, so that any sum over all N of them is exactly zero (integer
  sums are exact in float64): a full batch gives exactly the analytic gradient and the minima
  never move. ``s`` scales the directions to unit variance, so the per-sample gradient noise has
  standard deviation ``noise`` in each coordinate.
* data surfaces: one term per data point ``(u_i, v_i)``.
"""

from __future__ import annotations

import math
import operator
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import torch

Arr = Any  # a Python float, a NumPy array or a torch tensor: the maths runs on all three
Bounds = tuple[tuple[float, float], tuple[float, float]]
ParamValue = float | str
Params = dict[str, ParamValue]
CUSTOM = "custom"  # the name of every surface typed in as a formula (surfaces.formula)


# ---------------------------------------------------------------- array namespaces


@dataclass(frozen=True)
class Ops:
    """The elementwise functions the surface maths uses, for one array namespace.

    On :data:`SCALAR` a domain error (log or sqrt of a negative number, 0 to a negative power)
    or an overflow (exp, sinh, cosh, pow) raises ValueError or OverflowError, which the scalar
    engine treats as a non-finite step; :data:`NUMPY` and torch give NaN or inf instead.
    ``minimum`` and ``maximum`` propagate NaN in every namespace; ``divide`` is one correctly
    rounded division in every namespace (torch's ``float / tensor`` is not).
    """

    sin: Callable[[Arr], Arr]
    cos: Callable[[Arr], Arr]
    exp: Callable[[Arr], Arr]
    log1p: Callable[[Arr], Arr]
    tanh: Callable[[Arr], Arr]
    abs: Callable[[Arr], Arr]
    sign: Callable[[Arr], Arr]
    tan: Callable[[Arr], Arr]
    log: Callable[[Arr], Arr]
    sqrt: Callable[[Arr], Arr]
    sinh: Callable[[Arr], Arr]
    cosh: Callable[[Arr], Arr]
    arctan: Callable[[Arr], Arr]
    pow: Callable[[Arr, Arr], Arr]
    minimum: Callable[[Arr, Arr], Arr]
    maximum: Callable[[Arr, Arr], Arr]
    divide: Callable[[Arr, Arr], Arr]


def _sign(v: float) -> float:
    return 1.0 if v > 0.0 else (-1.0 if v < 0.0 else 0.0)


def _minimum(a: float, b: float) -> float:
    return a if a < b else (b if b <= a else math.nan)  # NaN in, NaN out (as NumPy)


def _maximum(a: float, b: float) -> float:
    return a if a > b else (b if b >= a else math.nan)


SCALAR = Ops(
    math.sin,
    math.cos,
    math.exp,
    math.log1p,
    math.tanh,
    abs,
    _sign,
    tan=math.tan,
    log=math.log,
    sqrt=math.sqrt,
    sinh=math.sinh,
    cosh=math.cosh,
    arctan=math.atan,
    pow=math.pow,  # ValueError for (-8)^(1/3) where ** would return a complex number
    minimum=_minimum,
    maximum=_maximum,
    divide=operator.truediv,  # ZeroDivisionError for x / 0
)
NUMPY = Ops(
    np.sin,
    np.cos,
    np.exp,
    np.log1p,
    np.tanh,
    np.abs,
    np.sign,
    tan=np.tan,
    log=np.log,
    sqrt=np.sqrt,
    sinh=np.sinh,
    cosh=np.cosh,
    arctan=np.arctan,
    pow=np.power,
    minimum=np.minimum,
    maximum=np.maximum,
    divide=operator.truediv,
)


@cache
def torch_ops() -> Ops:
    """The torch namespace, imported lazily (only the oracle path needs torch)."""
    import torch

    return Ops(
        torch.sin,
        torch.cos,
        torch.exp,
        torch.log1p,
        torch.tanh,
        torch.abs,
        torch.sign,
        tan=torch.tan,
        log=torch.log,
        sqrt=torch.sqrt,
        sinh=torch.sinh,
        cosh=torch.cosh,
        arctan=torch.atan,
        pow=torch.pow,
        minimum=_torch_select(torch.minimum, "max"),
        maximum=_torch_select(torch.maximum, "min"),
        divide=_torch_divide,
    )


def _torch_divide(a: Arr, b: Arr) -> Arr:
    """a / b as one correctly rounded division, also for a float a: torch computes
    ``3.0 / t`` as ``reciprocal(t) * 3.0`` (two roundings, an ulp away from NumPy's)."""
    import torch

    if not isinstance(a, torch.Tensor):
        return torch.div(torch.full_like(b, a), b)
    return torch.div(a, b)


def _torch_select(both: Callable[[Arr, Arr], Arr], bound: str) -> Callable[[Arr, Arr], Arr]:
    """torch.minimum / maximum, which take two tensors, also with one float (min(x, 0)):
    then a clamp at that float (NaN still propagates)."""
    import torch

    def select(a: Arr, b: Arr) -> Arr:
        if not isinstance(b, torch.Tensor):
            return torch.clamp(a, **{bound: b})
        if not isinstance(a, torch.Tensor):
            return torch.clamp(b, **{bound: a})
        return both(a, b)

    return select


def softplus(z: Arr, xp: Ops) -> Arr:
    """log(1 + e^z) without overflow: max(z, 0) + log1p(e^-|z|).

    max(z, 0) is written (z + |z|) / 2 so that autograd's derivative at z = 0 is the true 1/2.
    """
    return 0.5 * (z + xp.abs(z)) + xp.log1p(xp.exp(-xp.abs(z)))


def sigmoid(z: Arr, xp: Ops) -> Arr:
    """1 / (1 + e^-z) without overflow, written through tanh; d softplus / dz."""
    return 0.5 + 0.5 * xp.tanh(0.5 * z)


# The maths signatures of the surface modules.
class ValueFn(Protocol):
    def __call__(self, x: Arr, y: Arr, xp: Ops, /) -> Arr: ...  # f


class GradFn(Protocol):
    def __call__(self, x: Arr, y: Arr, xp: Ops, /) -> tuple[Arr, Arr]: ...  # (df/dx, df/dy)


class SampleValueFn(Protocol):
    def __call__(self, x: Arr, y: Arr, u: Arr, v: Arr, xp: Ops, /) -> Arr: ...  # f_i


class SampleGradFn(Protocol):
    def __call__(self, x: Arr, y: Arr, u: Arr, v: Arr, xp: Ops, /) -> tuple[Arr, Arr]: ...


# ---------------------------------------------------------------- metadata


@dataclass(frozen=True)
class Param:
    """One tunable surface parameter; the UI builds its control from it.

    kind is "float", "int", "choice" (choices => a select box, low/high None) or "text" (typed
    in, e.g. a formula; low/high None): ``parse`` validates the text and raises ValueError
    saying what is wrong and where.
    A default of None makes the parameter optional: left out, the surface chooses it (the
    formula surface's bounds); :meth:`SurfaceSpec.check_params` then leaves it out.
    examples: valid values other than the default, for people (the UI offers them) and for the
    tests (app/state/codec.py builds its example links from them).
    """

    name: str
    default: float | str | None
    low: float | None
    high: float | None
    log: bool
    help: str
    choices: tuple[str, ...] = ()
    kind: str = "float"
    examples: tuple[float | str, ...] = ()
    parse: Callable[[str], object] | None = field(default=None, compare=False, repr=False)

    @property
    def optional(self) -> bool:
        return self.default is None

    def check(self, value: object) -> ParamValue | None:
        """Return ``value`` validated (floats as Python float; None for an optional parameter
        left out), or raise ValueError."""
        if value is None and self.optional:
            return None
        if self.kind == "text":
            if self.parse is not None:
                self.parse(value)  # type: ignore[arg-type]  # the parser refuses non-text
            if not isinstance(value, str):
                raise ValueError(f"parameter {self.name!r} must be text; got {value!r}")
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(
                    f"parameter {self.name!r} must be one of {', '.join(self.choices)}; "
                    f"got {value!r}"
                )
            return value
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(f"parameter {self.name!r} must be a number; got {value!r}")
        v = float(value)
        if self.kind == "int" and v != round(v):
            raise ValueError(f"parameter {self.name!r} must be an integer; got {value!r}")
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        if not (math.isfinite(v) and low <= v <= high):
            raise ValueError(f"parameter {self.name!r} must be in [{low:g}, {high:g}]; got {v:g}")
        return v


NOISE = Param(
    "noise",
    0.0,
    0.0,
    5.0,
    False,
    "mini-batch noise: standard deviation of each per-sample gradient coordinate around the "
    "true gradient (0 = every sample equals the surface)",
)


@dataclass(frozen=True)
class Point:
    """A critical point of a surface. kind is "global", "local" or "saddle"."""

    xy: tuple[float, float]
    value: float
    kind: str


@dataclass(frozen=True, kw_only=True)
class Geometry:
    """What every surface module states about its shape (keyword-only).

    ``description`` replaces the spec's (a typed formula describes its own f); ``params``
    replaces the validated parameters where the builder chose an optional one (the bounds of
    a formula), so that ``surfaces.get(name, **surface.params)`` builds the same surface.
    """

    bounds: Bounds
    default_start: tuple[float, float]
    log_color: bool
    minima: tuple[Point, ...]
    saddles: tuple[Point, ...] = ()
    description: str = ""
    params: Params | None = None


@dataclass(frozen=True)
class Analytic(Geometry):
    """What an analytic surface module builds from its parameters (noise terms are added here)."""

    value: ValueFn
    grad: GradFn


@dataclass(frozen=True)
class Data(Geometry):
    """What a data surface module builds: the mean over points (u_i, v_i) of one term each."""

    sample_value: SampleValueFn
    sample_grad: SampleGradFn
    u: tuple[float, ...]
    v: tuple[float, ...]


@dataclass(frozen=True)
class SurfaceSpec:
    """A registry entry: metadata available without building, plus the builder."""

    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    axis_labels: tuple[str, str]
    build: Callable[[Params], Analytic | Data] = field(repr=False, compare=False)

    def check_params(self, given: dict[str, object]) -> Params:
        """Fill in defaults and validate; unknown names and out-of-range values -> ValueError.

        Optional parameters (default None) that are not given are left out."""
        known = [p.name for p in self.params]
        for key in given:
            if key not in known:
                raise ValueError(
                    f"surface {self.name!r} has no parameter {key!r}; "
                    f"valid parameters: {', '.join(known) or 'none'}"
                )
        out: Params = {}
        for p in self.params:
            value = p.check(given.get(p.name, p.default))
            if value is not None:  # an optional parameter left out: the builder chooses it
                out[p.name] = value
        return out


def divergence_box(bounds: Bounds, factor: float = 10.0) -> Bounds:
    """The box simulate uses to declare divergence: each axis ``factor`` times the bounds' span,
    centred on the bounds' centre (so 4.5 spans of margin on every side)."""
    out = []
    for lo, hi in bounds:
        mid, half = 0.5 * (lo + hi), 0.5 * factor * (hi - lo)
        out.append((mid - half, mid + half))
    return (out[0], out[1])


# ---------------------------------------------------------------- engines

# Integer noise directions (A_i, B_i): 8 pairs and their negatives, N = 16. Over the 8 pairs
# sum A^2 = sum B^2 = 44 and sum A*B = 0, so the noise is isotropic with variance 88/16 = 5.5.
_NOISE_PAIRS = ((3, 1), (1, -3), (2, 2), (-2, 2), (4, 0), (0, 4), (1, 3), (3, -1))
NOISE_A = tuple(float(a) for a, _ in _NOISE_PAIRS) + tuple(float(-a) for a, _ in _NOISE_PAIRS)
NOISE_B = tuple(float(b) for _, b in _NOISE_PAIRS) + tuple(float(-b) for _, b in _NOISE_PAIRS)
NOISE_SCALE = 1.0 / math.sqrt(sum(a * a for a in NOISE_A) / len(NOISE_A))  # 1 / sqrt(5.5)
N_ANALYTIC = len(NOISE_A)


class _Engine:
    """Array entry points shared by both kinds of surface. x, y: (...,); idx: (K, B)."""

    n: int
    value_scalar: Callable[[float, float], float]
    grad_scalar: Callable[[float, float], tuple[float, float]]
    batch_value_scalar: Callable[[float, float, Sequence[int]], float]
    batch_grad_scalar: Callable[[float, float, Sequence[int]], tuple[float, float]]

    def value(self, x: np.ndarray, y: np.ndarray) -> Arr:
        raise NotImplementedError

    def grad(self, x: np.ndarray, y: np.ndarray) -> tuple[Arr, Arr]:
        raise NotImplementedError

    def batch_value(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> Arr:
        raise NotImplementedError

    def batch_grad(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[Arr, Arr]:
        raise NotImplementedError

    def torch_samples(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def torch_value(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _on_floats(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(x, y, xp)`` as ``fn(x, y)`` on Python floats, without a wrapper's extra call.

    The same code and closure with ``xp`` defaulting to :data:`SCALAR` (one Python call per
    gradient in the scalar engine's loop instead of two); a plain closure where the signature
    is not exactly ``(x, y, xp)``.
    """
    code = getattr(fn, "__code__", None)
    if (
        isinstance(fn, types.FunctionType)
        and code is not None
        and code.co_argcount == 3
        and not fn.__defaults__
        and not fn.__kwdefaults__
    ):
        bound = types.FunctionType(code, fn.__globals__, fn.__name__, (SCALAR,), fn.__closure__)
        bound.__qualname__ = fn.__qualname__
        return bound

    def on_floats(x: float, y: float) -> Any:
        return fn(x, y, SCALAR)

    return on_floats


class _NoisyEngine(_Engine):
    """f_i = f + c (A_i x + B_i y) with c = noise * NOISE_SCALE."""

    def __init__(self, model: Analytic, noise: float) -> None:
        self.n = N_ANALYTIC
        self._f, self._g = model.value, model.grad
        self._c = c = noise * NOISE_SCALE
        self._a, self._b = np.array(NOISE_A), np.array(NOISE_B)
        vs: Callable[[float, float], float] = _on_floats(model.value)
        gs: Callable[[float, float], tuple[float, float]] = _on_floats(model.grad)
        self.value_scalar, self.grad_scalar = vs, gs
        a_, b_ = NOISE_A, NOISE_B

        def batch_value_scalar(x: float, y: float, idx: Sequence[int]) -> float:
            sa = sb = 0.0
            for i in idx:
                sa += a_[i]
                sb += b_[i]
            return vs(x, y) + c * (sa * x + sb * y) / len(idx)

        def batch_grad_scalar(x: float, y: float, idx: Sequence[int]) -> tuple[float, float]:
            gx, gy = gs(x, y)
            sa = sb = 0.0
            for i in idx:
                sa += a_[i]
                sb += b_[i]
            k = c / len(idx)
            return gx + k * sa, gy + k * sb

        if c == 0.0:  # every sample equals the surface: skip the index loop
            self.batch_value_scalar = lambda x, y, _idx: vs(x, y)
            self.batch_grad_scalar = lambda x, y, _idx: gs(x, y)
        else:
            self.batch_value_scalar = batch_value_scalar
            self.batch_grad_scalar = batch_grad_scalar

    def value(self, x: np.ndarray, y: np.ndarray) -> Arr:
        return self._f(x, y, NUMPY)

    def grad(self, x: np.ndarray, y: np.ndarray) -> tuple[Arr, Arr]:
        return self._g(x, y, NUMPY)

    def _mean_dirs(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self._c / idx.shape[-1]
        return k * self._a[idx].sum(axis=-1), k * self._b[idx].sum(axis=-1)

    def batch_value(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> Arr:
        if self._c == 0.0:
            return self.value(x, y)
        da, db = self._mean_dirs(idx)
        return self.value(x, y) + da * x + db * y

    def batch_grad(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[Arr, Arr]:
        gx, gy = self.grad(x, y)
        if self._c == 0.0:
            return gx, gy
        da, db = self._mean_dirs(idx)
        return gx + da, gy + db

    def torch_value(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._f(x, y, torch_ops())
        return out

    def torch_samples(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        import torch

        a = torch.as_tensor(self._a, dtype=x.dtype)
        b = torch.as_tensor(self._b, dtype=x.dtype)
        f = self.torch_value(x, y)[..., None]
        return f + self._c * (x[..., None] * a + y[..., None] * b)


class _DataEngine(_Engine):
    """f = mean_i term(x, y, u_i, v_i)."""

    def __init__(self, model: Data) -> None:
        self.n = n = len(model.u)
        self._sv, self._sg = sv, sg = model.sample_value, model.sample_grad
        self._u, self._v = np.array(model.u), np.array(model.v)
        pts = tuple(zip(model.u, model.v, strict=True))

        def value_scalar(x: float, y: float) -> float:
            s = 0.0
            for u, v in pts:
                s += sv(x, y, u, v, SCALAR)
            return s / n

        def grad_scalar(x: float, y: float) -> tuple[float, float]:
            sx = sy = 0.0
            for u, v in pts:
                gx, gy = sg(x, y, u, v, SCALAR)
                sx += gx
                sy += gy
            return sx / n, sy / n

        def batch_value_scalar(x: float, y: float, idx: Sequence[int]) -> float:
            s = 0.0
            for i in idx:
                u, v = pts[i]
                s += sv(x, y, u, v, SCALAR)
            return s / len(idx)

        def batch_grad_scalar(x: float, y: float, idx: Sequence[int]) -> tuple[float, float]:
            sx = sy = 0.0
            for i in idx:
                u, v = pts[i]
                gx, gy = sg(x, y, u, v, SCALAR)
                sx += gx
                sy += gy
            return sx / len(idx), sy / len(idx)

        self.value_scalar, self.grad_scalar = value_scalar, grad_scalar
        self.batch_value_scalar, self.batch_grad_scalar = batch_value_scalar, batch_grad_scalar

    def _terms(self, x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> Arr:
        return self._sv(x[..., None], y[..., None], u, v, NUMPY).mean(axis=-1)

    def _grads(self, x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[Arr, Arr]:
        gx, gy = self._sg(x[..., None], y[..., None], u, v, NUMPY)
        shape = np.broadcast_shapes(x[..., None].shape, u.shape)
        return (
            np.broadcast_to(gx, shape).mean(axis=-1),
            np.broadcast_to(gy, shape).mean(axis=-1),
        )

    def value(self, x: np.ndarray, y: np.ndarray) -> Arr:
        return self._terms(x, y, self._u, self._v)

    def grad(self, x: np.ndarray, y: np.ndarray) -> tuple[Arr, Arr]:
        return self._grads(x, y, self._u, self._v)

    def batch_value(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> Arr:
        return self._terms(x, y, self._u[idx], self._v[idx])

    def batch_grad(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[Arr, Arr]:
        return self._grads(x, y, self._u[idx], self._v[idx])

    def torch_samples(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        import torch

        u = torch.as_tensor(self._u, dtype=x.dtype)
        v = torch.as_tensor(self._v, dtype=x.dtype)
        out: torch.Tensor = self._sv(x[..., None], y[..., None], u, v, torch_ops())
        return out

    def torch_value(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.torch_samples(x, y).mean(dim=-1)


# ---------------------------------------------------------------- the Surface


def _points(xy: Any) -> np.ndarray:
    a = np.asarray(xy, dtype=np.float64)
    if a.ndim == 0 or a.shape[-1] != 2:
        raise ValueError(f"points must have a last axis of length 2 (x, y); got shape {a.shape}")
    return a


def _filled(v: Arr, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape)
    out[...] = v
    return out


@dataclass(frozen=True, eq=False)
class Surface:
    """A 2-D loss surface: metadata plus pure functions. Immutable.

    Array entry points take points with the (x, y) axis last and any leading shape.
    The scalar entry points ``value_scalar(x, y)``, ``grad_scalar(x, y)``,
    ``batch_value_scalar(x, y, idx)`` and ``batch_grad_scalar(x, y, idx)`` are plain-float
    closures bound at construction (no NumPy, no validation: finite floats and indices in
    [0, N) expected); they equal the NumPy path to rounding.
    """

    name: str
    title: str
    description: str
    params: Params
    bounds: Bounds
    minima: tuple[Point, ...]
    saddles: tuple[Point, ...]
    default_start: tuple[float, float]
    log_color: bool
    axis_labels: tuple[str, str]
    n_samples: int
    box: Bounds
    _engine: _Engine = field(repr=False)
    value_scalar: Callable[[float, float], float] = field(init=False, repr=False)
    grad_scalar: Callable[[float, float], tuple[float, float]] = field(init=False, repr=False)
    batch_value_scalar: Callable[[float, float, Sequence[int]], float] = field(
        init=False, repr=False
    )
    batch_grad_scalar: Callable[[float, float, Sequence[int]], tuple[float, float]] = field(
        init=False, repr=False
    )

    def __post_init__(self) -> None:
        e = self._engine
        object.__setattr__(self, "value_scalar", e.value_scalar)
        object.__setattr__(self, "grad_scalar", e.grad_scalar)
        object.__setattr__(self, "batch_value_scalar", e.batch_value_scalar)
        object.__setattr__(self, "batch_grad_scalar", e.batch_grad_scalar)

    # -- NumPy, full batch
    def value(self, xy: np.ndarray) -> np.ndarray:
        """f at points: (..., 2) -> (...)."""
        a = _points(xy)
        return _filled(self._engine.value(a[..., 0], a[..., 1]), a.shape[:-1])

    def grad(self, xy: np.ndarray) -> np.ndarray:
        """Analytic gradient: (..., 2) -> (..., 2)."""
        a = _points(xy)
        gx, gy = self._engine.grad(a[..., 0], a[..., 1])
        out = np.empty(a.shape)
        out[..., 0] = gx
        out[..., 1] = gy
        return out

    def grad_into(self, x: np.ndarray, y: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> None:
        """Write the analytic gradient at (x, y) into gx, gy, all (K,): no stacking, no checks
        (the vectorized simulate loop keeps coordinates in separate rows)."""
        gx[...], gy[...] = self._engine.grad(x, y)

    # -- NumPy, mini-batch
    def _batch_args(self, xy: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = _points(xy)
        if a.ndim != 2:
            raise ValueError(f"batch points must have shape (K, 2); got {a.shape}")
        i = np.asarray(idx)
        if i.ndim == 1:
            i = np.broadcast_to(i, (a.shape[0], i.shape[0]))
        if i.ndim != 2 or i.shape[0] != a.shape[0] or i.shape[1] == 0:
            raise ValueError(f"idx must have shape (K, B) with K = {a.shape[0]}; got {i.shape}")
        if not np.issubdtype(i.dtype, np.integer):
            raise ValueError(f"idx must hold integers; got dtype {i.dtype}")
        if i.min() < 0 or i.max() >= self.n_samples:
            raise ValueError(f"idx values must be in [0, {self.n_samples - 1}]")
        return a, i

    def batch_value(self, xy: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Mean of the batch's per-sample values: (K, 2), (K, B) -> (K,)."""
        a, i = self._batch_args(xy, idx)
        return _filled(self._engine.batch_value(a[:, 0], a[:, 1], i), a.shape[:-1])

    def batch_grad(self, xy: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Mean of the batch's per-sample gradients: (K, 2), (K, B) -> (K, 2)."""
        a, i = self._batch_args(xy, idx)
        gx, gy = self._engine.batch_grad(a[:, 0], a[:, 1], i)
        out = np.empty(a.shape)
        out[:, 0] = gx
        out[:, 1] = gy
        return out

    # -- torch oracle
    def torch_value(self, xy: torch.Tensor) -> torch.Tensor:
        """f on a tensor (autograd-friendly): (..., 2) -> (...)."""
        return self._engine.torch_value(xy[..., 0], xy[..., 1])

    def torch_sample_values(self, xy: torch.Tensor) -> torch.Tensor:
        """Every per-sample term: (..., 2) -> (..., N); their mean is torch_value."""
        return self._engine.torch_samples(xy[..., 0], xy[..., 1])

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as (name, params): the maths closures are rebuilt, not serialized."""
        return (_rebuild, (self.name, dict(self.params)))

    # -- contour grid
    def grid(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """xs (n,), ys (n,), Z (n, n) with Z[i, j] = f(xs[j], ys[i]) over the bounds."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= 4000:
            raise ValueError(f"grid size n must be an integer in [2, 4000]; got {n!r}")
        (x0, x1), (y0, y1) = self.bounds
        xs, ys = np.linspace(x0, x1, int(n)), np.linspace(y0, y1, int(n))
        gx, gy = np.meshgrid(xs, ys)
        return xs, ys, self.value(np.stack([gx, gy], axis=-1))


def _rebuild(name: str, params: Params) -> Surface:
    import surfaces  # the registry imports this module: resolve it at call time

    return surfaces.get(name, **params)


def make_surface(spec: SurfaceSpec, params: Params) -> Surface:
    """Build the Surface for validated ``params``."""
    model = spec.build(params)
    engine: _Engine
    if isinstance(model, Analytic):
        noise = params.get("noise", 0.0)
        engine = _NoisyEngine(model, float(noise))
    else:
        engine = _DataEngine(model)
    return Surface(
        name=spec.name,
        title=spec.title,
        description=model.description or spec.description,
        params=dict(params if model.params is None else model.params),
        bounds=model.bounds,
        minima=model.minima,
        saddles=model.saddles,
        default_start=model.default_start,
        log_color=model.log_color,
        axis_labels=spec.axis_labels,
        n_samples=engine.n,
        box=divergence_box(model.bounds),
        _engine=engine,
    )

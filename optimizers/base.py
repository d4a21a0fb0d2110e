"""Optimizer metadata and the two execution interfaces every update rule implements.

An update rule lives in one module of this package (one file per family) and provides:

* its metadata: an :class:`Optimizer` with :class:`Hyper` entries (default, range, log scale,
  meaning), the LaTeX update rule, the reference and the torch.optim class it matches;
* a *scalar kernel* (:data:`ScalarKernel`): the whole loop over the steps of ONE trajectory,
  its state in local Python floats, the gradient from the surface's ``grad_scalar`` (see
  :class:`Loop`). This is the fast path for a handful of trajectories (the interactive app:
  K = 1), like torch.optim's single-tensor loop;
* a *vector rule* (:class:`VectorRule`): ``init`` and an in-place ``step`` on structure-of-arrays
  NumPy state of shape (2, n) (coordinate axis FIRST inside the engine, so that one ufunc call
  updates both coordinates of n runs), like torch.optim's multi-tensor path.

Both paths perform the same floating-point operations in the same order, so they agree to the
last bit on the same inputs (tests/test_optimizers_paths.py checks it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

HyperValue = float | bool | str
Hypers = Mapping[str, Any]  # name -> float, bool, str, or (n,) float array (vector path)

# ---------------------------------------------------------------- metadata


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter; the UI builds its control from it and simulate validates with it.

    ``name`` is the torch.optim keyword (betas split into ``beta1``/``beta2``). ``low``/``high``
    are inclusive unless ``open_high`` (for betas: [0, 1)). ``role`` says which global control
    of the UI drives it ("lr", "beta", "rho", "beta2" or None).
    """

    name: str
    default: HyperValue
    low: float | None
    high: float | None
    log: bool
    help: str
    kind: str = "float"  # "float" | "bool" | "choice" | "int"
    choices: tuple[str, ...] = ()
    symbol: str = ""
    role: str | None = None
    open_high: bool = False  # the range is [low, high)
    open_low: bool = False  # the range is (low, high]

    def range_text(self) -> str:
        """The allowed range as written in error messages, e.g. ``[0, 1)``."""
        if self.kind == "bool":
            return "True or False"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.open_low or self.low is None else "["
        right = ")" if self.open_high or self.high is None else "]"
        return f"{left}{lo}, {hi}{right}"

    def check(self, value: Any, owner: str) -> Any:
        """Return ``value`` validated (float, bool, str, or a float64 array), else ValueError."""
        where = f"{owner}: hyperparameter {self.name!r}"
        if self.kind == "bool":
            if not isinstance(value, bool | np.bool_):
                raise ValueError(f"{where} must be {self.range_text()}; got {value!r}")
            return bool(value)
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{where} must be {self.range_text()}; got {value!r}")
            return value
        if isinstance(value, bool | np.bool_ | str):
            raise ValueError(f"{where} must be a number in {self.range_text()}; got {value!r}")
        if type(value) is float or type(value) is int:  # fast path: one plain number
            v = float(value)
            lo_ok = self.low is None or (v > self.low if self.open_low else v >= self.low)
            hi_ok = self.high is None or (v < self.high if self.open_high else v <= self.high)
            int_ok = self.kind != "int" or v == round(v)
            if lo_ok and hi_ok and int_ok and math.isfinite(v):
                return int(v) if self.kind == "int" else v
            raise ValueError(f"{where} must be in {self.range_text()}; got {v!r}")
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{where} must be a number in {self.range_text()}; got {value!r}"
            ) from None
        if arr.ndim > 1 or (self.kind == "int" and arr.ndim != 0):
            raise ValueError(f"{where} must be a scalar or a (K,) array; got shape {arr.shape}")
        ok = np.isfinite(arr)
        if self.low is not None:
            ok &= (arr > self.low) if self.open_low else (arr >= self.low)
        if self.high is not None:
            ok &= (arr < self.high) if self.open_high else (arr <= self.high)
        if self.kind == "int":
            ok &= arr == np.round(arr)
        if not ok.all():
            bad = arr if arr.ndim == 0 else arr[~ok][0]
            raise ValueError(f"{where} must be in {self.range_text()}; got {float(bad)!r}")
        if arr.ndim == 0:
            return int(arr) if self.kind == "int" else float(arr)
        return arr


# ---------------------------------------------------------------- execution interfaces


class Loop(NamedTuple):
    """What the scalar engine hands a kernel: the kernel owns the loop over the steps.

    ``grad(x, y)`` -> (gx, gy) of the step's batch (full batch: the analytic gradient);
    iterating ``lrs`` gives the learning rate of each step, T of them (the kernel's loop is
    ``for lr in lrs``); ``keep((x, y))`` records the point after each step. The kernel stops
    early only by raising (a division by zero, a math domain error); the engine then finds
    where the path left the box afterwards, in one NumPy pass.
    """

    grad: Callable[[float, float], tuple[float, float]]
    lrs: Any  # a list of T floats, or an iterable that computes them (plateau)
    steps: int
    keep: Callable[[tuple[float, float]], None]


class ScalarOracle(NamedTuple):
    """What a scalar kernel may ask besides the gradient the driver sends.

    ``value_for(t)``: the loss function (x, y) -> float of step t's batch (the full-batch loss
    without mini-batches); ``normals[t - 1]``: the two standard normals drawn for step t (random
    search); ``batched``: whether the loss changes from step to step (mini-batches).
    """

    value_for: Callable[[int], Callable[[float, float], float]]
    normals: list[tuple[float, float]]
    batched: bool


# (x0, y0, hyperparameters as Python scalars, trace sink or None, oracle) -> generator
ScalarKernel = Callable[
    [float, float, Hypers, "list[tuple[Any, ...]] | None", ScalarOracle, Loop], None
]


class Scratch(NamedTuple):
    """Preallocated work buffers of one chunk: two (2, n) and two (n,) arrays."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray

    @classmethod
    def new(cls, n: int) -> Scratch:
        return cls(np.empty((2, n)), np.empty((2, n)), np.empty(n), np.empty(n))


class VectorOracle(Protocol):
    """Loss evaluations for rules that use them (search rules): p (2, n) -> (n,)."""

    def value(self, p: np.ndarray) -> np.ndarray: ...

    def normal(self) -> np.ndarray: ...  # (2, n) standard normals of this step


class VectorRule(Protocol):
    """The NumPy path of one update rule, on (2, n) structure-of-arrays state, in place.

    ``h`` holds the numeric hyperparameters as (n,) arrays plus the flags as Python values;
    ``prepare`` may add derived constants to it once per chunk.
    """

    def init(self, p: np.ndarray, h: dict[str, Any]) -> Any: ...

    def step(
        self,
        p: np.ndarray,
        g: np.ndarray,
        s: Any,
        h: dict[str, Any],
        lr: np.ndarray,
        t: int,
        w: Scratch,
        oracle: VectorOracle,
    ) -> None: ...


@dataclass(frozen=True)
class Optimizer:
    """One update rule: metadata for the UI plus its two execution paths.

    ``uses`` is "grad" (the driver computes the gradient it sends) or "value" (the rule asks the
    oracle for losses itself: random search, finite differences).
    """

    name: str
    title: str
    summary: str
    hypers: tuple[Hyper, ...]
    update_tex: str
    reference: str
    torch_class: str | None
    trace_symbols: dict[str, str]
    notes: str
    scalar: ScalarKernel = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    vector: VectorRule = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    uses: str = "grad"
    needs_normal: bool = False

    def defaults(self) -> dict[str, HyperValue]:
        """Every hyperparameter's default, by name."""
        return {h.name: h.default for h in self.hypers}

    def hyper(self, name: str) -> Hyper:
        for h in self.hypers:
            if h.name == name:
                return h
        raise KeyError(name)


# ---------------------------------------------------------------- shared hyperparameters


def lr_hyper(default: float, high: float = 10.0) -> Hyper:
    return Hyper(
        "lr",
        default,
        0.0,
        high,
        True,
        "learning rate: the size of each step",
        symbol=r"\eta",
        role="lr",
    )


def beta1_hyper(default: float = 0.9) -> Hyper:
    return Hyper(
        "beta1",
        default,
        0.0,
        1.0,
        False,
        "decay of the running mean of gradients (first moment)",
        symbol=r"\beta_1",
        role="beta",
        open_high=True,
    )


def beta2_hyper(default: float = 0.999) -> Hyper:
    return Hyper(
        "beta2",
        default,
        0.0,
        1.0,
        False,
        "decay of the running mean of squared gradients (second moment)",
        symbol=r"\beta_2",
        role="beta2",
        open_high=True,
    )


def eps_hyper(default: float = 1e-8) -> Hyper:
    return Hyper(
        "eps",
        default,
        0.0,
        1.0,
        True,
        "added to the denominator so it is never zero",
        symbol=r"\epsilon",
        open_low=True,
    )


def wd_hyper(default: float = 0.0, decoupled: bool = False) -> Hyper:
    help_ = (
        "decoupled weight decay: shrinks the parameters by lr·λ each step"
        if decoupled
        else "L2 penalty: adds λ·θ to the gradient"
    )
    return Hyper("weight_decay", default, 0.0, 10.0, False, help_, symbol=r"\lambda")


MAXIMIZE = Hyper(
    "maximize",
    False,
    None,
    None,
    False,
    "climb the surface instead (gradient sign flipped)",
    kind="bool",
)


def lerp_scalar(a: float, b: float, w: float) -> float:
    """torch.lerp(a, b, w) on floats, with torch's two formulas (exact to the last bit)."""
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1.0 - w)


def lerp_mode(w: Any) -> str:
    """Which of torch's two lerp formulas applies to weights w: "low", "high" or "mixed"."""
    if np.max(w) < 0.5:
        return "low"
    return "high" if np.min(w) >= 0.5 else "mixed"


def lerp_into(
    a: np.ndarray, b: np.ndarray, w: Any, tmp: np.ndarray, mode: str | None = None
) -> None:
    """In place a <- torch.lerp(a, b, w) for (2, n) a, b and scalar or (n,) w; tmp is scratch.

    torch computes a + w (b − a) for w < 0.5 and b − (b − a)(1 − w) otherwise; ``mode`` (from
    :func:`lerp_mode`, cached by the rules) says which applies, per run when "mixed".
    """
    mode = mode or lerp_mode(w)
    np.subtract(b, a, out=tmp)
    if mode == "low":
        tmp *= w
        a += tmp
    elif mode == "high":
        tmp *= 1.0 - w
        np.subtract(b, tmp, out=a)
    else:
        lo = a + w * tmp
        hi = b - tmp * (1.0 - w)
        np.copyto(a, np.where(w < 0.5, lo, hi))


def sqrt(v: float) -> float:
    return math.sqrt(v)


# ---------------------------------------------------------------- gradient pre-processing

GradPre = Callable[[float, float, float, float], tuple[float, float]]


def grad_pre(h: Hypers) -> GradPre | None:
    """torch.optim's common first lines on one run: ``g = -g`` if maximize, then ``g += λθ``.

    Returns None when neither applies, so kernels skip the call in the common case.
    """
    neg = bool(h.get("maximize", False))
    wd = float(h.get("weight_decay", 0.0)) if not h.get("_decoupled", False) else 0.0
    if not neg and wd == 0.0:
        return None

    def pre(x: float, y: float, gx: float, gy: float) -> tuple[float, float]:
        if neg:
            gx, gy = -gx, -gy
        if wd != 0.0:  # torch's grad.add(param, alpha=wd) is fused
            gx, gy = fma(wd, x, gx), fma(wd, y, gy)
        return gx, gy

    return pre


def grad_pre_into(p: np.ndarray, g: np.ndarray, h: dict[str, Any], w: Scratch) -> None:
    """The same on (2, n) arrays, in place on g (uses w.a)."""
    if h.get("maximize", False):
        np.negative(g, out=g)
    wd = h.get("weight_decay")
    if wd is None or h.get("_decoupled", False) or (type(wd) is float and wd == 0.0):
        return  # the common case, decided without a NumPy call
    if np.any(wd != 0.0):
        np.copyto(g, fma(wd, p, g))


_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitting constant for float64


def fma(a: Any, b: Any, c: Any) -> Any:
    """a·b + c rounded once, like the fused multiply-add torch's CPU kernels use.

    torch computes ``addcmul`` as fma(value·t1, t2, self), ``add(alpha=)`` as fma(alpha, other,
    self) and ``lerp`` as fma(w, end − self, self). Dekker's exact product and Knuth's exact sum
    reproduce that to the last bit except in rare double-rounding corner cases. Plain arithmetic
    is within an ulp too, and everywhere else that is all the 1e-10 agreement needs; it is used
    where the result is a small difference of large terms (centered RMSprop's v − ḡ²), where an
    ulp is amplified. Works on floats and on NumPy arrays alike.
    """
    p = a * b
    k = _SPLIT * a
    ah = k - (k - a)
    al = a - ah
    k = _SPLIT * b
    bh = k - (k - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a*b == p + e exactly
    s = p + c
    z = s - p
    err = (p - (s - z)) + (c - z)  # p + c == s + err exactly
    return s + (err + e)

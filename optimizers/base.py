"""Optimizer metadata and the form of an update rule, written once.

An update rule lives in one module of this package (one file per family of rules) and gives:

* a :class:`Rule`: its state (a NamedTuple), its initial state, its step written once as
  plain arithmetic on one lane (one coordinate of one run: every engine runs it on any number of
  parameters and runs, see :mod:`optimizers.ir`), its algorithm in LaTeX and the symbols of
  every quantity its trace names;
* one or more :class:`Optimizer` registry entries: the rule with its :class:`Hyper` metadata
  (default, range, log scale, meaning: the UI, validation and URL decoding are built from it),
  its reference and the torch.optim class it matches. A named setting of a rule (Nesterov
  momentum is torch's SGD with ``nesterov=True``) is another entry of the same rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

HyperValue = float | bool | str
FLAG_KINDS = ("bool", "choice")  # static hyperparameters: branches of the rule, not numbers

# ---------------------------------------------------------------- metadata


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter; the UI builds its control from it and simulate validates with it.

    ``name`` is the torch.optim keyword (betas split into ``beta1``/``beta2``). ``low``/``high``
    are inclusive unless ``open_high`` (for betas: [0, 1)). ``role`` says which global control
    of the UI drives it ("lr", "beta", "rho", "beta2" or None). ``label``: what a control
    calls it when the keyword is no plain word (the keyword stays in its help).
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
    label: str = ""  # a plain name for people where the torch keyword is not one ("T_max")

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


# ---------------------------------------------------------------- one update rule


class Step(NamedTuple):
    """What a rule's ``step`` returns: the new parameter, the new state and the named trace."""

    param: Any
    state: Any
    trace: dict[str, Any]


@dataclass(frozen=True)
class Symbol:
    """How the step-by-step maths shows one named quantity.

    ``tex``: its LaTeX symbol without the step index (``m``, ``\\hat{m}``, ``\\rho``);
    ``kind``: "state" (a value before and after the step), "derived" (computed in the step) or
    "hyper"; ``indexed``: written with the step index (``m_t``) or not (``\\eta``).
    """

    tex: str
    meaning: str
    kind: str = "derived"
    indexed: bool = True

    def at(self, index: str = "t") -> str:
        """The symbol at a step: ``m_{t}``, ``\\hat{m}_{t-1}``; unindexed symbols as they are."""
        return f"{self.tex}_{{{index}}}" if self.indexed else self.tex


@dataclass(frozen=True, eq=False)  # hashed by identity: the engines' caches key on the rule
class Rule:
    """One update rule, written once; every engine runs it.

    ``state``: a NamedTuple class, one field per buffer (torch's state names);
    ``init(h) -> state``: each field's initial value (a number or a hyperparameter expression);
    fields named in ``run_fields`` hold one number per run (NAdam's μ product), the others one
    per coordinate;
    ``step(p, g, s, h, t, lr, xp) -> Step``: one step on ONE lane (one coordinate of one run) as
    plain arithmetic on the parameter ``p``, the gradient ``g``, the fields of ``s``, the
    hyperparameters ``h.<name>`` (numbers; flags are Python values, so ``if h.amsgrad:`` is a
    static branch), the step number ``t`` (1, 2, ...) and this step's learning rate ``lr``;
    ``xp`` gives sqrt, abs, sign, maximum, where, lerp, fma and the oracle (value, normal,
    fd_grad). The trace names every derived quantity the maths shows;
    ``algorithm(h) -> lines``: the algorithm in LaTeX for the settings ``h``, written with
    ``<name>`` placeholders for every named quantity (state, trace, hyperparameters, and the
    built-ins ``<param>``, ``<grad>``, ``<lr>``, ``<t>``);
    ``symbols``: name -> :class:`Symbol` for every state field and trace entry.
    """

    state: type
    init: Callable[[Any], Any]
    step: Callable[..., Step]
    algorithm: Callable[[Any], list[str]]
    symbols: dict[str, Symbol]
    run_fields: tuple[str, ...] = ()
    uses: str = "grad"  # or "value": the rule asks the oracle for losses, not the gradient
    draws_normal: bool = False  # calls xp.normal(): one (D, K) draw per step


class Flags:
    """Settings as attributes for ``Rule.algorithm`` (``h.amsgrad``, ``h.weight_decay``)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        for name, v in values.items():  # a per-run array counts as set if any run sets it
            setattr(self, name, bool(np.any(np.asarray(v) != 0)) if np.ndim(v) else v)


_PLACEHOLDER = re.compile(r"<(\w+)>")
BUILTIN_SYMBOLS = {
    "param": Symbol(r"\theta", "the parameters", "builtin"),
    "grad": Symbol("g", "the gradient at the current point (this step's batch)", "builtin"),
    "lr": Symbol(r"\eta", "the learning rate of this step", "builtin", indexed=False),
    "t": Symbol("t", "the step number", "builtin", indexed=False),
    "update": Symbol(r"\Delta\theta", "the step taken: the new point minus the old", "builtin"),
}


def render_tex(line: str, symbols: Mapping[str, Symbol]) -> str:
    """Replace each ``<name>`` of an algorithm line by its symbol."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        sym = symbols.get(name) or BUILTIN_SYMBOLS.get(name)
        if sym is None:
            raise KeyError(f"the algorithm names {name!r}, which has no symbol")
        return sym.tex

    return _PLACEHOLDER.sub(sub, line)


def gradient_lines(h: Any, decoupled: bool | None = None) -> list[str]:
    """The algorithm's first lines, shared by the rules: the gradient (negated to maximize),
    then the weight decay, added to the gradient or (decoupled) shrinking the parameters."""
    sign = "-" if getattr(h, "maximize", False) else ""
    lines = [rf"<grad>_t \leftarrow {sign}\nabla f(<param>_{{t-1}})"]
    if decoupled is None:
        decoupled = bool(getattr(h, "decoupled_weight_decay", False))
    if getattr(h, "weight_decay", 0) and decoupled:
        lines.append(r"<param>_{t-1} \leftarrow (1 - <lr>\,<weight_decay>)\,<param>_{t-1}")
    elif getattr(h, "weight_decay", 0):
        lines.append(r"<grad>_t \leftarrow <grad>_t + <weight_decay>\,<param>_{t-1}")
    return lines


def placeholders(line: str) -> list[str]:
    """The ``<name>`` placeholders of an algorithm line."""
    return _PLACEHOLDER.findall(line)


@dataclass(frozen=True)
class Optimizer:
    """One registry entry: an update rule with its metadata, or a named setting of one.

    ``hypers``: what the caller may set (the UI builds its controls from them); ``fixed``: rule
    hyperparameters this entry pins (Nesterov momentum is SGD with nesterov=True); ``hidden``:
    hyperparameters the API accepts that the UI does not show (SGD's momentum keywords).
    """

    name: str
    title: str
    summary: str
    hypers: tuple[Hyper, ...]
    rule: Rule = field(repr=False, compare=False)
    reference: str = ""
    torch_class: str | None = None
    notes: str = ""
    fixed: dict[str, HyperValue] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()
    check: Callable[[dict[str, Any]], None] | None = field(default=None, compare=False)

    @property
    def uses(self) -> str:
        return self.rule.uses

    @property
    def needs_normal(self) -> bool:
        return self.rule.draws_normal

    @property
    def symbols(self) -> dict[str, Symbol]:
        """Every named quantity of the maths: gradient, state, trace, hyperparameters."""
        out = {"grad": BUILTIN_SYMBOLS["grad"]} if self.rule.uses == "grad" else {}
        out.update(self.rule.symbols)
        out["update"] = BUILTIN_SYMBOLS["update"]
        for h in self.hypers:
            if h.symbol and h.name not in out:
                out[h.name] = Symbol(h.symbol, h.help, "hyper", indexed=False)
        return out

    @property
    def trace_symbols(self) -> dict[str, str]:
        """Trace name -> its LaTeX symbol at step t, for everything a traced run records."""
        return {n: s.at() for n, s in self.symbols.items() if s.kind != "hyper"}

    def defaults(self) -> dict[str, HyperValue]:
        """Every hyperparameter's default, by name."""
        return {h.name: h.default for h in self.hypers}

    def hyper(self, name: str) -> Hyper:
        for h in self.hypers:
            if h.name == name:
                return h
        raise KeyError(name)

    def settings(self, hyperparams: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults, then ``hyperparams``, then this entry's fixed settings."""
        return {**self.defaults(), **dict(hyperparams or {}), **self.fixed}

    def algorithm(self, hyperparams: Mapping[str, Any] | None = None) -> list[str]:
        """The algorithm for these settings (defaults otherwise), one LaTeX line per line."""
        h = Flags(self.settings(hyperparams))
        return [render_tex(line, self.symbols) for line in self.rule.algorithm(h)]

    @property
    def update_tex(self) -> str:
        """The algorithm with the default settings, as one LaTeX block of aligned lines."""
        return r"\begin{aligned}" + r" \\ ".join(self.algorithm()) + r"\end{aligned}"


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

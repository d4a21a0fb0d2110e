"""The traced form of an update rule: what every engine runs.

A rule's ``step`` (see :mod:`optimizers.base`) is plain Python arithmetic over one *lane*: one
coordinate of one run. Called with :class:`Value` placeholders instead of numbers it records
each operation once, in order, into a :class:`Graph`; the engines turn that graph into Python
source over floats (:mod:`optimizers.engines.scalar`), into in-place NumPy calls
(:mod:`optimizers.engines.vector`) or into torch operations compiled by inductor
(:mod:`optimizers.engines.compiled`). One definition, three engines, the same operations in the
same order: on + - * / maths they give the same bits.

Every value has a *rank*, the loop it belongs to:

* ``CONST``: a Python number, folded at trace time (``0 * x`` is 0, like torch skipping
  ``weight_decay == 0``);
* ``RUN``: one number per run, fixed for the whole run (``1 - beta1``): computed before the loop;
* ``STEP``: one number per run and step (``1 - beta1 ** t``, the learning rate of a schedule);
* ``LANE``: one number per run, step and coordinate (the moments, the new parameter).

and a *varying* flag: whether it can differ between the runs of one call (it depends on a
per-run hyperparameter array or on per-run state). The compiled engine computes shared STEP
values on the host, once per step, exactly as the scalar engine does.

``where(c, a, b)`` records which operations only one branch needs (:func:`guards`), so the
scalar engine evaluates only the branch taken, as torch does with a Python ``if`` (RAdam's
rectification is never evaluated while ρ_t <= 5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CONST, RUN, STEP, LANE = 0, 1, 2, 3
RANK_NAMES = ("const", "run", "step", "lane")

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "max": lambda a, b: a if a >= b else b,  # torch.maximum on non-NaN numbers
    "min": lambda a, b: a if a <= b else b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}
UNARY = {
    "neg": lambda a: -a,
    "sqrt": math.sqrt,
    "abs": abs,
    "sign": lambda a: 1.0 if a > 0 else (-1.0 if a < 0 else 0.0 * a),
    "not": lambda a: not a,
}
COMPARE = ("lt", "le", "gt", "ge", "eq", "ne", "not")
# operations of the oracle: the loss of a whole parameter vector, a standard normal per lane,
# a central-difference gradient; engines implement them with the objective they run
ORACLE = ("value", "normal", "fd_grad")

Number = float | int | bool


@dataclass
class Op:
    """One recorded operation: ``kind`` over ``args`` (node ids, or Python numbers)."""

    kind: str
    args: tuple[Any, ...]
    rank: int
    varying: bool
    name: str = ""  # inputs: their name


@dataclass
class Graph:
    """The operations of one traced step, in execution order (each node's id is its index)."""

    ops: list[Op] = field(default_factory=list)
    inputs: dict[str, int] = field(default_factory=dict)
    seen: dict[tuple[Any, ...], int] = field(default_factory=dict)  # for :func:`record`

    def add(self, op: Op) -> Value:
        self.ops.append(op)
        return Value(self, len(self.ops) - 1)

    def input(self, name: str, rank: int, varying: bool) -> Value:
        v = self.add(Op("input", (), rank, varying, name))
        self.inputs[name] = v.id
        return v


class Value:
    """A traced number: arithmetic on it records an operation in its graph."""

    __slots__ = ("graph", "id")

    def __init__(self, graph: Graph, id: int) -> None:
        self.graph = graph
        self.id = id

    @property
    def op(self) -> Op:
        return self.graph.ops[self.id]

    @property
    def rank(self) -> int:
        return self.op.rank

    def __repr__(self) -> str:
        op = self.op
        return f"Value(%{self.id} {op.kind}{op.name and ' ' + op.name} {RANK_NAMES[op.rank]})"

    def __bool__(self) -> bool:
        raise TypeError(
            "a traced value has no truth value: branch on flags only, and use xp.where for "
            "conditions on numbers"
        )

    def __add__(self, o: Any) -> Any:
        return record("add", self, o)

    def __radd__(self, o: Any) -> Any:
        return record("add", o, self)

    def __sub__(self, o: Any) -> Any:
        return record("sub", self, o)

    def __rsub__(self, o: Any) -> Any:
        return record("sub", o, self)

    def __mul__(self, o: Any) -> Any:
        return record("mul", self, o)

    def __rmul__(self, o: Any) -> Any:
        return record("mul", o, self)

    def __truediv__(self, o: Any) -> Any:
        return record("div", self, o)

    def __rtruediv__(self, o: Any) -> Any:
        return record("div", o, self)

    def __pow__(self, o: Any) -> Any:
        return record("pow", self, o)

    def __rpow__(self, o: Any) -> Any:
        return record("pow", o, self)

    def __neg__(self) -> Any:
        return record("neg", self)

    def __lt__(self, o: Any) -> Any:
        return record("lt", self, o)

    def __le__(self, o: Any) -> Any:
        return record("le", self, o)

    def __gt__(self, o: Any) -> Any:
        return record("gt", self, o)

    def __ge__(self, o: Any) -> Any:
        return record("ge", self, o)

    def __eq__(self, o: Any) -> Any:
        return record("eq", self, o)

    def __ne__(self, o: Any) -> Any:
        return record("ne", self, o)

    __hash__ = None  # type: ignore[assignment]


def _graph_of(args: Iterable[Any]) -> Graph | None:
    for a in args:
        if isinstance(a, Value):
            return a.graph
    return None


def _is(v: Any, number: float) -> bool:
    return not isinstance(v, Value) and not isinstance(v, bool) and v == number


def record(kind: str, *args: Any) -> Any:
    """Record ``kind(*args)``, or fold it: constants compute now, identities vanish."""
    graph = _graph_of(args)
    if graph is None:  # every argument is a Python number
        if kind in BINARY:
            return BINARY[kind](*args)
        if kind in UNARY:
            return UNARY[kind](*args)
        if kind == "where":
            return args[1] if args[0] else args[2]
        if kind == "lerp":
            a, b, w = args
            return a + w * (b - a) if w < 0.5 else b - (b - a) * (1 - w)
        raise ValueError(f"cannot fold {kind}")
    if kind in ("add", "sub") and _is(args[1], 0.0):
        return args[0]
    if kind == "add" and _is(args[0], 0.0):
        return args[1]
    if kind == "sub" and _is(args[0], 0.0):
        return record("neg", args[1])
    if kind == "mul":
        if _is(args[0], 0.0) or _is(args[1], 0.0):
            return 0.0  # like torch skipping a zero weight decay, momentum or dampening
        if _is(args[0], 1.0):
            return args[1]
        if _is(args[1], 1.0):
            return args[0]
    if kind == "div" and _is(args[1], 1.0):
        return args[0]
    if kind == "where" and not isinstance(args[0], Value):
        return args[1] if args[0] else args[2]
    if kind == "where" and (
        args[1] is args[2]
        or (
            not isinstance(args[1], Value) and not isinstance(args[2], Value) and args[1] == args[2]
        )
    ):
        return args[1]
    ops = graph.ops
    rank = max((ops[a.id].rank for a in args if isinstance(a, Value)), default=CONST)
    varying = any(ops[a.id].varying for a in args if isinstance(a, Value))
    if kind in ("value", "fd_grad"):
        rank = STEP if kind == "value" else LANE
    elif kind == "normal":
        rank, varying = LANE, True
    refs = tuple(a.id if isinstance(a, Value) else a for a in args)
    if kind in ORACLE:  # a draw is new each time it is asked for
        return graph.add(Op(kind, refs, rank, varying))
    # the same operation on the same operands is the same number: record it once (``-lr`` in
    # two coefficients is one negation), keyed by the constants' exact values (0.0 is not -0.0)
    key = (kind, *(("%", a.id) if isinstance(a, Value) else (type(a), repr(a)) for a in args))
    known = graph.seen.get(key)
    if known is not None:
        return Value(graph, known)
    v = graph.add(Op(kind, refs, rank, varying))
    graph.seen[key] = v.id
    return v


# ---------------------------------------------------------------- the namespace rules call


class Xp:
    """What a rule's ``step`` calls besides + - * / ** and comparisons."""

    @staticmethod
    def is_zero(a: Any) -> bool:
        """Whether ``a`` is the constant 0 in every run of this call (a static question: a
        hyperparameter that is 0 everywhere is folded, like torch skipping it)."""
        return not isinstance(a, Value) and not isinstance(a, bool) and a == 0

    @staticmethod
    def sqrt(a: Any) -> Any:
        return record("sqrt", a)

    @staticmethod
    def abs(a: Any) -> Any:
        return record("abs", a)

    @staticmethod
    def sign(a: Any) -> Any:
        return record("sign", a)

    @staticmethod
    def maximum(a: Any, b: Any) -> Any:
        return record("max", a, b)

    @staticmethod
    def minimum(a: Any, b: Any) -> Any:
        return record("min", a, b)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        """``a`` where ``cond`` holds, else ``b`` (only the branch taken is computed where the
        engine can: the scalar engine; the others compute both and select)."""
        return record("where", cond, a, b)

    @staticmethod
    def logical_not(a: Any) -> Any:
        return record("not", a)

    @staticmethod
    def lerp(a: Any, b: Any, w: Any) -> Any:
        """torch.lerp: ``a + w (b - a)`` for w < 0.5, else ``b - (b - a)(1 - w)``."""
        return record("lerp", a, b, w)

    @staticmethod
    def fma(a: Any, b: Any, c: Any) -> Any:
        """``a * b + c`` rounded once, as torch's fused CPU kernels compute ``addcmul`` and
        ``add(alpha=)``: Dekker's exact product and Knuth's exact sum, in + - * only, so every
        engine reproduces it. Needed only where an ulp is amplified (centered RMSprop's
        v - ḡ², a small difference of large numbers)."""
        split = 134217729.0  # 2**27 + 1, Veltkamp's splitting constant for float64
        p = a * b
        k = split * a
        ah = k - (k - a)
        al = a - ah
        k = split * b
        bh = k - (k - b)
        bl = b - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a * b == p + e exactly
        s = p + c
        z = s - p
        err = (p - (s - z)) + (c - z)  # p + c == s + err exactly
        return s + (err + e)

    # the oracle: rules that use the loss instead of the gradient
    @staticmethod
    def value(params: Any) -> Any:
        """The loss at the parameter vector whose lanes are ``params`` (this step's batch)."""
        return record("value", params)

    @staticmethod
    def normal() -> Any:
        """A fresh standard normal per lane and step (random search's proposals)."""
        graph = _CURRENT[-1]
        v = graph.add(Op("normal", (), LANE, True))
        return v

    @staticmethod
    def fd_grad(params: Any, h: Any) -> Any:
        """The central-difference gradient (L(θ + h e_i) - L(θ - h e_i)) / 2h, lane i."""
        return record("fd_grad", params, h)


XP = Xp()
_CURRENT: list[Graph] = []


# ---------------------------------------------------------------- tracing a rule


@dataclass
class Traced:
    """A rule's step as a graph, with the ids of its outputs."""

    graph: Graph
    param: Any  # node id or Python number: the new parameter
    state: dict[str, Any]  # field -> node id or number (the new state)
    state_in: dict[str, int]  # field -> input node id (the old state)
    trace: dict[str, Any]  # name -> node id or number
    init: dict[str, Any]  # field -> node id or number (RUN rank at most)
    run_fields: tuple[str, ...]
    hyper_inputs: dict[str, int]


def as_ref(v: Any) -> Any:
    """A step output as a node id (int) or a Python float constant."""
    if isinstance(v, Value):
        return v.id
    if isinstance(v, bool):
        return float(v)
    return float(v)


def trace_rule(
    rule: Any,
    flags: Mapping[str, Any],
    hypers: Mapping[str, str],
    lr_varying: bool,
    batched: bool = False,
    lr_fixed: bool = False,
) -> Traced:
    """Trace ``rule`` for one call signature.

    ``flags``: the static hyperparameters (bools, choices) by name; ``hypers``: every numeric
    hyperparameter's kind in this call: "zero" (0 in every run: folded away), "shared" (one
    number for all runs) or "varying" (a per-run array); ``batched``: whether the loss changes
    from step to step (mini-batches), visible to the rule as ``h.batched``; ``lr_fixed``: the
    learning rate is the same at every step (no schedule), so it ranks as a RUN value and what
    the rule computes from it alone (``-lr``) can be computed once, before the loop.
    """
    g = Graph()
    _CURRENT.append(g)
    try:
        h: dict[str, Any] = {**flags, "batched": batched}
        for name, kind in hypers.items():
            h[name] = 0.0 if kind == "zero" else g.input(f"h:{name}", RUN, kind == "varying")
        ns = HyperNamespace(h)
        init = rule.init(ns)
        fields = rule.state._fields
        init_d = {f: as_ref(getattr(init, f)) for f in fields}
        p = g.input("param", LANE, True)
        grad = g.input("grad", LANE, True) if rule.uses == "grad" else 0.0
        state_in = {
            f: g.input(f"s:{f}", STEP if f in rule.run_fields else LANE, True) for f in fields
        }
        t = g.input("t", STEP, False)
        lr = g.input("lr", RUN if lr_fixed else STEP, lr_varying)
        s = rule.state(**state_in)
        out = rule.step(p, grad, s, ns, t, lr, XP)
        trace = {k: as_ref(v) for k, v in out.trace.items()}
        trace["update"] = as_ref(out.param - p)  # the step taken, decay included
        return Traced(
            graph=g,
            param=as_ref(out.param),
            state={f: as_ref(getattr(out.state, f)) for f in fields},
            state_in={f: v.id for f, v in state_in.items()},
            trace=trace,
            init=init_d,
            run_fields=tuple(rule.run_fields),
            hyper_inputs={n: g.inputs[f"h:{n}"] for n in hypers if f"h:{n}" in g.inputs},
        )
    finally:
        _CURRENT.pop()


class HyperNamespace:
    """``h.beta1`` in a rule: a traced input, 0.0 (zero in every run) or a flag's value."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the rule reads hyperparameter {name!r}, which it does not declare")


# ---------------------------------------------------------------- analyses the engines share


def live(graph: Graph, roots: Iterable[Any]) -> list[bool]:
    """Which nodes the outputs ``roots`` (ids or constants) need."""
    need = [False] * len(graph.ops)
    stack = [r for r in roots if isinstance(r, int) and not isinstance(r, bool)]
    while stack:
        i = stack.pop()
        if need[i]:
            continue
        need[i] = True
        stack.extend(a for a in graph.ops[i].args if _is_ref(a))
    return need


def _is_ref(a: Any) -> bool:
    return isinstance(a, int) and not isinstance(a, bool)


def uses(graph: Graph, need: list[bool]) -> list[list[int]]:
    """For each node, the live nodes that read it."""
    out: list[list[int]] = [[] for _ in graph.ops]
    for i, op in enumerate(graph.ops):
        if need[i]:
            for a in op.args:
                if _is_ref(a):
                    out[a].append(i)
    return out


Guard = tuple[tuple[int, bool], ...]


def guards(graph: Graph, need: list[bool], roots: Iterable[Any]) -> list[Guard | None]:
    """For each live node, the conditions it is computed under (outermost first): () if always.
    A node that only the "true" side of ``where(c, a, b)`` needs gets ((c, True),); a node both
    sides of different wheres on the same condition c need is still guarded by c."""
    root_set = {r for r in roots if _is_ref(r)}
    readers = uses(graph, need)
    out: list[Guard | None] = [None] * len(graph.ops)
    for i in range(len(graph.ops) - 1, -1, -1):
        if not need[i]:
            continue
        paths: list[Guard] = [()] if i in root_set else []
        for r in readers[i]:
            gr = out[r]
            assert gr is not None
            op = graph.ops[r]
            if op.kind == "where" and op.args[0] != i and op.args[1] != op.args[2]:
                paths.append((*gr, (op.args[0], op.args[1] == i)))
            else:
                paths.append(gr)
        out[i] = _common_prefix(paths)
    return out


def _common_prefix(paths: list[Guard]) -> Guard:
    if not paths:
        return ()
    first = paths[0]
    n = len(first)
    for p in paths[1:]:
        n = min(n, len(p))
        for j in range(n):
            if p[j] != first[j]:
                n = j
                break
    return first[:n]


FLOAT_FNS: dict[str, Callable[..., Any]] = {
    **BINARY,
    **UNARY,
    "where": lambda c, a, b: a if c else b,
    "lerp": lambda a, b, w: a + w * (b - a) if w < 0.5 else b - (b - a) * (1.0 - w),
}


def evaluate_floats(traced: Traced, env: dict[int, Any], ranks: tuple[int, ...]) -> None:
    """Evaluate the nodes of ``ranks`` that are one number for all runs, in Python floats, as
    the scalar engine computes them; ``env`` holds the inputs and receives the values. A
    Python error (1/0 under a guard that does not hold) gives NaN."""
    for i, op in enumerate(traced.graph.ops):
        if op.kind == "input" or op.varying or op.rank not in ranks or i in env:
            continue
        args = [env[a] if _is_ref(a) else a for a in op.args]
        try:
            env[i] = FLOAT_FNS[op.kind](*args)
        except (ArithmeticError, ValueError):
            env[i] = math.nan


def initial_state(traced: Traced, hypers: Mapping[str, Any]) -> dict[str, Any]:
    """Each state field's initial value (a float) for one run's hyperparameters."""
    env = {i: float(hypers[n]) for n, i in traced.hyper_inputs.items()}
    evaluate_floats(traced, env, (CONST, RUN))
    return {f: (env[r] if _is_ref(r) else r) for f, r in traced.init.items()}


def evaluate(
    traced: Traced,
    values: dict[str, Any],
    fns: Mapping[str, Callable[..., Any]],
) -> dict[int, Any]:
    """Run the graph eagerly with ``fns`` (op kind -> function over some array type); inputs
    by name. Used by the compiled engine (torch) and by tests."""
    env: dict[int, Any] = {}
    for i, op in enumerate(traced.graph.ops):
        if op.kind == "input":
            env[i] = values[op.name]
            continue
        args = [env[a] if _is_ref(a) else a for a in op.args]
        env[i] = fns[op.kind](*args)
    return env


# operations that cannot raise on Python floats: a guarded one may run unconditionally
SAFE = frozenset({"add", "sub", "mul", "neg", "abs", "sign", "max", "min", "where", "lerp", "not"})
SAFE |= frozenset(COMPARE)


def schedule(graph: Graph, need: list[bool], roots: Iterable[Any]) -> list[tuple[int, Guard]]:
    """The live operations in an order that defines every condition before the statements it
    guards, each with its guard. A per-run value (RUN rank) that cannot raise loses its guard
    when its arguments have none, so that it can be computed once before the loop."""
    g = guards(graph, need, roots)
    ops = graph.ops
    eff: dict[int, Guard] = {}
    for i, op in enumerate(ops):
        if not need[i]:
            continue
        gd = g[i] or ()
        if (
            gd
            and op.rank <= RUN
            and op.kind in SAFE
            and all(eff.get(a, ()) == () for a in op.args if _is_ref(a))
        ):
            gd = ()
        eff[i] = gd
    done: set[int] = set()
    out: list[tuple[int, Guard]] = []
    pending: list[int] = []

    def ready(i: int) -> bool:
        args = [a for a in ops[i].args if _is_ref(a)]
        conds = [c for c, _ in eff[i]]
        return all(a in done for a in args + conds)

    for i in range(len(ops)):
        if not need[i]:
            continue
        pending.append(i)
        progress = True
        while progress:
            progress = False
            for j in list(pending):
                if ready(j):
                    pending.remove(j)
                    done.add(j)
                    out.append((j, eff[j]))
                    progress = True
    assert not pending, "a guard's condition is never computed"
    return out

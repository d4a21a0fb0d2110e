"""Expression trees of typed-in formulas: our own nodes, exact derivatives, array programs.

Three small frozen node types (:class:`Num`, :class:`Var`, :class:`Apply`) hold a formula;
nothing here ever evaluates text. :data:`OPS` lists every operation once, as data: arity,
how it is written, its value in an :class:`~surfaces.base.Ops` namespace and, beside it, its
derivative rule (micrograd's layout: the maths and its derivative side by side).

* :class:`Builder` makes nodes: interned (one object per distinct subexpression, so a
  derivative's repeated parts are computed once) and lightly simplified (constant folding,
  ``a + 0``, ``1 * a``, ``a / 1``; with ``exact=False`` also ``0 * a`` and ``a ^ 0``, which
  are not exact for NaN or inf and so are used for derivatives only).
* :func:`derivative` differentiates symbolically, iteratively (no recursion limit).
* :class:`Program` lowers roots to a straight-line list of instructions over registers and runs
  it on floats, NumPy arrays or torch tensors: the same operations in the same order on every
  namespace, so the engines agree bit for bit on + - * / and integer powers (integer powers
  are repeated multiplication, not ``pow``, whose SIMD versions differ by an ulp).
* :func:`to_text` and :func:`to_latex` print a tree with the fewest parentheses that keep it.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from surfaces.base import NUMPY, SCALAR, Arr, Ops

# ---------------------------------------------------------------- nodes


@dataclass(frozen=True)
class Num:
    """A constant. ``text`` is how it was typed ("1e-3", "pi"), for display only."""

    value: float
    text: str = field(default="", compare=False)
    col: int = field(default=0, compare=False, repr=False)

    def __hash__(self) -> int:
        return hash(("num", self.value))


@dataclass(frozen=True)
class Var:
    """The variable x or y."""

    name: str
    col: int = field(default=0, compare=False, repr=False)

    def __hash__(self) -> int:
        return hash(("var", self.name))


@dataclass(frozen=True)
class Apply:
    """An operation of :data:`OPS` on its arguments; ``col`` is where it was typed (1-based)."""

    op: str
    args: tuple[Expr, ...]
    col: int = field(default=0, compare=False, repr=False)
    _hash: int = field(default=0, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # children are hashed once, when they are made: hashing a node is O(1), not O(size)
        object.__setattr__(self, "_hash", hash((self.op, self.args)))

    def __hash__(self) -> int:
        return self._hash


Expr = Num | Var | Apply

ZERO, ONE, TWO, HALF = Num(0.0), Num(1.0), Num(2.0), Num(0.5)


def children(e: Expr) -> tuple[Expr, ...]:
    return e.args if isinstance(e, Apply) else ()


def postorder(roots: Iterable[Expr], seen: set[Expr] | None = None) -> Iterator[Expr]:
    """Every distinct node under ``roots``, children before parents, without recursion."""
    seen = set() if seen is None else seen
    for root in roots:
        if root in seen:
            continue
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                yield node
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children(node)) if c not in seen)


def size(e: Expr) -> int:
    """Number of nodes of the tree as written (shared subtrees counted each time)."""
    n, stack = 0, [e]
    while stack:
        node = stack.pop()
        n += 1
        stack.extend(children(node))
    return n


# ---------------------------------------------------------------- operations


def _powi(a: Arr, n: float) -> Arr:
    """a^n for an integer n by repeated squaring: only multiplications (and one division)."""
    k = int(n)
    if k == 0:
        return a * 0.0 + 1.0
    m, base = abs(k), a
    while not m & 1:  # the lowest set bit starts the product
        base = base * base
        m >>= 1
    result = base
    m >>= 1
    while m:
        base = base * base
        if m & 1:
            result = result * base
        m >>= 1
    return 1.0 / result if k < 0 else result


Rule = Callable[["Builder", Apply, Sequence[Expr], Sequence[Expr]], Expr]


@dataclass(frozen=True)
class Op:
    """One operation: its arity, its value on a namespace, its derivative, how it prints.

    ``value(xp)`` returns the function to apply; ``rule(b, node, args, dargs)`` builds the
    derivative of ``node`` from its arguments and their derivatives (chain rule included).
    """

    name: str
    arity: int
    value: Callable[[Ops], Callable[..., Arr]]
    rule: Rule
    latex: str = ""  # LaTeX command of a function ("\\sin"); operators print themselves


def _d_pow(b: Builder, n: Apply, a: Sequence[Expr], d: Sequence[Expr]) -> Expr:
    u, v = a
    du, dv = d
    if isinstance(v, Num):  # c u^(c-1) u' (torch's pow backward)
        return b.mul(b.mul(v, b.pow(u, b.num(v.value - 1.0))), du)
    if isinstance(u, Num):  # c^v log(c) v'
        return b.mul(b.mul(n, b.apply("log", u)), dv)
    left = b.mul(b.mul(v, b.pow(u, b.sub(v, ONE))), du)
    return b.add(left, b.mul(b.mul(n, b.apply("log", u)), dv))


def _d_select(first: bool) -> Rule:
    """min (first=True picks the smaller) or max: w a' + (1 - w) b', w = 1, 1/2 or 0.

    w = 1/2 at a tie is torch's choice for minimum/maximum (the gradient split evenly).
    """

    def rule(b: Builder, _n: Apply, a: Sequence[Expr], d: Sequence[Expr]) -> Expr:
        u, v = a
        du, dv = d
        diff = b.sub(v, u) if first else b.sub(u, v)
        w = b.add(HALF, b.mul(HALF, b.apply("sign", diff)))
        return b.add(b.mul(w, du), b.mul(b.sub(ONE, w), dv))

    return rule


def _fn(name: str) -> Callable[[Ops], Callable[..., Arr]]:
    return lambda xp: getattr(xp, name)


def _const(f: Callable[..., Arr]) -> Callable[[Ops], Callable[..., Arr]]:
    return lambda _xp: f


OPS: dict[str, Op] = {
    o.name: o
    for o in (
        Op("+", 2, _const(operator.add), lambda b, _n, _a, d: b.add(d[0], d[1])),
        Op("-", 2, _const(operator.sub), lambda b, _n, _a, d: b.sub(d[0], d[1])),
        Op(
            "*",
            2,
            _const(operator.mul),
            lambda b, _n, a, d: b.add(b.mul(d[0], a[1]), b.mul(a[0], d[1])),
        ),
        # (u/v)' = u'/v - v' (u/v)/v (torch's div backward)
        Op(
            "/",
            2,
            _fn("divide"),
            lambda b, n, a, d: b.sub(b.div(d[0], a[1]), b.mul(d[1], b.div(n, a[1]))),
        ),
        Op("neg", 1, _const(operator.neg), lambda b, _n, _a, d: b.neg(d[0])),
        # u^k for a constant integer k: k u^(k-1) u'
        Op(
            "powi",
            2,
            _const(_powi),
            lambda b, _n, a, d: b.mul(b.mul(a[1], b.pow(a[0], b.num(_num(a[1]) - 1.0))), d[0]),
        ),
        Op("^", 2, _fn("pow"), _d_pow),
        Op("exp", 1, _fn("exp"), lambda b, n, _a, d: b.mul(n, d[0]), "\\exp"),
        Op("log", 1, _fn("log"), lambda b, _n, a, d: b.div(d[0], a[0]), "\\ln"),
        Op("sqrt", 1, _fn("sqrt"), lambda b, n, _a, d: b.div(d[0], b.mul(TWO, n)), "\\sqrt"),
        Op("sin", 1, _fn("sin"), lambda b, _n, a, d: b.mul(b.apply("cos", a[0]), d[0]), "\\sin"),
        Op(
            "cos",
            1,
            _fn("cos"),
            lambda b, _n, a, d: b.mul(b.neg(b.apply("sin", a[0])), d[0]),
            "\\cos",
        ),
        Op("tan", 1, _fn("tan"), lambda b, n, _a, d: b.mul(b.add(ONE, b.mul(n, n)), d[0]), "\\tan"),
        Op(
            "tanh",
            1,
            _fn("tanh"),
            lambda b, n, _a, d: b.mul(b.sub(ONE, b.mul(n, n)), d[0]),
            "\\tanh",
        ),
        Op(
            "sinh",
            1,
            _fn("sinh"),
            lambda b, _n, a, d: b.mul(b.apply("cosh", a[0]), d[0]),
            "\\sinh",
        ),
        Op(
            "cosh",
            1,
            _fn("cosh"),
            lambda b, _n, a, d: b.mul(b.apply("sinh", a[0]), d[0]),
            "\\cosh",
        ),
        Op(
            "arctan",
            1,
            _fn("arctan"),
            lambda b, _n, a, d: b.div(d[0], b.add(ONE, b.mul(a[0], a[0]))),
            "\\arctan",
        ),
        Op("abs", 1, _fn("abs"), lambda b, _n, a, d: b.mul(b.apply("sign", a[0]), d[0])),
        Op("sign", 1, _fn("sign"), lambda _b, _n, _a, _d: ZERO, "\\operatorname{sign}"),
        Op("min", 2, _fn("minimum"), _d_select(True), "\\min"),
        Op("max", 2, _fn("maximum"), _d_select(False), "\\max"),
    )
}

FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh", "arctan")
FUNCTIONS2 = ("min", "max")


def _num(e: Expr) -> float:
    assert isinstance(e, Num)
    return e.value


# ---------------------------------------------------------------- domain errors


def why_nonfinite(op: str, args: Sequence[float], result: float) -> str:
    """Why ``op(args)`` gave the non-finite ``result`` from finite ``args``, in words."""
    a = args[0] if args else math.nan
    if op == "log":
        return "log of zero" if a == 0.0 else "log of a negative number"
    if op == "sqrt":
        return "square root of a negative number"
    if op == "/" and args[1] == 0.0:
        return "division by zero"
    if op == "powi" and a == 0.0 and args[1] < 0:
        return "division by zero (0 to a negative power)"
    if op == "^":
        b = args[1]
        if a == 0.0 and b < 0.0:
            return "zero to a negative power"
        if a < 0.0 and b != round(b):
            return "a negative number to a fractional power"
    if op == "tan" and math.isinf(result):
        return "tan at an odd multiple of pi/2"
    if math.isinf(result):
        return "overflow (a result beyond ±1.8e308)"
    return "an undefined result (not a number)"


def fold(op: str, values: Sequence[float]) -> float:
    """``op`` on Python floats; ValueError saying why (:func:`why_nonfinite`) for a domain
    error or an overflow, including a non-finite result of finite arguments."""
    try:
        result = float(OPS[op].value(SCALAR)(*values))
    except (ArithmeticError, ValueError):
        result = math.nan
    if not math.isfinite(result):
        with np.errstate(all="ignore"):
            result = float(OPS[op].value(NUMPY)(*(np.float64(v) for v in values)))
        raise ValueError(why_nonfinite(op, values, result))
    return result


# ---------------------------------------------------------------- building


class LimitError(ValueError):
    """A derivative grew beyond a node or time limit (the message names the limit)."""


class Builder:
    """Makes interned, lightly simplified nodes.

    exact=True (the formula as typed): folds constants and drops ``+ 0``, ``* 1``, ``/ 1``,
    ``^ 1``, double negation, all exact for every float; a constant operation that fails
    raises (ArithmeticError or ValueError). exact=False (derivatives): also ``0 * a -> 0``,
    ``0 / a -> 0``, ``a ^ 0 -> 1``, and a failing constant operation folds to the NaN or inf
    it evaluates to (which stops a run wherever it is used). So no operation of a built tree
    has only constant arguments.

    ``max_nodes`` and ``deadline`` (a ``time.monotonic()`` value) bound the work: past either,
    :class:`LimitError`.
    """

    def __init__(
        self, *, exact: bool, max_nodes: int | None = None, deadline: float | None = None
    ) -> None:
        self.exact = exact
        self.max_nodes = max_nodes
        self.deadline = deadline
        self._table: dict[Expr, Expr] = {}

    @property
    def count(self) -> int:
        """Distinct nodes made so far."""
        return len(self._table)

    def intern(self, e: Expr) -> Expr:
        got = self._table.setdefault(e, e)
        if got is e:
            n = len(self._table)
            if self.max_nodes is not None and n > self.max_nodes:
                raise LimitError(
                    f"derivative limit: the gradient and Hessian need more than "
                    f"{self.max_nodes} distinct operations"
                )
            if self.deadline is not None and n % 64 == 0 and time.monotonic() > self.deadline:
                raise LimitError("time limit: differentiating the formula took too long")
        return got

    def num(self, v: float) -> Expr:
        return self.intern(Num(0.0 if v == 0.0 else float(v)))  # one zero: no -0.0

    def var(self, name: str) -> Expr:
        return self.intern(Var(name))

    def apply(self, op: str, *args: Expr, col: int = 0) -> Expr:
        if all(isinstance(a, Num) for a in args):
            values = [_num(a) for a in args]
            try:
                return self.num(fold(op, values))
            except (ArithmeticError, ValueError):
                if self.exact:
                    raise
            with np.errstate(all="ignore"):  # the NaN or inf it evaluates to
                return self.num(float(OPS[op].value(NUMPY)(*(np.float64(v) for v in values))))
        return self.intern(Apply(op, tuple(args), col))

    # the simplifying constructors
    def add(self, a: Expr, b: Expr) -> Expr:
        if _is(a, 0.0):
            return b
        if _is(b, 0.0):
            return a
        return self.apply("+", a, b)

    def sub(self, a: Expr, b: Expr) -> Expr:
        if _is(b, 0.0):
            return a
        if _is(a, 0.0):
            return self.neg(b)
        return self.apply("-", a, b)

    def mul(self, a: Expr, b: Expr) -> Expr:
        if not self.exact and (_is(a, 0.0) or _is(b, 0.0)):
            return ZERO
        for p, q in ((a, b), (b, a)):
            if _is(p, 1.0):
                return q
            if _is(p, -1.0):
                return self.neg(q)
        return self.apply("*", a, b)

    def div(self, a: Expr, b: Expr) -> Expr:
        if _is(b, 1.0):
            return a
        if not self.exact and _is(a, 0.0):
            return ZERO
        return self.apply("/", a, b)

    def neg(self, a: Expr) -> Expr:
        if isinstance(a, Apply) and a.op == "neg":
            return a.args[0]
        return self.apply("neg", a)

    def pow(self, a: Expr, b: Expr, col: int = 0) -> Expr:
        """a^b; a constant integer exponent becomes ``powi`` (multiplications)."""
        if isinstance(b, Num):
            if b.value == 1.0:
                return a
            if b.value == 0.0 and not self.exact:
                return ONE
            if b.value == round(b.value) and abs(b.value) <= 1024:
                return self.apply("powi", a, b, col=col)
        if isinstance(a, Num) and a.value == math.e:
            return self.apply("exp", b, col=col)
        return self.apply("^", a, b, col=col)


def _is(e: Expr, v: float) -> bool:
    return isinstance(e, Num) and e.value == v


def derivative(b: Builder, root: Expr, var: str, memo: dict[Expr, Expr]) -> Expr:
    """d root / d var, built with ``b`` (exact=False); ``memo`` (node -> derivative) is shared
    between calls for the same variable, so the Hessian reuses the gradient's work."""
    for node in postorder([root], set(memo)):
        if isinstance(node, Num):
            memo[node] = ZERO
        elif isinstance(node, Var):
            memo[node] = ONE if node.name == var else ZERO
        else:
            d = [memo[c] for c in node.args]
            if all(_is(x, 0.0) for x in d):
                memo[node] = ZERO
            else:
                memo[node] = OPS[node.op].rule(b, node, node.args, d)
    return memo[root]


# ---------------------------------------------------------------- programs


@dataclass(frozen=True)
class Program:
    """Roots lowered to straight-line code: registers 0 and 1 hold x and y, then the constants,
    then one register per instruction. ``nodes[i]`` is the node instruction i computes."""

    consts: tuple[float, ...]
    code: tuple[tuple[str, int, int], ...]  # (op, first argument, second argument or -1)
    outputs: tuple[int, ...]
    nodes: tuple[Apply, ...]
    _bound: dict[int, tuple[Any, ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @staticmethod
    def of(roots: Sequence[Expr]) -> Program:
        reg: dict[Expr, int] = {Var("x"): 0, Var("y"): 1}
        consts: list[float] = []
        for k in postorder(roots):
            if isinstance(k, Num) and k not in reg:
                reg[k] = 2 + len(consts)
                consts.append(k.value)
        base = 2 + len(consts)
        code: list[tuple[str, int, int]] = []
        nodes: list[Apply] = []
        for n in postorder(roots):
            if isinstance(n, Apply):
                a = [reg[c] for c in n.args]
                reg[n] = base + len(code)
                code.append((n.op, a[0], a[1] if len(a) > 1 else -1))
                nodes.append(n)
        return Program(tuple(consts), tuple(code), tuple(reg[r] for r in roots), tuple(nodes))

    def bind(self, xp: Ops) -> tuple[Any, ...]:
        """The code with each op resolved to ``xp``'s function (cached per namespace)."""
        got = self._bound.get(id(xp))
        if got is None:
            fns = {op: OPS[op].value(xp) for op in {c[0] for c in self.code}}
            got = (xp, tuple((fns[op], i, j) for op, i, j in self.code))
            self._bound[id(xp)] = got
        return tuple(got[1])

    def registers(self, x: Arr, y: Arr, xp: Ops) -> list[Arr]:
        """Every register after running the code on (x, y)."""
        r = [x, y, *self.consts]
        app = r.append
        for f, i, j in self.bind(xp):
            app(f(r[i]) if j < 0 else f(r[i], r[j]))
        return r

    def run(self, x: Arr, y: Arr, xp: Ops) -> list[Arr]:
        """The outputs at (x, y): floats, or arrays / tensors of the shape of x."""
        r = self.registers(x, y, xp)
        return [r[k] for k in self.outputs]


# ---------------------------------------------------------------- printing

# binding strength: sums 1, products 2, unary minus 3, powers 4, atoms and calls 5
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "^": 4, "powi": 4}


def _prec(e: Expr) -> int:
    if isinstance(e, Num):
        return 3 if e.value < 0 or e.text.startswith("-") else 5
    if isinstance(e, Var):
        return 5
    return _PREC.get(e.op, 5)


def format_number(v: float) -> str:
    """Shortest text that reads back as ``v``: 2 rather than 2.0."""
    if v == int(v) and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def _printer(latex: bool) -> Callable[[Expr], str]:
    def wrap(s: str) -> str:
        return f"\\left({s}\\right)" if latex else f"({s})"

    def number(n: Num) -> str:
        t = n.text or format_number(n.value)
        if not latex:
            return t
        if t == "pi":
            return "\\pi"
        mant, _, ex = t.lower().partition("e")
        if ex and mant:
            return f"{mant} \\times 10^{{{int(ex)}}}"
        return t

    def show(e: Expr) -> str:
        """Iterative: each node's text from its children's, children first."""
        done: dict[int, str] = {}
        for node in tree_postorder(e):
            done[id(node)] = one(node, [done[id(c)] for c in children(node)])
        return done[id(e)]

    def one(e: Expr, parts: list[str]) -> str:
        if isinstance(e, Num):
            return number(e)
        if isinstance(e, Var):
            return e.name
        op, args = e.op, e.args
        if op in ("+", "-", "*", "/"):
            if op == "/" and latex:
                return f"\\frac{{{parts[0]}}}{{{parts[1]}}}"
            p = _PREC[op]
            left = parts[0] if _prec(args[0]) >= p else wrap(parts[0])
            right = parts[1] if _prec(args[1]) > p and _prec(args[1]) != 3 else wrap(parts[1])
            sym = f" {op} "
            if op == "*":
                # 2 x, 2 sin(x) read better than 2 · x in LaTeX; a digit on the right needs ·
                plain = isinstance(args[0], Num) and not right[:1].isdigit()
                sym = (" " if plain else " \\cdot ") if latex else "*"
            return f"{left}{sym}{right}"
        if op == "neg":
            return "-" + (parts[0] if _prec(args[0]) > 3 else wrap(parts[0]))
        if op in ("^", "powi"):
            base = parts[0] if _prec(args[0]) == 5 else wrap(parts[0])
            if latex:
                return f"{base}^{{{parts[1]}}}"
            ex = parts[1] if _prec(args[1]) >= 4 else wrap(parts[1])
            return f"{base}^{ex}"
        if latex:
            if op == "sqrt":
                return f"\\sqrt{{{parts[0]}}}"
            if op == "abs":
                return f"\\left|{parts[0]}\\right|"
            return f"{OPS[op].latex}{wrap(', '.join(parts))}"
        return f"{op}({', '.join(parts)})"

    return show


def tree_postorder(root: Expr) -> list[Expr]:
    """Every node of the tree as written (shared subtrees visited each time), children first."""
    out: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            out.append(node)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children(node)))
    return out


to_text = _printer(latex=False)
to_text.__doc__ = "The formula as plain text, e.g. ``(x^2 - 1)^2 + y^2``."
to_latex = _printer(latex=True)
to_latex.__doc__ = "The formula in LaTeX, e.g. ``\\left(x^{2} - 1\\right)^{2} + y^{2}``."

"""Your own surface: f(x, y) typed as text, parsed safely, differentiated exactly.

>>> import surfaces
>>> s = surfaces.formula("(x^2 - 1)^2 + y^2")
>>> s.grad_scalar(2.0, 1.0), [p.xy for p in s.minima], [p.xy for p in s.saddles]
((24.0, 2.0), [(-1.0, 0.0), (1.0, 0.0)], [(0.0, 0.0)])

Safety: the text goes through length, character and nesting checks, then the LALR grammar
below (Lark), into our own tree (:mod:`surfaces.expr`). Nothing is ever passed to ``eval``,
``exec``, ``compile``, sympy's parser or numexpr. Every refusal is a :class:`FormulaError`
(a ValueError) that says what, where (column and a caret line) and, for syntax errors, what
was expected; each limit names itself ("length limit", "nesting limit", "size limit",
"exponent limit", "derivative limit", "time limit").

The surface is an ordinary :class:`~surfaces.base.Surface` named ``"custom"``, built by
``make_surface`` from an :class:`~surfaces.base.Analytic` model like the registered analytic
surfaces, so every engine and the mini-batch noise construction accept it. It is registered
(:data:`SPEC`, ``surfaces.get("custom", formula=..., x_min=..., noise=...)``) like every other
surface: its parameters are the formula text (a "text" :class:`~surfaces.base.Param` whose
``parse`` is :func:`compile_formula`), the four optional bounds (left out, they are chosen
from f) and the noise; ``surface.params`` holds the bounds it was built with, so it rebuilds
exactly (share links, pickling).

Note: ``surfaces.formula`` is the function; import this module's other names with
``from surfaces.formula import ...``.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from surfaces import expr as E
from surfaces.base import (
    CUSTOM,
    NOISE,
    NUMPY,
    SCALAR,
    Analytic,
    Arr,
    Bounds,
    GradFn,
    Ops,
    Param,
    Params,
    Point,
    Surface,
    SurfaceSpec,
    ValueFn,
    make_surface,
)
from surfaces.critical import label_minima

# ---------------------------------------------------------------- limits

MAX_LENGTH = 300  # characters
MAX_DEPTH = 40  # nested parentheses (function calls included)
MAX_NODES = 200  # numbers, variables and operations in the tree as written
MAX_EXPONENT = 100.0  # |c| for a constant exponent c
MAX_DERIVATIVE_NODES = 20_000  # distinct operations in f, its gradient and its Hessian
DERIVATIVE_SECONDS = 1.0
SEARCH_SECONDS = 3.0  # finding the critical points (and, without bounds, choosing the bounds)
MAX_COORD = 1e4  # |bound|
MIN_SPAN, MAX_SPAN = 1e-3, 2e4  # xmax - xmin, ymax - ymin
MAX_POINTS = 32  # minima (lowest first) and saddles kept

# ---------------------------------------------------------------- the grammar

GRAMMAR = r"""
// f(x, y): sums of products of (signed) powers of atoms. Powers are right-associative and
// bind tighter than unary minus: -x^2 = -(x^2), 2^3^2 = 2^9, x^-2 = 1/x^2.
?start: sum

?sum: product
    | sum PLUS product      -> add
    | sum MINUS product     -> sub

?product: unary
    | product STAR unary    -> mul
    | product SLASH unary   -> div

?unary: power
    | MINUS unary           -> neg
    | PLUS unary            -> pos

?power: atom
    | atom POW unary        -> pow

?atom: NUMBER               -> number
    | VAR                   -> var
    | CONST                 -> const
    | FUNC _LPAR sum _RPAR  -> call
    | FUNC2 _LPAR sum _COMMA sum _RPAR -> call
    | _LPAR sum _RPAR

PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
POW: "**" | "^"
_LPAR: "("
_RPAR: ")"
_COMMA: ","
VAR: "x" | "y"
CONST: "pi" | "e"
// longest names first: the lexer takes the first alternative that matches
FUNC: /arctan|atan|sinh|cosh|tanh|sqrt|sin|cos|tan|exp|log|abs/
FUNC2: /min|max/
NUMBER: /(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/

%ignore /[ \t]+/
"""

_EXPECTED = {  # terminal -> how an error message names it, in this order
    "NUMBER": "a number",
    "VAR": "x or y",
    "CONST": "pi or e",
    "FUNC": "a function such as sin",
    "FUNC2": "min or max",
    "_LPAR": "'('",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "POW": "'^'",
    "_COMMA": "','",
    "_RPAR": "')'",
    "$END": "the end of the formula",
}
_OPERAND_START = {"NUMBER", "VAR", "CONST", "FUNC", "FUNC2", "_LPAR"}
NAMES = ("x", "y", "pi", "e", *E.FUNCTIONS, "atan", *E.FUNCTIONS2)


class FormulaError(ValueError):
    """A refused formula: ``reason`` (one line), ``column`` (1-based, or None when the whole
    text is at fault) and ``caret`` (the text and a ^ under the column, or "")."""

    def __init__(self, reason: str, text: str = "", column: int | None = None) -> None:
        self.reason, self.column = reason, column
        self.caret = ""
        if column is not None:
            shown = "".join(ch if " " <= ch != "\x7f" else "?" for ch in text)
            wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in shown[: column - 1])
            self.caret = f"  {shown}\n  {' ' * (column - 1 + wide)}^"
        where = f" at column {column}" if column is not None else ""
        super().__init__(f"{reason}{where}" + (f"\n{self.caret}" if self.caret else ""))


def _tree_builder() -> Any:
    from lark import Transformer

    class ToTree(Transformer):
        """Lark callbacks, run during the LALR parse (no recursion): tokens -> our nodes."""

        def number(self, t: Any) -> E.Expr:
            (tok,) = t
            return E.Num(float(tok), str(tok), tok.column)

        def var(self, t: Any) -> E.Expr:
            return E.Var(str(t[0]), t[0].column)

        def const(self, t: Any) -> E.Expr:
            tok = t[0]
            return E.Num(math.pi if tok == "pi" else math.e, str(tok), tok.column)

        def call(self, t: Any) -> E.Expr:
            name = "arctan" if t[0] == "atan" else str(t[0])
            return E.Apply(name, tuple(t[1:]), t[0].column)

        def _bin(self, op: str, t: Any) -> E.Expr:
            return E.Apply(op, (t[0], t[2]), t[1].column)

        def add(self, t: Any) -> E.Expr:
            return self._bin("+", t)

        def sub(self, t: Any) -> E.Expr:
            return self._bin("-", t)

        def mul(self, t: Any) -> E.Expr:
            return self._bin("*", t)

        def div(self, t: Any) -> E.Expr:
            return self._bin("/", t)

        def pow(self, t: Any) -> E.Expr:
            return self._bin("^", t)

        def neg(self, t: Any) -> E.Expr:
            return E.Apply("neg", (t[1],), t[0].column)

        def pos(self, t: Any) -> E.Expr:
            out: E.Expr = t[1]
            return out

    return ToTree()


@cache
def _parser() -> Any:
    """The LALR parser, built once (about 50 ms)."""
    from lark import Lark

    return Lark(GRAMMAR, parser="lalr", lexer="contextual", transformer=_tree_builder())


# ---------------------------------------------------------------- parsing


def _precheck(text: object) -> str:
    """Length, characters and parenthesis depth, before any parser sees the text."""
    if not isinstance(text, str):
        raise FormulaError(f"the formula must be text; got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            f"length limit: the formula has {len(text):,} characters; at most {MAX_LENGTH} "
            "are allowed"
        )
    for i, ch in enumerate(text):
        if not (" " <= ch <= "~" or ch == "\t"):
            try:
                name = unicodedata.name(ch)
            except ValueError:
                name = "a control character"
            raise FormulaError(
                f"character {ch!r} (U+{ord(ch):04X} {name}) is not allowed: write formulas with "
                "ASCII letters, digits and + - * / ^ ( ) , .",
                text,
                i + 1,
            )
    if not text.strip():
        raise FormulaError("the formula is empty: type f(x, y), for example x^2 + 3*y^2")
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise FormulaError(
                    f"nesting limit: more than {MAX_DEPTH} parentheses open", text, i + 1
                )
        elif ch == ")":
            depth -= 1
    return text


def _syntax_error(text: str, e: Any) -> FormulaError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    if isinstance(e, UnexpectedCharacters):
        pos = int(e.pos_in_stream or 0)
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, pos)
        if m:  # widen to the whole word: "exponent", not "onent"
            start = pos
            while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "_"):
                start -= 1
            word = text[start : m.end()]
            return FormulaError(
                f"unknown name {word!r}: the names are {', '.join(NAMES)}", text, start + 1
            )
        expected = _accepts(text, pos) or set(e.allowed or ())
        return FormulaError(
            f"unexpected character {text[pos]!r}: expected {_expected(expected)}", text, pos + 1
        )
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            expected = _accepts(text, len(text)) or set(e.accepts or e.expected)
            col = len(text.rstrip()) + 1
            return FormulaError(
                f"the formula ends too early: expected {_expected(expected)}", text, col
            )
        expected = _accepts(text, tok.start_pos) or set(e.accepts or e.expected)
        hint = ""
        if tok.type in _OPERAND_START and expected & {"STAR", "PLUS"}:
            hint = " (write multiplication with *, as in 2*x)"
        return FormulaError(
            f"unexpected {str(tok)!r}: expected {_expected(expected)}{hint}", text, tok.column
        )
    return FormulaError(f"cannot read the formula: {e}", text)  # pragma: no cover


def _accepts(text: str, pos: int) -> set[str]:
    """The terminals the grammar accepts after ``text[:pos]`` (which parses as a prefix).

    Asked of Lark's interactive parser at that point: the error's own set can miss some,
    because LALR reduces on merged lookaheads before it notices the error ("x)" would list
    only + and -).
    """
    try:
        ip = _parser().parse_interactive(text[:pos])
        ip.exhaust_lexer()
        return set(ip.accepts())
    except Exception:  # the prefix itself does not parse: use the error's own set
        return set()


def _expected(names: Any) -> str:
    got = [_EXPECTED[n] for n in _EXPECTED if n in set(names or ())]
    if not got:
        return "something else"
    return got[0] if len(got) == 1 else ", ".join(got[:-1]) + " or " + got[-1]


def parse(text: str) -> E.Expr:
    """The formula's tree as written (``atan`` read as ``arctan``, unary plus dropped).

    Raises :class:`FormulaError` for anything refused: length, characters, nesting, syntax,
    size.
    """
    from lark.exceptions import UnexpectedInput

    _precheck(text)
    try:
        tree: E.Expr = _parser().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    n = E.size(tree)
    if n > MAX_NODES:
        raise FormulaError(
            f"size limit: the formula has {n} numbers, names and operations; at most "
            f"{MAX_NODES} are allowed"
        )
    return tree


def lower(tree: E.Expr, text: str = "") -> E.Expr:
    """The tree to evaluate: interned, constants folded, ``e^u`` as exp(u), constant integer
    powers as multiplications. Refuses non-finite numbers, constant exponents beyond
    ±MAX_EXPONENT and constant parts that fail (``log(-1)``, ``1/0``, overflow)."""
    b = E.Builder(exact=True)
    out: dict[int, E.Expr] = {}
    for node in E.tree_postorder(tree):
        if isinstance(node, E.Num):
            if not math.isfinite(node.value):
                raise FormulaError(
                    f"the number {node.text} is too large (the largest is about 1.8e308)",
                    text,
                    node.col,
                )
            out[id(node)] = b.num(node.value)
            continue
        if isinstance(node, E.Var):
            out[id(node)] = b.var(node.name)
            continue
        args = [out[id(c)] for c in node.args]
        base, ex = args[0], args[-1]
        varying = node.op == "^" and not isinstance(ex, E.Num)
        if varying and isinstance(base, E.Num) and base.value <= 0.0:
            raise FormulaError(
                f"a power of {E.to_text(node.args[0])} is not defined for most exponents: "
                "with an exponent that varies, the base must be positive",
                text,
                node.col,
            )
        if node.op == "^" and isinstance(args[1], E.Num) and abs(args[1].value) > MAX_EXPONENT:
            raise FormulaError(
                f"exponent limit: the exponent {E.format_number(args[1].value)} is beyond "
                f"±{E.format_number(MAX_EXPONENT)}",
                text,
                node.col,
            )
        try:
            if node.op == "^":
                out[id(node)] = b.pow(args[0], args[1], col=node.col)
            elif node.op == "neg":
                out[id(node)] = b.neg(args[0])
            else:
                out[id(node)] = b.apply(node.op, *args, col=node.col)
        except (ArithmeticError, ValueError) as err:
            what = E.to_text(node)
            if len(what) > 40:
                what = what[:37] + "..."
            raise FormulaError(
                f"the constant part {what} is undefined: {err}", text, node.col
            ) from None
    return out[id(tree)]


# ---------------------------------------------------------------- compiled formula


@dataclass(frozen=True)
class Compiled:
    """A formula ready to run: its trees and the programs of f, its gradient and Hessian.

    ``grad_program`` outputs (df/dx + 0 f, df/dy + 0 f): adding 0 f changes nothing where f
    is finite and makes the gradient NaN where f is not, so that a run stops wherever f is
    undefined even if its gradient formula is not (d/dx log x = 1/x is finite for x < 0).
    ``search_program`` outputs (gx, gy, hxx, hxy, hyy).

    ``value(x, y, xp)`` and ``grad(x, y, xp)`` take floats (:data:`SCALAR`), or NumPy arrays
    or torch tensors of one shape (...,) on :data:`NUMPY` / ``torch_ops()``, and return the
    same shape: (...,) and two (...,).
    """

    text: str
    tree: E.Expr  # as written
    f: E.Expr  # as evaluated
    gradient: tuple[E.Expr, E.Expr]
    value_program: E.Program
    grad_program: E.Program
    search_program: E.Program
    value: ValueFn = field(init=False, repr=False, compare=False)
    grad: GradFn = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        value, grad = self._functions()
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "grad", grad)

    def _functions(self) -> tuple[ValueFn, GradFn]:
        """(value, grad) as plain ``(x, y, xp)`` functions, the form surfaces.base binds to
        floats without a wrapper: on floats they run the code without any lookup (domain
        errors raise there); on arrays and tensors they give NaN or inf."""
        vp, gp = self.value_program, self.grad_program
        vcode, vconst, (vout,) = vp.bind(SCALAR), vp.consts, vp.outputs
        gcode, gconst, (ox, oy) = gp.bind(SCALAR), gp.consts, gp.outputs

        def value(x: Arr, y: Arr, xp: Ops) -> Arr:
            if xp is SCALAR:
                r = [x, y, *vconst]
                app = r.append
                for f, i, j in vcode:
                    app(f(r[i]) if j < 0 else f(r[i], r[j]))
                return r[vout]
            with np.errstate(all="ignore"):
                return _shaped(vp.run(x, y, xp)[0], x)

        def grad(x: Arr, y: Arr, xp: Ops) -> tuple[Arr, Arr]:
            if xp is SCALAR:
                r = [x, y, *gconst]
                app = r.append
                for f, i, j in gcode:
                    app(f(r[i]) if j < 0 else f(r[i], r[j]))
                return r[ox], r[oy]
            with np.errstate(all="ignore"):
                gx, gy = gp.run(x, y, xp)
                return _shaped(gx, x), _shaped(gy, x)

        return value, grad


def _shaped(v: Arr, x: Arr) -> Arr:
    """A constant result (a float) as an array or tensor of x's shape."""
    return v if hasattr(v, "shape") else x * 0.0 + v


def compile_formula(text: str) -> Compiled:
    """Parse, lower and differentiate ``text`` (within the derivative limits)."""
    tree = parse(text)
    f = lower(tree, text)
    b = E.Builder(
        exact=False,
        max_nodes=MAX_DERIVATIVE_NODES,
        deadline=time.monotonic() + DERIVATIVE_SECONDS,
    )
    try:
        mx: dict[E.Expr, E.Expr] = {}
        my: dict[E.Expr, E.Expr] = {}
        gx = E.derivative(b, f, "x", mx)
        gy = E.derivative(b, f, "y", my)
        hxx = E.derivative(b, gx, "x", mx)
        hxy = E.derivative(b, gx, "y", my)
        hyy = E.derivative(b, gy, "y", my)
        poison = b.apply("*", f, E.ZERO) if not isinstance(f, E.Num) else E.ZERO
        grads = (b.add(gx, poison), b.add(gy, poison))
    except E.LimitError as err:
        raise FormulaError(str(err)) from None
    return Compiled(
        text=text,
        tree=tree,
        f=f,
        gradient=(gx, gy),
        value_program=E.Program.of([f]),
        grad_program=E.Program.of(list(grads)),
        search_program=E.Program.of([gx, gy, hxx, hxy, hyy]),
    )


# ---------------------------------------------------------------- bounds, start, colour


def check_bounds(bounds: object) -> Bounds:
    """((xmin, xmax), (ymin, ymax)) as floats, or ValueError naming the bound and the range."""
    given: Any = bounds
    try:
        (x0, x1), (y0, y1) = given
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be ((xmin, xmax), (ymin, ymax)); got {bounds!r}") from None
    out = []
    for axis, lo, hi in (("x", x0, x1), ("y", y0, y1)):
        pair = []
        for name, v in ((f"{axis}_min", lo), (f"{axis}_max", hi)):
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                raise ValueError(f"bound {name} must be a number; got {v!r}")
            fv = float(v)
            if not (math.isfinite(fv) and abs(fv) <= MAX_COORD):
                raise ValueError(
                    f"bound {name} must be finite and in [{-MAX_COORD:g}, {MAX_COORD:g}]; "
                    f"got {fv:g}"
                )
            pair.append(fv)
        span = pair[1] - pair[0]
        if not MIN_SPAN <= span <= MAX_SPAN:
            raise ValueError(
                f"bounds {axis}_max - {axis}_min must be in [{MIN_SPAN:g}, {MAX_SPAN:g}]; "
                f"got {pair[1]:g} - {pair[0]:g} = {span:g}"
            )
        out.append((pair[0], pair[1]))
    return (out[0], out[1])


# Search boxes tried in turn when no bounds are given; the first where critical points are
# found frames them. Without any: DEFAULT_BOUNDS.
SEARCH_BOXES: tuple[Bounds, ...] = (((-10.0, 10.0), (-10.0, 10.0)), ((-1e3, 1e3), (-1e3, 1e3)))
DEFAULT_BOUNDS: Bounds = ((-5.0, 5.0), (-5.0, 5.0))


def _nice_outward(lo: float, hi: float) -> tuple[float, float]:
    """[lo, hi] widened to multiples of a tenth of its span's power of ten."""
    step = 10.0 ** math.floor(math.log10(hi - lo)) / 10.0
    a, b = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    return round(a, 12) + 0.0, round(b, 12) + 0.0


def _nice_inward(lo: float, hi: float) -> tuple[float, float]:
    """[lo, hi] narrowed to multiples of a tenth of its span's power of ten."""
    step = 10.0 ** math.floor(math.log10(hi - lo)) / 10.0
    a, b = math.ceil(lo / step - 1e-9) * step, math.floor(hi / step + 1e-9) * step
    return round(a, 12) + 0.0, round(b, 12) + 0.0


def auto_bounds(c: Compiled, deadline: float) -> Bounds:
    """The rule when no bounds are given.

    1. Critical points (minima, saddles and maxima) by multi-start Newton in [-10, 10]^2; if
       none, in [-1000, 1000]^2.
    2. Found: their bounding box, each side padded by max(2, a quarter of its extent), rounded
       outward to a tenth of the span's power of ten. None found: [-5, 5]^2.
    3. Where f is not finite on part of a 101 x 101 grid of that box, the box shrinks to the
       bounding box of the grid points where it is (if they cover a region, not a line).
    """
    found: list[tuple[float, float]] = []
    for box in SEARCH_BOXES:
        found = [(p[0], p[1]) for p in _critical(c, box, deadline, keep_maxima=True)]
        if found:
            break
    if found:
        xs, ys = [p[0] for p in found], [p[1] for p in found]
        sides = []
        for lo, hi in ((min(xs), max(xs)), (min(ys), max(ys))):
            pad = max(2.0, 0.25 * (hi - lo))
            lo, hi = _nice_outward(lo - pad, hi + pad)
            lo, hi = max(lo, -MAX_COORD), min(hi, MAX_COORD)
            sides.append((lo, hi))
        bounds: Bounds = (sides[0], sides[1])
    else:
        bounds = DEFAULT_BOUNDS
    (x0, x1), (y0, y1) = bounds
    xs_, ys_ = np.linspace(x0, x1, 101), np.linspace(y0, y1, 101)
    gx, gy = np.meshgrid(xs_, ys_)
    ok = np.isfinite(c.value(gx, gy, NUMPY))
    if ok.any() and not ok.all():
        cols, rows = np.flatnonzero(ok.any(axis=0)), np.flatnonzero(ok.any(axis=1))
        if len(cols) > 1 and len(rows) > 1:
            bounds = (
                _nice_inward(float(xs_[cols[0]]), float(xs_[cols[-1]])),
                _nice_inward(float(ys_[rows[0]]), float(ys_[rows[-1]])),
            )
    return bounds


def choose_log_color(z: np.ndarray) -> bool:
    """Log colour when f >= 0 on the grid and steep walls dominate its range: the median height
    above the minimum is below a fifth of the largest, so a linear scale would paint most of
    the map in the lowest colours. This reproduces the hand-made choice of 11 of the 12
    registered surfaces (Rosenbrock, Beale, Himmelblau and the regressions log; the bowl,
    Rastrigin and the surfaces that go negative linear); the exception is the ravine, a
    quadratic whose log scale was chosen for its conditioning (median/max 0.26)."""
    fin = z[np.isfinite(z)]
    if fin.size == 0 or fin.min() < 0.0:
        return False
    h = fin - fin.min()
    top = float(h.max())
    return top > 0.0 and float(np.median(h)) < 0.2 * top


# relative positions tried for the default start, in order, before a 9 x 9 grid
_START_CANDIDATES = ((0.2, 0.8), (0.8, 0.8), (0.2, 0.2), (0.8, 0.2), (0.5, 0.85), (0.15, 0.5))


def choose_start(
    c: Compiled, bounds: Bounds, points: Sequence[tuple[float, float]]
) -> tuple[float, float]:
    """The first candidate where f and its gradient are finite, |grad f| > 1e-2 and every
    critical point is at least a tenth of the span away; failing that, the finite candidate
    with the steepest gradient. Coordinates rounded to 2 decimals of the span."""
    (x0, x1), (y0, y1) = bounds
    sx, sy = x1 - x0, y1 - y0
    rel = list(_START_CANDIDATES)
    rel += [(i / 10.0, j / 10.0) for j in range(9, 0, -1) for i in range(1, 10)]
    nx, ny = 2 - math.floor(math.log10(sx)), 2 - math.floor(math.log10(sy))
    cands = [(round(x0 + u * sx, nx) + 0.0, round(y0 + v * sy, ny) + 0.0) for u, v in rel]
    px, py = np.array(cands).T
    f = c.value(px, py, NUMPY)
    gx, gy = c.grad(px, py, NUMPY)
    norm = np.hypot(gx, gy)
    finite = np.isfinite(f) & np.isfinite(norm)
    if not finite.any():
        raise FormulaError(
            "f is not finite anywhere in the bounds: "
            + (explain_nonfinite(c, float(px[0]), float(py[0])) or "no finite value")
        )
    far = np.ones(len(cands), dtype=bool)
    for qx_, qy_ in points:
        far &= np.hypot((px - qx_) / sx, (py - qy_) / sy) >= 0.1
    good = np.flatnonzero(finite & far & (norm > 1e-2))
    k = int(good[0]) if len(good) else int(np.argmax(np.where(finite, norm, -1.0)))
    return (float(px[k]), float(py[k]))


# ---------------------------------------------------------------- critical points


def _critical(
    c: Compiled, box: Bounds, deadline: float, *, keep_maxima: bool = False
) -> list[tuple[float, float, str]]:
    """Critical points of f inside ``box``: (x, y, kind), kind "minimum", "saddle" or "maximum".

    Multi-start Newton on the exact gradient and Hessian, all starts at once in NumPy: a
    12 x 12 grid, 64 seeded random points of the box and the lowest points of up to 64 valleys
    of a 61 x 61 grid (:func:`_valley_starts`), at most 60 steps, each capped at a
    quarter of the box. A start is dropped when its gradient or step turns non-finite (a
    singular Hessian: planes, flat regions) or it leaves the box by more than a tenth. It has
    converged when its step falls below 1e-12 of the box; after the last step, also when its
    gradient is below 1e-9 of the gradient's median size on the starts and its steps still
    shrink (at most half their size 10 steps before: degenerate minima such as x^4, where
    Newton is only linear; not the tail of exp(-x), where they keep their size). Converged
    points inside the box closer than 1e-4 of the box are merged, then classified by
    :func:`_classify`.
    Past ``deadline``: FormulaError (time limit).
    """
    (x0, x1), (y0, y1) = box
    sx, sy = x1 - x0, y1 - y0
    g = np.linspace(0.02, 0.98, 12)
    ux, uy = np.meshgrid(g, g)
    r = np.random.default_rng(0).random((2, 64))
    bx, by = _valley_starts(c, box)
    x = np.concatenate([x0 + sx * np.concatenate([ux.ravel(), r[0]]), bx])
    y = np.concatenate([y0 + sy * np.concatenate([uy.ravel(), r[1]]), by])
    prog = c.search_program

    def at(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        with np.errstate(all="ignore"):
            out = prog.run(x, y, NUMPY)
        return [np.broadcast_to(np.asarray(v, dtype=np.float64), x.shape) for v in out]

    def too_slow() -> None:
        if time.monotonic() > deadline:
            raise FormulaError(
                "time limit: finding the minima and saddle points took longer than "
                f"{SEARCH_SECONDS:g} s"
            )

    gx, gy, *_ = at(x, y)
    norm = np.hypot(gx, gy)
    typical = float(np.median(norm[np.isfinite(norm)])) if np.isfinite(norm).any() else 1.0
    gtol = 1e-9 * typical
    done = np.zeros(x.shape, dtype=bool)
    earlier: np.ndarray | None = None  # each start's step 10 steps before the last
    last = np.zeros(x.shape)
    for it in range(60):
        too_slow()
        gx, gy, a, b, d = at(x, y)
        with np.errstate(all="ignore"):
            det = a * d - b * b
            dx, dy = (d * gx - b * gy) / det, (a * gy - b * gx) / det
            cap = np.maximum(np.hypot(dx / sx, dy / sy) / 0.25, 1.0)
            dx, dy = dx / cap, dy / cap
            stay = np.isfinite(dx) & np.isfinite(dy)
            last = np.hypot(dx / sx, dy / sy)
            done = stay & (last <= 1e-12)
            x, y = x - np.where(done, 0.0, dx), y - np.where(done, 0.0, dy)
        if it == 49:
            earlier = last
        stay &= (x >= x0 - 0.1 * sx) & (x <= x1 + 0.1 * sx)
        stay &= (y >= y0 - 0.1 * sy) & (y <= y1 + 0.1 * sy)
        x, y, done, last = x[stay], y[stay], done[stay], last[stay]
        earlier = None if earlier is None else earlier[stay]
        if done.all():
            break
    too_slow()
    gx, gy, a, b, d = at(x, y)
    # a start that has not converged counts only where its steps still shrink (a degenerate
    # minimum such as x^8, reached linearly), not where they keep their size (the slope of an
    # exponential tail, exp(-x) at x = 400, too small to register against the others)
    shrinking = np.ones(x.shape, dtype=bool) if earlier is None else last <= 0.5 * earlier
    with np.errstate(all="ignore"):
        ok = np.isfinite(gx) & np.isfinite(gy)
        ok &= done | ((np.hypot(gx, gy) <= gtol) & shrinking)
    ok &= (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    # merge: each cluster is represented by its member with the smallest gradient
    norm = np.hypot(gx, gy)
    pts: list[int] = []
    for i in sorted(np.flatnonzero(ok), key=lambda i: norm[i]):
        if not any(abs(x[i] - x[k]) <= 1e-4 * sx and abs(y[i] - y[k]) <= 1e-4 * sy for k in pts):
            pts.append(int(i))
    x, y = x[pts], y[pts]
    # polish: the point rounded to the coarsest of 1e-4 ... 1e-10 of the span where the
    # gradient is no larger (-1.0000000000000016 -> -1.0, 2.3e-23 -> 0.0; 5.5e-6 -> 0.0 for
    # x^8, where Newton is slow)
    gx, gy, a, b, d = at(x, y)
    with np.errstate(all="ignore"):
        best = np.hypot(gx, gy)
    snapped = np.zeros(x.shape, dtype=bool)
    for rel in (1e-4, 1e-6, 1e-8, 1e-10):
        nx, ny = -math.floor(math.log10(rel * sx)), -math.floor(math.log10(rel * sy))
        rx = np.array([round(float(v), nx) + 0.0 for v in x])
        ry = np.array([round(float(v), ny) + 0.0 for v in y])
        rgx, rgy, ra, rb, rd = at(rx, ry)
        with np.errstate(all="ignore"):
            take = ~snapped & (np.hypot(rgx, rgy) <= best)
        take &= (rx >= x0) & (rx <= x1) & (ry >= y0) & (ry <= y1)
        x, y = np.where(take, rx, x), np.where(take, ry, y)
        a, b, d = np.where(take, ra, a), np.where(take, rb, b), np.where(take, rd, d)
        snapped |= take
    out = []
    rows = zip(x.tolist(), y.tolist(), a.tolist(), b.tolist(), d.tolist(), strict=True)
    for px, py, a_, b_, d_ in rows:
        kind = _classify(c, px, py, a_, b_, d_, 1e-4 * min(sx, sy), 0.1 * min(sx, sy))
        if kind is not None and (kind != "maximum" or keep_maxima):
            out.append((px, py, kind))
    return out


def _valley_starts(c: Compiled, box: Bounds, n: int = 61, most: int = 64) -> tuple[Any, Any]:
    """Extra Newton starts: the points of an n x n grid of the box lower than their eight
    neighbours (the ``most`` lowest), so that every valley the grid resolves gets a start even
    when the box holds more of them than the regular starts reach (sin(3x) cos(3y) + ...)."""
    (x0, x1), (y0, y1) = box
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    gx, gy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        z = np.asarray(c.value(gx, gy, NUMPY), dtype=np.float64)
    z = np.where(np.isfinite(z), z, np.inf)
    mid = z[1:-1, 1:-1]
    low = np.isfinite(mid)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                low &= mid <= z[1 + di : n - 1 + di, 1 + dj : n - 1 + dj]
    i, j = np.nonzero(low)
    order = np.argsort(mid[i, j], kind="stable")[:most]
    return xs[j[order] + 1], ys[i[order] + 1]


def _classify(
    c: Compiled, x: float, y: float, a: float, b: float, d: float, r: float, far: float
) -> str | None:
    """minimum / saddle / maximum from the Hessian [[a, b], [b, d]]'s eigenvalues; a
    degenerate Hessian (an eigenvalue below 1e-8 of the largest) is settled by f on a circle
    of radius r, widened tenfold (up to ``far``) while f on it still equals f at the point in
    some direction: all higher, a minimum; all lower, a maximum; higher and lower, a saddle,
    unless f is just a slope there (two sign changes around the circle, and the gradient's
    first-order term as large as the smaller side's change: a point whose slope is too small
    to register against the curvature across it, e.g. x^12 + y^2 near x = 0.0015). Still
    equal at ``far``: f is flat along a line (an exponential tail rounded to a constant, a
    valley floor), so no isolated critical point."""
    mean, half = 0.5 * (a + d), math.hypot(0.5 * (a - d), b)
    lo, hi = mean - half, mean + half
    tol = 1e-8 * max(abs(lo), abs(hi))
    if math.isfinite(lo) and math.isfinite(hi) and tol > 0.0:
        if lo > tol:
            return "minimum"
        if hi < -tol:
            return "maximum"
        if lo < -tol and hi > tol:
            return "saddle"
    t = np.linspace(0.0, 2.0 * math.pi, 16, endpoint=False)
    with np.errstate(all="ignore"):
        f0 = float(c.value(np.array([x]), np.array([y]), NUMPY)[0])
        gx, gy = (float(v[0]) for v in c.grad(np.array([x]), np.array([y]), NUMPY))
    radius = r
    while True:
        with np.errstate(all="ignore"):
            ring = np.asarray(c.value(x + radius * np.cos(t), y + radius * np.sin(t), NUMPY))
        if not (np.isfinite(ring).all() and math.isfinite(f0)):
            return None
        if not (ring == f0).any():
            break
        if radius * 10.0 > far:
            return None  # flat along some direction as far as we look: not isolated
        radius *= 10.0
    up = ring > f0
    if up.all():
        return "minimum"
    if not up.any():
        return "maximum"
    changes = int(np.count_nonzero(up != np.roll(up, 1)))
    slope = math.hypot(gx, gy) * radius if math.isfinite(gx) and math.isfinite(gy) else 0.0
    smaller = min(float(np.max(ring[up] - f0)), float(np.max(f0 - ring[~up])))
    if changes <= 2 and slope >= 0.1 * smaller:
        return None  # one side only because of the slope: a regular point, not a critical one
    return "saddle"


# where a segment between two minima is sampled: close to each end, then evenly
_SEGMENT = np.unique(np.concatenate([[1e-3, 3e-3, 1e-2, 3e-2], np.linspace(0.0, 1.0, 41)[1:-1]]))
_SEGMENT = np.unique(np.concatenate([_SEGMENT, 1.0 - _SEGMENT]))


def _one_per_basin(
    c: Compiled, mins: list[tuple[float, float, float]]
) -> list[tuple[float, float, float]]:
    """Minima (lowest first) without those that share a basin with a lower one: a point from
    which f never rises along the segment to a lower minimum is not a minimum of its own (the
    stops of a very flat bottom such as x^10 + y^10, where Newton crawls and the search keeps
    many points near the one minimum). A true local minimum has f rising around it, so the
    segment out of it goes up before it comes down."""
    out: list[tuple[float, float, float]] = []
    for x, y, v in mins:
        same = False
        for qx, qy, _ in out:
            with np.errstate(all="ignore"):
                f = np.asarray(c.value(x + _SEGMENT * (qx - x), y + _SEGMENT * (qy - y), NUMPY))
            if np.isfinite(f).all() and float(f.max()) <= v:
                same = True
                break
        if not same:
            out.append((x, y, v))
    return out


def critical_points(
    c: Compiled, bounds: Bounds, deadline: float
) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """(minima, saddles) of f inside ``bounds`` as Points; the MAX_POINTS lowest minima
    (global = within 1e-9 of the lowest) and the MAX_POINTS lowest saddles. Either may be ()."""
    found = _critical(c, bounds, deadline)
    with np.errstate(all="ignore"):
        values = [float(c.value(np.array([x]), np.array([y]), NUMPY)[0]) for x, y, _ in found]
    kept = [(x, y, v, k) for (x, y, k), v in zip(found, values, strict=True) if math.isfinite(v)]
    mins = _one_per_basin(
        c, sorted(((x, y, v) for x, y, v, k in kept if k == "minimum"), key=lambda p: p[2])
    )
    sads = sorted(((x, y, v) for x, y, v, k in kept if k == "saddle"), key=lambda p: p[2])
    mins, sads = mins[:MAX_POINTS], sads[:MAX_POINTS]
    minima = tuple(sorted(label_minima(mins), key=lambda p: p.xy)) if mins else ()
    saddles = tuple(sorted((Point((x, y), v, "saddle") for x, y, v in sads), key=lambda p: p.xy))
    return minima, saddles


# ---------------------------------------------------------------- why a point is not finite


def explain_nonfinite(surface: Surface | Compiled | str, x: float, y: float) -> str | None:
    """Why f or its gradient is not finite at (x, y), in words, or None if both are finite.

    >>> explain_nonfinite("log(x) + y^2", -1.0, 0.5)
    'f is not defined at (x, y) = (-1, 0.5): log of a negative number, in log(x) = log(-1)'

    Any surface is accepted: one that is not a formula is only said to be not finite there.
    """
    where = f"(x, y) = ({x:g}, {y:g})"
    if isinstance(surface, Surface):
        if surface.name != CUSTOM:
            with np.errstate(all="ignore"):
                xy = np.array([x, y], dtype=np.float64)
                value, grad = surface.value(xy), surface.grad(xy)
            if not np.isfinite(value):
                return f"f is not finite at {where}"
            if not np.isfinite(grad).all():
                return f"the gradient of f is not finite at {where}"
            return None
        c = compile_formula(str(surface.params["formula"]))
    elif isinstance(surface, str):
        c = compile_formula(surface)
    else:
        c = surface
    why = _first_nonfinite(c.value_program, x, y)
    if why:
        return f"f is not defined at {where}: {why}"
    why = _first_nonfinite(E.Program.of(list(c.gradient)), x, y)
    if why:
        return f"the gradient of f is not finite at {where}: {why}"
    return None


def _first_nonfinite(prog: E.Program, x: float, y: float) -> str | None:
    """The first instruction whose result is not finite though its arguments are."""
    with np.errstate(all="ignore"):
        r = prog.registers(np.float64(x), np.float64(y), NUMPY)
    base = 2 + len(prog.consts)
    for k, ((op, i, j), node) in enumerate(zip(prog.code, prog.nodes, strict=True)):
        args = [float(r[i])] + ([float(r[j])] if j >= 0 else [])
        out = float(r[base + k])
        if not math.isfinite(out) and all(math.isfinite(v) for v in args):
            what = E.to_text(node)
            if len(what) > 60:
                what = what[:57] + "..."
            shown = ", ".join(E.format_number(v) if abs(v) < 1e16 else f"{v:g}" for v in args)
            call = f"{op}({shown})" if op.isalpha() and op not in ("neg", "powi") else ""
            tail = f" = {call}" if call and call != what else ""
            return f"{E.why_nonfinite(op, args, out)}, in {what}{tail}"
    return None


# ---------------------------------------------------------------- feedback as you type


@dataclass(frozen=True)
class Feedback:
    """What the text field shows while the user types.

    latex: the formula as written, in LaTeX ("" when it cannot be read); error: the refusal
    (one line, "" if none); column: where (1-based), or None; caret: the text with a ^ under
    the column; warnings: where f is not differentiable or not defined.
    """

    latex: str
    error: str
    column: int | None
    caret: str
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.error


def formula_feedback(text: str) -> Feedback:
    """Parse, check and differentiate ``text`` (no critical-point search: fast enough for
    every keystroke) and say what the user should see."""
    try:
        c = compile_formula(text)
    except FormulaError as e:
        latex = ""
        with contextlib.suppress(FormulaError):
            latex = E.to_latex(parse(text))
        return Feedback(latex, e.reason, e.column, e.caret, ())
    return Feedback(E.to_latex(c.tree), "", None, "", formula_warnings(c.tree))


POS, NONNEG = 2, 1  # what :func:`_sign` can prove of an expression for every x and y


def _sign(e: E.Expr) -> int:
    """POS where ``e`` is > 0 for every x and y, NONNEG where >= 0, else 0 (not proven): a
    few sure rules (exp and cosh are positive; an even power, abs and sqrt are not negative;
    sums, products, quotients, min and max of such), so that a warning about where f is
    undefined is not shown for log(1 + exp(-x)), which is defined everywhere."""
    if isinstance(e, E.Num):
        return POS if e.value > 0 else (NONNEG if e.value == 0 else 0)
    if not isinstance(e, E.Apply):
        return 0
    op, a = e.op, e.args
    if op in ("exp", "cosh"):
        return POS
    if op in ("abs", "sqrt"):
        return POS if _sign(a[0]) == POS else NONNEG
    if op in ("^", "powi"):
        base = _sign(a[0])
        if base == POS:
            return POS
        c = _constant_value(a[1])
        if c is not None and c == round(c) and round(c) % 2 == 0 and c > 0:
            return NONNEG
        return NONNEG if base == NONNEG and c is not None and c > 0 else 0
    if op in ("+", "*", "/", "min", "max"):
        signs = [_sign(x) for x in a]
        if op == "max":
            return max(signs)
        if op == "/" and signs[1] != POS:
            return 0
        if min(signs) == 0:
            return 0
        if op == "+":
            return max(signs)
        return min(signs)
    return 0


def formula_warnings(tree: E.Expr) -> tuple[str, ...]:
    """Where f, as written, is not differentiable (kinks, infinite slopes) or not defined;
    nothing about an argument that is provably positive (:func:`_sign`)."""
    out: list[str] = []

    def short(e: E.Expr) -> str:
        t = E.to_text(e)
        return t if len(t) <= 40 else t[:37] + "..."

    for node in E.tree_postorder(tree):
        if not isinstance(node, E.Apply):
            continue
        op, a = node.op, node.args
        constant = all(isinstance(n, E.Num) for n in E.tree_postorder(node))
        if constant:
            continue
        msg = ""
        if op == "abs":
            msg = f"{short(node)} has a kink (no gradient) where {short(a[0])} = 0"
        elif op in ("min", "max"):
            msg = f"{short(node)} has a kink (no gradient) where {short(a[0])} = {short(a[1])}"
        elif op == "sqrt" and _sign(a[0]) != POS:
            msg = f"{short(node)} has an infinite slope where {short(a[0])} = 0" + (
                "" if _sign(a[0]) == NONNEG else " and is not defined where it is negative"
            )
        elif op == "log" and _sign(a[0]) != POS:
            msg = f"{short(node)} is not defined where {short(a[0])} <= 0"
        elif op == "/" and not isinstance(a[1], E.Num) and _sign(a[1]) != POS:
            msg = f"{short(node)} is not defined where {short(a[1])} = 0"
        elif op == "tan":
            msg = f"{short(node)} is not defined where cos({short(a[0])}) = 0"
        elif (
            op == "^"
            and isinstance(a[1], E.Num | E.Apply)
            and not isinstance(a[0], E.Num)
            and _sign(a[0]) != POS
        ):
            c = _constant_value(a[1])
            if c is not None and c != round(c):
                msg = f"{short(node)} is not defined where {short(a[0])} < 0"
                if 0.0 < c < 1.0:
                    msg += " and has an infinite slope where it is 0"
            elif c is not None and c < 0:
                msg = f"{short(node)} is not defined where {short(a[0])} = 0"
            elif c is None:
                msg = f"{short(node)} is not defined where {short(a[0])} < 0 (a variable power)"
        if msg and msg not in out:
            out.append(msg)
    return tuple(out[:10])


def _constant_value(e: E.Expr) -> float | None:
    try:
        v = lower(e)
    except FormulaError:
        return None
    return v.value if isinstance(v, E.Num) else None


# ---------------------------------------------------------------- the surface

# a tilted double well: the global minimum f = 0 at (-1, 0), a local one near (0.82, 0) and
# a saddle point between them; never negative, so its steep walls get a log colour scale
DEFAULT_FORMULA = "(x^2 - 1)^2 + 0.3*(x + 1)^2 + y^2"
EXAMPLES = (
    "x^2 + 10*y^2",
    "(1 - x)^2 + 100*(y - x^2)^2",
    "abs(x) + y^2",
    "sin(3*x)*cos(3*y) + 0.1*(x^2 + y^2)",
    "log(1 + x^2 + y^2) - exp(-(x - 1)^2 - y^2)",
)
BOUND_NAMES = ("x_min", "x_max", "y_min", "y_max")


def _check_text(text: object) -> None:
    compile_formula(text)  # type: ignore[arg-type]  # refuses non-text with a FormulaError


FORMULA = Param(
    "formula",
    DEFAULT_FORMULA,
    None,
    None,
    False,
    "f(x, y) with + - * / ^ ( ), numbers (1e-3), x, y, pi, e and sin cos tan exp log sqrt "
    "abs tanh sinh cosh arctan, min(a, b) and max(a, b); at most "
    f"{MAX_LENGTH} characters. Gradients are exact, from the formula.",
    kind="text",
    examples=EXAMPLES,
    parse=_check_text,
)
BOUNDS = tuple(
    Param(
        name,
        None,
        -MAX_COORD,
        MAX_COORD,
        False,
        f"{'smallest' if name.endswith('min') else 'largest'} {name[0]} shown; left empty, it is "
        "chosen from f (around its minima and saddle points)",
        examples=(-4.0 if name.endswith("min") else 4.0,),
    )
    for name in BOUND_NAMES
)
SPEC = SurfaceSpec(
    CUSTOM,
    "Your own function",
    "Type any f(x, y): exact gradients, minima and saddle points found numerically.",
    (FORMULA, *BOUNDS, NOISE),
    ("x", "y"),
    lambda params: _model(params),
)
SPECS = (SPEC,)


def _model(params: Params) -> Analytic:
    """The registry's builder: ``params`` validated by ``SPEC.check_params`` (the formula
    parses; bounds left out are chosen from f)."""
    c = compile_formula(str(params["formula"]))
    deadline = time.monotonic() + SEARCH_SECONDS
    given = [params.get(k) for k in BOUND_NAMES]
    auto: Bounds | None = None
    if any(v is None for v in given):
        auto = auto_bounds(c, deadline)
    box = _merge_bounds(given, auto)
    minima, saddles = critical_points(c, box, deadline)
    pts = [p.xy for p in (*minima, *saddles)]
    start = choose_start(c, box, pts)
    (x0, x1), (y0, y1) = box
    gxs, gys = np.meshgrid(np.linspace(x0, x1, 101), np.linspace(y0, y1, 101))
    log_color = choose_log_color(np.asarray(c.value(gxs, gys, NUMPY)))
    shown = E.to_text(c.tree)
    return Analytic(
        c.value,
        c.grad,
        bounds=box,
        default_start=start,
        log_color=log_color,
        minima=minima,
        saddles=saddles,
        description=f"f(x, y) = {shown if len(shown) <= 80 else shown[:77] + '...'}",
        params={
            "formula": params["formula"],
            **dict(zip(BOUND_NAMES, (x0, x1, y0, y1), strict=True)),
            "noise": params.get("noise", 0.0),
        },
    )


def _merge_bounds(given: Sequence[object], auto: Bounds | None) -> Bounds:
    """The bounds given, the automatic ones where a bound was left out, checked together."""
    chosen = [a if g is None else g for g, a in zip(given, _flat(auto), strict=True)]
    for axis, lo, hi in (("x", 0, 1), ("y", 2, 3)):
        left_out = [BOUND_NAMES[i] for i in (lo, hi) if given[i] is None]
        if len(left_out) == 1:  # one bound given: say which was chosen
            a, b = chosen[lo], chosen[hi]
            if isinstance(a, float) and isinstance(b, float) and b - a < MIN_SPAN:
                raise ValueError(
                    f"bounds: {axis}_min = {a:g} must be below {axis}_max = {b:g} (the "
                    f"{left_out[0]} chosen from f); set {left_out[0]} as well"
                )
    return check_bounds(((chosen[0], chosen[1]), (chosen[2], chosen[3])))


def _flat(bounds: Bounds | None) -> tuple[float | None, ...]:
    if bounds is None:
        return (None, None, None, None)
    (x0, x1), (y0, y1) = bounds
    return (x0, x1, y0, y1)


def formula(text: str, bounds: object = None, *, noise: float = 0.0) -> Surface:
    """The surface f(x, y) = ``text``, with exact gradients, on every engine: the registered
    surface ``"custom"`` (``surfaces.get("custom", formula=text, x_min=..., ...)``).

    text: at most 300 characters of + - * / ^ ** ( ), numbers (1e-3), x, y, pi, e and the
    functions sin cos tan exp log sqrt abs tanh sinh cosh arctan (or atan), min and max of two.
    log is the natural logarithm. bounds: ((xmin, xmax), (ymin, ymax)), or None to choose them
    from f (:func:`auto_bounds`). noise: the mini-batch noise of every analytic surface.

    Minima and saddle points are found by multi-start Newton inside the bounds (none found:
    empty tuples). The colour scale is chosen by :func:`choose_log_color`, the default start by
    :func:`choose_start`. Anything refused raises :class:`FormulaError` (a ValueError).
    """
    params: dict[str, object] = {"formula": text, "noise": noise}
    if bounds is not None:
        params.update(zip(BOUND_NAMES, _flat(check_bounds(bounds)), strict=True))
    return make_surface(SPEC, SPEC.check_params(params))


def from_params(params: Mapping[str, object]) -> Surface:
    """Rebuild a formula surface from its ``params`` (a share link, a pickle), validated:
    the same as ``surfaces.get("custom", **params)``. A bound left out is chosen from f."""
    return make_surface(SPEC, SPEC.check_params(dict(params)))

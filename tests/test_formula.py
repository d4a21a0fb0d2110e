"""Typed-in surfaces (surfaces.formula): exact against torch autograd, safe against hostile text,
accepted by every engine, critical points found.

Each formula below is written twice: as the text a student types and, independently, as torch
code; value and gradient must agree to 1e-12 relative at random points of the bounds.
"""

from __future__ import annotations

import importlib
import math
import pickle
import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizers
import surfaces
from optimizers.engines import compiled
from surfaces import expr as E
from surfaces.formula import (
    BOUND_NAMES,
    DEFAULT_FORMULA,
    MAX_LENGTH,
    FormulaError,
    compile_formula,
    explain_nonfinite,
    formula_feedback,
    from_params,
    parse,
)

T = torch
PI = math.pi
Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
B3 = ((-3.0, 3.0), (-3.0, 3.0))
POS = ((0.5, 3.0), (0.5, 3.0))

# (text, the same function in torch, bounds or None for the automatic ones)
FORMULAS: list[tuple[str, Fn, Any]] = [
    ("x^2 + y^2", lambda x, y: x * x + y * y, None),
    ("(1 - x)^2 + 100*(y - x^2)^2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, None),
    (
        "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        None,
    ),
    (
        "(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2",
        lambda x, y: (
            (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
        ),
        ((-4.5, 4.5), (-4.5, 4.5)),
    ),
    (
        "20 + x^2 - 10*cos(2*pi*x) + y^2 - 10*cos(2*pi*y)",
        lambda x, y: 20 + x**2 - 10 * T.cos(2 * PI * x) + y**2 - 10 * T.cos(2 * PI * y),
        ((-5.12, 5.12), (-5.12, 5.12)),
    ),
    (
        "(4 - 2.1*x^2 + x^4/3)*x^2 + x*y + (-4 + 4*y^2)*y^2",
        lambda x, y: (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2,
        ((-2.2, 2.2), (-1.2, 1.2)),
    ),
    ("sin(x) + y^2", lambda x, y: T.sin(x) + y**2, None),
    (
        "-20*exp(-0.2*sqrt(0.5*(x^2 + y^2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y))) + e + 20",
        lambda x, y: (
            -20 * T.exp(-0.2 * T.sqrt(0.5 * (x**2 + y**2)))
            - T.exp(0.5 * (T.cos(2 * PI * x) + T.cos(2 * PI * y)))
            + math.e
            + 20
        ),
        ((-5.0, 5.0), (-5.0, 5.0)),
    ),
    ("0.26*(x^2 + y^2) - 0.48*x*y", lambda x, y: 0.26 * (x**2 + y**2) - 0.48 * x * y, None),
    (
        "(x + 2*y - 7)^2 + (2*x + y - 5)^2",
        lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
        None,
    ),
    (
        "100*sqrt(abs(y - 0.01*x^2)) + 0.01*abs(x + 10)",
        lambda x, y: 100 * T.sqrt(T.abs(y - 0.01 * x**2)) + 0.01 * T.abs(x + 10),
        ((-15.0, -5.0), (-3.0, 3.0)),
    ),
    (
        "-cos(x)*cos(y)*exp(-((x - pi)^2 + (y - pi)^2))",
        lambda x, y: -T.cos(x) * T.cos(y) * T.exp(-((x - PI) ** 2 + (y - PI) ** 2)),
        ((0.0, 6.0), (0.0, 6.0)),
    ),
    (
        "2*x^2 - 1.05*x^4 + x^6/6 + x*y + y^2",
        lambda x, y: 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2,
        None,
    ),
    (
        "sin(x + y) + (x - y)^2 - 1.5*x + 2.5*y + 1",
        lambda x, y: T.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1,
        ((-1.5, 4.0), (-3.0, 4.0)),
    ),
    (
        "0.5 + (sin(x^2 - y^2)^2 - 0.5)/(1 + 0.001*(x^2 + y^2))^2",
        lambda x, y: 0.5 + (T.sin(x**2 - y**2) ** 2 - 0.5) / (1 + 0.001 * (x**2 + y**2)) ** 2,
        B3,
    ),
    ("log(1 + x^2 + y^2)", lambda x, y: T.log(1 + x**2 + y**2), None),
    (
        "tanh(x)*tanh(y) + 0.1*(x^2 + y^2)",
        lambda x, y: T.tanh(x) * T.tanh(y) + 0.1 * (x**2 + y**2),
        None,
    ),
    ("sinh(x/3) + cosh(y/3)", lambda x, y: T.sinh(x / 3) + T.cosh(y / 3), None),
    ("atan(x)*arctan(y)", lambda x, y: T.atan(x) * T.atan(y), B3),
    ("exp(-x^2 - y^2)", lambda x, y: T.exp(-(x**2) - y**2), B3),
    ("x^y", lambda x, y: x**y, POS),
    ("2^x + 3^(-y)", lambda x, y: 2**x + 3 ** (-y), B3),
    ("x^0.5 + y^1.5", lambda x, y: x**0.5 + y**1.5, POS),
    ("sqrt(x^2 + y^2 + 1)", lambda x, y: T.sqrt(x**2 + y**2 + 1), None),
    ("abs(x) + abs(y)", lambda x, y: T.abs(x) + T.abs(y), B3),
    (
        "min(x^2, y^2 + 1) + max(x, y)",
        lambda x, y: T.minimum(x**2, y**2 + 1) + T.maximum(x, y),
        B3,
    ),
    ("max(abs(x), abs(y))", lambda x, y: T.maximum(T.abs(x), T.abs(y)), B3),
    ("x / (1 + y^2)", lambda x, y: x / (1 + y**2), B3),
    ("(x - y)/(x + y + 10)", lambda x, y: (x - y) / (x + y + 10), B3),
    ("tan(x/4) + y^2", lambda x, y: T.tan(x / 4) + y**2, B3),
    ("-x^2 + y^2", lambda x, y: -(x**2) + y**2, B3),
    ("x^3 - 3*x*y^2", lambda x, y: x**3 - 3 * x * y**2, B3),
    ("x*y*exp(-(x^2 + y^2)/2)", lambda x, y: x * y * T.exp(-(x**2 + y**2) / 2), None),
    ("cos(x)^2 + sin(y)^3", lambda x, y: T.cos(x) ** 2 + T.sin(y) ** 3, B3),
    ("exp(sin(x)*cos(y))", lambda x, y: T.exp(T.sin(x) * T.cos(y)), B3),
    ("log(cosh(x)) + log(cosh(y))", lambda x, y: T.log(T.cosh(x)) + T.log(T.cosh(y)), None),
    ("sqrt(1 + x^2) + sqrt(1 + y^2)", lambda x, y: T.sqrt(1 + x**2) + T.sqrt(1 + y**2), None),
    ("(x^2 + y^2)^0.75", lambda x, y: (x**2 + y**2) ** 0.75, B3),
    ("x^-2 + y**-3", lambda x, y: x ** (-2) + y ** (-3), POS),
    ("1/(x^2 + 1) - 1/(y^2 + 2)", lambda x, y: 1 / (x**2 + 1) - 1 / (y**2 + 2), B3),
    ("3*x - 2*y + 1", lambda x, y: 3 * x - 2 * y + 1, None),
    ("e^(x/2) * pi^(-y/3)", lambda x, y: T.exp(x / 2) * PI ** (-y / 3), B3),
    ("-x^2 + 2^3^2*y/1000", lambda x, y: -(x**2) + 2 ** (3**2) * y / 1000, B3),
    ("x**2**0.5 + y", lambda x, y: x ** (2**0.5) + y, POS),
    ("(x - 1)^4 + (y + 2)^6", lambda x, y: (x - 1) ** 4 + (y + 2) ** 6, None),
    ("sin(x)*sin(y)/(x*y)", lambda x, y: T.sin(x) * T.sin(y) / (x * y), ((0.5, 5.0), (0.5, 5.0))),
    ("exp(-abs(x - y))*cos(x + y)", lambda x, y: T.exp(-T.abs(x - y)) * T.cos(x + y), B3),
    ("10*(y - sin(x))^2 + 0.1*x^2", lambda x, y: 10 * (y - T.sin(x)) ** 2 + 0.1 * x**2, None),
    (
        "log(x^2 + 1e-3) + sqrt(y^2 + 1e-3)",
        lambda x, y: T.log(x**2 + 1e-3) + T.sqrt(y**2 + 1e-3),
        B3,
    ),
    (
        "max(x, 0)^2 + (min(y, 0) - 1)^2",
        lambda x, y: T.clamp(x, min=0) ** 2 + (T.clamp(y, max=0) - 1) ** 2,
        B3,
    ),
    ("+x - -y * --x", lambda x, y: x - (-y) * x, B3),
]


def test_fifty_formulas() -> None:
    assert len(FORMULAS) >= 50
    assert len({t for t, _, _ in FORMULAS}) == len(FORMULAS)


def _torch_reference(fn: Fn, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = torch.tensor(xy[:, 0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor(xy[:, 1], dtype=torch.float64, requires_grad=True)
    f = fn(x, y)
    gx, gy = torch.autograd.grad(f.sum(), (x, y))
    return f.detach().numpy(), np.stack([gx.numpy(), gy.numpy()], axis=-1)


@pytest.mark.parametrize(("text", "fn", "bounds"), FORMULAS, ids=[t for t, _, _ in FORMULAS])
def test_value_and_gradient_equal_torch_autograd(text: str, fn: Fn, bounds: Any) -> None:
    s = surfaces.formula(text, bounds)
    (x0, x1), (y0, y1) = s.bounds
    rng = np.random.default_rng(zlib.crc32(text.encode()))  # hash() varies by process
    xy = np.stack([rng.uniform(x0, x1, 64), rng.uniform(y0, y1, 64)], axis=-1)
    f_ref, g_ref = _torch_reference(fn, xy)
    finite = np.isfinite(f_ref) & np.isfinite(g_ref).all(axis=-1)
    assert finite.sum() >= 32, "the sample should be mostly where f is defined"
    xy, f_ref, g_ref = xy[finite], f_ref[finite], g_ref[finite]

    np.testing.assert_allclose(s.value(xy), f_ref, rtol=1e-12, atol=0)
    np.testing.assert_allclose(s.grad(xy), g_ref, rtol=1e-12, atol=0)
    # the float path (scalar engine) and the torch path run the same code
    for p, fr, gr in list(zip(xy, f_ref, g_ref, strict=True))[:8]:
        assert math.isclose(s.value_scalar(*p), fr, rel_tol=1e-12)
        gs = s.grad_scalar(*p)
        assert math.isclose(gs[0], gr[0], rel_tol=1e-12)
        assert math.isclose(gs[1], gr[1], rel_tol=1e-12)
    t = torch.tensor(xy, requires_grad=True)
    ours = s.torch_value(t)
    (g_t,) = torch.autograd.grad(ours.sum(), t)
    np.testing.assert_allclose(ours.detach().numpy(), f_ref, rtol=1e-12, atol=0)
    np.testing.assert_allclose(g_t.numpy(), g_ref, rtol=1e-12, atol=0)


# ---------------------------------------------------------------- hostile input


def _attempt(fn: Any) -> tuple[Any, Any]:
    """(result, None) or (None, the ValueError): for checks where either outcome is valid."""
    try:
        return fn(), None
    except ValueError as e:
        return None, e


def _refused(text: object, bounds: Any = None) -> FormulaError:
    """The ValueError formula() raises for ``text``, asserting it came within a second."""
    t0 = time.perf_counter()
    with pytest.raises(FormulaError) as info:  # a ValueError that says what and where
        surfaces.formula(text, bounds)  # type: ignore[arg-type]
    took = time.perf_counter() - t0
    assert took < 1.0, f"refusing {str(text)[:40]!r} took {took:.2f} s"
    return info.value


HOSTILE = {
    "__import__('os')": ("unknown name '__import__'", 1),
    "__import__('os').system('ls')": ("unknown name '__import__'", 1),
    "x.real": ("unexpected character '.'", 2),
    "x.__class__": ("unexpected character '.'", 2),
    "x[0]": ("unexpected character '['", 2),
    "lambda x: x": ("unknown name 'lambda'", 1),
    "(lambda: 0)()": ("unknown name 'lambda'", 2),
    "[x for x in y]": ("unexpected character '['", 1),
    "sum(i for i in x)": ("unknown name 'sum'", 1),
    "{x: y}": ("unexpected character '{'", 1),
    "x if y else x": ("unknown name 'if'", 3),
    "9**9**9": ("exponent limit", 2),
    "9^9^9": ("exponent limit", 2),
    "x^1000": ("exponent limit", 2),
    "2^-200 + x": ("exponent limit", 2),
    "1e999": ("the number 1e999 is too large", 1),
    "x + 1e400*y": ("the number 1e400 is too large", 5),
    "\u0445^2 + y": ("U+0445 CYRILLIC SMALL LETTER HA", 1),  # Cyrillic x
    "x^2 + \u0443": ("U+0443 CYRILLIC SMALL LETTER U", 7),  # Cyrillic y
    "\uff11 + x": ("U+FF11 FULLWIDTH DIGIT ONE", 1),
    "x\u00b2": ("U+00B2 SUPERSCRIPT TWO", 2),
    "x\u2212y": ("U+2212 MINUS SIGN", 2),
    "x + \u0660": ("U+0660 ARABIC-INDIC DIGIT ZERO", 5),
    "x\x00": ("U+0000", 2),
    "x\ny": ("U+000A", 2),
    "": ("the formula is empty", None),
    "   ": ("the formula is empty", None),
    "x y": ("unexpected 'y'", 3),
    "2x": ("write multiplication with *", 2),
    "sin x": ("expected '('", 5),
    "min(x)": ("expected", 6),
    "max(x, y, 1)": ("unexpected ','", 9),
    "x +": ("the formula ends too early", 4),
    "(x": ("the formula ends too early", 3),
    "x)": ("unexpected ')'", 2),
    "log(-1) + x": ("log of a negative number", 1),
    "1/0 + x": ("division by zero", 2),
    "exp(1000)*x": ("overflow", 1),
    "(-2)^x": ("the base must be positive", 5),
    "x = 1": ("unexpected character '='", 3),
    "x; y": ("unexpected character ';'", 2),
    "'x'": ('unexpected character "\'"', 1),
    "x # comment": ("unexpected character '#'", 3),
    "0x10": ("unexpected 'x'", 2),
    "1_000": ("unknown name '_000'", 2),
    "1j*x": ("unknown name 'j'", 2),
    "exponent(x)": ("unknown name 'exponent'", 1),
    "x*arcsin(y)": ("unknown name 'arcsin'", 3),
}


@pytest.mark.parametrize("text", list(HOSTILE), ids=[repr(t) for t in HOSTILE])
def test_hostile_text_is_refused_with_what_and_where(text: str) -> None:
    what, column = HOSTILE[text]
    e = _refused(text)
    assert what in str(e)
    assert what in e.reason
    assert e.column == column
    if column is not None:  # the caret line points at the column
        shown, caret = e.caret.split("\n")
        assert caret.index("^") - 2 == column - 1 + sum(
            ch in "\uff11" for ch in shown[2 : 2 + column - 1]
        )
        assert f"at column {column}" in str(e)


def test_huge_and_deeply_nested_text_is_refused_before_parsing() -> None:
    e = _refused("(" * 10_000 + "x" + ")" * 10_000)
    assert e.reason.startswith("length limit")
    assert "20,001 characters" in e.reason
    e = _refused("x" * 10_000_000)  # within _refused's bound: parsing 10 MB would take minutes
    assert e.reason.startswith("length limit")
    assert len(str(e)) < 200
    e = _refused("(" * 41 + "x" + ")" * 41)
    assert e.reason.startswith("nesting limit")
    assert e.column == 41
    e = _refused("sin(" * 41 + "x" + ")" * 41)
    assert e.reason.startswith("nesting limit")
    assert e.column == 41 * 4
    assert surfaces.formula("(" * 40 + "x" + ")" * 40 + " + y^2").name == "custom"
    e = _refused("x" + "+x" * 100)
    assert e.reason.startswith("size limit")
    assert "201" in e.reason
    e = _refused("-" * 250 + "x")
    assert e.reason.startswith("size limit")
    _refused("x" * (MAX_LENGTH + 1))
    assert surfaces.formula("x^2" + " " * (MAX_LENGTH - 3)).name == "custom"


def test_not_text_is_refused() -> None:
    for bad in (None, 3, b"x^2", ["x"]):
        assert "must be text" in _refused(bad).reason


_atoms = st.sampled_from(["x", "y", "pi", "e", "2", "0.5", "1e-3", "0", "1e300", "-1", "100"])


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    fn = st.sampled_from([*E.FUNCTIONS, "atan"])
    op = st.sampled_from(["+", "-", "*", "/", "^", "**"])
    return st.one_of(
        st.tuples(inner, op, inner).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
        st.tuples(fn, inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        inner.map(lambda s: f"({s})"),
        inner.map(lambda s: f"-{s}"),
    )


FORMULA_TEXT = st.recursive(_atoms, _grow, max_leaves=40)


ALPHABET = "xyepi0123456789.+-*/^(), sincotaexplgqrbhmd\t[]_'\"=:;{}"


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.text(max_size=60), st.text(alphabet=ALPHABET, max_size=60)))
def test_any_string_is_a_surface_or_a_value_error(text: str) -> None:
    t0 = time.perf_counter()
    s, e = _attempt(lambda: surfaces.formula(text))
    if isinstance(e, FormulaError):
        assert e.reason
        assert e.column is None or 1 <= e.column <= len(text) + 1
    else:
        assert s.name == "custom"
        assert s.params["formula"] == text
    assert time.perf_counter() - t0 < 1.0


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.dictionaries(
        st.sampled_from(["formula", "x_min", "x_max", "y_min", "y_max", "noise", "evil"]),
        st.one_of(st.text(max_size=30), FORMULA_TEXT, st.floats(), st.integers(), st.none()),
    )
)
def test_a_hostile_share_link_is_refused_with_a_value_error(params: dict[str, Any]) -> None:
    t0 = time.perf_counter()
    s, e = _attempt(lambda: from_params(params))
    if e is not None:
        assert str(e)
    else:
        assert s.params["formula"] == params.get("formula", DEFAULT_FORMULA)
        for name in BOUND_NAMES:  # a bound given is kept; one left out is chosen from f
            assert params.get(name) is None or s.params[name] == params[name]
        assert surfaces.get("custom", **params).params == s.params  # the registry's entry
    assert time.perf_counter() - t0 < 1.0


def test_share_link_errors_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="no parameter 'evil'"):
        from_params({"formula": "x^2", "evil": "__import__('os')"})
    with pytest.raises(ValueError, match="the formula must be text"):
        from_params({"formula": 3.0, "x_min": 0.0})
    with pytest.raises(ValueError, match="'x_min' must be a number"):
        from_params({"formula": "x^2", "x_min": "0", "x_max": 1.0, "y_min": 0.0, "y_max": 1.0})
    with pytest.raises(ValueError, match=r"'x_max' must be in \[-10000, 10000\]"):
        from_params({"formula": "x^2", "x_max": 1e5})
    with pytest.raises(ValueError, match="unknown name"):
        from_params({"formula": "__import__('os')"})
    # one bound given: the other is chosen from f, and a clash names both
    assert from_params({"formula": "x^2 + y^2", "x_min": 0.0}).bounds == ((0.0, 2.0), (-2.0, 2.0))
    with pytest.raises(ValueError, match=r"x_min = 3 must be below x_max = 2 \(the x_max chosen"):
        from_params({"formula": "x^2 + y^2", "x_min": 3.0})
    # left out entirely: the registry's default formula
    assert from_params({}).params["formula"] == DEFAULT_FORMULA


# ---------------------------------------------------------------- limits


def test_derivative_and_time_limits_name_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("surfaces.formula")  # surfaces.formula is the function
    text = "sin(x*y)^3 + exp(x/(1 + y^2))"
    monkeypatch.setattr(module, "MAX_DERIVATIVE_NODES", 20)
    assert _refused(text).reason.startswith("derivative limit")
    monkeypatch.undo()
    monkeypatch.setattr(module, "DERIVATIVE_SECONDS", -1.0)
    big = "+".join(f"sin({k}*x*y)^3" for k in range(1, 13))  # > 64 derivative nodes
    assert _refused(big).reason.startswith("time limit")
    monkeypatch.undo()
    monkeypatch.setattr(module, "SEARCH_SECONDS", 0.0)
    e = _refused(text)
    assert e.reason.startswith("time limit")
    assert "minima and saddle points" in e.reason


def test_the_largest_formulas_stay_fast() -> None:
    """Formulas at the size limit: parse, differentiate twice, search, within the limits."""
    worst = [
        "+".join(f"sin({k}*x*y + x^{k % 7 + 2})" for k in range(1, 12)),
        "x^y^x^y^x^y^x^y^x^y^x^y^x^y^x^y^x^y^x^y",
        "tanh(" * 20 + "x*y" + ")" * 20,
        "min(" * 20 + "x, y)" + ", x*y)" * 19,
        "(x^2 - y)/(1 + (x*y)^2/(1 + (x - y)^2/(1 + (x + y)^2/(1 + sin(x*y)^2))))" * 1,
    ]
    for text in worst:
        t0 = time.perf_counter()
        _, e = _attempt(lambda text=text: surfaces.formula(text))
        assert e is None or "limit" in e.reason, e
        assert time.perf_counter() - t0 < 5.0, text


@settings(max_examples=150, deadline=None, database=None)
@given(FORMULA_TEXT)
def test_any_grammatical_formula_is_a_surface_or_a_value_error(text: str) -> None:
    """Valid-looking formulas go through the whole pipeline: a surface whose metadata holds,
    or a FormulaError that names a limit or a reason; nothing else, nothing slow."""
    t0 = time.perf_counter()
    s, e = _attempt(lambda: surfaces.formula(text))
    if e is not None:
        assert e.reason
    else:
        (x0, x1), (y0, y1) = s.bounds
        assert x0 < x1
        assert y0 < y1
        assert x0 <= s.default_start[0] <= x1
        assert y0 <= s.default_start[1] <= y1
        assert math.isfinite(s.value_scalar(*s.default_start))
        for p in (*s.minima, *s.saddles):
            assert x0 <= p.xy[0] <= x1
            assert y0 <= p.xy[1] <= y1
            assert math.isfinite(p.value)
    assert time.perf_counter() - t0 < 1.0


# ---------------------------------------------------------------- every engine


ARITHMETIC = "(x - 1)*(x - 1)/4 + y*y - x*y/2 + 3/(2 + x*x)"


@pytest.mark.parametrize("text", [ARITHMETIC, "(1 - x)^2 + 100*(y - x^2)^2"])
def test_scalar_and_numpy_engines_give_identical_paths(text: str) -> None:
    s = surfaces.formula(text, ((-2.0, 2.0), (-1.0, 3.0)))
    starts = [s.default_start, (-1.5, 2.0), (1.5, -0.5)]
    a = optimizers.simulate(s, "adam", starts, 200, engine="scalar", lr=0.05)
    b = optimizers.simulate(s, "adam", starts, 200, engine="numpy", lr=0.05)
    assert (a.engine, b.engine) == ("scalar", "numpy")
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.loss, b.loss)
    assert (a.diverged_at == -1).all()
    assert a.loss[-1].max() < a.loss[0].min()  # it descends
    for opt in ("sgd", "rmsprop", "lion"):
        a = optimizers.simulate(s, opt, starts, 100, engine="scalar")
        b = optimizers.simulate(s, opt, starts, 100, engine="numpy")
        assert np.array_equal(a.positions, b.positions), opt


@pytest.mark.slow
@pytest.mark.skipif(compiled.unavailable() is not None, reason=f"{compiled.unavailable()}")
def test_compiled_engine_runs_a_formula_like_numpy() -> None:
    """Only adam and adamw compile; one kernel (seconds to a minute on first use)."""
    s = surfaces.formula(ARITHMETIC, ((-2.0, 2.0), (-1.0, 3.0)))
    starts = np.random.default_rng(1).uniform((-2, -1), (2, 3), (64, 2))
    a = optimizers.simulate(s, "adam", starts, 200, engine="compiled", lr=0.05)
    b = optimizers.simulate(s, "adam", starts, 200, engine="numpy", lr=0.05)
    assert a.engine == "compiled"
    assert np.array_equal(a.positions, b.positions)


def test_mini_batches_use_the_zero_sum_noise() -> None:
    s = surfaces.formula("x^2 + 3*y^2", ((-2.0, 2.0), (-2.0, 2.0)), noise=1.0)
    assert s.n_samples == 16
    assert s.params["noise"] == 1.0
    starts = [(1.5, 1.5), (-1.0, 0.5)]
    a = optimizers.simulate(s, "sgd", starts, 100, batch_size=4, seed=3, engine="scalar", lr=0.05)
    b = optimizers.simulate(s, "sgd", starts, 100, batch_size=4, seed=3, engine="numpy", lr=0.05)
    assert np.array_equal(a.positions, b.positions)
    full = optimizers.simulate(s, "sgd", starts, 100, lr=0.05)
    assert not np.array_equal(a.positions, full.positions)  # the batches are noisy ...
    xy = np.array(starts)
    every = np.tile(np.arange(16), (2, 1))
    np.testing.assert_allclose(s.batch_grad(xy, every), s.grad(xy), rtol=0, atol=1e-15)
    quiet = surfaces.formula("x^2 + 3*y^2", ((-2.0, 2.0), (-2.0, 2.0)))
    c = optimizers.simulate(quiet, "sgd", starts, 100, batch_size=4, seed=3, lr=0.05)
    assert np.array_equal(c.positions, full.positions)  # ... and exact without noise


@pytest.mark.parametrize("engine", ["scalar", "numpy"])
def test_non_finite_points_stop_the_run_and_say_why(engine: str) -> None:
    s = surfaces.formula("log(x) + y^2", ((-2.0, 2.0), (-2.0, 2.0)))
    # starting where f is undefined: stopped at the first step, frozen at the start
    t = optimizers.simulate(s, "adam", [(-1.0, 0.5), (1.0, 1.0)], 200, engine=engine, lr=0.1)
    assert t.diverged_at[0] == 1
    assert t.diverged_at[1] >= 1
    assert tuple(t.positions[1, 0]) == (-1.0, 0.5)
    why = explain_nonfinite(s, *t.positions[1, 0])
    assert why == (
        "f is not defined at (x, y) = (-1, 0.5): log of a negative number, in log(x) = log(-1)"
    )
    # descending towards x = 0 the run steps over it, and stops at the next step: its
    # gradient there is NaN, and it stays frozen at the point where log(x) fails
    d = int(t.diverged_at[1])
    x, y = t.positions[d, 1]
    assert x <= 0.0
    assert t.positions[d - 2, 1, 0] > 0.0
    assert (t.positions[d - 1 :, 1] == (x, y)).all()
    why = explain_nonfinite(s, x, y)
    assert why is not None
    assert "log of a negative number" in why or "log of zero" in why
    assert np.isfinite(t.loss).all()
    assert np.isfinite(t.positions).all()


def test_explain_names_each_reason() -> None:
    cases = {
        ("sqrt(x) + y", -4.0, 0.0): "square root of a negative number, in sqrt(x) = sqrt(-4)",
        ("1/(x - y)", 1.0, 1.0): "division by zero, in 1 / (x - y)",
        ("x^0.5 + y", -1.0, 0.0): "a negative number to a fractional power",
        ("exp(x*y)", 30.0, 30.0): "overflow",
        ("log(x*y)", 0.0, 2.0): "log of zero",
        ("x^-2", 0.0, 1.0): "division by zero (0 to a negative power)",
    }
    for (text, x, y), why in cases.items():
        got = explain_nonfinite(text, x, y)
        assert got is not None
        assert why in got, got
        assert got.startswith("f is not defined"), got
    got = explain_nonfinite("sqrt(x^2 + y^2)", 0.0, 0.0)  # f = 0 but its slope is infinite
    assert got is not None
    assert got.startswith("the gradient of f is not finite at (x, y) = (0, 0)")
    assert explain_nonfinite("log(x) + y^2", 1.0, 0.5) is None


# ---------------------------------------------------------------- critical points


def _xy(points: tuple[surfaces.Point, ...]) -> list[tuple[float, float]]:
    return [p.xy for p in points]


def test_critical_points_of_a_bowl_a_double_well_himmelblau_and_a_plane() -> None:
    s = surfaces.formula("x^2 + y^2")
    assert _xy(s.minima) == [(0.0, 0.0)]
    assert s.minima[0].kind == "global"
    assert s.saddles == ()

    s = surfaces.formula("(x^2 - 1)^2 + y^2")
    assert _xy(s.minima) == [(-1.0, 0.0), (1.0, 0.0)]
    assert _xy(s.saddles) == [(0.0, 0.0)]
    assert all(p.kind == "global" and p.value == 0.0 for p in s.minima)

    s = surfaces.formula("(x^2 + y - 11)^2 + (x + y^2 - 7)^2")
    expected = [(-3.779310, -3.283186), (-2.805118, 3.131313), (3.0, 2.0), (3.584428, -1.848127)]
    assert len(s.minima) == 4
    assert len(s.saddles) == 4
    for p, xy in zip(s.minima, expected, strict=True):
        assert math.dist(p.xy, xy) < 1e-5
        assert p.kind == "global"
        assert abs(p.value) < 1e-20
    ref = surfaces.get("himmelblau")
    for p, q in zip(s.saddles, sorted(ref.saddles, key=lambda p: p.xy), strict=True):
        assert math.dist(p.xy, q.xy) < 1e-12

    for plane in ("3*x - 2*y + 1", "x + y", "7"):
        s = surfaces.formula(plane)
        assert s.minima == (), plane
        assert s.saddles == (), plane


def test_local_minima_degenerate_minima_and_given_bounds() -> None:
    s = surfaces.formula("x^3 - 3*x + y^2")
    assert _xy(s.minima) == [(1.0, 0.0)]
    assert _xy(s.saddles) == [(-1.0, 0.0)]
    s = surfaces.formula("x^4 + y^4")  # a zero Hessian: settled by the values around
    assert _xy(s.minima) == [(0.0, 0.0)]
    assert s.saddles == ()
    s = surfaces.formula("(x^2 - 1)^2 + y^2 + 0.3*x")  # two wells of different depth
    assert [p.kind for p in s.minima] == ["global", "local"]
    # only inside the given bounds
    s = surfaces.formula("(x^2 - 1)^2 + y^2", ((0.0, 3.0), (-1.0, 1.0)))
    assert _xy(s.minima) == [(1.0, 0.0)]
    assert _xy(s.saddles) == [(0.0, 0.0)]
    s = surfaces.formula("(x^2 - 1)^2 + y^2", ((0.2, 3.0), (-1.0, 1.0)))
    assert s.saddles == ()
    s = surfaces.formula("-(x^2 + y^2)")  # a maximum is neither
    assert s.minima == ()
    assert s.saddles == ()


def test_no_minimum_where_f_only_rounds_to_flat() -> None:
    """The tail of a logistic loss, an exponential, a steep power of 2: f decreases forever (or
    to a value it reaches only at infinity), and where it underflows its gradient is tiny but
    not zero. No minimum or saddle is reported there, and the automatic bounds stay where f
    has shape instead of stretching to the rounded-off tail."""
    for text in ("log(1 + exp(-x)) + y^2", "exp(-x) + y^2", "2^(1000*x) + y^2"):
        s = surfaces.formula(text)
        assert s.minima == (), text
        assert s.saddles == (), text
        (x0, x1), _ = s.bounds
        assert x1 - x0 <= 10.0, (text, s.bounds)


def test_one_minimum_at_the_bottom_of_a_very_flat_bowl() -> None:
    """x^10 + y^10: Newton crawls towards the one minimum and stops at many points of its flat
    bottom; they share the one basin, so one minimum is reported (not 32), and x^12 + y^2 has
    no saddle points beside its minimum; a degenerate saddle is still one."""
    s = surfaces.formula("x^10 + y^10")
    assert len(s.minima) == 1
    assert math.dist(s.minima[0].xy, (0.0, 0.0)) < 1e-3
    s = surfaces.formula("x^12 + y^2")
    assert len(s.minima) == 1
    assert s.saddles == ()
    s = surfaces.formula("x^3 + y^2")
    assert s.minima == ()
    assert _xy(s.saddles) == [(0.0, 0.0)]


def test_no_warning_about_where_a_provably_positive_argument_is_undefined() -> None:
    """log(1 + exp(-x)) (a logistic loss) is defined everywhere: no warning; log(x) is not."""
    for text in ("log(1 + exp(-x)) + y^2", "sqrt(x^2 + y^2 + 1)", "1/(1 + x^2)",
                 "(x^2 + 1)^0.5", "log(cosh(x)) + y^2", "x/exp(y)"):  # fmt: skip
        assert formula_feedback(text).warnings == (), text
    assert formula_feedback("log(x) + y^2").warnings == ("log(x) is not defined where x <= 0",)
    assert formula_feedback("log(exp(x)*y)").warnings  # y may be negative: still warned
    assert formula_feedback("1/x").warnings == ("1 / x is not defined where x = 0",)
    (w,) = formula_feedback("sqrt(x^2 + y^2)").warnings  # never negative, but a cone's tip
    assert w == "sqrt(x^2 + y^2) has an infinite slope where x^2 + y^2 = 0"


# ---------------------------------------------------------------- feedback


def test_feedback_renders_latex_and_warns_about_kinks() -> None:
    fb = formula_feedback("(x^2 - 1)^2 + y^2/2")
    assert fb.ok
    assert fb.error == ""
    assert fb.column is None
    assert fb.warnings == ()
    assert fb.latex == "\\left(x^{2} - 1\\right)^{2} + \\frac{y^{2}}{2}"
    assert formula_feedback("-x^2 + 2*sin(pi*y)").latex == "-x^{2} + 2 \\sin\\left(\\pi y\\right)"
    assert formula_feedback("1e-3*x * 2").latex == "1 \\times 10^{-3} x \\cdot 2"
    assert formula_feedback("atan(x)").latex == "\\arctan\\left(x\\right)"
    assert formula_feedback("log(x)").latex == "\\ln\\left(x\\right)"
    assert formula_feedback("abs(x - y)").latex == "\\left|x - y\\right|"
    assert formula_feedback("sqrt(x)").latex == "\\sqrt{x}"
    assert formula_feedback("x*(-y)").latex == "x \\cdot \\left(-y\\right)"

    fb = formula_feedback("abs(x) + min(x, y) + max(y, 1) + sqrt(x^2 + y^2) + x^(1/3)")
    assert fb.ok
    assert len(fb.warnings) == 5
    assert "abs(x) has a kink (no gradient) where x = 0" in fb.warnings
    assert "min(x, y) has a kink (no gradient) where x = y" in fb.warnings
    assert "max(y, 1) has a kink (no gradient) where y = 1" in fb.warnings
    assert any(w.startswith("sqrt(x^2 + y^2) has an infinite slope") for w in fb.warnings)
    assert any("infinite slope" in w and w.startswith("x^(1 / 3)") for w in fb.warnings)
    assert formula_feedback("log(x) + 1/y").warnings == (
        "log(x) is not defined where x <= 0",
        "1 / y is not defined where y = 0",
    )


def test_feedback_points_at_errors() -> None:
    fb = formula_feedback("x^2 + * y")
    assert not fb.ok
    assert fb.column == 7
    assert fb.latex == ""
    assert fb.error.startswith("unexpected '*': expected a number")
    assert fb.caret == "  x^2 + * y\n        ^"
    fb = formula_feedback("x^1000")  # parses: the LaTeX shows, the limit is the error
    assert fb.latex == "x^{1000}"
    assert fb.error.startswith("exponent limit")
    assert fb.column == 2
    assert formula_feedback("x" * 10_000).error.startswith("length limit")


def test_parse_keeps_maths_precedence() -> None:
    cases = {
        "-x^2": "-x^2",
        "2^3^2": "2^3^2",
        "x^-2": "x^(-2)",
        "(-x)^2": "(-x)^2",
        "-(x + y)": "-(x + y)",
        "x - (y - 1)": "x - (y - 1)",
        "x - y - 1": "x - y - 1",
        "x/(y*2)": "x / (y*2)",
        "x/y*2": "x / y*2",
        "x**2**3": "x^2^3",
        "(x^2)^3": "(x^2)^3",
        "atan(x) + arctan(y)": "arctan(x) + arctan(y)",
        "+x": "x",
    }
    for text, shown in cases.items():
        assert E.to_text(parse(text)) == shown, text
        assert E.to_text(parse(shown)) == shown  # printing then parsing keeps the tree
    c = compile_formula("-x^2 + 2^3^2 + x^-2")
    assert c.value(2.0, 0.0, surfaces.base.SCALAR) == -4.0 + 512.0 + 0.25


# ---------------------------------------------------------------- the surface's metadata


def test_metadata_params_and_rebuild() -> None:
    s = surfaces.formula("(x^2 - 1)^2 + y^2")
    assert isinstance(s, surfaces.Surface)
    assert (s.name, s.title, s.axis_labels) == ("custom", "Your own function", ("x", "y"))
    assert s.description == "f(x, y) = (x^2 - 1)^2 + y^2"
    assert s.bounds == ((-3.0, 3.0), (-2.0, 2.0))
    assert s.params == {
        "formula": "(x^2 - 1)^2 + y^2",
        "x_min": -3.0,
        "x_max": 3.0,
        "y_min": -2.0,
        "y_max": 2.0,
        "noise": 0.0,
    }
    (x0, x1), (y0, y1) = s.bounds
    assert x0 <= s.default_start[0] <= x1
    assert y0 <= s.default_start[1] <= y1
    assert math.hypot(*s.grad_scalar(*s.default_start)) > 1e-2
    assert all(math.dist(s.default_start, p.xy) > 0.1 for p in (*s.minima, *s.saddles))
    assert s.log_color
    assert s.grid(101)[2].min() >= 0.0
    assert not surfaces.formula("x^3 - 3*x + y^2").log_color  # goes negative
    assert not surfaces.formula("x^2 + y^2").log_color  # no steep walls: linear
    # registered like every surface: the same surface from surfaces.get, with or without bounds
    assert surfaces.SPECS["custom"].title == "Your own function"
    auto = surfaces.get("custom", formula="(x^2 - 1)^2 + y^2")
    assert auto.params == s.params
    assert auto.description == s.description
    assert surfaces.get("custom", **s.params).bounds == s.bounds

    again = from_params(s.params)
    assert again.params == s.params
    assert again.minima == s.minima
    assert again.saddles == s.saddles
    copy = pickle.loads(pickle.dumps(s))
    assert copy.params == s.params
    assert copy.grad_scalar(0.5, 0.5) == s.grad_scalar(0.5, 0.5)


def test_bounds_are_validated_and_automatic_bounds_follow_the_rule() -> None:
    bad = {
        ((1.0, 0.0), (0.0, 1.0)): "x_max - x_min must be in",
        ((0.0, 1.0), (0.0, math.inf)): "bound y_max must be finite",
        ((0.0, math.nan), (0.0, 1.0)): "bound x_max must be finite",
        ((-1e5, 0.0), (0.0, 1.0)): "bound x_min must be finite and in [-10000, 10000]",
        ((0.0, 1e-4), (0.0, 1.0)): "x_max - x_min must be in [0.001, 20000]",
        ((0.0, "1"), (0.0, 1.0)): "bound x_max must be a number",
        ((0.0, True), (0.0, 1.0)): "bound x_max must be a number",
        (0.0, 1.0): "bounds must be ((xmin, xmax), (ymin, ymax))",
        "((0, 1), (0, 1))": "bounds must be ((xmin, xmax), (ymin, ymax))",
    }
    for bounds, message in bad.items():
        with pytest.raises(ValueError, match=re_escape(message)):
            surfaces.formula("x^2 + y^2", bounds)
    with pytest.raises(ValueError, match="parameter 'noise' must be in"):
        surfaces.formula("x^2", noise=-1.0)
    s = surfaces.formula("x^2 + y^2", np.array([[-1, 2], [-3, 4]]))
    assert s.bounds == ((-1.0, 2.0), (-3.0, 4.0))
    # automatic: critical points framed with a margin of max(2, extent / 4), rounded outward
    assert surfaces.formula("(x - 50)^2 + (y + 20)^2").bounds == ((48.0, 52.0), (-22.0, -18.0))
    assert surfaces.formula("x + y").bounds == ((-5.0, 5.0), (-5.0, 5.0))  # none: the default
    s = surfaces.formula("log(x) + y^2")  # shrunk to where f is finite
    assert s.bounds == ((0.1, 5.0), (-5.0, 5.0))
    e = _refused("sqrt(-1 - x^2 - y^2)")
    assert e.reason.startswith("f is not finite anywhere in the bounds")
    assert "square root of a negative number" in e.reason


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_every_valley_of_a_crowded_box_gets_a_start() -> None:
    """Sixty valleys: the regular starts miss some, the 61 x 61 grid's lowest points do not,
    so the global minimum listed is the lowest point of the box."""
    s = surfaces.formula("sin(3*x)*cos(3*y) + 0.1*(x^2 + y^2)", ((-2.0, 15.0), (-15.0, 2.5)))
    best = min(s.minima, key=lambda p: p.value)
    assert best.kind == "global"
    _, _, z = s.grid(301)
    assert best.value <= z.min()
    assert len(s.minima) == 32  # the 32 lowest of the box's minima are kept

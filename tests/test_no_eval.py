"""Nothing a user types reaches an evaluator: no eval, exec or compile, no symbolic parser
(sympify, parse_expr, which call eval) and no numexpr, anywhere in the app or the surfaces; in
the core, exec runs only the two engines' generated code for the optimizers' own rules.

Read from the sources with ast, so a call hidden in a function or reached through an attribute
(``builtins.eval``, ``sympy.sympify``) counts too. The typed formula goes through our own
parser and evaluator instead (surfaces/formula.py, surfaces/expr.py; tests/test_formula.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVALUATORS = {"eval", "exec", "compile", "sympify", "parse_expr", "evaluate", "__import__"}
MODULES = {"numexpr", "sympy.parsing", "asteval", "simpleeval"}
# the engines that turn an optimizer's traced rule (never user text) into Python source
RULE_CODE = {
    ("optimizers/engines/scalar.py", "exec"),
    ("optimizers/engines/scalar.py", "compile"),
    ("optimizers/engines/vector.py", "exec"),
    ("optimizers/engines/vector.py", "compile"),
}


def evaluator_calls(source: str) -> list[tuple[str, int]]:
    """(name, line) of every call to an evaluator and every import of an evaluating module.
    ``re.compile`` and other methods named compile on a regex are not evaluators."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in EVALUATORS:
                out.append((f.id, node.lineno))
            elif isinstance(f, ast.Attribute) and f.attr in EVALUATORS:
                owner = ast.unparse(f.value)
                if not (f.attr == "compile" and owner in ("re", "regex")):
                    out.append((f"{owner}.{f.attr}", node.lineno))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for n in names:
                if any(n == m or n.startswith(m + ".") for m in MODULES):
                    out.append((f"import {n}", node.lineno))
            if isinstance(node, ast.ImportFrom):
                out += [(f"from {node.module} import {a.name}", node.lineno) for a in node.names
                        if a.name in EVALUATORS]  # fmt: skip
    return out


def sources() -> list[Path]:
    return sorted(
        p for pkg in ("app", "surfaces", "optimizers") for p in (ROOT / pkg).rglob("*.py")
    )


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_evaluator_outside_the_rule_engines(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    found = [
        (name, line)
        for name, line in evaluator_calls(path.read_text())
        if (rel, name) not in RULE_CODE
    ]
    assert not found, f"{rel}: {found}"


def test_the_check_finds_what_it_looks_for() -> None:
    """The scanner itself: each way of reaching an evaluator is caught, a regex is not."""
    bad = {
        "eval(text)": "eval",
        "builtins.exec(code)": "builtins.exec",
        "y = compile(text, 'f', 'eval')": "compile",
        "sympy.sympify(text)": "sympy.sympify",
        "from sympy.parsing.sympy_parser import parse_expr": "import sympy.parsing.sympy_parser",
        "import numexpr": "import numexpr",
        "numexpr.evaluate(text)": "numexpr.evaluate",
        "from builtins import eval": "from builtins import eval",
        "__import__('os')": "__import__",
    }
    for source, name in bad.items():
        assert name in [n for n, _ in evaluator_calls(source)], source
    assert evaluator_calls("re.compile(r'x+')\nm = pattern.match(s)\n") == []


def test_the_rule_engines_compile_only_generated_rule_source() -> None:
    """The two places that do run exec are fed the rule's generated source (a local ``src``),
    not a parameter that could carry text from outside."""
    for rel in sorted({r for r, _ in RULE_CODE}):
        calls = [
            ast.unparse(n)
            for n in ast.walk(ast.parse((ROOT / rel).read_text()))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "compile"
        ]
        assert calls, rel
        assert all(c.startswith("compile(src, f'<rule {name}") for c in calls), calls

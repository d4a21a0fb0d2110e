"""One traced operation as a Python expression over floats: what the scalar engine writes
for every value and the vector engine for every value shared by the runs of a chunk, so that
the two compute them identically."""

from __future__ import annotations

OPERATORS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "pow": "**",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "eq": "==",
    "ne": "!=",
}


def float_expr(kind: str, a: list[str], sqrt: str = "math.sqrt") -> str | None:
    """The expression of ``kind`` over the argument expressions ``a``; None for the kinds that
    need an engine's own form (lerp, the oracle)."""
    if kind in OPERATORS:
        return f"{a[0]} {OPERATORS[kind]} {a[1]}"
    if kind == "max":
        return f"{a[0]} if {a[0]} >= {a[1]} else {a[1]}"
    if kind == "min":
        return f"{a[0]} if {a[0]} <= {a[1]} else {a[1]}"
    if kind == "neg":
        return f"-{a[0]}"
    if kind == "sqrt":
        return f"{sqrt}({a[0]})"
    if kind == "abs":
        return f"abs({a[0]})"
    if kind == "sign":
        return f"1.0 if {a[0]} > 0.0 else (-1.0 if {a[0]} < 0.0 else 0.0 * {a[0]})"
    if kind == "not":
        return f"not {a[0]}"
    if kind == "where":
        return f"{a[1]} if {a[0]} else {a[2]}"
    return None


def lerp_expr(a: list[str], low: str, one_minus_w: str) -> str:
    """torch.lerp(a0, a1, w) with its two formulas; ``low`` is the condition w < 0.5."""
    lo = f"{a[0]} + {a[2]} * ({a[1]} - {a[0]})"
    hi = f"{a[1]} - ({a[1]} - {a[0]}) * {one_minus_w}"
    return f"{lo} if {low} else {hi}"

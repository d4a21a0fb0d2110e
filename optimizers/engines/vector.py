"""The vector engine: a traced rule as in-place NumPy calls on chunks of runs.

Parameters and state live as structure-of-arrays chunks, P of shape (D, n) (one row per
coordinate, n runs), so one ufunc call updates every coordinate of every run of the chunk.
From the traced rule (:mod:`optimizers.ir`) this module generates, once per rule and settings
signature, a Python function of ``np.<ufunc>(..., out=buffer)`` calls whose work buffers are
reused as soon as a value is dead: a step reads and writes a few (D, n) arrays that stay in
the cache. Values that are one number for all runs of the chunk (a shared β's bias correction,
a learning rate) are Python floats computed exactly as the scalar engine computes them, so the
two engines agree to the last bit.

Without mini-batches or random proposals each chunk runs all T steps while it is hot in the
cache (one thread by default, see ``THREADS``; a pool shares the chunks when asked for more).
With per-step draws the time loop is outside, so every run sees the same random stream as on
the scalar engine. A run whose new point is outside the box (or non-finite) stops; the driver
keeps its exit point.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from optimizers import ir
from optimizers.engines.source import float_expr, lerp_expr
from optimizers.ir import LANE, RUN, STEP, Traced
from optimizers.problem import Problem, exit_points, numeric_kinds
from optimizers.schedules import ReduceLROnPlateau

CHUNK = 8192  # runs per chunk: a (2, n) buffer of 128 KiB, the set of them in the L2 cache
# One thread by default: a second thread made runs slower on the 2-core machines this was
# measured on (a 256 x 256 Adam sweep 0.64 s on one thread, 0.81 s on two; SGD 0.31 against
# 0.44 s: NumPy's calls are short and hold Python's lock between them), while two processes
# each doing half take half the time (optimizers.pool). ``_threads=2`` asks for two threads.
THREADS = 1
MIN_THREAD_CHUNK = 4096  # smaller chunks are not worth a second thread

_UFUNC = {
    "add": "np.add",
    "sub": "np.subtract",
    "mul": "np.multiply",
    "div": "np.divide",
    "pow": "np.power",
    "max": "np.maximum",
    "min": "np.minimum",
    "lt": "np.less",
    "le": "np.less_equal",
    "gt": "np.greater",
    "ge": "np.greater_equal",
    "eq": "np.equal",
    "ne": "np.not_equal",
    "neg": "np.negative",
    "sqrt": "np.sqrt",
    "abs": "np.abs",
    "sign": "np.sign",
    "not": "np.logical_not",
}
_BOOL = ("lt", "le", "gt", "ge", "eq", "ne", "not")
_ALIAS_OK = set(_UFUNC)  # elementwise ufuncs may write over an argument that dies there


@dataclass(frozen=True)
class Plan:
    """``make(H, n) -> (step, initial state values)`` for one rule and settings signature, with
    ``step(P, PO, G, S, t, lr, val, Z)``: the new point into PO, the state in place;
    ``fields``: the state fields the step keeps (in S's order), each with whether it holds one
    number per run (else one per coordinate)."""

    make: Callable[..., tuple[Callable[..., None], tuple[Any, ...]]]
    fields: tuple[tuple[str, bool], ...]  # (name, one per run (True) or per coordinate)
    traced: Traced
    source: str


_PLANS: dict[tuple[Any, ...], Plan] = {}


def plan(
    opt: Any,
    flags: dict[str, Any],
    kinds: dict[str, str],
    d: int,
    lr_varying: bool,
    batched: bool = False,
    lr_key: str | None = None,
) -> Plan:
    """``lr_key``: the learning rate is ``H[lr_key]`` at every step (no schedule), so what the
    rule computes from it alone is computed once per chunk."""
    key = (
        opt.name,
        opt.rule, tuple(sorted(flags.items())), tuple(sorted(kinds.items())), d, lr_varying,
        batched, lr_key,
    )  # fmt: skip
    p = _PLANS.get(key)
    if p is None:
        traced = ir.trace_rule(opt.rule, flags, kinds, lr_varying, batched, lr_key is not None)
        p = _PLANS[key] = build(traced, d, opt.name, lr_key)
    return p


def build(traced: Traced, d: int, name: str = "rule", lr_key: str | None = None) -> Plan:
    """Generate the chunk step of ``traced`` for D coordinates (``lr_key``: see :func:`plan`).

    Lane values live in (D, n) work buffers and per-run values that change from step to step
    in (n,) ones, both reused as soon as a value is dead; per-run values fixed for the run are
    computed once, when the chunk is made."""
    g = traced.graph
    ops = g.ops
    state_in = traced.state_in
    fields = list(traced.state)
    run_fields = set(traced.run_fields)
    changed = [f for f in fields if traced.state[f] != state_in[f]]
    roots: list[Any] = [traced.param, *(traced.state[f] for f in changed)]
    need = ir.live(g, roots)
    kept = [f for f in fields if f in changed or need[state_in[f]]]
    init_roots = [traced.init[f] for f in kept]
    need = ir.live(g, roots + init_roots)
    scheduled = ir.schedule(g, need, roots + init_roots)
    guards: dict[int, ir.Guard] = dict(scheduled)
    readers = ir.uses(g, need)
    order = [i for i, _ in scheduled]
    out_nodes = {r for r in roots if _is_ref(r)}
    pos = {i: n for n, i in enumerate(order)}  # liveness in emission order
    last = {i: max((pos[r] for r in readers[i]), default=-1) for i in order}
    for r in out_nodes:
        last[r] = len(order)

    def hoisted_node(i: int) -> bool:  # computed once per chunk, in make()
        op = ops[i]
        fixed_guard = any(not ops[c].varying for c, _ in guards[i] or ())
        return op.rank <= RUN and op.kind != "value" and not fixed_guard

    def per_run(i: int) -> bool:  # a per-run value of the loop written into an (n,) buffer
        op = ops[i]
        return (
            op.rank in (RUN, STEP)
            and op.varying
            and op.kind in _UFUNC
            and not (op.kind == "pow" and _pow_table(op, ops))
            and not hoisted_node(i)
        )

    def kind_of(op_id: int) -> str:
        k = _kind(ops[op_id])
        return k if ops[op_id].rank == LANE else {"f": "r", "b": "q"}[k]

    names: dict[int, str] = {}
    for key, i in g.inputs.items():
        if key == "param":
            names[i] = "P"
        elif key == "grad":
            names[i] = "G"
        elif key in ("t", "lr"):
            names[i] = key
        elif key.startswith("h:"):
            names[i] = "h_" + key[2:]
        elif key.startswith("s:"):
            names[i] = f"S{kept.index(key[2:])}" if key[2:] in kept else "None"

    # ---- outputs written in place: the new point into PO (the driver swaps it with P), a
    # state buffer's new value straight into it once its old value is read for the last time
    pins: dict[int, str] = {}
    k = traced.param
    if _is_ref(k) and ops[k].rank == LANE and ops[k].kind not in ("input", "normal"):
        pins[k] = "PO"
    for f in changed:
        k = traced.state[f]
        if not _is_ref(k) or k in pins:
            continue
        if f in run_fields:
            if not per_run(k):
                continue
        elif ops[k].rank != LANE or ops[k].kind in ("input", "normal"):
            continue
        old_last = last.get(state_in[f], -1)
        if old_last < pos[k] or (old_last == pos[k] and _writes_over_args(ops, k)):
            pins[k] = f"S{kept.index(f)}"

    # ---- work buffers for lane values and the loop's per-run values: linear scan over the
    # live nodes
    buffers: dict[int, str] = {}
    free: dict[str, list[str]] = {"f": [], "b": [], "r": [], "q": []}
    active: list[int] = []
    count = {"f": 0, "b": 0, "r": 0, "q": 0}
    aux: dict[int, list[str]] = {}  # spare buffers used only inside one node's statements

    def release(upto: int, allow_equal: bool) -> None:
        for j in list(active):
            if last[j] < upto or (allow_equal and last[j] == upto):
                active.remove(j)
                free[kind_of(j)].append(buffers[j])

    def take(kind: str, forbid: set[str]) -> str:
        for b in free[kind]:
            if b not in forbid:
                free[kind].remove(b)
                return b
        count[kind] += 1
        return f"{kind}{count[kind] - 1}"

    for i in order:
        op = ops[i]
        if not per_run(i) and (op.rank != LANE or op.kind in ("input", "normal")):
            continue
        simple = op.kind in _ALIAS_OK
        here = pos[i]
        release(here, allow_equal=False)
        if i in pins:  # an output written where it belongs
            buffers[i] = pins[i]
            if op.kind in ("lerp", "fd_grad"):
                taken = {buffers[a] for a in op.args if _is_ref(a) and a in buffers}
                aux[i] = [take("f", taken)]
                # a per-run lerp weight written over its argument keeps both forms apart
                if op.kind == "lerp" and _is_ref(op.args[2]) and ops[op.args[2]].varying:
                    aux[i].append(take("f", taken | set(aux[i])))
                free["f"].extend(aux[i])
            continue
        arg_bufs = {buffers[a] for a in op.args if _is_ref(a) and a in buffers}
        if simple:
            mine = [a for a in op.args if _is_ref(a) and a in buffers and last[a] == here]
            for a in mine:
                if a in active:
                    active.remove(a)
                    free[kind_of(a)].append(buffers[a])
            forbid: set[str] = set()
        else:
            forbid = arg_bufs
        buffers[i] = take(kind_of(i), forbid)
        active.append(i)
        if op.kind in ("lerp", "fd_grad"):
            aux[i] = [take("f", forbid | {buffers[i]})]
            free["f"].extend(aux[i])

    def ref(r: Any) -> str:
        if not _is_ref(r):
            return _const(r)
        if r in buffers:
            return buffers[r]
        return names.get(r, f"v{r}")

    def cond_text(i: int) -> str:
        gd = guards[i]
        parts = [(ref(c) if side else f"not {ref(c)}") for c, side in gd if not ops[c].varying]
        return " and ".join(parts)

    def unsafe_guard(i: int) -> bool:
        gd = guards[i] or ()
        return any(ops[c].varying for c, _ in gd)

    hoisted: list[str] = []
    body: list[tuple[str, list[str]]] = []
    lerp_w = {ops[i].args[2] for i in order if ops[i].kind == "lerp"}
    for i in order:
        op = ops[i]
        if op.kind == "input":
            continue
        a = [ref(x) for x in op.args]
        stmts: list[str] = []
        if op.kind == "normal":
            stmts = [f"v{i} = Z"]
        elif op.rank == LANE:
            stmts = _lane_stmts(op, i, a, buffers, aux, ops, d)
        elif i in buffers:  # per-run, into its (n,) buffer
            stmts = [f"{_UFUNC[op.kind]}({', '.join(a)}, out={buffers[i]})"]
        elif op.kind == "value":
            stmts = [f"v{i} = val({a[0]})"]
        elif op.kind == "pow" and _pow_table(op, ops):
            # a per-run base (β) to a shared power (t): the scalar engine's pow, once per
            # distinct base, so that sweeps match single runs to the last bit
            hoisted.append(f"pw{i} = _Powers({a[0]})")
            stmts = [f"v{i} = pw{i}({a[1]})"]
        elif op.varying:
            stmts = [f"v{i} = {_array_expr(op, a, ops)}"]
        else:
            e = _py_expr(op, a)
            stmts = [f"v{i} = _safe(lambda: {e})" if unsafe_guard(i) else f"v{i} = {e}"]
        if i in lerp_w and op.rank != LANE:
            stmts += [f"lw{i} = {ref(i)} < 0.5", f"cw{i} = 1.0 - {ref(i)}"]
            if op.varying:
                stmts.append(f"mode{i} = _mode(lw{i})")
        ct = cond_text(i)
        if hoisted_node(i):
            hoisted += stmts
        else:
            body.append((ct, stmts))
    for w in lerp_w:
        if _is_ref(w) and ops[w].kind == "input":
            v = ref(w)
            hoisted += [f"lw{w} = {v} < 0.5", f"cw{w} = 1.0 - {v}"]
            if ops[w].varying:
                hoisted.append(f"mode{w} = _mode(lw{w})")

    lines = ["def make(H, n, Z=None):"]
    for key, i in g.inputs.items():
        if key.startswith("h:") and need[i]:
            lines.append(f"    h_{key[2:]} = H[{key[2:]!r}]")
        elif key == "lr" and lr_key is not None and need[i]:
            lines.append(f"    lr = H[{lr_key!r}]")
    lines += [f"    {s}" for s in hoisted]
    for kind in ("f", "b", "r", "q"):
        for j in range(count[kind]):
            dt = "np.float64" if kind in "fr" else "np.bool_"
            shape = f"({d}, n)" if kind in "fb" else "(n,)"
            lines.append(f"    {kind}{j} = np.empty({shape}, dtype={dt})")
    lines.append("    def step(P, PO, G, S, t, lr, val, Z):")
    if kept:
        lines.append(f"        {', '.join(f'S{j}' for j in range(len(kept)))}, = S")
    for ct, stmts in body:
        if ct:
            lines.append(f"        if {ct}:")
            lines += [f"            {s}" for s in stmts]
        else:
            lines += [f"        {s}" for s in stmts]
    for f in changed:
        j = kept.index(f)
        if pins.get(traced.state[f]) != f"S{j}":
            lines.append(f"        np.copyto(S{j}, {ref(traced.state[f])})")
    if pins.get(traced.param) != "PO":
        lines.append(f"        np.copyto(PO, {ref(traced.param)})")
    inits = ", ".join(ref(traced.init[f]) for f in kept)
    lines += [f"    return step, ({inits}{',' if len(kept) == 1 else ''})"]
    src = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {
        "np": np, "math": math, "_safe": _safe, "_mode": _mode, "_Powers": _Powers,
    }  # fmt: skip
    exec(compile(src, f"<rule {name}, vector engine>", "exec"), namespace)
    return Plan(
        make=namespace["make"],
        fields=tuple((f, f in run_fields) for f in kept),
        traced=traced,
        source=src,
    )


def _writes_over_args(ops: list[ir.Op], i: int) -> bool:
    """Whether node i's statements may write its result over an argument that dies there: an
    elementwise ufunc, or a lerp (whose intermediate values go through spare buffers)."""
    return ops[i].kind in _ALIAS_OK or ops[i].kind == "lerp"


def _is_ref(a: Any) -> bool:
    return isinstance(a, int) and not isinstance(a, bool)


def _kind(op: ir.Op) -> str:
    return "b" if op.kind in _BOOL else "f"


def _const(v: Any) -> str:
    if isinstance(v, bool):
        return repr(v)
    v = float(v)
    if math.isfinite(v):
        return repr(v) if v >= 0 else f"({v!r})"
    return "math.nan" if math.isnan(v) else ("math.inf" if v > 0 else "(-math.inf)")


def _safe(fn: Callable[[], Any]) -> Any:
    """A shared value needed only by some runs: a Python error means NaN, as NumPy would."""
    try:
        return fn()
    except (ArithmeticError, ValueError):
        return math.nan


POW_TABLE_MAX = 512  # distinct bases up to which powers are taken one by one in Python


def _pow_table(op: ir.Op, ops: list[ir.Op]) -> bool:
    base, expo = op.args
    return (
        _is_ref(base)
        and ops[base].rank <= RUN
        and ops[base].varying
        and not (_is_ref(expo) and ops[expo].varying)
    )


class _Powers:
    """``base ** e`` for a per-run base (n,) and a shared exponent: Python's pow (libm, as the
    scalar engine and torch's single-tensor loop take it) for each distinct base when there are
    few (a sweep's grid), NumPy's vectorised pow otherwise (within an ulp)."""

    _SHARED: ClassVar[dict[tuple[tuple[float, ...], float], np.ndarray]] = {}  # shared by chunks

    def __init__(self, base: Any) -> None:
        self.base = base
        uq, inv = np.unique(base, return_inverse=True)
        self.table = (tuple(uq.tolist()), inv) if len(uq) <= POW_TABLE_MAX else None

    def __call__(self, e: float) -> Any:
        if self.table is None:
            return np.power(self.base, e)
        uq, inv = self.table
        key = (uq, e)
        powers = self._SHARED.get(key)
        if powers is None:
            if len(self._SHARED) > 4096:  # bounded: a few steps of a few sweeps
                self._SHARED.clear()
            powers = self._SHARED[key] = np.array(list(map(pow, uq, itertools.repeat(e))))
        return powers[inv]


def _mode(low: np.ndarray) -> int:
    """Which of torch.lerp's formulas a chunk needs: 0 all low, 1 all high, 2 both."""
    return 0 if low.all() else (1 if not low.any() else 2)


def _py_expr(op: ir.Op, a: list[str]) -> str:
    """One shared number, in Python floats (the scalar engine's expression)."""
    e = float_expr(op.kind, a)
    if e is not None:
        return e
    if op.kind == "lerp":
        return lerp_expr(a, f"{a[2]} < 0.5", f"(1.0 - {a[2]})")
    raise ValueError(f"the vector engine has no shared form for {op.kind!r}")


def _array_expr(op: ir.Op, a: list[str], ops: list[ir.Op]) -> str:
    """One number per run, as a NumPy expression on (n,) arrays (allocating: small)."""
    k = op.kind
    if k in _UFUNC:
        return f"{_UFUNC[k]}({', '.join(a)})"
    if k == "where":
        c = op.args[0]
        if _is_ref(c) and not ops[c].varying:  # a shared condition: only that branch exists
            return f"{a[1]} if {a[0]} else {a[2]}"
        return f"np.where({a[0]}, {a[1]}, {a[2]})"
    if k == "lerp":
        low = f"{a[0]} + {a[2]} * ({a[1]} - {a[0]})"
        high = f"{a[1]} - ({a[1]} - {a[0]}) * (1.0 - {a[2]})"
        return f"np.where(np.less({a[2]}, 0.5), {low}, {high})"
    raise ValueError(f"the vector engine has no per-run form for {k!r}")


def _lane_stmts(
    op: ir.Op,
    i: int,
    a: list[str],
    buffers: dict[int, str],
    aux: dict[int, list[str]],
    ops: list[ir.Op],
    d: int,
) -> list[str]:
    out = buffers[i]
    k = op.kind
    if k in _UFUNC:
        return [f"{_UFUNC[k]}({', '.join(a)}, out={out})"]
    if k == "where":
        c = op.args[0]
        if _is_ref(c) and not ops[c].varying:
            return [f"np.copyto({out}, {a[1]} if {a[0]} else {a[2]})"]
        return [f"np.copyto({out}, {a[2]})", f"np.copyto({out}, {a[1]}, where={a[0]})"]
    if k == "lerp":
        w = op.args[2]
        tmp = aux[i][0]
        # written over one of its own arguments (a state buffer updated in place): the
        # difference goes through the spare buffer, so both arguments are read before the
        # last pass writes the result (same operations, same bits)
        d_ = tmp if out in a[:2] else out
        low = [
            f"np.subtract({a[1]}, {a[0]}, out={d_})",
            f"np.multiply({a[2]}, {d_}, out={d_})",
            f"np.add({a[0]}, {d_}, out={out})",
        ]
        if not _is_ref(w):
            cw = _const(1.0 - w)
            high = [
                f"np.subtract({a[1]}, {a[0]}, out={d_})",
                f"np.multiply({d_}, {cw}, out={d_})",
                f"np.subtract({a[1]}, {d_}, out={out})",
            ]
            return low if w < 0.5 else high
        high = [
            f"np.subtract({a[1]}, {a[0]}, out={d_})",
            f"np.multiply({d_}, cw{w}, out={d_})",
            f"np.subtract({a[1]}, {d_}, out={out})",
        ]
        if not ops[w].varying:
            return [f"if lw{w}:", *("    " + s for s in low), "else:", *("    " + s for s in high)]
        if out in a[:2]:  # both forms from the arguments, then the result over one of them
            hi_, d2 = aux[i][1], tmp
            mixed = [
                f"np.subtract({a[1]}, {a[0]}, out={d2})",
                f"np.multiply({d2}, cw{w}, out={hi_})",
                f"np.subtract({a[1]}, {hi_}, out={hi_})",
                f"np.multiply({a[2]}, {d2}, out={d2})",
                f"np.add({a[0]}, {d2}, out={out})",
                f"np.copyto({out}, {hi_}, where=~lw{w})",
            ]
        else:
            mixed = [
                *low,
                f"np.subtract({a[1]}, {a[0]}, out={tmp})",
                f"np.multiply({tmp}, cw{w}, out={tmp})",
                f"np.subtract({a[1]}, {tmp}, out={tmp})",
                f"np.copyto({out}, {tmp}, where=~lw{w})",
            ]
        return [
            f"if mode{w} == 0:",
            *("    " + s for s in low),
            f"elif mode{w} == 1:",
            *("    " + s for s in high),
            "else:",
            *("    " + s for s in mixed),
        ]
    if k == "fd_grad":
        tmp = aux[i][0]
        c, h = a
        return [
            f"np.copyto({tmp}, {c})",
            f"for _i in range({d}):",
            f"    {tmp}[_i] += {h}",
            f"    _up = val({tmp})",
            f"    {tmp}[_i] = {c}[_i] - {h}",
            f"    {out}[_i] = (_up - val({tmp})) / (2.0 * {h})",
            f"    {tmp}[_i] = {c}[_i]",
        ]
    raise ValueError(f"the vector engine has no form for {k!r}")


# ---------------------------------------------------------------- driver


class _Chunk:
    """n consecutive runs, parameters and state as (D, n) arrays."""

    def __init__(self, pb: Problem, lo: int, hi: int) -> None:
        self.pb = pb
        n = hi - lo
        self.n = n
        self.cols: slice | np.ndarray = slice(lo, hi)
        self.gid = np.arange(lo, hi)
        self.p = np.ascontiguousarray(pb.x0[lo:hi].T)
        self.prev = np.empty_like(self.p)
        self.g = np.zeros_like(self.p)
        opt = pb.opt
        self.h: dict[str, Any] = {}
        for key, v in pb.hyp.items():
            if isinstance(v, np.ndarray):
                part = v[lo:hi]
                # one value for the whole chunk (a sweep laid out in blocks): a shared number
                self.h[key] = float(part[0]) if (part == part[0]).all() else part.copy()
            else:
                self.h[key] = v
        kinds = numeric_kinds(opt, self.h)
        flags = {k: v for k, v in self.h.items() if k not in kinds}
        table = pb.lr_table
        sched = pb.schedule
        self.lr_rows = None if table is None or sched.constant else table[:, lo:hi]
        base = self.h[pb.lr_key]
        self.plateau = (
            sched.start(np.broadcast_to(np.asarray(base, dtype=np.float64), (n,)).copy())
            if isinstance(sched, ReduceLROnPlateau)
            else None
        )
        lr_varying = self.plateau is not None or isinstance(base, np.ndarray)
        if self.lr_rows is not None and not lr_varying:
            self.lr_rows = self.lr_rows[:, 0]  # one learning rate per step, shared
        fixed = self.plateau is None and self.lr_rows is None
        self.plan = plan(
            opt, flags, kinds, pb.d, lr_varying, pb.batch is not None,
            pb.lr_key if fixed else None,
        )  # fmt: skip
        self.fn, inits = self.plan.make(self.h, n)
        self.state = []
        for (_, per_run), v in zip(self.plan.fields, inits, strict=True):
            arr = np.empty((n,) if per_run else (pb.d, n))
            arr[...] = v
            self.state.append(arr)
        self.lo, self.hi = pb.bounds()
        self.boxless = pb.box is None
        self.done = False
        if pb.checks is not None and pb.checks.at[0]:
            self.check(0)

    def advance(self, t: int, bidx: np.ndarray | None, z: np.ndarray | None) -> None:
        pb, p = self.pb, self.p
        idx = None if bidx is None else bidx[self.cols]
        if pb.opt.uses == "grad":
            loss = pb.model.grad_T(p, self.g, idx)  # an objective's loss (a surface: None)
            if loss is not None and not np.isfinite(loss).all():
                self.stop_where_loss_is_not_finite(t - 1, np.isfinite(loss))
                if self.done:
                    return
                p = self.p
                idx = None if bidx is None else bidx[self.cols]
        if self.plateau is not None:
            lr: Any = self.plateau.lr
            loss = pb.model.value_T(p, None)
            assert pb.lr_out is not None
            pb.lr_out[t - 1, self.cols] = lr
        elif self.lr_rows is not None:
            lr = self.lr_rows[t - 1]
            lr = float(lr) if np.ndim(lr) == 0 else lr
        else:
            lr = self.h[pb.lr_key]
        model = pb.model

        def val(q: np.ndarray) -> np.ndarray:
            return np.asarray(model.value_T(q, idx))

        zz = None if z is None else z[:, self.cols]
        self.fn(p, self.prev, self.g, self.state, float(t), lr, val, zz)
        self.p, self.prev = self.prev, p  # the new point was written into the other buffer
        p = self.p
        if self.plateau is not None:
            self.plateau = pb.schedule.feed_many(self.plateau, loss)  # type: ignore[attr-defined]
        if self.boxless:  # no box: only a non-finite value stops a run (one pass, not four)
            inside = bool(np.isfinite(p).all())
        else:
            lo, hi = self.lo, self.hi
            inside = bool((p.min(axis=1) >= lo).all() and (p.max(axis=1) <= hi).all())
        if not inside:
            self.diverge(t)
            if self.done:
                return
        if pb.checks is not None and pb.checks.at[t]:
            self.check(t)
        r = pb.rec_index[t]
        if r >= 0:
            pb.params[r, self.cols] = self.p.T

    def check(self, t: int) -> None:
        """Step t is checked (while the chunk is hot): a run whose full-batch loss is at or
        below ``checks.loss`` for the first time has reached it at t; a run now near another
        of ``checks.points`` than at the last check (or near none any more) settles anew at t."""
        pb = self.pb
        checks = pb.checks
        assert checks is not None
        cols = self.cols  # a slice until a run of the chunk diverged, then the runs left
        if checks.loss is not None:
            loss = np.asarray(pb.model.value_T(self.p, None))
            reached = pb.reached_at[cols]
            first = (loss <= checks.loss) & (reached < 0)
            if isinstance(cols, slice):
                np.copyto(reached, t, where=first)  # a view: in place
            else:
                pb.reached_at[cols[first]] = t
        if checks.points is not None:
            near = checks.near(self.p)
            was = pb.settled_near[cols]
            moved = was != near
            if isinstance(cols, slice):
                np.copyto(pb.settled_at[cols], t, where=moved)
                np.copyto(was, near, where=moved)
            else:
                pb.settled_at[cols[moved]] = t
                pb.settled_near[cols[moved]] = near[moved]

    def diverge(self, t: int) -> None:
        p, pb = self.p, self.pb
        with np.errstate(invalid="ignore"):
            inside = ((p >= self.lo[:, None]) & (p <= self.hi[:, None])).all(axis=0)
        bad = ~inside
        gids = self.gid[bad]
        pb.diverged_at[gids] = t
        pb.exits[gids] = exit_points(self.prev[:, bad], p[:, bad], pb.box).T
        self._keep(np.asarray(inside), np.zeros_like(self.p[:, inside]))

    def stop_where_loss_is_not_finite(self, t: int, finite: np.ndarray) -> None:
        """The loss at the point of step ``t`` (finite where ``finite``) is inf or NaN: those
        runs end at step t, on that point; the others keep the gradient just computed."""
        bad = ~finite
        gids = self.gid[bad]
        self.pb.diverged_at[gids] = t
        self.pb.exits[gids] = self.p[:, bad].T
        self._keep(finite, np.ascontiguousarray(self.g[:, finite]))

    def _keep(self, keep: np.ndarray, g: np.ndarray) -> None:
        """Only the runs ``keep`` go on (every per-run array of the chunk cut to them)."""
        self.p = np.ascontiguousarray(self.p[:, keep])
        self.prev = np.empty_like(self.p)
        self.g = g
        self.state = [np.ascontiguousarray(s[..., keep]) for s in self.state]
        self.h = {
            k: (np.ascontiguousarray(v[keep]) if isinstance(v, np.ndarray) else v)
            for k, v in self.h.items()
        }
        if self.plateau is not None:
            self.plateau = type(self.plateau)(*(np.asarray(v)[keep] for v in self.plateau))
        if self.lr_rows is not None and self.lr_rows.ndim == 2:
            self.lr_rows = self.lr_rows[:, keep]
        self.gid = self.gid[keep]
        self.cols = self.gid
        self.n = int(keep.sum())
        self.fn = self.plan.make(self.h, self.n)[0]
        self.done = self.n == 0


def chunk_bounds(k: int, chunk: int, threads: int) -> list[tuple[int, int]]:
    """Split K runs into equal chunks of at most ``chunk`` runs, as many as a multiple of
    ``threads`` when there are enough runs, so that no thread idles while another finishes a
    last, longer round (K = 100,000 on 2 threads: 8 chunks of 12,500, not 7 of up to 16,384)."""
    n = -(-k // chunk)
    if threads > 1 and k >= threads * MIN_THREAD_CHUNK:
        n = -(-n // threads) * threads
    size = -(-k // n)
    return [(lo, min(lo + size, k)) for lo in range(0, k, size)]


@dataclass(frozen=True)
class Observation:
    """What :func:`run`'s ``observe`` sees after step ``t`` (t = 0: before the first step).

    Views into the engine's own buffers, valid only during the call (copy what you keep):
    ``runs`` (n,) the indices of the runs still going (a diverged run drops out),
    ``params`` (n, D) their point after step t, ``grad`` (n, D) the gradient step t used
    (None at t = 0), ``state`` name -> (n, D) or (n,) every state buffer the rule keeps, after
    step t, and ``lr`` the learning rate of step t (a number or (n,); None at t = 0).
    """

    t: int
    runs: np.ndarray
    params: np.ndarray
    grad: np.ndarray | None
    state: dict[str, np.ndarray]
    lr: Any


def _observe(c: _Chunk, t: int, observe: Callable[[Observation], None]) -> None:
    names = [name for name, _ in c.plan.fields]
    state = {n: (s if s.ndim == 1 else s.T) for n, s in zip(names, c.state, strict=True)}
    lr = None
    if t > 0:
        if c.plateau is not None:
            assert c.pb.lr_out is not None
            lr = c.pb.lr_out[t - 1, c.cols]
        elif c.lr_rows is not None:
            lr = c.lr_rows[t - 1]
        else:
            lr = c.h[c.pb.lr_key]
    observe(Observation(t, c.gid, c.p.T, c.g.T if t > 0 else None, state, lr))


def run(
    pb: Problem,
    chunk: int = CHUNK,
    threads: int | None = None,
    observe: Callable[[Observation], None] | None = None,
) -> None:
    """Every run of ``pb``, chunk by chunk; fills pb's outputs.

    ``observe``: called before the first step and after every step with an
    :class:`Observation` of every run; the runs then go as one chunk on one thread, step by
    step, with the same arithmetic as without it.
    """
    threads = threads or THREADS
    k, t_steps = pb.k, pb.steps
    if pb.rec_index[0] >= 0:
        pb.params[pb.rec_index[0]] = pb.x0
    batches, rng = pb.batches(), pb.normals()
    draws = batches is not None or rng is not None
    if observe is not None:
        with np.errstate(all="ignore"):
            c = _Chunk(pb, 0, k)
            _observe(c, 0, observe)
            for t in range(1, t_steps + 1):
                bidx = next(batches) if batches is not None else None
                z = rng.standard_normal((pb.d, k)) if rng is not None else None
                c.advance(t, bidx, z)
                if c.done:
                    return
                _observe(c, t, observe)
        return
    bounds = chunk_bounds(k, chunk, 1 if draws else threads)
    if draws:
        with np.errstate(all="ignore"):
            chunks = [_Chunk(pb, lo, hi) for lo, hi in bounds]
            for t in range(1, t_steps + 1):
                bidx = next(batches) if batches is not None else None
                z = rng.standard_normal((pb.d, k)) if rng is not None else None
                for c in chunks:
                    if not c.done:
                        c.advance(t, bidx, z)
        return

    def work(lo_hi: tuple[int, int]) -> None:
        with np.errstate(all="ignore"):
            c = _Chunk(pb, *lo_hi)
            for t in range(1, t_steps + 1):
                c.advance(t, None, None)
                if c.done:
                    return

    if threads > 1 and len(bounds) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(work, bounds))
    else:
        for b in bounds:
            work(b)

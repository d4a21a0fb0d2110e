"""The scalar engine: a rule's whole loop as generated Python source over floats.

For a handful of runs on a 2-D surface (the interactive app) a Python loop over floats beats
per-step NumPy by 20-40x, as long as the loop does nothing but the arithmetic. So this engine
writes that loop from the traced rule (:mod:`optimizers.ir`): coordinates unrolled into local
variables, everything that depends only on the hyperparameters computed once before the loop,
each ``where`` evaluating only the branch taken, the trace recorded only when asked. The source
is generated from the project's own rule definitions (never from user input), compiled once per
rule and settings signature, and cached.

Each run goes through its kernel alone; afterwards one NumPy pass over its path finds the first
step outside the box. A kernel that raises (0/0, the square root of a negative number, an
overflow) stops its run there: that step counts as non-finite.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizers import ir
from optimizers.engines.source import OPERATORS, float_expr, lerp_expr
from optimizers.ir import LANE, RUN, Traced
from optimizers.problem import Problem, exit_points, numeric_kinds
from optimizers.schedules import ReduceLROnPlateau


@dataclass(frozen=True)
class Kernel:
    """A compiled loop: ``fn(P, H, grad, value_for, lrs, keep, normals, rows)`` and the layout
    of each trace row: (name, number of values) in order."""

    fn: Callable[..., None]
    layout: tuple[tuple[str, int], ...]
    source: str
    traced: Traced


_CACHE: dict[tuple[Any, ...], Kernel] = {}


def kernel(
    opt: Any, settings: dict[str, Any], d: int, trace: bool, batched: bool = False
) -> Kernel:
    """The loop of ``opt`` for one run's settings (flags, which numbers are 0), D coordinates."""
    sig = tuple(v if isinstance(v, bool | str) else v == 0.0 for v in settings.values())
    # the rule itself, not its name: a changed definition (a test's mutant) is a new kernel
    key = (opt.name, opt.rule, tuple(settings), sig, d, trace, batched)
    k = _CACHE.get(key)
    if k is None:
        kinds = numeric_kinds(opt, settings)
        flags = {k: v for k, v in settings.items() if k not in kinds}
        traced = ir.trace_rule(opt.rule, flags, kinds, lr_varying=False, batched=batched)
        k = _CACHE[key] = build(traced, d, trace, opt.name, batched)
    return k


def build(traced: Traced, d: int, trace: bool, name: str = "rule", batched: bool = False) -> Kernel:
    """Generate and compile the loop of ``traced`` over ``d`` coordinates."""
    g = traced.graph
    ops = g.ops
    state_in = traced.state_in
    changed = {f for f, ref in traced.state.items() if ref != state_in[f]}
    roots: list[Any] = [traced.param, *(traced.state[f] for f in changed)]
    if trace:
        roots += list(traced.trace.values())
    need = ir.live(g, roots)
    used = {f for f in traced.state if f in changed or need[state_in[f]]}
    roots += [traced.init[f] for f in used]
    need = ir.live(g, roots)
    order = ir.schedule(g, need, roots)
    guards: dict[int, ir.Guard] = dict(order)
    run_fields = set(traced.run_fields)
    fields = list(traced.state)
    names: dict[int, str] = {}  # inputs: their variable (lane-wise ones end in "_")
    for f, i in state_in.items():
        j = fields.index(f)
        names[i] = f"s{j}" if f in run_fields else f"s{j}_"
    for key, i in g.inputs.items():
        if key in ("param", "grad"):
            names[i] = key[0]
        elif key in ("t", "lr"):
            names[i] = key
        elif key.startswith("h:"):
            names[i] = "h_" + key[2:]

    inline = _inlinable(traced, need, order, roots)

    def ref(r: Any, lane: int) -> str:
        if not _is_ref(r):
            return _const(r)
        if r in inline:
            return f"({expr(r, lane)})"
        if r in names:
            base = names[r]
            if base in ("p", "g"):
                return f"{base}{lane}"
            return f"{base}{lane}" if base.endswith("_") else base
        return f"v{r}_{lane}" if ops[r].rank == LANE else f"v{r}"

    def expr(i: int, lane: int) -> str:
        op = ops[i]
        a = [ref(x, lane) for x in op.args]
        e = float_expr(op.kind, a, sqrt="_sqrt")
        if e is not None:
            return e
        if op.kind == "lerp":
            w = op.args[2]
            low = "True" if not _is_ref(w) and w < 0.5 else _lw(w, ref, lane)
            if not _is_ref(w) and w >= 0.5:
                low = "False"
            return lerp_expr(a, low, _cw(w, ref, lane))
        if op.kind == "value":
            return "val(" + ", ".join(ref(op.args[0], j) for j in range(d)) + ")"
        if op.kind == "normal":
            return f"z{lane}"
        if op.kind == "fd_grad":
            c, h = op.args
            up = [ref(c, j) + (f" + {ref(h, lane)}" if j == lane else "") for j in range(d)]
            dn = [ref(c, j) + (f" - {ref(h, lane)}" if j == lane else "") for j in range(d)]
            two = f"two{h}" if _is_ref(h) and ops[h].rank <= RUN else f"(2.0 * {ref(h, lane)})"
            return f"(val({', '.join(up)}) - val({', '.join(dn)})) / {two}"
        raise ValueError(f"the scalar engine has no form for {op.kind!r}")

    def guard_text(i: int, lane: int) -> str:
        gd = guards[i]
        parts = []
        for c, side in gd:
            if ops[i].rank < LANE and ops[c].rank == LANE:
                break  # computed once for every lane: only the conditions shared by the lanes
            parts.append(ref(c, lane) if side else f"not {ref(c, lane)}")
        return " and ".join(parts)

    hoisted: list[str] = []
    body: list[tuple[str, str]] = []  # (guard, statement)
    lerp_w = {op.args[2] for i, op in enumerate(ops) if need[i] and op.kind == "lerp"}
    for i, _ in order:
        op = ops[i]
        if op.kind == "input" or i in inline:
            continue
        lanes = range(d) if op.rank == LANE else [0]
        for lane in lanes:
            lhs = f"v{i}_{lane}" if op.rank == LANE else f"v{i}"
            stmt = f"{lhs} = {expr(i, lane)}"
            gt = guard_text(i, lane)
            if op.rank <= RUN and not gt:
                hoisted.append(stmt)
            else:
                body.append((gt, stmt))
            if i in lerp_w:  # the lerp formula's choice and weight, beside the weight
                extra = [f"lw{i}{'_' + str(lane) if op.rank == LANE else ''} = {lhs} < 0.5"]
                extra.append(f"cw{i}{'_' + str(lane) if op.rank == LANE else ''} = 1.0 - {lhs}")
                for e in extra:
                    if op.rank <= RUN and not gt:
                        hoisted.append(e)
                    else:
                        body.append((gt, e))
    for w in lerp_w:  # weights that are inputs (a hyperparameter used as is)
        if _is_ref(w) and ops[w].kind == "input":
            hoisted += [f"lw{w} = {ref(w, 0)} < 0.5", f"cw{w} = 1.0 - {ref(w, 0)}"]
    for i in range(len(ops)):  # central differences: 2h once per run
        h = ops[i].args[1] if need[i] and ops[i].kind == "fd_grad" else -1
        if _is_ref(h) and h >= 0 and ops[h].rank <= RUN:
            hoisted.append(f"two{h} = 2.0 * {ref(h, 0)}")

    uses_value = any(need[i] and ops[i].kind in ("value", "fd_grad") for i in range(len(ops)))
    uses_normal = any(need[i] and ops[i].kind == "normal" for i in range(len(ops)))
    coords = ", ".join(f"p{j}" for j in range(d)) + ("," if d == 1 else "")
    lines = ["def kernel(P, H, grad, value_for, lrs, keep, normals, rows):"]
    lines.append(f"    {coords} = P")
    for key, i in g.inputs.items():
        if key.startswith("h:") and need[i]:
            lines.append(f"    h_{key[2:]} = H[{key[2:]!r}]")
    lines += [f"    {s}" for s in hoisted]
    for f in fields:
        if f not in used:
            continue
        j = fields.index(f)
        init = traced.init[f]
        if f in run_fields:
            lines.append(f"    s{j} = {ref(init, 0)}")
        else:
            lines += [f"    s{j}_{lane} = {ref(init, 0)}" for lane in range(d)]
    if uses_value and not batched:  # one loss function for every step
        lines.append("    val = value_for(1)")
    lines.append("    t = 0.0")
    if uses_normal:
        zs = ", ".join(f"z{j}" for j in range(d)) + ("," if d == 1 else "")
        lines.append(f"    for lr, ({zs}) in zip(lrs, normals):")
    else:
        lines.append("    for lr in lrs:")
    lines.append("        t += 1.0")
    if traced.graph.inputs.get("grad") is not None and need[g.inputs["grad"]]:
        gs = ", ".join(f"g{j}" for j in range(d)) + ("," if d == 1 else "")
        lines.append(f"        {gs} = grad({', '.join(f'p{j}' for j in range(d))})")
    if uses_value and batched:
        lines.append("        val = value_for(int(t))")
    for gt, block in _blocks(body):
        if gt:
            lines.append(f"        if {gt}:")
            lines += [f"            {s}" for s in block]
        else:
            lines += [f"        {s}" for s in block]
    layout: list[tuple[str, int]] = []
    row: list[str] = []
    if trace:
        if "grad" in g.inputs:
            layout.append(("grad", d))
            row += [f"g{j}" for j in range(d)]
        for tname, r in traced.trace.items():
            lane_wise = _is_ref(r) and ops[r].rank == LANE
            layout.append((tname, d if lane_wise else 1))
            row += [ref(r, j) for j in range(d)] if lane_wise else [ref(r, 0)]
        for f in fields:
            if f in changed:
                r = traced.state[f]
                lane_wise = f not in run_fields
                layout.append((f, d if lane_wise else 1))
                row += [ref(r, j) for j in range(d)] if lane_wise else [ref(r, 0)]
    news = [ref(traced.param, j) for j in range(d)]
    updates = []
    for f in fields:
        if f in changed:
            j = fields.index(f)
            r = traced.state[f]
            if f in run_fields:
                updates.append(f"s{j} = {ref(r, 0)}")
            else:
                updates += [f"s{j}_{lane} = {ref(r, lane)}" for lane in range(d)]
    if trace:  # before the new point, so that p still holds the old one when it is recorded
        lines.append(f"        rows.append(({', '.join(row)}{',' if len(row) == 1 else ''}))")
    lines += [f"        {u}" for u in updates]
    lines.append(f"        {coords} = {', '.join(news)}{',' if d == 1 else ''}")
    lines.append(f"        keep(({coords}))")
    src = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {"_sqrt": math.sqrt}
    exec(compile(src, f"<rule {name}, scalar engine>", "exec"), namespace)
    return Kernel(namespace["kernel"], tuple(layout), src, traced)


_ONCE = set(OPERATORS) | {"neg", "sqrt", "abs", "not", "where"}  # each argument written once


def _inlinable(
    traced: Traced, need: list[bool], order: list[tuple[int, ir.Guard]], roots: list[Any]
) -> set[int]:
    """Values read once, by an expression that writes its arguments once, in the same loop and
    under the same guard (or in the branch of a where that only then evaluates it): written
    into that expression instead of a variable of their own."""
    ops = traced.graph.ops
    readers = ir.uses(traced.graph, need)
    guards = dict(order)
    keep = {r for r in roots if _is_ref(r)}
    for op in ops:
        if op.kind == "lerp" and _is_ref(op.args[2]):
            keep.add(op.args[2])
    for gd in guards.values():
        keep.update(c for c, _ in gd)

    def hoisted(i: int) -> bool:
        return ops[i].rank <= RUN and not guards[i]

    out = set()
    for i, _ in order:
        op = ops[i]
        if op.kind in ("input", "value", "normal", "fd_grad") or i in keep:
            continue
        if len(readers[i]) != 1:
            continue
        r = readers[i][0]
        rop = ops[r]
        if rop.kind not in _ONCE or rop.rank != op.rank or hoisted(r) != hoisted(i):
            continue
        if guards[i] == guards[r]:
            out.add(i)
        elif rop.kind == "where" and rop.args[0] != i:
            side = rop.args[1] == i
            if guards[i] == (*guards[r], (rop.args[0], side)):
                out.add(i)
    return out


def _is_ref(a: Any) -> bool:
    return isinstance(a, int) and not isinstance(a, bool)


def _const(v: Any) -> str:
    if isinstance(v, bool):
        return repr(v)
    v = float(v)
    if math.isfinite(v):
        return repr(v) if v >= 0 else f"({v!r})"
    return "float('nan')" if math.isnan(v) else ("float('inf')" if v > 0 else "float('-inf')")


def _lw(w: Any, ref: Callable[[Any, int], str], lane: int) -> str:
    name = ref(w, lane)
    return "lw" + name[1:] if name.startswith("v") else f"lw{w}"


def _cw(w: Any, ref: Callable[[Any, int], str], lane: int) -> str:
    if not _is_ref(w):
        return _const(1.0 - w)
    name = ref(w, lane)
    return "cw" + name[1:] if name.startswith("v") else f"cw{w}"


def _blocks(body: list[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """Consecutive statements under the same guard, as one block."""
    for gt, group in itertools.groupby(body, key=lambda x: x[0]):
        yield gt, [s for _, s in group]


# ---------------------------------------------------------------- running K runs


class _PlateauLR:
    """ReduceLROnPlateau for one run, as the kernel's ``lrs`` iterable.

    At step t it first feeds the loss of the point before step t − 1's update (torch's
    ``opt.step(); sched.step(loss)``), then measures the loss at the current point for the next
    call; ``used`` keeps the learning rate of every step.
    """

    def __init__(
        self,
        sched: ReduceLROnPlateau,
        base: float,
        value: Callable[..., float],
        path: list[float],
        steps: int,
        d: int,
    ) -> None:
        self.sched, self.state, self.value, self.path = sched, sched.start(base), value, path
        self.steps, self.d = steps, d
        self.pending: float | None = None
        self.used: list[float] = []

    def __iter__(self) -> Iterator[float]:
        for _ in range(self.steps):
            if self.pending is not None:
                self.state = self.sched.feed(self.state, self.pending)
            self.pending = self.value(*self.path[-self.d :])
            lr = float(self.state.lr)
            self.used.append(lr)
            yield lr


def run(pb: Problem, trace: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every run of ``pb`` through its kernel; fills pb's outputs, returns the trace arrays
    (name -> (T, K, D) or (T, K), step t at index t - 1) and each traced state buffer's
    initial value (name -> (K, D) or (K,)); both empty without ``trace``."""
    t_steps, k, d = pb.steps, pb.k, pb.d
    idx: list[list[list[int]]] | None = None
    batches = pb.batches()
    if batches is not None:
        idx = [[] for _ in range(k)]
        for _ in range(t_steps):
            b = next(batches)
            for j in range(k):
                idx[j].append(b[j].tolist())
    rng = pb.normals()
    # one (T, D, K) draw is the same stream as the vector engine's T draws of (D, K)
    noise = rng.standard_normal((t_steps, d, k)) if rng is not None else None
    rows_all: list[tuple[tuple[tuple[str, int], ...], list[Any]]] = []
    initial: dict[str, np.ndarray] = {}
    for j in range(k):
        layout, rows, kern = _one(pb, j, idx[j] if idx is not None else None, noise, trace)
        rows_all.append((layout, rows))
        if trace:
            for f, v in ir.initial_state(kern.traced, pb.run_settings(j)).items():
                if f in dict(layout):
                    lane_wise = f not in kern.traced.run_fields and d > 1
                    initial.setdefault(f, np.zeros((k, d) if lane_wise else (k,)))[j] = v
    if not trace:
        return {}, {}
    out: dict[str, np.ndarray] = {}
    for j, (layout, rows) in enumerate(rows_all):
        col = 0
        for name, width in layout:
            if name not in out:
                out[name] = np.zeros((t_steps, k, d) if width == d and d > 1 else (t_steps, k))
            if rows:
                block = np.array([r[col : col + width] for r in rows], dtype=np.float64)
                if out[name].ndim == 3:
                    out[name][: len(rows), j] = block
                else:
                    out[name][: len(rows), j] = block[:, 0]
            col += width
    clean = {n: np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0) for n, a in out.items()}
    return clean, initial


def _one(
    pb: Problem, j: int, idx: list[list[int]] | None, noise: np.ndarray | None, trace: bool
) -> tuple[tuple[tuple[str, int], ...], list[Any], Kernel]:
    """Run j alone: its kernel runs the whole loop; the box is checked afterwards."""
    model, opt, t_steps, d = pb.model, pb.opt, pb.steps, pb.d
    h = pb.run_settings(j)
    kern = kernel(opt, h, d, trace, batched=idx is not None)
    start = [float(v) for v in pb.x0[j]]
    value_for, grad = model.scalar_oracles(idx)
    normals = noise[:, :, j].tolist() if noise is not None else []
    rows: list[Any] = []
    path: list[float] = list(start)  # flat: one fromiter at the end, not T + 1 tuples
    lrs: Any
    if pb.schedule.constant and not pb.schedule.uses_loss:
        lrs = itertools.repeat(float(h[pb.lr_key]), t_steps)
    elif pb.lr_table is not None:
        lrs = pb.lr_table[:, j].tolist()
    plateau = None
    if isinstance(pb.schedule, ReduceLROnPlateau):
        plateau = lrs = _PlateauLR(
            pb.schedule, float(h[pb.lr_key]), model.value_scalar, path, t_steps, d
        )
    try:
        kern.fn(start, h, grad, value_for, lrs, path.extend, normals, rows)
    except (ArithmeticError, ValueError):  # 0/0, overflow, math domain: a non-finite step
        path.extend([math.nan] * d)
    arr = np.fromiter(path, np.float64, len(path)).reshape(-1, d)  # (n, D), n <= T + 1
    stop = pb.first_outside(arr)
    if stop >= 1:  # left the box (or non-finite) at step `stop`: the run ends there
        arr = arr[: stop + 1].copy()
        arr[stop] = exit_points(arr[stop - 1 : stop].T, arr[stop : stop + 1].T, pb.box)[:, 0]
        pb.diverged_at[j] = stop
        pb.exits[j] = arr[stop]
    rec = pb.rec[pb.rec < len(arr)]
    pb.params[: len(rec), j] = arr[rec]
    if plateau is not None:
        assert pb.lr_out is not None
        used = plateau.used[: stop if stop >= 1 else t_steps]
        pb.lr_out[: len(used), j] = used
        if used:
            pb.lr_out[len(used) :, j] = used[-1]
    if not trace:
        return kern.layout, [], kern
    end = stop if stop >= 1 else t_steps
    return kern.layout, rows[:end], kern

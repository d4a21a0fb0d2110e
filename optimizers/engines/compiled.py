"""The compiled engine: many runs, several steps per pass, one fused loop (torch inductor).

For large K the NumPy engine makes a pass over memory for every operation of a step. Here the
whole step (the objective's gradient, the traced update rule, the box check and the freeze of
diverged runs) is written in torch operations, ``BLOCK`` steps unrolled, traced into one graph
(``make_fx``) and compiled by inductor, torch's own compiler, into one vectorized C++ loop over
the runs (OpenMP across threads; Triton on a CUDA GPU when torch sees one): each run's state is
read and written once per ``BLOCK`` steps.

* The same traced rule as the other engines (:mod:`optimizers.ir`), operation by operation.
  Every value that is one number for all runs (a shared β's bias correction, the learning rate
  of a shared schedule) is computed on the host in Python floats, exactly as the scalar engine
  computes it, and passed in; inductor compiles with ``-ffp-contract=off`` and without
  reassociation, so on surfaces made of + - * / the results are bit-identical to the NumPy
  engine. Powers of per-run numbers (βᵗ for a β per run) come from the vector library's pow,
  within an ulp of libm's; sin/cos/exp likewise.
* Fixed shapes, so that one compile serves every K and every step count: ``CHUNK`` runs per
  call (fewer for a small K: the power of two that holds it; the last chunk padded with copies
  of its first run, which are dropped), ``BLOCK`` steps
  per call (the last block switches its extra steps off with a 0/1 mask). One kernel per rule
  and its flags, which numbers are per run, the objective's maths, whether every step is
  recorded.
* A run whose new point is outside the box (or non-finite) keeps its last inside point; the
  kernel notes the step and the outside point, and the driver computes the exit point as the
  other engines do.
* Compiling takes seconds (a C++ compile); inductor keeps the result in its cache
  (``TORCHINDUCTOR_CACHE_DIR``), so a later process pays much less. ``COMPILE_SECONDS`` records
  what each kernel cost in this process.

Needs torch and a C++ compiler (``g++`` or ``$CXX``), or a CUDA GPU; :func:`unavailable` says
why not. Mini-batches and a schedule that reads the loss run on the NumPy engine. Random
search's proposals are the NumPy engine's stream (one (D, K) draw per step, drawn on the host,
block by block for every chunk).
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from optimizers import ir
from optimizers.engines.vector import POW_TABLE_MAX
from optimizers.ir import LANE, RUN, STEP, Traced
from optimizers.problem import Problem, exit_points, numeric_kinds

if TYPE_CHECKING:
    import torch

BLOCK = 8  # steps per kernel call, unrolled
CHUNK = 8192  # runs per kernel call at most (a fixed shape: one compile for every larger K)
MIN_CHUNK = 512  # smaller calls are padded to a power of two from here


def chunk_size(k: int) -> int:
    """Runs per kernel call for K runs: CHUNK, or the power of two that holds K (so that a
    small K is not padded to CHUNK); each size is its own kernel."""
    return min(CHUNK, max(MIN_CHUNK, 1 << max(0, k - 1).bit_length()))


MIN_K = 4096  # engine="auto" leaves smaller K to the NumPy engine
AUTO_WORK = 400_000_000  # auto compiles a new kernel only for K * T above this (~10 s of NumPy)

_KERNELS: dict[tuple[Any, ...], Callable[..., list[torch.Tensor]]] = {}
COMPILE_SECONDS: dict[tuple[Any, ...], float] = {}
FAILED: list[str] = []  # compile errors: engine="auto" stops trying after the first
_LOCK = threading.Lock()


def device() -> str:
    """Where the kernels run: "cuda" when torch sees a CUDA GPU, else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def unavailable() -> str | None:
    """Why the compiled engine cannot run on this machine, or None if it can."""
    if FAILED:
        return f"compiling a kernel failed in this process: {FAILED[-1]}"
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None and device() != "cuda":
        return f"no C++ compiler: {cxx!r} is not on PATH (inductor compiles C++ with it)"
    return None


def unsupported(pb: Problem) -> str | None:
    """Why this call cannot run compiled (rule, objective, options), or None."""
    if pb.opt.uses != "grad" and pb.model.torch_value() is None:
        return f"{pb.model.name!r} has no loss written in torch operations"
    if pb.batch is not None:
        return "mini-batches draw random indices per step"
    if pb.schedule.uses_loss:
        return f"schedule {pb.schedule.name!r} reads the loss of every step"
    if pb.opt.uses == "grad" and pb.model.torch_grad() is None:
        return f"{pb.model.name!r} has no gradient maths written in torch operations"
    return None


def is_built(pb: Problem) -> bool:
    """Whether this call's kernel is already compiled in this process."""
    if not _KERNELS:  # nothing built: no need to import torch to know
        return False
    return any(_key(pb, every) in _KERNELS for every in (False, True))


def choose(pb: Problem, engine: str) -> str:
    """ "compiled" if it can run this call (and, for "auto", its kernel is built or the work is
    large enough to pay for compiling it), else "numpy"; ValueError with the reason when
    "compiled" was asked for and cannot run."""
    why = unsupported(pb) or unavailable()
    if engine == "compiled":
        if why is not None:
            raise ValueError(f"engine 'compiled' cannot run this call: {why}")
        return "compiled"
    if why is None and (is_built(pb) or pb.k * pb.steps >= AUTO_WORK):
        return "compiled"
    return "numpy"


# ---------------------------------------------------------------- the signature of a call


def _signature(pb: Problem) -> tuple[dict[str, Any], dict[str, str], bool]:
    kinds = numeric_kinds(pb.opt, pb.hyp)
    flags = {k: v for k, v in pb.hyp.items() if k not in kinds}
    lr_varying = isinstance(pb.hyp[pb.lr_key], np.ndarray)
    return flags, kinds, lr_varying


def _lerp_modes(traced: Traced, host: dict[int, Any]) -> tuple[tuple[int, bool], ...]:
    """For each lerp whose weight is one number for all runs: which formula (w < 0.5)."""
    out = []
    for op in traced.graph.ops:
        if op.kind == "lerp":
            w = op.args[2]
            if not _is_ref(w):
                out.append((-1, bool(w < 0.5)))
            elif not traced.graph.ops[w].varying:
                out.append((w, bool(host[w] < 0.5)))
    return tuple(out)


def _key(pb: Problem, every_step: bool) -> tuple[Any, ...]:
    flags, kinds, lr_varying = _signature(pb)
    traced = ir.trace_rule(pb.opt.rule, flags, kinds, lr_varying)
    host = _host_run_values(traced, pb.hyp)
    lr_table = not pb.schedule.constant and lr_varying
    return (
        pb.opt.name,
        pb.opt.rule,
        tuple(sorted((k, v) for k, v in flags.items() if not isinstance(v, np.ndarray))),
        tuple(sorted(kinds.items())),
        lr_varying,
        lr_table,
        _lerp_modes(traced, host),
        pb.model.key(),
        pb.d,
        tuple(  # per-run bases of few distinct values take their powers from the host
            (n, len(np.unique(v)) <= POW_TABLE_MAX)
            for n, v in pb.hyp.items()
            if isinstance(v, np.ndarray) and kinds.get(n) == "varying"
        ),
        every_step,
        BLOCK,
        chunk_size(pb.k),
        device(),
    )


def _is_ref(a: Any) -> bool:
    return isinstance(a, int) and not isinstance(a, bool)


def _host_run_values(traced: Traced, hyp: dict[str, Any]) -> dict[int, Any]:
    env: dict[int, Any] = {}
    for name, i in traced.hyper_inputs.items():
        if not traced.graph.ops[i].varying:
            env[i] = float(hyp[name])
    ir.evaluate_floats(traced, env, (RUN,))
    return env


# ---------------------------------------------------------------- the block, in torch


def _block(
    traced: Traced,
    grad: Callable[[Any], Any] | None,
    value: Callable[[Any], Any] | None,
    loss_grad: Callable[[Any], Any] | None,
    lo: np.ndarray,
    hi: np.ndarray,
    fields: list[tuple[str, bool]],
    run_slots: dict[int, int],
    step_slots: dict[int, int],
    varying_hypers: list[str],
    lr_mode: str,
    modes: dict[int, bool],
    every_step: bool,
    pow_ids: list[int],
    draws: bool,
) -> Callable[..., tuple[Any, ...]]:
    """``BLOCK`` steps on (D, n) tensors: the traced rule, the gradient and the box check."""
    import torch

    g = traced.graph
    ops = g.ops
    d = len(lo)

    def where(c: Any, a: Any, b: Any) -> Any:
        if isinstance(c, bool):
            return a if c else b
        return torch.where(c, a, b)

    def tmax(a: Any, b: Any) -> Any:
        if isinstance(b, float):
            return torch.clamp_min(a, b)
        if isinstance(a, float):
            return torch.clamp_min(b, a)
        return torch.maximum(a, b)

    def tmin(a: Any, b: Any) -> Any:
        if isinstance(b, float):
            return torch.clamp_max(a, b)
        if isinstance(a, float):
            return torch.clamp_max(b, a)
        return torch.minimum(a, b)

    def tpow(a: Any, b: Any) -> Any:
        if isinstance(a, float) and isinstance(b, float):
            return a**b
        return torch.pow(a, b)

    fns: dict[str, Callable[..., Any]] = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "pow": tpow,
        "max": tmax,
        "min": tmin,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "neg": lambda a: -a,
        "sqrt": torch.sqrt,
        "abs": torch.abs,
        "sign": torch.sign,
        "not": torch.logical_not,
        "where": where,
    }

    field_names = [f for f, _ in fields]
    widths = [1 if per_run else d for _, per_run in fields]  # tensors per state field

    def lane(v: Any, j: int) -> Any:
        return v[j] if isinstance(v, list) else v

    def block(*a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # inputs: D lanes of p, alive, dstep, D lanes of the exit point, the state (D lanes per
        # coordinate field, one tensor per run field), then the per-call values
        p, alive, dstep, ex = list(a[:d]), a[d], a[d + 1], list(a[d + 2 : 2 * d + 2])
        at = 2 * d + 2
        state: list[Any] = []
        for (_, per_run), w in zip(fields, widths, strict=True):
            state.append(a[at] if per_run else list(a[at : at + w]))
            at += w
        t0, on, run_consts, step_table, lr_in = a[at : at + 5]
        at += 5
        nv = len(varying_hypers)
        hyp = dict(zip(varying_hypers, a[at : at + nv], strict=True))
        rest = a[at + nv :]
        pow_tabs = {i: (rest[2 * j], rest[2 * j + 1]) for j, i in enumerate(pow_ids)}
        normals = rest[2 * len(pow_ids)] if draws else None
        ps = []
        for s in range(BLOCK):
            env: dict[int, Any] = {}
            loss = None  # an objective's loss at p, where it comes with the gradient
            for i, op in enumerate(ops):
                if op.kind == "input":
                    name = op.name
                    if name == "param":
                        env[i] = p
                    elif name == "grad":
                        if traced_needs_grad and loss_grad is not None:
                            loss, env[i] = loss_grad(p)
                        else:
                            env[i] = grad(p) if traced_needs_grad and grad is not None else None
                    elif name.startswith("s:"):
                        f = name[2:]
                        env[i] = state[field_names.index(f)] if f in field_names else 0.0
                    elif name == "t":
                        env[i] = t0 + s
                    elif name == "lr":
                        env[i] = (
                            step_table[s, step_slots[i]]
                            if lr_mode == "shared"
                            else (lr_in[s] if lr_mode == "table" else lr_in)
                        )
                    else:
                        hname = name[2:]
                        env[i] = hyp[hname] if hname in hyp else run_consts[run_slots[i]]
                    continue
                if i in run_slots or i in step_slots:  # a shared value from the host
                    v = run_consts[run_slots[i]] if i in run_slots else step_table[s, step_slots[i]]
                    env[i] = v > 0.5 if op.kind in ir.COMPARE else v  # conditions: 1.0 / 0.0
                    continue
                if not need[i]:
                    continue
                if i in pow_tabs:  # host powers of each distinct base, gathered per run
                    tab, inv = pow_tabs[i]
                    env[i] = tab[s][inv]
                    continue
                if op.kind == "normal":
                    assert normals is not None
                    env[i] = [normals[s, j] for j in range(d)]
                    continue
                if op.kind in ("value", "fd_grad"):  # the loss, in torch operations
                    assert value is not None
                    env[i] = _oracle(op, [env[x] if _is_ref(x) else x for x in op.args])
                    continue
                args = [env[x] if _is_ref(x) else x for x in op.args]
                if op.rank == LANE:  # one (n,) tensor per coordinate: one fused loop
                    env[i] = [_apply(op, i, [lane(x, j) for x in args]) for j in range(d)]
                else:
                    env[i] = _apply(op, i, args)
            newp = _val(env, traced.param, p)
            new_state = [_val(env, traced.state[f], state[j]) for j, f in enumerate(field_names)]
            live = alive * on[s]
            if loss is not None:  # a non-finite loss at p ends that run at the step of p
                lbad = torch.logical_and(torch.logical_not(torch.isfinite(loss)), live > 0.5)
                dstep = torch.where(lbad, t0 + s - 1, dstep)
                ex = [torch.where(lbad, p[j], ex[j]) for j in range(d)]
                live = torch.where(lbad, 0.0, live)
                alive = torch.where(lbad, 0.0, alive)
            okf = live
            for dd in range(d):
                okf = torch.where(lane(newp, dd) >= float(lo[dd]), okf, 0.0)
                okf = torch.where(lane(newp, dd) <= float(hi[dd]), okf, 0.0)
            leaving = (live - okf) > 0.5
            ok = okf > 0.5
            dstep = torch.where(leaving, t0 + s, dstep)
            ex = [torch.where(leaving, lane(newp, j), ex[j]) for j in range(d)]
            p = [torch.where(ok, lane(newp, j), p[j]) for j in range(d)]
            state = [_fill(ns, old) for ns, old in zip(new_state, state, strict=True)]
            alive = alive - (live - okf)
            if every_step:
                ps.append(torch.stack(p))
        flat = [x for st in state for x in (st if isinstance(st, list) else [st])]
        out = (*p, alive, dstep, *ex, *flat)
        if every_step:
            return (*out, torch.stack(ps))
        return out

    def _oracle(op: ir.Op, args: list[Any]) -> Any:
        assert value is not None
        if op.kind == "value":
            return value(list(args[0]))
        point, h = args  # central differences, lane by lane, like the other engines
        out = []
        for j in range(d):
            up = [point[i] + h if i == j else point[i] for i in range(d)]
            dn = [point[i] - h if i == j else point[i] for i in range(d)]
            out.append((value(up) - value(dn)) / (2.0 * h))
        return out

    def _apply(op: ir.Op, _i: int, args: list[Any]) -> Any:
        if op.kind == "lerp":
            lo_, hi_, w = args
            low = lo_ + w * (hi_ - lo_)
            high = hi_ - (hi_ - lo_) * (1.0 - w)
            wid = op.args[2]
            if _is_ref(wid) and ops[wid].varying:
                return torch.where(w < 0.5, low, high)
            return low if modes.get(wid if _is_ref(wid) else -1, True) else high
        return fns[op.kind](*args)

    def _fill(new: Any, old: Any) -> Any:
        if isinstance(old, list):
            return [
                lane(new, j)
                if isinstance(lane(new, j), torch.Tensor)
                else torch.full_like(o, lane(new, j))
                for j, o in enumerate(old)
            ]
        return new if isinstance(new, torch.Tensor) else torch.full_like(old, new)

    roots: list[Any] = [traced.param, *(traced.state[f] for f, _ in fields)]
    need = ir.live(g, roots)
    traced_needs_grad = "grad" in g.inputs and need[g.inputs["grad"]]
    return block


def _val(env: dict[int, Any], r: Any, default: Any) -> Any:
    if _is_ref(r):
        v = env.get(r)
        return default if v is None else v
    return r


# ---------------------------------------------------------------- compile and run


def run(pb: Problem, threads: int) -> None:
    """Fill pb.params (recorded states), pb.diverged_at and pb.exits for every run."""
    import torch

    dev = device()
    k, t_steps, d = pb.k, pb.steps, pb.d
    rec_index = pb.rec_index
    every_step = any(
        (rec_index[t0 : min(t0 + BLOCK - 1, t_steps)] >= 0).any()
        for t0 in range(1, t_steps + 1, BLOCK)
    )
    if rec_index[0] >= 0:
        pb.params[rec_index[0]] = pb.x0
    flags, kinds, lr_varying = _signature(pb)
    traced = ir.trace_rule(pb.opt.rule, flags, kinds, lr_varying)
    g = traced.graph
    ops = g.ops
    fields_all = list(traced.state)
    changed = [f for f in fields_all if traced.state[f] != traced.state_in[f]]
    roots: list[Any] = [traced.param, *(traced.state[f] for f in changed)]
    need = ir.live(g, roots)
    kept = [f for f in fields_all if f in changed or need[traced.state_in[f]]]
    need_all = ir.live(g, roots + [traced.init[f] for f in kept])
    fields = [(f, f in traced.run_fields) for f in kept]
    # shared values: computed on the host, per call (RUN) and per step (STEP)
    host = _host_run_values(traced, pb.hyp)
    run_ids = [i for i in host if ops[i].kind != "input" or True]
    run_slots = {i: j for j, i in enumerate(run_ids)}
    step_ids = [
        i for i, op in enumerate(ops) if op.rank == STEP and not op.varying and op.kind != "value"
    ]
    step_slots = {i: j for j, i in enumerate(step_ids)}
    lr_mode = "shared" if not lr_varying else ("table" if not pb.schedule.constant else "run")
    n_blocks = -(-t_steps // BLOCK)
    shared_lr = None
    if lr_mode == "shared":
        assert pb.lr_table is not None
        shared_lr = np.asarray(pb.lr_table[:, 0], dtype=np.float64)
    step_tables = np.zeros((n_blocks, BLOCK, max(1, len(step_ids))))
    t_in, lr_in_id = g.inputs["t"], g.inputs["lr"]
    for b in range(n_blocks):
        for s in range(BLOCK):
            t = 1 + b * BLOCK + s
            env = dict(host)
            env[t_in] = float(t)
            if shared_lr is not None:
                env[lr_in_id] = float(shared_lr[min(t, t_steps) - 1])
            ir.evaluate_floats(traced, env, (STEP,))
            for i, j in step_slots.items():
                step_tables[b, s, j] = env.get(i, math.nan)
    run_consts = np.array([float(host[i]) for i in run_ids] or [0.0])
    # per-run bases to shared powers (βᵗ for a β per run): Python's pow of each distinct base
    pow_ids, pow_inv, pow_tables = [], [], []
    for i, op in enumerate(ops):
        base, expo = op.args if op.kind == "pow" else (None, None)
        if not (op.kind == "pow" and need_all[i] and _is_ref(base) and ops[base].varying):
            continue
        if ops[base].rank > RUN or (_is_ref(expo) and ops[expo].varying):
            continue
        name = ops[base].name[2:] if ops[base].kind == "input" else None
        if name is None:
            continue
        uq, inv = np.unique(pb.hyp[name], return_inverse=True)
        if len(uq) > POW_TABLE_MAX:
            continue
        tabs = np.zeros((n_blocks, BLOCK, len(uq)))
        for b in range(n_blocks):
            for s_ in range(BLOCK):
                env_t = {t_in: float(1 + b * BLOCK + s_)}
                e = (
                    env_t[expo]
                    if expo == t_in
                    else _shared_at(traced, host, expo, b, s_, step_tables, step_slots)
                )
                tabs[b, s_] = [u**e for u in uq.tolist()]
        pow_ids.append(i)
        pow_inv.append(inv)
        pow_tables.append(tabs)
    varying = sorted(n for n, kd in kinds.items() if kd == "varying")
    lo_b, hi_b = pb.bounds()
    grad = pb.model.torch_grad() if pb.opt.uses == "grad" else None
    # an objective (no box): its loss, which comes with the gradient, is checked each step
    loss_grad = pb.model.torch_loss_grad() if grad is not None and pb.box is None else None
    value = pb.model.torch_value() if pb.opt.uses == "value" else None
    modes = dict(_lerp_modes(traced, host))
    key = _key(pb, every_step)
    fn: Callable[..., Any] | None = None
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    f64 = torch.float64

    def tens(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(dev)

    size = chunk_size(k)
    try:
        with torch.no_grad():
            consts_t = tens(run_consts)
            tables_t = [tens(step_tables[b]) for b in range(n_blocks)]
            # the per-block inputs every chunk shares, made once
            t0_t = [
                torch.tensor(float(1 + b * BLOCK), dtype=f64, device=dev) for b in range(n_blocks)
            ]
            on_t = [
                tens((np.arange(1 + b * BLOCK, 1 + (b + 1) * BLOCK) <= t_steps).astype(np.float64))
                for b in range(n_blocks)
            ]
            pow_t = [[tens(tab[b]) for b in range(n_blocks)] for tab in pow_tables]
            draws = pb.normals()

            def start(lo: int) -> dict[str, Any]:
                """A chunk's inputs that last across blocks, and its state."""
                hi = min(lo + size, k)
                m = hi - lo
                x = np.repeat(pb.x0[lo : lo + 1], size, axis=0)
                x[:m] = pb.x0[lo:hi]
                alive = np.zeros(size)
                alive[:m] = 1.0
                hv = {}
                for name in varying:
                    part = np.full(size, pb.hyp[name][lo])
                    part[:m] = pb.hyp[name][lo:hi]
                    hv[name] = part
                init_env: dict[int, Any] = dict(host)
                for name, i in traced.hyper_inputs.items():
                    if name in hv:
                        init_env[i] = hv[name]
                state_np = []
                for f, per_run in fields:
                    v = _np_eval(traced, traced.init[f], init_env)
                    arr = np.empty(size if per_run else (d, size))
                    arr[...] = v
                    state_np.append(arr)
                state = [
                    *(tens(x[:, j]) for j in range(d)),
                    tens(alive),
                    tens(np.full(size, -1.0)),
                    *(tens(np.zeros(size)) for _ in range(d)),
                    *(tens(r) for a in state_np for r in (a if a.ndim == 2 else [a])),
                ]
                lr_run = None
                if lr_mode == "run":
                    part = np.full(size, pb.hyp[pb.lr_key][lo])
                    part[:m] = pb.hyp[pb.lr_key][lo:hi]
                    lr_run = tens(part)
                inv_t = []
                for inv in pow_inv:
                    part = np.full(size, inv[lo], dtype=np.int64)
                    part[:m] = inv[lo:hi]
                    inv_t.append(tens(part))
                return {
                    "lo": lo,
                    "hi": hi,
                    "m": m,
                    "state": state,
                    "lr_run": lr_run,
                    "hyp": [tens(hv[n]) for n in varying],
                    "inv": inv_t,
                }

            def advance(c: dict[str, Any], b: int, z: np.ndarray | None) -> None:
                """One kernel call: block b of chunk c (z: this block's normals, (BLOCK, D, K))."""
                nonlocal fn
                lo, hi, m = c["lo"], c["hi"], c["m"]
                t0 = 1 + b * BLOCK
                if lr_mode == "table":
                    assert pb.lr_table is not None
                    tab = np.zeros((BLOCK, size))
                    rows = pb.lr_table[t0 - 1 : min(t0 - 1 + BLOCK, t_steps), lo:hi]
                    tab[: len(rows), :m] = rows
                    tab[: len(rows), m:] = rows[:, :1]
                    lr_t = tens(tab)
                elif lr_mode == "run":
                    lr_t = c["lr_run"]
                else:
                    lr_t = consts_t[:1]
                extra = []
                if z is not None:
                    zc = np.zeros((BLOCK, d, size))
                    zc[:, :, :m] = z[:, :, lo:hi]
                    extra.append(tens(zc))
                state = c["state"]
                inputs = [
                    *state,
                    t0_t[b],
                    on_t[b],
                    consts_t,
                    tables_t[b],
                    lr_t,
                    *c["hyp"],
                    *(x for j in range(len(pow_ids)) for x in (pow_t[j][b], c["inv"][j])),
                    *extra,
                ]
                if fn is None:
                    fn = _kernel(
                        key,
                        lambda: _block(
                            traced,
                            grad,
                            value,
                            loss_grad,
                            lo_b,
                            hi_b,
                            fields,
                            run_slots,
                            step_slots,
                            varying,
                            lr_mode,
                            modes,
                            every_step,
                            pow_ids,
                            z is not None,
                        ),
                        inputs,
                    )
                n_state = len(state)
                out = fn(*inputs)
                c["state"] = state = list(out[:n_state])
                if every_step:
                    ps = out[n_state].cpu().numpy()
                    for s in range(min(BLOCK, t_steps - t0 + 1)):
                        r = rec_index[t0 + s]
                        if r >= 0:
                            pb.params[r, lo:hi] = ps[s, :, :m].T
                else:
                    r = rec_index[min(t0 + BLOCK - 1, t_steps)]
                    if r >= 0:
                        for j in range(d):
                            pb.params[r, lo:hi, j] = state[j].cpu().numpy()[:m]

            def finish(c: dict[str, Any]) -> None:
                lo, m, state = c["lo"], c["m"], c["state"]
                p_last = np.stack([state[j].cpu().numpy()[:m] for j in range(d)])
                dstep = state[d + 1].cpu().numpy()[:m]
                ex = np.stack([state[d + 2 + j].cpu().numpy()[:m] for j in range(d)])
                gone = np.flatnonzero(dstep >= 0)
                if len(gone):
                    pb.diverged_at[lo + gone] = dstep[gone].astype(np.int64)
                    pb.exits[lo + gone] = exit_points(p_last[:, gone], ex[:, gone], pb.box).T

            if draws is None:  # each chunk runs all its blocks while its state is hot
                for lo in range(0, k, size):
                    c = start(lo)
                    for b in range(n_blocks):
                        advance(c, b, None)
                    finish(c)
            else:  # the NumPy engine's stream: one (D, K) draw per step, for all runs
                chunks = [start(lo) for lo in range(0, k, size)]
                for b in range(n_blocks):
                    steps_here = min(BLOCK, t_steps - b * BLOCK)
                    z = np.zeros((BLOCK, d, k))
                    for s_ in range(steps_here):
                        z[s_] = draws.standard_normal((d, k))
                    for c in chunks:
                        advance(c, b, z)
                for c in chunks:
                    finish(c)
    finally:
        torch.set_num_threads(before)


def _shared_at(
    _traced: Traced,
    host: dict[int, Any],
    r: Any,
    b: int,
    s: int,
    tables: np.ndarray,
    slots: dict[int, int],
) -> float:
    """A shared exponent's value at step s of block b (a constant, a per-call or a per-step
    host value)."""
    if not _is_ref(r):
        return float(r)
    if r in host:
        return float(host[r])
    return float(tables[b, s, slots[r]])


def _np_eval(traced: Traced, r: Any, env: dict[int, Any]) -> Any:
    """An initial-state expression (RUN rank) for one chunk, on NumPy values."""
    if not _is_ref(r):
        return r
    if r in env:
        return env[r]
    op = traced.graph.ops[r]
    args = [_np_eval(traced, a, env) for a in op.args]
    fns: dict[str, Callable[..., Any]] = {**ir.BINARY, **ir.UNARY}
    fns.update({"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide})
    env[r] = fns[op.kind](*args)
    return env[r]


def _kernel(key: tuple[Any, ...], make: Callable[[], Any], inputs: list[Any]) -> Any:
    with _LOCK:
        fn = _KERNELS.get(key)
        if fn is not None:
            return fn
        import torch
        from torch._inductor.compile_fx import compile_fx
        from torch.fx.experimental.proxy_tensor import make_fx

        block = make()
        t0 = time.perf_counter()
        before = torch.get_num_threads()
        # inductor writes the OpenMP loop only when it compiles with more than one thread
        torch.set_num_threads(max(2, before))
        try:
            with torch.no_grad():
                # fake tracing gives the graph a shape environment: inductor's on-disk cache of
                # compiled graphs needs one (with real tensors it is bypassed)
                graph = make_fx(block, tracing_mode="fake")(*inputs)
                fakes = [n.meta["val"] for n in graph.graph.nodes if n.op == "placeholder"]
                compiled = compile_fx(graph, fakes)
        except Exception as e:  # a broken toolchain: note it, the caller falls back
            FAILED.append(f"{type(e).__name__}: {e}"[:500])
            raise
        finally:
            torch.set_num_threads(before)
        COMPILE_SECONDS[key] = time.perf_counter() - t0
        kernel = cast(Callable[..., list["torch.Tensor"]], compiled)
        _KERNELS[key] = kernel
        return kernel

"""Take a Networks page home: losses and parameters per step as CSV / JSON, the training
animation as one offline HTML file. Pure Python (no streamlit).

Every file carries the full settings and the share link, so it says how to reproduce it.
CSV: one row per run and recorded step: step, epoch, training loss, gradient norm, learning
rate, training accuracy, test loss and accuracy where they apply, then every parameter by
name (w[1][2,0] is layer 1's weight[2, 0], as torch indexes it).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from app import exports
from app.state.codec import fmt
from app.state.networks import NetworksState


def base_name(state: NetworksState) -> str:
    """``network_xor_sgd-adam``: what is in the file."""
    opts = "-".join(state.optimizers) if len(state.optimizers) <= 5 else ""
    stem = f"network_{state.dataset}_" + (opts or f"{len(state.optimizers)}-optimizers")
    if not state.optimizers:
        stem = f"network_{state.dataset}_none"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem)[:80]


def settings_rows(state: NetworksState) -> list[tuple[str, str]]:
    def opt(v: Any, default: str) -> str:
        return default if v is None else (",".join(map(str, v)) if isinstance(v, tuple) else
                                          fmt(v))  # fmt: skip

    rows = [
        ("data set", state.dataset),
        ("points", opt(state.n_points, "the data set's")),
        ("noise", fmt(state.noise)),
        ("training share", opt(state.train_ratio, "the data set's")),
        ("features", opt(state.features, "the data set's")),
        ("hidden layers", opt(state.hidden, "the data set's")),
        ("activation", state.activation),
        ("regularisation", f"{state.regularization} ({fmt(state.rate)})"),
        ("initialisation", f"{state.init}, seed {state.seed}"),
        ("optimizers", ", ".join(state.optimizers) or "none"),
    ]
    for o, vals in state.hyper.items():
        rows += [(f"{o}.{k}", fmt(v)) for k, v in vals.items()]
    rows += [
        ("epochs", str(state.epochs)),
        ("batch size", "full" if state.batch_size is None else str(state.batch_size)),
        ("batches", "shuffled each epoch" if state.shuffle else "in order"),
        ("schedule", state.schedule),
    ]
    if state.compare_batch_sizes:
        rows.append(("compared batch sizes", ", ".join(map(str, state.compare_batch_sizes))))
    return rows


def _num(v: float) -> Any:
    return float(v) if math.isfinite(v) else ""


def to_csv(
    state: NetworksState, runs: Mapping[str, Any], names: list[str], base_url: str = ""
) -> str:
    """Every run, every recorded step: metrics then parameters (``names``: the parameter
    names, in order). Read back with ``pandas.read_csv(path, comment="#")``."""
    meta = exports.settings(state, base_url)
    buf = io.StringIO()
    buf.write("# Optimizer Playground: networks trained per step\n")
    buf.write(f"# share: {meta['share_url']}\n")
    buf.write(f"# settings: {json.dumps(meta['state'], sort_keys=True)}\n")
    w = csv.writer(buf, lineterminator="\n")
    head = ["run", "optimizer", "step", "epoch", "loss", "grad_norm", "lr", "train_accuracy",
            "test_loss", "test_accuracy", "diverged", *names]  # fmt: skip
    w.writerow(head)
    for label, r in runs.items():
        traj = r.traj
        steps = np.asarray(traj.steps)
        lr = np.asarray(traj.lr)[:, 0]
        for i, t in enumerate(steps.tolist()):
            row = [
                label,
                r.optimizer,
                t,
                repr(t / r.spe),
                repr(float(traj.loss[i, 0])),
                repr(float(traj.grad_norm[i, 0])),
                repr(float(lr[t])) if t < len(lr) else "",
                "" if r.train_acc is None else repr(float(r.train_acc[i])),
                "" if r.test_loss is None else _num(float(r.test_loss[i])),
                "" if r.test_acc is None else _num(float(r.test_acc[i])),
                int(r.diverged_at >= 0 and t >= r.diverged_at),
            ]
            row += [repr(float(v)) for v in traj.params[i, 0]]
            w.writerow(row)
    return buf.getvalue()


def to_json(
    state: NetworksState, runs: Mapping[str, Any], names: list[str], base_url: str = ""
) -> str:
    """Settings, share link and, per run, every recorded step's metrics and parameters."""
    out: dict[str, Any] = {"format": "optimizer-playground-networks/1",
                           **exports.settings(state, base_url), "parameters": names}  # fmt: skip
    body: dict[str, Any] = {}
    for label, r in runs.items():
        traj = r.traj
        body[label] = {
            "optimizer": r.optimizer,
            "hyperparams": exports.jsonable(traj.hyperparams),
            "batch_size": r.batch,
            "shuffle": r.shuffle,
            "steps_per_epoch": r.spe,
            "diverged_at": r.diverged_at if r.diverged_at >= 0 else None,
            "steps": exports.jsonable(np.asarray(traj.steps)),
            "loss": exports.jsonable(np.asarray(traj.loss[:, 0])),
            "grad_norm": exports.jsonable(np.asarray(traj.grad_norm[:, 0])),
            "lr": exports.jsonable(np.asarray(traj.lr[:, 0])),
            "train_accuracy": exports.jsonable(r.train_acc),
            "test_loss": exports.jsonable(r.test_loss),
            "test_accuracy": exports.jsonable(r.test_acc),
            "params": exports.jsonable(np.asarray(traj.params[:, 0])),
        }
    out["runs"] = body
    return json.dumps(out, allow_nan=False)


def to_html(state: NetworksState, fig: Mapping[str, Any], base_url: str = "") -> str:
    """The training animation as one offline page (plotly.js inside) with the settings."""
    title = f"Networks: {state.dataset}, " + ", ".join(state.optimizers)
    return exports.to_html(state, fig, title=title, base_url=base_url, name=base_name(state),
                           rows=settings_rows(state))  # fmt: skip

"""Learning-rate schedules against torch.optim.lr_scheduler, step for step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import optimizers
import surfaces
from optimizers import schedules

T = 300
CASES: list[tuple[str, dict[str, Any], Callable[..., Any] | None]] = [
    ("constant", {}, None),
    ("step", {"step_size": 7, "gamma": 0.5}, torch.optim.lr_scheduler.StepLR),
    ("exponential", {"gamma": 0.97}, torch.optim.lr_scheduler.ExponentialLR),
    ("cosine", {"T_max": 40, "eta_min": 1e-4}, torch.optim.lr_scheduler.CosineAnnealingLR),
    ("cosine", {"T_max": 13}, torch.optim.lr_scheduler.CosineAnnealingLR),
]


def torch_lrs(
    cls: Callable[..., Any] | None, params: dict[str, Any], base: float, steps: int
) -> list[float]:
    """The lr torch uses at updates 1..T with ``opt.step(); sched.step()``."""
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = cls(opt, **params) if cls is not None else None
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros_like(p)
        opt.step()
        if sched is not None:
            sched.step()
    return out


@pytest.mark.parametrize(
    ("name", "params", "cls"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_schedule_matches_torch(name: str, params: dict[str, Any], cls: Any) -> None:
    base = np.array([0.05, 0.01, 0.3])
    sched = schedules.make(name, **params)
    s = surfaces.get("quadratic_bowl")
    starts = np.zeros((3, 2)) + 0.5
    for path in ("scalar", "vector"):
        tr = optimizers.simulate(s, "sgd", starts, T, lr=base, schedule=sched, _path=path)
        for j, b in enumerate(base):
            np.testing.assert_allclose(
                tr.lr[:, j], torch_lrs(cls, params, float(b), T), rtol=1e-12, atol=0
            )
    scalar = optimizers.simulate(s, "sgd", starts, T, lr=0.05, schedule=sched)
    np.testing.assert_allclose(scalar.lr[:, 0], torch_lrs(cls, params, 0.05, T), rtol=1e-12, atol=0)


def torch_plateau_run(
    surface: Any, start: np.ndarray, lr: float, params: dict[str, Any], steps: int
) -> tuple[np.ndarray, list[float]]:
    """SGD + ReduceLROnPlateau stepped on the full-batch loss before each update."""
    p = torch.tensor(start, dtype=torch.float64)
    opt = torch.optim.SGD([p], lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **params)
    pos, lrs = [p.numpy().copy()], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        loss = float(surface.value(p.numpy()))
        p.grad = torch.from_numpy(np.asarray(surface.grad(p.numpy()), dtype=np.float64))
        opt.step()
        sched.step(loss)
        pos.append(p.numpy().copy())
    return np.array(pos), lrs


@pytest.mark.parametrize(
    "params",
    [
        {"factor": 0.5, "patience": 3},
        {
            "factor": 0.3,
            "patience": 0,
            "threshold": 1e-2,
            "threshold_mode": "abs",
            "cooldown": 4,
            "min_lr": 1e-4,
        },
        {"factor": 0.5, "patience": 5, "threshold": 0.2, "cooldown": 2, "eps": 1e-4},
    ],
)
def test_plateau_matches_torch_on_a_real_loss(params: dict[str, Any]) -> None:
    # SGD with a too-large step oscillates across the Rosenbrock valley: a real plateau
    s = surfaces.get("rosenbrock")
    starts = np.array([[-1.5, 2.0], [0.5, -0.5], [1.2, 1.0]])
    lr = np.array([2e-3, 1e-3, 3e-3])
    sched = schedules.make("plateau", **params)
    for path in ("scalar", "vector"):
        tr = optimizers.simulate(s, "sgd", starts, T, lr=lr, schedule=sched, _path=path, _chunk=2)
        for j in range(3):
            pos, lrs = torch_plateau_run(s, starts[j], float(lr[j]), params, T)
            d = int(tr.diverged_at[j])
            stop = T if d < 0 else d
            np.testing.assert_allclose(tr.lr[:stop, j], lrs[:stop], rtol=1e-14, atol=0)
            np.testing.assert_allclose(
                tr.positions[: stop + 1, j], pos[: stop + 1], rtol=1e-12, atol=1e-14
            )
    reduced = [len(set(tr.lr[:, j].tolist())) > 1 for j in range(3)]
    assert any(reduced), "the schedule never reduced: not a real test"


def test_names_make_and_metadata() -> None:
    assert schedules.names() == ["constant", "step", "exponential", "cosine", "plateau"]
    for name in schedules.names():
        cls = schedules.get(name)
        made = schedules.make(name)
        assert made.name == name
        assert cls.title
        assert cls.summary
        assert cls.tex
        for h in cls.hypers:
            assert getattr(made, h.name) == h.default
            assert h.help
    assert schedules.Constant().constant
    with pytest.raises(ValueError, match=r"'gamma' must be in \(0, 1\]"):
        schedules.make("step", gamma=0.0)
    with pytest.raises(ValueError, match=r"'step_size' must be in \[1, 100000\]"):
        schedules.make("step", step_size=0)
    with pytest.raises(ValueError, match=r"has no parameter 'gama'; allowed: gamma, step_size"):
        schedules.make("step", gama=0.5)
    with pytest.raises(ValueError, match=r"'threshold_mode' must be one of 'rel', 'abs'"):
        schedules.make("plateau", threshold_mode="max")


def test_schedule_by_name_in_simulate() -> None:
    s = surfaces.get("quadratic_bowl")
    tr = optimizers.simulate(s, "adam", (1.0, 1.0), 20, lr=0.1, schedule="exponential")
    np.testing.assert_allclose(tr.lr[:, 0], 0.1 * 0.99 ** np.arange(20), rtol=1e-13)
    assert tr.schedule == "exponential"
    assert tr.schedule_params == {"gamma": 0.99}

"""The Networks page's runs against the lesson's own loop: nn.Module + torch.optim, float64.

Lesson 002 trains ``XORModel`` (nn.Linear(2, 4) -> ReLU -> nn.Linear(4, 1) -> sigmoid, BCELoss)
three ways: the full batch, one sample at a time and mini-batches of 2, always walking the
four points in order (``for i in range(0, len(X), batch_size)``). For every optimizer that
torch.optim has, and each of the three schemes, the page's run (app/netcompute.py, exactly as
the page makes it) is checked step by step against that loop:

* the initial network is the lesson's model built under ``torch.manual_seed(seed)``;
* at every step the lesson's loop body, started from OUR parameters, computes the batch loss
  and the gradient (autograd): they equal the loss and the gradient our run used;
* torch.optim's step from OUR point, its state fed the gradients of our path, lands on our
  next point within 4 ulp + 1e-12 of the step (the shadowed comparison of
  tests/test_optimizers_torch.py: rounding differences cannot grow into a failure, a wrong
  rule or a wrong batch fails at once).

Lion (no torch.optim class) is checked against its reference loop the same way; random search
and finite differences have no torch counterpart (they use no gradient).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import optimizers
from app import netcompute as nc
from app.state.networks import NetworksState
from tests.test_optimizers_torch import ULPS, torch_kwargs

EPOCHS = 60
TORCH_BACKED = [n for n in optimizers.names() if optimizers.get(n).torch_class]
SCHEMES = {"full batch": None, "one at a time": 1, "mini-batches of 2": 2}
X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
Y = [[0.0], [1.0], [1.0], [0.0]]
STEP_RTOL = 1e-12
GRAD_RTOL = 1e-12


@pytest.fixture(autouse=True)
def _float64() -> Iterator[None]:
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch keeps NAdam's mu_product in it
    yield
    torch.set_default_dtype(old)


class XORModel(nn.Module):
    """The lesson's model."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, 4)
        self.output = nn.Linear(4, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.hidden(x))
        out: torch.Tensor = self.sigmoid(self.output(x))
        return out


def lesson_model(seed: int) -> XORModel:
    """As the lesson builds it (float32 draws under the seed), then in float64."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        torch.manual_seed(seed)
        model = XORModel()
    finally:
        torch.set_default_dtype(old)
    return model.double()


def page_run(name: str, batch: int | None, **state: Any) -> nc.NetRun:
    s = dataclasses.replace(
        NetworksState(), optimizers=(name,), batch_size=batch, epochs=EPOCHS, **state
    )
    train = nc.training(s)
    assert train.problem is None, train.problem
    assert not train.errors, train.errors
    return train.runs[name]


def set_params(model: nn.Module, theta: np.ndarray) -> None:
    with torch.no_grad():
        nn.utils.vector_to_parameters(torch.tensor(theta), model.parameters())


def get_vector(tensors: Any) -> np.ndarray:
    return torch.cat([t.reshape(-1) for t in tensors]).detach().numpy().copy()


def check_against_lesson(
    run: nc.NetRun, make_step: Any, what: str, observed: nc.Observed | None = None
) -> None:
    """Walk the lesson's loop from our points; ``make_step(model)`` -> a function doing one
    optimizer step on the model's gradients (torch.optim's, or a reference loop's)."""
    obs = nc.observed(run) if observed is None else observed
    assert obs is not None
    assert obs.complete
    theta = np.asarray(run.traj.params[:, 0])  # (T + 1, D)
    grads = np.asarray(obs.grad)  # (T + 1, D), row t: the gradient of step t
    model = lesson_model(run_seed(run))
    np.testing.assert_array_equal(get_vector(model.parameters()), theta[0], "initial network")
    step = make_step(model)
    x, y = torch.tensor(X), torch.tensor(Y)
    criterion = nn.BCELoss()
    b = 4 if run.batch is None else run.batch
    starts = list(range(0, 4, b))
    net = nc.build_network(dataclasses.replace(NetworksState()))
    for t in range(1, run.steps + 1):
        i = starts[(t - 1) % len(starts)]
        set_params(model, theta[t - 1])
        outputs = model(x[i : i + b])  # the lesson's loop body
        loss = criterion(outputs, y[i : i + b])
        for p in model.parameters():
            p.grad = None
        loss.backward()
        g_torch = get_vector(p.grad for p in model.parameters())
        idx = None if run.batch is None else np.arange(i, min(i + b, 4))[None]
        ours_loss = float(net.value(theta[t - 1][None], idx)[0])
        assert ours_loss == pytest.approx(loss.item(), rel=1e-12, abs=1e-15), f"{what} t={t}"
        scale = max(float(np.abs(g_torch).max()), 1e-300)
        err = float(np.abs(grads[t] - g_torch).max())
        assert err <= GRAD_RTOL * scale + 1e-18, f"{what}: gradient of step {t} off by {err:.3g}"
        with torch.no_grad():  # torch's state is fed OUR gradients (the shadowed comparison)
            offset = 0
            for p in model.parameters():
                n = p.numel()
                p.grad = torch.tensor(grads[t, offset : offset + n]).reshape(p.shape)
                offset += n
        step()
        pred = get_vector(model.parameters())
        allowed = ULPS * np.spacing(np.maximum(np.abs(theta[t - 1]), np.abs(theta[t])))
        allowed += STEP_RTOL * np.abs(pred - theta[t - 1])
        bad = np.abs(pred - theta[t]) > allowed
        assert not bad.any(), (
            f"{what}: step {t} differs from the lesson's loop by "
            f"{float(np.abs(pred - theta[t]).max()):.3g} (allowed {float(allowed.max()):.3g})"
        )


def run_seed(run: nc.NetRun) -> int:
    import json

    return int(json.loads(run.key)["seed"])


def torch_step(name: str, run: nc.NetRun) -> Any:
    torch_class = optimizers.get(name).torch_class
    assert torch_class is not None
    cls = getattr(torch.optim, torch_class.rsplit(".", 1)[1])
    kw = torch_kwargs(name, dict(run.traj.hyperparams), 0)

    def make(model: nn.Module) -> Any:
        opt = cls(model.parameters(), foreach=False, **kw)
        return opt.step

    return make


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("name", TORCH_BACKED)
def test_page_runs_equal_the_lessons_loop(name: str, scheme: str) -> None:
    batch = SCHEMES[scheme]
    run = page_run(name, batch)
    assert run.steps == EPOCHS * (1 if batch is None else 4 // batch)
    assert run.diverged_at == -1
    check_against_lesson(run, torch_step(name, run), f"{name}/{scheme}")


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_page_runs_with_weight_decay_and_flags_equal_the_lessons_loop(scheme: str) -> None:
    hyper = {
        "adam": {"amsgrad": True, "weight_decay": 0.01},
        "rmsprop": {"centered": True, "momentum": 0.5},
        "sgd": {"momentum": 0.5, "dampening": 0.1, "weight_decay": 0.001},
    }
    for name, h in hyper.items():
        run = page_run(name, SCHEMES[scheme], hyper={name: h}, seed=5)
        check_against_lesson(run, torch_step(name, run), f"{name}+flags/{scheme}")


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_lion_equals_its_reference_loop(scheme: str) -> None:
    run = page_run("lion", SCHEMES[scheme], hyper={"lion": {"lr": 0.01, "weight_decay": 0.1}})
    h = run.traj.hyperparams

    def make(model: nn.Module) -> Any:
        params = list(model.parameters())
        moments = [torch.zeros_like(p) for p in params]

        def step() -> None:  # the Lion paper's Algorithm 2 (lion-pytorch)
            with torch.no_grad():
                for p, m in zip(params, moments, strict=True):
                    assert p.grad is not None
                    p.mul_(1 - h["lr"] * h["weight_decay"])
                    update = (m * h["beta1"] + p.grad * (1 - h["beta1"])).sign_()
                    p.add_(update, alpha=-h["lr"])
                    m.mul_(h["beta2"]).add_(p.grad, alpha=1 - h["beta2"])

        return step

    check_against_lesson(run, make, f"lion/{scheme}")


def test_the_check_fails_a_wrong_batch_order() -> None:
    """The shadowed check is not blind: a run whose batches went in reverse order fails."""
    run = page_run("sgd", 1)
    obs = nc.observed(run)
    assert obs is not None
    wrong = dataclasses.replace(obs, grad=np.roll(np.asarray(obs.grad), 1, axis=0))
    with pytest.raises(AssertionError, match="gradient"):
        check_against_lesson(run, torch_step("sgd", run), "sgd, shifted gradients", wrong)

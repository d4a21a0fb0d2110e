"""minimize(observe=...) and optimizers.trace_lane: the per-step numbers of a network run, and
one weight's named trace replayed from them, are the run's own.

* observe changes nothing: the same parameters, losses and divergence, to the bit.
* What observe hands over is what the run used: the gradient of step t is the objective's
  gradient at the point before it (on that step's batch), the parameters are the run's.
* trace_lane on every coordinate of a network run reproduces the run's values of that
  coordinate to the bit, for every gradient optimizer, with flags, schedules, mini-batches.
* On a 2-D surface trace_lane equals the scalar engine's own trace, name by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces
from optimizers import Observation

GRADIENT_RULES = [n for n in optimizers.names() if optimizers.get(n).uses == "grad"]
VALUE_RULES = [n for n in optimizers.names() if optimizers.get(n).uses != "grad"]
SETTINGS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01, "nesterov": True},
    "momentum": {"lr": 0.05, "dampening": 0.1, "convention": "ema"},
    "nesterov": {"lr": 0.05, "momentum": 0.8},
    "adagrad": {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
    "rmsprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    "adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01},
    "adamw": {"lr": 0.01, "amsgrad": True},
    "nadam": {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.01},
    "radam": {"lr": 0.01, "weight_decay": 0.01},
    "adamax": {"lr": 0.01},
    "adadelta": {"lr": 1.0, "rho": 0.8},
    "lion": {"lr": 0.001, "weight_decay": 0.1},
    "random_search": {"sigma": 0.1},
    "finite_difference": {"lr": 0.1},
}
SCHEMES = [(None, False), (1, False), (2, True)]  # full batch, in order, shuffled


class Keep:
    def __init__(self) -> None:
        self.obs: list[dict[str, Any]] = []

    def __call__(self, o: Observation) -> None:
        self.obs.append(
            {
                "t": o.t,
                "runs": o.runs.copy(),
                "params": o.params.copy(),
                "grad": None if o.grad is None else o.grad.copy(),
                "state": {k: np.array(v) for k, v in o.state.items()},
                "lr": o.lr,
            }
        )


@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize(("batch", "shuffle"), SCHEMES, ids=["full", "one", "shuffled2"])
def test_observe_changes_nothing_and_shows_what_the_run_used(
    name: str, batch: int | None, shuffle: bool
) -> None:
    net, x0 = surfaces.network("xor", seed=[0, 1, 2])
    sched = optimizers.schedules.make("step", step_size=7, gamma=0.5)
    kw: dict[str, Any] = {"batch_size": batch, "shuffle": shuffle, "seed": 3, "schedule": sched}
    plain = optimizers.minimize(net, x0, 40, name, **kw, **SETTINGS[name])
    keep = Keep()
    seen = optimizers.minimize(net, x0, 40, name, observe=keep, **kw, **SETTINGS[name])
    assert seen.engine == "numpy"
    for field in ("params", "loss", "grad_norm", "lr", "diverged_at"):
        np.testing.assert_array_equal(getattr(seen, field), getattr(plain, field), field)
    assert [o["t"] for o in keep.obs] == list(range(41))
    for o in keep.obs:
        np.testing.assert_array_equal(o["params"], seen.params[o["t"]][o["runs"]])
    if optimizers.get(name).uses == "grad":  # the gradient at the point before the step
        batches = None if batch is None else _batches(net.n_samples, batch, shuffle, 3, 3)
        for o in keep.obs[1:]:
            t = o["t"]
            idx = None if batches is None else batches[t - 1]
            for j in range(3):  # one run at a time: the engine's K = 3 call differs by an ulp
                _, g = net.value_and_grad(
                    seen.params[t - 1, j][None], None if idx is None else idx[j][None]
                )
                np.testing.assert_allclose(o["grad"][j], g[0], rtol=1e-13, atol=1e-15)


def _batches(n: int, b: int, shuffle: bool, k: int, seed: int) -> list[np.ndarray]:
    from optimizers.problem import in_order

    it = (
        surfaces.iter_batches(n, b, k, np.random.default_rng(seed))
        if shuffle
        else in_order(n, b, k)
    )
    return [next(it) for _ in range(40)]


@pytest.mark.parametrize("name", GRADIENT_RULES)
@pytest.mark.parametrize(("batch", "shuffle"), SCHEMES, ids=["full", "one", "shuffled2"])
def test_trace_lane_reproduces_every_weight_of_the_run(
    name: str, batch: int | None, shuffle: bool
) -> None:
    net, x0 = surfaces.network("xor", hidden=(3, 2), activation="tanh", seed=4)
    keep = Keep()
    sched = optimizers.schedules.make("cosine", T_max=30)
    run = optimizers.minimize(
        net, x0, 60, name, batch_size=batch, shuffle=shuffle, seed=1, schedule=sched,
        observe=keep, **SETTINGS[name],
    )  # fmt: skip
    grads = np.array([o["grad"][0] for o in keep.obs[1:]])  # (T, D)
    lrs = run.lr[:, 0]
    for i in range(net.dim):
        lane = optimizers.trace_lane(
            name, grads[:, i], lrs, x0[0, i], batched=batch is not None, **run.hyperparams
        )
        assert lane.steps == 60
        np.testing.assert_array_equal(lane.params, run.params[:, 0, i], f"{name} weight {i}")
        np.testing.assert_array_equal(lane.trace["grad"], grads[:, i])
        for key, values in lane.trace.items():  # every state buffer: what the run kept
            if key in keep.obs[1]["state"]:
                kept = np.array([o["state"][key][0] for o in keep.obs[1:]])
                kept = kept if kept.ndim == 1 else kept[:, i]
                np.testing.assert_array_equal(values, kept, f"{name} {key} weight {i}")


@pytest.mark.parametrize("name", GRADIENT_RULES)
def test_trace_lane_equals_the_scalar_engines_trace_on_a_surface(name: str) -> None:
    s = surfaces.get("quadratic_bowl", ax=1.0, ay=4.0)
    hyper = {k: v for k, v in SETTINGS[name].items() if k != "convention"}
    run = optimizers.simulate(s, name, [-3.0, 2.5], 80, trace=True, **hyper)
    assert run.diverged_at[0] == -1
    for lane_i in range(2):
        lane = optimizers.trace_lane(
            name, run.trace["grad"][:, 0, lane_i], run.lr[:, 0],
            run.positions[0, 0, lane_i], **run.hyperparams,
        )  # fmt: skip
        np.testing.assert_array_equal(lane.params, run.positions[:, 0, lane_i])
        for key, values in run.trace.items():
            ours = lane.trace[key]
            theirs = values[:, 0, lane_i] if values.ndim == 3 else values[:, 0]
            np.testing.assert_array_equal(ours, theirs, key)
        for key, value in lane.initial.items():
            init = run.trace_initial[key]
            np.testing.assert_array_equal(value, init[0, lane_i] if init.ndim == 2 else init[0])


def test_trace_lane_with_a_plateau_schedule_uses_the_runs_learning_rates() -> None:
    net, x0 = surfaces.network("xor", seed=0)
    keep = Keep()
    sched = optimizers.schedules.make("plateau", patience=2, factor=0.5, threshold=0.2)
    run = optimizers.minimize(net, x0, 80, "adam", schedule=sched, observe=keep, lr=0.05)
    assert len(set(run.lr[:, 0].tolist())) > 1  # the rate did change
    grads = np.array([o["grad"][0] for o in keep.obs[1:]])
    lane = optimizers.trace_lane("adam", grads[:, 5], run.lr[:, 0], x0[0, 5], lr=0.05)
    np.testing.assert_array_equal(lane.params, run.params[:, 0, 5])
    assert [o["lr"] for o in keep.obs[1:]] == pytest.approx(run.lr[:, 0].tolist(), abs=0)


@pytest.mark.parametrize("name", VALUE_RULES)
def test_rules_that_read_the_whole_vector_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="whole parameter vector"):
        optimizers.trace_lane(name, np.zeros(3), np.full(3, 0.1))


def test_trace_lane_checks_its_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        optimizers.trace_lane("sgd", np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="lr"):
        optimizers.trace_lane("sgd", np.zeros(3), np.zeros(3), lr=-1.0)
    with pytest.raises(ValueError, match="scalar"):
        optimizers.trace_lane("sgd", np.zeros(3), np.zeros(3), lr=np.array([0.1, 0.2]))


def test_observe_is_for_objectives_on_the_numpy_engine() -> None:
    net, x0 = surfaces.network("xor")
    with pytest.raises(ValueError, match="observe"):
        optimizers.minimize(net, x0, 3, "sgd", engine="compiled", observe=Keep())


def test_observe_sees_a_diverged_run_drop_out() -> None:
    net, x0 = surfaces.network("plane", seed=[0, 1])
    keep = Keep()
    run = optimizers.minimize(net, x0, 300, "sgd", observe=keep, lr=np.array([10.0, 0.01]))
    assert run.diverged_at[0] > 0
    assert run.diverged_at[1] == -1
    # past its step (a loss that overflows ends the run on the point that has it: that
    # point, at the divergence step itself, is still observed)
    after = [o for o in keep.obs if o["t"] > run.diverged_at[0]]
    assert after
    assert all(o["runs"].tolist() == [1] for o in after)

"""What the engines need from the thing being minimised, on structure-of-arrays parameters P
of shape (D, n): :class:`SurfaceModel` (a 2-D surface, with its plain-float and torch forms)
and :class:`ObjectiveModel` (any objective with ``n_samples`` and ``value_and_grad(params (K,
D), idx)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class SurfaceModel:
    """A 2-D surface for the engines (D = 2): plain floats, NumPy on (2, n), torch."""

    d = 2

    def __init__(self, surface: Any) -> None:
        self.surface = surface
        self.n_samples = int(surface.n_samples)
        self.box = surface.box
        self.value_scalar = surface.value_scalar
        self.name = getattr(surface, "name", type(surface).__name__)
        self._grad_into = getattr(surface, "grad_into", None)

    def key(self) -> Any:
        """What identifies the maths for a compiled kernel's cache."""
        s = self.surface
        return (self.name, tuple(sorted(getattr(s, "params", {}).items())), s.box)

    def scalar_oracles(
        self, idx: list[list[int]] | None
    ) -> tuple[Callable[[int], Callable[..., float]], Callable[..., Any]]:
        """(loss function of step t's batch, gradient of the next batch) on floats."""
        s = self.surface
        if idx is None:
            value_scalar = s.value_scalar
            return (lambda _t: value_scalar), s.grad_scalar
        bvs, bgs = s.batch_value_scalar, s.batch_grad_scalar
        nxt = iter(idx).__next__

        def value_for(t: int) -> Callable[..., float]:
            batch = idx[t - 1]
            return lambda x, y: float(bvs(x, y, batch))

        def batch_grad(x: float, y: float) -> Any:
            return bgs(x, y, nxt())

        return value_for, batch_grad

    def grad_T(self, p: np.ndarray, g: np.ndarray, idx: np.ndarray | None) -> None:
        """g (2, n) <- the gradient at p (2, n), of the batches idx (n, B) or the full batch."""
        if idx is not None:
            np.copyto(g, self.surface.batch_grad(p.T, idx).T)
        elif self._grad_into is not None:
            self._grad_into(p[0], p[1], g[0], g[1])
        else:
            np.copyto(g, self.surface.grad(p.T).T)

    def value_T(self, p: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        if idx is None:
            return np.asarray(self.surface.value(p.T))
        return np.asarray(self.surface.batch_value(p.T, idx))

    def value(self, params: np.ndarray) -> np.ndarray:
        """Full-batch loss at params (..., 2)."""
        return np.asarray(self.surface.value(params), dtype=np.float64)

    def torch_grad(self) -> Callable[..., Any] | None:
        """[x, y] (n,) tensors -> [gx, gy], in torch operations; None if the surface has no
        torch-ready maths (data surfaces: their mean over samples would not add up in the same
        order as the other engines)."""
        engine = getattr(self.surface, "_engine", None)
        grad = getattr(engine, "_g", None)
        if not callable(grad):
            return None

        def g(p: list[Any]) -> list[Any]:
            from surfaces.base import torch_ops

            gx, gy = grad(p[0], p[1], torch_ops())
            return [gx + 0.0 * p[0], gy + 0.0 * p[1]]  # a constant component as a tensor

        return g

    def torch_value(self) -> Callable[..., Any] | None:
        """[x, y] (n,) tensors -> f (n,), in torch operations (the full batch); None as above."""
        engine = getattr(self.surface, "_engine", None)
        f = getattr(engine, "_f", None)
        if not callable(f) or getattr(engine, "_g", None) is None:
            return None

        def v(p: list[Any]) -> Any:
            from surfaces.base import torch_ops

            return f(p[0], p[1], torch_ops()) + 0.0 * p[0]

        return v


class ObjectiveModel:
    """Any objective of :func:`optimizers.minimize` for the engines (NumPy and compiled)."""

    def __init__(self, objective: Any, d: int) -> None:
        self.objective = objective
        self.d = d
        self.n_samples = int(objective.n_samples)
        self.box = None
        self.name = getattr(objective, "name", type(objective).__name__)
        self.last_loss: np.ndarray | None = None

    def key(self) -> Any:
        return ("objective", id(self.objective))

    def scalar_oracles(self, _idx: Any) -> Any:
        raise ValueError("the scalar engine runs 2-D surfaces only")

    def value_scalar(self, *_p: float) -> float:
        raise ValueError("the scalar engine runs 2-D surfaces only")

    def grad_T(self, p: np.ndarray, g: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        """g (D, n) <- the gradient at p (D, n); returns the loss (n,) it came with."""
        loss, grad = call_objective(self.objective, np.ascontiguousarray(p.T), idx)
        np.copyto(g, grad.T)
        return loss

    def value_T(self, p: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        return call_objective(self.objective, np.ascontiguousarray(p.T), idx)[0]

    def value(self, params: np.ndarray) -> np.ndarray:
        flat = params.reshape(-1, self.d)
        out = np.empty(len(flat))
        step = 65536
        for lo in range(0, len(flat), step):
            part = np.ascontiguousarray(flat[lo : lo + step])
            fn = getattr(self.objective, "value", None)
            if fn is not None:
                out[lo : lo + step] = np.asarray(fn(part, None), dtype=np.float64)
            else:
                out[lo : lo + step] = call_objective(self.objective, part, None)[0]
        return out.reshape(params.shape[:-1])

    def torch_grad(self) -> Callable[..., Any] | None:
        fn = getattr(self.objective, "value_and_grad_torch", None)
        if not callable(fn):
            return None

        def g(p: list[Any]) -> list[Any]:
            import torch

            return list(fn(torch.stack(p, dim=1))[1].unbind(1))

        return g

    def torch_loss_grad(self) -> Callable[..., Any] | None:
        """(loss, gradient lanes) at a point given as D lanes, from one torch call."""
        fn = getattr(self.objective, "value_and_grad_torch", None)
        if not callable(fn):
            return None

        def lg(p: list[Any]) -> tuple[Any, list[Any]]:
            import torch

            loss, grad = fn(torch.stack(p, dim=1))
            return loss, list(grad.unbind(1))

        return lg

    def torch_value(self) -> Callable[..., Any] | None:
        fn = getattr(self.objective, "value_and_grad_torch", None)
        if not callable(fn):
            return None

        def v(p: list[Any]) -> Any:
            import torch

            return fn(torch.stack(p, dim=1))[0]

        return v


def call_objective(
    objective: Any, params: np.ndarray, idx: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``objective.value_and_grad`` with its shapes checked: (K,) loss and (K, D) gradient."""
    k, d = params.shape
    out = objective.value_and_grad(params, idx)
    try:
        loss, grad = out
    except (TypeError, ValueError):
        raise ValueError(
            f"objective.value_and_grad must return (loss (K,), grad (K, D)); got {type(out)}"
        ) from None
    loss = np.asarray(loss, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    if loss.shape != (k,) or grad.shape != (k, d):
        raise ValueError(
            f"objective.value_and_grad must return loss of shape (K,) = ({k},) and grad of "
            f"shape (K, D) = ({k}, {d}); got {loss.shape} and {grad.shape}"
        )
    return loss, grad

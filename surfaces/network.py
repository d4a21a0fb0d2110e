"""Small fully connected networks as loss surfaces over their D parameters.

``network("xor")`` is lesson 002's model: ``nn.Linear(2, 4)`` -> ReLU -> ``nn.Linear(4, 1)`` ->
sigmoid, BCE on the 4 XOR points, D = 17. Every TensorFlow Playground control is a keyword:
input features, up to 6 hidden layers of up to 32 units, the hidden activation, L1/L2
regularisation, the data set's noise, size and train/test ratio, and all-zero initialisation.

The objective protocol of ``optimizers.minimize``: ``n_samples`` (N), ``dim`` (D),
``value_and_grad(params (K, D), idx (K, B) | None) -> (loss (K,), grad (K, D))``,
``value(params, idx)`` and, for the compiled engine, ``value_and_grad_torch``.

The maths (forward pass, loss, backward pass) is written once below, generic over an array
namespace (:data:`NUMPY_OPS`, :func:`torch_ops`): ``@``, slicing, ``reshape`` and ``swapaxes``
work alike on both arrays, and the few functions that differ come from the namespace.
K parameter vectors run as one batch of matrix products, no loop over K. Activations are kept
as (K, units, B): a layer is ``Z = W @ A + b`` with W (K, out, in), as ``nn.Linear`` stores it.

Decisions, each matching the reference it names:

* Parameters are ordered as ``model.parameters()`` orders them: layer by layer, each layer's
  weight (out, in) row-major, then its bias (out,).
* Classification loss: ``bce="logits"`` (default) is the mean of softplus(z) - y z, computed
  stably (``nn.BCEWithLogitsLoss``). It equals ``nn.BCELoss()(torch.sigmoid(z), y)`` to 1e-12
  for logits |z| up to about 10; beyond that torch's form loses digits (1 - p is rounded) and
  from |z| of about 37 (p rounds to 1) it saturates: loss capped at 100, gradient 0. The
  logits form has neither, nor overflow; its gradient sigmoid(z) - y never vanishes.
  ``bce="torch"`` is torch's own formula, for step-by-step parity with the lesson's loop: log p
  and log(1 - p) clamped at -100 and the backward (p - y) / max(p (1 - p), 1e-12 as a float32)
  times the sigmoid's p (1 - p). Regression: MSE (``nn.MSELoss``), linear output.
* Regularisation, as TensorFlow Playground (src/nn.ts): on the weights only, never the
  biases; L1 adds rate * sum |w| (gradient rate * sign(w), 0 at w = 0, torch.sign's convention),
  L2 adds rate * sum w² / 2 (gradient rate * w, so L2 equals torch.optim's ``weight_decay=rate``
  applied to the weights only). The penalty is added once to the mean data loss of every batch.
* Initialisation ``init="torch"``: for seed s, the parameters that ``torch.manual_seed(s)``
  followed by constructing the model's ``nn.Linear`` layers in order gives, drawn in float32 as
  the lesson's code runs (torch's default dtype) and widened exactly to float64: so equal to
  ``model.double()`` of the lesson's model. torch's global random state is left untouched.
  K seeds give K rows. ``init="zeros"``: every parameter 0 (the symmetry problem: with ReLU
  only the output bias ever moves).
* ReLU's derivative at 0 is 0 (torch's and TensorFlow Playground's). A class is predicted 1
  where the output probability is above 1/2 (logit > 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from surfaces.datasets import (
    CLASSIFICATION,
    REGRESSION,
    SPECS,
    Dataset,
    check_choice,
    check_float,
    check_int,
    make_dataset,
)

if TYPE_CHECKING:
    import torch

Arr = Any  # a NumPy array or a torch tensor: the maths runs on both

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "l1", "l2")
BCE_FORMS = ("logits", "torch")
INITS = ("torch", "zeros")
MAX_LAYERS = 6
MAX_UNITS = 32
MAX_RATE = 10.0  # TensorFlow Playground's largest regularisation rate
MAX_SEED = 2**63 - 1
BCE_LOG_FLOOR = -100.0  # nn.BCELoss clamps log p and log(1 - p) here
# nn.BCELoss's backward divides by max(p (1 - p), EPSILON), its EPSILON a float32 1e-12
BCE_EPS = 9.999999960041972e-13


# ---------------------------------------------------------------- input features

# name -> (label, f(x, y)); the canonical order is TensorFlow Playground's, then cos x, cos y.
FEATURES: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "x": ("x", lambda x, _y: x),
    "y": ("y", lambda _x, y: y),
    "x2": ("x²", lambda x, _y: x * x),
    "y2": ("y²", lambda _x, y: y * y),
    "xy": ("xy", lambda x, y: x * y),
    "sin_x": ("sin x", lambda x, _y: np.sin(x)),
    "sin_y": ("sin y", lambda _x, y: np.sin(y)),
    "cos_x": ("cos x", lambda x, _y: np.cos(x)),
    "cos_y": ("cos y", lambda _x, y: np.cos(y)),
}


def feature_matrix(features: Sequence[str], points: np.ndarray) -> np.ndarray:
    """The chosen features of points: (M, 2) -> (M, F), float64."""
    x, y = points[:, 0], points[:, 1]
    cols = [FEATURES[f][1](x, y) for f in features]
    return np.ascontiguousarray(np.stack(cols, axis=1), dtype=np.float64)


# ---------------------------------------------------------------- array namespaces


@dataclass(frozen=True)
class NetOps:
    """The functions the network maths takes from its array library (the rest are methods)."""

    exp: Callable[[Arr], Arr]
    log: Callable[[Arr], Arr]
    log1p: Callable[[Arr], Arr]
    tanh: Callable[[Arr], Arr]
    abs: Callable[[Arr], Arr]
    sign: Callable[[Arr], Arr]
    where: Callable[[Arr, Arr, Arr | float], Arr]
    relu: Callable[[Arr], Arr]
    relu_back: Callable[[Arr, Arr], Arr]  # (da, z) -> da where z > 0, else 0
    clamp_min: Callable[[Arr, float], Arr]
    sum_last: Callable[[Arr], Arr]  # (..., B) -> (...)
    cat: Callable[[list[Arr]], Arr]  # along axis 1


def _np_relu(z: np.ndarray) -> np.ndarray:
    return np.asarray(np.maximum(z, 0.0))


def _np_relu_back(da: np.ndarray, z: np.ndarray) -> np.ndarray:
    # A product with the 0/1 mask is 4x faster than np.where; it differs only where da is not
    # finite (a diverged run), where it gives NaN and torch's where gives 0.
    return da * (z > 0.0)


def _np_sum_last(a: np.ndarray) -> np.ndarray:
    # NumPy reduces a short last axis slowly (50 us for 1,000 x 4 x 4); one matrix-vector
    # product with ones is 10x faster.
    n = a.shape[-1]
    return np.asarray((a.reshape(-1, n) @ _ones(n)).reshape(a.shape[:-1]))


@lru_cache(maxsize=64)
def _ones(n: int) -> np.ndarray:
    ones = np.ones(n)
    ones.setflags(write=False)
    return ones


def _np_cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts, axis=1)


NUMPY_OPS = NetOps(
    np.exp, np.log, np.log1p, np.tanh, np.abs, np.sign, np.where, _np_relu, _np_relu_back,
    np.maximum, _np_sum_last, _np_cat,
)  # fmt: skip


@cache
def torch_ops() -> NetOps:
    """The torch namespace, imported lazily (surfaces/ needs torch only here and in init)."""
    import torch

    def cat(parts: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(parts, 1)

    def sum_last(a: torch.Tensor) -> torch.Tensor:
        return a.sum(-1)

    def relu_back(da: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.where(z > 0.0, da, 0.0)  # as autograd's threshold_backward

    return NetOps(
        torch.exp, torch.log, torch.log1p, torch.tanh, torch.abs, torch.sign, torch.where,
        torch.relu, relu_back, torch.clamp_min, sum_last, cat,
    )  # fmt: skip


# ---------------------------------------------------------------- the maths, written once


def sigmoid(z: Arr, xp: NetOps) -> Arr:
    """1 / (1 + e^-z), accurate to a few ulp for every z and without overflow:
    e^z / (1 + e^z) for z < 0 (torch's formula for z >= 0)."""
    e = xp.exp(-xp.abs(z))
    r = 1.0 / (1.0 + e)
    return xp.where(z >= 0.0, r, e * r)


def _activate(z: Arr, activation: str, xp: NetOps) -> Arr:
    if activation == "relu":
        return xp.relu(z)
    if activation == "tanh":
        return xp.tanh(z)
    if activation == "sigmoid":
        return sigmoid(z, xp)
    return z


def _activate_back(da: Arr, z: Arr, a: Arr, activation: str, xp: NetOps) -> Arr:
    """d loss / dz from d loss / da for a = act(z): [z > 0], 1 - a², a (1 - a) or 1."""
    if activation == "relu":
        return xp.relu_back(da, z)
    if activation == "tanh":
        return da * (1.0 - a * a)
    if activation == "sigmoid":
        return da * (a * (1.0 - a))
    return da


def _data_loss(z: Arr, y: Arr, problem: str, bce: str, xp: NetOps) -> tuple[Arr, Arr]:
    """Per-sample losses (K, B) and d loss_i / dz_i (K, B) of outputs z (K, B), targets y."""
    if problem == REGRESSION:  # (z - y)², as nn.MSELoss
        r = z - y
        return r * r, 2.0 * r
    if bce == "logits":  # softplus(s z) with s = 1 - 2y, i.e. softplus(z) - y z
        u = (1.0 - 2.0 * y) * z
        return xp.relu(u) + xp.log1p(xp.exp(-xp.abs(u))), sigmoid(z, xp) - y
    # nn.BCELoss on p = sigmoid(z): logs clamped at -100, log(0) read as -inf (so -100)
    p = sigmoid(z, xp)
    if xp is NUMPY_OPS and p.min() > 0.0 and p.max() < 1.0:
        # where no clamp applies, the general formula below is just this, to the bit, in a
        # third of the NumPy calls (this loss is the hot loop of a small network's training)
        log_p, log_q, pq = np.log(p), np.log1p(-p), p * (1.0 - p)
        if log_p.min() >= BCE_LOG_FLOOR and log_q.min() >= BCE_LOG_FLOOR and pq.min() >= BCE_EPS:
            return -(y * log_p + (1.0 - y) * log_q), (p - y) / pq * pq
    pos, below_one = p > 0.0, p < 1.0
    log_p = xp.clamp_min(xp.log(xp.where(pos, p, 1.0)), BCE_LOG_FLOOR)
    log_q = xp.clamp_min(xp.log1p(-xp.where(below_one, p, 0.0)), BCE_LOG_FLOOR)
    log_p = xp.where(pos, log_p, BCE_LOG_FLOOR)
    log_q = xp.where(below_one, log_q, BCE_LOG_FLOOR)
    loss = -(y * log_p + (1.0 - y) * log_q)
    pq = p * (1.0 - p)
    return loss, (p - y) / xp.clamp_min(pq, BCE_EPS) * pq


@dataclass(frozen=True)
class Architecture:
    """What the maths needs to know: layer sizes and the choices (hashable, no arrays).

    sizes: (F, h_1, ..., h_L, 1); layer l maps sizes[l] -> sizes[l + 1] with a weight
    (out, in) at flat offset w_at[l] and a bias (out,) at b_at[l].
    """

    sizes: tuple[int, ...]
    activation: str
    problem: str
    bce: str
    regularization: str
    rate: float

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def dim(self) -> int:
        return sum(o * i + o for i, o in pairwise(self.sizes))

    @cached_property
    def offsets(self) -> tuple[tuple[int, int, int, int], ...]:
        """(out, in, weight offset, bias offset) per layer, in ``model.parameters()`` order."""
        out, at = [], 0
        for i, o in pairwise(self.sizes):
            out.append((o, i, at, at + o * i))
            at += o * i + o
        return tuple(out)


def unpack(params: Arr, arch: Architecture) -> list[tuple[Arr, Arr]]:
    """(K, D) -> per layer (W (K, out, in), b (K, out, 1))."""
    k = params.shape[0]
    return [
        (params[:, w0 : w0 + o * i].reshape(k, o, i), params[:, b0 : b0 + o].reshape(k, o, 1))
        for o, i, w0, b0 in arch.offsets
    ]


def forward(
    layers: list[tuple[Arr, Arr]], a0t: Arr, arch: Architecture, xp: NetOps
) -> tuple[list[Arr], list[Arr]]:
    """Pre-activations zs and outputs acts of every layer.

    a0t: the features transposed, (F, B) shared by all runs or (K, F, B) per run.
    zs[l], acts[l + 1]: (K, units, B); acts[0] = a0t; the last layer is not activated.
    """
    zs, acts = [], [a0t]
    last = len(layers) - 1
    for l, (w, b) in enumerate(layers):
        a = acts[-1]
        if a.ndim == 2:  # inputs shared by every run: one (K out, in) @ (in, B) product
            k, o, i = w.shape
            z = (w.reshape(k * o, i) @ a).reshape(k, o, a.shape[-1]) + b
        else:
            z = w @ a + b
        zs.append(z)
        acts.append(z if l == last else _activate(z, arch.activation, xp))
    return zs, acts


def loss_and_grad(
    params: Arr, a0: Arr, a0t: Arr, y: Arr, mask: Arr, arch: Architecture, xp: NetOps, grad: bool
) -> tuple[Arr, Arr | None]:
    """Mean loss over the B samples plus the penalty, (K,), and its gradient (K, D) if ``grad``.

    params (K, D); a0 the features (B, F) or (K, B, F) and a0t its transpose; y (B,) or (K, B);
    mask (D,) is 1 on weights and 0 on biases (the penalty's reach).
    """
    layers = unpack(params, arch)
    zs, acts = forward(layers, a0t, arch, xp)
    z = zs[-1][:, 0, :]  # (K, B)
    terms, dterms = _data_loss(z, y, arch.problem, arch.bce, xp)
    nb = z.shape[-1]
    loss = xp.sum_last(terms) / nb
    if arch.regularization == "l2":
        loss = loss + (0.5 * arch.rate) * ((params * params) @ mask)
    elif arch.regularization == "l1":
        loss = loss + arch.rate * (xp.abs(params) @ mask)
    if not grad:
        return loss, None
    dz = (dterms * (1.0 / nb))[:, None, :]  # (K, 1, B): d mean / dz
    parts: list[Arr] = []
    for l in range(len(layers) - 1, -1, -1):
        k, o, _ = dz.shape
        parts.append(xp.sum_last(dz))  # bias (K, out)
        if l == 0 and a0.ndim == 2:  # inputs shared by every run: one 2-D product
            parts.append((dz.reshape(k * o, nb) @ a0).reshape(k, -1))
        else:  # weight (K, out * in), row-major
            prev_t = a0 if l == 0 else acts[l].swapaxes(-1, -2)  # (.., B, in)
            parts.append((dz @ prev_t).reshape(k, -1))
        if l > 0:
            da = layers[l][0].swapaxes(-1, -2) @ dz  # (K, in, B)
            dz = _activate_back(da, zs[l - 1], acts[l], arch.activation, xp)
    g = xp.cat(parts[::-1])
    if arch.regularization == "l2":
        g = g + arch.rate * (params * mask)
    elif arch.regularization == "l1":
        g = g + arch.rate * (xp.sign(params) * mask)
    return loss, g


# ---------------------------------------------------------------- parameter names


@dataclass(frozen=True)
class ParamInfo:
    """Where parameter ``index`` sits: layer (1 = first linear layer), weight or bias,
    row = the unit it feeds, col = the input it reads (weights), and what it links.

    name: "w[1][2,0]" (layer 1's weight[2, 0], as torch indexes it) or "b[1][2]".
    source: the input's label ("x", "h1[0]"), "" for a bias; target: "h1[2]" or "out".
    """

    index: int
    layer: int
    kind: str
    row: int
    col: int | None
    name: str
    source: str
    target: str


def _param_infos(arch: Architecture, features: tuple[str, ...]) -> tuple[ParamInfo, ...]:
    infos: list[ParamInfo] = []

    def unit(layer: int, j: int) -> str:  # the label of unit j of activation layer ``layer``
        if layer == 0:
            return FEATURES[features[j]][0]
        return "out" if layer == arch.n_layers else f"h{layer}[{j}]"

    for l, (o, i, w0, b0) in enumerate(arch.offsets, start=1):
        for r in range(o):
            for c in range(i):
                infos.append(
                    ParamInfo(w0 + r * i + c, l, "weight", r, c, f"w[{l}][{r},{c}]",
                              unit(l - 1, c), unit(l, r))
                )  # fmt: skip
        for r in range(o):
            infos.append(ParamInfo(b0 + r, l, "bias", r, None, f"b[{l}][{r}]", "", unit(l, r)))
    return tuple(infos)


# ---------------------------------------------------------------- the objective


def _check_features(features: object) -> tuple[str, ...]:
    if isinstance(features, str) or not isinstance(features, Sequence):
        raise ValueError(f"features must be a sequence of names from {', '.join(FEATURES)}")
    chosen = set()
    for f in features:
        check_choice("features", f, tuple(FEATURES))
        if f in chosen:
            raise ValueError(f"features must not repeat a feature; got {f!r} twice")
        chosen.add(f)
    if not chosen:
        raise ValueError(f"features must name at least 1 of {', '.join(FEATURES)}; got none")
    return tuple(f for f in FEATURES if f in chosen)  # canonical order


def _check_hidden(hidden: object) -> tuple[int, ...]:
    if isinstance(hidden, int | np.integer) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if isinstance(hidden, str) or not isinstance(hidden, Sequence):
        raise ValueError(f"hidden must be a sequence of layer sizes; got {hidden!r}")
    if len(hidden) > MAX_LAYERS:
        raise ValueError(
            f"hidden must have at most {MAX_LAYERS} layers (0 to {MAX_LAYERS}); got {len(hidden)}"
        )
    return tuple(check_int("hidden layer size", h, 1, MAX_UNITS) for h in hidden)


def _check_seeds(seed: object) -> tuple[int, ...]:
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return (check_int("seed", seed, 0, MAX_SEED),)
    if isinstance(seed, str) or not isinstance(seed, Sequence | range | np.ndarray):
        raise ValueError(f"seed must be an integer or a sequence of integers; got {seed!r}")
    seeds = tuple(check_int("seed", s, 0, MAX_SEED) for s in seed)
    if not seeds:
        raise ValueError("seed must hold at least 1 seed; got an empty sequence")
    return seeds


class Network:
    """A small network on a data set, as a loss surface over its D parameters. Immutable.

    Build it with :func:`network`. Shapes: K runs, D parameters, N training samples, B batch,
    M points. ``value``/``value_and_grad`` are the training objective (mean data loss over the
    training samples, or a batch of them, plus the penalty); ``loss`` is the data loss alone
    on the training or the test split.
    """

    def __init__(
        self,
        data: Dataset,
        hidden: Sequence[int] = (4,),
        activation: str = "relu",
        *,
        features: Sequence[str] = ("x", "y"),
        regularization: str = "none",
        rate: float = 0.0,
        init: str = "torch",
        bce: str = "logits",
    ) -> None:
        if not isinstance(data, Dataset):
            raise ValueError(f"data must be a surfaces.Dataset; got {type(data).__name__}")
        hid = _check_hidden(hidden)
        feats = _check_features(features)
        reg = check_choice(
            "regularization",
            regularization.lower() if isinstance(regularization, str) else regularization,
            REGULARIZATIONS,
        )
        self.arch = Architecture(
            (len(feats), *hid, 1),
            check_choice("activation", activation, ACTIVATIONS),
            data.problem,
            check_choice("bce", bce, BCE_FORMS),
            reg,
            check_float("rate", rate, 0.0, MAX_RATE),
        )
        self.init_scheme = check_choice("init", init, INITS)
        self.data, self.features, self.hidden = data, feats, hid
        self.problem = data.problem
        self.n_samples = data.n_train
        self.dim = self.arch.dim
        self._x = feature_matrix(feats, data.x_train)  # (N, F)
        self._xt = np.ascontiguousarray(self._x.T)  # (F, N)
        self._y = np.array(data.y_train, dtype=np.float64)  # a writable copy (torch wants one)
        self._x_test = feature_matrix(feats, data.x_test) if data.n_test else None
        mask = np.zeros(self.dim)
        for o, i, w0, _ in self.arch.offsets:
            mask[w0 : w0 + o * i] = 1.0
        self._mask = mask
        self.param_info = _param_infos(self.arch, feats)

    # -- description
    @property
    def sizes(self) -> tuple[int, ...]:
        """(F, h_1, ..., h_L, 1): units per layer, inputs first."""
        return self.arch.sizes

    @property
    def param_names(self) -> tuple[str, ...]:
        """The D parameter names, "w[1][2,0]" or "b[1][2]", in order."""
        return tuple(p.name for p in self.param_info)

    @property
    def param_shapes(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """("w[1]", (out, in)), ("b[1]", (out,)), ... in ``model.parameters()`` order."""
        out: list[tuple[str, tuple[int, ...]]] = []
        for l, (o, i, _, _) in enumerate(self.arch.offsets, start=1):
            out += [(f"w[{l}]", (o, i)), (f"b[{l}]", (o,))]
        return tuple(out)

    def __repr__(self) -> str:
        shape = "-".join(map(str, self.sizes))
        return (
            f"Network({self.data.name!r}, {shape}, {self.arch.activation}, "
            f"features={list(self.features)}, D={self.dim}, N={self.n_samples})"
        )

    # -- validation at the boundary
    def _params(self, params: object) -> np.ndarray:
        p = np.asarray(params, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != self.dim or p.shape[0] == 0:
            raise ValueError(f"params must have shape (K, {self.dim}) with K >= 1; got {p.shape}")
        return p

    def _batch(self, idx: object, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i = np.asarray(idx)
        if i.ndim != 2 or i.shape[0] != k or i.shape[1] == 0:
            raise ValueError(f"idx must have shape (K, B) with K = {k}, B >= 1; got {i.shape}")
        if not np.issubdtype(i.dtype, np.integer):
            raise ValueError(f"idx must hold integers; got dtype {i.dtype}")
        if i.min() < 0 or i.max() >= self.n_samples:
            raise ValueError(f"idx values must be in [0, {self.n_samples - 1}]")
        a0 = self._x[i]  # (K, B, F)
        return a0, a0.swapaxes(-1, -2), self._y[i]

    def _points(self, points: object) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"points must have shape (M, 2); got {p.shape}")
        return p

    # -- the objective protocol
    def value_and_grad(
        self, params: np.ndarray, idx: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Training loss (K,) and gradient (K, D) at params (K, D).

        idx None: the mean over all N training samples; idx (K, B): run k's mean over its
        samples idx[k] (indices in [0, N), repeats allowed).
        """
        p = self._params(params)
        if idx is None:
            a0, a0t, y = self._x, self._xt, self._y
        else:
            a0, a0t, y = self._batch(idx, p.shape[0])
        loss, g = loss_and_grad(p, a0, a0t, y, self._mask, self.arch, NUMPY_OPS, True)
        assert g is not None
        return loss, g

    def value(self, params: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Training loss (K,) at params (K, D); idx as in :meth:`value_and_grad`."""
        p = self._params(params)
        if idx is None:
            a0, a0t, y = self._x, self._xt, self._y
        else:
            a0, a0t, y = self._batch(idx, p.shape[0])
        return np.asarray(loss_and_grad(p, a0, a0t, y, self._mask, self.arch, NUMPY_OPS, False)[0])

    def _torch_data(self, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        import torch

        def const(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=like.dtype, device=like.device)

        return const(self._x), const(self._xt), const(self._y), const(self._mask)

    @property
    def value_and_grad_torch(self) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """The full-batch maths in torch operations: params (n, D) -> loss (n,), grad (n, D).

        Plain tensor operations without data-dependent Python control flow, so ``make_fx``
        traces it; the data become graph constants in params' dtype and device. A plain
        one-argument function (make_fx cannot trace a bound method), made on each access.
        """

        def value_and_grad_torch(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x, xt, y, mask = self._torch_data(params)
            loss, g = loss_and_grad(params, x, xt, y, mask, self.arch, torch_ops(), True)
            assert g is not None
            return loss, g

        return value_and_grad_torch

    def batch_value_and_grad_torch(
        self, params: torch.Tensor, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As :meth:`value_and_grad_torch` on per-run batches: idx (n, B) integer tensor."""
        x, _, y, mask = self._torch_data(params)
        a0 = x[idx]
        loss, g = loss_and_grad(
            params, a0, a0.swapaxes(-1, -2), y[idx], mask, self.arch, torch_ops(), True
        )
        assert g is not None
        return loss, g

    def value_torch(self, params: torch.Tensor) -> torch.Tensor:
        """Full-batch training loss (n,) of params (n, D) in torch operations (autograd-able)."""
        x, xt, y, mask = self._torch_data(params)
        out: torch.Tensor = loss_and_grad(params, x, xt, y, mask, self.arch, torch_ops(), False)[0]
        return out

    # -- initial parameters
    def init(self, seeds: int | Sequence[int]) -> np.ndarray:
        """Initial parameters, one row per seed: (K, D).

        init="torch": row k is what ``torch.manual_seed(seeds[k])`` and then constructing the
        model's ``nn.Linear`` layers in order give (float32 draws, widened exactly), flattened
        in ``model.parameters()`` order; torch's global random state is restored afterwards.
        init="zeros": all zero.
        """
        seeds_ = _check_seeds(seeds)
        if self.init_scheme == "zeros":
            return np.zeros((len(seeds_), self.dim))
        import torch

        rows = np.empty((len(seeds_), self.dim))
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for k, s in enumerate(seeds_):
                torch.manual_seed(s)
                parts = []
                for i, o in pairwise(self.sizes):
                    layer = torch.nn.Linear(i, o, dtype=torch.float32)
                    parts += [layer.weight.reshape(-1), layer.bias]
                rows[k] = torch.cat(parts).to(torch.float64).numpy()
        return rows

    # -- what a page draws
    def weights(self, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """One parameter vector (D,) as per-layer (weight (out, in), bias (out,)) arrays."""
        p = self._params(np.asarray(params, dtype=np.float64).reshape(1, -1))
        return [(w[0], b[0, :, 0]) for w, b in unpack(p, self.arch)]

    def _outputs(self, p: np.ndarray, points: np.ndarray) -> list[np.ndarray]:
        feats = feature_matrix(self.features, points)
        zs, acts = forward(unpack(p, self.arch), feats.T, self.arch, NUMPY_OPS)
        if self.problem == CLASSIFICATION:
            acts[-1] = sigmoid(zs[-1], NUMPY_OPS)
        return acts

    def predict(self, params: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Network outputs at points: params (K, D), points (M, 2) -> (K, M).

        Classification: the probability of class 1, sigmoid(z); regression: z.
        """
        p, pts = self._params(params), self._points(points)
        return self._outputs(p, pts)[-1][:, 0, :]

    def layer_outputs(self, params: np.ndarray, points: np.ndarray) -> list[np.ndarray]:
        """Every node's output over points, for one parameter vector (D,) or (1, D).

        Returns [features (F, M), hidden layer 1 (h_1, M), ..., output (1, M)]: the inputs,
        each hidden unit after its activation, and the output as :meth:`predict` gives it.
        """
        p = self._params(np.asarray(params, dtype=np.float64).reshape(1, -1))
        pts = self._points(points)
        acts = self._outputs(p, pts)
        return [acts[0], *(a[0] for a in acts[1:])]

    def _split(self, split: str) -> tuple[np.ndarray | None, np.ndarray]:
        check_choice("split", split, ("train", "test"))
        if split == "train":
            return self._x, self._y
        return self._x_test, np.asarray(self.data.y_test, dtype=np.float64)

    def loss(self, params: np.ndarray, split: str = "test") -> np.ndarray:
        """Mean data loss (no penalty) on the "train" or "test" split: (K, D) -> (K,).

        NaN for every run when the split is empty (the lessons' sets have no test split).
        """
        p = self._params(params)
        x, y = self._split(split)
        if x is None:
            return np.full(p.shape[0], math.nan)
        arch = Architecture(self.sizes, self.arch.activation, self.problem, self.arch.bce,
                            "none", 0.0)  # fmt: skip
        return np.asarray(loss_and_grad(p, x, x.T, y, self._mask, arch, NUMPY_OPS, False)[0])

    def accuracy(self, params: np.ndarray, split: str = "train") -> np.ndarray:
        """Fraction of the split's points classified right (logit > 0 means class 1): (K,).

        NaN for an empty split; a ValueError for a regression network.
        """
        if self.problem != CLASSIFICATION:
            raise ValueError("accuracy is defined for classification networks only")
        p = self._params(params)
        x, y = self._split(split)
        if x is None:
            return np.full(p.shape[0], math.nan)
        zs, _ = forward(unpack(p, self.arch), x.T, self.arch, NUMPY_OPS)
        return np.asarray(((zs[-1][:, 0, :] > 0.0) == (y > 0.5)).mean(-1))


def dead_units(net: Network, params: np.ndarray) -> np.ndarray:
    """Hidden ReLU units that output 0 on every training point, per run: (K, D) -> (K,).

    Such a unit passes no gradient to its incoming weights (ReLU's derivative is 0 there), so
    on the full batch it never comes back: a "dead" unit. 0 for other activations.
    """
    p = net._params(params)
    if net.arch.activation != "relu" or len(net.sizes) < 3:
        return np.zeros(p.shape[0], dtype=np.int64)
    zs, _ = forward(unpack(p, net.arch), net._xt, net.arch, NUMPY_OPS)
    return np.asarray(sum((z <= 0.0).all(axis=-1).sum(axis=-1) for z in zs[:-1]))


def network(
    dataset: str | Dataset = "xor",
    hidden: Sequence[int] | None = None,
    activation: str = "relu",
    seed: int | Sequence[int] = 0,
    *,
    features: Sequence[str] | None = None,
    regularization: str = "none",
    rate: float = 0.0,
    init: str = "torch",
    bce: str = "logits",
    n: int | None = None,
    noise: float = 0.0,
    data_seed: int = 0,
    train_ratio: float | None = None,
) -> tuple[Network, np.ndarray]:
    """A network objective and its initial parameters x0 (K, D), one row per seed.

    ``dataset`` is a registered name (``surfaces.datasets.SPECS``: its n, noise, data_seed
    and train_ratio make it) or a ready :class:`Dataset`. hidden and features default to
    the data set's own: "xor" is the lesson's 2-4-1 network (D = 17), "linear" is y = w x + b
    with parameters (w, b), TensorFlow Playground's sets start at x, y -> 4 -> 2 -> 1.

    >>> net, x0 = network("xor")
    >>> net.dim, net.n_samples, x0.shape
    (17, 4, (1, 17))
    """
    default_hidden: tuple[int, ...] = (4,)
    default_features: tuple[str, ...] = ("x", "y")
    if isinstance(dataset, Dataset):
        data = dataset
    else:
        data = make_dataset(dataset, n, noise, data_seed, train_ratio)
        default_hidden, default_features = SPECS[data.name].hidden, SPECS[data.name].features
    net = Network(
        data,
        default_hidden if hidden is None else hidden,
        activation,
        features=default_features if features is None else features,
        regularization=regularization,
        rate=rate,
        init=init,
        bce=bce,
    )
    return net, net.init(seed)

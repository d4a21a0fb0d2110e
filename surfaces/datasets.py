"""Data sets for the network surfaces: the lessons' two and TensorFlow Playground's six, plus moons.

Pure NumPy; every random draw comes from ``numpy.random.default_rng(seed)``. A data set is a
set of points in the plane, ``X`` (N, 2), with one target each, ``y`` (N,): a class 0 or 1
(classification, trained with sigmoid + BCE) or a real number (regression, trained with MSE).
The network's input features (x, y, x², ...) are computed from the points by the network.

* ``xor`` and ``linear`` are the lessons' data exactly: the 4 XOR corners in the lesson's
  order, and x = 1..4 with y = 2x (a one-input set: each point is (x, 0)). They are never
  shuffled or split (the lesson's loops take the points in this order), and take no noise.
* ``circle``, ``xor_quadrants``, ``gauss``, ``spiral`` (classification) and ``plane``,
  ``bumps`` (regression) follow TensorFlow Playground's generators (src/dataset.ts): the same
  shapes, scales (points in [-6, 6]²) and noise semantics, with noise in [0, 0.5] (its slider's
  0-50 %); its ±1 class labels become 1 and 0. ``moons`` is the two interleaving half circles
  (as scikit-learn's make_moons), scaled to the same region.
* Like TensorFlow Playground, the N generated points are shuffled, then the first
  ``floor(N * train_ratio)`` are the training set and the rest the held-out test set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

CLASSIFICATION = "classification"
REGRESSION = "regression"
MAX_POINTS = 2000  # train + test, every data set
MAX_NOISE = 0.5

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]
Bounds = tuple[tuple[float, float], tuple[float, float]]


# ---------------------------------------------------------------- validation helpers


def check_int(name: str, value: object, low: int, high: int) -> int:
    """``value`` as an int in [low, high], or a ValueError naming ``name`` and the range."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    v = int(value)
    if not low <= v <= high:
        raise ValueError(f"{name} must be in [{low}, {high}]; got {v}")
    return v


def check_float(name: str, value: object, low: float, high: float) -> float:
    """``value`` as a finite float in [low, high], or a ValueError naming ``name`` and the range."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}]; got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and low <= v <= high):
        raise ValueError(f"{name} must be in [{low:g}, {high:g}]; got {v:g}")
    return v


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


# ---------------------------------------------------------------- the generators
# Each takes (n, noise, rng) and returns points X (n, 2) and targets y (n,), in float64.

# The lessons' XOR: X = [[0, 0], [0, 1], [1, 0], [1, 1]], y = [0, 1, 1, 0] (lesson 002).
XOR_X = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
XOR_Y = (0.0, 1.0, 1.0, 0.0)
# The lessons' linear regression: x = 1..4, y = 2x (lesson 000; Explore's linear_regression).
LINEAR_X = (1.0, 2.0, 3.0, 4.0)
LINEAR_Y = (2.0, 4.0, 6.0, 8.0)


def _lesson_xor(_n: int, _noise: float, _rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return np.array(XOR_X), np.array(XOR_Y)


def _lesson_linear(
    _n: int, _noise: float, _rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    x = np.array(LINEAR_X)
    return np.stack([x, np.zeros_like(x)], axis=1), np.array(LINEAR_Y)


def _halves(n: int) -> tuple[int, int]:
    """Points of the positive and the negative class: n // 2 negatives, the rest positive."""
    return n - n // 2, n // 2


def _polar(r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Positives at radius [0, 2.5], negatives at [3.5, 5]; the label is whether the point moved
    # by uniform noise of up to 5 * noise per axis lies inside radius 2.5 (label noise).
    radius = 5.0
    n_in, n_out = _halves(n)
    r = np.concatenate(
        [rng.uniform(0.0, 0.5 * radius, n_in), rng.uniform(0.7 * radius, radius, n_out)]
    )
    pts = _polar(r, rng.uniform(0.0, 2.0 * math.pi, n))
    moved = pts + rng.uniform(-radius, radius, (n, 2)) * noise
    y = (np.hypot(moved[:, 0], moved[:, 1]) < 0.5 * radius).astype(np.float64)
    return pts, y


def _xor_quadrants(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Uniform in [-5, 5]², pushed 0.3 away from the axes; class 1 where x y >= 0 after moving
    # the point by uniform noise of up to 5 * noise per axis.
    pts = rng.uniform(-5.0, 5.0, (n, 2))
    pts += np.where(pts > 0.0, 0.3, -0.3)
    moved = pts + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    y = (moved[:, 0] * moved[:, 1] >= 0.0).astype(np.float64)
    return pts, y


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Two Gaussian clusters at (2, 2) (class 1) and (-2, -2) (class 0); the variance grows
    # linearly from 0.5 at noise 0 to 4 at noise 0.5.
    variance = 0.5 + 7.0 * noise
    n_pos, n_neg = _halves(n)
    centres = np.repeat(np.array([[2.0, 2.0], [-2.0, -2.0]]), [n_pos, n_neg], axis=0)
    pts = centres + math.sqrt(variance) * rng.standard_normal((n, 2))
    return pts, np.repeat([1.0, 0.0], [n_pos, n_neg])


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Two arms, the second turned by pi; radius 0 -> 5 over 1.75 turns; uniform noise of up
    # to noise per axis on the position.
    parts = []
    for m, turn in zip(_halves(n), (0.0, math.pi), strict=True):
        i = np.arange(m) / max(m, 1)
        parts.append(_polar(5.0 * i, 1.75 * 2.0 * math.pi * i + turn))
    pts = np.concatenate(parts) + rng.uniform(-1.0, 1.0, (n, 2)) * noise
    return pts, np.repeat([1.0, 0.0], _halves(n))


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Upper moon (cos t, sin t) is class 0, lower moon (1 - cos t, 1/2 - sin t) class 1,
    # t uniform in [0, pi]; scaled by 3 about (1/2, 1/4), so the points lie in [-4.5, 4.5] x
    # [-2.25, 2.25]; Gaussian noise of standard deviation 3 * noise per axis.
    n_lower, n_upper = _halves(n)
    t_up, t_low = rng.uniform(0.0, math.pi, n_upper), rng.uniform(0.0, math.pi, n_lower)
    up = np.stack([np.cos(t_up), np.sin(t_up)], axis=1)
    low = np.stack([1.0 - np.cos(t_low), 0.5 - np.sin(t_low)], axis=1)
    pts = 3.0 * (np.concatenate([up, low]) - np.array([0.5, 0.25]))
    pts += 3.0 * noise * rng.standard_normal((n, 2))
    return pts, np.repeat([0.0, 1.0], [n_upper, n_lower])


def _plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Uniform in [-6, 6]²; target (x + y) / 10 at the point moved by uniform noise of up to
    # 6 * noise per axis.
    pts = rng.uniform(-6.0, 6.0, (n, 2))
    moved = pts + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    return pts, (moved[:, 0] + moved[:, 1]) / 10.0


# Six bumps: centre (cx, cy) and sign; each is a cone 1 - d / 2 (clamped at 0) of radius 2.
BUMPS = (
    (-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0),
    (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0),
)  # fmt: skip


def _bumps(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Uniform in [-6, 6]²; the target is the bump value of largest magnitude at the point
    # moved by uniform noise of up to 6 * noise per axis (the first bump wins ties).
    pts = rng.uniform(-6.0, 6.0, (n, 2))
    moved = pts + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    target = np.zeros(n)
    for cx, cy, sign in BUMPS:
        height = sign * np.clip(1.0 - np.hypot(moved[:, 0] - cx, moved[:, 1] - cy) / 2.0, 0, 1)
        target = np.where(np.abs(height) > np.abs(target), height, target)
    return pts, target


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class DatasetSpec:
    """A registry entry: what the UI needs to build the data set's controls, plus its generator.

    ``n_range``, ``noise_range`` and ``ratio_range`` are the allowed N (train + test), noise
    and train fraction; ``hidden`` and ``features`` are the network a page starts from.
    """

    name: str
    title: str
    description: str
    problem: str
    n_default: int
    n_range: tuple[int, int]
    noise_range: tuple[float, float]
    ratio_default: float
    ratio_range: tuple[float, float]
    bounds: Bounds
    features: tuple[str, ...]
    hidden: tuple[int, ...]
    shuffle: bool
    generate: Generator = field(repr=False, compare=False)


_PLANE = ((-6.0, 6.0), (-6.0, 6.0))
_TF_NOISE = (0.0, MAX_NOISE)
_TF_RATIO = (0.1, 1.0)


def _tf(
    name: str, title: str, description: str, problem: str, n: int, gen: Generator
) -> DatasetSpec:
    return DatasetSpec(
        name, title, description, problem, n, (2, MAX_POINTS), _TF_NOISE, 0.5, _TF_RATIO,
        _PLANE, ("x", "y"), (4, 2), True, gen,
    )  # fmt: skip


SPECS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec(
            "xor", "XOR (the lesson's 4 points)",
            "The four corners of the unit square, class 1 where exactly one input is 1 "
            "(lesson 002's 2-4-1 network).",
            CLASSIFICATION, 4, (4, 4), (0.0, 0.0), 1.0, (1.0, 1.0),
            ((-0.5, 1.5), (-0.5, 1.5)), ("x", "y"), (4,), False, _lesson_xor,
        ),
        DatasetSpec(
            "linear", "Linear regression (the lesson's 4 points)",
            "y = 2x at x = 1..4, fitted by y = w x + b with MSE: Explore's linear_regression "
            "surface as a network with one input and no hidden layer.",
            REGRESSION, 4, (4, 4), (0.0, 0.0), 1.0, (1.0, 1.0),
            ((0.0, 5.0), (-1.0, 1.0)), ("x",), (), False, _lesson_linear,
        ),
        _tf("circle", "Circle", "One class inside radius 2.5, the other in a ring around it.",
            CLASSIFICATION, 500, _circle),
        _tf("xor_quadrants", "XOR quadrants",
            "Class 1 where x and y have the same sign: TensorFlow Playground's XOR.",
            CLASSIFICATION, 500, _xor_quadrants),
        _tf("gauss", "Gaussian clusters", "Two Gaussian clusters at (2, 2) and (-2, -2).",
            CLASSIFICATION, 500, _gauss),
        _tf("spiral", "Spiral", "Two interleaved spiral arms.", CLASSIFICATION, 500, _spiral),
        _tf("moons", "Two moons", "Two interleaving half circles.", CLASSIFICATION, 500, _moons),
        _tf("plane", "Plane (regression)", "Target (x + y) / 10: a tilted plane.",
            REGRESSION, 1200, _plane),
        _tf("bumps", "Gaussian bumps (regression)",
            "Six cones of height ±1 on a 3 x 2 grid.", REGRESSION, 1200, _bumps),
    )
}  # fmt: skip


def names() -> list[str]:
    """Registered data set names, in UI order."""
    return list(SPECS)


# ---------------------------------------------------------------- the data set


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and held-out test points with their targets. Immutable (read-only arrays).

    x_train (N, 2), y_train (N,), x_test (M, 2), y_test (M,); M may be 0. Classification
    targets are 0.0 or 1.0. ``bounds`` is the region a page draws, ((x0, x1), (y0, y1)).
    """

    name: str
    problem: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    bounds: Bounds
    noise: float = 0.0
    seed: int = 0
    train_ratio: float = 1.0

    @property
    def n_train(self) -> int:
        return int(self.y_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.y_test.shape[0])


def _checked_points(name: str, x: object, y: object, problem: str) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.ndim != 2 or xa.shape[1] != 2:
        raise ValueError(f"{name} points must have shape (N, 2); got {xa.shape}")
    if ya.shape != (xa.shape[0],):
        raise ValueError(f"{name} targets must have shape ({xa.shape[0]},); got {ya.shape}")
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ValueError(f"{name} points and targets must be finite")
    if problem == CLASSIFICATION and not np.isin(ya, (0.0, 1.0)).all():
        raise ValueError(f"{name} targets of a classification set must be 0 or 1")
    return xa, ya


def custom_dataset(
    x_train: object,
    y_train: object,
    *,
    problem: str,
    x_test: object = None,
    y_test: object = None,
    name: str = "custom",
    bounds: Bounds = _PLANE,
) -> Dataset:
    """A data set from arrays: x (N, 2), y (N,), optional test arrays (M, 2), (M,).

    Refused with a ValueError: an empty training set, more than MAX_POINTS points in all,
    non-finite values, classification targets other than 0/1 or of only one class.
    """
    check_choice("problem", problem, (CLASSIFICATION, REGRESSION))
    xa, ya = _checked_points("training", x_train, y_train, problem)
    if (x_test is None) != (y_test is None):
        raise ValueError("x_test and y_test must be given together")
    if x_test is None:
        xt, yt = np.zeros((0, 2)), np.zeros(0)
    else:
        xt, yt = _checked_points("test", x_test, y_test, problem)
    total = ya.shape[0] + yt.shape[0]
    if ya.shape[0] == 0:
        raise ValueError("the data set is empty: its training split needs at least 1 point")
    if total > MAX_POINTS:
        raise ValueError(f"a data set must have at most {MAX_POINTS} points; got {total}")
    if problem == CLASSIFICATION and np.unique(ya).size < 2:
        raise ValueError(
            f"the training set has only one class ({ya[0]:g}): classification needs "
            "points of both classes 0 and 1"
        )
    ratio = ya.shape[0] / total
    return Dataset(name, problem, _frozen(xa), _frozen(ya), _frozen(xt), _frozen(yt), bounds,
                   train_ratio=ratio)  # fmt: skip


def make_dataset(
    name: str,
    n: int | None = None,
    noise: float = 0.0,
    seed: int = 0,
    train_ratio: float | None = None,
) -> Dataset:
    """Generate data set ``name`` with ``n`` points in all (train + test), ``noise``, ``seed``.

    n and train_ratio default to the data set's own (``SPECS[name]``); each must lie in the
    data set's range (the lessons' sets: exactly 4 points, no noise, no test split), else a
    ValueError names the parameter and the range. Deterministic for a seed.
    """
    spec = SPECS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"unknown dataset {name!r}; valid datasets: {', '.join(SPECS)}")
    n = check_int("n", spec.n_default if n is None else n, *spec.n_range)
    noise = check_float("noise", noise, *spec.noise_range)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    ratio = check_float(
        "train_ratio", spec.ratio_default if train_ratio is None else train_ratio,
        *spec.ratio_range,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    x, y = spec.generate(n, noise, rng)
    if spec.shuffle:
        order = rng.permutation(n)
        x, y = x[order], y[order]
    cut = math.floor(n * ratio)
    data = custom_dataset(
        x[:cut], y[:cut], problem=spec.problem, x_test=x[cut:], y_test=y[cut:], name=name,
        bounds=spec.bounds,
    )  # fmt: skip
    return Dataset(name, spec.problem, data.x_train, data.y_train, data.x_test, data.y_test,
                   spec.bounds, noise, seed, ratio)  # fmt: skip

"""A 2-D slice of a loss landscape over D parameters, and where training paths lie on it.

A plane through a centre c (D,) spanned by two directions u, v (D,): the point of plane
coordinates (a, b) is c + a u + b v, and the loss drawn there is the objective's own value at
that point (computed, never interpolated). Two ways to choose the plane:

* :func:`pca_plane`: the two principal directions of the paths' deviations from c (the points
  p - c of every path, all optimizers together, uncentred PCA around the chosen c): the plane
  that keeps the largest share of the paths' squared distance from c. That share is the
  plane's ``explained`` fraction; 1 exactly when every path lies in a plane through c.
* :func:`random_plane`: two Gaussian directions, filter-normalised as Li et al. (2018),
  "Visualizing the Loss Landscape of Neural Nets": each filter of a direction (for a fully
  connected layer, the weights into one unit: a row of its weight matrix) is rescaled to the
  norm of the same filter of c; bias entries are 0 (their code's default, ``ignore='biasbn'``).
  Such directions are nearly orthogonal only in high dimension, so coordinates on this plane
  are least-squares coordinates in the (u, v) basis.

:func:`project` gives each point's plane coordinates and its distance off the plane: a path
that runs far off the plane is drawn where its shadow falls, and the loss under the shadow can
be far from the loss the path actually had (the warning in tomgoldstein/loss-landscape's issue
#1). :func:`path_report` measures exactly that, per step. Pure NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LI_EPS = 1e-10  # Li et al.'s guard in d * |w| / (|d| + eps)


@dataclass(frozen=True)
class Plane:
    """The plane c + a u + b v. ``basis`` (2, D) holds u and v; ``explained``: the share of
    the reference points' squared distance from c that lies in the plane (0 to 1)."""

    kind: str  # "pca" or "random"
    centre: np.ndarray
    basis: np.ndarray
    explained: float

    @property
    def dim(self) -> int:
        return int(self.centre.shape[0])


def _points(points: Any, dim: int | None = None) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[0] == 0 or (dim is not None and p.shape[1] != dim):
        want = "(M, D)" if dim is None else f"(M, {dim})"
        raise ValueError(f"points must have shape {want} with M >= 1; got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("points must be finite")
    return p


def _orthonormal(basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q (D, 2) with orthonormal columns spanning the basis, and R (2, 2): basis.T = Q R."""
    q, r = np.linalg.qr(basis.T)
    return q, r


def explained_fraction(centre: np.ndarray, basis: np.ndarray, points: Any) -> float:
    """Share of sum |p - c|^2 that lies in span(basis) (1.0 when every p - c is 0)."""
    x = _points(points, centre.shape[0]) - centre
    total = float(np.einsum("ij,ij->", x, x))
    if total == 0.0:
        return 1.0
    q, _ = _orthonormal(basis)
    inside = x @ q
    return float(min(1.0, np.einsum("ij,ij->", inside, inside) / total))


def pca_plane(points: Any, centre: Any) -> Plane:
    """The plane through ``centre`` (D,) that keeps most of ``points`` (M, D) around it.

    The directions are the first two right singular vectors of the deviations p - c (signs
    fixed so that each direction's largest entry is positive). ValueError when the points do
    not move away from the centre at all (no plane to choose).
    """
    c = np.asarray(centre, dtype=np.float64).reshape(-1)
    x = _points(points, c.shape[0]) - c
    if c.shape[0] < 2:
        raise ValueError("a plane needs at least 2 parameters")
    if not np.any(x):
        raise ValueError(
            "every point of the paths is the centre itself: nothing moved, so no plane "
            "through the paths can be chosen"
        )
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    basis = np.zeros((2, c.shape[0]))
    basis[: min(2, vt.shape[0])] = vt[:2]
    if vt.shape[0] < 2 or s[1] == 0.0:  # the paths span one line: any second direction
        basis[1] = _any_orthogonal(basis[0])
    for i in range(2):
        j = int(np.argmax(np.abs(basis[i])))
        if basis[i, j] < 0:
            basis[i] = -basis[i]
    total = float(np.sum(s * s))
    kept = float(np.sum(s[:2] ** 2))
    return Plane("pca", c, basis, min(1.0, kept / total) if total > 0 else 1.0)


def _any_orthogonal(u: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to the unit vector ``u``."""
    e = np.zeros_like(u)
    e[int(np.argmin(np.abs(u)))] = 1.0
    w = e - (e @ u) * u
    return np.asarray(w / np.linalg.norm(w))


def filter_normalized(
    direction: Any, centre: Any, filters: Sequence[Sequence[int]], biases: Sequence[int]
) -> np.ndarray:
    """Li et al.'s filter normalisation: each filter (a list of parameter indices) of
    ``direction`` rescaled to the norm of the same filter of ``centre``; bias entries 0."""
    d = np.array(direction, dtype=np.float64).reshape(-1)
    c = np.asarray(centre, dtype=np.float64).reshape(-1)
    for f in filters:
        idx = np.asarray(f, dtype=np.int64)
        d[idx] *= np.linalg.norm(c[idx]) / (np.linalg.norm(d[idx]) + LI_EPS)
    d[np.asarray(biases, dtype=np.int64)] = 0.0
    return d


def network_filters(param_info: Sequence[Any]) -> tuple[list[list[int]], list[int]]:
    """(filters, biases) of a network from its ``param_info``: one filter per unit of every
    layer (the weights into it), and the bias indices."""
    groups: dict[tuple[int, int], list[int]] = {}
    biases: list[int] = []
    for p in param_info:
        if p.kind == "weight":
            groups.setdefault((p.layer, p.row), []).append(p.index)
        else:
            biases.append(p.index)
    return list(groups.values()), biases


def random_plane(
    centre: Any,
    filters: Sequence[Sequence[int]],
    biases: Sequence[int],
    seed: int,
    points: Any = None,
) -> Plane:
    """Two filter-normalised Gaussian directions around ``centre`` (numpy's default_rng(seed)).

    ``points`` (M, D), if given, set ``explained``. ValueError when the directions vanish
    (every weight of the centre is 0, e.g. an all-zero initialisation) or coincide.
    """
    c = np.asarray(centre, dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(seed)
    basis = np.stack(
        [filter_normalized(rng.standard_normal(c.shape[0]), c, filters, biases) for _ in range(2)]
    )
    norms = np.linalg.norm(basis, axis=1)
    if not (norms > 0).all():
        raise ValueError(
            "the filter-normalised directions are zero: every weight of the centre is 0 (an "
            "all-zero start?), and Li et al.'s directions take their size from those weights; "
            "use the PCA plane or another centre"
        )
    cos = float(basis[0] @ basis[1] / (norms[0] * norms[1]))
    if abs(cos) > 1 - 1e-9:
        raise ValueError("the two random directions coincide; try another seed")
    explained = 1.0 if points is None else explained_fraction(c, basis, points)
    return Plane("random", c, basis, explained)


def project(plane: Plane, points: Any) -> tuple[np.ndarray, np.ndarray]:
    """Plane coordinates (M, 2) of points (M, D) and their distances off the plane (M,).

    The coordinates are the least-squares (a, b) of p - c ~ a u + b v (for an orthonormal
    basis, the dot products with u and v).
    """
    x = _points(points, plane.dim) - plane.centre
    q, r = _orthonormal(plane.basis)
    inside = x @ q  # (M, 2) in the orthonormal basis
    coords = np.linalg.solve(r, inside.T).T
    rest = x - inside @ q.T
    return coords, np.sqrt(np.einsum("ij,ij->i", rest, rest))


def lift(plane: Plane, coords: Any) -> np.ndarray:
    """Points c + a u + b v (M, D) of plane coordinates (M, 2)."""
    ab = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    return np.asarray(plane.centre + ab @ plane.basis)


def grid_ranges(
    coords: Any, margin: float = 0.15
) -> tuple[tuple[float, float], tuple[float, float]]:
    """((a0, a1), (b0, b1)): the box around every projected point and the centre (0, 0),
    widened by ``margin`` of its size on each side (a unit box around a lone point)."""
    ab = np.vstack([np.asarray(coords, dtype=np.float64).reshape(-1, 2), np.zeros((1, 2))])
    lo, hi = ab.min(axis=0), ab.max(axis=0)
    span = hi - lo
    size = np.where(span > 0, span, max(float(span.max()), 1.0))
    lo, hi = lo - margin * size, hi + margin * size
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def loss_grid(
    value: Any,
    plane: Plane,
    ranges: tuple[tuple[float, float], tuple[float, float]],
    n: int,
    chunk: int = 4096,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss at n x n points of the plane: (a (n,), b (n,), loss (n, n) with loss[j, i] at
    (a[i], b[j])). ``value(params (K, D)) -> (K,)`` is the objective's own full-batch loss."""
    (a0, a1), (b0, b1) = ranges
    a, b = np.linspace(a0, a1, n), np.linspace(b0, b1, n)
    aa, bb = np.meshgrid(a, b)
    ab = np.stack([aa.ravel(), bb.ravel()], axis=1)
    out = np.empty(len(ab))
    for lo in range(0, len(ab), chunk):
        out[lo : lo + chunk] = np.asarray(value(lift(plane, ab[lo : lo + chunk])))
    return a, b, out.reshape(n, n)


@dataclass(frozen=True)
class PathReport:
    """One path on the plane, per recorded step: coordinates (R, 2), distance off the plane
    (R,), the true loss (R,) and the loss on the plane under the path (R,), and the distance
    from the centre within the plane (R,)."""

    coords: np.ndarray
    off: np.ndarray
    true_loss: np.ndarray
    plane_loss: np.ndarray
    radius: np.ndarray


def path_report(value: Any, plane: Plane, path: Any, true_loss: Any) -> PathReport:
    """Where a path (R, D) lies on the plane and what the plane shows under it."""
    coords, off = project(plane, path)
    under = np.asarray(value(lift(plane, coords)), dtype=np.float64)
    radius = np.linalg.norm(lift(plane, coords) - plane.centre, axis=1)
    return PathReport(coords, off, np.asarray(true_loss, dtype=np.float64), under, radius)


def far_off(reports: Sequence[PathReport], ratio: float = 0.5) -> list[int]:
    """Indices of the paths that run far off the plane: somewhere further off it than
    ``ratio`` times the largest in-plane distance from the centre of any path."""
    scale = max((float(r.radius.max()) for r in reports if len(r.radius)), default=0.0)
    return [i for i, r in enumerate(reports) if len(r.off) and r.off.max() > ratio * scale]

"""surfaces.planes: the shared plane of the Networks page's loss landscape.

When every path lies in a plane through the centre, the PCA plane is that plane: it keeps
100 % of the paths' movement, no point is off it, and the loss drawn under each point (the
objective at the lifted plane coordinates) is the point's true loss. Li et al.'s filter
normalisation gives each filter the norm of the centre's filter and zero on biases.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import surfaces
from surfaces import planes


def _plane_paths(
    rng: np.random.Generator, centre: np.ndarray, k: int = 3, r: int = 50
) -> list[np.ndarray]:
    """k paths (r, D) that lie in one random plane through ``centre``."""
    u, v = rng.standard_normal((2, centre.shape[0]))
    out = []
    for _ in range(k):
        a = np.cumsum(rng.normal(0, 0.1, r))
        b = np.cumsum(rng.normal(0, 0.1, r))
        out.append(centre + a[:, None] * u + b[:, None] * v)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_paths_in_a_plane_are_drawn_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    net, x0 = surfaces.network("circle", hidden=(5, 3), activation="tanh", seed=seed, n=80)
    centre = x0[0]
    paths = _plane_paths(rng, centre)
    pts = np.concatenate(paths)
    plane = planes.pca_plane(pts, centre)
    assert plane.explained == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(plane.basis @ plane.basis.T, np.eye(2), atol=1e-12)
    for p in paths:
        true = net.value(p)
        rep = planes.path_report(net.value, plane, p, true)
        assert rep.off.max() <= 1e-9 * max(1.0, float(np.abs(p).max()))
        np.testing.assert_allclose(rep.plane_loss, rep.true_loss, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(planes.lift(plane, rep.coords), p, rtol=0, atol=1e-9)
    assert planes.far_off([planes.path_report(net.value, plane, p, net.value(p))
                           for p in paths]) == []  # fmt: skip


def test_explained_share_is_the_kept_share_of_squared_distance() -> None:
    rng = np.random.default_rng(7)
    centre = rng.standard_normal(9)
    pts = centre + rng.standard_normal((200, 9)) * np.array([5, 3, 1, 1, 1, 0.5, 0.2, 0.1, 0.1])
    plane = planes.pca_plane(pts, centre)
    x = pts - centre
    kept = (x @ plane.basis.T) ** 2
    assert plane.explained == pytest.approx(kept.sum() / (x**2).sum(), rel=1e-12)
    assert 0.5 < plane.explained < 1.0
    coords, off = planes.project(plane, pts)
    np.testing.assert_allclose(coords, x @ plane.basis.T, atol=1e-12)
    np.testing.assert_allclose(off**2 + (coords**2).sum(axis=1), (x**2).sum(axis=1), rtol=1e-10)
    # no other plane through the centre keeps more (the top two singular directions)
    for _ in range(20):
        q, _ = np.linalg.qr(rng.standard_normal((9, 2)))
        assert planes.explained_fraction(centre, q.T, pts) <= plane.explained + 1e-12


def test_a_path_far_off_the_plane_is_reported() -> None:
    rng = np.random.default_rng(1)
    centre = np.zeros(6)
    inside = [np.pad(p, ((0, 0), (0, 1))) for p in _plane_paths(rng, np.zeros(5), k=2)]
    wanders = np.zeros((50, 6))
    wanders[:, 5] = np.linspace(0, 40, 50)  # straight out of the plane (orthogonal to it)
    plane = planes.pca_plane(np.concatenate(inside), centre)

    def value(p: np.ndarray) -> np.ndarray:
        return np.asarray((p**2).sum(axis=1))

    reports = [planes.path_report(value, plane, p, value(p)) for p in [*inside, wanders]]
    assert planes.far_off(reports) == [2]
    assert reports[2].true_loss[-1] == pytest.approx(1600.0)
    assert reports[2].plane_loss[-1] == pytest.approx(0.0, abs=1e-9)  # its shadow is the centre
    assert planes.explained_fraction(centre, plane.basis, np.concatenate([*inside, wanders])) < 1


def test_filter_normalised_directions_follow_li_et_al() -> None:
    net, x0 = surfaces.network("spiral", hidden=(6, 4), seed=3)
    centre = x0[0]
    filters, biases = planes.network_filters(net.param_info)
    assert sorted([i for f in filters for i in f] + list(biases)) == list(range(net.dim))
    assert len(filters) == 6 + 4 + 1  # one per unit
    plane = planes.random_plane(centre, filters, biases, seed=11)
    for d in plane.basis:
        np.testing.assert_array_equal(d[biases], 0.0)
        for f in filters:
            assert np.linalg.norm(d[f]) == pytest.approx(np.linalg.norm(centre[f]), rel=1e-9)
    # the same construction as their code, written with torch: per filter d * |w| / (|d| + eps)
    rng = np.random.default_rng(11)
    for d_ours in plane.basis:
        d = torch.tensor(rng.standard_normal(net.dim))
        w = torch.tensor(centre)
        for f in filters:
            idx = torch.tensor(f)
            d[idx] = d[idx] * (w[idx].norm() / (d[idx].norm() + 1e-10))
        d[torch.tensor(biases)] = 0.0
        np.testing.assert_allclose(d_ours, d.numpy(), rtol=1e-12)
    # a random plane is not orthogonal: coordinates are least-squares ones, and still exact
    pts = planes.lift(plane, np.array([[0.3, -1.2], [2.0, 0.5]]))
    coords, off = planes.project(plane, pts)
    np.testing.assert_allclose(coords, [[0.3, -1.2], [2.0, 0.5]], atol=1e-10)
    assert off.max() < 1e-9


def test_planes_that_cannot_be_drawn_say_why() -> None:
    with pytest.raises(ValueError, match="nothing moved"):
        planes.pca_plane(np.zeros((5, 4)), np.zeros(4))
    net, _ = surfaces.network("xor", init="zeros")
    filters, biases = planes.network_filters(net.param_info)
    with pytest.raises(ValueError, match="all-zero"):
        planes.random_plane(np.zeros(net.dim), filters, biases, seed=0)
    with pytest.raises(ValueError, match="finite"):
        planes.pca_plane(np.array([[np.nan, 1.0]]), np.zeros(2))


def test_one_straight_path_still_gets_a_plane() -> None:
    centre = np.zeros(4)
    path = np.outer(np.linspace(0, 1, 10), [1.0, 2.0, 0.0, 0.0])
    plane = planes.pca_plane(path, centre)
    assert plane.explained == pytest.approx(1.0)
    np.testing.assert_allclose(plane.basis @ plane.basis.T, np.eye(2), atol=1e-12)


def test_the_loss_grid_is_the_objective_itself() -> None:
    net, x0 = surfaces.network("xor", seed=0)
    plane = planes.Plane("pca", x0[0], np.eye(net.dim)[:2], 1.0)
    a, b, loss = planes.loss_grid(net.value, plane, ((-1.0, 1.0), (-2.0, 2.0)), 7, chunk=5)
    for j in (0, 3, 6):
        for i in (0, 2, 6):
            p = x0[0].copy()
            p[0] += a[i]
            p[1] += b[j]
            assert loss[j, i] == net.value(p[None])[0]
    (a0, a1), (b0, b1) = planes.grid_ranges(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert a0 < 0 < 3 < a1
    assert b0 < 0 < 2 < b1

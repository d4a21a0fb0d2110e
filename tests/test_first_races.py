"""Each surface's first race (the default optimizers from the page's learning rates for that
surface, app/state/explore.py) shows what the surface's one-line description says, as a viewer
sees it on the chart: distances in plotted units, the zig-zag as sign changes across the
valley, "reached" and "settled" as the results table says them (app/compute.py)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import optimizers
import surfaces
from app.state.explore import ExploreState, page_hyper

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from app import compute

DEFAULT = tuple(optimizers.DEFAULT_SET)
Race = dict[str, optimizers.Trajectory]


def first_race(
    name: str, start: tuple[float, float] | None = None
) -> tuple[surfaces.Surface, Race]:
    state = ExploreState(
        surface=name, optimizers=DEFAULT, hyper=page_hyper(name, DEFAULT), start=start
    )
    race = compute.race(state)
    assert not race.errors
    return race.surface, race.runs


def span(surface: surfaces.Surface) -> float:
    (x0, x1), (y0, y1) = surface.bounds
    return max(x1 - x0, y1 - y0)


def outcome(surface: surfaces.Surface, traj: optimizers.Trajectory) -> compute.Outcome:
    return compute.outcome(surface, traj, 0)


def sign_changes(values: np.ndarray, visible: float) -> int:
    """Crossings of zero between points that are both visibly off it."""
    v = values[np.abs(values) > visible]
    return int(np.sum(np.sign(v[1:]) != np.sign(v[:-1])))


def nearest(surface: surfaces.Surface, traj: optimizers.Trajectory) -> surfaces.Point:
    pts = np.array([p.xy for p in surface.minima])
    return surface.minima[int(np.argmin(np.linalg.norm(pts - traj.positions[-1, 0], axis=1)))]


# ---------------------------------------------------------------- what every first race does


@pytest.mark.parametrize("name", surfaces.names())
def test_every_first_race_moves_and_nothing_blows_up(name: str) -> None:
    surface, runs = first_race(name)
    for opt, traj in runs.items():
        assert traj.diverged_at[0] < 0 or compute.escaped_downhill(surface, traj, 0), opt
        path = traj.positions[:, 0]
        moved = float(np.linalg.norm(path - path[0], axis=1).max())
        assert moved > 0.03 * span(surface), (opt, moved)


@pytest.mark.parametrize("name", surfaces.names())
def test_the_page_writes_its_first_race_as_a_short_link(name: str) -> None:
    from app.state.explore import decode, encode

    state = ExploreState(surface=name, optimizers=DEFAULT, hyper=page_hyper(name, DEFAULT))
    query = encode(state)
    assert not any("." in k and k.split(".")[0] in DEFAULT for k in query)  # no lr in it
    assert decode(query) == (state, [])


# ---------------------------------------------------------------- each description's claim


def bowl(surface: surfaces.Surface, runs: Race) -> None:
    """'the easy case where every method arrives'"""
    for opt, traj in runs.items():
        assert outcome(surface, traj).kind == "reached", opt


def ravine(surface: surfaces.Surface, runs: Race) -> None:
    """'a large step makes gradient descent zig-zag; momentum crosses it in slow swings' (the
    valley's floor is y = 0)"""
    visible = 0.01 * span(surface)
    gd = runs["sgd"].positions[:21, 0, 1]
    mom = runs["momentum"].positions[:21, 0, 1]
    assert sign_changes(gd, visible) >= 10  # a crossing on nearly every step
    assert 1 <= sign_changes(mom, visible) <= 3  # a few slow swings
    assert np.abs(mom).max() > 0.1 * span(surface)  # and they are wide ones


def saddle(surface: surfaces.Surface, runs: Race) -> None:
    """'a point on the ridge y = 0 stalls, any nudge escapes downhill': the gradient methods
    come to the saddle and linger there (the adaptive ones, which divide by the gradient's
    size, hardly slow down); every run then leaves the plot downhill"""
    for opt, traj in runs.items():
        o = outcome(surface, traj)
        assert o.kind == "escaped", (opt, o)
        assert o.step is not None
        assert traj.loss[-1, 0] < traj.loss[0, 0]
        if opt in ("sgd", "momentum", "nesterov"):
            path = traj.positions[:, 0]
            near = np.flatnonzero(np.abs(path[:, 0]) < 0.05 * span(surface))
            assert near.size > 10, opt  # it comes to the saddle and lingers
            assert o.step > near[0] + 10, opt


def saddle_escape(surface: surfaces.Surface, runs: Race) -> None:
    """'saddles sit between minima, and slow methods linger before sliding off'"""
    saddle_x = math.pi / 2

    def leaves(traj: optimizers.Trajectory) -> int:  # a unit off the saddle: 8 % of the plot
        far = np.flatnonzero(np.abs(traj.positions[:, 0, 0] - saddle_x) > 1.0)
        return int(far[0]) if far.size else 10**9

    times = sorted(leaves(t) for t in runs.values())
    assert times[-1] < 200  # everyone slides off in the race ...
    assert times[-1] > 2 * times[0]  # ... the slowest lingers twice as long as the fastest
    for opt, traj in runs.items():
        assert nearest(surface, traj).kind == "global", opt


def multi_minima(surface: surfaces.Surface, runs: Race) -> None:
    """'the nearest basin is not the deepest'"""
    for opt, traj in runs.items():
        o = outcome(surface, traj)
        assert o.kind == "local", (opt, o)
        start = traj.positions[0, 0]
        mins = sorted(surface.minima, key=lambda p: float(np.linalg.norm(np.array(p.xy) - start)))
        assert nearest(surface, traj) == mins[0]  # the nearest well, which is a local one


def rosenbrock(surface: surfaces.Surface, runs: Race) -> None:
    """'finding [the valley] is easy, following its floor to (a, a²) is slow'"""
    for opt, traj in runs.items():
        x, y = traj.positions[:, 0, 0], traj.positions[:, 0, 1]
        off_floor = np.abs(y - x * x)
        assert off_floor[50:].max() < 0.1 * span(surface), opt  # on the floor by step 50
        end = traj.positions[-1, 0]
        assert np.linalg.norm(end - np.array([1.0, 1.0])) > 0.1 * span(surface), opt  # not there


def beale(surface: surfaces.Surface, runs: Race) -> None:
    """'flat plateaus and steep corners around one sharp minimum at (3, 0.5)'"""
    target = np.array([3.0, 0.5])
    for opt, traj in runs.items():
        path = traj.positions[:, 0]
        assert np.linalg.norm(path[-1] - target) < np.linalg.norm(path[0] - target), opt
    assert min(
        float(np.linalg.norm(t.positions[-1, 0] - target)) for t in runs.values()
    ) < 0.05 * span(surface)


def himmelblau(surface: surfaces.Surface, runs: Race) -> None:
    """'from the middle all end in the same one; start elsewhere to end in another'"""
    ends = {nearest(surface, t).xy for t in runs.values()}
    assert len(ends) == 1
    for opt, traj in runs.items():
        assert outcome(surface, traj).kind == "reached", opt
    _, elsewhere = first_race("himmelblau", start=(-3.0, 3.5))
    other = {nearest(surface, t).xy for t in elsewhere.values()}
    assert other
    assert not other & ends


def rastrigin(surface: surfaces.Surface, runs: Race) -> None:
    """'a hundred local minima trap plain gradient descent'"""
    assert len(surface.minima) >= 100
    o = outcome(surface, runs["sgd"])
    assert o.kind == "local", o


def six_hump_camel(surface: surfaces.Surface, runs: Race) -> None:
    """'two global and four local minima of different depths, a test of which basin wins'"""
    kinds = [p.kind for p in surface.minima]
    assert (kinds.count("global"), kinds.count("local")) == (2, 4)
    won = {nearest(surface, t).kind for t in runs.values()}
    assert won == {"global", "local"}  # different optimizers win different basins


def linear_regression(_surface: surfaces.Surface, runs: Race) -> None:
    """'MSE is a stretched bowl': everyone heads for the line y = 2x, (w, b) = (2, 0)"""
    for opt, traj in runs.items():
        path = traj.positions[:, 0]
        d0, d1 = (float(np.linalg.norm(p - np.array([2.0, 0.0]))) for p in (path[0], path[-1]))
        assert d1 < 0.25 * d0, opt


def logistic_regression(surface: surfaces.Surface, runs: Race) -> None:
    """'convex, with a long flat valley': all go down it; the slowest has not reached the end"""
    gaps = []
    for opt, traj in runs.items():
        assert np.all(np.diff(traj.loss[:, 0]) <= 1e-9) or opt != "sgd", opt
        gaps.append(float(np.linalg.norm(traj.positions[-1, 0] - np.array(surface.minima[0].xy))))
    assert max(gaps) > 0.02 * span(surface)
    assert min(gaps) < 0.01 * span(surface)


def custom(surface: surfaces.Surface, runs: Race) -> None:
    """Your own function, the default formula (x² − 1)² + 0.3 (x + 1)² + y²: the search marks a
    global minimum, a local one and the saddle between them (each a zero of the exact
    gradient), and the first race ends where the mark says: every optimizer reaches the
    global minimum, within a hundredth of the plot."""
    kinds = sorted(p.kind for p in (*surface.minima, *surface.saddles))
    assert kinds == ["global", "local", "saddle"]
    for p in (*surface.minima, *surface.saddles):
        assert float(np.abs(surface.grad(np.array(p.xy))).max()) < 1e-9, p
    best = next(p for p in surface.minima if p.kind == "global")
    for name, traj in runs.items():
        assert outcome(surface, traj).kind == "reached", name
        assert math.dist(traj.positions[-1, 0], best.xy) < 0.01 * span(surface), name


CLAIMS: dict[str, Callable[[surfaces.Surface, Race], None]] = {
    "custom": custom,
    "quadratic_bowl": bowl,
    "ravine": ravine,
    "saddle": saddle,
    "saddle_escape": saddle_escape,
    "multi_minima": multi_minima,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "himmelblau": himmelblau,
    "rastrigin": rastrigin,
    "six_hump_camel": six_hump_camel,
    "linear_regression": linear_regression,
    "logistic_regression": logistic_regression,
}


def test_every_surface_has_its_claim_checked() -> None:
    assert set(CLAIMS) == set(surfaces.names())


@pytest.mark.parametrize("name", surfaces.names())
def test_the_first_race_shows_the_description(name: str) -> None:
    surface, runs = first_race(name)
    CLAIMS[name](surface, runs)

"""Your own function on the Explore page, through Streamlit's AppTest: typing a formula races on
it, a bad formula is explained (with a caret) while the race goes on, a share link carrying a
formula reproduces the race exactly, and a hostile one falls back politely.

The paths are read back from the chart's JSON spec as the browser receives it, and checked
against ``optimizers.simulate`` on ``surfaces.get("custom", ...)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from app import compute
from app.state import explore as urlstate
from app.state.explore import ExploreState
from surfaces.formula import DEFAULT_FORMULA

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
FIELD = "explore.sp.custom.formula"


def fresh(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def spec(at: AppTest) -> dict[str, Any]:
    fig: dict[str, Any] = json.loads(at.get("plotly_chart")[0].proto.spec)
    return fig


def paths(at: AppTest) -> dict[str, tuple[list[Any], list[Any]]]:
    """Each optimizer's drawn path (x, y) on the surface panel."""
    titles = {optimizers.get(n).title for n in optimizers.names()}
    return {
        t["name"]: (t["x"], t["y"])
        for t in spec(at)["data"]
        if t.get("name") in titles and "xaxis" not in t
    }


def texts(elements: Any) -> str:
    return " ".join(str(e.value) for e in elements)


def query(at: AppTest) -> dict[str, str]:
    out = {}
    for k in at.query_params:
        v = at.query_params[k]
        out[k] = v[0] if isinstance(v, list) else v
    return out


def clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert "Sorry" not in texts(at.error)
    assert at.get("plotly_chart"), "the race chart is missing"


def typed(formula: str) -> AppTest:
    at = fresh()
    at.selectbox(key="explore.surface").set_value("custom").run()
    at.text_input(key=FIELD).input(formula).run()
    return at


def test_typing_a_formula_races_on_it() -> None:
    at = typed("x^2 + 10*y^2")
    clean(at)
    assert not at.error
    assert "$f(x, y) = x^{2} + 10 y^{2}$" in texts(at.markdown)  # rendered as the user types
    assert "f(x, y) = x^2 + 10\\*y^2" in texts(at.markdown)  # the page's title line
    surface = surfaces.get("custom", formula="x^2 + 10*y^2")
    fig = spec(at)
    assert fig["layout"]["xaxis"]["range"] == list(surface.bounds[0])  # bounds chosen from f
    minimum = next(t for t in fig["data"] if t.get("name") == "global minimum")
    assert (minimum["x"], minimum["y"]) == ([0.0], [0.0])  # found numerically, marked
    assert "Found numerically inside the bounds: 1 minimum" in texts(at.caption)
    assert "global (0, 0)" in texts(at.markdown)  # the results table uses it
    assert query(at)["custom.formula"] == "x^2 + 10*y^2"
    # the drawn runs are the core's runs on that surface
    state, warnings = urlstate.decode(query(at))
    assert warnings == []
    race = compute.race(state)
    assert race.surface.params == surface.params
    adam = race.runs["adam"]
    hypers: dict[str, Any] = compute.effective_hypers(state, "adam")
    direct = optimizers.simulate(
        surface, "adam", compute.starts(state, surface), state.steps, **hypers
    )
    np.testing.assert_array_equal(adam.positions, direct.positions)
    assert paths(at)[optimizers.get("adam").title][0][0] == surface.default_start[0]


def test_a_bad_formula_shows_where_and_the_race_goes_on() -> None:
    at = typed("x^2 + 10*y^2")
    before = paths(at)
    at.text_input(key=FIELD).input("x^2 + * y").run()
    clean(at)
    errors = texts(at.error)
    assert "unexpected '\\*': expected a number" in errors
    assert "(column 7)" in errors
    assert [c.value for c in at.code] == ["  x^2 + * y\n        ^"]  # the caret under the *
    assert "The race stays on the last version that worked." in texts(at.caption)
    assert paths(at) == before  # still racing on x^2 + 10*y^2
    assert query(at)["custom.formula"] == "x^2 + 10*y^2"  # the link says what is raced
    for bad, says in [
        ("__import__('os')", "unknown name '\\_\\_import\\_\\_'"),
        ("x" * 301, "length limit"),
        ("(" * 41 + "x" + ")" * 41, "nesting limit"),
        ("9^9^9", "exponent limit"),
        ("sin(x", "ends too early"),
        ("ｘ^2", "is not allowed"),
        ("sqrt(-1 - x^2 - y^2)", "f is not finite anywhere in the bounds"),
    ]:
        at.text_input(key=FIELD).input(bad).run()
        clean(at)
        assert says in texts(at.error), (bad, texts(at.error))
        assert paths(at) == before
    # and a good formula races again
    at.text_input(key=FIELD).input("(x - 1)^2 + y^2").run()
    clean(at)
    assert not at.error
    assert paths(at) != before


def test_warnings_where_f_has_no_gradient_and_none_found() -> None:
    at = typed("abs(x) + y^2")
    clean(at)
    assert "abs\\(x\\) has a kink \\(no gradient\\) where x \\= 0" in texts(at.caption)
    assert "none found inside the bounds" in texts(at.caption)
    table = next(m.value for m in at.markdown if m.value.startswith("| optimizer |"))
    assert "None found" in table
    assert "nan" not in table.lower()


def test_bounds_given_and_left_empty() -> None:
    at = typed("x^2 + 10*y^2")
    at.number_input(key="explore.sp.custom.x_min").set_value(-1.0).run()
    clean(at)
    assert spec(at)["layout"]["xaxis"]["range"] == [-1.0, 2.0]  # x_max still chosen from f
    assert "Shown: x from -1 to 2, y from -2 to 2." in texts(at.caption)
    assert query(at)["custom.x_min"] == "-1.0"
    at.number_input(key="explore.sp.custom.x_max").set_value(-3.0).run()  # below x_min
    clean(at)
    assert "x\\_max \\- x\\_min must be in" in texts(at.error)
    assert spec(at)["layout"]["xaxis"]["range"] == [-1.0, 2.0]  # the last bounds that worked


def test_non_finite_values_stop_the_run_and_say_why() -> None:
    at = fresh(
        {"surface": "custom", "custom.formula": "log(x) + y^2", "opt": "adam", "adam.lr": "0.1"}
    )
    clean(at)
    said = texts(at.warning)
    assert "**Adam** stopped at step" in said
    assert "log of a negative number, in log\\(x\\)" in said
    table = next(m.value for m in at.markdown if m.value.startswith("| optimizer |"))
    assert "stopped: f not finite at step" in table
    raw = at.get("plotly_chart")[0].proto.spec
    assert "NaN" not in raw.replace('"NaN', "")
    assert "Infinity" not in raw


def test_a_share_link_with_a_formula_reproduces_the_race_exactly() -> None:
    formula = "(x^2 - 1)^2 + (y - x/2)^2 + sin(3*x)/4"
    at = typed(formula)
    at.multiselect(key="explore.optimizers").set_value(["sgd", "momentum", "adam"]).run()
    at.select_slider(key="explore.steps").set_value(300).run()
    at.slider(key="explore.swarm").set_value(3).run()
    clean(at)
    link = query(at)
    assert link["custom.formula"] == formula
    again = fresh(link)  # another visitor opens the link
    clean(again)
    assert "Ignored" not in texts(again.warning)
    assert texts(again.warning) == texts(at.warning)
    assert again.text_input(key=FIELD).value == formula
    assert paths(again) == paths(at)
    assert spec(again)["frames"] == spec(at)["frames"]
    assert query(again) == link


def test_a_share_link_with_mini_batches_on_a_formula() -> None:
    state = ExploreState(
        surface="custom",
        surface_params={"formula": "x^2 + 3*y^2", "noise": 1.5},
        optimizers=("sgd",),
        hyper={"sgd": {"lr": 0.05}},
        batch_size=2,
        seed=4,
        start=(1.5, 1.0),
        steps=80,
    )
    at = fresh(urlstate.encode(state))
    clean(at)
    assert not at.warning
    surface = surfaces.get("custom", formula="x^2 + 3*y^2", noise=1.5)
    direct = optimizers.simulate(surface, "sgd", (1.5, 1.0), 80, batch_size=2, seed=4, lr=0.05)
    full = optimizers.simulate(surface, "sgd", (1.5, 1.0), 80, lr=0.05)
    run = compute.race(state).runs["sgd"]
    np.testing.assert_array_equal(run.positions, direct.positions)
    assert not np.array_equal(direct.positions, full.positions)  # the batches are noisy
    x, _ = paths(at)[optimizers.get("sgd").title]
    assert x[0] == 1.5


def test_a_hostile_formula_link_falls_back_politely() -> None:
    at = fresh(
        {
            "surface": "custom",
            "custom.formula": "__import__('os').system('ls')",
            "custom.x_min": "1e400",
            "opt": "sgd",
        }
    )
    clean(at)
    said = texts(at.warning)
    assert "Ignored `custom.formula=__import__('os').system('ls')`: unknown name" in said
    assert "Ignored `custom.x_min=1e400`" in said
    assert at.text_input(key=FIELD).value == DEFAULT_FORMULA  # the default races
    assert "custom.formula" not in query(at)
    long = fresh({"surface": "custom", "custom.formula": "x" * 100_000})
    clean(long)
    assert "100000 characters long (at most 400)" in texts(long.warning)
    # 10 MB: Streamlit itself drops a query string over 512 kB, so the page opens as a plain
    # visit (the codec's own refusal of a 10 MB value is in tests/test_urlstate.py)
    huge = fresh({"surface": "custom", "custom.formula": "x" * 10 * 2**20})
    clean(huge)
    assert huge.selectbox(key="explore.surface").value == ExploreState().surface


def test_exports_carry_the_formula_and_reopen_the_race() -> None:
    from app import exports

    state = ExploreState(
        surface="custom",
        surface_params={"formula": "x^2 + 10*y^2 - x*y", "x_min": -3.0},
        optimizers=("sgd", "adam"),
        steps=40,
    )
    race = compute.race(state)
    assert set(race.runs) == {"sgd", "adam"}
    data = json.loads(exports.to_json(state, race.runs))
    assert data["query"]["custom.formula"] == "x^2 + 10*y^2 - x*y"
    assert urlstate.decode(data["query"]) == (state, [])
    assert len(exports.to_csv(race.runs).splitlines()) == 1 + 2 * 41  # plain: the JSON has it
    figure = compute.race_figure(race, {k: k for k in race.runs}, compute.figures.Style())
    page = exports.to_html(state, figure)
    assert "<th>custom.formula</th><td>x^2 + 10*y^2 - x*y</td>" in page
    assert exports.base_name(state) == "race_custom_sgd-adam"

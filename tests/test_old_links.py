"""Share links made before the app had pages still open the same race.

tests/fixtures/old_links.json was generated from the one-page app (before issue #11): 38
links (the default page, a spread of non-default settings, every lesson's link, presenter
mode, links with a bad field), each with the state the old decoder read from it, the state the
old page ended on and the exact ``optimizers.simulate`` arguments of every run it raced.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

import optimizers
from app import compute, exports
from app.state.explore import ExploreState, decode, page_hyper

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "app" / "main.py")
LINKS: list[dict[str, Any]] = json.loads(
    (ROOT / "tests" / "fixtures" / "old_links.json").read_text(encoding="utf-8")
)["links"]


def query_of(link: str) -> dict[str, str]:
    return dict(parse_qsl(link.removeprefix("?"), keep_blank_values=True))


def same_state(state: ExploreState, old: dict[str, Any]) -> None:
    """``state`` is the fixture's state; fields added since (the open lesson) are at their
    defaults, so they change nothing an old link meant."""
    now = exports.jsonable(state)
    added = {k: v for k, v in now.items() if k not in old}
    assert added == {k: exports.jsonable(getattr(ExploreState(), k)) for k in added}
    assert {k: v for k, v in now.items() if k in old} == old


DISPLAY_KEYS = {"embed", "big", "dark", "3d"}


def front_door(link: str) -> bool:
    """A link that says nothing about the race, only how to show it (or nothing at all):
    the page's front door, not a saved race. It opens the page's first race as the page has it
    now (issue #12 made the ravine's first race show gradient descent's zig-zag, and gave such
    links the page's learning rates instead of torch's: one set of defaults)."""
    return not set(query_of(link)) - DISPLAY_KEYS


def test_the_fixture_covers_what_the_issue_asks_for() -> None:
    from app import presets

    names = [e["name"] for e in LINKS]
    assert "default page" in names
    assert len(LINKS) >= 30
    lessons = {n for n in names if n.startswith("lesson: ")}
    assert len(lessons) >= 9  # every lesson of the one-page app, each still a lesson today
    assert lessons <= {f"lesson: {p.key}" for p in presets.PRESETS}
    assert sum("embed" in e["link"] for e in LINKS) >= 3


@pytest.mark.parametrize("entry", LINKS, ids=lambda e: e["name"])
def test_old_link_decodes_to_the_same_state(entry: dict[str, Any]) -> None:
    state, warnings = decode(query_of(entry["link"]))
    same_state(state, entry["state"])
    assert len(warnings) == entry["warnings"], warnings


def first_race() -> ExploreState:
    """The race a visit without race settings opens: the default optimizers from the page's
    learning rates for the default surface."""
    names = tuple(optimizers.DEFAULT_SET)
    return ExploreState(optimizers=names, hyper=page_hyper("ravine", names))


def test_only_links_without_race_settings_open_the_new_first_race() -> None:
    doors = sorted(e["name"] for e in LINKS if front_door(e["link"]))
    assert doors == ["default page", "embed=1", "embed=true, large fonts", "view options"]


@pytest.mark.parametrize("entry", LINKS, ids=lambda e: e["name"])
def test_old_link_opens_the_same_race(entry: dict[str, Any]) -> None:
    at = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in query_of(entry["link"]).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    written = {k: at.query_params[k] for k in at.query_params}
    page_state, warnings = decode(written)
    assert warnings == []
    if front_door(entry["link"]):
        view = {f: getattr(page_state, f) for f in ("view_3d", "large_fonts", "dark", "embed")}
        assert page_state == replace(first_race(), **view)
        assert exports.jsonable(view) == {
            f: entry["page_state"][f] for f in ("view_3d", "large_fonts", "dark", "embed")
        }
        return
    same_state(page_state, entry["page_state"])
    race = compute.race(page_state)
    runs = {label: json.loads(key) for label, key in race.keys.items()}
    assert set(runs) == set(entry["runs"])
    for label, run in runs.items():
        old = entry["runs"][label]
        # hyperparameters the optimizer gained since (sgd's torch keywords) sit at defaults
        defaults = optimizers.get(run["optimizer"]).defaults()
        added = {k: v for k, v in run["hypers"].items() if k not in old["hypers"]}
        assert added == {k: defaults[k] for k in added}, label
        run["hypers"] = {k: v for k, v in run["hypers"].items() if k in old["hypers"]}
        assert run == old, label
    assert sorted(race.errors) == entry["errors"]
    drawn = {t.get("name") for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    assert {compute.run_title(label) for label in race.runs} <= drawn

"""The app as pages (AppTest): Explore is the default, Lessons lists every lesson by topic and
opens each on its page, a page keeps its state across a visit to another, and the view options
are the room's, shared by every page."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from app import presets, routes
from app.presets import PRESETS, Preset
from app.state.explore import ExploreState, decode
from app.state.lessons import CODEC as LESSONS

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
TIMEOUT = 120


def start(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def goto(at: AppTest, page: str, query: dict[str, str] | None = None) -> AppTest:
    """Open another page as its navigation link does: with its own query only."""
    for k in list(at.query_params):
        del at.query_params[k]
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(routes.script(page))
    return at.run()


def clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]


def texts(elements: Any) -> str:
    return " ".join(str(e.value) for e in elements)


def normalized(s: ExploreState) -> ExploreState:
    """Defaults made explicit: the start and every hyperparameter of the chosen optimizers."""
    surf = surfaces.get(s.surface, **s.surface_params)
    hyper = {o: {**optimizers.get(o).defaults(), **s.hyper.get(o, {})} for o in s.optimizers}
    for o in hyper:
        hyper[o].pop("convention", None)
    return dataclasses.replace(
        s,
        start=s.start or (float(surf.default_start[0]), float(surf.default_start[1])),
        hyper=hyper,
        surface_params=dict(surf.params),
    )


def page_state(at: AppTest) -> ExploreState:
    state, warnings = decode({k: at.query_params[k] for k in at.query_params})
    assert warnings == []
    return state


def test_explore_is_the_default_page_and_lessons_a_second_one() -> None:
    names = [r.name for r in routes.ROUTES]
    assert names[0] == "explore"
    assert {"lessons", "networks"} <= set(names)
    assert [r.name for r in routes.ROUTES if r.default] == ["explore"]
    at = start()
    clean(at)
    assert at.get("plotly_chart"), "the default page is Explore, with its race"
    for r in routes.ROUTES:
        assert (Path(MAIN).parent / r.script).is_file()
        assert not r.script.startswith("pages/")  # Streamlit's legacy auto-discovery folder


def test_lessons_page_lists_every_lesson_by_topic() -> None:
    at = goto(start(), "lessons")
    clean(at)
    shown = texts(at.markdown) + texts(at.caption)
    for p in presets.LESSONS:  # every page's lessons
        assert p.title in shown, p.key
        assert p.watch in shown, p.key
    for topic in presets.TOPICS:
        assert topic.title in shown
    assert len(at.get("image")) == len(presets.LESSONS)  # a still picture per lesson
    opens = [b for b in at.button if b.key and b.key.startswith("lessons.open.")]
    assert len(opens) == len(presets.LESSONS)
    assert {p.topic for p in presets.LESSONS} == {t.key for t in presets.TOPICS}  # no empty topic
    assert any(b.label == "Open on Maps" for b in opens)
    assert not at.get("plotly_chart"), "the catalogue's pictures are images, not charts"


def test_a_topic_link_shows_that_topic_only() -> None:
    at = goto(start(), "lessons", {"topic": "momentum"})
    clean(at)
    opens = {b.key for b in at.button if b.key and b.key.startswith("lessons.open.")}
    assert opens == {f"lessons.open.{p.key}" for p in presets.LESSONS if p.topic == "momentum"}
    assert at.query_params["topic"] in ("momentum", ["momentum"])
    at.button_group[0].set_value(None).run()  # every topic again: the link is bare
    assert len([b for b in at.button if b.key and b.key.startswith("lessons.open.")]) == len(
        presets.LESSONS
    )
    assert "topic" not in at.query_params


def test_a_bad_topic_link_is_explained_politely() -> None:
    at = goto(start(), "lessons", {"topic": "<script>", "big": "maybe"})
    assert not at.exception
    assert "Ignored" in texts(at.warning)
    assert len(at.get("image")) == len(presets.LESSONS)


@pytest.mark.parametrize("p", PRESETS, ids=lambda p: p.key)
def test_each_lesson_opens_on_explore_with_its_note(p: Preset) -> None:
    at = goto(start(), "lessons")
    at.button(key=f"lessons.open.{p.key}").click().run()  # switches page
    assert not at.exception, [e.message for e in at.exception]
    assert at.get("plotly_chart"), "not on Explore"
    assert any(html.escape(p.watch) in m.value for m in at.markdown)
    assert normalized(page_state(at)) == normalized(presets.with_note(p))


def test_explore_keeps_its_race_while_the_visitor_reads_the_lessons() -> None:
    at = start()
    at.select_slider(key="explore.steps").set_value(60).run()
    at.selectbox(key="explore.surface").set_value("himmelblau").run()
    before = page_state(at)
    at = goto(at, "lessons")
    clean(at)
    at = goto(at, "explore")
    clean(at)
    assert at.select_slider(key="explore.steps").value == 60
    assert page_state(at) == before


def test_the_view_options_are_the_rooms_on_every_page() -> None:
    at = start()
    at.checkbox(key="app.large_fonts").check().run()
    at = goto(at, "lessons")
    clean(at)
    assert at.checkbox(key="app.large_fonts").value is True
    assert any("1.3rem" in str(h.proto) for h in at.get("html"))  # the large-font CSS
    assert LESSONS.decode({k: at.query_params[k] for k in at.query_params})[0].large_fonts
    at.checkbox(key="app.large_fonts").uncheck().run()
    at = goto(at, "explore")
    assert at.checkbox(key="app.large_fonts").value is False


def test_presenter_mode_on_the_lessons_page_hides_the_controls() -> None:
    at = goto(start(), "lessons")
    at.checkbox(key="app.embed").check().run()
    clean(at)
    assert any(
        "stSidebar" in str(h.proto) and "display: none" in str(h.proto) for h in at.get("html")
    )
    assert any(b.label.startswith("Show the controls") for b in at.button)


def test_every_page_shares_its_state_as_a_link() -> None:
    at = goto(start(), "lessons", {"topic": "batches"})
    at.session_state["lessons.share_open"] = True  # what opening the popover does
    at.run()
    link = at.code[0].value
    assert link.endswith("?topic=batches")

"""Every field every page declares (app/state/) round-trips through a share link, binds a
widget of its own page, and survives hostile values: the tests read the declarations, so a
new field or page is covered without an edit here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import routes
from app.state import CODECS, codec_for
from app.state.codec import Bool, Codec, Plain, declare, query_string
from tests.test_urlstate import JUNK

FIELDS = [(page, name) for page, codec in CODECS.items() for name in codec.fields]


def examples(codec: Codec[Any], name: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(context query, example query) pairs for field ``name``."""
    out = []
    for context in codec.contexts:
        base, warnings = codec.decode(context)
        assert warnings == [], (context, warnings)
        out += [(context, example) for example in codec.examples(name, base)]
    return out


def test_every_page_state_is_declared_and_registered() -> None:
    """Every page of the router has its state's codec registered (so the round-trip and the
    hostile-input tests below cover it), and every codec belongs to a page."""
    assert set(CODECS) == {r.name for r in routes.ROUTES}
    for page, codec in CODECS.items():
        assert codec.page == page
        assert codec_for(codec.default()) is codec
        assert codec.encode(codec.default()) == {}  # a plain visit: a bare link
        assert codec.decode({}) == (codec.default(), [])


@pytest.mark.parametrize(("page", "name"), FIELDS)
def test_every_declared_field_round_trips_through_a_share_link(page: str, name: str) -> None:
    codec = CODECS[page]
    cases = examples(codec, name)
    assert cases, f"{page}.{name}: its declaration gives no example"
    changed = False
    for context, example in cases:
        state, warnings = codec.decode({**context, **example})
        assert warnings == [], (example, warnings)
        changed |= getattr(state, name) != codec.defaults[name]
        query = codec.encode(state)
        assert codec.decode(query) == (state, [])
        # as a browser sends it back: the link's query string, parsed
        link = query_string(query)
        assert codec.decode(dict(parse_qsl(link, keep_blank_values=True))) == (state, [])
    assert changed, f"{page}.{name}: no example sets a value other than the default"


@pytest.mark.parametrize(("page", "name"), FIELDS)
def test_every_declared_field_binds_a_widget_of_its_page(page: str, name: str) -> None:
    codec = CODECS[page]
    assert codec.fields[name].widget is not None, f"{page}.{name} shows in no widget"
    for context, example in examples(codec, name)[:3]:
        state, _ = codec.decode({**context, **example})
        session: dict[str | int, Any] = {}
        codec.apply(state, session)
        assert session, name
        assert all(str(k).startswith((page + ".", "app.")) for k in session), sorted(session)


@pytest.mark.parametrize(("page", "name"), FIELDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_declared_field_survives_hostile_values(page: str, name: str, data: Any) -> None:
    codec = CODECS[page]
    keys = sorted({k for _, example in examples(codec, name) for k in example})
    context = data.draw(st.sampled_from(codec.contexts))
    key = data.draw(st.sampled_from(keys))
    junk = data.draw(st.one_of(JUNK, st.lists(JUNK, max_size=3)))
    state, warnings = codec.decode({**context, key: junk})
    assert isinstance(state, codec.cls)
    assert all(isinstance(w, str) and w and len(w) < 400 for w in warnings)
    assert codec.decode(codec.encode(state)) == (state, [])  # whatever came in, it is valid


def test_a_field_without_a_declaration_is_refused() -> None:
    @dataclass
    class Page:
        flag: bool = declare(False, Plain("flag", Bool()))
        other: int = 0

    with pytest.raises(TypeError, match=r"Page\.other has no URL declaration"):
        Codec(Page, "page")


def test_a_new_declared_field_is_read_and_written_without_other_code() -> None:
    @dataclass
    class Page:
        flag: bool = declare(False, Plain("flag", Bool()))

    codec = Codec(Page, "page")
    assert codec.encode(Page(flag=True)) == {"flag": "1"}
    assert codec.decode({"flag": "yes"}) == (Page(flag=True), [])
    state, warnings = codec.decode({"flag": "maybe"})
    assert state == Page()
    assert warnings == ["Ignored `flag=maybe`: expected 1 or 0; using the default (0)."]
    assert dataclasses.fields(Page)[0].metadata["url"].key == "flag"

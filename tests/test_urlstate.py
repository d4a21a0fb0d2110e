"""Share links: encode/decode round trips, validation from the core's metadata, hostile input."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
import surfaces
from app.state import explore as urlstate
from app.state import schedule as lr_schedule
from app.state import training as training_state
from app.state.explore import ExploreState, decode, encode

# ---------------------------------------------------------------- valid states from metadata


def _value_strategy(meta: Any) -> st.SearchStrategy[Any]:
    """Values a Param / Hyper accepts, drawn from its own range (the core's check decides)."""
    kind = getattr(meta, "kind", "float")
    if kind == "text" or meta.default is None:  # a formula; a bound chosen from f when left out
        return st.sampled_from(meta.examples)
    if kind == "bool":
        return st.booleans()
    if kind == "choice":
        return st.sampled_from(meta.choices)
    low = -1e3 if meta.low is None else meta.low
    high = 1e3 if meta.high is None else meta.high
    if kind == "int":
        return st.integers(math.ceil(low), min(math.floor(high), 10**6))
    return st.floats(
        low,
        high,
        exclude_min=getattr(meta, "open_low", False),
        exclude_max=getattr(meta, "open_high", False),
        allow_nan=False,
    )


@st.composite
def valid_states(draw: st.DrawFn) -> ExploreState:
    surface = draw(st.sampled_from(surfaces.names()))
    sparams = {}
    for name, p in urlstate.surface_params(surface).items():
        if draw(st.booleans()):
            sparams[name] = draw(_value_strategy(p))
    surf = surfaces.get(surface, **sparams)
    opts = tuple(draw(st.lists(st.sampled_from(optimizers.names()), unique=True, max_size=5)))
    hyper: dict[str, dict[str, Any]] = {}
    for o in opts:
        vals = {}
        for name, h in training_state.optimizer_hypers(o).items():
            if draw(st.integers(0, 3)) == 0:
                vals[name] = h.check(draw(_value_strategy(h)), o)
        if vals:
            hyper[o] = vals
    schedule = draw(st.sampled_from(lr_schedule.names()))
    sched_params = {}
    for name, h in lr_schedule.hypers(schedule).items():
        if draw(st.booleans()):
            sched_params[name] = h.check(draw(_value_strategy(h)), schedule)
    roles: dict[str, Any] = {}  # the global controls, when drawn
    for role in training_state.GLOBAL_ROLES:
        pairs = training_state.role_hypers(role, opts)
        if not pairs or not draw(st.booleans()):
            continue
        lo = max(h.low for _, h in pairs)
        hi = min(h.high for _, h in pairs)
        v = draw(st.floats(lo, hi, allow_nan=False, exclude_max=True, exclude_min=True))
        for owner, h in pairs:
            h.check(v, owner)
        roles[role] = v
    (x0, x1), (y0, y1) = surf.box
    start = draw(st.none() | st.tuples(st.floats(x0, x1), st.floats(y0, y1)))
    n = surf.n_samples
    return ExploreState(
        surface=surface,
        surface_params=sparams,
        optimizers=opts,
        hyper=hyper,
        shared_lr=draw(st.booleans()),
        start=start,
        swarm=draw(st.integers(1, urlstate.MAX_SWARM)),
        steps=draw(st.integers(0, urlstate.MAX_STEPS)),
        batch_size=draw(st.none() | st.integers(1, n)),
        seed=draw(st.integers(0, urlstate.MAX_SEED)),
        schedule=schedule,
        schedule_params=sched_params,
        view_3d=draw(st.booleans()),
        large_fonts=draw(st.booleans()),
        dark=draw(st.booleans()),
        embed=draw(st.booleans()),
        explain_optimizer=draw(st.none() | st.sampled_from(opts)) if opts else None,
        momentum_convention=draw(st.sampled_from(training_state.momentum_conventions())),
        compare_batch_sizes=tuple(
            draw(st.lists(st.integers(1, n), unique=True, max_size=urlstate.MAX_BATCH_SIZES))
        ),
        **roles,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_states())
def test_round_trip_is_exact(state: ExploreState) -> None:
    query = encode(state)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    assert all(len(v) <= urlstate.MAX_VALUE_LEN for v in query.values())
    assert decode(query) == (state, [])


def test_defaults_encode_to_nothing_and_back() -> None:
    assert encode(ExploreState()) == {}
    assert decode({}) == (ExploreState(), [])


def test_a_lesson_state_reads_well() -> None:
    state = ExploreState(
        surface="quadratic_bowl",
        surface_params={"cx": 3.0, "cy": 3.0},
        optimizers=("sgd", "adam"),
        hyper={"sgd": {"lr": 0.1}, "adam": {"lr": 0.01, "amsgrad": True}},
        start=(0.0, 0.0),
        steps=100,
        seed=7,
        compare_lrs=(0.1, 0.5),
        embed=True,
    )
    q = encode(state)
    assert q == {
        "v": "2",  # the link format: a missing learning rate means the page's
        "surface": "quadratic_bowl",
        "quadratic_bowl.cx": "3.0",
        "quadratic_bowl.cy": "3.0",
        "opt": "sgd,adam",
        "sgd.lr": "0.1",
        "adam.lr": "0.01",
        "adam.amsgrad": "1",
        "start": "0.0,0.0",
        "steps": "100",
        "seed": "7",
        "embed": "true",
        "lrs": "0.1,0.5",
    }
    assert decode(q) == (state, [])
    qs = urlstate.query_string(q)
    assert "opt=sgd,adam" in qs
    assert "start=0.0,0.0" in qs


def test_embed_turns_on_presenter_mode() -> None:
    for value in ("1", "true", "True"):
        state, warnings = decode({"embed": value})
        assert state.embed
        assert warnings == []
    # written the way Streamlit itself reads it (st.context.is_embedded, no app chrome)
    assert encode(dataclasses.replace(ExploreState(), embed=True)) == {"v": "2", "embed": "true"}


# ---------------------------------------------------------------- ranges come from the core


@pytest.mark.parametrize("name", optimizers.names())
def test_every_hyper_range_is_the_cores(name: str) -> None:
    """Just inside each bound is accepted, just outside is refused with a warning."""
    opt = optimizers.get(name)
    for h in opt.hypers:
        if h.kind not in ("float", "int"):
            continue
        for bound, outside, open_ in ((h.low, -1, h.open_low), (h.high, 1, h.open_high)):
            if bound is None:
                continue
            bad = bound + outside * max(1.0, abs(bound)) * 1e-6
            q = {"opt": name, f"{name}.{h.name}": repr(bad)}
            state, warnings = decode(q)
            assert name not in state.hyper, (h.name, bad)
            assert len(warnings) == 1
            assert f"{name}.{h.name}" in warnings[0]
            at_bound = {"opt": name, f"{name}.{h.name}": repr(bound)}
            state, warnings = decode(at_bound)
            if open_:
                assert warnings
                assert name not in state.hyper
            else:
                assert warnings == []
                assert state.hyper[name][h.name] == bound


@pytest.mark.parametrize("surface", surfaces.names())
def test_every_surface_param_range_is_the_cores(surface: str) -> None:
    for p in urlstate.surface_params(surface).values():
        if p.kind == "text":  # a formula: the core's parser decides, and says why
            state, w = decode({"surface": surface, f"{surface}.{p.name}": "x^^2"})
            assert len(w) == 1
            assert "unexpected '\\^'" in w[0]  # markdown-escaped
            assert "column 3" in w[0]
            assert p.name not in state.surface_params
            for example in p.examples:
                state, w = decode({"surface": surface, f"{surface}.{p.name}": str(example)})
                assert w == []
                assert state.surface_params[p.name] == example
            continue
        if p.default is None:  # optional (a bound): its range, and left out by default
            assert p.high is not None
            state, w = decode({"surface": surface, f"{surface}.{p.name}": repr(p.high + 1.0)})
            assert w
            assert p.name not in state.surface_params
            (example,) = p.examples
            state, w = decode({"surface": surface, f"{surface}.{p.name}": repr(example)})
            assert w == []
            assert state.surface_params[p.name] == example
            continue
        if p.kind == "choice":
            state, w = decode({"surface": surface, f"{surface}.{p.name}": "nope"})
            assert w
            assert p.name not in state.surface_params
            for c in p.choices:
                state, w = decode({"surface": surface, f"{surface}.{p.name}": c})
                assert w == []
                assert state.surface_params[p.name] == c
            continue
        assert p.high is not None
        state, w = decode({"surface": surface, f"{surface}.{p.name}": repr(p.high + 1.0)})
        assert w
        assert p.name not in state.surface_params
        state, w = decode({"surface": surface, f"{surface}.{p.name}": repr(p.high)})
        assert w == []
        assert state.surface_params[p.name] == p.high


def test_batch_size_is_bounded_by_the_surfaces_samples() -> None:
    n = surfaces.get("linear_regression").n_samples
    assert decode({"surface": "linear_regression", "batch": str(n)})[0].batch_size == n
    state, w = decode({"surface": "linear_regression", "batch": str(n + 1)})
    assert state.batch_size is None
    assert "batch" in w[0]
    state, w = decode({"surface": "linear_regression", "batches": f"1,{n + 1}"})
    assert state.compare_batch_sizes == ()
    assert w


def test_global_beta_must_suit_every_chosen_optimizer() -> None:
    state, w = decode({"opt": "momentum,adam", "beta": "0.95"})
    assert state.beta == 0.95
    assert w == []
    state, w = decode({"opt": "momentum,adam", "beta": "1"})  # [0, 1) for both
    assert state.beta is None
    assert len(w) == 1


# ---------------------------------------------------------------- hostile input

HOSTILE: list[tuple[dict[str, Any], str]] = [
    ({"steps": "abc"}, "steps"),
    ({"steps": "1e9"}, "steps"),
    ({"steps": "nan"}, "steps"),
    ({"steps": "-5"}, "steps"),
    ({"steps": "१०"}, "steps"),  # Devanagari digits: Python's int() would accept them
    ({"steps": "１０"}, "steps"),  # full-width digits
    ({"steps": "1_000"}, "steps"),
    ({"seed": "99999999999999999999999"}, "seed"),
    ({"surface": "nope"}, "surface"),
    ({"surface": "<script>alert(1)</script>"}, "surface"),
    ({"opt": "sgd,nope"}, "opt"),
    ({"opt": "sgd,sgd"}, "opt"),
    ({"opt": ",,,"}, "opt"),
    ({"opt": "sgd", "sgd.lr": "inf"}, "sgd.lr"),
    ({"opt": "sgd", "sgd.lr": "NaN"}, "sgd.lr"),
    ({"opt": "sgd", "sgd.lr": "-0.1"}, "sgd.lr"),
    ({"opt": "sgd", "sgd.lr": "0x10"}, "sgd.lr"),
    ({"opt": "sgd", "sgd.bogus": "1"}, "sgd.bogus"),
    ({"opt": "sgd", "adam.lr": "0.1"}, "adam"),
    ({"opt": "adam", "adam.beta1": "1.0"}, "adam.beta1"),
    ({"opt": "adam", "adam.amsgrad": "maybe"}, "adam.amsgrad"),
    ({"start": "1,2,3"}, "start"),
    ({"start": "1e308,0"}, "start"),
    ({"start": "nan,0"}, "start"),
    ({"start": ","}, "start"),
    ({"swarm": "100000"}, "swarm"),
    ({"sched": "warp"}, "sched"),
    ({"sched": "step", "sched.gamma": "2"}, "sched.gamma"),
    ({"sched.step_size": "5"}, "sched.step_size"),  # constant schedule has no parameters
    ({"explain": "adam"}, "explain"),  # not among the chosen optimizers
    ({"conv": "sideways"}, "conv"),
    ({"lrs": "0.1,0.1"}, "lrs"),
    ({"3d": "2"}, "3d"),
    ({"ravine.kappa": "1e9"}, "ravine.kappa"),
    ({"bogus": "1"}, "bogus"),
    ({"steps": ["10", "20"]}, "steps"),
    ({"steps": "9" * 201}, "steps"),
    ({"opt": ",".join(optimizers.names()) + ",sgd"}, "opt"),
    ({"\u202e\u0000evil": "1"}, "evil"),
    # a typed formula goes through the core's parser and limits (surfaces/formula.py)
    ({"surface": "custom", "custom.formula": "__import__('os').system('ls')"}, "custom.formula"),
    ({"surface": "custom", "custom.formula": "x.__class__"}, "custom.formula"),
    ({"surface": "custom", "custom.formula": "x[0]"}, "custom.formula"),
    ({"surface": "custom", "custom.formula": "(lambda: 1)()"}, "custom.formula"),
    ({"surface": "custom", "custom.formula": "[x for x in y]"}, "custom.formula"),
    ({"surface": "custom", "custom.formula": "9**9**9"}, "custom.formula"),
    ({"surface": "custom", "custom.formula": "(" * 10_000 + "x" + ")" * 10_000}, "custom.formula"),
    ({"surface": "custom", "custom.formula": "(" * 60 + "x" + ")" * 60}, "custom.formula"),
    ({"surface": "custom", "custom.formula": "x" * 10 * 2**20}, "custom.formula"),  # 10 MB
    ({"surface": "custom", "custom.formula": "\uff58^2 + y^2"}, "custom.formula"),  # full-width
    ({"surface": "custom", "custom.formula": "\u0445^2 + y^2"}, "custom.formula"),  # Cyrillic
    ({"surface": "custom", "custom.formula": "x\u00b2 + y^2"}, "custom.formula"),  # superscript
    ({"surface": "custom", "custom.formula": "sqrt(-1 - x^2 - y^2)"}, "custom"),  # nowhere finite
    ({"surface": "custom", "custom.x_min": "5"}, "custom"),  # past the x_max chosen from f
    ({"surface": "custom", "custom.x_max": "1e9"}, "custom.x_max"),
]


@pytest.mark.parametrize(("query", "key"), HOSTILE)
def test_hostile_field_falls_back_with_one_polite_warning(query: dict[str, Any], key: str) -> None:
    state, warnings = decode(query)
    assert isinstance(state, ExploreState)
    assert len(warnings) == 1, warnings
    assert key in warnings[0]
    assert len(warnings[0]) < 400
    # the offending field kept its default
    field_ = {v: k for k, v in urlstate.KEYS.items()}.get(key)
    if field_ is not None:
        assert getattr(state, field_) == getattr(ExploreState(), field_)
    assert decode(encode(state)) == (state, [])


def test_good_fields_survive_next_to_bad_ones() -> None:
    state, warnings = decode({"steps": "oops", "seed": "5", "opt": "sgd,adam", "adam.lr": "-1"})
    assert state.seed == 5
    assert state.optimizers == ("sgd", "adam")
    assert state.hyper == {}
    assert state.steps == ExploreState().steps
    assert len(warnings) == 2


def test_same_value_twice_is_fine() -> None:
    assert decode({"steps": ["10", "10"]}) == (dataclasses.replace(ExploreState(), steps=10), [])


def test_warnings_do_not_echo_markup_or_long_junk() -> None:
    _, warnings = decode({"steps": "`**[x](javascript:alert(1))**`" + "a" * 150})
    assert len(warnings) == 1
    w = warnings[0]
    assert w.count("`") == 2  # the junk stays inside one code span
    outside = w.split("`")[0] + w.split("`")[2]
    assert "javascript" not in outside
    assert "**" not in outside
    assert "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" not in warnings[0]


def test_huge_query_is_cut_and_warnings_are_capped() -> None:
    query = {f"k{i}": "x" for i in range(5000)}
    state, warnings = decode(query)
    assert state == ExploreState()
    assert len(warnings) <= urlstate.MAX_WARNINGS
    assert "5000" in warnings[0]


def test_not_a_mapping_of_text_never_raises() -> None:
    hostile: Any = {1: 2, "steps": 5, "seed": [None]}
    state, warnings = decode(hostile)
    assert state == ExploreState()
    assert len(warnings) == 3


KEYS = [*urlstate.KEYS.values(), "adam.lr", "sgd.lr", "ravine.kappa", "sched.gamma", "x"]
JUNK = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-0", "0", "1", "1e-320", "", " ", ","]),
    st.from_regex(r"[-+]?\d{0,4}(\.\d{0,4})?(e[-+]?\d{1,4})?", fullmatch=True),
    st.lists(st.sampled_from([*optimizers.names(), "nope", ""]), max_size=20).map(",".join),
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.one_of(st.sampled_from(KEYS), st.text(max_size=20)),
        st.one_of(JUNK, st.lists(JUNK, max_size=3)),
        max_size=12,
    )
)
def test_random_queries_never_raise_and_give_valid_states(query: dict[str, Any]) -> None:
    state, warnings = decode(query)
    assert isinstance(state, ExploreState)
    assert all(isinstance(w, str) and w for w in warnings)
    # whatever came in, what came out is a valid state (its own link reads back silently)
    assert decode(encode(state)) == (state, [])
    # a key the decoder does not know always produces a warning
    known = set(urlstate.KEYS.values())
    if any(isinstance(k, str) and "." not in k and k not in known for k in query):
        assert warnings


# ---------------------------------------------------------------- the real page (AppTest)

PAGE = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "app" / "main.py")
HOSTILE_PAGES: list[dict[str, str | list[str]]] = [
    {"steps": "nan", "opt": "sgd,nope", "surface": "<script>alert(1)</script>"},
    {"opt": ",".join(["adam"] * 40), "adam.lr": "1e999", "start": "1e308,-1e308"},
    {"surface": "linear_regression", "batch": "0", "batches": "1,2,3,4,5,6", "seed": "-1"},
    {"opt": "momentum", "momentum.momentum": "1", "conv": "x", "explain": "momentum"},
    {"sched": "step", "sched.step_size": "0", "sched.gamma": "nan", "lrs": "1e9"},
    {"\u202e": "\u0000", "steps": ["10", "20"], "x" * 61: "1", "dark": "ja"},
    {"surface": "custom", "custom.formula": "__import__('os')", "custom.x_min": "nan"},
    {"surface": "custom", "custom.formula": "(" * 10_000 + "x" + ")" * 10_000, "start": "9,9"},
]


@pytest.mark.parametrize("query", HOSTILE_PAGES)
def test_hostile_links_open_the_page_without_an_exception(query: dict[str, Any]) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(w.value for w in at.warning)
    assert "Ignored" in shown  # the visitor is told what was ignored


def shown_link(page: Any) -> str:
    """Open the "Share" popover above the chart (drawn on demand) and read its link."""
    page.get_by_role("button", name="Share", exact=True).click()
    box = page.locator("[data-testid=stCode]").first
    box.wait_for(timeout=60_000)
    link: str = box.inner_text().strip()
    page.keyboard.press("Escape")
    return link


@pytest.mark.browser
def test_copied_link_reopens_the_same_race_in_chromium() -> None:
    from app import presets
    from tests.support import browser, free_port_from, streamlit_server, wait_for_chart

    lesson = presets.BY_KEY["nesterov"].state
    with streamlit_server(free_port_from(8650, 8699)) as url, browser() as page:
        page.goto(f"{url}/?{urlstate.query_string(encode(lesson))}")
        wait_for_chart(page, timeout_ms=90_000)
        link = shown_link(page)
        assert link.startswith(url)
        assert "opt=momentum,nesterov" in link
        page.goto("about:blank")
        page.goto(link)
        wait_for_chart(page, timeout_ms=90_000)
        assert page.locator("[data-testid=stException]").count() == 0
        assert shown_link(page) == link  # the reopened page describes exactly the same race
        from urllib.parse import parse_qsl, urlsplit

        state, warnings = decode(dict(parse_qsl(urlsplit(link).query)))
        assert warnings == []
        assert state.optimizers == lesson.optimizers
        assert state.hyper["nesterov"]["lr"] == 0.1
        assert state.steps == lesson.steps

"""Step-by-step maths: every number in the LaTeX is the traced run's own; momentum conventions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import optimizers
import surfaces
from app import explain
from app.explain import numbers_in, step_maths, to_latex

RTOL = 6e-6  # six significant digits are printed


def close(got: list[float], want: np.ndarray | list[float]) -> None:
    want_arr = np.atleast_1d(np.asarray(want, dtype=float))
    assert len(got) == want_arr.size, (got, want_arr)
    np.testing.assert_allclose(got, want_arr, rtol=RTOL, atol=1e-300)


def rhs(line: str) -> list[float]:
    return numbers_in(line.rsplit("=", 1)[1])


def lesson_run(steps: int = 3) -> optimizers.Trajectory:
    surf = surfaces.get("linear_regression")
    return optimizers.simulate(surf, "sgd", (0.0, 0.0), steps, lr=0.01, trace=True)


def test_lesson_first_step_renders_its_numbers() -> None:
    lines = explain.explain(lesson_run(), 1, axis=("w", "b"))
    text = "\n".join(lines)
    grad_line = next(ln for ln in lines if ln.startswith("g_{1}"))
    close(numbers_in(grad_line), [-30.0, -10.0])
    w_line = next(ln for ln in lines if ln.startswith("w_{1}"))
    b_line = next(ln for ln in lines if ln.startswith("b_{1}"))
    close(numbers_in(w_line), [0.0, 0.01, -30.0, 0.3])  # w1 = 0 - 0.01 x (-30) = 0.3
    close(numbers_in(b_line), [0.0, 0.01, -10.0, 0.1])
    assert r"\times (-30)" in w_line
    assert w_line.endswith("= 0.3")
    assert r"\left(0.3,\ 0.1\right)" in text


def _check_step(traj: optimizers.Trajectory, t: int, k: int) -> None:
    m = step_maths(traj, t, k)
    lines = to_latex(m)
    pos, loss = traj.positions, traj.loss
    i = 0
    close(numbers_in(lines[i]), [*pos[t - 1, k], loss[t - 1, k]])
    if "grad" in traj.trace:
        i += 1
        close(numbers_in(lines[i]), traj.trace["grad"][t - 1, k])
    for q in m.state:
        i += 1
        line = lines[i]
        close(rhs(line), traj.trace[q.key][t - 1, k])
        before = numbers_in(line.split("=", 1)[1].split(r"\longrightarrow")[0])
        if t >= 2:
            close(before, traj.trace[q.key][t - 2, k])
        else:  # the state before step 1: the rule's initial value
            close(before, traj.trace_initial[q.key][k])
    for q in m.derived:
        i += 1
        close(rhs(lines[i]), traj.trace[q.key][t - 1, k])
    for c in range(2):
        i += 1
        got = numbers_in(lines[i])
        if m.plain_step:
            want = [pos[t - 1, k, c], traj.lr[t - 1, k], traj.trace["grad"][t - 1, k, c]]
        else:
            want = [pos[t - 1, k, c], pos[t, k, c] - pos[t - 1, k, c]]
        close(got, [*want, pos[t, k, c]])
    i += 1
    close(numbers_in(lines[i]), [*pos[t, k], loss[t, k]])
    assert i == len(lines) - 1


@pytest.mark.parametrize("name", optimizers.names())
def test_every_number_is_the_trajectorys(name: str) -> None:
    surf = surfaces.get("rosenbrock")
    starts = np.array([[-1.2, 1.0], [0.5, -0.4]])
    opt = optimizers.get(name)
    lr: dict[str, Any] = {h.name: h.default for h in opt.hypers if h.role == "lr"}
    traj = optimizers.simulate(surf, name, starts, 6, trace=True, seed=3, **lr)
    assert traj.trace, f"{name} records no trace"
    for t in (1, 2, 6):
        for k in (0, 1):
            _check_step(traj, t, k)


def test_symbols_come_from_the_optimizer_and_carry_the_step() -> None:
    surf = surfaces.get("quadratic_bowl", cx=3.0, cy=3.0)
    traj = optimizers.simulate(surf, "adam", (0.0, 0.0), 5, lr=0.01, trace=True)
    lines = explain.explain(traj, 3)
    text = "\n".join(lines)
    assert "m_{3}" in text
    assert "m_{2}" in text
    assert "v_{3}" in text
    assert "g_{3}" in text
    assert "c^{(1)}_{3}" in text
    assert "_t" not in "\n".join(lines[2:])
    bc1 = next(ln for ln in lines if ln.startswith("c^{(1)}_{3}"))
    close(rhs(bc1), [1 - 0.9**3])
    assert lines[0] == optimizers.get("adam").update_tex


def test_step_is_clamped_and_untraced_runs_are_refused() -> None:
    traj = lesson_run(4)
    assert step_maths(traj, 0).t == 1
    assert step_maths(traj, 99).t == 4
    plain = optimizers.simulate(surfaces.get("linear_regression"), "sgd", (0.0, 0.0), 4, lr=0.01)
    with pytest.raises(ValueError, match="trace=True"):
        step_maths(plain, 1)


def test_divergence_is_noted() -> None:
    traj = optimizers.simulate(
        surfaces.get("quadratic_bowl"), "sgd", (1.0, 1.0), 40, lr=1.5, trace=True
    )
    d = int(traj.diverged_at[0])
    assert d > 0
    assert "left the plotted region" in step_maths(traj, d).note
    assert step_maths(traj, d - 1).note == ""


def test_number_format() -> None:
    assert explain.num(-30.0) == "-30"
    assert explain.num(0.30000000000000004) == "0.3"
    assert explain.num(1.5e-5) == r"1.5 \times 10^{-5}"
    assert explain.num(-0.0) == "0"
    assert numbers_in(r"b_{4} = \left(-30,\ 1.5 \times 10^{-5}\right)") == pytest.approx(
        [-30.0, 1.5e-5]
    )


# ---------------------------------------------------------------- momentum conventions

CASES = [
    ("ravine", {}, (-8.0, 4.0), 0.02, 0.9, "torch"),
    ("rosenbrock", {}, (-1.2, 1.0), 0.01, 0.5, "ema"),
    ("linear_regression", {"batch_size": 2, "seed": 4}, (0.0, 0.0), 0.005, 0.8, "lr_inside"),
    ("saddle_escape", {}, (1.6, 2.5), 0.1, 0.95, "torch"),
]


@pytest.mark.parametrize(("surface", "kw", "start", "lr", "beta", "source"), CASES)
def test_corresponding_conventions_give_the_same_path(
    surface: str, kw: dict, start: tuple[float, float], lr: float, beta: float, source: str
) -> None:
    surf = surfaces.get(surface)
    runs = explain.convention_runs(surf, start, 150, lr, beta, source, **kw)
    assert set(runs) == {"torch", "ema", "lr_inside"}
    assert runs[source][0] == lr
    assert runs["ema"][0] == pytest.approx(runs["torch"][0] / (1 - beta), rel=1e-15)
    assert runs["lr_inside"][0] == pytest.approx(runs["torch"][0], rel=1e-15)
    paths = [tr.positions for _, tr in runs.values()]
    assert np.abs(paths[0][-1] - paths[0][0]).max() > 0.1  # the runs really moved
    assert explain.max_relative_gap(runs) <= 1e-12
    # a mismatched learning rate does not coincide: the check can fail
    wrong = optimizers.simulate(
        surf,
        "momentum",
        np.asarray(start),
        150,
        lr=lr,
        momentum=beta,
        convention="ema" if source != "ema" else "torch",
        **kw,
    )
    assert np.abs(wrong.positions - runs[source][1].positions).max() > 1e-6


def test_conventions_latex_states_the_matching_rates() -> None:
    lines = explain.conventions_latex(0.01, 0.9, "torch")
    assert len(lines) == 4
    close(rhs(lines[0]), [0.01])
    close(rhs(lines[1]), [0.1])
    close(rhs(lines[2]), [0.01])


# ---------------------------------------------------------------- the panel (AppTest)


def _panel_script() -> None:
    import streamlit as st

    import optimizers
    import surfaces
    from app.state.explore import ExploreState
    from app.state.keys import EXPLORE
    from app.ui.explain_panel import explain_ui

    name = st.session_state.get("which", "sgd")
    surf = surfaces.get("linear_regression")
    hyper: dict[str, Any] = {"lr": 0.01} if name == "sgd" else {"lr": 0.01, "momentum": 0.9}
    runs = {f"{name}@B=4": optimizers.simulate(surf, name, (0.0, 0.0), 20, **hyper)}
    state = ExploreState(surface="linear_regression", optimizers=(name,), hyper={name: hyper})
    explain_ui(state, runs, surf, EXPLORE)


def test_panel_replays_an_untraced_run_and_shows_the_lesson_numbers() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_panel_script, default_timeout=60)
    at.run()
    assert not at.exception
    text = "\n".join(x.value for x in at.latex)
    assert r"\times (-30)" in text
    assert r"\times (-10)" in text
    assert r"\left(0.3,\ 0.1\right)" in text


def test_panel_shows_momentum_in_three_conventions() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_panel_script, default_timeout=60)
    at.session_state["which"] = "momentum"
    at.run()
    assert not at.exception
    assert any("differ by at most" in c.value for c in at.caption)
    gap = next(c.value for c in at.caption if "differ by at most" in c.value)
    assert float(gap.split("at most ")[1].split(" ")[0]) <= 1e-12
    before = [x.value.strip("$\n") for x in at.latex]
    assert before[0] == optimizers.get("momentum").update_tex
    at.radio(key="explore.explain_conv").set_value("ema").run()
    assert not at.exception
    after = [x.value.strip("$\n") for x in at.latex]
    assert r"(1-\mu)" in after[0]  # the rule of the convention now shown
    assert after[1].startswith(r"\eta = 0.1,")  # lr 0.01 in torch is 0.1 in ema
    # the same point after the step, whichever convention writes it
    assert [ln for ln in after if ln.startswith(r"\theta_{1}")] == [
        ln for ln in before if ln.startswith(r"\theta_{1}")
    ]


# ---------------------------------------------------------------- KaTeX in the real page


@pytest.mark.browser
@pytest.mark.slow
def test_every_optimizers_maths_renders_in_katex_without_errors() -> None:
    """The page's Step-by-step maths for each optimizer: KaTeX parses every line."""
    from app.state import explore as urlstate
    from app.state.explore import ExploreState as AppState
    from tests.support import browser, free_port_from, streamlit_server, wait_for_chart

    with streamlit_server(free_port_from(8670, 8699)) as url, browser() as page:
        for name in optimizers.names():
            state = AppState(
                surface="linear_regression", optimizers=(name,), steps=20, explain_optimizer=name
            )
            page.goto(f"{url}/?{urlstate.query_string(urlstate.encode(state))}")
            wait_for_chart(page, timeout_ms=90_000)
            assert page.locator("[data-testid=stException]").count() == 0
            maths = page.locator("[data-testid=stExpander]", has_text="Step-by-step maths")
            maths.locator(".katex").first.wait_for(timeout=120_000)
            lines = 6 + (5 if name == "momentum" else 0)
            assert maths.locator(".katex").count() >= lines, name
            assert page.locator(".katex-error").count() == 0, name
            if optimizers.get(name).uses == "grad":
                assert "∇" in maths.inner_text(), name
        page.screenshot(
            path=str(__import__("tests.support").support.artifact("explain.png")), full_page=True
        )

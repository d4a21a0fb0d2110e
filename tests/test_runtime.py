"""The worker's process tuning: GC thresholds from the environment, freeze after start-up."""

from __future__ import annotations

import gc
import subprocess
import sys
from typing import Any

import pytest

from app import runtime


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", runtime.GC_THRESHOLDS),
        ("1000,5,5", (1000, 5, 5)),
        ("1000,5", runtime.GC_THRESHOLDS),
        ("a,b,c", runtime.GC_THRESHOLDS),
        ("0,10,10", runtime.GC_THRESHOLDS),
        ("-5,10,10", runtime.GC_THRESHOLDS),
    ],
)
def test_thresholds_parse_or_fall_back(raw: str, expected: tuple[int, int, int]) -> None:
    assert runtime.thresholds(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", runtime.SWITCH_INTERVAL),
        ("0.002", 0.002),
        ("5e-4", 5e-4),
        ("0", runtime.SWITCH_INTERVAL),
        ("nan", runtime.SWITCH_INTERVAL),
        ("1", runtime.SWITCH_INTERVAL),
        ("fast", runtime.SWITCH_INTERVAL),
    ],
)
def test_switch_interval_parses_or_falls_back(raw: str, expected: float) -> None:
    assert runtime.switch_interval(raw) == expected


def test_tune_process_freezes_start_up_objects_and_sets_thresholds_once() -> None:
    code = (
        "import gc, os, sys\n"
        "os.environ['OP_GC_THRESHOLDS'] = '5000,7,9'\n"
        "from app import runtime\n"
        "assert gc.get_freeze_count() == 0\n"
        "assert sys.getswitchinterval() == 0.005\n"
        "runtime.tune_process()\n"
        "frozen = gc.get_freeze_count()\n"
        "assert frozen > 1000, frozen\n"
        "assert gc.get_threshold() == (5000, 7, 9), gc.get_threshold()\n"
        "assert sys.getswitchinterval() == runtime.SWITCH_INTERVAL\n"
        "gc.set_threshold(700, 10, 10)\n"
        "runtime.tune_process()  # idempotent: a second call changes nothing\n"
        "assert gc.get_threshold() == (700, 10, 10)\n"
        "assert gc.get_freeze_count() == frozen\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=".")
    assert done.returncode == 0, done.stderr
    assert gc.isenabled()


def test_race_figures_are_encoded_by_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """st.plotly_chart encodes through plotly.io.to_json: with orjson installed (a dependency)
    plotly's "auto" engine uses it, 1 ms per race figure instead of 9 with the json module."""
    import json

    import numpy as np
    import orjson
    import plotly.io as pio

    import optimizers
    import surfaces
    from app import figures

    s = surfaces.get("ravine")
    runs = {n: optimizers.simulate(s, n, np.array(s.default_start), 200) for n in ("sgd", "adam")}
    fig = figures.race_figure(
        s, figures.prepare(s, runs, {n: n for n in runs}), np.array([s.default_start])
    )
    calls: list[int] = []
    real = orjson.dumps

    def counted(*a: Any, **k: Any) -> bytes:
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(orjson, "dumps", counted)
    spec = pio.to_json(figures.PlainFigure(fig), validate=False)  # what st.plotly_chart calls
    assert calls, "plotly did not use orjson"
    assert json.loads(spec) == json.loads(json.dumps(fig))

"""A small run of benchmarks/load.py: the load client and the fault probes work end to end.

The benchmark itself (25/50/100 students, 1,000 sessions, a killed worker, every bad input) is
too long for `make test`; this runs a few students and a few bad frames through nginx and two
workers, and checks correctness only (no timings).
"""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path

import pytest

from tests.test_nginx import load

pytestmark = [pytest.mark.nginx, pytest.mark.slow]


def test_small_class_and_bad_frames_through_nginx() -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (`make sysdeps` installs Debian's nginx)")
    with load.cluster(2, proxy=True) as (base, workers, _):
        tally = asyncio.run(load.run_class(base, 6, 12.0, ramp=2.0, think=2.0))
        summary = tally.summary()
        assert summary["page_loads"] == 6, summary
        assert summary["errors"] == 0, summary
        assert summary["reruns"] >= 6, summary
        assert {r.worker for r in tally.loads} <= {f"127.0.0.1:{w.port}" for w in workers}

        async def bad() -> list[str]:
            rng = random.Random(0)
            return [
                await load._attack_ws(base, rng.randbytes(2 * 2**20)),  # over maxWidgetStateSize
                await load._attack_ws(base, rng.randbytes(512)),  # not a BackMsg
                await load._attack_rerun(base, load._out_of_range),
            ]

        outcomes = asyncio.run(bad())
        assert outcomes[0] == "closed 1009", outcomes
        assert outcomes[1] == "closed 1002", outcomes
        assert outcomes[2] in ("ok", "script exception shown (generic message)"), outcomes
        assert asyncio.run(load.still_serving(base))
        assert all(w.alive() for w in workers)


@pytest.mark.parametrize("page", ["networks", "maps"])
def test_a_student_opened_on_a_page_stays_on_it(page: str) -> None:
    """Every rerun of a student who opened /networks or /maps runs that page (the client keeps
    the page hash of the navigation message, as the browser does; a rerun that lands elsewhere
    is counted as an error), so the class figures of those pages measure those pages."""
    with load.cluster(1, proxy=False) as (base, _, _):

        async def go() -> tuple[list[str], set[str]]:
            st = load.Student(base, random.Random(3), page=page)
            try:
                runs = [await st.load_page()]
                labels = {w.label for w in st.widgets.values()}
                for _ in range(3):
                    runs.append(await st.change_control())
                return [r.status for r in runs], labels
            finally:
                await st.close()

        statuses, labels = asyncio.run(go())
    assert statuses == ["ok"] * 4, statuses
    own = {"networks": "Activation", "maps": "Grid (cells per axis)"}[page]
    assert own in labels, sorted(labels)

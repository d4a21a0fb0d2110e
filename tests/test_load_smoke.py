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

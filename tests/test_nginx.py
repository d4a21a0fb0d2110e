"""The scale-out recipe for real: Debian's nginx with deploy/nginx/optimizer-playground.conf in
front of two Streamlit workers on loopback ports, driven over Streamlit's own WebSocket protocol.

The configuration under test is the deployable file with only the worker addresses and the
listen address filled in, plus an ``X-Upstream`` response header that names the worker (so that
a client can see where each request went). Stickiness is also checked from the servers' side:
nginx's access log (the routing cookie a request carried -> the worker that answered it) and
each worker's own count of active sessions.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support import ROOT

pytestmark = [pytest.mark.nginx, pytest.mark.slow]


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("op_load", ROOT / "benchmarks" / "load.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["op_load"] = mod
    spec.loader.exec_module(mod)
    return mod


load = _load_module()


@pytest.fixture
def farm() -> Iterator[tuple[str, list[Any], Any]]:
    """nginx in front of two workers: (base url, workers, nginx)."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (`make sysdeps` installs Debian's nginx)")
    with load.cluster(2, proxy=True) as (base, workers, nginx):
        yield base, workers, nginx


def test_generated_config_is_the_recipe() -> None:
    """Only the worker list, the listen address and the debug header differ from deploy/."""
    site = load.nginx_site(8799, [8711, 8712])
    recipe = load.NGINX_SITE.read_text()
    assert "server 127.0.0.1:8711 max_fails=1 fail_timeout=10s;" in site
    assert "server 127.0.0.1:8712 max_fails=1 fail_timeout=10s;" in site
    assert "listen 127.0.0.1:8799;" in site
    assert '    "~^127\\.0\\.0\\.1:(8711|8712)$" $cookie_op_worker;' in site
    removed = set(recipe.splitlines()) - set(site.splitlines())
    assert removed == {
        "    server app:8501 max_fails=1 fail_timeout=10s;",
        "    listen 80;",
        '    "~^172\\.28\\.\\d{1,3}\\.\\d{1,3}:8501$" $cookie_op_worker;',
    }
    for needed in (
        "least_conn;",
        "proxy_pass http://$op_backend;",
        "error_page 502 504 = @stream_pool;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_read_timeout 1h;",
        "location = /_stcore/stream",
    ):
        assert needed in recipe


async def _sessions(base: str, n: int) -> list[Any]:
    students = [load.Student(base, random.Random(i)) for i in range(n)]
    results = await asyncio.gather(*(s.load_page() for s in students))
    assert [r.status for r in results] == ["ok"] * n, [r for r in results if r.status != "ok"]
    return students


def test_sessions_spread_and_stick(farm: tuple[str, list[Any], Any]) -> None:
    base, workers, nginx = farm
    n = 24
    addrs = {f"127.0.0.1:{w.port}" for w in workers}

    async def go() -> None:
        students = await _sessions(base, n)
        try:
            # More HTTP and reruns per session: all of it must stay on the session's worker.
            for s in students:
                assert await s.http_get("/_stcore/health") == 200
                assert await s.http_get("/") == 200
            changes = await asyncio.gather(*(s.change_control() for s in students))
            assert all(r.status == "ok" for r in changes), changes
            for s in students:
                assert s.worker in addrs
                assert set(s.http_workers) == {s.worker}, (s.http_workers, s.worker)
            per_worker = {a: sum(s.worker == a for s in students) for a in addrs}
            assert all(v > 0 for v in per_worker.values()), per_worker
            # The workers' own books agree: each holds exactly the sessions routed to it.
            for w in workers:
                active = await load.active_sessions(w.port)
                assert active == per_worker[f"127.0.0.1:{w.port}"], (w.port, active, per_worker)
            # A reconnect (same cookie, same session id) lands on the same worker and session.
            s = students[0]
            before = (s.worker, s.session_id)
            await s.ws.close()
            await s.reconnect_stream()
            r = await s.rerun()
            assert r.status == "ok"
            assert (s.worker, s.session_id) == before
        finally:
            await asyncio.gather(*(s.close() for s in students))

    asyncio.run(go())
    carried = 0
    for line in nginx.access_log():
        cookie, backend, upstream, _status, _uri = line.split(" ", 4)
        if cookie != "-":  # a request with a routing cookie: answered by the worker it names
            carried += 1
            assert backend == cookie, line
            assert upstream == cookie, line
        else:  # a new browser: the pool (least_conn) chose
            assert backend == "optimizer_playground", line
            assert upstream in addrs, line
    assert carried >= 3 * n  # health, page, WebSocket and reconnect of every session


def test_new_browsers_take_turns_between_idle_workers(farm: tuple[str, list[Any], Any]) -> None:
    """least_conn: one after another, new browsers alternate between the (idle) workers, where
    a random cookie would split them like coin flips."""
    base, workers, _ = farm

    async def go() -> list[str]:
        students = []
        try:
            for i in range(6):
                s = load.Student(base, random.Random(i))
                students.append(s)
                assert (await s.load_page()).status == "ok"
            return [s.worker for s in students]
        finally:
            await asyncio.gather(*(s.close() for s in students))

    seen = asyncio.run(go())
    assert sorted(seen.count(f"127.0.0.1:{w.port}") for w in workers) == [3, 3], seen


def test_killed_worker_sessions_move_and_others_carry_on(
    farm: tuple[str, list[Any], Any],
) -> None:
    base, workers, _ = farm

    async def go() -> None:
        students = [load.Student(base, random.Random(i), reconnect=True) for i in range(16)]
        loads = await asyncio.gather(*(s.load_page() for s in students))
        assert all(r.status == "ok" for r in loads), loads
        try:
            victim = workers[0]
            victim_addr = f"127.0.0.1:{victim.port}"
            live_addr = f"127.0.0.1:{workers[1].port}"
            on_victim = [s for s in students if s.worker == victim_addr]
            others = [s for s in students if s.worker == live_addr]
            assert on_victim, [s.worker for s in students]
            assert others, [s.worker for s in students]
            victim.kill()
            # The survivors' sessions keep their connection and worker.
            for _ in range(2):
                rs = await asyncio.gather(*(s.change_control() for s in others))
                assert all(r.status == "ok" and r.worker == live_addr for r in rs), rs
            assert sum(s.reconnects for s in others) == 0
            # The killed worker's sessions reconnect through nginx to the live worker.
            rs = await asyncio.gather(*(s.change_control() for s in on_victim))
            assert all(r.status == "ok" and r.worker == live_addr for r in rs), rs
            assert all(s.reconnects >= 1 and s.widgets for s in on_victim)
            # ... and their browsers' page loads go there too, with the same cookie.
            for s in on_victim:
                s.http_workers.clear()
                assert await s.http_get("/") == 200
                assert s.http_workers == [live_addr]
            assert workers[1].alive()
        finally:
            await asyncio.gather(*(s.close() for s in students))

    asyncio.run(go())


def test_a_forged_routing_cookie_goes_to_the_pool(farm: tuple[str, list[Any], Any]) -> None:
    """nginx follows op_worker only to a worker's address; anything else is a new browser."""
    base, workers, _ = farm
    addrs = {f"127.0.0.1:{w.port}" for w in workers}

    async def go() -> None:
        for forged in ("169.254.169.254:80", "127.0.0.1:22", "127.0.0.1:8711x", "evil.example:80"):
            s = load.Student(base, random.Random(0))
            s.cookies["op_worker"] = forged
            assert await s.http_get("/") == 200
            assert s.http_workers, forged
            assert s.http_workers[-1] in addrs, (forged, s.http_workers)
            assert s.cookies["op_worker"] in addrs  # and the browser gets a real worker's cookie

    asyncio.run(go())


def test_oversize_requests_stop_at_the_proxy(farm: tuple[str, list[Any], Any]) -> None:
    base, workers, _ = farm
    host, port = base.split("//")[1].split(":")

    async def go() -> None:
        status, _ = await load.http_request(host, int(port), "/?q=" + "x" * 100_000)
        assert status == 414
        status, _ = await load.http_request(host, int(port), "/", {"X-Big": "y" * 65_536})
        assert status in (400, 431)
        status, _ = await load.http_request(
            host, int(port), "/", method="POST", body=b"0" * (2 * 2**20)
        )
        assert status == 413
        assert await load.still_serving(base)

    asyncio.run(go())
    assert all(w.alive() for w in workers)

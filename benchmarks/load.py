"""Classroom load, fault and bad-input benchmark for Optimizer Playground.

Simulated students speak Streamlit's own WebSocket protocol (``/_stcore/stream``, subprotocol
"streamlit", protobuf BackMsg/ForwardMsg): each one fetches the page, opens the stream, runs the
script, then every few seconds (random think time, 5 s on average) moves one control (a slider,
number input, select box, radio or checkbox found in the app's own output, set to a new value
within its limits) and asks for a rerun carrying all its widget states. Latency is the time from
sending the rerun to the ``script_finished`` message.

    .venv/bin/python benchmarks/load.py load      # 25/50/100 students, 1 worker vs nginx + 2
    .venv/bin/python benchmarks/load.py memory    # 1,000 sessions come and go; RSS before/after
    .venv/bin/python benchmarks/load.py kill      # kill one worker behind nginx mid-class
    .venv/bin/python benchmarks/load.py faults    # oversize and malformed input; server survives
    .venv/bin/python benchmarks/load.py maps      # 50 students on Explore while 10 ask for maps
    .venv/bin/python benchmarks/load.py mix       # Explore students, alone and beside 10 on
                                                  # the Networks page (one worker)
    .venv/bin/python benchmarks/load.py all --markdown benchmarks/LOAD_RESULTS.md

Everything runs on loopback: workers are ``streamlit run app/main.py`` with the production
configuration (deploy/streamlit-production.toml, turned into command-line flags) and nginx
(Debian's package) uses deploy/nginx/optimizer-playground.conf with the worker addresses filled
in. Results go to benchmarks/results/<scenario>.json; ``--markdown`` writes the report.
The tests (tests/test_nginx.py) reuse the client and the process helpers from this file.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
NGINX_SITE = ROOT / "deploy" / "nginx" / "optimizer-playground.conf"
PRODUCTION_TOML = ROOT / "deploy" / "streamlit-production.toml"
PORTS = range(8710, 8800)  # this benchmark's loopback ports
# The environment the Dockerfile gives the worker (ENV), so that the benchmark measures the same.
PRODUCTION_ENV = {"MALLOC_ARENA_MAX": "2"}
RERUN_TIMEOUT = 30.0
FINISHED = ForwardMsg.ScriptFinishedStatus


# --------------------------------------------------------------------------- protocol client


@dataclass
class Widget:
    """One control found in a ForwardMsg delta, with what is needed to pick a new value."""

    id: str
    kind: str
    label: str
    proto: Any

    def random_state(self, rng: random.Random, current: WidgetState | None) -> WidgetState:
        p = self.proto
        st = WidgetState(id=self.id)
        if self.kind == "checkbox":
            old = current.bool_value if current is not None else p.default
            st.bool_value = not old
        elif self.kind in ("selectbox", "radio"):
            st.string_value = rng.choice(list(p.options))
        elif self.kind == "select_slider":
            picks = sorted(rng.sample(range(len(p.options)), k=min(len(p.default), 2) or 1))
            st.string_array_value.data.extend(p.options[i] for i in picks)
        elif self.kind == "slider":
            n = len(p.default) or 1
            vals = sorted(
                self._number(rng, p.min, p.max, p.step, p.data_type == 0) for _ in range(n)
            )
            st.double_array_value.data.extend(vals)
        elif self.kind == "number_input":
            lo = p.min if p.has_min else (p.default if p.HasField("default") else 0.0) - 10
            hi = p.max if p.has_max else lo + 20
            st.double_value = self._number(rng, lo, hi, p.step or 0.0, p.data_type == 1)
        else:  # pragma: no cover - only the kinds above are collected
            raise ValueError(self.kind)
        return st

    @staticmethod
    def _number(rng: random.Random, lo: float, hi: float, step: float, integer: bool) -> float:
        if integer:
            return float(rng.randint(math.ceil(lo), math.floor(hi)))
        if step and step > 0 and (hi - lo) / step < 1e6:
            return lo + step * rng.randint(0, int((hi - lo) / step + 1e-9))
        return rng.uniform(lo, hi)


VARIABLE_KINDS = ("slider", "number_input", "selectbox", "radio", "checkbox")


def widgets_in(msg: ForwardMsg) -> Widget | None:
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return None
    el = msg.delta.new_element
    kind: str | None = el.WhichOneof("type")
    if kind not in VARIABLE_KINDS:
        return None
    p = getattr(el, kind)
    if p.disabled or not p.id:
        return None
    if kind == "slider":
        if p.options:
            kind = "select_slider"
        elif p.data_type not in (0, 1):  # dates and times: left alone
            return None
    if kind in ("selectbox", "radio") and len(p.options) < 2:
        return None
    return Widget(p.id, kind, p.label, p)


@dataclass
class RunResult:
    latency: float
    status: str  # "ok" | "exception" | "timeout" | "closed" | "compile_error"
    worker: str = ""
    exceptions: list[str] = field(default_factory=list)
    control: str = ""  # the label of the control moved before this rerun ("" for a page load)


class Student:
    """One browser tab: an HTTP page load, then a Streamlit session over the WebSocket."""

    def __init__(
        self, base: str, rng: random.Random, *, reconnect: bool = False, page: str = ""
    ) -> None:
        self.base = base.rstrip("/")
        self.page = page  # the page's URL path ("" : the default page, Explore)
        self.host, self.port = self.base.split("//", 1)[1].split(":")
        self.rng = rng
        self.reconnect = reconnect
        self.cookies: dict[str, str] = {}
        self.ws: ClientConnection | None = None
        self.session_id = ""
        self.page_hash = ""
        self.shown_page = ""  # the URL path of the page the last run showed (navigation)
        self.widgets: dict[str, Widget] = {}
        self.states: dict[str, WidgetState] = {}
        self.worker = ""  # X-Upstream of the WebSocket handshake, when nginx adds it
        self.http_workers: list[str] = []
        self.reconnects = 0
        self._reader: asyncio.Task[None] | None = None
        self._run_done: asyncio.Future[tuple[str, list[str]]] | None = None
        self._run_widgets: dict[str, Widget] = {}
        self._run_exceptions: list[str] = []
        self.closed_code: int | None = None

    # -- HTTP ---------------------------------------------------------------------------------
    async def http_get(self, path: str = "/", headers: dict[str, str] | None = None) -> int:
        """GET with this browser's cookies; remembers Set-Cookie and X-Upstream."""
        status, head = await http_request(self.host, int(self.port), path, self._headers(headers))
        for name, value in head:
            if name == "set-cookie":
                self._keep_cookie(value)
            elif name == "x-upstream":
                self.http_workers.append(answered_by(value))
        return status

    def _keep_cookie(self, set_cookie: str) -> None:
        k, _, v = set_cookie.split(";", 1)[0].partition("=")
        self.cookies[k.strip()] = v.strip()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = dict(extra or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return h

    # -- WebSocket ----------------------------------------------------------------------------
    async def connect(self) -> None:
        protocols = [Subprotocol("streamlit")]
        if self.session_id:  # the frontend's reconnect: [protocol, xsrf token, session id]
            protocols += [Subprotocol("none"), Subprotocol(self.session_id)]
        self.ws = await websockets.connect(
            f"ws://{self.host}:{self.port}/_stcore/stream",
            subprotocols=protocols,
            additional_headers={**self._headers(), "Origin": self.base},
            max_size=64 * 2**20,
            open_timeout=10,
            compression=None,
        )
        assert self.ws.response is not None
        self.worker = answered_by(self.ws.response.headers.get("X-Upstream", ""))
        for value in self.ws.response.headers.get_all("Set-Cookie"):  # a browser keeps these too
            self._keep_cookie(value)
        self._reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
                self._handle(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed_code = ws.close_code if ws.close_code is not None else -1
            if self._run_done is not None and not self._run_done.done():
                self._run_done.set_result(("closed", []))

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
        elif kind == "navigation":
            # the page this run showed, as the browser keeps it (new_session names the main
            # script, the router, whose hash would send the next rerun to the default page)
            nav = msg.navigation
            self.page_hash = nav.page_script_hash
            shown = [p.url_pathname for p in nav.app_pages if p.page_script_hash == self.page_hash]
            self.shown_page = shown[0] if shown else "?"
        elif kind == "delta":
            w = widgets_in(msg)
            if w is not None:
                self._run_widgets[w.id] = w
            elif (
                msg.delta.WhichOneof("type") == "new_element"
                and msg.delta.new_element.WhichOneof("type") == "exception"
            ):
                e = msg.delta.new_element.exception
                self._run_exceptions.append(f"{e.type}: {e.message}"[:300])
        elif kind == "script_finished":
            status = msg.script_finished
            if status == FINISHED.FINISHED_EARLY_FOR_RERUN:
                return
            if self._run_done is not None and not self._run_done.done():
                self._run_done.set_result(
                    (
                        "compile_error" if status == FINISHED.FINISHED_WITH_COMPILE_ERROR else "ok",
                        list(self._run_exceptions),
                    )
                )

    async def send_rerun(self, query_string: str = "") -> None:
        back = BackMsg()
        cs = back.rerun_script
        cs.query_string = query_string
        cs.page_script_hash = self.page_hash
        if self.page and not self.page_hash:  # the first run of a page opened by its URL
            cs.page_name = self.page
        cs.widget_states.widgets.extend(self.states.values())
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        cs.context_info.url = self.base + "/" + self.page
        await self.send_bytes(back.SerializeToString())

    async def send_bytes(self, data: bytes | str) -> None:
        assert self.ws is not None
        await self.ws.send(data)

    async def rerun(self, query_string: str = "", timeout: float = RERUN_TIMEOUT) -> RunResult:
        """Send a rerun with the current widget states and wait for the script to finish."""
        loop = asyncio.get_running_loop()
        self._run_done = loop.create_future()
        self._run_widgets = {}
        self._run_exceptions = []
        t0 = time.perf_counter()
        try:
            await self.send_rerun(query_string)
            status, excs = await asyncio.wait_for(self._run_done, timeout)
        except TimeoutError:
            return RunResult(time.perf_counter() - t0, "timeout", self.worker)
        except websockets.ConnectionClosed:
            return RunResult(time.perf_counter() - t0, "closed", self.worker)
        latency = time.perf_counter() - t0
        if status == "ok":
            self.widgets = self._run_widgets
            # Widgets that left the page take their state with them, as in the browser.
            self.states = {k: v for k, v in self.states.items() if k in self.widgets}
            if excs:
                status = "exception"
            elif self.shown_page != self.page:  # a rerun that landed on another page
                status = f"wrong page: {self.shown_page or 'default'}"
        return RunResult(latency, status, self.worker, excs)

    async def load_page(self) -> RunResult:
        """What a browser does on open: GET /, open the stream, run the script."""
        t0 = time.perf_counter()
        status = await self.http_get("/" + self.page)
        if status != 200:
            return RunResult(time.perf_counter() - t0, f"http_{status}")
        await self.connect()
        r = await self.rerun()
        r.latency = time.perf_counter() - t0
        return r

    async def change_control(self) -> RunResult:
        """Move one control to a new value and rerun; reconnect first if the stream dropped."""
        label = ""
        if self.widgets:
            w = self.rng.choice(list(self.widgets.values()))
            self.states[w.id] = w.random_state(self.rng, self.states.get(w.id))
            label = f"{w.kind}:{w.label}"
        if self.ws is None or self.closed_code is not None:
            if not self.reconnect:
                return RunResult(0.0, "closed", self.worker)
            await self.reconnect_stream()
        r = await self.rerun()
        if r.status == "closed" and self.reconnect:
            await self.reconnect_stream()
            r = await self.rerun()
        r.control = label
        return r

    async def reconnect_stream(self, attempts: int = 20) -> None:
        """The frontend's reconnect loop: same cookies, same session id, growing back-off."""
        delay = 0.2
        for _ in range(attempts):
            try:
                self.closed_code = None
                await self.connect()
                self.reconnects += 1
                return
            except (OSError, websockets.InvalidHandshake, TimeoutError):
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 2.0)
        raise ConnectionError("could not reconnect")

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


def answered_by(upstream_addr: str) -> str:
    """The worker that answered: nginx lists every worker it tried, the last one answered."""
    # Tries within the pool are separated by ", ", a redirect to another group by " : ".
    return re.split(r", | : ", upstream_addr)[-1].strip()


async def http_request(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    body: bytes = b"",
    timeout: float = 15.0,
) -> tuple[int, list[tuple[str, str]]]:
    """A minimal HTTP/1.1 request; returns the status and the response headers (lower-case)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    parsed = []
    for line in header_lines:
        if ":" in line:
            k, v = line.split(":", 1)
            parsed.append((k.strip().lower(), v.strip()))
    return status, parsed


# --------------------------------------------------------------------------- processes


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(n: int, pool: range = PORTS) -> list[int]:
    ports = [p for p in pool if port_free(p)][:n]
    if len(ports) < n:
        raise RuntimeError(f"fewer than {n} free ports in {pool}")
    return ports


def production_flags() -> list[str]:
    """deploy/streamlit-production.toml as `streamlit run` flags (port and theme left out)."""
    conf = tomllib.loads(PRODUCTION_TOML.read_text())
    flags = []
    for section, values in conf.items():
        for key, value in values.items():
            if (section, key) in {("server", "port"), ("browser", "serverPort")}:
                continue
            if section == "theme":
                continue
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags += [f"--{section}.{key}", text]
    return flags


class Worker:
    """`streamlit run app/main.py` with the production settings on a loopback port."""

    def __init__(
        self,
        port: int,
        extra: list[str] | None = None,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._own_dir = log_dir is None
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="op-worker-"))
        self.log_path = self.log_dir / f"worker-{port}.log"
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            *production_flags(),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            *(extra or []),
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **PRODUCTION_ENV, **(env or {})},
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.port} exited:\n{self.log()}")
            with (
                contextlib.suppress(OSError, asyncio.IncompleteReadError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                if asyncio.run(http_request("127.0.0.1", self.port, "/_stcore/health"))[0] == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"worker {self.port} not healthy in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        m = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(m.group(1)) / 1024 if m else float("nan")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._own_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)


def nginx_site(listen_port: int, worker_ports: list[int], *, debug_header: bool = True) -> str:
    """deploy/nginx/optimizer-playground.conf with loopback workers and a loopback listener."""
    text = NGINX_SITE.read_text()
    servers = "\n".join(
        f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in worker_ports
    )
    text, n = re.subn(r"^\s*server app:8501[^\n]*;$", servers, text, flags=re.M)
    assert n == 1, "the upstream block of the nginx recipe changed shape"
    # The workers' addresses a routing cookie may name: exactly these loopback workers.
    pattern = "|".join(str(p) for p in worker_ports)
    text, n = re.subn(
        r'^\s*"~\^172[^\n]*:8501\$" \$cookie_op_worker;$',
        f'    "~^127\\.0\\.0\\.1:({pattern})$" $cookie_op_worker;',
        text,
        flags=re.M,
    )
    assert n == 1, "the workers' address pattern of the nginx recipe changed shape"
    text, n = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen_port};", text)
    assert n == 1
    if debug_header:  # which worker answered: for the tests and this benchmark only
        text = text.replace(
            "add_header Set-Cookie $op_set_cookie always;",
            "add_header Set-Cookie $op_set_cookie always;\n"
            "    add_header X-Upstream $upstream_addr always;",
        )
    return text


class Nginx:
    """Debian's nginx in the foreground with a generated configuration in a temp dir."""

    def __init__(self, listen_port: int, worker_ports: list[int]) -> None:
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(exe).exists():
            raise FileNotFoundError("nginx is not installed (Debian package nginx)")
        self.port = listen_port
        self.url = f"http://127.0.0.1:{listen_port}"
        self.dir = Path(tempfile.mkdtemp(prefix="op-nginx-"))
        (self.dir / "site.conf").write_text(nginx_site(listen_port, worker_ports))
        d = self.dir
        (d / "nginx.conf").write_text(
            f"""daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format route '$cookie_op_worker $op_backend $upstream_addr $status "$request_uri"';
    access_log {d}/access.log route;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/site.conf;
}}
"""
        )
        test = subprocess.run(
            [exe, "-t", "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
            capture_output=True,
            text=True,
        )
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{test.stderr}")
        self.proc = subprocess.Popen(
            [exe, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while not (d / "nginx.pid").exists() or port_free(listen_port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start:\n{self.error_log()}")
            time.sleep(0.1)

    def error_log(self) -> str:
        p = self.dir / "error.log"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""

    def access_log(self) -> list[str]:
        p = self.dir / "access.log"
        return p.read_text(errors="replace").splitlines() if p.exists() else []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finishes writing its log
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def workers(
    n: int, extra: list[str] | None = None, env: dict[str, str] | None = None
) -> Iterator[list[Worker]]:
    ws = [Worker(p, extra, env=env) for p in pick_ports(n)]
    try:
        for w in ws:
            w.wait_ready()
        yield ws
    finally:
        for w in ws:
            w.stop()


@contextlib.contextmanager
def cluster(
    n_workers: int,
    *,
    proxy: bool,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Any]:
    """(base url, workers, nginx or None): a direct worker or nginx in front of n workers."""
    with workers(n_workers, extra, env) as ws:
        if not proxy:
            yield ws[0].url, ws, None
            return
        ng = Nginx(pick_ports(1, range(8790, 8800))[0], [w.port for w in ws])
        try:
            yield ng.url, ws, ng
        finally:
            ng.stop()


# --------------------------------------------------------------------------- scenarios


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


@dataclass
class Tally:
    reruns: list[RunResult] = field(default_factory=list)
    loads: list[RunResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ok = [r.latency for r in self.reruns if r.status == "ok"]
        loads = [r.latency for r in self.loads if r.status == "ok"]
        bad = [r for r in self.reruns + self.loads if r.status != "ok"]
        return {
            "reruns": len(self.reruns),
            "rerun_p50_s": round(pct(ok, 50), 3),
            "rerun_p95_s": round(pct(ok, 95), 3),
            "rerun_max_s": round(max(ok), 3) if ok else None,
            "page_loads": len(self.loads),
            "page_load_p50_s": round(pct(loads, 50), 3),
            "page_load_p95_s": round(pct(loads, 95), 3),
            "errors": len(bad) + len(self.errors),
            "error_kinds": sorted({r.status for r in bad} | {e[:80] for e in self.errors}),
            "exceptions": sorted({x for r in bad for x in r.exceptions})[:5],
            "slowest_controls": self.slowest_controls(),
            # Students per worker (the worker that served each page load's WebSocket).
            "students_per_worker": sorted(
                collections.Counter(r.worker for r in self.loads if r.worker).values(),
                reverse=True,
            ),
        }

    def slowest_controls(self, n: int = 5) -> list[dict[str, Any]]:
        """The controls whose reruns were slowest (median), with how often each was moved."""
        by: dict[str, list[float]] = {}
        for r in self.reruns:
            if r.status == "ok" and r.control:
                by.setdefault(r.control, []).append(r.latency)
        rows: list[dict[str, Any]] = [
            {
                "control": k,
                "moves": len(v),
                "p50_s": round(pct(v, 50), 3),
                "max_s": round(max(v), 3),
            }
            for k, v in by.items()
        ]
        return sorted(rows, key=lambda r: -r["p50_s"])[:n]


async def one_student(
    base: str,
    seed: int,
    start_at: float,
    stop_at: float,
    tally: Tally,
    think: float,
    page: str = "",
) -> Student | None:
    rng = random.Random(seed)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    st = Student(base, rng, page=page)
    try:
        r = await st.load_page()
        tally.loads.append(r)
        if r.status != "ok":
            return st
        while True:
            await asyncio.sleep(rng.uniform(0.2, 2 * think - 0.2))
            if time.monotonic() >= stop_at:
                break
            tally.reruns.append(await st.change_control())
    except Exception as exc:
        tally.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        await st.close()
    return st


async def run_class(
    base: str, n: int, duration: float, *, seed: int = 1, ramp: float = 5.0, think: float = 5.0
) -> Tally:
    """n students open the page within `ramp` seconds, then work for `duration` seconds."""
    tally = Tally()
    t0 = time.monotonic()
    await asyncio.gather(
        *(
            one_student(base, seed * 100_000 + i, t0 + ramp * i / n, t0 + duration, tally, think)
            for i in range(n)
        )
    )
    return tally


SETUPS = {"direct": ("1 worker, direct", 1, False), "nginx": ("nginx + 2 workers", 2, True)}


async def run_mix(
    base: str, n_explore: int, n_networks: int, duration: float, *, seed: int = 1
) -> tuple[Tally, Tally]:
    """Explore students and Networks students in the same class, on the same server: each
    group's reruns are tallied apart."""
    explore, networks = Tally(), Tally()
    t0 = time.monotonic()
    n = n_explore + n_networks
    jobs = [
        one_student(base, seed * 100_000 + i, t0 + 5.0 * i / n, t0 + duration, explore, 5.0)
        for i in range(n_explore)
    ] + [
        one_student(
            base, seed * 200_000 + i, t0 + 5.0 * (n_explore + i) / n, t0 + duration, networks,
            5.0, page="networks",
        )
        for i in range(n_networks)
    ]  # fmt: skip
    await asyncio.gather(*jobs)
    return explore, networks


def scenario_mix(n_explore: int, n_networks: int, duration: float, rounds: int) -> dict[str, Any]:
    """Explore's rerun latency with its students alone on one worker, then with
    ``n_networks`` more students on the Networks page, alternately, ``rounds`` times each."""
    out: dict[str, Any] = {"duration_s": duration, "explore_students": n_explore, "runs": []}
    for r in range(rounds):
        for others in (0, n_networks):
            with cluster(1, proxy=False) as (base, ws, _):
                asyncio.run(warm_up(base))
                asyncio.run(warm_up_page(base, "networks"))
                cpu0 = ws[0].cpu_s()
                t0 = time.monotonic()
                load0 = os.getloadavg()[0]
                explore, networks = asyncio.run(run_mix(base, n_explore, others, duration, seed=r))
                wall = time.monotonic() - t0
                row = {
                    "round": r,
                    "networks_students": others,
                    "explore": explore.summary(),
                    "networks": networks.summary() if others else None,
                    "worker_cpu_pct": round(100 * (ws[0].cpu_s() - cpu0) / wall),
                    "worker_rss_mb": round(ws[0].rss_mb()),
                    "loadavg_1min_start_end": [round(load0, 1), round(os.getloadavg()[0], 1)],
                }
            print(json.dumps(row), flush=True)
            out["runs"].append(row)
    for others in (0, n_networks):
        p95 = [x["explore"]["rerun_p95_s"] for x in out["runs"] if x["networks_students"] == others]
        out[f"explore_p95_s_with_{others}_networks"] = p95
    return out


async def warm_up_page(base: str, page: str) -> None:
    """The first visit of a page imports what it needs (torch, the jobs' process)."""
    st = Student(base, random.Random(7), page=page)
    r = await st.load_page()
    await st.close()
    if r.status != "ok":
        raise RuntimeError(f"warm-up of {page!r} failed: {r}")


def scenario_load(
    sizes: list[int],
    duration: float,
    setups: list[str],
    previous: dict[str, Any] | None = None,
    again: bool = False,
) -> dict[str, Any]:
    """Each size in each setup; with `previous`, its other runs are kept (sorted together), and
    with `again` also its runs of the same sizes (repeats: each run is reported)."""
    out: dict[str, Any] = {"duration_s": duration, "think_s_mean": 5.0, "runs": []}
    if previous and previous.get("duration_s") == duration:
        redo = set() if again else {(SETUPS[k][0], n) for k in setups for n in sizes}
        out["runs"] = [r for r in previous["runs"] if (r["setup"], r["students"]) not in redo]
    for label, n_workers, proxy in (SETUPS[k] for k in setups):
        for n in sizes:
            with cluster(n_workers, proxy=proxy) as (base, ws, _):
                asyncio.run(warm_up(base))
                rss0 = [w.rss_mb() for w in ws]
                cpu0 = [w.cpu_s() for w in ws]
                peak = list(rss0)
                t0 = time.monotonic()
                own_cpu0 = time.process_time()
                load0 = os.getloadavg()[0]

                async def sampled(
                    ws: list[Worker] = ws, peak: list[float] = peak, n: int = n, base: str = base
                ) -> Tally:
                    task = asyncio.create_task(run_class(base, n, duration))
                    while not task.done():
                        await asyncio.sleep(1)
                        for i, w in enumerate(ws):
                            peak[i] = max(peak[i], w.rss_mb())
                    return task.result()

                tally = asyncio.run(sampled())
                wall = time.monotonic() - t0
                worker_cpu = sum(w.cpu_s() - c for w, c in zip(ws, cpu0, strict=True))
                runs = len(tally.reruns) + len(tally.loads)
                row = {
                    "setup": label,
                    "students": n,
                    **tally.summary(),
                    "worker_rss_start_mb": [round(x) for x in rss0],
                    "worker_rss_peak_mb": [round(x) for x in peak],
                    "worker_cpu_pct": [
                        round(100 * (w.cpu_s() - c) / wall) for w, c in zip(ws, cpu0, strict=True)
                    ],
                    "workers_alive": all(w.alive() for w in ws),
                    # Server CPU per script run: what a class costs, whatever else the machine
                    # was doing. Load average: how busy the (shared) machine was meanwhile.
                    "worker_cpu_ms_per_run": round(1000 * worker_cpu / max(runs, 1)),
                    "load_generator_cpu_pct": round(100 * (time.process_time() - own_cpu0) / wall),
                    "loadavg_1min_start_end": [round(load0, 1), round(os.getloadavg()[0], 1)],
                }
            print(json.dumps(row), flush=True)
            out["runs"].append(row)
    out["runs"].sort(key=lambda r: (r["setup"], r["students"]))
    for label in ("1 worker, direct", "nginx + 2 workers"):
        sizes_run = {r["students"] for r in out["runs"] if r["setup"] == label}
        fits = [  # a size counts only if every run of it kept zero errors and p95 <= 1 s
            n
            for n in sizes_run
            if all(
                r["errors"] == 0 and r["rerun_p95_s"] <= 1.0
                for r in out["runs"]
                if r["setup"] == label and r["students"] == n
            )
        ]
        out[f"largest_class_p95_le_1s[{label}]"] = max(fits) if fits else 0
    return out


async def warm_up(base: str, n: int = 2) -> None:
    """First sessions import torch and fill caches; not part of any measurement."""
    for i in range(n):
        st = Student(base, random.Random(i))
        r = await st.load_page()
        if r.status != "ok":
            raise RuntimeError(f"warm-up page load failed: {r}")
        await st.change_control()
        await st.close()


def scenario_memory(
    sessions: int, concurrency: int, ttl: int, rounds: int = 2, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """RSS of one worker before and after rounds of `sessions` sessions that connect and leave.

    The app's caches (st.cache_data / st.cache_resource, bounded by max_entries) fill up with the
    students' parameter values; at the end a clear_cache message shows how much of the growth
    they hold. A second round shows whether memory levels off or keeps growing.
    """
    extra = ["--server.disconnectedSessionTTL", str(ttl)]
    with cluster(1, proxy=False, extra=extra, env=env) as (base, ws, _):
        w = ws[0]
        asyncio.run(warm_up(base, 5))
        time.sleep(ttl + 5)
        start = w.rss_mb()
        start_cache = asyncio.run(metric_total(w.port, "cache_memory_bytes")) / 2**20
        tally = Tally()
        peak = start
        out: dict[str, Any] = {
            "sessions_per_round": sessions,
            "rounds": rounds,
            "concurrency": concurrency,
            "disconnected_session_ttl_s": ttl,
            "env": {**PRODUCTION_ENV, **(env or {})},  # what the worker ran with
            "rss_start_mb": round(start, 1),
            "app_cache_start_mb": round(start_cache, 1),
            "per_round": [],
        }

        async def churn(offset: int) -> None:
            nonlocal peak
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int) -> None:
                nonlocal peak
                async with sem:
                    st = Student(base, random.Random(offset + i))
                    try:
                        r = await st.load_page()
                        tally.loads.append(r)
                        if r.status == "ok":
                            tally.reruns.append(await st.change_control())
                    except Exception as exc:
                        tally.errors.append(f"{type(exc).__name__}: {exc}")
                    finally:
                        await st.close()
                    if i % 50 == 0:
                        peak = max(peak, w.rss_mb())

            await asyncio.gather(*(one(i) for i in range(sessions)))

        for rnd in range(rounds):
            t0 = time.monotonic()
            asyncio.run(churn(10_000 + rnd * sessions))
            churn_s = time.monotonic() - t0
            time.sleep(2 * ttl + 10)  # the TTL expires, then the sessions are freed
            out["per_round"].append(
                {
                    "churn_s": round(churn_s, 1),
                    "rss_after_mb": round(w.rss_mb(), 1),
                    "active_sessions": asyncio.run(metric_total(w.port, "active_sessions")),
                    "app_cache_mb": round(
                        asyncio.run(metric_total(w.port, "cache_memory_bytes")) / 2**20, 1
                    ),
                }
            )
            print(json.dumps(out["per_round"][-1]), flush=True)
        asyncio.run(clear_caches(base))
        time.sleep(5)
        end = out["per_round"][-1]["rss_after_mb"]
        out.update(
            rss_peak_mb=round(peak, 1),
            rss_end_minus_start_mb=round(end - start, 1),
            rss_after_clear_cache_mb=round(w.rss_mb(), 1),
            rss_after_clear_cache_minus_start_mb=round(w.rss_mb() - start, 1),
            **{k: v for k, v in tally.summary().items() if k in ("errors", "error_kinds")},
            worker_alive=w.alive(),
        )
    print(json.dumps(out), flush=True)
    return out


async def clear_caches(base: str) -> None:
    """What the app menu's "Clear cache" sends (BackMsg clear_cache)."""
    st = Student(base, random.Random(0))
    await st.connect()
    back = BackMsg()
    back.clear_cache = True
    await st.send_bytes(back.SerializeToString())
    await asyncio.sleep(1)
    await st.close()


async def metric_total(port: int, family: str) -> float:
    """The sum of one metric family from the worker's /_stcore/metrics."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /_stcore/metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Accept: text/plain\r\nConnection: close\r\n\r\n".encode()
    )
    data = (await reader.read()).decode(errors="replace")
    writer.close()
    total = 0.0
    for line in data.splitlines():
        if line.startswith(family):
            total += float(line.split()[-1])
    return total


async def active_sessions(port: int) -> float:
    """The worker's own count of active sessions (/_stcore/metrics)."""
    return await metric_total(port, "active_sessions")


def scenario_kill(n: int, duration: float, kill_at: float) -> dict[str, Any]:
    """n students through nginx + 2 workers; one worker is SIGKILLed after `kill_at` seconds."""
    with cluster(2, proxy=True) as (base, ws, _ng):
        asyncio.run(warm_up(base))
        by_port = {f"127.0.0.1:{w.port}": w for w in ws}
        result: dict[str, Any] = {}

        async def go() -> None:
            rng = random.Random(7)
            students = [Student(base, random.Random(i), reconnect=True) for i in range(n)]
            loads = await asyncio.gather(*(s.load_page() for s in students))
            first_worker = [s.worker for s in students]
            victim_addr = rng.choice(sorted(set(first_worker)))
            victim = by_port[victim_addr]
            runs: dict[int, list[tuple[float, RunResult]]] = {i: [] for i in range(n)}
            t0 = time.monotonic()
            killed_at: list[float] = []

            async def work(i: int, s: Student) -> None:
                r2 = random.Random(1000 + i)
                while time.monotonic() - t0 < duration:
                    await asyncio.sleep(r2.uniform(0.5, 4.5))
                    try:
                        r = await s.change_control()
                    except Exception as exc:
                        r = RunResult(0.0, f"{type(exc).__name__}")
                    runs[i].append((time.monotonic() - t0, r))

            async def killer() -> None:
                await asyncio.sleep(kill_at)
                victim.kill()
                killed_at.append(time.monotonic() - t0)

            await asyncio.gather(killer(), *(work(i, s) for i, s in enumerate(students)))
            await asyncio.gather(*(s.close() for s in students))
            on_victim = [i for i in range(n) if first_worker[i] == victim_addr]
            others = [i for i in range(n) if first_worker[i] != victim_addr]
            k = killed_at[0]

            def bad(i: int, after: float) -> int:
                return sum(1 for t, r in runs[i] if t >= after and r.status != "ok")

            moved = [
                i
                for i in on_victim
                if any(t > k and r.status == "ok" and r.worker != victim_addr for t, r in runs[i])
            ]
            latest_after = [
                r.latency for i in others for t, r in runs[i] if t > k and r.status == "ok"
            ]
            result.update(
                students=n,
                page_loads_ok=sum(r.status == "ok" for r in loads),
                killed_worker=victim_addr,
                killed_at_s=round(k, 1),
                sessions_on_killed=len(on_victim),
                sessions_on_others=len(others),
                others_failed_reruns_after_kill=sum(bad(i, k) for i in others),
                others_reruns_after_kill=sum(1 for i in others for t, _ in runs[i] if t > k),
                others_p95_after_kill_s=round(pct(latest_after, 95), 3),
                killed_sessions_reconnected_to_live_worker=len(moved),
                killed_sessions_reruns_failed=sum(bad(i, k) for i in on_victim),
                reconnects=sum(s.reconnects for s in students),
                survivor_alive=all(w.alive() for w in ws if w is not victim),
            )

        asyncio.run(go())
    print(json.dumps(result), flush=True)
    return result


# --------------------------------------------------------------------------- maps in a class


class MapStudent(Student):
    """A student on the Maps page who keeps asking for new maps: every few seconds a new grid
    size or step count (a map nobody asked for before: computed, not cached)."""

    async def load_maps(self, query: str) -> RunResult:
        t0 = time.perf_counter()
        status = await self.http_get(f"/{self.page}")
        if status != 200:
            return RunResult(time.perf_counter() - t0, f"http_{status}")
        await self.connect()
        r = await self.rerun(query, timeout=MAP_TIMEOUT)
        r.latency = time.perf_counter() - t0
        return r

    async def ask_for_a_map(self) -> RunResult:
        """Move the grid or the steps slider of the map to a value not asked for before."""
        sliders = [
            w
            for w in self.widgets.values()
            if w.kind == "slider" and w.label.startswith(("Grid", "Steps"))
        ]
        if not sliders:
            return RunResult(0.0, "no map controls")
        w = self.rng.choice(sliders)
        st = WidgetState(id=w.id)
        p = w.proto
        lo, hi = (64, 256) if w.label.startswith("Grid") else (100, 500)
        value = self.rng.randrange(lo, hi + 1, int(p.step or 1))
        st.double_array_value.data.append(float(value))
        self.states[w.id] = st
        r = await self.rerun(timeout=MAP_TIMEOUT)
        r.control = f"{w.label} = {value}"
        return r


MAP_TIMEOUT = 120.0
MAP_QUERY = "grid=160&steps=300"  # the map students' first map: 3 x 25,600 runs x 300 steps


async def one_map_student(
    base: str, seed: int, start_at: float, stop_at: float, tally: Tally, think: float
) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    st = MapStudent(base, rng, page="maps")
    try:
        r = await st.load_maps(MAP_QUERY)
        tally.loads.append(r)
        if r.status != "ok":
            return
        while True:
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
            if time.monotonic() >= stop_at:
                break
            tally.reruns.append(await st.ask_for_a_map())
    except Exception as exc:
        tally.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        await st.close()


async def run_class_with_maps(
    base: str, n_explore: int, n_maps: int, duration: float, *, seed: int = 1
) -> tuple[Tally, Tally]:
    """n_explore students on Explore and n_maps students asking for maps, at the same time."""
    explore, maps = Tally(), Tally()
    t0 = time.monotonic()
    jobs = [
        one_student(base, seed * 100_000 + i, t0 + 5.0 * i / n_explore, t0 + duration, explore, 5.0)
        for i in range(n_explore)
    ]
    jobs += [
        one_map_student(base, seed * 200_000 + i, t0 + 5.0 * i / max(n_maps, 1),
                        t0 + duration, maps, 5.0)
        for i in range(n_maps)
    ]  # fmt: skip
    await asyncio.gather(*jobs)
    return explore, maps


def scenario_maps(n_explore: int, n_maps: int, duration: float, rounds: int = 1) -> dict[str, Any]:
    """One worker: Explore's rerun latency with 0 and with n_maps map students, alternately."""
    out: dict[str, Any] = {
        "explore_students": n_explore,
        "map_students": n_maps,
        "duration_s": duration,
        "first_map": MAP_QUERY,
        "runs": [],
    }
    for rnd in range(rounds):
        for maps_now in (0, n_maps):
            with cluster(1, proxy=False) as (base, ws, _):
                asyncio.run(warm_up(base))
                w = ws[0]
                cpu0, t0, load0 = w.cpu_s(), time.monotonic(), os.getloadavg()[0]
                explore, maps = asyncio.run(
                    run_class_with_maps(base, n_explore, maps_now, duration, seed=rnd + 1)
                )
                wall = time.monotonic() - t0
                e, m = explore.summary(), maps.summary()
                row = {
                    "round": rnd + 1,
                    "map_students": maps_now,
                    "explore_reruns": e["reruns"],
                    "explore_rerun_p50_s": e["rerun_p50_s"],
                    "explore_rerun_p95_s": e["rerun_p95_s"],
                    "explore_rerun_max_s": e["rerun_max_s"],
                    "explore_page_load_p95_s": e["page_load_p95_s"],
                    "explore_errors": e["errors"],
                    "maps_asked": m["reruns"],
                    "map_p50_s": m["rerun_p50_s"],
                    "map_p95_s": m["rerun_p95_s"],
                    "map_max_s": m["rerun_max_s"],
                    "map_first_load_p95_s": m["page_load_p95_s"],
                    "map_errors": m["errors"],
                    "map_error_kinds": m["error_kinds"],
                    "worker_cpu_pct": round(100 * (w.cpu_s() - cpu0) / wall),
                    "worker_rss_mb": round(w.rss_mb()),
                    "loadavg_1min_start_end": [round(load0, 1), round(os.getloadavg()[0], 1)],
                    "worker_alive": w.alive(),
                }
                print(json.dumps(row), flush=True)
                out["runs"].append(row)
    with_maps = [r for r in out["runs"] if r["map_students"]]
    out["explore_p95_le_1s_with_maps"] = bool(with_maps) and all(
        r["explore_rerun_p95_s"] <= 1.0 and r["explore_errors"] == 0 for r in with_maps
    )
    return out


# --------------------------------------------------------------------------- bad input


async def still_serving(base: str) -> bool:
    """Health answers and a fresh student loads the page and reruns without an exception."""
    host, port = base.split("//")[1].split(":")
    status, _ = await http_request(host, int(port), "/_stcore/health")
    st = Student(base, random.Random(99))
    try:
        r1 = await st.load_page()
        r2 = await st.change_control()
    finally:
        await st.close()
    return status == 200 and r1.status == "ok" and r2.status == "ok"


async def _attack_ws(base: str, payload: bytes | str, *, connect_only: bool = False) -> str:
    st = Student(base, random.Random(5))
    try:
        await st.connect()
        if connect_only:
            return "accepted"
        await st.send_bytes(payload)
        reader = st._reader
        assert reader is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reader), 10)
        return f"closed {st.closed_code}" if st.closed_code is not None else "open"
    except websockets.InvalidStatus as exc:
        return f"handshake {exc.response.status_code}"
    except (OSError, websockets.WebSocketException) as exc:
        return type(exc).__name__
    finally:
        await st.close()


async def _attack_rerun(base: str, mutate: Any) -> str:
    """Load the page, then send one rerun whose client state `mutate` has damaged."""
    st = Student(base, random.Random(6))
    try:
        r = await st.load_page()
        if r.status != "ok":
            return f"load {r.status}"
        qs = mutate(st)
        r = await st.rerun(qs or "")
        if r.status == "exception":
            return "script exception shown (generic message)"
        return r.status
    except (OSError, websockets.WebSocketException) as exc:
        return type(exc).__name__
    finally:
        await st.close()


def _huge_widget_state(st: Student) -> str:
    w = WidgetState(id="$$ID-unknown-widget", string_value="x" * 1000)
    st.states = {f"bogus{i}": WidgetState(id=f"bogus{i}", double_value=i) for i in range(20_000)}
    st.states["big"] = w
    return ""


def _wrong_types(st: Student) -> str:
    for w in st.widgets.values():
        bad = WidgetState(id=w.id)
        if w.kind in ("slider", "number_input"):
            bad.string_value = "not a number"
        else:
            bad.double_array_value.data.extend([float("nan"), 1e308])
        st.states[w.id] = bad
    return ""


def _out_of_range(st: Student) -> str:
    for w in st.widgets.values():
        bad = WidgetState(id=w.id)
        if w.kind == "slider":
            bad.double_array_value.data.extend([1e308] * max(1, len(w.proto.default)))
        elif w.kind == "number_input":
            bad.double_value = float("nan")
        elif w.kind in ("selectbox", "radio"):
            bad.string_value = "no such option \u202e\x00"
        elif w.kind == "select_slider":
            bad.string_array_value.data.append("no such option")
        else:
            bad.bool_value = True
        st.states[w.id] = bad
    return ""


def _huge_query(_st: Student) -> str:
    return "a=" + "x" * 900_000


def _garbage_query(_st: Student) -> str:
    return "surface=%00%ff&lr=-inf&lr=nan&steps=99999999999&optimizers=" + "adam," * 5000


async def scenario_faults_async(base: str) -> list[dict[str, Any]]:
    host, port_s = base.split("//")[1].split(":")
    port = int(port_s)
    rows: list[dict[str, Any]] = []
    big = 2 * 2**20

    async def record(name: str, count: int, attack: Any) -> None:
        outcomes: dict[str, int] = {}
        for _ in range(count):
            try:
                o = await attack()
            except Exception as exc:
                o = f"client saw {type(exc).__name__}"
            outcomes[str(o)] = outcomes.get(str(o), 0) + 1
        ok = await still_serving(base)
        rows.append({"input": name, "tries": count, "outcomes": outcomes, "still_serving": ok})
        print(json.dumps(rows[-1]), flush=True)

    rng = random.Random(3)
    await record(
        "WebSocket frame of 2 MB (random bytes)",
        10,
        lambda: _attack_ws(base, rng.randbytes(big)),
    )
    await record(
        "WebSocket frame of 30 MB (random bytes)", 3, lambda: _attack_ws(base, b"\0" * 30 * 2**20)
    )
    await record("WebSocket frame of 100 MB", 1, lambda: _attack_ws(base, b"\1" * 100 * 2**20))
    await record(
        "WebSocket garbage binary frames (1 kB random)",
        30,
        lambda: _attack_ws(base, rng.randbytes(1024)),
    )
    await record("WebSocket text frame", 10, lambda: _attack_ws(base, "hello"))
    await record(
        "rerun with 20,000 unknown widget states (~1 MB)",
        5,
        lambda: _attack_rerun(base, _huge_widget_state),
    )
    await record(
        "rerun with wrong-typed widget values", 5, lambda: _attack_rerun(base, _wrong_types)
    )
    await record(
        "rerun with out-of-range / NaN / unknown-option values",
        5,
        lambda: _attack_rerun(base, _out_of_range),
    )
    await record("rerun with a 900 kB query string", 5, lambda: _attack_rerun(base, _huge_query))
    await record(
        "rerun with a garbage query string (NaN, inf, huge ints, 5,000 items)",
        5,
        lambda: _attack_rerun(base, _garbage_query),
    )

    async def http(path: str, headers: dict[str, str] | None = None, **kw: Any) -> str:
        try:
            status, _ = await http_request(host, port, path, headers, **kw)
            return f"HTTP {status}"
        except TimeoutError:
            return "no answer within 15 s (client gave up)"
        except ConnectionResetError:
            return "connection reset by the server"
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            return f"connection {type(exc).__name__}"

    await record("GET /?q=<100 kB>", 20, lambda: http("/?q=" + "x" * 100_000))
    await record("GET /?q=<1 MB>", 5, lambda: http("/?q=" + "x" * 1_000_000))
    await record("GET / with one 64 kB header", 20, lambda: http("/", {"X-Big": "y" * 65_536}))
    await record(
        "GET / with 1,000 headers",
        10,
        lambda: http("/", {f"X-H{i}": "z" * 50 for i in range(1000)}),
    )
    await record(
        "POST 10 MB body to /_stcore/upload_file",
        5,
        lambda: http("/_stcore/upload_file/x/y", method="POST", body=b"0" * 10 * 2**20),
    )
    await record(
        "WebSocket handshake with a 64 kB Sec-WebSocket-Protocol",
        3,
        lambda: http(
            "/_stcore/stream",
            {
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Protocol": "streamlit, " + "p" * 65_536,
            },
        ),
    )

    async def flood() -> str:
        socks = []
        for _ in range(300):
            with contextlib.suppress(OSError):
                socks.append(await asyncio.open_connection(host, port))
        await asyncio.sleep(2)
        for _, w in socks:
            w.close()
        return f"{len(socks)} idle connections opened"

    await record("300 idle TCP connections at once", 2, flood)
    return rows


def scenario_faults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, n, proxy in (("1 worker, direct", 1, False), ("nginx + 2 workers", 2, True)):
        with cluster(n, proxy=proxy) as (base, ws, _):
            asyncio.run(warm_up(base, 1))
            rows = asyncio.run(scenario_faults_async(base))
            out[label] = {
                "rows": rows,
                "server_crashes": sum(not w.alive() for w in ws),
                "tracebacks_in_log": sum(w.log_path.read_text().count("Traceback") for w in ws),
            }
    return out


# --------------------------------------------------------------------------- report


FAULT_NOTES = """Each row was tried the given number of times, then a fresh student loaded the page
and moved a control ("still serving"). What the outcomes mean:

- Frames over `server.maxWidgetStateSize` (1 MB in the production config) are refused before
  parsing (close code 1009); frames over the WebSocket layer's own 16 MB limit drop the connection.
- Frames that are not a BackMsg close with 1002; text frames are refused (the server logs it).
- Wrong-typed or impossible widget values (a string for a slider, NaN for an integer input, an
  option that does not exist) make Streamlit's own widget deserializer raise inside that one
  session: the student sees the generic error box (`showErrorDetails = "none"`), the traceback goes
  to the server log only (that is what the "tracebacks in the server log" count is), every other
  session is untouched.
- Streamlit ignores query strings longer than 524,288 characters; the app's URL parser gets the
  garbage ones and the page still renders.
- Straight to a worker, uvicorn answers 1,000 headers, answers 100 kB URLs and a 64 kB header
  with the page or, in some tries, 400 (the outcome varies between runs), refuses a 1 MB URL
  (400), resets a 10 MB upload body, and mostly never answers a WebSocket handshake with a
  64 kB subprotocol header (the connection stays open until the client gives up; some tries
  get 400). Behind nginx
  all of these stop at the proxy: 414 for long URLs, 400 for big headers, 413 for big bodies.
- A client may also send `clear_cache` (the app menu's "Clear cache", hidden by
  `toolbarMode = "viewer"` but still accepted): it empties the app's shared caches, so every
  session recomputes once. Harmless to correctness; not tried in bulk."""


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Load, fault and bad-input results",
        "",
        "Produced by `benchmarks/load.py` (simulated students over Streamlit's WebSocket protocol;",
        "see its docstring). Machine: "
        + f"{os.cpu_count()} cores, shared with other work while measuring, loopback only.",
        "Workers run `streamlit run app/main.py` with deploy/streamlit-production.toml; nginx",
        "runs deploy/nginx/optimizer-playground.conf with loopback workers.",
        "",
    ]
    if "docker" in results:
        d = results["docker"]
        lines += [
            "## Docker image",
            "",
            "Measured by tests/test_docker.py (base: Debian bookworm minbase from debootstrap, "
            "Python 3.11; torch from the local CPU wheel):",
            "",
            f"- image size: **{d['image_bytes'] / 1e9:.2f} GB** ({d['image_bytes']:,} bytes) "
            f"with torch {d.get('torch_in_image', 'CPU')}",
            f"- `docker run` to /_stcore/health answering: **{d['run_to_http_health_s']} s**; "
            f"to Docker's own status `healthy`: {d['run_to_docker_healthy_s']} s (the "
            "HEALTHCHECK polls every 3 s)",
            f"- build (BuildKit, no layer cache, pip downloads from PyPI): {d['build_s']} s; "
            "making the base image with debootstrap (first run only, then cached): about 60 s "
            "on a quiet machine, 216 s on a busy one",
            "",
        ]
    if "load" in results:
        r = results["load"]
        lines += [
            "## Concurrent students",
            "",
            f"Each student opens the page (students arrive within 5 s), then moves one control "
            f"every {r['think_s_mean']:.0f} s on average for {r['duration_s']:.0f} s.",
            "",
            "| setup | students | reruns | rerun p50 | rerun p95 | page load p95 | errors "
            "| students per worker | worker RSS start → peak (MB) | worker CPU | CPU per run "
            "| load avg |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        notes = [
            "",
            "Worker CPU is the share of one core each worker got over the run; load avg is the "
            "machine's 1-minute load average at the start and end of the run; it counts the "
            "workers, nginx and this load generator themselves (above 2, something waited for "
            "one of the two cores). CPU per run (server CPU time per script run, page loads "
            "included) is the measure that does not depend on what else ran. Students per "
            "worker: whose WebSocket each worker served (— where a run predates this column). "
            "nginx sends each new browser to the least busy worker; with the recipe's first "
            "version (a random cookie hashed onto the workers: a coin flip per student) 100 "
            "students split 61 / 39 in one of the seven runs that recorded it (p95 1.012 s).",
            "",
        ]
        for row in r["runs"]:
            lines.append(
                f"| {row['setup']} | {row['students']} | {row['reruns']} | "
                f"{row['rerun_p50_s']:.3f} s | {row['rerun_p95_s']:.3f} s | "
                f"{row['page_load_p95_s']:.3f} s | {row['errors']} | "
                + (" / ".join(map(str, row.get("students_per_worker", []))) or "—")
                + " | "
                + ", ".join(
                    f"{a} → {b}"
                    for a, b in zip(
                        row["worker_rss_start_mb"], row["worker_rss_peak_mb"], strict=True
                    )
                )
                + " | "
                + ", ".join(f"{c} %" for c in row["worker_cpu_pct"])
                + f" | {row.get('worker_cpu_ms_per_run', '?')} ms | "
                + " → ".join(str(x) for x in row.get("loadavg_1min_start_end", []))
                + " |"
            )
        lines += notes
        for k, v in r.items():
            if k.startswith("largest_class"):
                setup = k.split("[", 1)[1].rstrip("]")
                tried = sorted({row["students"] for row in r["runs"] if row["setup"] == setup})
                best = f"**{v}** students" if v else "**none** of the sizes tried"
                lines.append(
                    f"Largest class with zero errors and p95 ≤ 1 s in every run, {setup}: {best} "
                    f"(sizes tried: {', '.join(map(str, tried))})."
                )
        cost = [row["worker_cpu_ms_per_run"] for row in r["runs"] if "worker_cpu_ms_per_run" in row]
        if cost:
            ms = statistics.median(cost)
            per_core = 1000 / ms * r["think_s_mean"]
            lines += [
                "",
                f"Server CPU per script run (median over the runs): **{ms:.0f} ms**. At one rerun "
                f"per student every {r['think_s_mean']:.0f} s, one fully busy core serves at most "
                f"about {per_core:.0f} students; p95 ≤ 1 s needs head-room below that (queueing), "
                "so plan one worker per "
                f"{max(1, int(per_core * 0.6))} students or make the script cheaper.",
            ]
        errs = {
            (row["setup"], row["students"]): row["error_kinds"] + row["exceptions"]
            for row in r["runs"]
            if row["errors"]
        }
        if errs:
            lines += ["", "Errors seen:", ""]
            lines += [f"- {k[0]}, {k[1]} students: {v}" for k, v in errs.items()]
        lines.append("")
    if "memory" in results:
        m = results["memory"]
        env = ", ".join(f"{k}={v}" for k, v in m.get("env", {}).items()) or "none"
        lines += [
            "## Memory after 1,000 sessions",
            "",
            f"Rounds of {m['sessions_per_round']} sessions ({m['concurrency']} at a time) each "
            "load the page, move one control and leave. The worker runs with "
            f"disconnectedSessionTTL = {m['disconnected_session_ttl_s']} s so that the benchmark "
            "does not wait the production 120 s before each closed tab is freed. Worker "
            f"environment: {env}.",
            "",
            f"- RSS at start (after 5 warm-up sessions): {m['rss_start_mb']} MB "
            f"(app caches {m['app_cache_start_mb']} MB); peak {m['rss_peak_mb']} MB",
        ]
        for i, rnd in enumerate(m["per_round"], 1):
            lines.append(
                f"- after round {i} ({m['sessions_per_round'] * i} sessions in all, all gone: "
                f"{rnd['active_sessions']:.0f} active): RSS {rnd['rss_after_mb']} MB, app caches "
                f"{rnd['app_cache_mb']} MB (took {rnd['churn_s']} s)"
            )
        lines += [
            f"- end minus start: **{m['rss_end_minus_start_mb']} MB**; after the app's caches "
            f"were cleared: {m['rss_after_clear_cache_mb']} MB "
            f"(**{m['rss_after_clear_cache_minus_start_mb']:+} MB** from start)",
            f"- errors: {m['errors']}; worker alive: {m['worker_alive']}",
        ]
        old = results.get("memory-default-env")
        if old:
            lines.append(
                "- the same worker without MALLOC_ARENA_MAX (glibc's default arenas), one round "
                f"(measured {old.get('measured', 'earlier')}): "
                f"{old['rss_start_mb']} MB → {old['rss_after_ttl_mb'][-1]} MB "
                f"(**{old['rss_end_minus_start_mb']:+} MB**) with every session gone; hence "
                "`MALLOC_ARENA_MAX=2` in the Dockerfile"
            )
        lines.append("")
    if "kill" in results:
        k = results["kill"]
        lines += [
            "## One worker killed behind nginx",
            "",
            f"{k['students']} students through nginx + 2 workers; worker {k['killed_worker']} was "
            f"SIGKILLed at {k['killed_at_s']} s ({k['sessions_on_killed']} sessions on it, "
            f"{k['sessions_on_others']} on the other).",
            "",
            f"- sessions on the surviving worker: {k['others_failed_reruns_after_kill']} failed "
            f"reruns out of {k['others_reruns_after_kill']} after the kill "
            f"(p95 {k['others_p95_after_kill_s']} s: these students rerun every 2.5 s on "
            "average, so after the kill one worker carries the work of about twice as many "
            "5-second students)",
            f"- sessions of the killed worker that reconnected through nginx and ran on the live "
            f"worker: **{k['killed_sessions_reconnected_to_live_worker']} of "
            f"{k['sessions_on_killed']}** ({k['reconnects']} reconnects; "
            f"{k['killed_sessions_reruns_failed']} reruns lost in flight at the kill)",
            "",
        ]
    if "maps" in results:
        mp = results["maps"]
        lines += [
            "## Maps while a class works on Explore",
            "",
            f"One worker. {mp['explore_students']} students on Explore move a control every 5 s "
            f"on average while {mp['map_students']} others on the Maps page each ask for a new "
            f"map every 5 s on average (first `{mp['first_map']}`, then a random grid of 64 … "
            "256 cells per axis or 100 … 500 steps: a new computation each time, three "
            f"optimizers per map), for {mp['duration_s']:.0f} s; runs without map students "
            "alternate with runs with them. The worker computes one map at a time, at a lower "
            "CPU priority, and queues the others (app/mapwork.py).",
            "",
            "| round | map students | Explore reruns | Explore p50 | Explore p95 | Explore max "
            "| Explore errors | maps asked | map p50 | map p95 | map max | map errors "
            "| worker CPU | load avg |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]

        def sec(v: Any) -> str:
            return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f} s"

        for row in mp["runs"]:
            lines.append(
                f"| {row['round']} | {row['map_students']} | {row['explore_reruns']} | "
                f"{sec(row['explore_rerun_p50_s'])} | {sec(row['explore_rerun_p95_s'])} | "
                f"{sec(row['explore_rerun_max_s'])} | {row['explore_errors']} | "
                f"{row['maps_asked']} | {sec(row['map_p50_s'])} | {sec(row['map_p95_s'])} | "
                f"{sec(row['map_max_s'])} | {row['map_errors']} | {row['worker_cpu_pct']} % | "
                + " → ".join(str(x) for x in row["loadavg_1min_start_end"])
                + " |"
            )
        lines += [
            "",
            f"Explore's p95 ≤ 1 s with map students in every run: "
            f"**{'yes' if mp['explore_p95_le_1s_with_maps'] else 'no'}**.",
            "",
        ]
    if "faults" in results:
        lines += ["## Bad and oversize input", "", FAULT_NOTES, ""]
        for setup, f in results["faults"].items():
            lines += [
                f"### {setup}",
                "",
                f"Server crashes: **{f['server_crashes']}**; tracebacks in the server log: "
                f"{f['tracebacks_in_log']}.",
                "",
                "| input | tries | outcomes | app still serving after |",
                "|---|---|---|---|",
            ]
            for row in f["rows"]:
                oc = "; ".join(f"{k} × {v}" for k, v in row["outcomes"].items())
                lines.append(
                    f"| {row['input']} | {row['tries']} | {oc} | "
                    f"{'yes' if row['still_serving'] else '**no**'} |"
                )
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "scenario", choices=["load", "memory", "kill", "faults", "maps", "mix", "all", "report"]
    )
    ap.add_argument(
        "--explore", type=int, default=None, help="maps / mix: Explore students (50 / 20)"
    )
    ap.add_argument("--maps", type=int, default=10, help="maps: students asking for maps")
    ap.add_argument("--networks", type=int, default=10, help="mix: Networks students")
    ap.add_argument("--sizes", default="25,50,100")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--ttl", type=int, default=10)
    ap.add_argument("--setups", default="direct,nginx", help="load: direct and/or nginx")
    ap.add_argument("--append", action="store_true", help="load: keep the other earlier runs")
    ap.add_argument("--again", action="store_true", help="load: keep every earlier run (repeats)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--worker-env", action="append", default=[], help="NAME=VALUE for workers")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    todo = ["load", "memory", "kill", "faults"] if args.scenario == "all" else [args.scenario]
    for name in todo:
        if name == "load":
            prev = RESULTS / "load.json"
            res: Any = scenario_load(
                [int(s) for s in args.sizes.split(",")],
                args.duration,
                args.setups.split(","),
                json.loads(prev.read_text())
                if (args.append or args.again) and prev.exists()
                else None,
                again=args.again,
            )
        elif name == "memory":
            env = dict(kv.split("=", 1) for kv in args.worker_env)
            res = scenario_memory(args.sessions, 25, args.ttl, args.rounds, env)
        elif name == "kill":
            res = scenario_kill(40, 40.0, 15.0)
        elif name == "faults":
            res = scenario_faults()
        elif name == "maps":
            explore = args.explore if args.explore is not None else 50
            res = scenario_maps(explore, args.maps, args.duration, args.rounds)
        elif name == "mix":
            explore = args.explore if args.explore is not None else 20
            res = scenario_mix(explore, args.networks, args.duration, args.rounds)
        else:
            continue
        (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
    if args.markdown:
        results = {
            p.stem: json.loads(p.read_text())
            for p in sorted(RESULTS.glob("*.json"))
            if p.stem
            in ("docker", "load", "memory", "memory-default-env", "kill", "faults", "maps")
        }
        args.markdown.write_text(markdown(results))
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

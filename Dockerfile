# Optimizer Playground: one Streamlit worker on port 8501.
#
#   docker build -t optimizer-playground .
#   docker run -p 8501:8501 optimizer-playground        # then open http://localhost:8501
#
# Python packages come from requirements/runtime.lock (exact versions; `make lock` updates it).
#
# Build arguments:
#   BASE         a slim Python 3.11+ image with python3, venv and pip (the tests build a local
#                Debian bookworm base with debootstrap because no registry is reachable there)
#   TORCH_INDEX  where CPU-only torch comes from (never the multi-GB CUDA build on PyPI)
#   TORCH_SPEC   the torch requirement installed from TORCH_INDEX
# A torch wheel placed in wheels/ (e.g. torch-2.13.0+cpu-cp311-...whl) is used instead of
# TORCH_INDEX: machines without access to download.pytorch.org build from it.
ARG BASE=python:3.12-slim-bookworm

# ---- build stage: a virtual environment with torch (CPU), the app and its dependencies ----
FROM ${BASE} AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_SPEC=torch==2.13.0
# pip trusts the image's CA bundle (which also holds any proxy CA the base image added).
ARG PIP_CERT=/etc/ssl/certs/ca-certificates.crt
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_DEFAULT_TIMEOUT=120 \
    PIP_CERT=${PIP_CERT}
SHELL ["/bin/sh", "-eu", "-c"]
RUN python3 -m venv /opt/venv
COPY wheels/ /tmp/wheels/
# torch first, from a supplied wheel if there is one, else from the CPU index.
RUN set -- /tmp/wheels/torch-*.whl; \
    if [ -f "$1" ]; then \
        /opt/venv/bin/pip install --find-links /tmp/wheels "$1"; \
    else \
        /opt/venv/bin/pip install --index-url "${TORCH_INDEX}" \
            --extra-index-url https://pypi.org/simple "${TORCH_SPEC}"; \
    fi
# Exactly the versions of the lock file the tests passed with (its torch is the one above).
COPY requirements/runtime.lock /src/requirements/runtime.lock
RUN /opt/venv/bin/pip install --find-links /tmp/wheels -r /src/requirements/runtime.lock
COPY pyproject.toml README.md /src/
COPY app/ /src/app/
COPY optimizers/ /src/optimizers/
COPY surfaces/ /src/surfaces/
# The app itself (its dependencies are installed); then drop what a running server never
# reads: C/C++ headers, the packages' own test suites, pip itself.
RUN /opt/venv/bin/pip install --no-deps /src \
    && rm -rf /opt/venv/lib/python3*/site-packages/torch/include \
              /opt/venv/lib/python3*/site-packages/pyarrow/include \
              /opt/venv/lib/python3*/site-packages/pyarrow/tests \
              /opt/venv/lib/python3*/site-packages/pandas/tests \
              /opt/venv/lib/python3*/site-packages/numpy/*/tests \
              /opt/venv/lib/python3*/site-packages/numpy/tests \
    && /opt/venv/bin/pip uninstall --yes pip

# ---- final stage: the interpreter, the venv, the app; no compilers, no caches ----
FROM ${BASE}
# PYTHONPATH: `import app...` finds /app/app (next to main.py) before the installed copy.
# MALLOC_ARENA_MAX: Streamlit runs each session's script in its own thread; with glibc's default
# of 8 arenas per core, memory freed by closed sessions stayed in the process (+105 MB after 1,000
# sessions, +35 MB with 2 arenas and flat after 2,000: benchmarks/LOAD_RESULTS.md).
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    HOME=/tmp \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
SHELL ["/bin/sh", "-eu", "-c"]
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin playground
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app/ /app/app/
COPY deploy/streamlit-production.toml /app/.streamlit/config.toml
RUN python3 -m compileall -q /app/app
USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=3s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=2)"]
CMD ["streamlit", "run", "app/main.py", "--server.port", "8501"]

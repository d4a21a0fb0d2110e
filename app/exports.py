"""Take a race home: trajectories as CSV / JSON, the animation as one offline HTML file.

Pure Python (no streamlit). Every export carries the full settings and the share-link query, so
a file found on a laptop weeks later still says exactly how to reproduce it.

PNG: rendering a PNG on the server needs a browser engine (kaleido / Chrome), which the
deployment does not ship. The chart's own camera button does it in the student's browser;
``chart_config`` sets that button's filename and a 2x scale for crisp slides.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.figures.race import run_styles
from app.state import codec_for
from app.state.codec import fmt, query_string
from app.state.explore import ExploreState

CSV_COLUMNS = ("run", "optimizer", "start", "step", "x", "y", "loss", "grad_norm", "lr", "diverged")


def _label_optimizer(label: str, traj: Any) -> str:
    return str(getattr(traj, "optimizer", label.split("@", 1)[0]))


def base_name(state: ExploreState) -> str:
    """A file name stem that says what is in the file: ``race_ravine_sgd-momentum``."""
    opts = "-".join(state.optimizers[:5]) or "race"
    if len(state.optimizers) > 5:  # a name that says so instead of naming only some of them
        opts = f"{len(state.optimizers)}-optimizers"
    stem = f"race_{state.surface}_{opts}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem)[:80]


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy arrays/scalars, tuples and dataclasses converted; no NaN."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def settings(state: Any, base_url: str = "") -> dict[str, Any]:
    """The state as plain JSON plus its share query and link."""
    query = codec_for(state).encode(state)
    qs = query_string(query)
    return {
        "state": jsonable(state),
        "query": query,
        "share_url": f"{base_url}?{qs}" if qs else base_url,
    }


def _rows(runs: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for label, traj in runs.items():
        pos = np.asarray(traj.positions, dtype=float)  # (R, K, 2)
        loss = np.asarray(traj.loss, dtype=float)  # (R, K)
        gnorm = np.asarray(traj.grad_norm, dtype=float)  # (R, K)
        lr = np.asarray(traj.lr, dtype=float)  # (T, K)
        steps = np.asarray(traj.steps, dtype=int)  # (R,)
        div = np.asarray(traj.diverged_at, dtype=int)  # (K,)
        opt = _label_optimizer(label, traj)
        for k in range(pos.shape[1]):
            for r, t in enumerate(steps):
                lr_t = float(lr[t, k]) if 0 <= t < lr.shape[0] else ""  # lr of the next step
                diverged = int(div[k] >= 0 and t >= div[k])
                rows.append(
                    (
                        label,
                        opt,
                        k,
                        int(t),
                        float(pos[r, k, 0]),
                        float(pos[r, k, 1]),
                        float(loss[r, k]),
                        float(gnorm[r, k]),
                        lr_t,
                        diverged,
                    )
                )
    return rows


def to_csv(runs: Mapping[str, Any]) -> str:
    """One row per run, start and recorded step, under one header row: a plain CSV that any
    reader takes as it is (``pandas.read_csv(path)``). The settings and the share link are in
    the JSON export. ``lr`` is the learning rate of the step that leaves this point (empty on
    the last row); ``diverged`` is 1 from the divergence on."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in _rows(runs):
        writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()


def to_json(state: ExploreState, runs: Mapping[str, Any], base_url: str = "") -> str:
    """Settings, share query and, per run, every start's path (x, y, loss, gradient norm)."""
    out: dict[str, Any] = {"format": "optimizer-playground/1", **settings(state, base_url)}
    out_runs: dict[str, Any] = {}
    styles = {label: style for label, _, style in run_styles(runs)}
    for label, traj in runs.items():
        pos = np.asarray(traj.positions, dtype=float)
        div = np.asarray(traj.diverged_at, dtype=int)
        out_runs[label] = {
            "optimizer": _label_optimizer(label, traj),
            "color": styles[label][0],  # as on the chart (a light figure's colours)
            "dash": styles[label][1],
            "hyperparams": jsonable(getattr(traj, "hyperparams", {})),
            "batch_size": jsonable(getattr(traj, "batch_size", None)),
            "seed": jsonable(getattr(traj, "seed", None)),
            "steps": jsonable(np.asarray(traj.steps, dtype=int)),
            "paths": [
                {
                    "start": k,
                    "x": jsonable(pos[:, k, 0]),
                    "y": jsonable(pos[:, k, 1]),
                    "loss": jsonable(np.asarray(traj.loss, dtype=float)[:, k]),
                    "grad_norm": jsonable(np.asarray(traj.grad_norm, dtype=float)[:, k]),
                    "lr": jsonable(np.asarray(traj.lr, dtype=float)[:, k]),
                    "diverged_at": int(div[k]) if div[k] >= 0 else None,
                }
                for k in range(pos.shape[1])
            ],
        }
    out["runs"] = out_runs
    return json.dumps(out, indent=1, allow_nan=False)


def chart_config(state: Any, name: str | None = None) -> dict[str, Any]:
    """Plotly ``config`` for the page's chart: the camera button saves a 2x PNG with a good name.

    Pass it as ``st.plotly_chart(fig, config=exports.chart_config(state))``; ``name``: the
    file name stem (default: an Explore state's :func:`base_name`).
    """
    stem = name if name is not None else base_name(state)
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": stem, "scale": 2},
    }


def _is_3d(fig: Mapping[str, Any]) -> bool:
    return any(t.get("type") in ("surface", "scatter3d", "mesh3d") for t in fig.get("data", []))


def _play_options(fig: Mapping[str, Any]) -> dict[str, Any] | None:
    """The animation options of the figure's own Play button (None when it has none)."""
    menus = fig.get("layout", {}).get("updatemenus", []) or []
    for m in menus:
        for b in m.get("buttons", []) or []:
            args = b.get("args") or []
            if b.get("method") == "animate" and len(args) >= 2 and args[0] is None:
                return dict(args[1])
    return None


ANIMATE = "animate-here"  # a button of the exported figure that the page's own script runs


def _buttons_handled_here(fig: Mapping[str, Any]) -> dict[str, Any]:
    """The figure with its animate buttons turned into events (method "skip") that the
    exported page runs itself, catching the rejection of an interrupted animation."""
    out = dict(fig)
    layout = dict(out.get("layout", {}))
    menus = []
    for m in layout.get("updatemenus", []) or []:
        buttons = [
            dict(b) | {"method": "skip", "name": ANIMATE} if b.get("method") == "animate" else b
            for b in m.get("buttons", []) or []
        ]
        menus.append(dict(m) | {"buttons": buttons})
    if menus:
        layout["updatemenus"] = menus
        out["layout"] = layout
    return out


def _settings_rows(state: ExploreState) -> list[tuple[str, str]]:
    rows = [("surface", state.surface)]
    rows += [(f"{state.surface}.{k}", fmt(v)) for k, v in state.surface_params.items()]
    rows.append(("optimizers", ", ".join(state.optimizers) or "default set"))
    for opt, vals in state.hyper.items():
        rows += [(f"{opt}.{k}", fmt(v)) for k, v in vals.items()]
    if state.shared_lr:
        rows.append(("shared learning rate", fmt(state.lr)))
    start = "surface default" if state.start is None else ", ".join(map(repr, state.start))
    rows += [
        ("start", start),
        ("swarm", str(state.swarm)),
        ("steps", str(state.steps)),
        ("batch size", "full" if state.batch_size is None else str(state.batch_size)),
        ("seed", str(state.seed)),
        ("schedule", state.schedule),
    ]
    if state.compare_batch_sizes:
        rows.append(("compared batch sizes", ", ".join(map(str, state.compare_batch_sizes))))
    return rows


def to_html(
    state: Any,
    fig: Mapping[str, Any],
    *,
    title: str = "Optimizer Playground",
    autoplay: bool = True,
    base_url: str = "",
    frame_ms: int = 60,
    name: str | None = None,
    rows: list[tuple[str, str]] | None = None,
) -> str:
    """A standalone page: the animated figure, plotly.js inline (no CDN, no server), a title,
    the settings and the share link.

    ``fig``: the page's plain Plotly figure dict (``data``, ``layout``, ``frames``). Its own
    Play button (an ``updatemenus`` "animate" button) and its speed are kept; a figure without
    one gets Play / Pause / Restart buttons above it (``frame_ms`` per frame). ``autoplay``
    starts the animation as soon as the file opens. Another page's state passes its file
    ``name`` stem and its settings ``rows`` (label, value); an Explore state has its own.
    """
    import plotly.io as pio  # plotly ships plotly.min.js inside the package

    div_id = "race"
    redraw = _is_3d(fig)
    own = _play_options(fig)
    fig = _buttons_handled_here(fig)
    anim = own or {
        "frame": {"duration": frame_ms, "redraw": redraw},
        "transition": {"duration": 0},
        "fromcurrent": True,
        "mode": "immediate",
    }
    chart = pio.to_html(
        dict(fig),
        config=chart_config(state, name),
        auto_play=autoplay and bool(fig.get("frames")),
        include_plotlyjs=True,
        full_html=False,
        animation_opts=anim,
        default_height="640px",
        validate=False,
        div_id=div_id,
    )
    meta = settings(state, base_url)
    table = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in (rows if rows is not None else _settings_rows(state))
    )
    link = html.escape(meta["share_url"])
    link_html = f'<a href="{link}">{link}</a>' if base_url else f"<code>{link}</code>"
    anim_js = json.dumps(anim)
    buttons = (
        ""
        if own is not None or not fig.get("frames")
        else (
            '<p><button id="play" type="button">&#9654; Play</button> '
            '<button id="pause" type="button">&#10074;&#10074; Pause</button> '
            '<button id="restart" type="button">&#8634; Restart</button></p>'
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
 table {{ border-collapse: collapse; margin-top: 1rem; }}
 th, td {{ text-align: left; padding: .15rem .8rem .15rem 0; font-size: .9rem; }}
 th {{ color: #555; font-weight: 600; }}
 button {{ font-size: 1rem; margin-right: .5rem; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
{buttons}
{chart}
<script>
(function () {{
  var opts = {anim_js};
  var gd = document.getElementById("{div_id}");
  // The figure's own buttons: plotly rejects the promise of an animation that another one
  // interrupts (Pause after Play), which nothing would catch. Run them here and catch it.
  gd.on("plotly_buttonclicked", function (e) {{
    var args = (e.button && e.button.args) || [];
    if (e.button && e.button.name === "{ANIMATE}") {{
      Plotly.animate(gd, args[0], args[1]).catch(function () {{}});
    }}
  }});
  if (!document.getElementById("play")) {{ return; }}
  var quiet = function () {{}};
  document.getElementById("play").onclick = function () {{
    Plotly.animate(gd, null, opts).catch(quiet);
  }};
  document.getElementById("pause").onclick = function () {{
    Plotly.animate(gd, [null], {{frame: {{duration: 0, redraw: false}}, mode: "immediate"}})
      .catch(quiet);
  }};
  document.getElementById("restart").onclick = function () {{
    var frames = (gd._transitionData && gd._transitionData._frames) || [];
    var named = frames.every(function (f) {{ return f.name !== undefined; }});
    var all = named ? frames.map(function (f) {{ return f.name; }}) : frames;
    Plotly.animate(gd, all, Object.assign({{}}, opts, {{fromcurrent: false}})).catch(quiet);
  }};
}})();
</script>
<h2>Settings</h2>
<table>{table}</table>
<p>Open these settings in the app: {link_html}</p>
<p><small>Made with Optimizer Playground. Plays offline: plotly.js is inside this file.
</small></p>
</body></html>
"""

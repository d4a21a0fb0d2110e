"""The exports panel: a race as CSV, JSON and an offline HTML animation; how to get a PNG.

The files themselves are built by the pure app/exports.py, only when a button is pressed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

import optimizers
from app import exports, presets
from app.state.explore import ExploreState
from app.state.keys import Keys
from app.ui.share import base_url


def _title(name: str) -> str:
    try:
        return str(optimizers.get(name).title)
    except (KeyError, ValueError):
        return name


def exports_ui(
    state: ExploreState,
    runs: Mapping[str, Any],
    surface: Any,
    fig: dict[str, Any],
    keys: Keys,
) -> None:
    """Download buttons for CSV, JSON and an offline HTML animation; how to get a PNG."""
    if not runs:
        st.caption("Nothing to export yet: choose at least one optimizer.")
        return
    base = base_url()
    name = exports.base_name(state)
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Trajectories (CSV)",
        lambda: exports.to_csv(runs),
        file_name=f"{name}.csv",
        mime="text/csv",
        on_click="ignore",
        key=keys("export_csv"),
    )
    c2.download_button(
        "Trajectories (JSON)",
        lambda: exports.to_json(state, runs, base),
        file_name=f"{name}.json",
        mime="application/json",
        on_click="ignore",
        key=keys("export_json"),
    )
    title = f"{surface.title}: " + ", ".join(_title(presets.label_optimizer(lb)) for lb in runs)
    c3.download_button(
        "Animation (HTML)",
        lambda: exports.to_html(state, fig, title=title, base_url=base),
        file_name=f"{name}.html",
        mime="text/html",
        on_click="ignore",
        key=keys("export_html"),
        help="One file that plays offline in any browser; no internet needed.",
    )
    st.caption(
        "PNG: use the camera icon in the chart's toolbar (top right of the chart). It saves "
        f"`{name}.png` at twice the screen resolution, ready for slides."
    )

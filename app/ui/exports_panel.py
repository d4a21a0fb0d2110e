"""The exports panel every page shows: its files as download buttons, and how to get a PNG.

A page lists its files (:class:`Download`: a label, a builder called only when the button is
pressed, a file name); the builders live in the page's pure exports module (app/exports.py,
app/netexports.py, app/sweeps.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

MIME = {"csv": "text/csv", "json": "application/json", "html": "text/html"}


@dataclass(frozen=True)
class Download:
    label: str
    build: Callable[[], str | bytes]  # called when the button is pressed
    file_name: str  # its extension picks the MIME type
    key: str
    help: str | None = None


OFFLINE = "One file that plays offline in any browser; no internet needed."


def downloads_ui(files: Sequence[Download], png_name: str) -> None:
    """One button per file in a row, then where the PNG comes from (the chart's camera)."""
    png = (
        f"PNG: the camera icon in the chart's toolbar (top right) saves `{png_name}.png` at "
        "twice the screen resolution, ready for slides."
    )
    if len(files) == 1:  # one button: the note beside it
        cols = st.columns([1, 3], vertical_alignment="center")
    else:
        cols = st.columns(len(files))
    for col, f in zip(cols, files, strict=False):
        col.download_button(
            f.label,
            f.build,
            file_name=f.file_name,
            mime=MIME.get(f.file_name.rsplit(".", 1)[-1], "application/octet-stream"),
            on_click="ignore",
            key=f.key,
            help=f.help,
            icon=":material/download:",
        )
    (cols[1] if len(files) == 1 else st).caption(png)

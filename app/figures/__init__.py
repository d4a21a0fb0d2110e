"""Pure figure builders, split by kind; plain plotly dicts out, never a streamlit import.

=================  =====================================================================
``race``           the race: paths, moving heads, playback controls (:func:`race_figure`)
``curves``         the loss-gap and gradient-norm curves beside it (:class:`Band`)
``images``         the surface as a picture: the race's background, lessons' still pictures
``surface3d``      the 3-D view
``colormap``       colour-blind-safe palette, colour maps, PNG encoding (Pillow)
``layout``         what every figure shares: :class:`Style`, themes, :class:`PlainFigure`
``format``         numbers: compact payloads, tick labels, widget and table values
=================  =====================================================================
"""

from __future__ import annotations

from app.figures.curves import GAP_FLOOR, Band, reference_value
from app.figures.format import decimals_for, fmt_number, power_label, rounded, significant
from app.figures.images import IMAGE_PIXELS, race_thumbnail, surface_image
from app.figures.layout import DARK, LIGHT, Fig, PlainFigure, Style, chart_top
from app.figures.race import (
    CLICK_TARGET,
    EXPLAINED,
    FRAME_MS,
    SLIDER_STEPS,
    Explained,
    Series,
    exit_point,
    frame_steps,
    prepare,
    race_figure,
    run_styles,
    slider_steps,
    thin,
)
from app.figures.surface3d import surface_3d_figure

__all__ = [
    "CLICK_TARGET",
    "DARK",
    "EXPLAINED",
    "FRAME_MS",
    "GAP_FLOOR",
    "IMAGE_PIXELS",
    "LIGHT",
    "SLIDER_STEPS",
    "Band",
    "Explained",
    "Fig",
    "PlainFigure",
    "Series",
    "Style",
    "chart_top",
    "decimals_for",
    "exit_point",
    "fmt_number",
    "frame_steps",
    "power_label",
    "prepare",
    "race_figure",
    "race_thumbnail",
    "reference_value",
    "rounded",
    "run_styles",
    "significant",
    "slider_steps",
    "surface_3d_figure",
    "surface_image",
    "thin",
]

"""What every figure shares: themes, fonts and sizes (:class:`Style`), and the hand-off to
``st.plotly_chart`` (:class:`PlainFigure`).

Every figure is built as plain dicts and lists (never through plotly.graph_objects), because
the validators cost about a millisecond per animation frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

Fig = dict[str, Any]

LIGHT = {"paper": "#FFFFFF", "font": "#262730", "grid": "#D5D8DE", "muted": "#6B6F7B"}
DARK = {"paper": "#0E1117", "font": "#FAFAFA", "grid": "#3A3F4B", "muted": "#A3A8B8"}


MIN_HEIGHT = 380  # the chart never gets shorter than this, whatever is shown above it


def above_px(*, note: int, messages: bool, large: bool = False) -> int:
    """Pixels that a lesson note of ``note`` characters and the one-line warnings take above
    the chart beyond the head row's own line, at 1280 x 720 (measured in Chromium;
    tests/test_browser_lecture.py checks that Play stays in the window): the chart gives them
    up. A note wraps at about 74 characters a line (52 with large fonts)."""
    if note:
        per_line, line_px = (52, 30.0) if large else (74, 21.5)
        lines = -(-note // per_line)
        note_px = max(0, round(lines * line_px + 12) - (60 if large else 50))
    else:
        note_px = 0
    return note_px + (56 if messages else 0)


@dataclass(frozen=True)
class Style:
    """How the figure looks; nothing here changes the maths."""

    dark: bool = False
    large_fonts: bool = False
    embed: bool = False  # presenter mode: taller figure
    max_frames: int = 150
    cmap: str = "viridis"
    stacked: bool = False  # narrow screens: the curves under the surface instead of beside it
    above: int = 0  # px the page shows above the chart besides its head row (see above_px)
    lr_curve: bool = False  # a third curve band: the learning rate per step (a schedule)

    @property
    def colors(self) -> dict[str, str]:
        return DARK if self.dark else LIGHT

    @property
    def font(self) -> int:
        return 20 if self.large_fonts else 14

    @property
    def height(self) -> int:
        """Pixels: a 1280 x 720 screen shows the whole chart, Play included, below the page's
        head row, and below a lesson note and the warnings line when they are shown (they
        take ``above`` pixels from it)."""
        base = 620 if self.embed else 540  # presenter: fills a 1280 x 720 projector
        base += (40 if self.large_fonts else 0) - self.above
        return max(base, MIN_HEIGHT) + (440 if self.stacked else 0)

    @property
    def domains(self) -> dict[str, list[float]]:
        """Paper fractions: the surface's axes (x, y), the curves' x range (x2) and the heights
        of the loss band (y2), the gradient-norm band (y3) and the learning-rate band (y4, with
        ``lr_curve``); the controls' anchors."""
        if self.stacked:  # the curve bands under the surface, full width
            bands = (
                {"y2": [0.27, 0.37], "y3": [0.135, 0.235], "y4": [0.0, 0.1]}
                if self.lr_curve
                else {"y2": [0.22, 0.37], "y3": [0.0, 0.15]}
            )
            return {
                "x": [0.0, 1.0],
                "y": [0.45, 1.0],
                "x2": [0.0, 1.0],
                **bands,
                "slider": [0.0, 1.0],
                "buttons": [1.0, -0.06],
                "slider_y": [-0.11],
            }
        bands = (
            {"y2": [0.7, 1.0], "y3": [0.35, 0.65], "y4": [0.0, 0.3]}
            if self.lr_curve
            else {"y2": [0.54, 1.0], "y3": [0.0, 0.46]}
        )
        return {
            "x": [0.0, 0.58],
            "y": [0.0, 1.0],
            "x2": [0.68, 1.0],
            **bands,
            # large fonts: wider buttons, so a shorter slider and the buttons a row lower
            "slider": [0.0, 0.46 if self.large_fonts else 0.58],
            "buttons": [1.0, -0.2 if self.large_fonts else -0.17],
            "slider_y": [-0.08],
        }


class PlainFigure(go.Figure):
    """Hands a prebuilt plain figure dict to ``st.plotly_chart`` without re-validation.

    ``st.plotly_chart`` passes a *dict* through ``plotly.graph_objects.Figure(**dict)``, whose
    validators cost about 0.4 s for a race with 150 frames; a Figure instance is taken as
    already valid and only ``to_dict()`` is called. This subclass is an empty Figure whose
    ``to_dict()`` returns the dict it wraps, so the payload is exactly the plain dict.
    """

    def __init__(self, fig: Fig) -> None:
        super().__init__()
        self._plain = fig

    def to_dict(self) -> Fig:
        return self._plain


def axis_style(colors: dict[str, str], font: int) -> dict[str, Any]:
    """The plain axis every 2-D panel starts from."""
    return {
        "showgrid": False,
        "zeroline": False,
        "linecolor": colors["grid"],
        "tickfont": {"size": font - 2},
        "title": {"font": {"size": font}},
    }

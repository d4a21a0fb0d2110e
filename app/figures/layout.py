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
FOLD = 720  # the window height the chart (Play included) must fit: a 1280 x 720 projector


def chart_top(
    *, head: int, note: bool, messages: bool, large: bool = False, presenter: bool = False
) -> int:
    """Where the chart starts, in pixels from the top of a 1280 x 720 window: the page's top
    padding, the head row (``head`` characters of a lesson note, or of the surface's line, wrap
    onto as many lines as they need) and the one-line warnings. Measured in headless Chromium
    (tests/test_browser.py and tests/test_browser_lecture.py check Play stays in the window)."""
    if note:  # the compact note: 0.92rem text in a padded box (1.3rem with large fonts)
        per_line, line_px, extra = (40, 28.5, 12) if large else (55, 20.0, 12)
    else:  # a markdown paragraph with its bottom margin
        per_line, line_px, extra = (40, 33.5, 16) if large else (65, 25.6, 16)
    if presenter:  # the text column is wider there
        per_line = round(per_line * 1.15)
    lines = max(1, -(-head // per_line)) if head > 0 else 1
    row = max(42, round(lines * line_px + extra))
    padding = 32 if presenter else 84  # presenter mode hides the navigation bar
    return padding + row + (56 if messages else 0)


@dataclass(frozen=True)
class Style:
    """How the figure looks; nothing here changes the maths."""

    dark: bool = False
    large_fonts: bool = False
    embed: bool = False  # presenter mode: taller figure
    max_frames: int = 150
    cmap: str = "viridis"
    stacked: bool = False  # narrow screens: the curves under the surface instead of beside it
    top: int = 0  # px above the chart in a 1280 x 720 window (chart_top); 0: not known
    lr_curve: bool = False  # a third curve band: the learning rate per step (a schedule)

    @property
    def colors(self) -> dict[str, str]:
        return DARK if self.dark else LIGHT

    @property
    def font(self) -> int:
        return 20 if self.large_fonts else 14

    @property
    def height(self) -> int:
        """Pixels: the whole chart, Play included, fits a 1280 x 720 window below what the
        page shows above it (``top``: its head row, a lesson note, the warnings line)."""
        base = (620 if self.embed else 540) + (40 if self.large_fonts else 0)
        if self.top > 0:  # Play's bottom edge sits play_gap px above the figure's
            base = min(base, FOLD - self.top + self.play_gap)
        return max(base, MIN_HEIGHT) + (440 if self.stacked else 0)

    # Under the race's plot area, in pixels (not in fractions of the plot's height, which
    # shrinks when a lesson note or a two-line legend takes room: the controls then rose into
    # the axis titles "x" and "step"): the tick labels and the axis titles, then the slider and
    # the Play buttons, then the bottom margin's rest.
    @property
    def controls_top(self) -> int:
        """Pixels from the plot area's bottom edge to the top of the Play buttons and of the
        slider's rail: below the tick labels and the axis titles at this font size."""
        return round(4.7 * self.font)

    @property
    def bottom_margin(self) -> int:
        """The race's bottom margin (animated, curves beside the surface)."""
        return self.controls_top + 34 + (10 if self.large_fonts else 0)

    @property
    def play_gap(self) -> int:
        """Pixels between the Play buttons' bottom edge and the figure's."""
        return self.bottom_margin - self.controls_top - (self.font + 18)

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
            # large fonts: wider buttons, so a shorter slider (both Style.controls_top pixels
            # under the plot area: app/figures/race.py, playback_controls)
            "slider": [0.0, 0.46 if self.large_fonts else 0.58],
            "buttons": [1.0],
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

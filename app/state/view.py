"""The view options every page shares: large fonts, dark figures, presenter (embed) mode.

They are the room's settings, not a page's: their widgets live under the app-wide ``app.``
keys, so turning on large fonts on one page keeps them on for the next. Each page's state
declares them with one line each (``large_fonts: bool = view.large_fonts()``), so its links
carry them (``big=1``, ``dark=1``, ``embed=true``).
"""

from __future__ import annotations

from typing import Any

from app.state.codec import Bool, Key, Plain, declare
from app.state.keys import APP

LARGE_FONTS = APP("large_fonts")
DARK = APP("dark")
EMBED = APP("embed")
VIEW_FIELDS = ("large_fonts", "dark", "embed")
KEYS = {"large_fonts": LARGE_FONTS, "dark": DARK, "embed": EMBED}  # field -> widget key
# field -> a plain session key that keeps the value while a page switch resets the widgets
KEPT = {name: APP("_" + name) for name in VIEW_FIELDS}


def _embed_text(_value: Any) -> str:
    return "true"  # Streamlit's own spelling: it also hides its chrome (written only when on)


def large_fonts() -> Any:
    """For a projector at the back of the room."""
    return declare(False, Plain("big", Bool(), widget=Key(LARGE_FONTS, bool)))


def dark() -> Any:
    """Dark chart backgrounds."""
    return declare(False, Plain("dark", Bool(), widget=Key(DARK, bool)))


def embed() -> Any:
    """Presenter / embed mode: controls hidden, the content enlarged."""
    return declare(False, Plain("embed", Bool(), widget=Key(EMBED, bool), show=_embed_text))

"""Every page's state as one plain dataclass, and the URL codec built from its declarations.

``app/state/explore.py``, ``app/state/lessons.py``, ``app/state/maps.py`` and
``app/state/networks.py`` declare their pages' fields (default, URL key, validation, widget);
``app/state/codec.py`` turns any such dataclass into share links and back; ``app/state/view.py``
holds the view options every page shares; ``app/state/keys.py`` namespaces session-state keys
per page. Pure Python: no streamlit import.
"""

from __future__ import annotations

from typing import Any

from app.state.codec import Codec, Scalar
from app.state.explore import ExploreState
from app.state.lessons import LessonsState
from app.state.networks import NetworksState

__all__ = [
    "CODECS",
    "Codec",
    "ExploreState",
    "LessonsState",
    "NetworksState",
    "Scalar",
    "codec_for",
]

#: page name -> its codec; a new page adds its own here
CODECS: dict[str, Codec[Any]] = {}


def _register() -> None:
    from app.state import explore, lessons, maps, networks

    for module in (explore, lessons, maps, networks):
        CODECS[module.CODEC.page] = module.CODEC


_register()


def codec_for(state: Any) -> Codec[Any]:
    """The codec of a page state (by its dataclass)."""
    for codec in CODECS.values():
        if isinstance(state, codec.cls):
            return codec
    raise TypeError(f"no page state: {type(state).__name__}")

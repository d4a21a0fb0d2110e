"""The Lessons page's state: which topic the catalogue shows, and the shared view options.

``?topic=momentum`` opens the catalogue at one topic (a lecturer planning one class); no
topic shows every lesson. Pure Python: no streamlit import.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.state import view
from app.state.codec import Choice, Codec, Ctx, Key, Plain, declare
from app.state.keys import LESSONS as K


def topic_keys(_ctx: Ctx | None = None) -> list[str]:
    from app import presets  # the lessons import the Explore state; read them lazily

    return [t.key for t in presets.TOPICS]


@dataclass
class LessonsState:
    """The catalogue of lessons as one plain value."""

    topic: str | None = declare(None, Plain("topic", Choice(topic_keys), widget=Key(K("topic"))))
    large_fonts: bool = view.large_fonts()
    dark: bool = view.dark()
    embed: bool = view.embed()


CODEC: Codec[LessonsState] = Codec(LessonsState, "lessons", display=view.VIEW_FIELDS)

"""The app's pages in one table: name, title, icon, script. The router (app/main.py) builds
the navigation from it; a button that opens a page (a lesson) finds the page's script here.

A new page is a script in app/views/, a state in app/state/ and one row here.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Route:
    name: str  # the page's name: its state's codec and its session-key namespace
    title: str
    icon: str
    script: str  # relative to app/ (the router's folder)
    default: bool = False


ROUTES: tuple[Route, ...] = (
    Route("explore", "Explore", ":material/sports_score:", "views/explore.py", default=True),
    Route("networks", "Networks", ":material/hub:", "views/networks.py"),
    Route("lessons", "Lessons", ":material/school:", "views/lessons.py"),
    Route("maps", "Maps", ":material/grid_on:", "views/maps.py"),
)
BY_NAME = {r.name: r for r in ROUTES}


def pages() -> list[st.Page]:
    """The ``st.Page`` of every route; the default page answers at the app's root URL."""
    return [
        st.Page(r.script, title=r.title, icon=r.icon, url_path=r.name, default=r.default)
        for r in ROUTES
    ]


def script(name: str) -> str:
    return BY_NAME[name].script


def title(name: str) -> str:
    return BY_NAME[name].title

"""Entry point: `streamlit run app/main.py`. A frame and router for the app's pages.

The pages are scripts in app/views/, listed in app/routes.py; Explore is the default page and
answers at the root URL, so every share link made before there were pages still opens it.
The navigation is shown once there is more than one page (and hidden in presenter mode).
"""

from __future__ import annotations

import streamlit as st

from app import figures, routes
from app.state.keys import APP
from app.ui import frame

WARMUP_KEY = "plotly-warmup"
WARMUP_CSS = f"<style>.st-key-{WARMUP_KEY} {{display: none !important;}}</style>"

st.set_page_config(
    page_title="Optimizer Playground",
    page_icon="⛰️",
    layout="wide",
    initial_sidebar_state="auto",
)


def _warm_up_plotly() -> bool:
    """On a session's first run, make the browser load plotly.js while the page computes.

    Streamlit fetches and compiles its 4.7 MB plotly.js chunk only when the first chart
    element arrives, which for the race is at the end of the first run. An empty, hidden
    chart sent first starts that work while the server is still running the page; the
    caller removes it again at the end of the run, so the page holds only its own charts.
    """
    if st.session_state.get(APP("_plotly_warm")):
        return False
    st.session_state[APP("_plotly_warm")] = True
    st.html(WARMUP_CSS)  # style only: goes to the event container, takes no space
    with slot.container(key=WARMUP_KEY):
        st.plotly_chart(figures.PlainFigure({"data": [], "layout": {"height": 10}}), theme=None)
    return True


slot = st.empty()  # on every run, so the page's elements keep their positions
warm = _warm_up_plotly()
pages = routes.pages()
shown = len(pages) > 1 and not frame.presenting()
page = st.navigation(pages, position="top" if shown else "hidden")
frame.note_page(page.url_path)
try:
    page.run()
finally:
    if warm:
        slot.empty()

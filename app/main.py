"""Entry point: `streamlit run app/main.py`. A frame and router for the app's pages."""

from __future__ import annotations

import streamlit as st

from app import explore

st.set_page_config(
    page_title="Optimizer Playground",
    page_icon="⛰️",
    layout="wide",
    initial_sidebar_state="auto",
)
pages = [st.Page(explore.page, title="Explore", icon="🏁", url_path="explore", default=True)]
st.navigation(pages, position="hidden").run()

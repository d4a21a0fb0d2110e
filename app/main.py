"""Entry point: `streamlit run app/main.py`."""

import streamlit as st

st.set_page_config(page_title="Optimizer Playground", layout="wide")
st.title("Optimizer Playground")
st.write("The Explore page is being built.")

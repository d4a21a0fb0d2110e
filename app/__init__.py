"""Optimizer Playground's Streamlit front end."""

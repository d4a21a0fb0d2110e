"""The optimizers' About cards: summary, update rule, hyperparameters, reference, notes."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import streamlit as st

import optimizers
from app.figures.format import fmt_number
from app.state.codec import Scalar
from app.state.keys import Keys
from optimizers import Hyper


def hyper_table(hypers: Sequence[Hyper]) -> str:
    """A markdown table of an optimizer's hyperparameters (cheaper than a dataframe)."""
    rows = [
        "| hyperparameter | default | range | what it does |",
        "|---|---|---|---|",
    ]
    for h in hypers:
        name = f"`{h.name}`" + (f" ${h.symbol}$" if h.symbol else "")
        text = h.help.replace("|", "\\|")
        rows.append(f"| {name} | {fmt_number(h.default)} | {h.range_text()} | {text} |")
    return "\n".join(rows)


@functools.lru_cache(maxsize=64)
def _markdown(name: str, page: tuple[tuple[str, Scalar], ...]) -> str:
    opt = optimizers.get(name)
    parts = [opt.summary, f"$$\n{opt.update_tex.strip()}\n$$"]
    if opt.hypers:
        parts.append(hyper_table(opt.hypers))
    if page:
        torch_values = opt.defaults()
        parts.append(
            "**On this page:** "
            + ", ".join(
                f"`{k}` starts at {fmt_number(v)} (torch's default "
                f"{fmt_number(torch_values.get(k))})"
                for k, v in page
            )
            + " so that the first race visibly moves; shared links and lessons set their own."
        )
    parts.append(f"**Reference:** {opt.reference}")
    if opt.torch_class:
        parts.append(f"**Matches:** `{opt.torch_class}`")
    if opt.notes:
        parts.append(f"**Where the lessons differ:** {opt.notes}")
    return "\n\n".join(parts)


def about_markdown(name: str, page_defaults: Mapping[str, Scalar] | None = None) -> str:
    """One optimizer's card (``page_defaults``: where the page starts it off torch's defaults).

    One markdown element per optimizer (KaTeX renders the ``$$`` block): every element is a
    message to the browser on each rerun, so the page keeps their number small.
    """
    return _markdown(name, tuple((page_defaults or {}).items()))


def about_ui(
    names: Sequence[str], keys: Keys, page_defaults: Mapping[str, Mapping[str, Scalar]]
) -> None:
    """One expander per optimizer; its card is drawn only while it is open (opening reruns)."""
    for name in names:
        box = st.expander(
            f"About {optimizers.get(name).title}", key=keys("about", name), on_change="rerun"
        )
        if box.open:
            box.markdown(about_markdown(name, page_defaults.get(name, {})))

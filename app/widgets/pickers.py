"""Pickers generated from the core's registries: a surface and its parameters, optimizers and
their hyperparameters. Every page that races optimizers uses these.

Keys (under the page's namespace, app/state/keys.py): ``surface``, ``sp.<surface>.<param>``,
``optimizers``, ``tune`` (whose settings are shown), ``all_hypers``, ``hp.<optimizer>.<hyper>``.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

import optimizers
import surfaces
from app.state.codec import Scalar, escape_markdown
from app.state.keys import Keys
from app.state.training import hyper_store, role_switch
from app.widgets.controls import bool_control, ensure, hyper_control, param_control
from app.widgets.formula import critical_points_caption, formula_feedback_ui
from optimizers import Hyper

STAYS = "The race stays on the last version that worked."
GLOBAL_ROLES = ("beta", "rho", "beta2")  # the global controls that lock an optimizer's own


def surface_ui(keys: Keys, default: str) -> tuple[str, dict[str, Scalar]]:
    """Surface picker and its own parameters (only those not at their defaults returned).

    A typed parameter (a formula) is drawn in full view with its feedback; optional ones (a
    formula's bounds) may stay empty; the rest wait in an expander. Parameters that do not
    make a surface together (f undefined everywhere in the bounds, a bound past the other)
    are explained, and the race keeps the last ones that did.
    """
    names = surfaces.names()
    ensure(keys("surface"), lambda v: v in names, default if default in names else names[0])
    name = str(
        st.selectbox(
            "Surface",
            options=names,
            key=keys("surface"),
            format_func=lambda n: surfaces.SPECS[n].title,
        )
    )
    params: dict[str, Scalar] = {}
    spec = surfaces.SPECS[name]
    typed = [p for p in spec.params if p.kind == "text"]
    optional = [p for p in spec.params if p.default is None]
    tuned = [p for p in spec.params if p not in typed and p not in optional]
    readable = True
    for p in typed:  # a formula, the only text the core reads: feedback as the user types
        value = param_control(keys.surface_param(name, p.name), p, label="f(x, y) =")
        if not formula_feedback_ui(str(value)).ok:
            readable = False
            st.caption(STAYS)
        if value != p.default:
            params[p.name] = str(value)
    shown = None
    if optional:
        with st.expander("Bounds (empty: chosen from f)", expanded=False):
            cols = st.columns(2)
            for i, p in enumerate(optional):
                with cols[i % 2]:
                    value = param_control(
                        keys.surface_param(name, p.name),
                        p,
                        label=p.name.replace("_", " "),
                        placeholder="auto",
                    )
                if value is not None:
                    params[p.name] = value
            shown = st.empty()
    if tuned:
        with st.expander("Surface parameters", expanded=False):
            for p in tuned:
                value = param_control(keys.surface_param(name, p.name), p)
                if value is not None and value != p.default:
                    params[p.name] = value
    params, surface = _buildable(keys, name, params, explain=readable)
    if shown is not None:
        (x0, x1), (y0, y1) = surface.bounds
        shown.caption(f"Shown: x from {x0:g} to {x1:g}, y from {y0:g} to {y1:g}.")
    if typed:
        st.caption(critical_points_caption(surface))
    return name, params


def _buildable(
    keys: Keys, name: str, params: dict[str, Scalar], *, explain: bool
) -> tuple[dict[str, Scalar], surfaces.Surface]:
    """``params`` and their surface if they make one, else the last ones that did (the
    defaults at first), with the reason said when ``explain`` (else the feedback said it)."""
    from app import compute  # the cached builder (compute does not import the widgets)

    ss = st.session_state
    good = keys("_good", name)
    try:
        surface = compute.surface_of(name, params)
    except ValueError as exc:
        fallback = ss.get(good, {})
        if explain:  # else the feedback under the field said why
            st.error(escape_markdown(str(exc), limit=400), icon=":material/error:")
            st.caption(STAYS)
        return dict(fallback), compute.surface_of(name, fallback)
    ss[good] = dict(params)
    return params, surface


def default_optimizers() -> list[str]:
    return [n for n in optimizers.DEFAULT_SET if n in optimizers.names()]


def main_hyper(h: Hyper) -> bool:
    """A setting drawn for every optimizer; the rarer ones wait for "Show every setting"."""
    return h.role is not None or h.name in ("momentum", "h")


def optimizers_ui(
    keys: Keys,
    shared_lr: bool,
    page_defaults: Mapping[str, Mapping[str, Scalar]],
) -> tuple[list[str], dict[str, dict[str, Scalar]]]:
    """Optimizer multi-select, then the settings of one chosen optimizer at a time.

    ``page_defaults[opt][hyper]``: what a plain visit starts from where it is not the core's
    default. Returns the chosen optimizers and their hyperparameters that differ from the
    core's defaults (remembered for the optimizers whose settings are not shown).
    """
    names = optimizers.names()
    ensure(
        keys("optimizers"),
        lambda v: isinstance(v, list) and all(n in names for n in v),
        default_optimizers(),
    )
    chosen = list(
        st.multiselect(
            "Optimizers",
            options=names,
            key=keys("optimizers"),
            format_func=lambda n: optimizers.get(n).title,
            help="every optimizer of the core; each gets its own colour",
        )
    )
    hyper: dict[str, dict[str, Scalar]] = {}
    if not chosen:
        return chosen, hyper
    ss = st.session_state
    store = hyper_store(ss, keys)
    ensure(keys("tune"), lambda v: v in chosen, chosen[0])
    tuned = st.selectbox(
        "Settings of",
        options=chosen,
        key=keys("tune"),
        format_func=lambda n: optimizers.get(n).title,
        help="each optimizer keeps its own settings; pick one to change them. Greyed-out "
        "settings follow the Training controls below (shared learning rate, β, ρ, β₂).",
    )
    more = any(not main_hyper(h) for h in optimizers.get(tuned).hypers if h.name != "convention")
    show_all = more and bool_control(
        keys("all_hypers"),
        "Show every setting",
        False,
        "also the rarer settings (eps, weight decay, maximize, ...); a setting that is not at "
        "its default is always shown",
    )
    for name in chosen:
        values: dict[str, Scalar] = {}
        for h in optimizers.get(name).hypers:
            if h.name == "convention":
                continue  # one global switch, see app/widgets/training.py
            key = keys.hyper(name, h.name)
            start = page_defaults.get(name, {}).get(h.name, h.default)  # a plain visit's value
            drawn = name == tuned and (show_all or main_hyper(h) or store.get(key, start) != start)
            if drawn:
                if key not in ss and key in store:
                    ss[key] = store[key]
                locked = (h.role == "lr" and shared_lr) or (
                    h.role in GLOBAL_ROLES and bool(ss.get(role_switch(h.role, keys)))
                )
                shown = h if start == h.default else _with_default(h, start)
                value = hyper_control(key, shown, disabled=locked)
                store[key] = value
            else:  # not drawn (fewer widgets, faster reruns): the remembered value
                value = store.get(key, start)
            if value != h.default:
                values[h.name] = value
        if values:
            hyper[name] = values
    return chosen, hyper


def _with_default(h: Hyper, default: Scalar) -> Hyper:
    import dataclasses

    return dataclasses.replace(h, default=default)

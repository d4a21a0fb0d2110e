"""The Networks page's own controls: the data and the network (TensorFlow Playground's
controls), the training length and the batching. Every range comes from
``surfaces.datasets.SPECS`` and ``surfaces.network``; every value lives in session state under
the page's keys (app/state/networks.py binds them to the URL).

Keys (under ``networks.``): ``problem``, ``dataset``, ``n``, ``noise``, ``ratio`` (percent),
``data_seed``, ``show_test``, ``discretize``, ``features``, ``layers``, ``units0`` ..
``units5``, ``activation``, ``regularization``, ``rate``, ``init``, ``bce``, ``epochs``,
``batch``, ``shuffle``, ``compare_batch_sizes``, ``seed``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.state.keys import Keys
from app.state.networks import (
    MAX_COMPARE,
    MAX_EPOCHS,
    MAX_SEED,
    RATES,
    n_train,
    spec,
)
from app.state.training import FULL
from app.widgets.controls import bool_control, ensure, in_range, with_value
from surfaces import datasets
from surfaces.datasets import CLASSIFICATION, REGRESSION
from surfaces.network import ACTIVATIONS, BCE_FORMS, FEATURES, INITS, MAX_LAYERS, MAX_UNITS
from surfaces.network import REGULARIZATIONS as REGS

PROBLEMS = {CLASSIFICATION: "Classification (BCE)", REGRESSION: "Regression (MSE)"}
ACTIVATION_TITLES = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid", "linear": "linear"}
REG_TITLES = {"none": "none", "l1": "L1", "l2": "L2"}
INIT_TITLES = {"torch": "torch (nn.Linear's default)", "zeros": "all zero"}
BCE_TITLES = {
    "torch": "sigmoid + nn.BCELoss (the lesson's)",
    "logits": "nn.BCEWithLogitsLoss (stable)",
}


def data_ui(keys: Keys, default: str) -> dict[str, Any]:
    """Problem type, data set, points, noise, training share, data seed, the two display
    switches. Returns their values by state field (None: the data set's own value)."""
    ss = st.session_state
    names = datasets.names()
    ensure(keys("dataset"), lambda v: v in names, default)
    ensure(keys("problem"), lambda v: v in PROBLEMS, spec(ss[keys("dataset")]).problem)
    problem = st.segmented_control(
        "Problem type",
        list(PROBLEMS),
        key=keys("problem"),
        format_func=lambda p: PROBLEMS[p],
        help="classification: two classes, sigmoid output and binary cross-entropy; "
        "regression: a real target, linear output and mean squared error",
    )
    if problem is None:  # a click on the chosen option deselects it: keep the data set's
        problem = spec(ss[keys("dataset")]).problem
    shown_sets = [n for n in names if spec(n).problem == problem]
    if ss[keys("dataset")] not in shown_sets:
        ss[keys("dataset")] = shown_sets[0]
    name = str(
        st.selectbox(
            "Data set",
            shown_sets,
            key=keys("dataset"),
            format_func=lambda n: spec(n).title,
            help="the lessons' two sets and TensorFlow Playground's",
        )
    )
    sp = spec(name)
    if ss.get(keys("_dataset"), name) != name:  # another data set: its own points and network
        for k in ("n", "noise", "ratio", "features", "layers", *(f"units{i}" for i in range(6))):
            ss.pop(keys(k), None)
    ss[keys("_dataset")] = name
    out: dict[str, Any] = {"dataset": name}
    lo, hi = sp.n_range
    fixed = lo == hi
    ensure(keys("n"), lambda v: isinstance(v, int) and lo <= v <= hi, sp.n_default)
    n = int(
        st.slider(
            "Points (training + test)",
            lo,
            max(hi, lo + 1),
            key=keys("n"),
            disabled=fixed,
            help="fixed for the lessons' sets" if fixed else f"{lo} to {hi}",
        )
    )
    out["n_points"] = None if n == sp.n_default else n
    nlo, nhi = sp.noise_range
    ensure(keys("noise"), in_range(nlo, nhi), 0.0)
    out["noise"] = float(
        st.slider(
            "Noise",
            float(nlo),
            float(max(nhi, nlo + 0.05)),
            step=0.05,
            key=keys("noise"),
            disabled=nhi == nlo,
            help="how far points are pushed across the classes (TensorFlow Playground's 0-50 %)",
        )
    )
    rlo, rhi = (round(100 * v) for v in sp.ratio_range)
    ensure(keys("ratio"), lambda v: isinstance(v, int) and rlo <= v <= rhi,
           round(100 * sp.ratio_default))  # fmt: skip
    ratio = int(
        st.slider(
            "Training share (%)",
            rlo,
            max(rhi, rlo + 10),
            step=10 if (rhi - rlo) % 10 == 0 else 1,
            key=keys("ratio"),
            disabled=rhi == rlo,
            help="the share of the points used for training; the rest is the held-out test set",
        )
    )
    out["train_ratio"] = None if ratio == round(100 * sp.ratio_default) else ratio / 100
    ensure(keys("data_seed"), lambda v: isinstance(v, int) and 0 <= v <= MAX_SEED, 0)
    out["data_seed"] = int(
        st.number_input(
            "Data seed", 0, MAX_SEED, step=1, key=keys("data_seed"),
            disabled=fixed and nhi == nlo, help="draws another data set of the same kind",
        )
    )  # fmt: skip
    c1, c2 = st.columns(2)
    with c1:
        out["show_test"] = bool_control(
            keys("show_test"), "Show test data", False, "draw the held-out points (outlined)"
        )
    with c2:
        out["discretize"] = bool_control(
            keys("discretize"), "Discretise output", False, "colour only the predicted class"
        )
    return out


def network_ui(keys: Keys, dataset: str) -> dict[str, Any]:
    """Input features, hidden layers and units, activation, regularisation and its rate,
    initialisation and the form of the classification loss."""
    ss = st.session_state
    sp = spec(dataset)
    out: dict[str, Any] = {}
    ensure(
        keys("features"),
        lambda v: isinstance(v, list) and all(f in FEATURES for f in v),
        list(sp.features),
    )
    feats = st.multiselect(
        "Input features",
        list(FEATURES),
        key=keys("features"),
        format_func=lambda f: FEATURES[f][0],
        help="what the network sees of each point (x, y, x², y², xy, sin, cos)",
    )
    chosen = tuple(f for f in FEATURES if f in feats)
    out["features"] = None if chosen == sp.features else chosen
    if not chosen:
        st.caption(":orange[Choose at least one input feature.]")
    default_layers = len(sp.hidden)
    ensure(keys("layers"), lambda v: isinstance(v, int) and 0 <= v <= MAX_LAYERS, default_layers)
    layers = int(st.slider("Hidden layers", 0, MAX_LAYERS, key=keys("layers")))
    units = []
    if layers:
        cols = st.columns(min(layers, 3))
        for i in range(layers):
            key = keys(f"units{i}")
            d = sp.hidden[i] if i < len(sp.hidden) else 4
            ensure(key, lambda v: isinstance(v, int) and 1 <= v <= MAX_UNITS, d)
            with cols[i % len(cols)]:
                units.append(
                    int(st.number_input(f"Layer {i + 1} units", 1, MAX_UNITS, step=1, key=key))
                )
    hidden = tuple(units)
    out["hidden"] = None if hidden == sp.hidden else hidden
    out["activation"] = _choice(keys("activation"), "Activation", ACTIVATIONS, "relu",
                                ACTIVATION_TITLES, "the hidden units' activation")  # fmt: skip
    c1, c2 = st.columns(2)
    with c1:
        out["regularization"] = _choice(keys("regularization"), "Regularisation", REGS,
                                        "none", REG_TITLES, "a penalty on the weights (not "
                                        "the biases), as TensorFlow Playground")  # fmt: skip
    with c2:
        ensure(keys("rate"), lambda v: isinstance(v, int | float) and 0 <= v <= 10, 0.0)
        out["rate"] = float(
            st.select_slider(
                "Rate",
                options=with_value(RATES, float(ss[keys("rate")])),
                key=keys("rate"),
                disabled=out["regularization"] == "none",
                help="the penalty's weight: L1 adds rate·Σ|w|, L2 adds rate·Σw²/2",
            )
        )
    out["init"] = _choice(keys("init"), "Initialisation", INITS, "torch", INIT_TITLES,
                          "torch.manual_seed(seed) then nn.Linear's own draw, or every "
                          "parameter 0 (the symmetry problem)")  # fmt: skip
    if sp.problem == CLASSIFICATION:
        out["bce"] = _choice(keys("bce"), "Classification loss", BCE_FORMS, "torch",
                             BCE_TITLES, "the lesson applies a sigmoid and nn.BCELoss, which "
                             "saturates for outputs beyond about ±37; BCEWithLogitsLoss does "
                             "not")  # fmt: skip
    else:
        out["bce"] = str(ss.get(keys("bce"), "torch"))
    return out


def _choice(
    key: str, label: str, options: tuple[str, ...], default: str, titles: dict[str, str],
    help: str,
) -> str:  # fmt: skip
    ensure(key, lambda v: v in options, default)
    return str(
        st.selectbox(label, list(options), key=key, format_func=lambda v: titles[v], help=help)
    )


def batching_ui(keys: Keys, n: int) -> dict[str, Any]:
    """Epochs, batch size, in order or shuffled, the schemes compared side by side, seed."""
    ss = st.session_state
    out: dict[str, Any] = {}
    ensure(keys("epochs"), lambda v: isinstance(v, int) and 0 <= v <= MAX_EPOCHS, 1000)
    out["epochs"] = int(
        st.number_input(
            "Epochs", 0, MAX_EPOCHS, step=100, key=keys("epochs"),
            help="passes over the training set; one epoch is ceil(N / B) optimizer steps",
        )
    )  # fmt: skip
    top = max(n, 1)
    opts: list[Any] = [*range(1, top), FULL]
    ensure(keys("batch"), lambda v: v in opts, FULL)
    batch = st.select_slider(
        f"Batch size (N = {n})",
        options=opts,
        key=keys("batch"),
        help="1: one sample at a time; 'full batch': exact gradient descent",
    )
    out["batch_size"] = None if batch == FULL else int(batch)
    ensure(keys("shuffle"), lambda v: isinstance(v, bool), False)
    order = st.radio(
        "Batches",
        [False, True],
        key=keys("shuffle"),
        format_func=lambda s: "shuffled each epoch" if s else "in order (the lesson's loop)",
        horizontal=True,
        help="in order: for i in range(0, N, B); shuffled: a new permutation every epoch, "
        "like DataLoader(shuffle=True)",
    )
    out["shuffle"] = bool(order)
    sizes = sorted({1, 2, 4, 8, 16, 32, 64, 128, top} & set(range(1, top + 1)))
    ensure(
        keys("compare_batch_sizes"),
        lambda v: isinstance(v, list) and len(v) <= MAX_COMPARE and all(b in sizes for b in v),
        [],
    )
    picked = st.multiselect(
        "Compare batch sizes side by side",
        sizes,
        key=keys("compare_batch_sizes"),
        max_selections=MAX_COMPARE,
        format_func=lambda b: f"{b} (full batch)" if b == top else str(b),
        help="every optimizer once per batch size: the lesson's three schemes are "
        f"{top} (full batch), 1 and 2",
    )
    out["compare_batch_sizes"] = tuple(int(b) for b in picked)
    ensure(keys("seed"), lambda v: isinstance(v, int) and 0 <= v <= MAX_SEED, 0)
    out["seed"] = int(
        st.number_input(
            "Seed (initialisation)", 0, MAX_SEED, step=1, key=keys("seed"),
            help="torch.manual_seed(seed) before the layers are built; also the shuffles",
        )
    )  # fmt: skip
    del ss  # (kept for symmetry with the other widgets)
    return out


def training_points(state_fields: dict[str, Any]) -> int:
    """N (training points) of the data-set fields gathered so far."""
    return n_train(state_fields)

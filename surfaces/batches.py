"""Mini-batch indices drawn the way torch.utils.data.DataLoader(shuffle=True) draws them."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def _check_int(name: str, value: object, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    v = int(value)
    if v < low or (high is not None and v > high):
        top = "inf" if high is None else str(high)
        raise ValueError(f"{name} must be in [{low}, {top}]; got {v}")
    return v


def iter_batches(n: int, batch_size: int, k: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield (K, b) index arrays forever, like DataLoader(shuffle=True, drop_last=False).

    Each of the K runs gets its own fresh permutation of range(N) every epoch; an epoch is
    the consecutive slices of length B of that permutation, so its last batch holds N % B
    indices when B does not divide N. B = N gives every index at every step.
    """
    n = _check_int("n", n, 1, None)
    b = _check_int("batch_size", batch_size, 1, n)
    k = _check_int("k", k, 1, None)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    rows = np.broadcast_to(np.arange(n), (k, n))
    while True:
        perm = rng.permuted(rows, axis=1)
        for start in range(0, n, b):
            yield perm[:, start : start + b]

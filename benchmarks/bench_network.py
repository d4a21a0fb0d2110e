"""Network surface speed: microseconds per ``value_and_grad`` call, K runs in one call.

Lesson 002's XOR network (2-4-1 ReLU, BCE, D = 17, N = 4) and a TensorFlow Playground-sized
one (spiral, all 9 features, 8-8 tanh, N = 250), full batch and per-run mini-batches, for
K = 1, 5, 200, 1000; for comparison, one autograd pass of the lesson's ``nn.Module`` in
float64 (what a torch.optim loop pays per run and step). Best of ``--repeat`` timings (the
machine is shared). Usage: ``python benchmarks/bench_network.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

import surfaces
from surfaces.network import FEATURES


def best_us(fn: Callable[[], object], calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    nets = {
        "xor 2-4-1 relu": surfaces.network("xor")[0],
        "spiral 9-8-8-1 tanh": surfaces.network(
            "spiral", hidden=(8, 8), activation="tanh", features=tuple(FEATURES)
        )[0],
    }
    rng = np.random.default_rng(0)
    heads = ("K", "full us", "value us", "B=2 us", "us/run")
    print(f"{'network':22s}", *(f"{h:>9s}" for h in heads))
    for label, net in nets.items():
        for k in (1, 5, 200, 1000):
            p = rng.normal(0.0, 0.5, (k, net.dim))
            idx = rng.integers(0, net.n_samples, (k, 2))
            calls = max(50, 20_000 // k if net.n_samples < 10 else 2_000 // k)
            full = best_us(functools.partial(net.value_and_grad, p), calls, args.repeat)
            value = best_us(functools.partial(net.value, p), calls, args.repeat)
            batch = best_us(functools.partial(net.value_and_grad, p, idx), calls, args.repeat)
            print(f"{label:22s} {k:9d} {full:9.1f} {value:9.1f} {batch:9.1f} {full / k:9.2f}")
    # the lesson's way: one nn.Module, one autograd pass per run and step
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64)
    loss_fn = nn.BCELoss()

    def autograd_pass() -> None:
        model.zero_grad()
        loss_fn(torch.sigmoid(model(x)), y).backward()

    us = best_us(autograd_pass, 2000, args.repeat)
    print(f"lesson nn.Module autograd pass (K = 1): {us:.1f} us")


if __name__ == "__main__":
    main()

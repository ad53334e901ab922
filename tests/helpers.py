"""Tiny synthetic data and models shared by tests (a few hundred rows, a 2-layer net)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from honed.data.dataset import PreparedData, Split


def blobs(n: int = 240, features: int = 6, classes: int = 3, seed: int = 0) -> PreparedData:
    """Separable Gaussian blobs, split 60/20/20."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    x = (centers[y] + rng.normal(0, 1, size=(n, features))).astype(np.float32)
    a, b = int(n * 0.6), int(n * 0.8)
    return PreparedData(
        train=Split(x[:a], y[:a].astype(np.int64)), val=Split(x[a:b], y[a:b].astype(np.int64)),
        test=Split(x[b:], y[b:].astype(np.int64)), task="classification", kind="table",
        input_shape=(features,), num_outputs=classes,
        class_names=[f"c{i}" for i in range(classes)])


def linear_regression(n: int = 200, features: int = 4, seed: int = 0) -> PreparedData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x @ rng.normal(size=(features, 1)) + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
    a, b = int(n * 0.6), int(n * 0.8)
    return PreparedData(train=Split(x[:a], y[:a]), val=Split(x[a:b], y[a:b]),
                        test=Split(x[b:], y[b:]), task="regression", kind="table",
                        input_shape=(features,), num_outputs=1)


def tiny_net(inputs: int = 6, outputs: int = 3, hidden: int = 16, dropout: float = 0.1,
             seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, outputs))

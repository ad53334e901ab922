"""Models built to show a pathology, loadable from a spec as ``tests.report.nets:NAME``."""

from __future__ import annotations

import math

import torch
from torch import nn


def dead_relu(input_shape, num_outputs, *, task="classification", hidden=16):
    """An MLP whose hidden ReLU never fires: its pre-activation bias is far below zero."""
    first = nn.Linear(input_shape[0], hidden)
    with torch.no_grad():
        first.bias.fill_(-100.0)
    return nn.Sequential(first, nn.ReLU(), nn.Linear(hidden, num_outputs))


def mostly_dead_relu(input_shape, num_outputs, *, task="classification", hidden=32):
    """An MLP whose hidden ReLU layer has three units in four that never fire."""
    first = nn.Linear(math.prod(input_shape), hidden)
    with torch.no_grad():
        first.bias[: 3 * hidden // 4].fill_(-100.0)
    return nn.Sequential(nn.Flatten(), first, nn.ReLU(), nn.Linear(hidden, num_outputs))

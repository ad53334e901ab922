"""Sequences ``(T, C)``: one group per time window (and per channel when there are several)."""

from __future__ import annotations

import math

import numpy as np

from honed.data.dataset import PreparedData

from .base import Baseline, ExplainKind, Group

__all__ = ["SequenceKind", "STEPS"]

#: time groups at most: longer sequences are grouped into windows of consecutive steps, which
#: keeps a global explanation under a few epochs of training (bench/explain_cost.py)
STEPS = 32


class SequenceKind(ExplainKind):
    """Time steps; the baseline is a flat signal at each channel's training mean."""

    name = "sequence"
    default_method = "integrated_gradients"
    ablation = "occlusion"

    def groups(self, data: PreparedData) -> list[Group]:
        steps, channels = data.input_shape
        flat = np.arange(steps * channels).reshape(steps, channels)
        size = self.window(data.input_shape)[0]
        groups = [Group(f"t={start}" if size == 1 else f"t={start}-{min(start + size, steps) - 1}",
                        "time", flat[start:start + size].ravel())
                  for start in range(0, steps, size)]
        if channels > 1:
            names = data.feature_names or [f"channel {c}" for c in range(channels)]
            groups += [Group(str(names[c]), "channel", flat[:, c]) for c in range(channels)]
        return groups

    def baseline(self, data: PreparedData) -> Baseline:
        train = np.asarray(data.train.x, dtype=np.float64)
        flat = np.broadcast_to(train.mean(axis=(0, 1)), data.input_shape)
        return Baseline(flat.astype(np.float32), "a flat signal at each channel's training mean")

    def window(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        steps, channels = input_shape
        return (max(1, math.ceil(steps / STEPS)), channels)

"""Images ``(C, H, W)``: one group per channel (colour images) and per square region."""

from __future__ import annotations

import math

import numpy as np

from honed.data.dataset import PreparedData

from .base import Baseline, ExplainKind, Group

__all__ = ["ImageKind", "GRID", "REGIONS"]

#: occlusion windows per side at most (the local heat maps' resolution)
GRID = 8
#: importance regions per side at most: 4 × 4 = 16 permuted groups whatever the resolution,
#: which keeps a global explanation under a few epochs of training (bench/explain_cost.py)
REGIONS = 4


class ImageKind(ExplainKind):
    """Channels and regions; the baseline is a black image, as the scaler maps pixel 0."""

    name = "image"
    default_method = "occlusion"
    ablation = "occlusion"

    def groups(self, data: PreparedData) -> list[Group]:
        channels, height, width = data.input_shape
        flat = np.arange(channels * height * width).reshape(channels, height, width)
        groups = []
        if channels > 1:
            groups += [Group(f"channel {c}", "channel", flat[c].ravel()) for c in range(channels)]
        size = max(1, math.ceil(max(height, width) / REGIONS))
        for top in range(0, height, size):
            for left in range(0, width, size):
                bottom, right = min(top + size, height), min(left + size, width)
                name = (f"pixel ({top}, {left})" if size == 1 else
                        f"rows {top}-{bottom - 1} × cols {left}-{right - 1}")
                groups.append(Group(name, "region", flat[:, top:bottom, left:right].ravel()))
        return groups

    def baseline(self, data: PreparedData) -> Baseline:
        from honed.data.transform import apply_preprocess

        black = np.zeros((1, *data.input_shape), dtype=np.float64)
        return Baseline(apply_preprocess(data.preprocess, black)[0], "a black image")

    def window(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        channels, height, width = input_shape
        size = max(1, math.ceil(max(height, width) / GRID))
        return (channels, size, size)

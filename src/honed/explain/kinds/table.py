"""Tables: one group per input column, a one-hot encoded categorical being one column."""

from __future__ import annotations

import numpy as np

from honed.data.dataset import PreparedData

from .base import Baseline, ExplainKind, Group

__all__ = ["TableKind"]


class TableKind(ExplainKind):
    """Columns as the user wrote them; the baseline is the average training row."""

    name = "table"
    default_method = "integrated_gradients"
    ablation = "feature_ablation"

    def groups(self, data: PreparedData) -> list[Group]:
        names = list(data.feature_names or [])
        columns = data.preprocess.get("columns")
        if not columns:  # arrays without a recipe: one group per model column
            width = int(np.prod(data.input_shape))
            return [Group(names[i] if i < len(names) else f"x{i}", "feature", np.array([i]))
                    for i in range(width)]
        position = {name: i for i, name in enumerate(names)}
        return [Group(c["name"], "feature",
                      np.array([position[out] for out in c["outputs"]], dtype=np.int64))
                for c in columns]

    def baseline(self, data: PreparedData) -> Baseline:
        # the mean row sits inside the data (0 after standard scaling, the category shares for
        # one-hot columns); zeros would be an impossible input under min-max scaling
        mean = np.asarray(data.train.x, dtype=np.float64).mean(axis=0)
        return Baseline(mean.astype(np.float32), "the average training row")

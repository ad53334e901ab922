"""Text beside table columns: ``[token ids (T) | table features (k)]`` (:mod:`honed.data.mixed`).

Tokens are explained as text is (each token deleted in turn; global importance per vocabulary
token), the table columns as a table's are (one group per column as the user wrote it, a one-hot
categorical being one), shifted past the ids. The baseline is the model's input at 0: every
token padding, every feature at 0, which is its training mean under standard scaling (and no
category for a one-hot column). Gradient-free by default (feature ablation); integrated
gradients run along one path on the token embedding and the features together
(:func:`~honed.explain.mixed.integrated_mixed`); the other gradient methods do not apply (no
gradient reaches a token id). NumPy only (``honed serve``'s ``/v1/explain`` uses the groups).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .base import Baseline, ExplainKind, Group
from .table import TableKind

__all__ = ["MixedKind", "FEATURE_BASELINE", "DESCRIPTION", "INTEGRATED"]

#: what a column is set to, as recorded in the outputs
FEATURE_BASELINE = ("the column's features at 0: its training mean under standard scaling, "
                    "no category for a one-hot column")
#: the whole baseline, as recorded in the outputs
DESCRIPTION = ("each token deleted in turn (set to [PAD], the text closed up); each column "
               f"set to {FEATURE_BASELINE}")

#: integrated gradients' path start, as recorded in the outputs
INTEGRATED = ("each token's embedding scaled from zero ([PAD]'s), the text's length kept, and "
              f"each column from {FEATURE_BASELINE}, along one path")


class MixedKind(ExplainKind):
    """Tokens and table columns; the baseline is the input at 0 (see the module)."""

    name = "mixed"
    default_method = "feature_ablation"
    ablation = "feature_ablation"
    methods = ("feature_ablation", "integrated_gradients")

    def groups(self, data) -> list[Group]:
        """The table columns' groups, positions counted past the ``offset`` token ids; reads
        only ``data.preprocess`` (a run's prepared data or a bundle's recipe)."""
        tabular = data.preprocess["tabular"]
        names = list(tabular["feature_names"])
        view = SimpleNamespace(feature_names=names, preprocess=tabular, input_shape=(len(names),))
        offset = int(tabular["offset"])
        return [Group(g.name, g.kind, g.index + offset) for g in TableKind().groups(view)]

    def baseline(self, data) -> Baseline:
        return Baseline(np.zeros(data.input_shape, dtype=np.float32), DESCRIPTION)

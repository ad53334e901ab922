"""Text: token ids ``(T,)``; importance per vocabulary token, attributions per token.

Positions mean nothing to a reader (the same word moves from text to text), so global
importance is per token of the vocabulary (:mod:`honed.explain.token_importance`) and the
attributions are one score per token of each text (:mod:`honed.explain.tokens`), not groups of
positions; :meth:`groups` is empty.
"""

from __future__ import annotations

import numpy as np

from honed.data.dataset import PreparedData

from .base import Baseline, ExplainKind, Group

__all__ = ["TextKind", "BASELINES"]

#: what each text method sets a token to, as recorded in the outputs
BASELINES = {
    "integrated_gradients": "all padding: each token's embedding scaled from [PAD]'s (zero), "
                            "the text's length kept",
    "feature_ablation": "each token deleted in turn (set to [PAD], the text closed up)"}


class TextKind(ExplainKind):
    """Tokens; the baseline is all padding (id 0, a zero embedding)."""

    name = "text"
    default_method = "integrated_gradients"
    ablation = "feature_ablation"
    #: the methods that apply to token ids (no gradient reaches an id)
    methods = ("integrated_gradients", "feature_ablation")

    def groups(self, data: PreparedData) -> list[Group]:
        return []

    def baseline(self, data: PreparedData) -> Baseline:
        return Baseline(np.zeros(data.input_shape, dtype=np.float32),
                        BASELINES["integrated_gradients"])

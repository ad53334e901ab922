"""Text beside table features: any text family's pooled vector, with the features, into the head.

A mixed input row is ``[token ids (T) | features (k)]`` in float32 (:mod:`honed.data.mixed`).
:class:`TextWithFeatures` wraps a text model built over ``(T,)``: the model's linear ``head``
is swapped for an identity, so the model returns its pooled vector; a small linear layer reads
the features, and a new head reads both. Without table features no wrapper is built, so text
models are exactly as before.

The text model's parameters are named ``text.<its own name>``. Fine-tuning patterns and
checkpoints also reach them by the text model's own names (``embed.*``, a text-only run's
weights), so that the documented names mean the same with and without table features: see
:mod:`honed.models.names`.
"""

from __future__ import annotations

import torch
from torch import nn

from honed.errors import ModelError

__all__ = ["TEXT_PREFIX", "TextWithFeatures"]

# the text model is the attribute ``text``: the prefix of its state_dict names
TEXT_PREFIX = "text."


class TextWithFeatures(nn.Module):
    """``text(ids)`` pooled, ``features`` through ``features`` (linear + ReLU), both to ``head``."""

    def __init__(self, text: nn.Module, tabular_features: int, num_outputs: int):
        super().__init__()
        head = getattr(text, "head", None)
        if not isinstance(head, nn.Linear):
            raise ModelError(f"{type(text).__name__} has no linear head to read table features "
                             "beside its text")
        self.tabular_features = int(tabular_features)
        text.head = nn.Identity()
        self.text = text
        self.features = nn.Sequential(nn.Linear(self.tabular_features, self.tabular_features),
                                      nn.ReLU())
        self.head = nn.Linear(head.in_features + self.tabular_features, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        offset = x.shape[1] - self.tabular_features
        ids, features = x[:, :offset], x[:, offset:].float()
        # the features pass straight through too: a linear head on them stays within reach
        return self.head(torch.cat([self.text(ids), features + self.features(features)], dim=1))

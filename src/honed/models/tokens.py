"""Token ids into vectors, shared by every family that reads text.

Text arrives as token ids ``(B, T)`` (int64, or float32 holding whole numbers: the trainer
hands every input over as float32), right-padded with id 0. Padding must not change a
prediction, so every family pools with the mask this layer returns, never over all ``T``
steps: appending more padding leaves each output unchanged (the conformance suite checks it).
"""

from __future__ import annotations

import torch
from torch import nn

from honed.errors import ModelError
from honed.models._checks import positive_int

__all__ = ["PAD_ID", "TOKEN_WEIGHTS", "DEFAULT_EMBEDDING_DIM", "TokenEmbedding", "embedding_width", "masked_mean",
           "masked_max", "lengths"]

PAD_ID = 0  # honed.data.tokenize puts [PAD] first
# Every text family names its TokenEmbedding ``embed``: one pattern freezes or excludes it.
TOKEN_WEIGHTS = "embed.embedding.weight"
DEFAULT_EMBEDDING_DIM = 64


class TokenEmbedding(nn.Module):
    """``(B, T)`` ids -> ``(B, T, D)`` vectors and the ``(B, T)`` mask of real tokens.

    The padding row is zero and gets no gradient (``padding_idx``). A text with no tokens at
    all keeps its first position in the mask, so that pooling and attention have one (padding)
    token to read rather than none; that is the same whatever padding follows.
    """

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(positive_int("vocab_size", vocab_size),
                                      positive_int("embedding_dim", dim), padding_idx=PAD_ID)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids = ids.long()
        mask = ids != PAD_ID
        mask = torch.cat([torch.ones_like(mask[:, :1]), mask[:, 1:]], dim=1)
        return self.embedding(ids), mask


def embedding_width(family: str, text: bool, embedding_dim: int | None) -> int | None:
    """``embedding_dim`` for text (default :data:`DEFAULT_EMBEDDING_DIM`); refused otherwise."""
    if not text:
        if embedding_dim is not None:
            raise ModelError(f"{family}: embedding_dim applies to text inputs (token ids) only")
        return None
    return positive_int("embedding_dim", DEFAULT_EMBEDDING_DIM if embedding_dim is None
                        else embedding_dim)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(B, T, D)`` over the steps where ``mask`` ``(B, T)`` is true."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max of ``(B, T, D)`` over the steps where ``mask`` ``(B, T)`` is true."""
    return x.masked_fill(~mask.unsqueeze(-1), torch.finfo(x.dtype).min).amax(dim=1)


def lengths(mask: torch.Tensor) -> torch.Tensor:
    """Steps up to and including the last real token (at least 1), on the CPU, int64."""
    steps = torch.arange(1, mask.shape[1] + 1, device=mask.device).expand_as(mask)
    return (steps * mask).amax(dim=1).clamp(min=1).cpu()

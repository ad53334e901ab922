"""``embedbag``: a fastText-style bag of token and n-gram embeddings, mean-pooled, linear head.

Joulin et al. (2017), "Bag of Tricks for Efficient Text Classification": word order is kept
only through hashed n-grams (consecutive ids hashed into ``buckets`` extra rows), the text's
vector is the mean of its embeddings, and a linear layer reads it. It trains in seconds and is
a strong baseline for sentiment and topic classification.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from honed.errors import ModelError
from honed.models._checks import fraction, positive_int, require_kind
from honed.models.layers import init_weights
from honed.models.registry import register_model
from honed.models.tokens import DEFAULT_EMBEDDING_DIM, PAD_ID, TokenEmbedding, masked_mean

__all__ = ["EmbedBag", "build_embedbag"]

_MIN_BUCKETS, _MAX_BUCKETS = 1024, 100_000
_HASH_PRIME = 1_000_003  # as in fastText's n-gram hashing: a prime multiplier per position


class EmbedBag(nn.Module):
    """Embeddings of tokens and hashed n-grams (2..``ngrams``), masked mean, dropout, ``head``."""

    def __init__(self, vocab_size: int, num_outputs: int, *, embedding_dim: int, ngrams: int,
                 buckets: int, dropout: float):
        super().__init__()
        self.vocab_size, self.ngrams, self.buckets = vocab_size, ngrams, buckets
        rows = vocab_size + (buckets if ngrams > 1 else 0)
        self.embed = TokenEmbedding(rows, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embedding_dim, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = x.long()
        real = ids != PAD_ID
        grams, masks = [ids], [real]
        for n in range(2, self.ngrams + 1):
            if ids.shape[1] < n:
                break
            code = ids[:, : ids.shape[1] - n + 1]
            keep = real[:, : ids.shape[1] - n + 1]
            for offset in range(1, n):
                # Reduced at every step so that the product stays well inside int64.
                code = (code * _HASH_PRIME + ids[:, offset: ids.shape[1] - n + 1 + offset]
                        ) % self.buckets
                keep = keep & real[:, offset: ids.shape[1] - n + 1 + offset]
            grams.append(torch.where(keep, code + self.vocab_size, torch.zeros_like(code)))
            masks.append(keep)
        vectors, mask = self.embed(torch.cat(grams, dim=1))
        # TokenEmbedding keeps position 0 for an empty text; the n-gram masks are exact.
        mask = torch.cat([mask[:, : ids.shape[1]], *masks[1:]], dim=1)
        return self.head(self.dropout(masked_mean(vectors, mask)))


@register_model(
    "embedbag",
    description="fastText-style bag of token and n-gram embeddings, mean-pooled (text).",
    kinds=("text",),
    knobs=("embedding_dim", "ngrams", "buckets", "dropout", "init", "vocab_size"),
)
def build_embedbag(input_shape: Sequence[int], num_outputs: int, *,
                   task: str = "classification", embedding_dim: int = DEFAULT_EMBEDDING_DIM,
                   ngrams: int = 1, buckets: int | None = None, dropout: float = 0.0,
                   init: str = "default", vocab_size: int | None = None) -> EmbedBag:
    """Build an :class:`EmbedBag` over token ids ``(max_length,)``.

    Args:
        input_shape: ``(max_length,)``.
        num_outputs: width of the linear head.
        task: classification, regression or forecasting.
        embedding_dim: width of every token and n-gram vector.
        ngrams: longest n-gram hashed in (1: tokens only, fastText's default; 2: and
            bigrams; 3: and trigrams).
        buckets: rows shared by the hashed n-grams; by default four per vocabulary token,
            within [1024, 100000] (fastText's 2 million suits far larger corpora).
        dropout: probability on the pooled vector.
        init: init scheme of the head (embeddings keep PyTorch's normal init).
        vocab_size: rows of the token table; the data sets it.
    """
    if vocab_size is None:
        raise ModelError("embedbag reads text: build it with vocab_size (the tokenizer's)")
    require_kind("embedbag", input_shape, ("text",), text=True)
    ngrams = positive_int("ngrams", ngrams)
    if ngrams > 3:
        raise ModelError(f"ngrams must be 1, 2 or 3; got {ngrams}")
    vocab_size = positive_int("vocab_size", vocab_size)
    if buckets is None:
        buckets = min(max(4 * vocab_size, _MIN_BUCKETS), _MAX_BUCKETS)
    model = EmbedBag(vocab_size, num_outputs,
                     embedding_dim=positive_int("embedding_dim", embedding_dim), ngrams=ngrams,
                     buckets=positive_int("buckets", buckets),
                     dropout=fraction("dropout", dropout))
    return init_weights(model, init)

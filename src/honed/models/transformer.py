"""``transformer``: a pre-norm Transformer encoder with mean pooling, for every input kind.

Tokens: a sequence ``(B, T, C)`` gives one token per ``patch`` consecutive steps and an image
``(B, C, H, W)`` one per ``patch`` rows (``patch * W * C`` values), each projected to ``hidden`` and given a learned position; a table
``(B, F)`` gives one token per feature, ``x_j * w_j + b_j`` (the FT-Transformer's feature
tokenizer, Gorishniy et al. 2021), whose per-feature bias already tells features apart, so it
needs no positions. Token ids ``(B, T)`` are embedded (``embedding_dim``, projected to
``hidden`` when they differ), given learned positions, attend only to real tokens (a key
padding mask) and are mean-pooled over real tokens only, so padding changes nothing.

Every activation of the spec works: the encoder layer accepts any activation module, so silu,
leaky_relu, tanh and sigmoid run inside its feed-forward block instead of being mapped to relu
or gelu.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from honed.errors import ModelError
from honed.models._checks import fraction, input_kind, positive_int
from honed.models.layers import activation as make_activation
from honed.models.layers import init_weights
from honed.models.registry import register_model
from honed.models.tokens import TokenEmbedding, embedding_width, masked_mean

__all__ = ["FeatureTokenizer", "Transformer", "build_transformer"]

_FFN_RATIO = 4  # feed-forward width / hidden, as in Vaswani et al. and BERT
_POSITION_STD = 0.02


class FeatureTokenizer(nn.Module):
    """``(B, F) -> (B, F, D)``: feature ``j`` becomes ``x_j * weight[j] + bias[j]``."""

    def __init__(self, features: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(features, dim))
        self.bias = nn.Parameter(torch.empty(features, dim))
        # The reference implementation's init; init_weights leaves this layer alone.
        bound = dim ** -0.5
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(-1) * self.weight + self.bias


class Transformer(nn.Module):
    """Token embedding, ``depth`` pre-norm encoder layers, final norm, mean over tokens, ``head``."""

    def __init__(self, input_shape: tuple[int, ...], num_outputs: int, *, hidden: int,
                 depth: int, heads: int, dropout: float, activation: str, patch: int = 1,
                 vocab_size: int | None = None, embedding_dim: int | None = None):
        super().__init__()
        self.kind = input_kind(input_shape, text=vocab_size is not None)
        self.patch = patch
        if self.kind == "text":
            width = embedding_width("transformer", True, embedding_dim)
            self.embed = TokenEmbedding(vocab_size, width)
            self.project = nn.Identity() if width == hidden else nn.Linear(width, hidden)
            self.position = nn.Parameter(torch.zeros(1, input_shape[0], hidden))
            nn.init.normal_(self.position, std=_POSITION_STD)
        elif self.kind == "table":
            self.embed: nn.Module = FeatureTokenizer(input_shape[0], hidden)
            self.register_parameter("position", None)
        else:
            if self.kind == "image":
                steps, size = input_shape[1], input_shape[0] * input_shape[2]
            else:
                steps, size = input_shape
            if steps % patch:
                raise ModelError(f"model family 'transformer': patch must divide the "
                                 f"{steps} steps (or image rows) of the input; got {patch}")
            tokens, size = steps // patch, size * patch
            self.embed = nn.Linear(size, hidden)
            self.position = nn.Parameter(torch.zeros(1, tokens, hidden))
            nn.init.normal_(self.position, std=_POSITION_STD)
        self.dropout = nn.Dropout(dropout)
        # A ModuleList rather than nn.TransformerEncoder: the latter warns about nested
        # tensors under norm_first and adds nothing without padding masks.
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=_FFN_RATIO * hidden,
                                       dropout=dropout, activation=make_activation(activation),
                                       batch_first=True, norm_first=True)
            for _ in range(depth))
        self.norm = nn.LayerNorm(hidden)  # pre-norm layers leave their output unnormalized
        self.head = nn.Linear(hidden, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "text":
            return self._forward_tokens(x)
        if self.kind == "image":
            x = x.permute(0, 2, 3, 1).flatten(2)  # (B, H, W, C) -> one row per step
        if self.kind != "table" and self.patch > 1:
            x = x.reshape(x.shape[0], x.shape[1] // self.patch, -1)  # patch steps -> one token
        x = self.embed(x)
        if self.position is not None:
            x = x + self.position
        x = self.dropout(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x).mean(dim=1))

    def _forward_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        x, mask = self.embed(ids)
        x = self.dropout(self.project(x) + self.position[:, : x.shape[1]])
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=~mask)
        return self.head(masked_mean(self.norm(x), mask))


@register_model(
    "transformer",
    description="Pre-norm Transformer encoder; steps, rows, features or text tokens as tokens.",
    kinds=("sequence", "image", "table", "text"),
    knobs=("hidden", "depth", "heads", "dropout", "activation", "init", "patch",
           "embedding_dim", "vocab_size"),
)
def build_transformer(input_shape: Sequence[int], num_outputs: int, *,
                      task: str = "classification", hidden: int = 64, depth: int = 2,
                      heads: int = 4, dropout: float = 0.1, activation: str = "gelu",
                      init: str = "default", patch: int = 1, embedding_dim: int | None = None,
                      vocab_size: int | None = None) -> Transformer:
    """Build a :class:`Transformer` encoder.

    Args:
        input_shape: one example's shape, of any kind.
        num_outputs: width of the final linear layer.
        task: classification, regression or forecasting.
        hidden: token width (``d_model``); the feed-forward block is 4x wider.
        depth: encoder layers.
        heads: attention heads; ``hidden`` must be divisible by it.
        dropout: probability on embeddings, attention weights and feed-forward outputs.
        activation: any of relu, leaky_relu, gelu, silu, tanh, sigmoid, in the feed-forward block.
        patch: consecutive steps (or image rows) per token, as in ViT and PatchTST; a few
            values per token give attention far more to work with than one scalar each.
        init: weight init scheme for every Linear and the attention projections; positions
            and the feature tokenizer keep their own small init.
        embedding_dim: token vector width (text only; default 64).
        vocab_size: token ids in: rows of the embedding (the data sets it).
    """
    text = vocab_size is not None
    embedding_width("transformer", text, embedding_dim)
    if text and patch != 1:
        raise ModelError("model family 'transformer': patch applies to sequences and images, "
                         "not text")
    hidden, heads = positive_int("hidden", hidden), positive_int("heads", heads)
    if hidden % heads:
        raise ModelError(f"hidden must be divisible by heads; got hidden={hidden}, heads={heads}")
    model = Transformer(tuple(input_shape), num_outputs, hidden=hidden,
                        depth=positive_int("depth", depth), heads=heads,
                        dropout=fraction("dropout", dropout), activation=activation,
                        patch=positive_int("patch", patch), vocab_size=vocab_size,
                        embedding_dim=embedding_dim)
    return init_weights(model, init, nonlinearity=activation)

"""``cnn``: a plain convolutional network, 2-D over images and 1-D over time for sequences
and for text (embedded token ids, as in Kim 2014)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from honed.models._checks import fraction, int_list, positive_int, require_kind
from honed.models.layers import activation as make_activation
from honed.models.layers import conv, global_average_pool, init_weights, norm_layer
from honed.models.registry import register_model
from honed.models.tokens import TokenEmbedding, embedding_width, masked_max

__all__ = ["CNN", "TextCNN", "build_cnn"]


class CNN(nn.Module):
    """Conv blocks (``depth`` x conv -> norm -> act, then a 2x max pool), global average pool,
    a dense layer of width ``hidden`` with dropout, and a linear ``head``.

    Sequences arrive as ``(B, T, C)`` and are turned into ``(B, C, T)`` so that the
    convolution slides over time. A pool is left out once a side is down to one step, so
    small inputs (8x8 digits, short windows) take any number of blocks.
    """

    def __init__(self, input_shape: tuple[int, ...], num_outputs: int, *,
                 channels: tuple[int, ...], kernel_size: int, depth: int, hidden: int,
                 dropout: float, activation: str, norm: str):
        super().__init__()
        self.dims = 2 if len(input_shape) == 3 else 1
        if self.dims == 2:
            width, sizes = input_shape[0], list(input_shape[1:])
        else:
            width, sizes = input_shape[1], [input_shape[0]]
        layers: list[nn.Module] = []
        for out in channels:
            for _ in range(depth):
                # BatchNorm's shift makes a conv bias redundant; other norms keep it.
                layers += [conv(self.dims, width, out, kernel_size, bias=norm != "batch"),
                           norm_layer(norm, out, dims=self.dims), make_activation(activation)]
                width = out
                # An even kernel padded by k // 2 grows each side by one.
                sizes = [size + 1 - kernel_size % 2 for size in sizes]
            pool = tuple(2 if size >= 2 else 1 for size in sizes)
            if max(pool) > 1:
                layers.append((nn.MaxPool2d if self.dims == 2 else nn.MaxPool1d)(pool))
                sizes = [size // step for size, step in zip(sizes, pool, strict=True)]
        self.features = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Linear(width, hidden), make_activation(activation),
                                   nn.Dropout(dropout))
        self.head = nn.Linear(hidden, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dims == 1:
            x = x.transpose(1, 2)
        x = self.features(x)
        x = global_average_pool(x)
        return self.head(self.dense(x))


class _PositionNorm(nn.LayerNorm):
    """LayerNorm over the channels of each step of ``(B, C, T)``: padding cannot leak in."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class TextCNN(nn.Module):
    """Token embedding, conv blocks over time without pooling, each block's output zeroed past
    the text's tokens, max over the real tokens, a dense layer and a linear ``head``."""

    def __init__(self, vocab_size: int, num_outputs: int, *, embedding_dim: int,
                 channels: tuple[int, ...], kernel_size: int, depth: int, hidden: int,
                 dropout: float, activation: str, norm: str):
        super().__init__()
        self.embed = TokenEmbedding(vocab_size, embedding_dim)
        blocks: list[nn.Module] = []
        width = embedding_dim
        for out in channels:
            for _ in range(depth):
                normed = (_PositionNorm(out) if norm == "layer"
                          else norm_layer(norm, out, dims=1))
                blocks.append(nn.Sequential(conv(1, width, out, kernel_size, bias=norm != "batch"),
                                            normed, make_activation(activation)))
                width = out
        self.blocks = nn.ModuleList(blocks)
        self.dense = nn.Sequential(nn.Linear(width, hidden), make_activation(activation),
                                   nn.Dropout(dropout))
        self.head = nn.Linear(hidden, num_outputs)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x, mask = self.embed(ids)
        keep = mask.unsqueeze(1).to(x.dtype)
        x = x.transpose(1, 2)
        for block in self.blocks:
            # An even kernel grows the length by one: keep the first T steps.
            x = block(x)[..., : mask.shape[1]] * keep
        return self.head(self.dense(masked_max(x.transpose(1, 2), mask)))


@register_model(
    "cnn",
    description="Conv blocks with max pooling, global average pool and a dense layer.",
    kinds=("image", "sequence", "text"),
    knobs=("channels", "kernel_size", "depth", "hidden", "dropout", "activation", "init",
           "norm", "embedding_dim", "vocab_size"),
)
def build_cnn(input_shape: Sequence[int], num_outputs: int, *, task: str = "classification",
              channels: Sequence[int] = (32, 64), kernel_size: int = 3, depth: int = 1,
              hidden: int = 128, dropout: float = 0.0, activation: str = "relu",
              init: str = "default", norm: str = "batch", embedding_dim: int | None = None,
              vocab_size: int | None = None) -> CNN | TextCNN:
    """Build a :class:`CNN` for ``(C, H, W)`` images or ``(T, C)`` sequences, or a
    :class:`TextCNN` for token ids ``(max_length,)`` (with ``vocab_size``).

    Args:
        input_shape: one example's shape.
        num_outputs: width of the final linear layer.
        task: classification, regression or forecasting.
        channels: output channels of each block; a pool follows every block.
        kernel_size: convolution size, padded by ``kernel_size // 2``.
        depth: convolutions per block.
        hidden: width of the dense layer after pooling.
        dropout: probability after the dense layer.
        activation: relu, leaky_relu, gelu, silu, tanh or sigmoid.
        init: weight init scheme (see :func:`honed.models.layers.init_weights`).
        norm: batch, layer or none, after each convolution.
        embedding_dim: token vector width (text only; default 64).
        vocab_size: token ids in: rows of the embedding (the data sets it).
    """
    text = vocab_size is not None
    require_kind("cnn", input_shape, ("image", "sequence", "text"), text=text)
    width = embedding_width("cnn", text, embedding_dim)
    if text:
        model = TextCNN(positive_int("vocab_size", vocab_size), num_outputs, embedding_dim=width,
                        channels=int_list("channels", channels),
                        kernel_size=positive_int("kernel_size", kernel_size),
                        depth=positive_int("depth", depth), hidden=positive_int("hidden", hidden),
                        dropout=fraction("dropout", dropout), activation=activation, norm=norm)
        return init_weights(model, init, nonlinearity=activation)
    model = CNN(tuple(input_shape), num_outputs, channels=int_list("channels", channels),
                kernel_size=positive_int("kernel_size", kernel_size),
                depth=positive_int("depth", depth), hidden=positive_int("hidden", hidden),
                dropout=fraction("dropout", dropout), activation=activation, norm=norm)
    return init_weights(model, init, nonlinearity=activation)

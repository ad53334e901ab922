"""``cnn``: a plain convolutional network, 2-D over images and 1-D over time for sequences."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from honed.models._checks import fraction, int_list, positive_int, require_kind
from honed.models.layers import activation as make_activation
from honed.models.layers import conv, global_average_pool, init_weights, norm_layer
from honed.models.registry import register_model

__all__ = ["CNN", "build_cnn"]


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


@register_model(
    "cnn",
    description="Conv blocks with max pooling, global average pool and a dense layer.",
    kinds=("image", "sequence"),
    knobs=("channels", "kernel_size", "depth", "hidden", "dropout", "activation", "init",
           "norm"),
)
def build_cnn(input_shape: Sequence[int], num_outputs: int, *, task: str = "classification",
              channels: Sequence[int] = (32, 64), kernel_size: int = 3, depth: int = 1,
              hidden: int = 128, dropout: float = 0.0, activation: str = "relu",
              init: str = "default", norm: str = "batch") -> CNN:
    """Build a :class:`CNN` for ``(C, H, W)`` images or ``(T, C)`` sequences.

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
    """
    require_kind("cnn", input_shape, ("image", "sequence"))
    model = CNN(tuple(input_shape), num_outputs, channels=int_list("channels", channels),
                kernel_size=positive_int("kernel_size", kernel_size),
                depth=positive_int("depth", depth), hidden=positive_int("hidden", hidden),
                dropout=fraction("dropout", dropout), activation=activation, norm=norm)
    return init_weights(model, init, nonlinearity=activation)

"""``resnet``: a small residual CNN (basic blocks), 2-D over images and 1-D over time."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from honed.errors import ModelError
from honed.models._checks import fraction, int_list, positive_int, require_kind
from honed.models.layers import activation as make_activation
from honed.models.layers import conv, global_average_pool, init_weights, norm_layer
from honed.models.registry import register_model

__all__ = ["BasicBlock", "ResNet", "build_resnet"]


class BasicBlock(nn.Module):
    """conv -> norm -> act -> conv -> norm, plus a shortcut, then act (He et al., 2016).

    The shortcut is a 1x1 conv + norm only where the width or the size changes, so that the
    identity path stays free elsewhere.
    """

    def __init__(self, dims: int, in_channels: int, out_channels: int, *, kernel_size: int,
                 stride: tuple[int, ...], activation: str, norm: str):
        super().__init__()
        bias = norm != "batch"  # BatchNorm's shift makes a conv bias redundant
        self.conv1 = conv(dims, in_channels, out_channels, kernel_size, stride=stride, bias=bias)
        self.norm1 = norm_layer(norm, out_channels, dims=dims)
        self.act1 = make_activation(activation)
        self.conv2 = conv(dims, out_channels, out_channels, kernel_size, bias=bias)
        self.norm2 = norm_layer(norm, out_channels, dims=dims)
        self.act2 = make_activation(activation)
        if in_channels != out_channels or max(stride) > 1:
            self.shortcut: nn.Module = nn.Sequential(
                conv(dims, in_channels, out_channels, 1, stride=stride, bias=bias),
                norm_layer(norm, out_channels, dims=dims))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
        return self.act2(out + self.shortcut(x))


class ResNet(nn.Module):
    """A stem conv, stages of ``depth`` basic blocks, global average pool and a linear ``head``.

    Each stage after the first halves every side that is still at least 2 long, with a
    strided first block; sequences ``(B, T, C)`` are turned into ``(B, C, T)`` first.
    """

    def __init__(self, input_shape: tuple[int, ...], num_outputs: int, *,
                 channels: tuple[int, ...], kernel_size: int, depth: int, dropout: float,
                 activation: str, norm: str):
        super().__init__()
        self.dims = 2 if len(input_shape) == 3 else 1
        if self.dims == 2:
            width, sizes = input_shape[0], list(input_shape[1:])
        else:
            width, sizes = input_shape[1], [input_shape[0]]
        self.stem = nn.Sequential(
            conv(self.dims, width, channels[0], kernel_size, bias=norm != "batch"),
            norm_layer(norm, channels[0], dims=self.dims), make_activation(activation))
        width = channels[0]
        stages = []
        for index, out in enumerate(channels):
            stride = tuple(2 if index > 0 and size >= 2 else 1 for size in sizes)
            sizes = [(size + step - 1) // step for size, step in zip(sizes, stride, strict=True)]
            blocks = []
            for block in range(depth):
                blocks.append(BasicBlock(self.dims, width, out, kernel_size=kernel_size,
                                         stride=stride if block == 0 else (1,) * self.dims,
                                         activation=activation, norm=norm))
                width = out
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dims == 1:
            x = x.transpose(1, 2)
        x = self.stages(self.stem(x))
        x = global_average_pool(x)
        return self.head(self.dropout(x))


@register_model(
    "resnet",
    description="Small residual CNN: stem, basic blocks per stage, downsampling, average pool.",
    kinds=("image", "sequence"),
    knobs=("channels", "depth", "kernel_size", "dropout", "activation", "init", "norm"),
)
def build_resnet(input_shape: Sequence[int], num_outputs: int, *,
                 task: str = "classification", channels: Sequence[int] = (16, 32, 64),
                 depth: int = 2, kernel_size: int = 3, dropout: float = 0.0,
                 activation: str = "relu", init: str = "default",
                 norm: str = "batch") -> ResNet:
    """Build a :class:`ResNet` for ``(C, H, W)`` images or ``(T, C)`` sequences.

    Args:
        input_shape: one example's shape.
        num_outputs: width of the final linear layer.
        task: classification, regression or forecasting.
        channels: width of each stage.
        depth: basic blocks per stage.
        kernel_size: odd convolution size, so that both paths of a block keep one shape.
        dropout: probability before the head.
        activation: relu, leaky_relu, gelu, silu, tanh or sigmoid.
        init: weight init scheme (see :func:`honed.models.layers.init_weights`).
        norm: batch, layer or none, after each convolution.
    """
    require_kind("resnet", input_shape, ("image", "sequence"))
    kernel_size = positive_int("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ModelError(f"kernel_size must be odd for resnet, so that the residual sum lines "
                         f"up; got {kernel_size}")
    model = ResNet(tuple(input_shape), num_outputs, channels=int_list("channels", channels),
                   kernel_size=kernel_size, depth=positive_int("depth", depth),
                   dropout=fraction("dropout", dropout), activation=activation, norm=norm)
    return init_weights(model, init, nonlinearity=activation)

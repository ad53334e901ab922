"""``mlp``: a stack of dense layers over the flattened input; the baseline for every kind."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import torch
from torch import nn

from honed.models._checks import fraction, positive_int
from honed.models.layers import activation as make_activation
from honed.models.layers import init_weights, norm_layer
from honed.models.registry import register_model

__all__ = ["MLP", "build_mlp"]


class MLP(nn.Module):
    """``depth`` blocks of Linear -> norm -> activation -> dropout, then a linear ``head``.

    Any input is flattened first, so an image or a sequence is read as one long vector.
    """

    def __init__(self, in_features: int, num_outputs: int, *, depth: int, hidden: int,
                 dropout: float, activation: str, norm: str):
        super().__init__()
        blocks: list[nn.Module] = []
        width = in_features
        for _ in range(depth):
            blocks += [
                # BatchNorm re-centres every unit, which makes a bias before it dead weight.
                nn.Linear(width, hidden, bias=norm != "batch"),
                norm_layer(norm, hidden, dims=0),
                make_activation(activation),
                nn.Dropout(dropout),
            ]
            width = hidden
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(width, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x.flatten(1)))


@register_model(
    "mlp",
    description="Dense layers over the flattened input; fast baseline for tables, any shape.",
    kinds=("table", "sequence", "image"),
    knobs=("depth", "hidden", "dropout", "activation", "init", "norm"),
)
def build_mlp(input_shape: Sequence[int], num_outputs: int, *, task: str = "classification",
              depth: int = 2, hidden: int = 128, dropout: float = 0.0,
              activation: str = "relu", init: str = "default", norm: str = "none") -> MLP:
    """Build an :class:`MLP`; ``task`` only changes what ``num_outputs`` means.

    Args:
        input_shape: one example's shape, flattened to ``prod(input_shape)`` features.
        num_outputs: width of the final linear layer.
        task: classification, regression or forecasting.
        depth: hidden layers.
        hidden: width of each hidden layer.
        dropout: probability after each hidden layer.
        activation: relu, leaky_relu, gelu, silu, tanh or sigmoid.
        init: weight init scheme (see :func:`honed.models.layers.init_weights`).
        norm: none, batch or layer, after each hidden Linear.
    """
    model = MLP(prod(input_shape), num_outputs, depth=positive_int("depth", depth),
                hidden=positive_int("hidden", hidden), dropout=fraction("dropout", dropout),
                activation=activation, norm=norm)
    return init_weights(model, init, nonlinearity=activation)

"""Pieces every family shares: activations, normalization and weight init, each by name.

The names are the spec's (:mod:`honed.spec.schema`), so a knob value read from YAML goes straight
in. ``dims`` says what a layer sees: 0 for features ``(B, F)``, 1 for ``(B, C, T)``, 2 for
``(B, C, H, W)``.
"""

from __future__ import annotations

import torch
from torch import nn

from honed.models._checks import one_of

__all__ = ["ACTIVATIONS", "NORMS", "INITS", "activation", "norm_layer", "conv", "init_weights",
           "global_average_pool",
           "canonical_init"]

ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid")
NORMS: tuple[str, ...] = ("none", "batch", "layer")
_INIT_ALIASES = {"xavier": "xavier_uniform", "glorot": "xavier_uniform",
                 "he": "kaiming_normal", "kaiming": "kaiming_normal"}
INITS: tuple[str, ...] = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                          "kaiming_normal", "orthogonal", "normal", *_INIT_ALIASES)
_LEAKY_SLOPE = 0.01
_NORMAL_STD = 0.02  # BERT/GPT convention: small enough that deep stacks start near linear
# Gains for kaiming init: GELU and SiLU behave like ReLU on the positive side.
_KAIMING_NONLINEARITY = {"relu": "relu", "gelu": "relu", "silu": "relu",
                         "leaky_relu": "leaky_relu", "tanh": "tanh", "sigmoid": "sigmoid"}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name (one of :data:`ACTIVATIONS`)."""
    one_of("activation", name, ACTIVATIONS)
    return {
        "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid, "leaky_relu": lambda: nn.LeakyReLU(_LEAKY_SLOPE),
    }[name]()


def norm_layer(name: str, features: int, *, dims: int) -> nn.Module:
    """A normalization layer by name (one of :data:`NORMS`) for ``features`` channels.

    ``layer`` on feature maps is ``GroupNorm`` with one group: it normalizes each example over
    all of (C, H, W) like ``LayerNorm`` would, without fixing the spatial size at build time.
    """
    one_of("norm", name, NORMS)
    if name == "none":
        return nn.Identity()
    if name == "batch":
        return (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(features)
    return nn.LayerNorm(features) if dims == 0 else nn.GroupNorm(1, features)


def conv(dims: int, in_channels: int, out_channels: int, kernel_size: int, *,
         stride: int | tuple[int, ...] = 1, bias: bool = True) -> nn.Module:
    """A 1-D or 2-D convolution padded by ``kernel_size // 2``.

    Explicit integer padding, rather than ``padding="same"``, keeps the graph a plain
    convolution for ONNX and works with strides; odd kernels keep the size unchanged.
    """
    layer = nn.Conv2d if dims == 2 else nn.Conv1d
    return layer(in_channels, out_channels, kernel_size, stride=stride,
                 padding=kernel_size // 2, bias=bias)


def canonical_init(scheme: str) -> str:
    """The full name of an init scheme: ``he`` -> ``kaiming_normal``, ``glorot`` -> ``xavier_uniform``."""
    one_of("init", scheme, INITS)
    return _INIT_ALIASES.get(scheme, scheme)


@torch.no_grad()
def init_weights(module: nn.Module, scheme: str, *, nonlinearity: str = "relu") -> nn.Module:
    """Re-initialize the weights of every Linear, Conv, recurrent and attention layer in place.

    Biases become zero; normalization layers and embeddings keep their own init. Stacked
    weights (the gates of an LSTM, the q/k/v of attention) are initialized one block at a
    time, so ``orthogonal`` makes each gate's recurrent matrix orthogonal. ``default`` leaves
    PyTorch's init untouched.

    Args:
        module: the model, changed in place and returned.
        scheme: one of :data:`INITS`.
        nonlinearity: the activation that follows, for the gain of the kaiming schemes.

    Example:
        >>> init_weights(nn.Linear(4, 2), "he").bias.abs().sum().item()
        0.0
    """
    scheme = canonical_init(scheme)
    if scheme == "default":
        return module
    one_of("activation", nonlinearity, ACTIVATIONS)
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            _fill(layer.weight, scheme, nonlinearity)
            _zero(layer.bias)
        elif isinstance(layer, nn.RNNBase):
            gates = {"LSTM": 4, "GRU": 3}.get(layer.mode, 1)
            for name, param in layer.named_parameters(recurse=False):
                if name.startswith("weight"):
                    for block in param.chunk(gates, dim=0):
                        _fill(block, scheme, "tanh")
                else:
                    _zero(param)
        elif isinstance(layer, nn.MultiheadAttention):
            if layer.in_proj_weight is not None:
                for block in layer.in_proj_weight.chunk(3, dim=0):
                    _fill(block, scheme, "relu")
            else:
                for weight in (layer.q_proj_weight, layer.k_proj_weight, layer.v_proj_weight):
                    _fill(weight, scheme, "relu")
            _zero(layer.in_proj_bias)
    return module


def _fill(weight: torch.Tensor, scheme: str, nonlinearity: str) -> None:
    if scheme == "xavier_uniform":
        nn.init.xavier_uniform_(weight)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(weight)
    elif scheme in ("kaiming_uniform", "kaiming_normal"):
        fill = nn.init.kaiming_uniform_ if scheme == "kaiming_uniform" else nn.init.kaiming_normal_
        fill(weight, a=_LEAKY_SLOPE, nonlinearity=_KAIMING_NONLINEARITY[nonlinearity])
    elif scheme == "orthogonal":
        nn.init.orthogonal_(weight)
    else:  # normal
        nn.init.normal_(weight, mean=0.0, std=_NORMAL_STD)


def _zero(bias: torch.Tensor | None) -> None:
    if bias is not None:
        nn.init.zeros_(bias)


def global_average_pool(x: torch.Tensor) -> torch.Tensor:
    """Mean over every spatial or time axis: ``(B, C, ...) -> (B, C)``.

    A plain mean rather than ``AdaptiveAvgPool``: it exports to a single ReduceMean in ONNX.
    """
    return x.mean(dim=tuple(range(2, x.dim())))

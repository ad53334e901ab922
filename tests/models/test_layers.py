"""Shared layers: activations and norms by name, and what each init scheme really does."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from honed.errors import ModelError
from honed.models import create_model, init_weights
from honed.models.layers import ACTIVATIONS, activation, canonical_init, norm_layer


def test_activation_by_name() -> None:
    assert [type(activation(name)).__name__ for name in ACTIVATIONS] == [
        "ReLU", "LeakyReLU", "GELU", "SiLU", "Tanh", "Sigmoid"]
    with pytest.raises(ModelError, match="activation must be one of"):
        activation("mish")


def test_norm_by_name() -> None:
    assert isinstance(norm_layer("none", 4, dims=0), nn.Identity)
    assert isinstance(norm_layer("batch", 4, dims=0), nn.BatchNorm1d)
    assert isinstance(norm_layer("batch", 4, dims=1), nn.BatchNorm1d)
    assert isinstance(norm_layer("batch", 4, dims=2), nn.BatchNorm2d)
    assert isinstance(norm_layer("layer", 4, dims=0), nn.LayerNorm)
    # Over feature maps, "layer" normalizes each example over all of (C, H, W).
    layer = norm_layer("layer", 4, dims=2)
    assert isinstance(layer, nn.GroupNorm) and layer.num_groups == 1


def test_aliases() -> None:
    assert canonical_init("he") == canonical_init("kaiming") == "kaiming_normal"
    assert canonical_init("glorot") == canonical_init("xavier") == "xavier_uniform"


def test_default_leaves_pytorch_init() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(4, 3)
    bias = layer.bias.detach().clone()
    init_weights(layer, "default")
    assert torch.equal(layer.bias, bias)


@pytest.mark.parametrize("scheme", ["xavier_uniform", "he", "orthogonal", "normal"])
def test_schemes_zero_biases_and_skip_norms(scheme: str) -> None:
    model = create_model("cnn", input_shape=(1, 6, 6), num_outputs=3, channels=[4],
                         norm="layer", hidden=8, init=scheme)
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)) and module.bias is not None:
            assert not module.bias.any()
        if isinstance(module, nn.GroupNorm):
            assert torch.equal(module.weight, torch.ones(4))


def test_normal_and_kaiming_scales() -> None:
    torch.manual_seed(0)
    layer = init_weights(nn.Linear(1000, 200), "normal")
    assert abs(layer.weight.std().item() - 0.02) < 0.001
    layer = init_weights(nn.Linear(1000, 200), "he")
    assert abs(layer.weight.std().item() - (2 / 1000) ** 0.5) < 0.002


def test_orthogonal_recurrent_gates() -> None:
    model = create_model("lstm", input_shape=(5, 3), num_outputs=2, hidden=6, init="orthogonal")
    for gate in model.rnn.weight_hh_l0.detach().chunk(4, dim=0):
        assert torch.allclose(gate @ gate.T, torch.eye(6), atol=1e-5)
    assert not model.rnn.bias_hh_l0.any() and not model.rnn.bias_ih_l0.any()


def test_attention_projections_follow_the_scheme() -> None:
    model = create_model("transformer", input_shape=(4, 2), num_outputs=2, hidden=8, heads=2,
                         depth=1, init="orthogonal")
    attention = model.layers[0].self_attn
    for block in attention.in_proj_weight.detach().chunk(3, dim=0):
        assert torch.allclose(block @ block.T, torch.eye(8), atol=1e-5)
    assert not attention.in_proj_bias.any()

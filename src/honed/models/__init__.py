"""Model families and the registry behind them: build, save, load and fine-tune models.

Example:
    >>> from honed.models import create_model, list_models
    >>> [info.name for info in list_models()]
    ['cnn', 'embedbag', 'gru', 'lstm', 'mlp', 'resnet', 'rnn', 'transformer']
    >>> model = create_model("cnn", input_shape=(1, 8, 8), num_outputs=10, channels=[16, 32])
"""

from __future__ import annotations

# Importing a family module registers it (each imports the registry itself).
from honed.models import cnn, embedbag, gru, lstm, mlp, resnet, rnn, transformer  # noqa: F401
from honed.models.layers import init_weights
from honed.models.registry import (
    ModelInfo,
    create_model,
    list_models,
    model_info,
    register_model,
)
from honed.models.saving import count_parameters, load_model, read_model_json, save_model
from honed.models.transfer import (
    backbone_names,
    freeze,
    hold_frozen_norms,
    load_weights,
    pattern_errors,
    unfreeze,
    weight_names,
)

__all__ = [
    "ModelInfo",
    "backbone_names",
    "count_parameters",
    "create_model",
    "freeze",
    "hold_frozen_norms",
    "init_weights",
    "list_models",
    "load_model",
    "load_weights",
    "model_info",
    "read_model_json",
    "register_model",
    "save_model",
    "unfreeze",
    "pattern_errors",
    "weight_names",
]

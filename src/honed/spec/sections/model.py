"""The ``model`` section: a family, its architecture knobs, and transfer learning."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from honed.spec.imports import checked_family
from honed.spec.sections.common import Section

__all__ = ["ModelSpec", "Activation", "Init", "Norm"]

Activation = Literal["relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid"]
Init = Literal[
    "default",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "normal",
    # the short names of the design notes
    "xavier",
    "glorot",
    "he",
    "kaiming",
]
Norm = Literal["none", "batch", "layer"]


class ModelSpec(Section):
    """A model family and its knobs; ``null`` leaves a knob at the family's default (see
    ``honed list models``)."""

    family: Annotated[str, BeforeValidator(checked_family)] = Field(
        min_length=1, description="The model family (`honed list models`), a name registered "
                                  "with `register_model`, or `package.module:function` "
                                  "when imports are allowed (`--allow-import`). "
                                  "`timm:NAME` is refused: timm needs torchvision, which "
                                  "has no CPU build on PyPI.")
    depth: Annotated[int, Field(ge=1, le=64)] | None = Field(
        None, description="Layers (mlp, rnn, transformer), convolutions per block (cnn) or "
                          "blocks per stage (resnet).")
    hidden: Annotated[int, Field(ge=1, le=65536)] | None = Field(
        None, description="Width of the hidden layers (d_model for transformer).")
    channels: list[Annotated[int, Field(ge=1, le=4096)]] | None = Field(
        None, description="Channels per block (cnn) or per stage (resnet).")
    heads: Annotated[int, Field(ge=1, le=64)] | None = Field(
        None, description="Attention heads (transformer); must divide `hidden`.")
    kernel_size: Annotated[int, Field(ge=1, le=31)] | None = Field(
        None, description="Convolution kernel size (cnn, resnet).")
    patch: Annotated[int, Field(ge=1, le=4096)] | None = Field(
        None, description="Transformer: sequence steps per token.")
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] | None = Field(
        None, description="Dropout probability.")
    activation: Activation | None = Field(None, description="The hidden activation function.")
    init: Init | None = Field(
        None, description="Weight initialization; `default` keeps PyTorch's; `xavier` and "
                          "`glorot` mean `xavier_uniform`, `he` and `kaiming` "
                          "`kaiming_normal`.")
    norm: Norm | None = Field(None, description="Normalization layers: batch norm, layer norm, "
                                                "or none.")
    bidirectional: bool | None = Field(None, description="Recurrent families: read the "
                                                         "sequence in both directions.")
    embedding_dim: Annotated[int, Field(ge=1, le=4096)] | None = Field(
        None, description="Text inputs: width of the token embedding.")
    ngrams: Annotated[int, Field(ge=1, le=3)] | None = Field(
        None, description="embedbag: longest hashed n-gram of tokens (1: single tokens).")
    # transfer learning
    init_from: str | None = Field(
        None, description="Start from these weights: a `.safetensors` file or a run dir.")
    init_exclude: list[str] = Field(
        [], description="Name patterns (fnmatch) not taken from `init_from`, e.g. a new head; "
                        "they train at the full rate under `train.backbone_lr_factor`. Needs "
                        "`init_from`; on text beside table columns the text model's own names "
                        "(`embed.*`) work too.")
    freeze: list[str] = Field(
        [], description="Parameter name patterns (fnmatch) kept frozen during training.")
    unfreeze_after: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Make frozen parameters trainable from this epoch on; needs `freeze`.")

    @model_validator(mode="after")
    def _transfer_knobs_need_their_partner(self) -> ModelSpec:
        # refused, not ignored: a knob that does nothing hides a forgotten init_from or freeze
        if self.init_exclude and not self.init_from:
            raise ValueError(f"model.init_exclude {self.init_exclude} names what model.init_from "
                             "does not load, but init_from is not set; set it or drop init_exclude")
        if self.unfreeze_after is not None and not self.freeze:
            raise ValueError(f"model.unfreeze_after {self.unfreeze_after} unfreezes what "
                             "model.freeze froze, but freeze is empty; set it or drop "
                             "unfreeze_after")
        return self

    def knobs(self) -> dict:
        """The architecture knobs the user set, for ``create_model``."""
        names = ("depth", "hidden", "channels", "heads", "kernel_size", "patch", "dropout",
                 "activation", "init", "norm", "bidirectional", "embedding_dim", "ngrams")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

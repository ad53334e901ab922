"""The ``train`` section: the optimizer, schedule, regularization and the loop's settings."""

from __future__ import annotations

from sys import float_info
from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema, field_validator

from honed.spec.sections.common import Duration, NonNegativeFloat, PositiveFloat, Section

__all__ = ["TrainSpec", "OptimizerSpec", "ScheduleSpec", "ClipSpec", "EMASpec",
           "EarlyStoppingSpec", "CheckpointSpec"]


class OptimizerSpec(Section):
    """The optimizer by name, with its knobs; a knob an optimizer does not use is ignored."""

    name: Literal["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"] = Field(
        "adamw", description="The optimizer: plain SGD, SGD with heavy-ball or Nesterov "
                             "momentum, RMSprop, Adam or AdamW.")
    # the schema says what the validator below accepts: a number > 0 or auto
    lr: Annotated[float | str, WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                                                         {"const": "auto"}]})] = Field(
        1e-3, description="The learning rate, or `auto`: the LR range test's suggestion.")
    weight_decay: NonNegativeFloat = Field(
        0.0, description="Decoupled weight decay (AdamW's `w ← w − lr·wd·w`) for every "
                         "optimizer; biases and norm weights are not decayed.")
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.9, description="The momentum of `momentum` and `nesterov` (> 0 for `nesterov`).")
    beta1: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.9, description="`adam` and `adamw`: decay of the gradient's running mean.")
    beta2: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.999, description="`adam` and `adamw`: decay of the squared gradient's running mean.")
    eps: PositiveFloat = Field(
        1e-8, description="`adam`, `adamw` and `rmsprop`: added to the denominator for stability.")

    @field_validator("lr", mode="before")
    @classmethod
    def _lr_or_auto(cls, value):
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= float_info.max:
            raise ValueError("must be a finite number greater than 0, or auto")
        return float(value)


class ScheduleSpec(Section):
    """The learning-rate schedule, stepped every batch, after an optional linear warmup."""

    name: Literal["constant", "step", "exponential", "cosine", "onecycle", "plateau"] = Field(
        "constant", description="`step`: × `gamma` every `step_size` epochs; `exponential`: "
                                "× `gamma` per epoch; `cosine`: down to `min_lr`; "
                                "`plateau`: × `factor` when `train.monitor` stalls.")
    warmup_epochs: NonNegativeFloat = Field(
        0.0, description="Epochs of linear warmup before the schedule starts; may be "
                         "fractional.")
    step_size: Annotated[int, Field(ge=1)] = Field(
        10, description="`step`: epochs between decays.")
    gamma: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.1, description="`step` and `exponential`: the decay factor.")
    min_lr: NonNegativeFloat = Field(
        0.0, description="The floor of every decaying schedule (× "
                         "`train.backbone_lr_factor` for a fine-tuned backbone).")
    max_lr_factor: Annotated[float, Field(ge=1.0)] = Field(
        10.0, description="`onecycle`: the peak learning rate is `lr` × `max_lr_factor`.")
    pct_start: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.3, description="`onecycle`: the share of the steps spent rising to the peak.")
    factor: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.1, description="`plateau`: the decay factor.")
    patience: Annotated[int, Field(ge=0)] = Field(
        3, description="`plateau`: validations without improvement before a decay.")


class ClipSpec(Section):
    """Gradient clipping, by norm and/or by value; off when both are null."""

    norm: PositiveFloat | None = Field(
        None, description="Clip the gradients' global L2 norm to this.")
    value: PositiveFloat | None = Field(
        None, description="Clip each gradient element to ±`value`.")


class EMASpec(Section):
    """An exponential moving average of the weights, used for validation and saved as the
    model."""

    decay: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.999, description="The weight of the running average at each step.")


class CheckpointSpec(Section):
    """When a run with an output dir saves ``checkpoints/last``: whichever of the two comes
    first; also after the first epoch, at the end, and on Ctrl-C, SIGTERM or an error (then
    the last finished epoch). A kill loses at most the epochs since the last save."""

    every_epochs: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Save after this many epochs since the last save (1: every epoch); "
                          "null: by time only.")
    every_seconds: Duration | None = Field(
        30.0, description="Save at the end of the first epoch this long after the last save "
                          "(`30`, `90s`, `5m`); a kill loses at most this plus one epoch; "
                          "null: by epochs only.")


class EarlyStoppingSpec(Section):
    """Stop training when the monitored metric stops improving."""

    patience: Annotated[int, Field(ge=1)] = Field(
        5, description="Epochs without improvement before training stops.")
    min_delta: NonNegativeFloat = Field(
        0.0, description="The smallest change that counts as an improvement.")
    monitor: str | None = Field(
        None, description="The `val.<metric>` watched; null: `train.monitor`.")


class TrainSpec(Section):
    """How the model is trained: budget, optimizer, schedule, regularization and hardware."""

    epochs: Annotated[int, Field(ge=1, le=100000)] = Field(
        20, description="Passes over the training split.")
    # the schema says what the validator below accepts: 1 to 2**20, or auto
    batch_size: Annotated[int | str, WithJsonSchema({"anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 1 << 20}, {"const": "auto"}]})] = Field(
        64, description="Rows per optimizer step, or `auto`: the largest power of two that "
                        "leaves 400 steps per epoch, from 64 to 1024.")
    optimizer: OptimizerSpec = Field(OptimizerSpec(), description="The optimizer.")
    schedule: ScheduleSpec = Field(ScheduleSpec(), description="The learning-rate schedule.")
    backbone_lr_factor: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        1.0, description="Fine-tuning: the parameters `model.init_from` fills (all but "
                         "`model.init_exclude`) train at the learning rate × this, the new "
                         "ones at the learning rate, through every schedule; below 1 it needs "
                         "`model.init_from` and `model.init_exclude`.")
    l1: NonNegativeFloat = Field(
        0.0, description="The penalty `l1 × Σ abs(w)` over the weights, added to the loss.")
    l2: NonNegativeFloat = Field(
        0.0, description="The penalty `l2 × Σ w²` over the weights, added to the loss.")
    label_smoothing: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.0, description="Classification: the share of each label spread over the other "
                         "classes.")
    clip: ClipSpec = Field(ClipSpec(), description="Gradient clipping; off by default.")
    ema: EMASpec | None = Field(None, description="Weight averaging; null: off.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "fp32", description="`bf16` autocast on CPU; `fp16` (with a gradient scaler) or "
                            "`bf16` on CUDA; `auto`: bf16 or fp16 on CUDA, fp32 on CPU.")
    early_stopping: EarlyStoppingSpec | None = Field(
        None, description="Early stopping; null: off.")
    monitor: str = Field(
        "val.loss", description="The `val.<metric>` that picks the best checkpoint and drives "
                                "plateau schedules and early stopping.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where to train; `auto`: CUDA when present, else CPU.")
    # None is accepted as before auto existed: it means all
    threads: Annotated[int, Field(ge=1, le=1024)] | Literal["auto", "all"] | None = Field(
        "auto", description="Torch intra-op threads: a number; `all`: every core; `auto`: the "
                            "cores the machine's load leaves free, shared among search "
                            "workers.")
    probes: bool = Field(
        True, description="Record gradient and activation probes for `honed doctor` (when "
                          "there is an output dir).")
    channels_last: bool = Field(
        False, description="Images: keep the model's weights and each batch in channels-last "
                           "memory order (NHWC), which convolutions on CUDA tensor cores and "
                           "on recent CPUs run faster; other inputs are left as they are.")
    compile: bool = Field(
        False, description="Train through `torch.compile(model)` (TorchInductor; needs a C++ "
                           "compiler on CPU): the first epoch pays the compilation, later "
                           "steps run fused kernels. Saved weights are the plain model's.")
    checkpoint: CheckpointSpec = Field(
        CheckpointSpec(), description="How often a run with an output dir saves a resumable "
                                      "checkpoint.")

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_or_auto(cls, value):
        if value == "auto":
            return value
        if isinstance(value, str) and value.strip().isdigit():  # as pydantic's int took it
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1 << 20:
            raise ValueError("must be a whole number from 1 to 1048576, or auto")
        return value

"""The ``compress`` section: pruning, quantization, distillation and the budgeted search."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from honed.spec.sections.common import (
    Duration,
    Fraction,
    NonNegativeFloat,
    PositiveFloat,
    Section,
    Seed,
    pair,
)
from honed.spec.sections.model import ModelSpec

__all__ = ["CompressSpec", "PruneSpec", "QuantizeSpec", "DistillSpec", "CompressSearchSpec"]


class PruneSpec(Section):
    """Pruning: ``magnitude`` zeroes weights (masks made permanent), ``structured`` removes
    channels and neurons; ``steps`` rounds reach ``amount``, each fine-tuned for
    ``finetune_epochs`` with the spec's trainer. Left unset, structured pruning runs 2 rounds
    fine-tuned (by distillation from the unpruned model) for as many epochs in all as the run
    trained, and stops before a round that breaks the accuracy budget on val (by more than
    one standard error)."""

    method: Literal["magnitude", "structured"] = Field(
        "magnitude", description="`magnitude`: the smallest weights become zeros; "
                                 "`structured`: whole channels and neurons are removed (mlp, cnn, resnet).")
    scope: Literal["global", "layer"] = Field(
        "global", description="One threshold over all layers, or the same share per layer; "
                              "`structured` prunes per layer unless set.")
    amount: Fraction = Field(
        0.5, description="The share of weights (`magnitude`) or channels (`structured`) removed.")
    steps: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="Rounds: round k of n prunes to `amount` × k / n; null: 2 "
                          "(`structured`), 1 (`magnitude`).")
    finetune_epochs: Annotated[int, Field(ge=0, le=100000)] | None = Field(
        None, description="Epochs of fine-tuning after each round, with the spec's train "
                           "section; null: `train.epochs` shared by the rounds "
                           "(`structured`), 0 (`magnitude`).")
    round_to: Annotated[int, Field(ge=1, le=1024)] = Field(
        16, description="`structured`: channel counts are multiples of this (ONNX Runtime's "
                        "CPU kernels are fastest so); 1: as they fall.")


class QuantizeSpec(Section):
    """int8 quantization of the exported ONNX model with ONNX Runtime; a model slower than
    the float model it came from is shown but not kept."""

    method: Literal["int8", "dynamic", "static"] = Field(
        "int8", description="Kept for older specs: `dynamic` and `static` also set `mode`.")
    mode: Literal["dynamic", "static"] = Field(
        "static", description="`static`: QDQ, activations calibrated on training rows; "
                              "`dynamic`: int8 weights only (often slower than float on CPU).")
    calibration: Literal["minmax", "entropy", "percentile"] = Field(
        "minmax", description="`static`: how activation ranges are calibrated.")
    samples: Annotated[int, Field(ge=1, le=1 << 20)] = Field(
        256, description="`static`: calibration rows, evenly spaced over the training split.")
    per_channel: bool = Field(True, description="One weight scale per output channel.")

    @model_validator(mode="before")
    @classmethod
    def _method_sets_mode(cls, value):
        if isinstance(value, dict) and value.get("method") in ("dynamic", "static"):
            value = {"mode": value["method"], **value}
        return value


class DistillSpec(Section):
    """Knowledge distillation: the teacher trains ``student`` with
    ``alpha * T^2 * KL + (1 - alpha) * task loss``."""

    student: ModelSpec = Field(description="The student: a model section, any family.")
    teacher: str | None = Field(
        None, description="A run dir whose model teaches; null: the run's own model.")
    # T = 2, alpha = 0.5: the only setting of bench/distill_defaults.py that did not lose to the
    # student trained alone on the mean over seeds on any of digits, breast_cancer, wine and
    # MNIST-1D; the former 4.0 / 0.7 lost on digits, wine and MNIST-1D
    temperature: PositiveFloat = Field(
        2.0, description="T, the softmax temperature of teacher and student.")
    alpha: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.5, description="The weight of the teacher's term in the loss.")
    epochs: Annotated[int, Field(ge=1, le=100000)] | None = Field(
        None, description="The student's epochs; null: `train.epochs`.")


class CompressSearchSpec(Section):
    """The multi-objective study over compression settings (metric, latency, size), with the
    accuracy budget as a constraint; every list below is the range or the options searched."""

    trials: Annotated[int, Field(ge=1, le=10000)] = Field(
        12, description="Trials of the compression study.")
    timeout: Duration | None = Field(
        None, description="Stop starting trials after this long: seconds, or 90s, 5m, 2h, 1d.")
    sampler: Literal["nsga2", "tpe"] = Field("nsga2", description="The Optuna sampler.")
    methods: list[Literal["none", "magnitude", "structured"]] = Field(
        default=["none", "magnitude", "structured"], min_length=1,
        description="The pruning methods tried.")
    amount: pair(Fraction) = Field(
        [0.2, 0.8], description="The [low, high] range of the pruned share.")
    quantize: list[Literal["none", "dynamic", "static"]] = Field(
        default=["none", "static"], min_length=1, description="The quantization modes tried.")
    width: list[Annotated[float, Field(gt=0.0, le=4.0)]] = Field(
        default=[0.25, 0.5, 1.0], min_length=1,
        description="With `distill`: the student's `hidden` and `channels` × each.")
    temperature: pair(PositiveFloat) = Field(
        [1.0, 8.0], description="With `distill`: the [low, high] range of `temperature`.")
    alpha: pair(Annotated[float, Field(ge=0.0, le=1.0)]) = Field(
        [0.1, 0.95], description="With `distill`: the [low, high] range of `alpha`.")
    seed: Seed | None = Field(None, description="The sampler's seed; null: the spec's seed.")

    @model_validator(mode="after")
    def _ranges_ordered(self):
        for name in ("amount", "temperature", "alpha"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name} is an inverted range: {low} > {high}")
        return self


class CompressSpec(Section):
    """What ``honed compress`` and the compress stage of ``honed run`` build and measure; each
    of ``prune``, ``quantize``, ``distill`` and ``search`` that is set builds its variants."""

    prune: PruneSpec | None = Field(None, description="Pruning; null: off.")
    quantize: QuantizeSpec | None = Field(
        None, description="int8 quantization of the baseline and of every other variant; "
                          "null: off.")
    distill: DistillSpec | None = Field(None, description="Distillation; null: off.")
    search: CompressSearchSpec | None = Field(
        None, description="The accuracy-budgeted search; null: off.")
    max_accuracy_drop: NonNegativeFloat | None = Field(
        None, description="Classification: the largest test accuracy drop a chosen variant "
                          "may have (0.01 = 1 point); null: 0.01.")
    max_metric_drop: NonNegativeFloat | None = Field(
        None, description="Regression and forecasting: the largest drop of r2; null: 0.01.")
    threads: Annotated[int, Field(ge=1, le=1024)] | None = Field(
        None, description="Threads of every latency measurement; null: 1.")

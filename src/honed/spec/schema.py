"""Pydantic models of the spec: one class per section, unknown keys rejected.

The models describe a *point*: concrete values. Search dimensions written inline
(``{float: [lo, hi]}`` ...) are found and resolved by :mod:`honed.spec.space` before a spec
reaches these models; validation checks every bound and option of a dimension against the rules
here, so a range that leaves a field's domain is reported like any other bad value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from honed.spec.duration import parse_duration
from honed.spec.memory import memory_source

__all__ = [
    "Spec",
    "DataSpec",
    "SplitSpec",
    "CleanSpec",
    "AugmentSpec",
    "WindowSpec",
    "TokenizerSpec",
    "ModelSpec",
    "TrainSpec",
    "OptimizerSpec",
    "ScheduleSpec",
    "ClipSpec",
    "EMASpec",
    "EarlyStoppingSpec",
    "SearchSpec",
    "SamplerSpec",
    "PrunerSpec",
    "CompressSpec",
    "PruneSpec",
    "QuantizeSpec",
    "DistillSpec",
    "CompressSearchSpec",
    "ExportSpec",
]

Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


# ---------------------------------------------------------------- data
class SplitSpec(_Section):
    """How rows are divided; fractions of the whole table (test is never seen by search)."""

    val: Fraction = 0.15
    test: Fraction = 0.15
    stratify: bool = True
    shuffle: bool = True  # forecasting always splits in time order

    @model_validator(mode="after")
    def _room_for_train(self) -> SplitSpec:
        if self.val + self.test >= 0.9:
            raise ValueError(
                f"val + test must leave at least 10% for training; got {self.val} + {self.test}"
            )
        return self


class CleanSpec(_Section):
    """Table cleaning, fitted on the training split only."""

    impute: Literal["mean", "median", "most_frequent", "drop"] = "median"
    clip: Literal["none", "iqr", "zscore", "quantile"] = "iqr"
    clip_factor: PositiveFloat = 3.0  # IQR multiple, z-score bound, or tail fraction x 100
    encoding: Literal["onehot", "ordinal"] = "onehot"
    max_categories: Annotated[int, Field(ge=2)] = 50


class AugmentSpec(_Section):
    """Training-time augmentation; every field off by default."""

    rotate: Annotated[float, Field(ge=0.0, le=180.0)] = 0.0  # degrees, uniform in [-r, r]
    shift: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0  # fraction of width/height
    zoom: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0  # scale in [1 - z, 1 + z]
    shear: Annotated[float, Field(ge=0.0, le=45.0)] = 0.0  # degrees
    flip: bool = False  # horizontal flip with probability 0.5
    noise: NonNegativeFloat = 0.0  # Gaussian noise std, in scaled units
    mixup: NonNegativeFloat = 0.0  # Beta(a, a) mixing; 0 turns it off


class WindowSpec(_Section):
    """Sliding windows cut from a time series for forecasting."""

    lookback: Annotated[int, Field(ge=1)] = 52
    horizon: Annotated[int, Field(ge=1)] = 1


class TokenizerSpec(_Section):
    """How free text becomes token ids: a Hugging Face ``tokenizers`` model fitted on train."""

    kind: Literal["word", "bpe", "wordpiece"] = Field(
        "word", description="word-level, byte-pair encoding or WordPiece")
    vocab_size: Annotated[int, Field(ge=8, le=1_000_000)] = Field(
        20000, description="most tokens kept, special tokens included")
    lowercase: bool = Field(True, description="lowercase before splitting")
    min_frequency: Annotated[int, Field(ge=1)] = Field(
        2, description="a token seen fewer times in the training split is unknown")
    max_length: Annotated[int, Field(ge=1, le=8192)] = Field(
        128, description="tokens per text: longer texts are cut, shorter ones padded")
    file: str | None = Field(
        None, description="a tokenizer.json (or a run dir holding one) used as it is instead "
        "of fitting one: the init_from run's, so token ids keep their meaning")


def _names(value):
    return [value] if isinstance(value, str) else value


class DataSpec(_Section):
    source: str = Field(min_length=1)
    target: str | None = None
    features: list[str] | None = None
    task: Literal["auto", "classification", "regression", "forecasting"] = "auto"
    split: SplitSpec = SplitSpec()
    scale: Literal["none", "standard", "minmax"] = "standard"
    scale_target: bool = True  # standardize regression/forecast targets (metrics stay in units)
    clean: CleanSpec = CleanSpec()
    augment: AugmentSpec = AugmentSpec()
    window: WindowSpec = WindowSpec()
    limit: Annotated[int, Field(ge=10)] | None = None  # keep at most this many rows (seeded)
    text: Annotated[list[str] | None, BeforeValidator(_names)] = Field(
        None, description="table columns of free text, tokenized and fed to the model")
    tokenizer: TokenizerSpec = TokenizerSpec()

    @field_validator("source", mode="before")
    @classmethod
    def _in_memory(cls, value):
        """A DataFrame or ``(X, y)`` from Python stands in the spec as ``memory:KEY``."""
        return value if isinstance(value, str) else memory_source(value)

    @field_validator("source")
    @classmethod
    def _source_form(cls, value: str) -> str:
        if value.startswith("builtin:") and len(value) == len("builtin:"):
            raise ValueError("builtin: must be followed by a dataset name, e.g. builtin:digits")
        return value


# ---------------------------------------------------------------- model
Activation = Literal["relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid"]
Init = Literal[
    "default",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "normal",
    # DESIGN.md's short names
    "xavier",
    "glorot",
    "he",
    "kaiming",
]
Norm = Literal["none", "batch", "layer"]


class ModelSpec(_Section):
    """A model family and its knobs; ``None`` leaves a knob at the family's default."""

    family: str = Field(min_length=1)
    depth: Annotated[int, Field(ge=1, le=64)] | None = None
    hidden: Annotated[int, Field(ge=1, le=65536)] | None = None
    channels: list[Annotated[int, Field(ge=1, le=4096)]] | None = None
    heads: Annotated[int, Field(ge=1, le=64)] | None = None
    kernel_size: Annotated[int, Field(ge=1, le=31)] | None = None
    patch: Annotated[int, Field(ge=1, le=4096)] | None = None  # transformer: steps per token
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    activation: Activation | None = None
    init: Init | None = None
    norm: Norm | None = None
    bidirectional: bool | None = None
    embedding_dim: Annotated[int, Field(ge=1, le=4096)] | None = Field(
        None, description="width of the token embedding (text inputs)")
    ngrams: Annotated[int, Field(ge=1, le=3)] | None = Field(
        None, description="embedbag: longest hashed n-gram of tokens")
    # transfer learning
    init_from: str | None = None  # safetensors file or run dir
    init_exclude: list[str] = []  # name patterns not taken from init_from (e.g. a new head)
    freeze: list[str] = []  # parameter name patterns (fnmatch) kept frozen
    unfreeze_after: Annotated[int, Field(ge=1)] | None = None  # epochs

    def knobs(self) -> dict:
        """The architecture knobs the user set, for ``create_model``."""
        names = ("depth", "hidden", "channels", "heads", "kernel_size", "patch", "dropout",
                 "activation", "init", "norm", "bidirectional", "embedding_dim", "ngrams")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


# ---------------------------------------------------------------- train
class OptimizerSpec(_Section):
    name: Literal["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"] = "adamw"
    lr: float | str = 1e-3  # > 0, or "auto": from the LR range test
    weight_decay: NonNegativeFloat = 0.0  # decoupled (AdamW-style) for every optimizer
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.9  # momentum and nesterov only
    beta1: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.9
    beta2: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.999
    eps: PositiveFloat = 1e-8


    @field_validator("lr", mode="before")
    @classmethod
    def _lr_or_auto(cls, value):
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError("must be greater than 0, or auto")
        return float(value)


class ScheduleSpec(_Section):
    name: Literal["constant", "step", "exponential", "cosine", "onecycle", "plateau"] = "constant"
    warmup_epochs: NonNegativeFloat = 0.0
    step_size: Annotated[int, Field(ge=1)] = 10  # step: epochs between decays
    gamma: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1  # step / exponential decay factor
    min_lr: NonNegativeFloat = 0.0  # floor of every decaying schedule
    max_lr_factor: Annotated[float, Field(ge=1.0)] = 10.0  # onecycle peak = lr x factor
    pct_start: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.3  # onecycle rising share
    factor: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1  # plateau decay factor
    patience: Annotated[int, Field(ge=0)] = 3  # plateau epochs without improvement


class ClipSpec(_Section):
    norm: PositiveFloat | None = None
    value: PositiveFloat | None = None


class EMASpec(_Section):
    decay: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.999


class EarlyStoppingSpec(_Section):
    patience: Annotated[int, Field(ge=1)] = 5
    min_delta: NonNegativeFloat = 0.0
    monitor: str | None = None  # defaults to train.monitor


class TrainSpec(_Section):
    epochs: Annotated[int, Field(ge=1, le=100000)] = 20
    batch_size: Annotated[int, Field(ge=1, le=1 << 20)] = 64
    optimizer: OptimizerSpec = OptimizerSpec()
    schedule: ScheduleSpec = ScheduleSpec()
    l1: NonNegativeFloat = 0.0  # explicit penalty added to the loss
    l2: NonNegativeFloat = 0.0  # explicit penalty added to the loss
    label_smoothing: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    clip: ClipSpec = ClipSpec()
    ema: EMASpec | None = None
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "fp32"
    early_stopping: EarlyStoppingSpec | None = None
    monitor: str = "val.loss"  # metric that picks the best checkpoint: val.<metric>
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # torch intra-op threads: a number, all (every core) or auto (the cores left free by the
    # machine's load, shared among search workers; see honed.train.threads)
    threads: Annotated[int, Field(ge=1, le=1024)] | Literal["auto", "all"] | None = "auto"
    probes: bool = True  # record gradient/activation probes for honed doctor (with an out dir)


# ---------------------------------------------------------------- later stages
def _named(value):
    """Let ``sampler: tpe`` stand for ``sampler: {name: tpe}``."""
    return {"name": value} if isinstance(value, str) else value


class SamplerSpec(_Section):
    """An Optuna sampler by name, with its main knobs (None leaves Optuna's default)."""

    name: Literal["auto", "default", "grid", "random", "tpe", "gp", "cmaes", "qmc",
                  "nsga2"] = "auto"
    n_startup_trials: Annotated[int, Field(ge=0)] | None = None  # tpe, gp, cmaes
    multivariate: bool = True  # tpe: model the parameters jointly
    population_size: Annotated[int, Field(ge=2)] | None = None  # nsga2, cmaes
    qmc_type: Literal["sobol", "halton"] = "sobol"  # qmc


class PrunerSpec(_Section):
    """A pruner by name, with its main knobs; every epoch is one step."""

    name: Literal["auto", "none", "median", "percentile", "asha", "hyperband"] = "auto"
    n_startup_trials: Annotated[int, Field(ge=0)] = 5  # median, percentile
    n_warmup_steps: Annotated[int, Field(ge=0)] = 1  # median, percentile
    percentile: Annotated[float, Field(gt=0.0, lt=100.0)] = 25.0  # percentile
    # auto, asha, hyperband: epochs before a first cut (None: a tenth of them for auto, 1 else)
    min_resource: Annotated[int, Field(ge=1)] | None = None
    reduction_factor: Annotated[int, Field(ge=2)] = 3  # auto, asha, hyperband
    max_rungs: Annotated[int, Field(ge=1)] | None = None  # auto (1), asha: later epochs run uncut


class SearchSpec(_Section):
    """Hyperparameter search: used by ``honed tune`` and ``honed run``."""

    sampler: Annotated[SamplerSpec, BeforeValidator(_named)] = SamplerSpec()
    pruner: Annotated[PrunerSpec, BeforeValidator(_named)] = PrunerSpec()
    trials: Annotated[int, Field(ge=1, le=100000)] = 20
    timeout: Annotated[float, BeforeValidator(lambda v: parse_duration(v) if v is not None
                                              else None), Field(gt=0)] | None = None
    objectives: list[str] = Field(default=["val.loss:min"], min_length=1)
    strategy: Literal["default", "coarse-to-fine"] = "default"
    coarse_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.4  # coarse-to-fine phase 1
    cv: Annotated[int, Field(ge=2, le=50)] | None = None
    workers: Annotated[int, Field(ge=1, le=256)] = 1
    storage: str | None = None
    refit: Literal["train+val", "best-trial"] = "best-trial"
    seed: Annotated[int, Field(ge=0)] | None = None  # sampler seed; defaults to the spec's seed
    start_at_default: bool = True  # the first trial trains the spec's default point

    @field_validator("objectives")
    @classmethod
    def _objective_form(cls, values: list[str]) -> list[str]:
        for value in values:
            name, sep, direction = value.rpartition(":")
            if not sep or direction not in ("min", "max") or not name:
                raise ValueError(f"each objective is NAME:min or NAME:max, e.g. val.accuracy:max;"
                                 f" got {value!r}")
        names = [v.rpartition(":")[0] for v in values]
        if len(set(names)) != len(names):
            raise ValueError(f"an objective is listed twice: {values}")
        return values


class PruneSpec(_Section):
    """Pruning: ``magnitude`` zeroes weights (masks made permanent), ``structured`` removes
    channels and neurons; ``steps`` rounds reach ``amount``, each fine-tuned for
    ``finetune_epochs`` with the spec's trainer."""

    method: Literal["magnitude", "structured"] = "magnitude"
    scope: Literal["global", "layer"] = "global"  # magnitude: one threshold, or one per layer
    amount: Fraction = 0.5  # share of weights (magnitude) or of channels (structured) removed
    steps: Annotated[int, Field(ge=1, le=100)] = 1
    finetune_epochs: Annotated[int, Field(ge=0, le=100000)] = 0  # after each step


class QuantizeSpec(_Section):
    """int8 quantization of the exported ONNX model with ONNX Runtime."""

    method: Literal["int8", "dynamic", "static"] = "int8"  # dynamic/static also set ``mode``
    mode: Literal["dynamic", "static"] = "dynamic"
    calibration: Literal["minmax", "entropy", "percentile"] = "minmax"  # static only
    samples: Annotated[int, Field(ge=1, le=1 << 20)] = 256  # calibration rows from train
    per_channel: bool = True

    @model_validator(mode="before")
    @classmethod
    def _method_sets_mode(cls, value):
        if isinstance(value, dict) and value.get("method") in ("dynamic", "static"):
            value = {"mode": value["method"], **value}
        return value


class DistillSpec(_Section):
    """Knowledge distillation: the teacher trains ``student`` with
    ``alpha * T^2 * KL + (1 - alpha) * task loss``."""

    student: ModelSpec
    teacher: str | None = None  # a run dir; None: the run's own model
    temperature: PositiveFloat = 4.0
    alpha: Annotated[float, Field(ge=0.0, le=1.0)] = 0.7
    epochs: Annotated[int, Field(ge=1, le=100000)] | None = None  # None: train.epochs


def _two(kind):
    return Annotated[list[kind], Field(min_length=2, max_length=2)]


class CompressSearchSpec(_Section):
    """The multi-objective study over compression settings (metric, latency, size), with the
    accuracy budget as a constraint; every list below is the range or the options searched."""

    trials: Annotated[int, Field(ge=1, le=10000)] = 12
    timeout: Annotated[float, BeforeValidator(lambda v: parse_duration(v) if v is not None
                                              else None), Field(gt=0)] | None = None
    sampler: Literal["nsga2", "tpe"] = "nsga2"
    methods: list[Literal["none", "magnitude", "structured"]] = Field(
        default=["none", "magnitude", "structured"], min_length=1)
    amount: _two(Fraction) = [0.2, 0.8]
    quantize: list[Literal["none", "dynamic", "static"]] = Field(
        default=["none", "dynamic"], min_length=1)
    width: list[Annotated[float, Field(gt=0.0, le=4.0)]] = Field(
        default=[0.25, 0.5, 1.0], min_length=1)  # student hidden/channels x this (distill)
    temperature: _two(PositiveFloat) = [1.0, 8.0]
    alpha: _two(Annotated[float, Field(ge=0.0, le=1.0)]) = [0.1, 0.95]
    seed: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _ranges_ordered(self):
        for name in ("amount", "temperature", "alpha"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name} is an inverted range: {low} > {high}")
        return self


class CompressSpec(_Section):
    """What ``honed compress`` and the compress stage of ``honed run`` build and measure."""

    prune: PruneSpec | None = None
    quantize: QuantizeSpec | None = None
    distill: DistillSpec | None = None
    search: CompressSearchSpec | None = None
    max_accuracy_drop: NonNegativeFloat | None = None  # classification, in accuracy (0.01 = 1 pt)
    max_metric_drop: NonNegativeFloat | None = None  # regression: drop of the main metric (r2)
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None  # latency threads; None: 1


class ExportSpec(_Section):
    """``export``: the bundle ``honed export`` and the export stage of ``honed run`` write.

    ``format: triton`` also writes a Triton model repository into the bundle; ``opset`` None
    takes the exporter's default (18+ for the dynamo exporter); ``max_batch_size`` is Triton's
    largest batch.
    """

    format: Literal["onnx", "triton"] = "onnx"
    opset: Annotated[int, Field(ge=13, le=23)] | None = None
    max_batch_size: Annotated[int, Field(ge=1, le=65536)] = 64


class Spec(_Section):
    name: str = Field(default="run", min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: Annotated[int, Field(ge=0)] = 0
    data: DataSpec
    model: ModelSpec
    train: TrainSpec = TrainSpec()
    search: SearchSpec | None = None
    compress: CompressSpec | None = None
    export: ExportSpec | None = None

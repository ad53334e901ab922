"""The ``data`` section: where the rows come from and how they are split, cleaned and scaled."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from honed.spec.memory import memory_source
from honed.spec.sections.common import Fraction, NonNegativeFloat, PositiveFloat, Section
from honed.spec.sections.text import TokenizerSpec, column_names

__all__ = ["DataSpec", "SplitSpec", "CleanSpec", "AugmentSpec", "ImageSpec", "WindowSpec"]

Strength = Annotated[float, Field(ge=0.0, le=1.0)]
Side = Annotated[int, Field(ge=1, le=4096)]


class SplitSpec(Section):
    """How rows are divided; fractions of the whole table (test is never seen by search)."""

    # a run needs both above 0 (honed.spec.schema.Spec checks it); a data section alone may
    # split nothing off, to prepare a whole table
    val: Fraction = Field(0.15, description="Fraction of the rows held out for validation; "
                                            "above 0 in a run: the best epoch, trial and "
                                            "compressed variant are picked on it.")
    test: Fraction = Field(0.15, description="Fraction of the rows held out for the final "
                                             "test; above 0 in a run.")
    stratify: bool = Field(True, description="Keep the class proportions in every split "
                                             "(classification).")
    shuffle: bool = Field(True, description="Shuffle the rows (seeded) before splitting; "
                                            "forecasting always splits in time order.")

    @model_validator(mode="after")
    def _room_for_train(self) -> SplitSpec:
        if self.val + self.test >= 0.9:
            raise ValueError(
                f"val + test must leave at least 10% for training; got {self.val} + {self.test}"
            )
        return self


class CleanSpec(Section):
    """Table cleaning, fitted on the training split only."""

    impute: Literal["mean", "median", "most_frequent", "drop"] = Field(
        "median", description="How missing numbers are filled (`drop`: the row is dropped); "
                              "text columns always take their most frequent value.")
    clip: Literal["none", "iqr", "zscore", "quantile"] = Field(
        "iqr", description="How numeric outliers are clipped.")
    clip_factor: PositiveFloat = Field(
        3.0, description="The clip bound: an IQR multiple (`iqr`), a z-score (`zscore`), or "
                         "the tail percentage cut on each side (`quantile`, below 50).")
    encoding: Literal["onehot", "ordinal"] = Field(
        "onehot", description="How text columns become numbers.")
    max_categories: Annotated[int, Field(ge=2)] = Field(
        50, description="The most frequent categories kept per text column; rarer ones are "
                        "treated like unseen ones.")


class AugmentSpec(Section):
    """Training-time augmentation; every field off by default."""

    rotate: Annotated[float, Field(ge=0.0, le=180.0)] = Field(
        0.0, description="Images: random rotation, in degrees, uniform in ±`rotate`.")
    shift: Annotated[float, Field(ge=0.0, le=0.5)] = Field(
        0.0, description="Images: random shift, as a fraction of the width and height.")
    zoom: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.0, description="Images: random scale in 1 ± `zoom`.")
    shear: Annotated[float, Field(ge=0.0, le=45.0)] = Field(
        0.0, description="Images: random shear, in degrees.")
    flip: bool = Field(False, description="Images: horizontal flip with probability 0.5.")
    noise: NonNegativeFloat = Field(
        0.0, description="Gaussian noise added to the inputs: its std, in scaled units.")
    mixup: NonNegativeFloat = Field(
        0.0, description="Tables and sequences: mixup with weights from Beta(`mixup`, `mixup`), "
                         "soft labels for classes; 0 turns it off.")
    crop: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.0, description="Images: random resized crop keeping a share of the area uniform in "
                         "[1 - `crop`, 1], aspect ratio within (4/3)^`crop` of the image's, "
                         "resized back.")
    brightness: Strength = Field(
        0.0, description="Images: pixel values times a factor uniform in 1 ± `brightness`.")
    contrast: Strength = Field(
        0.0, description="Images: distance from the image's mean grey times a factor in "
                         "1 ± `contrast`.")
    saturation: Strength = Field(
        0.0, description="RGB images: distance from each pixel's grey times a factor in "
                         "1 ± `saturation`; grey images are left as they are.")
    erase: Strength = Field(
        0.0, description="Images: probability that one box of 2-33% of the image is set to 0 "
                         "in scaled units, the mean pixel with `scale: standard` (random "
                         "erasing, cutout).")
    cutmix: NonNegativeFloat = Field(
        0.0, description="Images: CutMix, a box of another image of the batch pasted over a "
                         "share Beta(`cutmix`, `cutmix`) of the area, targets mixed by area; 0 "
                         "turns it off.")


class ImageSpec(Section):
    """Image files of any size and mode, decoded with Pillow, turned upright (EXIF), converted
    and resized alike; training and honed predict do the same (honed serve takes arrays)."""

    size: Annotated[list[Side], Field(min_length=2, max_length=2)] = Field(
        description="[height, width] in pixels that every image is brought to.")
    mode: Literal["rgb", "l"] = Field(
        "rgb", description="`rgb`: 3 channels; `l`: 1 grey channel. 16-bit images are scaled "
                           "to 8 bits; transparency is dropped.")
    resize: Literal["shorter", "stretch", "pad"] = Field(
        "shorter", description="`shorter`: scale the shorter side to fit, crop the centre; "
                               "`stretch`: scale each side on its own; `pad`: fit the longer "
                               "side, pad with black.")


class WindowSpec(Section):
    """Forecasting: sliding windows cut from the series, to predict the next ``horizon`` values
    from the last ``lookback``."""

    lookback: Annotated[int, Field(ge=1)] = Field(
        52, description="Steps of history each prediction sees.")
    horizon: Annotated[int, Field(ge=1)] = Field(
        1, description="Steps predicted at once.")
    season: Annotated[int, Field(ge=2)] | None = Field(
        None, description="The series' period in steps (52 for weekly data with a yearly "
                          "cycle), when known: adds the seasonal-naive baseline, which needs "
                          "`lookback` ≥ `season`.")


class DataSpec(Section):
    """The data set, its task, and how it is split and prepared."""

    source: str = Field(
        min_length=1,
        description="`builtin:NAME` (see `honed list datasets`), or a path to a `.csv` (also "
                    "`.csv.gz`, `.csv.bz2`, `.csv.xz`), `.parquet`, `.npz` (arrays `x`, `y`) "
                    "or a folder of images with one subfolder per class (with `image` set, "
                    "also a `.csv` of `path,label` rows of image files), or a folder holding "
                    "`x.npy` and `y.npy` (memory-mapped), read relative to the "
                    "spec's folder; from Python also a DataFrame or an (X, y) pair.")
    target: str | None = Field(None, description="The label column of a table.")
    features: list[str] | None = Field(
        None, description="The columns used as inputs; null: every column but the target.")
    task: Literal["auto", "classification", "regression", "forecasting"] = Field(
        "auto", description="`auto`: text or bool labels, or at most 20 distinct integers, mean "
                            "classification; floats mean regression.")
    split: SplitSpec = Field(SplitSpec(), description="How rows are divided into train, val "
                                                      "and test.")
    scale: Literal["none", "standard", "minmax"] = Field(
        "standard", description="Input scaling fitted on the training split (per column for "
                                "tables, per channel for images and sequences).")
    scale_target: bool = Field(
        True, description="Standardize regression and forecast targets for training; metrics "
                          "stay in the original units.")
    clean: CleanSpec = Field(CleanSpec(), description="Table cleaning: imputation, outlier "
                                                      "clipping, categorical encoding.")
    augment: AugmentSpec = Field(AugmentSpec(), description="Training-time augmentation; all "
                                                            "off by default.")
    window: WindowSpec = Field(WindowSpec(), description="Forecasting windows.")
    limit: Annotated[int, Field(ge=10)] | None = Field(
        None, description="Keep at most this many rows (seeded, stratified for classes).")
    image: ImageSpec | None = Field(
        None, description="Image files of any size and mode brought to one shape; null: the "
                          "images must share one size and mode, and are taken as they are.")
    skip_bad: bool = Field(
        False, description="Image files that cannot be read are left out and counted (in "
                           "preprocess.json and honed train's summary) instead of failing.")
    text: Annotated[list[str] | None, BeforeValidator(column_names)] = Field(
        None, description="Table columns of free text (one name or a list; several are joined "
                          "with [SEP]), tokenized and fed to the model; the table's other input "
                          "columns are read beside it as a table's (leave one out with "
                          "data.features). A folder of .txt files per class is text without "
                          "it.")
    tokenizer: TokenizerSpec = Field(TokenizerSpec(), description="How free text becomes "
                                                                  "token ids.")
    # the schema says what the validator below accepts: true, false or auto
    stream: Annotated[bool | str, WithJsonSchema({"anyOf": [{"type": "boolean"},
                                                            {"const": "auto"}]})] = Field(
        "auto", description="Image files, `.npy` arrays and Parquet tables: `true` decodes "
                            "(memory-maps, or reads from the table's row groups) each batch "
                            "when it is needed, through `workers` DataLoader processes; "
                            "`false` reads the whole set into memory first; `auto`: stream "
                            "when the decoded data would take more than a quarter of the "
                            "memory available. Both give the same numbers on CPU.")
    workers: Annotated[int, Field(ge=0, le=64)] | Literal["auto"] = Field(
        "auto", description="Streaming: DataLoader worker processes that decode batches ahead "
                            "of the model (0: in the training process); `auto`: this "
                            "process's share of the cores it may run on (its CPU affinity "
                            "mask), divided among the processes of the machine that train at "
                            "once (`honed tune --workers`, `honed train --nproc`, "
                            "`search.gpus_per_trial` ranks), less one for the training "
                            "process, at most 4 and 0 when no core is left. Each training "
                            "process logs its choice once (`data.workers 0 (auto: 2 cores, "
                            "2 processes)`) and `metrics.json` keeps it.")
    prefetch: Annotated[int, Field(ge=1, le=64)] = Field(
        2, description="Streaming: batches each worker prepares ahead.")

    @field_validator("stream", mode="before")
    @classmethod
    def _stream_setting(cls, value):
        if isinstance(value, str) and value.strip().lower() in ("auto", "true", "false"):
            value = value.strip().lower()
            return value if value == "auto" else value == "true"
        if not isinstance(value, bool):
            raise ValueError("must be true, false or auto")
        return value

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

"""Pydantic models of the spec: one class per section; unknown keys, inf and nan rejected.

The models describe a *point*: concrete values. Search dimensions written inline
(``{float: [lo, hi]}`` ...) are found and resolved by :mod:`honed.spec.space` before a spec
reaches these models; validation checks every bound and option of a dimension against the rules
here, so a range that leaves a field's domain is reported like any other bad value.

Each section lives in its own module under :mod:`honed.spec.sections` (its docstring says how
to add one); :class:`Spec` assembles them, and this module re-exports every section class, so
``from honed.spec.schema import DataSpec`` keeps working. Every field has a description, from
which ``docs/spec.md``'s reference is generated (:mod:`honed.spec.reference`).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from honed.spec.sections.common import Section, Seed
from honed.spec.sections.compress import (
    CompressSearchSpec,
    CompressSpec,
    DistillSpec,
    PruneSpec,
    QuantizeSpec,
)
from honed.spec.sections.data import (
    AugmentSpec,
    CleanSpec,
    DataSpec,
    ImageSpec,
    SplitSpec,
    WindowSpec,
)
from honed.spec.sections.explain import ExplainSpec
from honed.spec.sections.export import ExportSpec
from honed.spec.sections.model import ModelSpec
from honed.spec.sections.search import PrunerSpec, SamplerSpec, SearchSpec
from honed.spec.sections.text import TokenizerSpec
from honed.spec.sections.train import (
    ClipSpec,
    EarlyStoppingSpec,
    EMASpec,
    OptimizerSpec,
    ScheduleSpec,
    TrainSpec,
)

__all__ = [
    "Spec",
    "DataSpec",
    "SplitSpec",
    "CleanSpec",
    "AugmentSpec",
    "ImageSpec",
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
    "ExplainSpec",
]


class Spec(Section):
    """A whole spec: what to train on, what to train, and what to do with the result."""

    name: str = Field(default="run", min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                      description="The run's name: letters, digits, _, . and -.")
    seed: Seed = Field(0, description="Seeds the split, initialization, augmentation and "
                                      "sampling; the same seed gives the same run.")
    data: DataSpec = Field(description="The data set and its preparation.")
    model: ModelSpec = Field(description="The model family and its knobs.")
    train: TrainSpec = Field(TrainSpec(), description="How the model is trained.")
    search: SearchSpec | None = Field(
        None, description="The hyperparameter search of honed tune and honed run; null: "
                          "honed run trains the default point.")
    compress: CompressSpec | None = Field(
        None, description="The compression stage of honed run; null: skipped.")
    export: ExportSpec | None = Field(
        None, description="The export stage of honed run; null: skipped.")
    explain: ExplainSpec | None = Field(
        None, description="Global importances and attributions (honed explain); honed run "
                          "explains when it is set; null: skipped.")

    @model_validator(mode="after")
    def _val_and_test_rows(self) -> Spec:
        # an empty split used to train, then fail in the metrics with a traceback
        for part, why in (("val", "the best epoch, trial and compressed variant are picked on "
                                  "it"), ("test", "the final model is reported on it")):
            value = getattr(self.data.split, part)
            if value == 0:
                raise ValueError(f"data.split.{part} must be greater than 0; got {value} ({why})")
        return self

    @model_validator(mode="after")
    def _backbone_needs_a_split(self) -> Spec:
        # refused, not ignored: a factor that scales nothing would let a search spend trials on
        # a knob that does nothing, and would hide a forgotten init_from
        factor = self.train.backbone_lr_factor
        if factor != 1.0 and not (self.model.init_from and self.model.init_exclude):
            raise ValueError(
                f"train.backbone_lr_factor {factor} scales the parameters model.init_from fills "
                "against the new ones model.init_exclude names; set both (e.g. init_exclude: "
                "['head.*']), or leave the factor at 1 and lower train.optimizer.lr instead")
        return self

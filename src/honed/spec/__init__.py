"""The spec: pydantic models, YAML loading, dotted overrides and the search-space notation."""

from honed.spec.imports import allow_import
from honed.spec.overrides import apply_overrides, parse_override
from honed.spec.schema import (
    CompressSpec,
    DataSpec,
    ExportSpec,
    ModelSpec,
    OptimizerSpec,
    ScheduleSpec,
    SearchSpec,
    Spec,
    TrainSpec,
)
from honed.spec.space import Dimension, find_dimensions, is_dimension, resolve
from honed.spec.template import SpecTemplate, dump_spec, load_spec, spec_from_dict
from honed.spec.validate import validate_point, validate_template

__all__ = [
    "Spec",
    "DataSpec",
    "ModelSpec",
    "TrainSpec",
    "OptimizerSpec",
    "ScheduleSpec",
    "SearchSpec",
    "CompressSpec",
    "ExportSpec",
    "SpecTemplate",
    "load_spec",
    "spec_from_dict",
    "dump_spec",
    "Dimension",
    "find_dimensions",
    "is_dimension",
    "resolve",
    "apply_overrides",
    "parse_override",
    "validate_point",
    "validate_template",
    "allow_import",
]

"""What every section shares: the base model and the constrained number types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from honed.spec.duration import parse_duration

__all__ = ["Section", "Fraction", "PositiveFloat", "NonNegativeFloat", "Seed", "Duration",
           "named", "pair"]

Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]  # NumPy's and Optuna's samplers take 32 bits
# 90s, 5m, 2h, 1d, or seconds; the JSON schema (and so the reference) shows both forms
Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0),
                     WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                                               {"type": "string"}]})]


class Section(BaseModel):
    """A spec section: unknown keys, inf and nan are rejected; defaults are validated too."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


def named(value):
    """Let ``sampler: tpe`` stand for ``sampler: {name: tpe}``."""
    return {"name": value} if isinstance(value, str) else value


def pair(kind):
    """A ``[low, high]`` list of two ``kind`` values (the order is checked by the section)."""
    return Annotated[list[kind], Field(min_length=2, max_length=2)]

"""Pydantic models of the HTTP API: they validate requests and write the OpenAPI docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["PredictRequest", "PredictResponse", "MetadataResponse", "error_responses"]

Scalar = float | int | str | bool | None


class PredictRequest(BaseModel):
    """Inputs to predict: ``records`` by column name (tables) or ``inputs`` as arrays."""

    # no fixed example here: the server documents one made from the model it serves
    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Scalar]] | None = Field(
        None, description="Table models: one object per row, keys are the input columns "
                          "(see /v1/metadata); a value may be null where the model imputes. "
                          "Text models: one object per text, raw strings by text column.")
    inputs: list[Any] | None = Field(
        None, description="Arrays of the model's input shape, one per sample (or a single "
                          "sample); for a table model, rows of numbers in column order.")

    @model_validator(mode="after")
    def _one_of(self) -> PredictRequest:
        if (self.records is None) == (self.inputs is None):
            raise ValueError("give exactly one of 'records' or 'inputs'")
        return self


class Prediction(BaseModel):
    """One row's prediction: ``class`` and ``probabilities``, or ``value``/``values``."""

    model_config = ConfigDict(populate_by_name=True)

    class_: str | None = Field(None, alias="class")
    probabilities: dict[str, float] | None = None
    value: float | None = None
    values: list[float] | None = None
    truncated: bool | None = Field(None, description="Text models: the text was longer than "
                                   "the model's max_length tokens and was cut, as in training.")


class PredictResponse(BaseModel):
    """Predictions in request order."""

    predictions: list[Prediction]
    model: str | None = None


class MetadataResponse(BaseModel):
    """What a client needs to call the model."""

    model_config = ConfigDict(protected_namespaces=())

    name: str | None
    task: str
    variant: str | None = None
    input: dict[str, Any]
    output: dict[str, Any] | None = None
    class_names: list[str] | None = None
    metrics: dict[str, Any] | None = None
    parameters: int | None = None
    model: str | None = None
    versions: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    """An error: a message, or a list of ``{loc, msg, type}`` for bad fields."""

    detail: str | list[dict[str, Any]]


def error_responses() -> dict[int | str, dict[str, Any]]:
    """The error statuses of ``POST /v1/predict`` for the OpenAPI docs."""
    text = {401: "Missing or wrong bearer token.", 413: "Body larger than the limit.",
            422: "A field is invalid; ``loc`` names it.", 503: "Queue full; retry shortly.",
            504: "The prediction took longer than the request timeout."}
    return {code: {"model": ErrorResponse, "description": desc} for code, desc in text.items()}

"""The ``export`` section: the deployable bundle."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from honed.spec.sections.common import Section

__all__ = ["ExportSpec"]


class ExportSpec(Section):
    """``export``: the bundle ``honed export`` and the export stage of ``honed run`` write
    (``export: {}`` takes the defaults)."""

    format: Literal["onnx", "triton"] = Field(
        "onnx", description="`onnx`: an ONNX bundle; `triton`: also a Triton model repository in it.")
    opset: Annotated[int, Field(ge=13, le=23)] | None = Field(
        None, description="The ONNX opset; below 18 uses the TorchScript exporter; null: the "
                          "exporter's default.")
    max_batch_size: Annotated[int, Field(ge=1, le=65536)] = Field(
        64, description="`triton`: the largest batch Triton may send.")

"""The one contract every compressor meets: a model in, a smaller model of the same I/O out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

__all__ = ["Compressor"]


class Compressor:
    """Base of the model-to-model compressors (pruners; distillation trains a new model).

    Subclasses implement :meth:`apply`. The result maps the same inputs to outputs of the same
    shape as the model it was made from (the conformance suite in :mod:`honed.testing` checks
    this for every compressor), and :meth:`settings` says how it was made, for compress.json.
    """

    #: short name used in variant names and compress.json rows
    name: str = "compressor"
    #: True when the result has a new architecture that ``save_model(resized=True)`` records
    resizes: bool = False

    def apply(self, model: nn.Module) -> nn.Module:
        """Return the compressed model (``model`` itself may be changed in place)."""
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """JSON-ready settings, recorded in the variant's compress.json row."""
        return {}

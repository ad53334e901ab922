"""Export: a run's model to a verified ONNX bundle (model, preprocessing, card).

``import honed.export`` stays light: each name loads its module on first use, so the
torch-free parts (``read_bundle``, ``ort_session``) never import torch.
"""

from __future__ import annotations

from honed._lazy import lazy_attributes

_LAZY = {
    "ort_session": "honed.export.runtime",
    "run_session": "honed.export.runtime",
    "export_onnx": "honed.export.onnx",
    "OnnxExport": "honed.export.onnx",
    "read_bundle": "honed.export.card",
    "Bundle": "honed.export.card",
    "file_sha256": "honed.export.card",
    "BUNDLE_DIR": "honed.export.bundle",
    "export_bundle": "honed.export.bundle",
    "verify_parity": "honed.export.verify",
    "verify_agreement": "honed.export.verify",
    "write_triton_repository": "honed.export.triton",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)

"""Checking an exported model before it is written: ``onnx.checker`` and ONNX Runtime vs eager.

Two kinds of check, each returning the record kept under ``card.json["verification"]``:

- :func:`verify_parity` (a model exported from PyTorch): the checker passes, and ONNX Runtime's
  outputs equal eager PyTorch's within ``tolerance`` (absolute, 1e-4 by default) at batch 1 and
  at the largest batch (every sample given, up to ``max_batch``).
- :func:`verify_agreement` (an int8 ONNX variant made by ``honed compress``): int8 arithmetic
  cannot match float eager outputs within 1e-4, so the checker passes, ONNX Runtime runs it at
  batch 1 and the largest batch with finite outputs of the right shape, and its outputs are
  compared with the base model's eager outputs: the fraction of equal predicted classes
  (classification) or the largest absolute difference (regression, forecasting) is recorded.

Any failure raises :class:`~honed.errors.ExportError`: nothing is written from a model that
failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from honed.errors import BundleError, ExportError
from honed.export.runtime import ort_session, run_session

__all__ = ["verify_parity", "verify_agreement", "check_model_file", "TOLERANCE", "MAX_BATCH"]

TOLERANCE = 1e-4
MAX_BATCH = 256  # the largest batch verified: every test sample up to this many


def check_model_file(path: str | Path) -> None:
    """Run ``onnx.checker`` (full check, with shape inference) on a model file."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:  # ValidationError, InferenceError, protobuf errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"onnx.checker refused {Path(path).name}: {first}") from None


def _batches(x: np.ndarray, max_batch: int) -> dict[str, np.ndarray]:
    if len(x) == 0:
        raise ExportError("no samples to verify the exported model on")
    # token ids stay integers (int64); every other input is float32
    dtype = np.int64 if np.issubdtype(np.asarray(x).dtype, np.integer) else np.float32
    x = np.ascontiguousarray(x[:max_batch], dtype=dtype)
    return {"batch1": x[:1], f"batch{len(x)}": x}


def _ort_outputs(path: Path, batches: dict[str, np.ndarray], num_outputs: int
                 ) -> dict[str, np.ndarray]:
    try:
        session = ort_session(path)
    except BundleError as exc:
        raise ExportError(str(exc)) from None
    outputs = {}
    for name, x in batches.items():
        try:
            y = run_session(session, x)
        except Exception as exc:  # ORT's own error classes (shape mismatch, ...)
            raise ExportError(f"ONNX Runtime failed on a batch of {len(x)}: "
                              f"{str(exc).strip().splitlines()[0]}") from None
        if y.shape != (len(x), num_outputs):
            raise ExportError(f"ONNX Runtime gave shape {list(y.shape)} on a batch of {len(x)}; "
                              "expected "
                              f"{[len(x), num_outputs]}")
        if not np.isfinite(y).all():
            raise ExportError(f"ONNX Runtime gave non-finite outputs on a batch of {len(x)}")
        outputs[name] = y
    return outputs


def _eager(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).float().numpy()


def verify_parity(model: nn.Module, path: str | Path, x: np.ndarray, *,
                  tolerance: float = TOLERANCE, max_batch: int = MAX_BATCH) -> dict[str, Any]:
    """Check that the ONNX file at ``path`` computes what ``model`` computes.

    Args:
        model: the eager model (an eval-mode float32 copy on CPU is used).
        path: its ONNX export.
        x: samples, ``[n, *input_shape]`` (the test split, already preprocessed).
        tolerance: the largest absolute difference allowed.
        max_batch: the largest batch run.

    Returns:
        ``{"method": "parity", "checker": "passed", "tolerance", "batches": [1, n],
        "max_abs_diff": {"batch1": d, "batchN": d}, "passed": True}``.

    Raises:
        ExportError: the checker refused the file, ONNX Runtime failed, or an output differs
            by more than ``tolerance``.
    """
    path = Path(path)
    check_model_file(path)
    model = model.to(device="cpu", dtype=torch.float32).eval()
    batches = _batches(x, max_batch)
    ort = _ort_outputs(path, batches, _eager(model, batches["batch1"]).shape[1])
    diffs = {}
    for name, batch in batches.items():
        diffs[name] = float(np.abs(ort[name] - _eager(model, batch)).max())
    worst = max(diffs, key=diffs.get)
    if diffs[worst] > tolerance:
        raise ExportError(f"ONNX Runtime differs from eager PyTorch by {diffs[worst]:.3g} on a "
                          f"batch of {len(batches[worst])} (allowed: {tolerance:g}); the export "
                          "is not written")
    return {"method": "parity", "checker": "passed", "tolerance": tolerance,
            "batches": [len(b) for b in batches.values()], "max_abs_diff": diffs,
            "passed": True}


def verify_agreement(path: str | Path, reference: nn.Module, x: np.ndarray, *, task: str,
                     max_batch: int = MAX_BATCH) -> dict[str, Any]:
    """Check an ONNX variant that cannot match eager outputs exactly (int8).

    Args:
        path: the variant's ONNX file.
        reference: the base model it was made from (eager PyTorch).
        x: samples, ``[n, *input_shape]``.
        task: classification, regression or forecasting.
        max_batch: the largest batch run.

    Returns:
        ``{"method": "agreement", "checker": "passed", "batches": [1, n], "checked": [...],
        "class_agreement" (classification) or "max_abs_diff" (other tasks), "passed": True}``.

    Raises:
        ExportError: the checker refused the file or ONNX Runtime failed or gave bad outputs.
    """
    path = Path(path)
    check_model_file(path)
    reference = reference.to(device="cpu", dtype=torch.float32).eval()
    batches = _batches(x, max_batch)
    largest = list(batches)[-1]
    expected = _eager(reference, batches[largest])
    ort = _ort_outputs(path, batches, expected.shape[1])
    record: dict[str, Any] = {
        "method": "agreement", "checker": "passed", "batches": [len(b) for b in batches.values()],
        "checked": ["onnx.checker", "ONNX Runtime runs at batch 1 and the largest batch with "
                    "finite outputs of the right shape", "agreement with the base model's "
                    "eager outputs on the largest batch"]}
    if task == "classification":
        same = ort[largest].argmax(axis=1) == expected.argmax(axis=1)
        record["class_agreement"] = float(same.mean())
    else:
        record["max_abs_diff"] = {largest: float(np.abs(ort[largest] - expected).max())}
    record["passed"] = True
    return record

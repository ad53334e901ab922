"""ONNX Runtime sessions made in one place, torch-free.

Every latency comparison in honed (compression variants, the bundle's verification, serving)
goes through :func:`ort_session`, so that they all run under the same runtime settings:
CPU execution provider, sequential execution, one inter-op thread, every graph optimization.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from honed.errors import BundleError

if TYPE_CHECKING:
    import onnxruntime

__all__ = ["ort_session", "run_session", "input_dtype", "import_onnxruntime"]

#: ONNX Runtime's names of the input types honed exports: features, or token ids (text)
_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64}


def import_onnxruntime():
    """``onnxruntime``, or an error that says how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - a dependency of honed
        raise ImportError("honed needs onnxruntime for ONNX models: pip install onnxruntime"
                          ) from exc
    return onnxruntime


def ort_session(path: str | Path, *, threads: int | None = None
                ) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session on CPU for the model file at ``path``.

    Args:
        path: an ``.onnx`` file.
        threads: intra-op threads; None keeps ONNX Runtime's default (one per core).

    Returns:
        The session. A file ONNX Runtime cannot load raises :class:`~honed.errors.BundleError`.

    Example:
        >>> session = ort_session("runs/digits-cnn/bundle/model.onnx", threads=1)
        >>> run_session(session, x).shape
    """
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = int(threads)
    options.log_severity_level = 3  # errors only: warnings about unused initializers are noise
    try:
        return ort.InferenceSession(str(path), sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... classes
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BundleError(f"ONNX Runtime cannot load {path}: {first}") from None


def run_session(session: onnxruntime.InferenceSession, x: np.ndarray) -> np.ndarray:
    """Run ``session`` on one batch (input ``"input"``) and return its first output.

    Args:
        session: from :func:`ort_session`.
        x: a batch shaped ``[batch, *input_shape]``; cast to contiguous float32, or int64 for
            a model that reads token ids.

    Returns:
        The output ``"output"`` (the first one) as float32, shaped ``[batch, num_outputs]``.
    """
    name = session.get_inputs()[0].name  # "input" for honed's exports; any name for others
    feed = {name: np.ascontiguousarray(x, dtype=input_dtype(session))}
    return np.asarray(session.run(None, feed)[0], dtype=np.float32)


def input_dtype(session: onnxruntime.InferenceSession) -> type[np.generic]:
    """The NumPy type of the session's first input: float32, or int64 for token ids."""
    return _INPUT_TYPES.get(session.get_inputs()[0].type, np.float32)

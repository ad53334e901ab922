"""``onnx_scorer``: the held-out metric of an ONNX file, for accuracy-aware quantization;
``onnx_outputs``: an ONNX file's raw outputs on a whole split."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from honed.errors import UserInputError

__all__ = ["onnx_scorer", "onnx_outputs"]


def onnx_scorer(x: np.ndarray, y: np.ndarray, task: str, metric: str | None = None, *,
                target_scale=None, threads: int | None = None, batch_size: int = 1024
                ) -> Callable[[Path], float]:
    """A ``score(path)`` that runs an ONNX file on ``(x, y)`` and returns one metric.

    The function also carries ``score.metric`` and ``score.higher_is_better``, ready for
    :func:`~honed.compress.quantize.quantize_onnx`'s ``higher_is_better=``.

    Args:
        x: preprocessed inputs of a held-out split.
        y: targets as the model sees them (class indices, or scaled values).
        task: classification, regression or forecasting.
        metric: one of the task's metrics (not loss); accuracy or r2 when None.
        target_scale: for regression metrics in original units (as ``compute_metrics``).
        threads: intra-op threads of the scoring sessions.
        batch_size: rows per ONNX Runtime call.

    Raises:
        UserInputError: an unknown task or a metric the task does not report.
    """
    from honed.train.metrics import compute_metrics, metric_mode, metrics_for_task

    valid = [name for name in metrics_for_task(task) if name != "loss"]
    metric = metric or ("accuracy" if task == "classification" else "r2")
    if metric not in valid:
        raise UserInputError(f"metric must be one of {', '.join(valid)} for {task}; "
                             f"got {metric!r}")
    x = np.ascontiguousarray(x, dtype=np.float32)

    def score(path: Path) -> float:
        outputs = onnx_outputs(path, x, threads=threads, batch_size=batch_size)
        return float(compute_metrics(task, y, outputs, target_scale=target_scale)[metric])

    score.metric = metric
    score.higher_is_better = metric_mode(metric) == "max"
    return score


def onnx_outputs(path: Path, x: np.ndarray, *, threads: int | None = None,
                 batch_size: int = 1024) -> np.ndarray:
    """The first output of the ONNX file at ``path`` for every row of ``x``, in batches."""
    from honed.export.runtime import ort_session, run_session

    session = ort_session(path, threads=threads)
    x = np.ascontiguousarray(x, dtype=np.float32)
    return np.concatenate([run_session(session, x[i:i + batch_size])
                           for i in range(0, len(x), batch_size)])

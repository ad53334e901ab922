"""Evaluation metrics as pure NumPy functions (torch tensors are accepted and converted).

Classification: accuracy and macro precision, recall and F1 over the classes present in
``y_true`` or the predictions (scikit-learn's default), a class with nothing to divide by
scoring 0. Regression and forecasting: MSE and MAE over every output value, and R² per output
column against that column's mean over the evaluated set, averaged over columns (scikit-learn's
``uniform_average``; a constant column scores 1 if predicted exactly, else 0).
Every value returned is a plain ``float`` so that it goes straight into ``metrics.json``.

``loss`` is not computed here (the training loop measures it) but is a metric of every task,
so that ``train.monitor: val.loss`` is valid everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from honed.errors import UserInputError

__all__ = [
    "classification_metrics",
    "confusion_matrix",
    "regression_metrics",
    "compute_metrics",
    "metrics_for_task",
    "metric_mode",
    "parse_monitor",
]

_MODES: dict[str, Literal["min", "max"]] = {
    "loss": "min", "mse": "min", "mae": "min",
    "accuracy": "max", "precision": "max", "recall": "max", "f1": "max", "r2": "max",
}
_TASK_METRICS = {
    "classification": ["loss", "accuracy", "precision", "recall", "f1"],
    "regression": ["loss", "mse", "mae", "r2"],
    "forecasting": ["loss", "mse", "mae", "r2"],
}
_SPLITS = ("train", "val")  # test is never used to choose anything


def _numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor; bf16/fp16 have no exact NumPy twin
        values = values.detach().cpu()
        values = (values.float() if values.is_floating_point() else values).numpy()
    return np.asarray(values)


def _labels(values: Any, what: str) -> np.ndarray:
    array = _numpy(values)
    if array.ndim == 2:  # one-hot or soft (mixup) rows
        array = array.argmax(axis=1)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D array of class indices; got {array.shape}")
    return array.astype(np.int64)


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    for what, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(f"{what} holds classes outside [0, {num_classes}): "
                             f"{labels.min()}..{labels.max()}")
    # One bincount over (true, pred) pairs: far faster than a Python loop over classes.
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> list[list[int]]:
    """Counts ``[true][predicted]`` as nested lists of ``int`` (JSON-ready)."""
    matrix = _confusion(_labels(y_true, "y_true"), _labels(y_pred, "y_pred"), num_classes)
    return matrix.tolist()


def classification_metrics(y_true: Any, logits_or_probs: Any) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1.

    Args:
        y_true: Class indices ``(N,)`` (or one-hot / soft rows ``(N, C)``).
        logits_or_probs: Scores ``(N, C)`` (argmax is taken) or predicted indices ``(N,)``.
    """
    truth = _labels(y_true, "y_true")
    scores = _numpy(logits_or_probs)
    if scores.ndim == 2 and scores.shape[1] == 1:
        raise ValueError("one score column is ambiguous (logit or probability?); "
                         "classification outputs need one column per class")
    if scores.ndim == 1 and not np.issubdtype(scores.dtype, np.integer):
        raise ValueError("1-D predictions must be integer class indices; pass scores as (N, C)")
    pred = _labels(scores, "predictions")
    if len(pred) != len(truth):
        raise ValueError(f"y_true has {len(truth)} rows but the predictions {len(pred)}")
    num_classes = max(scores.shape[1] if scores.ndim == 2 else 0, truth.max() + 1, pred.max() + 1)
    matrix = _confusion(truth, pred, int(num_classes)).astype(np.float64)
    hits, predicted, actual = np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1)
    present = (predicted + actual) > 0
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    f1 = np.divide(2 * hits, predicted + actual, out=np.zeros_like(hits), where=present)
    return {
        "accuracy": float(hits.sum() / len(truth)),
        "precision": float(precision[present].mean()),
        "recall": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
    }


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """MSE and MAE over every value; R² per output column, averaged.

    Args:
        y_true: Targets ``(N,)`` or ``(N, ...)``; reshaped to ``y_pred``'s shape if sizes match.
        y_pred: Predictions of the same size.
    """
    truth, pred = _numpy(y_true).astype(np.float64), _numpy(y_pred).astype(np.float64)
    if truth.shape != pred.shape:
        if truth.size != pred.size:
            raise ValueError(f"y_true {truth.shape} and y_pred {pred.shape} differ in size")
        truth = truth.reshape(pred.shape)  # (N,) targets against (N, 1) outputs
    if truth.ndim == 0 or len(truth) == 0:
        raise ValueError("regression metrics need at least one row")
    truth, pred = truth.reshape(len(truth), -1), pred.reshape(len(pred), -1)
    error = pred - truth
    sse = (error**2).sum(axis=0)
    sst = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    # A constant column has no variance to explain: perfect → 1, anything else → 0 (sklearn).
    r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    return {
        "mse": float((error**2).mean()),
        "mae": float(np.abs(error).mean()),
        "r2": float(r2.mean()),
    }


def compute_metrics(
    task: str,
    y_true: Any,
    outputs: Any,
    *,
    target_scale: tuple[Sequence[float], Sequence[float]] | None = None,
) -> dict[str, float]:
    """The metrics of ``task`` (without ``loss``, which the loop measures).

    Args:
        task: ``classification``, ``regression`` or ``forecasting``.
        y_true: Targets as the model sees them (scaled, for regression).
        outputs: Raw model outputs (logits for classification).
        target_scale: ``(means, stds)`` of the target scaling, one per target column (or one
            for all); both ``y_true`` and ``outputs`` are mapped back to the data's units
            (``y * std + mean``) so that MSE and MAE read in those units.
    """
    if task == "classification":
        return classification_metrics(y_true, outputs)
    if task not in _TASK_METRICS:
        raise UserInputError(f"unknown task {task!r}; choose one of: {', '.join(_TASK_METRICS)}")
    truth, pred = _numpy(y_true).astype(np.float64), _numpy(outputs).astype(np.float64)
    if target_scale is not None:
        means, stds = (np.asarray(part, dtype=np.float64) for part in target_scale)
        if truth.shape != pred.shape and truth.size == pred.size:
            truth = truth.reshape(pred.shape)
        try:  # the scale broadcasts against the last axis (one entry per target column)
            truth, pred = truth * stds + means, pred * stds + means
        except ValueError:
            raise ValueError(f"target_scale of {means.size} columns does not fit outputs "
                             f"{pred.shape}") from None
    return regression_metrics(truth, pred)


def metrics_for_task(task: str) -> list[str]:
    """Names of the metrics reported for ``task``, ``loss`` first."""
    if task not in _TASK_METRICS:
        raise UserInputError(f"unknown task {task!r}; choose one of: {', '.join(_TASK_METRICS)}")
    return list(_TASK_METRICS[task])


def metric_mode(name: str) -> Literal["min", "max"]:
    """Whether smaller (``"min"``) or larger (``"max"``) values of metric ``name`` are better."""
    if name not in _MODES:
        raise UserInputError(f"unknown metric {name!r}; choose one of: {', '.join(_MODES)}")
    return _MODES[name]


def parse_monitor(
    monitor: str, task: str | None = None, *, field: str = "train.monitor"
) -> tuple[str, str]:
    """Split ``"val.accuracy"`` into ``("val", "accuracy")``, checking both parts.

    Args:
        monitor: ``SPLIT.METRIC`` with SPLIT ``train`` or ``val``.
        task: When given, METRIC must be one that this task produces.
        field: Spec key named in the error message.

    Raises:
        UserInputError: Not of that form, or a metric the task does not produce; the message
            lists the valid choices.
    """
    metrics = metrics_for_task(task) if task is not None else list(_MODES)
    split, dot, metric = monitor.partition(".")
    if not dot or split not in _SPLITS or metric not in metrics:
        whose = f"of a {task} task" if task is not None else "known to honed"
        raise UserInputError(
            f"{field} must be SPLIT.METRIC with SPLIT one of {', '.join(_SPLITS)} and METRIC "
            f"one {whose}: {', '.join(metrics)}; got {monitor!r}"
        )
    return split, metric

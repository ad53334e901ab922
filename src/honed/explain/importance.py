"""Permutation importance: how much the model's metric drops when one input group is shuffled.

Each group (a table column, an image channel or region, a time window) is permuted across the
rows ``repeats`` times, all its positions with the same permutation so that a one-hot column
stays one-hot; the importance is the mean drop of the run's own metric. Its 95 % t interval is
over the test rows where the metric is a mean over rows (accuracy: each row's hit minus its
mean hit under the permutations), which needs few repeats (bench/explain_cost.py), and over
the repeats otherwise. Classification also gets the drop of each class's recall (same
predictions, no extra cost): the per-class summary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from honed.train.evaluate import predict
from honed.train.losses import make_loss
from honed.train.metrics import compute_metrics, metric_mode

from .kinds import Group

__all__ = ["permutation_importance", "headline_metric", "interval", "scorer"]

#: the metric importance is measured in when the run monitors its loss: one that people read
#: the most memory the permuted copies of one call take
_BATCH_BYTES = 64 * 2**20
_HEADLINE = {"classification": "accuracy", "regression": "r2", "forecasting": "r2"}


def headline_metric(task: str, monitor: str) -> str:
    """The run's own metric (``train.monitor``'s), or the task's headline one for ``loss``."""
    metric = monitor.partition(".")[2] or monitor
    return _HEADLINE[task] if metric == "loss" else metric


def interval(values: Sequence[float]) -> tuple[float, float] | None:
    """The 95 % t interval of the mean of ``values`` (None with fewer than 2)."""
    if len(values) < 2:
        return None
    mean, sem = float(np.mean(values)), float(np.std(values, ddof=1) / np.sqrt(len(values)))
    half = _t_quantile(len(values) - 1) * sem
    return mean - half, mean + half


@functools.cache
def _t_quantile(dof: int) -> float:
    from scipy.special import stdtrit  # scipy.stats would take seconds to import

    return float(stdtrit(dof, 0.975))


def permutation_importance(model: nn.Module, x: np.ndarray, y: np.ndarray, *,
                           groups: Sequence[Group], task: str, metric: str, repeats: int = 3,
                           seed: int = 0, target_scale=None,
                           class_names: Sequence[str] | None = None,
                           outputs: torch.Tensor | None = None,
                           progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The drop of ``metric`` when each group is permuted, sorted from most to least important.

    Args:
        model: the trained model (left in the mode it came in).
        x, y: inputs ``(N, *input_shape)`` and targets as the model sees them.
        groups: from the input kind (:meth:`ExplainKind.groups`).
        task: ``classification``, ``regression`` or ``forecasting``.
        metric: a metric of the task (``accuracy``, ``r2``, ``loss``...); the drop is signed so
            that positive means the model got worse.
        repeats: permutations per group.
        seed: seed of the permutations.
        target_scale, class_names: as in :class:`~honed.data.PreparedData`.
        outputs: the model's outputs on ``x`` when already computed.
        progress: called with (groups done, groups in all).

    Returns:
        ``{"metric", "baseline", "repeats", "rows", "interval", "importances": [{"name",
        "kind", "mean", "std", "low", "high", "drops", "output_change", "per_class"?}]}``;
        ``interval`` says what the 95 % interval is over (``rows`` or ``repeats``);
        ``output_change`` is the mean absolute change of the outputs when the group is permuted.
    """
    sign = 1.0 if metric_mode(metric) == "max" else -1.0
    rng = np.random.default_rng(seed)
    flat = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(len(x), -1))
    score = scorer(task, metric, y, target_scale, len(class_names or ()))
    base_outputs = predict(model, x) if outputs is None else torch.as_tensor(outputs)
    base, base_recall = score(base_outputs)
    # accuracy is a mean over rows: its interval is over the rows, whatever the repeats
    labels = np.asarray(y) if task == "classification" and metric == "accuracy" else None
    base_hits = None if labels is None else base_outputs.argmax(1).numpy() == labels
    # several permuted copies go through the model in one call (a quarter faster on a CPU),
    # as many as fit in _BATCH_BYTES
    per_call = int(np.clip(_BATCH_BYTES // max(flat.nbytes, 1), 1, repeats))
    results = []
    for done, group in enumerate(groups):
        drops, recall_drops, changes = [], [], []
        row_drops = None if base_hits is None else np.zeros(len(flat))
        for first in range(0, repeats, per_call):
            count = min(per_call, repeats - first)
            batch = np.repeat(flat[None], count, axis=0)
            for copy in batch:
                copy[:, group.index] = flat[rng.permutation(len(flat))][:, group.index]
            outputs = predict(model, batch.reshape(count * len(flat), *x.shape[1:]))
            for part in outputs.reshape(count, len(flat), *outputs.shape[1:]):
                value, recall = score(part)
                drops.append(sign * (base - value))
                # how far the outputs moved: a metric can stay put on few rows while they move
                changes.append(float((part - base_outputs).abs().mean()))
                if recall is not None:
                    recall_drops.append(base_recall - recall)
                if row_drops is not None:
                    row_drops += (base_hits ^ (part.argmax(1).numpy() == labels)) * np.where(
                        base_hits, 1.0, -1.0) / repeats
        low_high = interval(drops if row_drops is None else row_drops)
        entry = {"name": group.name, "kind": group.kind, "mean": float(np.mean(drops)),
                 "std": float(np.std(drops, ddof=1)) if repeats > 1 else 0.0,
                 "low": None if low_high is None else low_high[0],
                 "high": None if low_high is None else low_high[1],
                 "drops": [float(d) for d in drops],
                 "output_change": float(np.mean(changes))}
        if recall_drops:
            mean = np.mean(recall_drops, axis=0)
            names = class_names or [str(c) for c in range(len(mean))]
            entry["per_class"] = {str(n): float(v) for n, v in zip(names, mean, strict=True)}
        results.append(entry)
        if progress is not None:
            progress(done + 1, len(groups))
    results.sort(key=lambda item: item["mean"], reverse=True)
    return {"metric": metric, "baseline": float(base), "repeats": repeats, "rows": len(flat),
            "interval": "repeats" if base_hits is None else "rows", "importances": results}


def scorer(task: str, metric: str, y: np.ndarray, target_scale, num_classes: int):
    """``score(outputs) -> (metric value, per-class recall or None)``."""
    targets = torch.as_tensor(y)
    labels = np.asarray(y) if task == "classification" else None
    counts = None if labels is None else np.bincount(labels, minlength=num_classes)

    def score(outputs: torch.Tensor) -> tuple[float, np.ndarray | None]:
        if metric == "loss":
            value = float(make_loss(task)(outputs, targets))
        else:
            value = compute_metrics(task, targets.numpy(), outputs.numpy(),
                                    target_scale=target_scale)[metric]
        if labels is None:
            return value, None
        hits = np.bincount(labels, weights=outputs.argmax(1).numpy() == labels,
                           minlength=len(counts))
        return value, hits / np.maximum(counts, 1)

    return score

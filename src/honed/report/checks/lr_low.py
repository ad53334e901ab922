"""A learning rate too low: a loss that barely moves, or tiny updates far from a fit."""

from __future__ import annotations

import statistics

from honed.report.checks.base import Finding, finite, fmt, relative_change
from honed.report.evidence import Evidence, series

__all__ = ["check"]

MIN_EPOCHS = 3
#: a flat loss needs this many epochs to mean anything (fewer: too few steps, not a low lr)
FLAT_EPOCHS = 5
#: update-to-weight ratio per step below this: weights move by less than 1/10,000 of their size
#: per step (the usual healthy figure is around 1e-3)
UPDATE_RATIO = 1e-4
#: at or above this ratio the updates are healthy: a flat loss then has another cause
HEALTHY_RATIO = 1e-3
#: train loss fell less than this (relative) over the whole run: flat
FLAT = 0.10
#: the model is still far from fitting: train accuracy below this (classification) or scaled
#: train loss above FAR_LOSS (regression; 1.0 is predicting the mean)
FAR_ACCURACY, FAR_LOSS = 0.9, 0.3


def check(evidence: Evidence) -> Finding | None:
    """Flat training loss far from a fit, or updates tiny relative to the weights."""
    history = evidence.history
    losses = finite(series(history, "train", "loss"))
    if len(losses) < MIN_EPOCHS or not _far_from_fit(evidence):
        return None
    change = relative_change(losses[0], losses[-1])
    ratio = _update_ratio(evidence)
    flat = (change > -FLAT and len(losses) >= FLAT_EPOCHS
            and (ratio is None or ratio < HEALTHY_RATIO))
    tiny = ratio is not None and ratio < UPDATE_RATIO
    if not (flat or tiny):
        return None
    parts = [f"train loss {fmt(losses[0])} → {fmt(losses[-1])} over {len(losses)} epochs "
             f"({change:+.1%})"]
    if ratio is not None:
        parts.append(f"median update-to-weight ratio {ratio:.2g} per step (healthy: ~1e-3)")
    lr = evidence.lr
    if lr:
        parts.append(f"lr {fmt(lr)}")
    changes = (["train.optimizer.lr=auto", f"train.optimizer.lr={lr * 10:g}",
                f"train.optimizer.lr={{float: [{lr * 3:g}, {lr * 300:g}], log: true}}"]
               if lr else ["train.optimizer.lr=auto"])
    # tiny updates with a loss that did fall: the lr is likely low, but the loss moves
    verdict = ("learning rate too low: the loss barely moves" if change > -FLAT else
               "learning rate likely too low: tiny updates, still far from a fit")
    return Finding("lr_low", verdict, "; ".join(parts), changes)


def _far_from_fit(evidence: Evidence) -> bool:
    if evidence.task == "classification":
        accuracy = series(evidence.history, "train", "accuracy")[-1]
        return accuracy < FAR_ACCURACY
    loss = series(evidence.history, "train", "loss")[-1]
    return loss > FAR_LOSS


def _update_ratio(evidence: Evidence) -> float | None:
    """Median over layers of the last epochs' update ratios."""
    values = [v for line in evidence.epochs[-3:] for v in (line.get("update_ratio") or {}).values()]
    return statistics.median(values) if values else None

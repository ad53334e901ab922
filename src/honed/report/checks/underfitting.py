"""Underfitting: the model does not fit even its training rows, and has stopped improving."""

from __future__ import annotations

from honed.report.checks.base import Finding, finite, fmt, relative_change
from honed.report.evidence import Evidence, series

__all__ = ["check"]

MIN_EPOCHS = 4
#: train accuracy below this after training: a model with enough capacity fits the training
#: split of almost any classification dataset beyond 90%
TRAIN_ACCURACY = 0.9
#: regression: val R² below this means most of the variance is left unexplained
VAL_R2 = 0.5
#: train and val close (accuracy gap below this): the model is not overfitting, so the missing
#: accuracy is capacity or optimization, not variance
SMALL_GAP = 0.05
#: train loss fell less than this (relative) over the last third of the epochs: a plateau
PLATEAU = 0.05


def check(evidence: Evidence) -> Finding | None:
    """Low training score, no train/val gap, and a flat loss over the last epochs."""
    history = evidence.history
    losses = finite(series(history, "train", "loss"))
    if len(losses) < MIN_EPOCHS:
        return None
    window = max(3, len(losses) // 3)
    change = relative_change(losses[-window], losses[-1])
    if change < -PLATEAU:
        return None  # still improving: more epochs, not a bigger model
    if evidence.task == "classification":
        train_acc = series(history, "train", "accuracy")[-1]
        val_acc = series(history, "val", "accuracy")[-1]
        if not (train_acc < TRAIN_ACCURACY and abs(train_acc - val_acc) < SMALL_GAP):
            return None
        score = f"train accuracy {train_acc:.3f}, val accuracy {val_acc:.3f}"
    else:
        r2 = series(history, "val", "r2")[-1]
        if not r2 < VAL_R2:
            return None
        score = f"val R² {fmt(r2)}"
    text = (f"{score} after {len(losses)} epochs; train loss changed {change:+.1%} over the "
            f"last {window} epochs (at {fmt(losses[-1])})")
    return Finding("underfitting", "underfitting: the model is too small or too constrained to "
                   "fit the data", text, _changes(evidence))


def _changes(evidence: Evidence) -> list[str]:
    model, train = evidence.spec.get("model") or {}, evidence.train
    hidden = model.get("hidden") if isinstance(model.get("hidden"), int) else 32
    depth = model.get("depth") if isinstance(model.get("depth"), int) else 2
    changes = [f"model.hidden={{int: [{max(64, 2 * hidden)}, {max(256, 8 * hidden)}], "
               "log: true}", f"model.depth={{int: [{depth}, {depth + 2}]}}"]
    if isinstance(model.get("dropout"), (int, float)) and model["dropout"] > 0:
        changes.append("model.dropout=0.0")
    decay = (train.get("optimizer") or {}).get("weight_decay")
    if isinstance(decay, (int, float)) and decay > 1e-3:
        changes.append("train.optimizer.weight_decay=1e-4")
    changes.append(f"train.epochs={2 * int(train.get('epochs') or 20)}")
    return changes

"""Underfitting: the model does not fit even its training rows, for a cause the spec shows.

A low training score alone is no finding: a noisy dataset caps every model's accuracy, and a
run at that cap looks the same. The check names a cause: a layer narrower than the task
(fewer units than classes), a regularization strong enough to pin the weights, or a run that
stopped while both losses were still falling fast.
"""

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
#: train above val accuracy by this much is the overfitting check's business, not this one's
GAP = 0.15
#: train and val loss both fell more than this (relative) over the last third of the epochs:
#: stopped while still learning
STILL_FALLING = 0.10
#: a hidden width at or below this (or below the number of classes) is a bottleneck
NARROW = 4
#: regularization this strong holds the weights near zero (decay per step × lr is large)
STRONG = {"weight_decay": 0.1, "l2": 0.1, "l1": 0.01}
HEAVY_DROPOUT = 0.5


def check(evidence: Evidence) -> Finding | None:
    """Low training score, no overfitting gap, and a cause: too narrow, too constrained,
    or stopped while still learning."""
    history = evidence.history
    losses = finite(series(history, "train", "loss"))
    if len(losses) < MIN_EPOCHS:
        return None
    if evidence.task == "classification":
        train_acc = series(history, "train", "accuracy")[-1]
        val_acc = series(history, "val", "accuracy")[-1]
        if not (train_acc < TRAIN_ACCURACY and train_acc - val_acc < GAP):
            return None
        score = f"train accuracy {train_acc:.3f}, val accuracy {val_acc:.3f}"
    else:
        r2 = series(history, "val", "r2")[-1]
        if not r2 < VAL_R2:
            return None
        score = f"val R² {fmt(r2)}"
    causes = _causes(evidence, losses)
    if not causes:
        return None
    text = f"{score} after {len(losses)} epochs; " + "; ".join(text for text, _ in causes)
    changes = [change for _, found in causes for change in found]
    return Finding("underfitting", "underfitting: the model is too small, too constrained or "
                   "stopped too soon", text, changes)


def _causes(evidence: Evidence, losses: list[float]) -> list[tuple[str, list[str]]]:
    knobs = evidence.model_card.get("knobs") or {}
    model, train = evidence.spec.get("model") or {}, evidence.train
    outputs = evidence.model_card.get("num_outputs")
    causes = []
    hidden = knobs.get("hidden", model.get("hidden"))
    if isinstance(hidden, int) and (hidden <= NARROW or isinstance(outputs, int)
                                    and hidden < outputs):
        depth = knobs.get("depth", model.get("depth"))
        depth = depth if isinstance(depth, int) else 2
        causes.append((f"hidden layers of {hidden} units for {outputs} outputs", [
            f"model.hidden={{int: [{max(32, 4 * hidden)}, {max(256, 16 * hidden)}], log: "
            "true}", f"model.depth={{int: [{depth}, {depth + 2}]}}"]))
    optimizer = train.get("optimizer") or {}
    for key, limit in STRONG.items():
        value = optimizer.get(key) if key == "weight_decay" else train.get(key)
        if isinstance(value, (int, float)) and value >= limit:
            where = "train.optimizer." if key == "weight_decay" else "train."
            causes.append((f"{key} {fmt(value)}", [f"{where}{key}={value / 100:g}"]))
    dropout = knobs.get("dropout", model.get("dropout"))
    if isinstance(dropout, (int, float)) and dropout >= HEAVY_DROPOUT:
        causes.append((f"dropout {fmt(dropout)}", ["model.dropout=0.1"]))
    window = max(3, len(losses) // 3)
    val = finite(series(evidence.history, "val", "loss"))
    falls = [relative_change(v[-window], v[-1]) for v in (losses, val) if len(v) >= window]
    if len(falls) == 2 and max(falls) < -STILL_FALLING:
        epochs = int(train.get("epochs") or len(losses))
        causes.append((f"train and val loss still falling ({falls[0]:+.0%}, {falls[1]:+.0%} "
                       f"over the last {window} epochs)", [f"train.epochs={2 * epochs}"]))
    return causes

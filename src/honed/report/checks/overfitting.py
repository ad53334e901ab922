"""Overfitting: validation loss rising while training loss keeps falling, or a wide gap."""

from __future__ import annotations

from honed.report.checks.base import Finding, fmt, relative_change
from honed.report.evidence import Evidence, series

__all__ = ["check"]

#: fewer epochs than this show no trend to speak of
MIN_EPOCHS = 4
#: val loss this far (relative) above its best at the end: beyond the noise of a val split of
#: a few hundred rows, which moves a loss by a few percent from epoch to epoch
VAL_RISE = 0.15
#: and the final val loss above the final train loss by at least this share of the chance
#: loss (ln K for K balanced classes): a val loss going from 0.0002 to 0.0005 is a large
#: relative rise that costs nothing, and on a val split of 85 rows one confidently wrong row
#: moves the loss by 0.1 (measured on the corpus: memorizing runs end 0.35 to 1.3 chance
#: losses apart, healthy ones at most 0.22)
LOSS_GAP = 0.25
#: train loss must have fallen this much (relative) since the best val epoch: the model kept
#: fitting the training rows while getting worse on new ones
TRAIN_FALL = 0.10
#: train accuracy above val accuracy by this much at the end is a memorizing model whatever
#: the losses say (calibration can hide it in the val loss)
ACCURACY_GAP = 0.15


def check(evidence: Evidence) -> Finding | None:
    """Val loss up from its best while train loss went down; or a large accuracy gap."""
    history = evidence.history
    train, val = series(history, "train", "loss"), series(history, "val", "loss")
    pairs = [(t, v) for t, v in zip(train, val, strict=True) if t == t and v == v]
    if len(pairs) < MIN_EPOCHS:
        return None
    best = min(range(len(pairs)), key=lambda i: pairs[i][1])
    (t_best, v_best), (t_end, v_end) = pairs[best], pairs[-1]
    rise, fall = relative_change(v_best, v_end), -relative_change(t_best, t_end)
    gap = _accuracy_gap(history)
    scale = evidence.chance_loss or v_best
    # a best val loss above the chance loss is a model that never fitted (a diverged run
    # falling back from a blow-up): its curves say nothing about memorizing
    fitted = v_best < scale
    rising = (fitted and best < len(pairs) - 1 and rise > VAL_RISE and fall > TRAIN_FALL
              and v_end - t_end > LOSS_GAP * scale)
    wide = gap is not None and gap >= ACCURACY_GAP
    if not (rising or wide):
        return None
    parts = []
    if rising:
        parts.append(f"val loss {fmt(v_best)} at epoch {best + 1} → {fmt(v_end)} at epoch "
                     f"{len(pairs)} ({rise:+.0%}) while train loss fell {fmt(t_best)} → "
                     f"{fmt(t_end)} ({-fall:+.0%})")
    if gap is not None and gap > 0:
        accuracy = series(history, "train", "accuracy")[-1]
        parts.append(f"train accuracy {accuracy:.3f} against {accuracy - gap:.3f} on val at "
                     f"the end")
    evidence_text = "; ".join(parts)
    return Finding("overfitting", "overfitting: the model memorizes the training split",
                   evidence_text, _changes(evidence))


def _accuracy_gap(history) -> float | None:
    train, val = series(history, "train", "accuracy"), series(history, "val", "accuracy")
    if not train or train[-1] != train[-1] or val[-1] != val[-1]:
        return None
    return train[-1] - val[-1]


def _changes(evidence: Evidence) -> list[str]:
    model, train = evidence.spec.get("model") or {}, evidence.train
    dropout = model.get("dropout")
    low = max(0.2, dropout) if isinstance(dropout, (int, float)) else 0.2
    changes = [f"model.dropout={{float: [{low:g}, {max(0.5, low + 0.2):g}]}}"]
    decay = (train.get("optimizer") or {}).get("weight_decay") or 0.0
    decay = decay if isinstance(decay, (int, float)) else 0.0
    changes.append(f"train.optimizer.weight_decay={max(1e-3, 10 * decay):g}")
    if not train.get("early_stopping"):
        changes.append("train.early_stopping={patience: 5}")
    return changes

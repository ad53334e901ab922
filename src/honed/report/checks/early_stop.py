"""Early stopping that cut a run which was still improving."""

from __future__ import annotations

from honed.report.checks.base import Finding, finite, fmt, relative_change
from honed.report.evidence import Evidence, series

__all__ = ["check"]

#: stopped before this share of train.epochs: there was budget left
EARLY_SHARE = 0.5
#: patience at most this: one or two noisy val epochs are enough to stop
SHORT_PATIENCE = 3
#: the monitored val loss at the stop within this (relative) of its best: flat within noise,
#: not rising (a rising one is a correct stop, and the overfitting check's business)
NOISE = 0.05


def check(evidence: Evidence) -> Finding | None:
    """Stopped early, with a short patience, while train loss fell and val loss stayed flat."""
    stop = evidence.train.get("early_stopping")
    reason = (evidence.metrics or {}).get("stop_reason") or ""
    if not isinstance(stop, dict) or not reason.startswith("early stopping"):
        return None
    patience = int(stop.get("patience") or 5)
    epochs = int(evidence.train.get("epochs") or 0)
    train = finite(series(evidence.history, "train", "loss"))
    val = finite(series(evidence.history, "val", "loss"))
    run = len(train)
    if run < 2 or run > EARLY_SHARE * epochs or patience > SHORT_PATIENCE or len(val) != run:
        return None
    # still learning: train loss fell in every epoch of the window (at least two)
    window = min(max(2, patience), run - 1)
    tail = train[-1 - window:]
    falling = all(b < a for a, b in zip(tail, tail[1:], strict=False))
    drift = relative_change(min(val), val[-1])
    if not falling or drift > NOISE:
        return None
    fall = -relative_change(tail[0], tail[-1])
    text = (f"stopped at epoch {run} of {epochs} with patience {patience}; train loss fell in "
            f"each of the last {window} epochs ({fall:.1%} in all), and val loss ended within "
            f"{drift:.1%} of its best ({fmt(min(val))})")
    return Finding("early_stop", "early stopping cut the run too soon", text,
                   [f"train.early_stopping.patience={max(5, 3 * patience)}",
                    "train.early_stopping.min_delta=0"])

"""No learning: the model scores no better than always predicting the most common class."""

from __future__ import annotations

from honed.report.checks.base import Finding, fmt
from honed.report.evidence import Evidence

__all__ = ["check", "at_chance"]

#: a val loss at or above this share of the chance loss: the model predicts (almost) nothing
#: beyond the class shares (0.95: the loss of a model with any real signal falls further)
LOSS_SHARE = 0.95
#: regression: a val R² below this explains (next to) none of the variance
R2 = 0.05


def at_chance(evidence: Evidence, accuracy: float, loss: float | None = None) -> bool:
    """Whether a val accuracy (and loss) lies within sampling noise of the majority class."""
    band = evidence.chance_accuracy()
    if band is None or not accuracy <= band[1]:
        return False
    chance = evidence.chance_loss
    return loss is None or chance is None or not loss < LOSS_SHARE * chance


def check(evidence: Evidence) -> Finding | None:
    """The final model's val score is that of a model that learned nothing."""
    val = (evidence.metrics or {}).get("val") or {}
    if evidence.task == "regression":
        r2 = val.get("r2")
        if not isinstance(r2, (int, float)) or r2 >= R2:
            return None
        text = f"val R² {fmt(r2)}: no better than predicting the mean (R² 0)"
    else:
        accuracy, loss = val.get("accuracy"), val.get("loss")
        if not isinstance(accuracy, (int, float)) or not at_chance(evidence, accuracy, loss):
            return None
        share, _ = evidence.chance_accuracy()
        text = (f"val accuracy {accuracy:.3f} against {share:.3f} for always predicting the "
                f"most common class ({sum(evidence.val_counts)} val rows); val loss "
                f"{fmt(loss)} against {fmt(evidence.chance_loss)} for the class shares alone")
    return Finding("chance", "no learning: the model does no better than chance (do the "
                   "features predict data.target?)", text, ["train.optimizer.lr=auto"])

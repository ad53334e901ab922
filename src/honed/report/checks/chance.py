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
#: regression: a baseline with at least this val R² shows that the features carry the target
BASELINE_R2 = 0.25


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
    learned = _learned_baseline(evidence)
    if learned is None:
        return Finding("chance", "no learning: the model does no better than chance (do the "
                       "features predict data.target?)", text, ["train.optimizer.lr=auto"])
    # the features do predict the target: the model has not learned it yet
    name, value = learned
    epochs = int(((evidence.spec or {}).get("train") or {}).get("epochs") or 20)
    return Finding("chance", f"no learning yet: the model does no better than chance, while "
                   f"the {name} baseline does on the same features",
                   f"{text}; the {name} baseline scores {fmt(value)} on val",
                   [f"train.epochs={4 * epochs}", "train.optimizer.lr=auto"])


def _learned_baseline(evidence: Evidence) -> tuple[str, float] | None:
    """The best baseline that fits the features (not a constant), when it is clearly above
    chance: then a model at chance has not learned yet, rather than nothing being there."""
    rows = ((evidence.metrics or {}).get("baselines") or {}).get("rows") or []
    metric = "r2" if evidence.task == "regression" else "accuracy"
    scored = [(row["name"], row["val"][metric]) for row in rows
              if row["name"] not in ("majority", "mean")
              and isinstance((row.get("val") or {}).get(metric), (int, float))]
    if not scored:
        return None
    name, value = max(scored, key=lambda item: item[1])
    if metric == "r2":
        return (name, value) if value >= BASELINE_R2 else None
    return None if at_chance(evidence, value) else (name, value)

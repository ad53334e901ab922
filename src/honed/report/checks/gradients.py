"""Exploding or vanishing gradients, from the per-layer gradient norms the probes sampled."""

from __future__ import annotations

from honed.report.checks.base import Finding, fmt
from honed.report.evidence import Evidence

__all__ = ["check"]

#: a layer's gradient norm above this: well-scaled networks on standardized inputs sit around
#: 0.01–10; past 1000 a single step can wreck the weights
EXPLODE = 1e3
#: the first layer's gradient this many times smaller than the last layer's: the signal does
#: not reach the early layers
VANISH_RATIO = 1e-4
#: every layer's gradient below this while the model has not fitted: nothing learns at all
VANISH_ALL = 1e-7


def check(evidence: Evidence) -> Finding | None:
    """Exploding (huge norms) or vanishing (first layer ≪ last layer) gradients."""
    epochs = [line for line in evidence.epochs if line.get("grad_norm")]
    if not epochs:
        return None
    worst = max(((line["epoch"], layer, stats["max"]) for line in epochs
                 for layer, stats in line["grad_norm"].items()), key=lambda item: item[2])
    if worst[2] > EXPLODE:
        return Finding("gradients", "exploding gradients",
                       f"layer {worst[1]} had a gradient norm of {fmt(worst[2])} in epoch "
                       f"{worst[0]} (healthy: below ~10)",
                       ["train.clip={norm: 1.0}", *_lower_lr(evidence), "model.norm=batch"])
    line = epochs[-1]
    means = [stats["mean"] for stats in line["grad_norm"].values()]
    layers = list(line["grad_norm"])
    if len(means) >= 2 and means[-1] > 0 and means[0] / means[-1] < VANISH_RATIO or \
            max(means) < VANISH_ALL and _not_fitted(evidence):
        return Finding("gradients", "vanishing gradients: the early layers barely learn",
                       f"epoch {line['epoch']}: gradient norm {fmt(means[0])} in the first "
                       f"layer ({layers[0]}) against {fmt(means[-1])} in the last "
                       f"({layers[-1]})",
                       _vanishing_changes(evidence))
    return None


def _vanishing_changes(evidence: Evidence) -> list[str]:
    model = evidence.spec.get("model") or {}
    changes = []
    if model.get("activation") in ("sigmoid", "tanh"):  # saturating: gradients shrink per layer
        changes.append("model.activation=relu")
    if model.get("init") not in ("he", "kaiming", "kaiming_normal", "kaiming_uniform"):
        changes.append("model.init=he")
    if model.get("norm") in (None, "none"):
        changes.append("model.norm=batch")
    if isinstance(model.get("depth"), int) and model["depth"] > 3:
        changes.append(f"model.depth={{int: [2, {model['depth']}]}}")
    return changes or ["model.family=resnet"]


def _lower_lr(evidence: Evidence) -> list[str]:
    return [f"train.optimizer.lr={evidence.lr / 10:g}"] if evidence.lr else []


def _not_fitted(evidence: Evidence) -> bool:
    if not evidence.history:
        return False
    loss = (evidence.history[-1].get("train") or {}).get("loss")
    return isinstance(loss, (int, float)) and loss > 1e-3

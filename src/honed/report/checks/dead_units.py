"""Dead ReLU units: units that output zero for every row of the validation split."""

from __future__ import annotations

from honed.report.checks.base import Finding, fmt
from honed.report.evidence import Evidence

__all__ = ["check"]

#: more than this share of a layer's units never fire: the layer has lost most of its width
#: (a few dead units are normal in a wide layer; half is not)
DEAD_FRACTION = 0.5


def check(evidence: Evidence) -> Finding | None:
    """A ReLU layer with most of its units dead at the last probed epoch."""
    epochs = [line for line in evidence.epochs if line.get("dead_units")]
    if not epochs:
        return None
    line = epochs[-1]
    dead = {name: share for name, share in line["dead_units"].items() if share > DEAD_FRACTION}
    if not dead:
        return None
    listed = ", ".join(f"{name}: {share:.0%}" for name, share in sorted(
        dead.items(), key=lambda item: -item[1]))
    changes = ["model.activation=leaky_relu", "model.init=he"]
    if evidence.lr:
        changes.append(f"train.optimizer.lr={evidence.lr / 3:g}")
    return Finding("dead_units", "dead ReLU units: part of the network never activates",
                   f"share of units that output 0 on every validation row at epoch "
                   f"{line['epoch']}: {listed} (threshold {fmt(DEAD_FRACTION)})", changes)

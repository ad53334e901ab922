"""Class imbalance: a rare class that the model recognizes much worse than the common ones."""

from __future__ import annotations

from honed.report.checks.base import Finding
from honed.report.evidence import Evidence

__all__ = ["check", "class_counts"]

#: largest class at least this many times the smallest: imbalanced
RATIO = 3.0
#: the rarest class's recall this far below the best class's recall: the imbalance costs
RECALL_GAP = 0.2
#: beyond this ratio report it even when recall holds: accuracy hides the rare class
SEVERE_RATIO = 10.0


def class_counts(evidence: Evidence) -> tuple[list[int], list[float]] | None:
    """Rows per class and recall per class, from the val and test confusion matrices."""
    metrics = evidence.metrics or {}
    total = None
    for split in ("val", "test"):
        matrix = (metrics.get(split) or {}).get("confusion_matrix")
        if matrix:
            total = matrix if total is None else [
                [a + b for a, b in zip(r, s, strict=True)] for r, s in zip(total, matrix,
                                                                            strict=True)]
    if not total or len(total) < 2:
        return None
    counts = [sum(row) for row in total]
    recall = [row[i] / count if count else 0.0 for i, (row, count) in
              enumerate(zip(total, counts, strict=True))]
    return counts, recall


def check(evidence: Evidence) -> Finding | None:
    """Imbalanced class counts that show in a low recall of the rare classes."""
    if evidence.task != "classification":
        return None
    found = class_counts(evidence)
    if found is None:
        return None
    counts, recall = found
    rare = min(range(len(counts)), key=lambda i: counts[i])
    ratio = max(counts) / max(counts[rare], 1)
    gap = max(recall) - recall[rare]
    if ratio < RATIO or (gap < RECALL_GAP and ratio < SEVERE_RATIO):
        return None
    text = (f"val+test rows per class {counts} (largest/smallest {ratio:.1f}×); recall of "
            f"the rarest class (#{rare}) {recall[rare]:.2f} against {max(recall):.2f} for the "
            "best class")
    changes = ["train.monitor=val.f1", "search.objectives=[val.f1:max]"]
    split = (evidence.spec.get("data") or {}).get("split") or {}
    if split.get("stratify") is False:
        changes.append("data.split.stratify=true")
    changes.append("data.augment.mixup=0.2")
    return Finding("class_imbalance", "class imbalance: the rare classes are poorly recognized",
                   text, changes)

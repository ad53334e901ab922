"""Class imbalance: a rare class that the model recognizes much worse than the common ones."""

from __future__ import annotations

from honed.report.checks.base import Finding
from honed.report.evidence import Evidence

__all__ = ["check", "class_counts"]

#: largest class at least this many times the smallest: imbalanced
RATIO = 3.0
#: a rare class's recall this far below the best class's recall: the imbalance costs
RECALL_GAP = 0.2
#: and the model missed at least this many of its val+test rows: one or two misses of a class
#: with three rows say nothing (a recall of 0.99 is no problem, whatever the ratio)
MIN_MISSES = 3


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
    """A rare class (imbalanced counts) whose recall is far below the best class's."""
    if evidence.task != "classification":
        return None
    found = class_counts(evidence)
    if found is None:
        return None
    counts, recall = found
    largest, best = max(counts), max(recall)
    missed = [i for i, count in enumerate(counts) if count and largest / count >= RATIO
              and best - recall[i] >= RECALL_GAP
              and count - round(recall[i] * count) >= MIN_MISSES]
    if not missed:
        return None
    rare = min(missed, key=lambda i: recall[i])
    ratio = largest / counts[rare]
    text = (f"val+test rows per class {counts} (largest/class #{rare} {ratio:.1f}×); recall of "
            f"class #{rare} {recall[rare]:.2f} ({counts[rare] - round(recall[rare] * counts[rare])}"
            f" of {counts[rare]} missed) against {best:.2f} for the best class")
    changes = ["train.monitor=val.f1", "search.objectives=[val.f1:max]"]
    split = (evidence.spec.get("data") or {}).get("split") or {}
    if split.get("stratify") is False:
        changes.append("data.split.stratify=true")
    changes.append("data.augment.mixup=0.2")
    return Finding("class_imbalance", "class imbalance: a rare class is poorly recognized",
                   text, changes)

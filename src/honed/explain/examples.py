"""Which test examples get drawn: a few correct and a few wrong per class, or for regression
the best and the worst predicted."""

from __future__ import annotations

import numpy as np

__all__ = ["pick_examples"]


def pick_examples(outputs: np.ndarray, y: np.ndarray, *, task: str, per_group: int,
                  seed: int = 0) -> np.ndarray:
    """Row indices, grouped by class (correct ones first) or best then worst.

    Args:
        outputs: model outputs ``(N, K)``.
        y: targets as the model sees them.
        task: the run's task.
        per_group: rows per (class, correct/wrong) group, or per best/worst.
        seed: seed of the pick inside a group.
    """
    rng = np.random.default_rng(seed)
    if task == "classification":
        predicted, labels = outputs.argmax(1), np.asarray(y)
        picked = []
        for label in np.unique(labels):
            for hit in (True, False):
                rows = np.flatnonzero((labels == label) & ((predicted == labels) == hit))
                picked += sorted(rng.choice(rows, size=min(per_group, len(rows)),
                                            replace=False).tolist())
        return np.asarray(picked, dtype=np.int64)
    error = np.abs(outputs.reshape(len(outputs), -1) - np.asarray(y).reshape(len(y), -1))
    order = np.argsort(error.mean(axis=1), kind="stable")
    return np.unique(np.concatenate([order[:per_group], order[-per_group:]]))

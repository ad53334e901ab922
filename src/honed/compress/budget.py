"""The accuracy budget read on the validation split, with that split's noise.

The run's model was picked on val (its trial, its best epoch), so its val score sits above its
test score, and val is small: on digits it is 270 rows, where one point is 2.7 rows. Read
strictly, "drop <= max_drop" on val stopped the pruning of the quick start's CNN at its first
round (three rows lost, 1.1 points), though that model lost 0.7 points on test once fine-tuned.

So a variant is out of budget on val only when its drop exceeds the budget by more than one
standard error of the paired difference (the one-standard-error rule of model selection): the
drop is the mean over rows of ``baseline right - variant right`` (McNemar's pairs: only the
rows where the two disagree count), and its standard error is that difference's standard
deviation over the square root of the rows. The error shrinks as val grows, so the rule tends
to the plain one: with no row gained back it forgives 4 rows lost of 270 (1.5 points), 10 of
750 (1.3 points), 110 of 10,000 (1.1 points). Metrics other than accuracy are read strictly.

One rule decides everything: how far pruning goes, which search trials count as feasible, and
which variants ``honed compress`` may choose (``within_budget`` of a compress.json row). The test
split is never read to decide; it is measured once per row, for the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn

    from honed.compress.candidates import Candidate, Source

__all__ = ["Verdict", "paired_drop", "judge", "budget_check", "split_outputs", "split_metrics",
           "val_metric", "source_val", "STANDARD_ERRORS"]

#: standard errors of the paired drop forgiven beyond the budget on val
STANDARD_ERRORS = 1.0


@dataclass(frozen=True)
class Verdict:
    """A variant against the budget on val: its metric, its drop, the drop's standard error."""

    value: float
    drop: float
    se: float
    max_drop: float | None

    @property
    def excess(self) -> float:
        """How far the drop lies beyond budget plus noise (<= 0: within)."""
        if self.max_drop is None:
            return -math.inf
        return self.drop - STANDARD_ERRORS * self.se - self.max_drop

    @property
    def within(self) -> bool:
        return self.excess <= 1e-9

    def record(self) -> dict[str, Any]:
        return {"val": round(self.value, 6), "drop": round(self.drop, 6), "se": round(self.se, 6),
                "within_budget": self.within}

    def __str__(self) -> str:
        return f"val {self.value:.4f}, drop {self.drop:.4f} ± {self.se:.4f}"


def paired_drop(baseline_right: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """The accuracy drop of one model against another on the same rows, and its standard error.

    Example:
        >>> base = np.ones(270, bool); worse = base.copy(); worse[:3] = False
        >>> [round(v, 4) for v in paired_drop(base, worse)]
        [0.0111, 0.0064]
    """
    diff = np.asarray(baseline_right, float) - np.asarray(right, float)
    if len(diff) < 2:
        return float(diff.mean()) if len(diff) else 0.0, 0.0
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(len(diff)))


def split_outputs(source: Source, candidate: Candidate, split: str = "val") -> np.ndarray:
    """Raw outputs of ``candidate`` on one split: ONNX Runtime's for an ONNX file, eager
    PyTorch's (:func:`~honed.train.evaluate.predict`, as ``evaluate_arrays``) for a module."""
    x = getattr(source.data, split).x
    if candidate.kind == "onnx":
        from honed.compress.scoring import onnx_outputs

        return onnx_outputs(candidate.onnx_path, x, threads=source.threads)
    from honed.train.evaluate import predict

    return predict(candidate.module, x).numpy()


def split_metrics(source: Source, outputs: np.ndarray, split: str = "val") -> dict[str, float]:
    """Every numeric metric of the task for ``outputs`` on one split (as compress.json holds
    them: ``val`` and ``test`` of each row)."""
    from honed.train.metrics import compute_metrics

    data = source.data
    metrics = compute_metrics(data.task, getattr(data, split).y, outputs,
                              target_scale=data.target_scale)
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def _metric(source: Source, outputs: np.ndarray) -> float:
    return split_metrics(source, outputs)[source.metric]


def val_metric(source: Source, candidate: Candidate) -> float:
    """The compared metric of ``candidate`` on the validation split (never test)."""
    return _metric(source, split_outputs(source, candidate))


def _baseline_outputs(source: Source) -> np.ndarray:
    from honed.compress.candidates import Candidate

    if source.baseline_outputs is None:
        source.baseline_outputs = split_outputs(source, Candidate("baseline", "torch", "none",
                                                                  module=source.model))
    return source.baseline_outputs


def source_val(source: Source) -> float:
    """The run's own model on val (its outputs computed once)."""
    return _metric(source, _baseline_outputs(source))


def judge(source: Source, candidate: Candidate, outputs: np.ndarray | None = None) -> Verdict:
    """``candidate`` against the run's model on val (see the module's rule); ``outputs``: its
    val outputs when already computed."""
    base = _baseline_outputs(source)
    outputs = split_outputs(source, candidate) if outputs is None else outputs
    value, reference = _metric(source, outputs), _metric(source, base)
    drop = reference - value if source.higher_is_better else value - reference
    se = 0.0
    if source.metric == "accuracy":
        y = np.asarray(source.data.val.y)
        drop, se = paired_drop(base.argmax(1) == y, outputs.argmax(1) == y)
    return Verdict(value, drop, se, source.max_drop)


def budget_check(source: Source):
    """``model -> Verdict``: a PyTorch model against the run's model on val."""
    from honed.compress.candidates import Candidate

    def check(model: nn.Module) -> Verdict:
        return judge(source, Candidate("pruned", "torch", "prune", module=model))

    return check

"""Checks that explanations mean something (Adebayo et al., 2018, "Sanity checks for saliency
maps"), each a number and a verdict that ``honed explain`` reports and the tests assert.

- :func:`topk_recovery`: where only known inputs carry the label, the top-k attributed are
  exactly those (run on synthetic data in the tests and in ``bench/explain_cost.py``).
- :func:`randomization_check`: re-initializing the model's weights must change the
  attributions: their rank correlation with the trained model's falls well below the trained
  model's agreement with itself on inputs nudged by noise far below the data's spread.
- :func:`completeness_check`: integrated gradients add up to ``f(x) - f(baseline)``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["topk_recovery", "rank_correlation", "randomized_copy", "randomization_check",
           "completeness_check", "completeness_from_delta", "COMPLETENESS_TOLERANCE", "RANDOM_SHARE", "NUDGE"]

#: integrated gradients' worst error |sum(attr) - (f(x) - f(baseline))| as a share of the
#: mean |f(x) - f(baseline)| over the rows checked
COMPLETENESS_TOLERANCE = 0.05
#: randomized-model agreement must stay below this share of the trained model's self-agreement
RANDOM_SHARE = 0.5
_SEED_OFFSET = 1_000_003
#: the nudge of the self-agreement inputs, in training standard deviations
NUDGE = 0.01


def topk_recovery(ranked: Sequence[str], truth: Sequence[str]) -> float:
    """Share of ``truth`` among the first ``len(truth)`` names of ``ranked`` (1.0: exact)."""
    top = set(list(ranked)[:len(truth)])
    return len(top & set(truth)) / len(truth)


def rank_correlation(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None) -> float:
    """Mean over rows of the Spearman correlation of ``a`` and ``b`` (rows flattened), on the
    positions ``keep`` marks when given (a text's tokens, not its padding, whose zeros would
    agree for any model).

    Signed, not of absolute values: ``|attribution|`` of integrated gradients and occlusion is
    zero wherever the input equals the baseline (a digit's black background) for *any* model,
    which keeps absolute ranks alike after randomization (Adebayo et al. note the same).
    """
    values = []
    rows = np.ones(a.reshape(len(a), -1).shape, dtype=bool) if keep is None else keep
    for left, right, mask in zip(a.reshape(len(a), -1), b.reshape(len(b), -1),
                                 rows.reshape(len(a), -1), strict=True):
        left, right = left[mask], right[mask]
        if len(left) < 2 or np.ptp(left) == 0 or np.ptp(right) == 0:
            continue  # a constant map has no ranking
        values.append(float(np.corrcoef(_ranks(left), _ranks(right))[0, 1]))
    return float(np.mean(values)) if values else float("nan")


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged, as Spearman's correlation wants (without scipy.stats, whose
    import takes seconds)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=ranks) / counts)[inverse]


def randomized_copy(model: nn.Module, *, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every layer re-initialized (Adebayo's full randomization)."""
    twin = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
        # offset: models are built from seeds like the run's own, and re-initializing with
        # that seed would bring back the model's own starting weights
        torch.manual_seed(seed + _SEED_OFFSET)
        for module in twin.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return twin


def randomization_check(explain: Callable[[nn.Module, np.ndarray], np.ndarray],
                        model: nn.Module, x: np.ndarray, *, spread: np.ndarray | float,
                        seed: int = 0, trained: np.ndarray | None = None,
                        keep: np.ndarray | None = None) -> dict[str, Any]:
    """Rank correlation of attributions from the trained and a randomized model.

    Args:
        explain: ``explain(model, x) -> attributions`` (the method under test).
        model: the trained model.
        x: the inputs explained.
        spread: the training inputs' standard deviation (per position or one number).
        seed: seed of the re-initialization and the nudge.
        trained: ``explain(model, x)`` when already computed.
        keep: the positions compared (:func:`rank_correlation`); all when None.
    """
    trained = explain(model, x) if trained is None else trained
    noise = np.random.default_rng(seed).standard_normal(x.shape) * NUDGE * spread
    # no spread (token ids, which cannot be nudged): the method's agreement with itself
    nudged = explain(model, (x + noise).astype(np.float32)) if np.any(spread) else trained
    randomized = explain(randomized_copy(model, seed=seed), x)
    self_agreement = rank_correlation(trained, nudged, keep)
    random = rank_correlation(trained, randomized, keep)
    passed = bool(np.isfinite(random) and np.isfinite(self_agreement)
                  and random < RANDOM_SHARE * self_agreement)
    return {"rank_correlation": random, "self_agreement": self_agreement,
            "rule": f"below {RANDOM_SHARE} x self-agreement", "passed": passed}


def completeness_check(model: nn.Module, x: np.ndarray, attributions: np.ndarray,
                       baseline: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """How far integrated gradients' attributions are from summing to ``f(x) - f(baseline)``.

    The error of the worst row is measured against the mean ``|f(x) - f(baseline)|`` of the
    rows: per row, a row whose output barely moved from the baseline would turn a tiny
    absolute error into a large share.
    """
    from honed.train.evaluate import predict

    rows = np.arange(len(x))
    outputs = predict(model, x).numpy().reshape(len(x), -1)[rows, targets]
    reference = predict(model, baseline[None]).numpy().reshape(1, -1)[0, targets]
    difference = outputs - reference
    error = np.abs(attributions.reshape(len(x), -1).sum(axis=1) - difference)
    return _completeness(error, difference)


def completeness_from_delta(attributions: np.ndarray, delta: np.ndarray) -> dict[str, Any]:
    """:func:`completeness_check` from the method's own per-row error ``delta`` (the sum of a
    row's ``attributions`` minus how far its output moved along the path)."""
    total = attributions.reshape(len(attributions), -1).sum(axis=1)
    return _completeness(np.abs(delta), total - delta)


def _completeness(error: np.ndarray, difference: np.ndarray) -> dict[str, Any]:
    relative = float(error.max() / max(float(np.abs(difference).mean()), 1e-6))
    return {"max_error": float(error.max()), "max_relative_error": relative,
            "tolerance": COMPLETENESS_TOLERANCE, "passed": relative <= COMPLETENESS_TOLERANCE}

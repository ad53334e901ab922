"""The baseline registry: simple predictors every model is compared with.

A baseline is a function ``(data, inputs, options) -> outputs`` that fits on ``data.train``
only and returns, for each array in ``inputs``, outputs in the model's own units (log-
probabilities ``(N, C)`` for classification, scaled values ``(N, num_outputs)`` otherwise), so
that the run's own scoring (:func:`honed.train.evaluate.score_outputs`) measures baselines and
models alike. It applies to the tasks and input kinds it was registered for, and raises
:class:`BaselineSkipped` when it cannot run on this data (a season longer than the window).

Fitting is capped so that baselines cost about a second at most on the built-in data sets
(MNIST, 784 features, is the dearest): the fitted models see at most :data:`MAX_ROWS` training
rows (a seeded sample), with at most :data:`MAX_ITER` solver iterations; counting baselines
(majority, mean) read every row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from honed.data.dataset import PreparedData
from honed.registry import Registry

__all__ = ["Baseline", "BaselineSkipped", "BASELINES", "register_baseline", "baselines_for",
           "MAX_ROWS", "MAX_ITER", "flat", "train_rows", "log_probabilities"]

#: training rows a fitted baseline sees at most (a seeded random sample beyond that): on MNIST,
#: 1000 rows and 30 iterations scored as 2000 rows and 50 (0.892 against 0.891 on val) in a
#: fifth of the time
MAX_ROWS = 1000
#: solver iterations of the iterative baselines (logistic regression)
MAX_ITER = 30

Predict = Callable[[PreparedData, Sequence[np.ndarray], dict[str, Any]], list[np.ndarray]]


class BaselineSkipped(Exception):
    """This baseline cannot run on this data; the message says why (shown to people)."""


@dataclass(frozen=True)
class Baseline:
    """One registered baseline strategy."""

    name: str
    description: str
    tasks: tuple[str, ...]
    kinds: tuple[str, ...]
    predict: Predict


BASELINES: Registry[Baseline] = Registry("baseline")


def register_baseline(name: str, *, description: str, tasks: Sequence[str],
                      kinds: Sequence[str] = ("table", "image", "sequence")
                      ) -> Callable[[Predict], Predict]:
    """Register ``predict`` as the baseline ``name`` for these tasks and input kinds."""

    def decorator(predict: Predict) -> Predict:
        BASELINES.add(name, Baseline(name, description, tuple(tasks), tuple(kinds), predict),
                      description=description)
        return predict

    return decorator


def baselines_for(task: str, kind: str) -> list[Baseline]:
    """The baselines that apply to ``task`` on inputs of ``kind``, in registration order."""
    entries = (BASELINES.get(name) for name in BASELINES.names())
    return [entry for entry in entries if task in entry.tasks and kind in entry.kinds]


def flat(x: np.ndarray) -> np.ndarray:
    """Rows of features: images and sequences flattened, as a linear model sees them."""
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def train_rows(data: PreparedData) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of the training split, at most :data:`MAX_ROWS` rows (seeded sample)."""
    x, y = data.train.x, data.train.y
    if len(x) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(len(x), MAX_ROWS, replace=False))
        x, y = x[keep], y[keep]
    return x, y


def log_probabilities(estimator: Any, x: np.ndarray, num_classes: int) -> np.ndarray:
    """A scikit-learn classifier's class probabilities as ``(N, num_classes)`` log-probabilities.

    Classes missing from the training rows get probability 0 (clipped to 1e-7 in the log, so
    that the cross-entropy stays finite).
    """
    probs = np.zeros((x.shape[0], num_classes))  # shape: x may be a sparse matrix
    probs[:, np.asarray(estimator.classes_, dtype=np.int64)] = estimator.predict_proba(x)
    return np.log(np.clip(probs, 1e-7, 1.0))

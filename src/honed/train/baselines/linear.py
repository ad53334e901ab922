"""Linear baselines on the same prepared features (images and sequences flattened)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from honed.data.dataset import PreparedData
from honed.train.baselines.base import (
    MAX_ITER,
    flat,
    log_probabilities,
    register_baseline,
    train_rows,
)


@register_baseline("logistic", tasks=("classification",),
                   description=f"logistic regression (L2, C=1, at most {MAX_ITER} lbfgs "
                               "iterations) on the flattened features")
def logistic(data: PreparedData, inputs: Sequence[np.ndarray],
             options: dict[str, Any]) -> list[np.ndarray]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x, y = train_rows(data)
    if len(np.unique(y)) < 2:  # lbfgs needs two classes; the majority baseline covers this
        from honed.train.baselines.base import BaselineSkipped

        raise BaselineSkipped("the training rows hold one class")
    with warnings.catch_warnings():
        # the iteration cap is deliberate (a baseline, not a tuned model) and stated above
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=MAX_ITER).fit(flat(x), y)
    return [log_probabilities(model, flat(part), data.num_outputs) for part in inputs]


@register_baseline("ridge", tasks=("regression", "forecasting"),
                   description="ridge regression (alpha=1) on the flattened features")
def ridge(data: PreparedData, inputs: Sequence[np.ndarray],
          options: dict[str, Any]) -> list[np.ndarray]:
    from sklearn.linear_model import Ridge

    x, y = train_rows(data)
    model = Ridge(alpha=1.0).fit(flat(x), y.reshape(len(y), -1))
    return [model.predict(flat(part)).reshape(len(part), -1) for part in inputs]

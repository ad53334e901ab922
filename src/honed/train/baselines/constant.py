"""Baselines that ignore the inputs: the majority class and the mean target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from honed.data.dataset import PreparedData
from honed.train.baselines.base import log_probabilities, register_baseline


@register_baseline("majority", tasks=("classification",),
                   kinds=("table", "image", "sequence", "text"),
                   description="always the most frequent training class (its probabilities: "
                               "the class shares)")
def majority(data: PreparedData, inputs: Sequence[np.ndarray],
             options: dict[str, Any]) -> list[np.ndarray]:
    from sklearn.dummy import DummyClassifier

    # "prior" predicts the majority class and gives the class shares as probabilities, so its
    # cross-entropy is that of knowing only the class balance; counting is cheap, so every
    # training row counts (a sample could name another majority class)
    y = data.train.y
    model = DummyClassifier(strategy="prior").fit(np.zeros((len(y), 1)), y)
    return [log_probabilities(model, np.zeros((len(part), 1)), data.num_outputs)
            for part in inputs]


@register_baseline("mean", tasks=("regression", "forecasting"),
                   kinds=("table", "image", "sequence", "text"),
                   description="always the mean training target")
def mean(data: PreparedData, inputs: Sequence[np.ndarray],
         options: dict[str, Any]) -> list[np.ndarray]:
    from sklearn.dummy import DummyRegressor

    y = data.train.y.reshape(len(data.train.y), -1)  # every row: a mean is cheap
    model = DummyRegressor(strategy="mean").fit(np.zeros((len(y), 1)), y)
    return [model.predict(np.zeros((len(part), 1))).reshape(len(part), -1) for part in inputs]

"""Baselines beside every model: majority class or mean, a linear model, naive forecasts, and
TF-IDF + logistic regression for text.

Each strategy is one function in one module, registered by task and input kind (see
:mod:`honed.train.baselines.base`); importing this package registers the built-in ones.
"""

from honed.train.baselines import constant, linear, naive, tfidf  # noqa: F401  (registration)
from honed.train.baselines.base import (
    BASELINES,
    MAX_ITER,
    MAX_ROWS,
    Baseline,
    BaselineSkipped,
    baselines_for,
    register_baseline,
)
from honed.train.baselines.compare import (
    baseline_report,
    compare_with_baselines,
    run_baselines,
    summary_lines,
)

__all__ = ["BASELINES", "Baseline", "BaselineSkipped", "MAX_ITER", "MAX_ROWS",
           "baseline_report", "baselines_for", "compare_with_baselines", "register_baseline",
           "run_baselines", "summary_lines"]

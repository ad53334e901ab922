"""The doctor's checks, one module each; every check maps evidence to a Finding or None."""

from honed.report.checks import (
    chance,
    class_imbalance,
    dead_units,
    early_stop,
    gradients,
    importance,
    lr_high,
    lr_low,
    overfitting,
    search_bounds,
    underfitting,
)
from honed.report.checks.base import Finding

__all__ = ["Finding", "chance", "class_imbalance", "dead_units", "early_stop", "gradients",
           "importance", "lr_high",
           "lr_low", "overfitting", "search_bounds", "underfitting"]

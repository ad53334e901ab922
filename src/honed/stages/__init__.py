"""The stages of ``honed run`` (see :mod:`honed.pipeline`), one short module each."""

from honed.stages.refit import Refit, RefitPlan, pick_best_trial, refit_plan
from honed.stages.test import Test
from honed.stages.tune import Tune

__all__ = ["Tune", "Refit", "Test", "RefitPlan", "refit_plan", "pick_best_trial"]

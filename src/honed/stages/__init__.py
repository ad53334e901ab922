"""The stages of ``honed run`` (see :mod:`honed.pipeline`), one short module each."""

from honed.stages.compress import Compress
from honed.stages.explain import Explain
from honed.stages.export import Export
from honed.stages.refit import Refit, RefitPlan, pick_best_trial, refit_plan
from honed.stages.report import Report
from honed.stages.test import Test
from honed.stages.tune import Tune

__all__ = ["Tune", "Refit", "Test", "Explain", "Compress", "Export", "Report", "RefitPlan", "refit_plan", "pick_best_trial"]

"""Hyperparameter search over the spec's dimensions, with Optuna.

Samplers and pruners are Optuna's, looked up by name; honed adds the spec-to-``suggest``
mapping, the trial objective (one honed fit), crash-safe storage with a stale-trial sweeper,
parallel workers, and a multi-objective successive-halving pruner.
"""

from honed.search.objectives import Objective, parse_objectives
from honed.search.pruners import create_pruner, list_pruners
from honed.search.samplers import create_sampler, list_samplers
from honed.search.show import show_study
from honed.search.tune import TuneOutcome, prepare_study, tune

__all__ = [
    "tune",
    "TuneOutcome",
    "prepare_study",
    "Objective",
    "parse_objectives",
    "create_sampler",
    "list_samplers",
    "create_pruner",
    "list_pruners",
    "show_study",
]

"""honed's default pruner: one successive-halving cut after a tenth of the epochs."""

from __future__ import annotations

import optuna
import pytest

from honed.search.mo_pruner import MultiObjectiveSuccessiveHalvingPruner
from honed.search.pruners import auto_min_resource, create_pruner
from honed.spec.schema import PrunerSpec, SearchSpec

optuna.logging.set_verbosity(optuna.logging.WARNING)

GOOD = [1.0] * 20
LATE_FALL = [1.0] * 3 + [0.0] * 17  # the best at the early rung, the worst afterwards
EARLY_LOW = [0.0] * 20


def _cut_at(pruner: optuna.pruners.BasePruner, runs: list[list[float]]) -> list[int | None]:
    """Each trial's 0-based step at which ``pruner`` cut it (None: it ran to the end)."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    cuts: list[int | None] = []
    for values in runs:
        trial = study.ask()
        cut = None
        for step, value in enumerate(values):
            trial.report(value, step)
            if trial.should_prune():
                cut = step
                break
        cuts.append(cut)
        if cut is None:
            study.tell(trial, values[-1])
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return cuts


def test_the_default_search_uses_it():
    assert SearchSpec().pruner.name == "auto"


@pytest.mark.parametrize(("epochs", "step"), [(1, 1), (5, 1), (14, 1), (20, 2), (30, 3),
                                              (100, 10)])
def test_the_cut_comes_after_a_tenth_of_the_epochs(epochs, step):
    assert auto_min_resource(epochs) == step


def test_it_cuts_once_and_only_at_its_rung():
    pruner = create_pruner(PrunerSpec(), epochs=20)
    # two good trials set the bar; a third, worse at step 2, is cut there and not before
    assert _cut_at(pruner, [GOOD, GOOD, EARLY_LOW]) == [None, None, 2]
    # a trial that passes the rung runs to the end however badly it does afterwards,
    # where classic asha (rungs at steps 1, 3, 9) cuts it at the next rung
    assert _cut_at(create_pruner(PrunerSpec(), epochs=20), [GOOD, GOOD, LATE_FALL]) == [
        None, None, None]
    assert _cut_at(create_pruner(PrunerSpec(name="asha"), epochs=20),
                   [GOOD, GOOD, LATE_FALL]) == [None, None, 3]


def test_its_knobs_are_the_spec_s():
    pruner = create_pruner(PrunerSpec(name="auto", min_resource=5), epochs=20)
    assert _cut_at(pruner, [GOOD, GOOD, EARLY_LOW]) == [None, None, 5]
    twice = create_pruner(PrunerSpec(name="auto", min_resource=1, max_rungs=2), epochs=20)
    assert _cut_at(twice, [GOOD, GOOD, LATE_FALL]) == [None, None, 3]


def test_several_objectives_get_the_same_single_cut():
    pruner = create_pruner(PrunerSpec(), epochs=20, objectives=2)
    assert isinstance(pruner, MultiObjectiveSuccessiveHalvingPruner)
    assert (pruner._min_resource, pruner._reduction_factor, pruner._max_rungs) == (2, 3, 1)


def test_asha_and_hyperband_keep_their_classic_first_rung():
    assert _cut_at(create_pruner(PrunerSpec(name="asha"), epochs=20),
                   [GOOD, GOOD, EARLY_LOW]) == [None, None, 1]
    hyperband = create_pruner(PrunerSpec(name="hyperband"), epochs=20)
    assert hyperband._min_resource == 1

"""Multi-objective successive halving: sorting helpers by hand, the pruner on hand-built studies,
an end-to-end optimize run, and parity with Optuna's SuccessiveHalvingPruner on one objective."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.pruners import SuccessiveHalvingPruner
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

from honed.search.mo_pruner import (
    INTERMEDIATE_PREFIX,
    MultiObjectiveSuccessiveHalvingPruner,
    crowding_distance,
    intermediate_vectors,
    nondominated_ranks,
    report_vector,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
INF = math.inf
NAN = math.nan
MIN2 = ["minimize", "minimize"]

# Six points in 2-D: with (min, min) the fronts are {A, B, C}, {D, E}, {F}.
#                  A       B       C       D       E       F
SIX = np.array([[1, 5], [2, 3], [4, 1], [3, 4], [5, 2], [5, 5]], dtype=float)


# ---------------------------------------------------------------- sorting helpers, by hand


def test_ranks_min_min():
    np.testing.assert_array_equal(nondominated_ranks(SIX, MIN2), [0, 0, 0, 1, 1, 2])


def test_ranks_mixed_directions():
    # (min x, max y): A = (1, 5) beats everyone; then B, D, F trade x against y; C, E last.
    directions = ["minimize", StudyDirection.MAXIMIZE]
    np.testing.assert_array_equal(nondominated_ranks(SIX, directions), [0, 1, 2, 1, 2, 1])


def test_ranks_nan_rows_last_and_duplicates_share_a_front():
    values = np.array([[NAN, 0], [2, 2], [1, 3], [2, 2], [3, 3], [0, NAN]])
    np.testing.assert_array_equal(nondominated_ranks(values, MIN2), [2, 0, 0, 0, 1, 2])


def test_ranks_three_objectives_and_one_objective():
    values = np.array([[1, 2, 3], [3, 2, 1], [2, 2, 2], [3, 3, 3], [1, 2, 4]])
    np.testing.assert_array_equal(nondominated_ranks(values, ["minimize"] * 3),
                                  [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(nondominated_ranks(np.array([3.0, 1.0, 3.0, 2.0]),
                                                     ["maximize"]), [0, 2, 0, 1])
    assert nondominated_ranks(np.zeros((0, 2)), MIN2).shape == (0,)


def test_ranks_reject_unknown_direction():
    with pytest.raises(ValueError, match="'minimize' or 'maximize'; got 'min'"):
        nondominated_ranks(SIX, ["min", "minimize"])


def test_crowding_first_front_of_six():
    # B: x-gap (4 - 1) / 3 = 1, y-gap (5 - 1) / 4 = 1.
    np.testing.assert_allclose(crowding_distance(SIX[:3]), [INF, 2.0, INF])


def test_crowding_uneven_front():
    front = np.array([[0, 10], [1, 6], [3, 5], [6, 1], [10, 0]], dtype=float)
    # (1,6): 3/10 + 5/10; (3,5): 5/10 + 5/10; (6,1): 7/10 + 5/10.
    np.testing.assert_allclose(crowding_distance(front), [INF, 0.8, 1.0, 1.2, INF])


def test_crowding_duplicates_and_degenerate_fronts():
    dup = np.array([[0, 4], [2, 2], [2, 2], [4, 0]], dtype=float)
    np.testing.assert_allclose(crowding_distance(dup), [INF, 2.0, 2.0, INF])
    np.testing.assert_allclose(crowding_distance(np.array([[1.0, 2.0]])), [0.0])
    np.testing.assert_allclose(crowding_distance(np.array([[1.0, 2.0], [2.0, 1.0]])), [INF, INF])
    np.testing.assert_allclose(crowding_distance(np.ones((3, 2))), [0.0, 0.0, 0.0])


# ---------------------------------------------------------------- report / read vectors


def test_report_vector_round_trip_and_validation():
    study = optuna.create_study(directions=MIN2)
    trial = study.ask()
    report_vector(trial, 0, [1, 2.5])
    report_vector(trial, 2, [NAN, np.float32(3)])
    trial.set_user_attr("note", "not a vector")
    with pytest.warns(UserWarning, match="already reported"):
        report_vector(trial, 0, [9, 9])
    got = intermediate_vectors(study._storage.get_trial(trial._trial_id))
    assert list(got) == [0, 2] and got[0] == [1.0, 2.5] and math.isnan(got[2][0])
    for step, values, error in [(0, [INF, 1], ValueError), (1, [1], ValueError),
                                (-1, [1, 1], ValueError), (1, ["a", 1], TypeError)]:
        with pytest.raises(error):
            report_vector(trial, step, values)


def test_constructor_names_every_bad_argument():
    with pytest.raises(ValueError) as info:
        MultiObjectiveSuccessiveHalvingPruner(min_resource=0, reduction_factor=1,
                                              min_trials_per_rung=0)
    message = str(info.value)
    assert "min_resource must be an int >= 1; got 0" in message
    assert "reduction_factor must be an int >= 2; got 1" in message
    assert "min_trials_per_rung must be an int >= 1; got 0" in message


# ---------------------------------------------------------------- pruner on hand-built studies


def _study(directions, **kwargs):
    kwargs.setdefault("min_trials_per_rung", 1)
    pruner = MultiObjectiveSuccessiveHalvingPruner(**kwargs)
    return optuna.create_study(directions=directions, pruner=pruner)


def _add(study, *rung_vectors, state=TrialState.COMPLETE):
    """A finished trial that passed rungs 0, 1, ... with these vectors."""
    attrs = {f"honed.rung.{r}": list(v) for r, v in enumerate(rung_vectors)}
    attrs.update({f"{INTERMEDIATE_PREFIX}{r}": list(v) for r, v in enumerate(rung_vectors)})
    if any(map(math.isnan, rung_vectors[-1])):
        state = TrialState.PRUNED  # a COMPLETE trial cannot hold NaN values
    values = list(rung_vectors[-1]) if state == TrialState.COMPLETE else None
    study.add_trial(create_trial(state=state, values=values, user_attrs=attrs))


def _run(study, vectors):
    """Report ``vectors[step]`` step by step the way honed's callback does; the decisions."""
    trial = study.ask()
    decisions = []
    for step, vector in enumerate(vectors):
        report_vector(trial, step, vector)
        decisions.append(study.pruner.prune(study, study._storage.get_trial(trial._trial_id)))
    return decisions, study._storage.get_trial(trial._trial_id)


def _judged_at_rung0(directions, others, me, **kwargs):
    study = _study(directions, **kwargs)
    for vector in others:
        _add(study, vector)
    return _run(study, [me, me])[0] == [False, True]


def test_dominated_trial_is_pruned():
    # n = 6, keep 2; (5, 5) is on the third front.
    assert _judged_at_rung0(MIN2, SIX[:5], [5, 5])


def test_trial_on_a_small_first_front_is_kept():
    # n = 9, keep 3; the first front is {(1, 5), (2, 3), (4, 1)}, (2, 3) inside it.
    others = [[1, 5], [4, 1], [3, 4], [5, 2], [5, 5], [6, 6], [4, 5], [6, 3]]
    assert not _judged_at_rung0(MIN2, others, [2, 3])


@pytest.mark.parametrize("me, pruned", [((6, 1), False), ((3, 5), True), ((1, 6), True)])
def test_ties_on_the_first_front_are_broken_by_crowding_distance(me, pruned):
    # n = 9, keep 3; all five front points are first-front; crowding: the two ends inf,
    # (6, 1) 1.2, (3, 5) 1.0, (1, 6) 0.8 -> only (6, 1) joins the ends.
    front = [(0, 10), (1, 6), (3, 5), (6, 1), (10, 0)]
    others = [p for p in front if p != me] + [(11, 11), (12, 12), (13, 13), (7, 6)]
    assert _judged_at_rung0(MIN2, others, me) == pruned


def test_ties_in_value_are_all_kept():
    # n = 4, keep 1, but the two identical best vectors tie and both pass.
    assert not _judged_at_rung0(MIN2, [[1, 1], [2, 2], [3, 3]], [1, 1])


def test_min_trials_per_rung():
    # Default 3: the second trial to reach a rung passes even when dominated.
    assert not _judged_at_rung0(MIN2, [[1, 1]], [5, 5], min_trials_per_rung=3)
    assert _judged_at_rung0(MIN2, [[1, 1]], [5, 5], min_trials_per_rung=2)
    assert _judged_at_rung0(MIN2, [[1, 1], [2, 2]], [5, 5], min_trials_per_rung=3)
    assert MultiObjectiveSuccessiveHalvingPruner()._min_trials_per_rung == 3


def test_nan_ranks_last():
    # n = 6, keep 2: (5, 5) is behind (1, 1) but ahead of the four NaN-holding vectors.
    others = [[1, 1], [NAN, 1], [1, NAN], [NAN, NAN], [NAN, 0]]
    assert not _judged_at_rung0(MIN2, others, [5, 5])
    # A NaN at a rung step is pruned outright, even with no competitor at all ...
    study = _study(MIN2, min_trials_per_rung=5)
    decisions, frozen = _run(study, [[NAN, 1], [NAN, 1]])
    assert decisions == [False, True] and "honed.rung.0" not in frozen.user_attrs
    # ... but a NaN between rungs decides nothing.
    assert _run(study, [[NAN, 1], [1, 1], [NAN, NAN]])[0] == [False, False, False]


def test_rung_schedule_decides_only_at_rung_steps():
    study = _study(MIN2)
    _add(study, [9, 9], [0, 0])  # beaten at rung 0 (step 1), best at rung 1 (step 3)
    decisions, frozen = _run(study, [[1, 1], [1, 1], [8, 8], [8, 8]])
    assert decisions == [False, False, False, True]
    assert frozen.user_attrs["honed.rung.0"] == [1, 1]
    assert frozen.user_attrs["honed.rung.1"] == [8, 8]
    # min_resource=2, min_early_stopping_rate=1: the first rung is at step 2 * 3 = 6.
    study = _study(MIN2, min_resource=2, min_early_stopping_rate=1)
    _add(study, [0, 0])
    decisions, _ = _run(study, [[5, 5]] * 7)
    assert decisions == [False] * 6 + [True]


def test_trials_of_any_state_that_reached_the_rung_compete():
    study = _study(MIN2)
    _add(study, [0, 0], state=TrialState.PRUNED)
    study.add_trial(create_trial(state=TrialState.COMPLETE, values=[0, 0]))  # never judged
    assert _run(study, [[5, 5], [5, 5]])[0] == [False, True]
    assert _run(_study(MIN2), [[5, 5], [5, 5]])[0] == [False, False]


@pytest.mark.parametrize("directions, pruned", [
    (["minimize", "maximize"], False),  # (0.3, 0.95) shares the front with (0.1, 0.9)
    (["maximize", "minimize"], True),  # (0.5, 0.5) dominates it
    (["minimize", "minimize"], True),  # (0.1, 0.9) dominates it
])
def test_mixed_directions(directions, pruned):
    assert _judged_at_rung0(directions, [[0.1, 0.9], [0.5, 0.5]], [0.3, 0.95]) == pruned


# ---------------------------------------------------------------- end to end


def test_optimize_prunes_dominated_trials():
    # Three trade-off trials (offset 0) then six dominated ones (offset 5), 9 epochs each.
    study = optuna.create_study(directions=MIN2, pruner=MultiObjectiveSuccessiveHalvingPruner())
    for a, offset in [(0.0, 0), (0.5, 0), (1.0, 0)] + [(0.5, 5)] * 6:
        study.enqueue_trial({"a": a, "offset": offset})

    def objective(trial):
        a = trial.suggest_float("a", 0, 1)
        offset = trial.suggest_int("offset", 0, 5)
        for step in range(9):
            noise = 1 / (step + 1)
            vector = [a + offset + noise, 1 - a + offset + noise]
            trial.set_user_attr(f"honed.step.{step}", vector)  # what honed's callback does
            frozen = study._storage.get_trial(trial._trial_id)
            if study.pruner.prune(study, frozen):
                raise optuna.TrialPruned()
        return vector

    study.optimize(objective, n_trials=9)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.PRUNED] * 6
    assert all(max(intermediate_vectors(t)) == 1 for t in study.trials[3:])
    assert all("honed.rung.1" in t.user_attrs for t in study.trials[:3])


# ---------------------------------------------------------------- parity with Optuna


def _decisions(direction, pruner, sequences, *, vectors):
    """Run each trial's values through ``pruner``; per trial, the decision at each step."""
    study = optuna.create_study(direction=direction, pruner=pruner)
    out = []
    for values in sequences:
        trial, decisions = study.ask(), []
        for step, value in enumerate(values):
            if vectors:
                report_vector(trial, step, [value])
                frozen = study._storage.get_trial(trial._trial_id)
                decisions.append(study.pruner.prune(study, frozen))
            else:
                trial.report(value, step)
                decisions.append(trial.should_prune())
            if decisions[-1]:
                break
        if decisions[-1]:
            study.tell(trial, state=TrialState.PRUNED)
        elif math.isnan(values[-1]):
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, values[-1])
        out.append(decisions)
    return out


_RNG = np.random.default_rng(0)
_RANDOM = np.round(_RNG.random((40, 12)), 1)  # rounding makes ties common
_RANDOM[_RNG.random((40, 12)) < 0.03] = NAN
_CASES = {
    "steady": [[5, 4, 3, 2, 1, 0]] * 2 + [[6, 5, 4, 3, 2, 1], [1, 1, 1, 1, 1, 1]] * 3,
    "crossing": [[9 - s, s] for s in range(5)] + [[s, 9 - s] for s in range(5)],
    "nan": [[1, 2, 3, 4], [2, NAN, 1, 1], [NAN, NAN, NAN, NAN], [0, 0, 0, 0]],
    "random": _RANDOM.tolist(),
}


@pytest.mark.parametrize("case", sorted(_CASES))
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("schedule", [(1, 3, 0), (1, 2, 0), (2, 3, 1)])
def test_single_objective_matches_optuna(case, direction, schedule):
    min_resource, eta, rate = schedule
    ours = MultiObjectiveSuccessiveHalvingPruner(
        min_resource=min_resource, reduction_factor=eta, min_early_stopping_rate=rate,
        min_trials_per_rung=1)
    reference = SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=eta,
                                        min_early_stopping_rate=rate)
    expected = _decisions(direction, reference, _CASES[case], vectors=False)
    assert case != "random" or sum(map(any, expected)) >= 10  # parity on real pruning
    assert _decisions(direction, ours, _CASES[case], vectors=True) == expected
    # trial.report + trial.should_prune drive it the same way in a one-objective study.
    assert _decisions(direction, ours, _CASES[case], vectors=False) == expected


# ---------------------------------------------------------------- a cap on the rungs


def test_max_rungs_stops_judging_after_the_last_rung():
    study = _study(MIN2, max_rungs=1)
    _add(study, [9, 9], [0, 0])  # beaten at rung 0 (step 1), best at rung 1 (step 3)
    decisions, frozen = _run(study, [[1, 1]] * 6)
    assert decisions == [False] * 6 and frozen.user_attrs["honed.rung.0"] == [1, 1]
    assert "honed.rung.1" not in frozen.user_attrs  # rung 1 is never judged
    uncapped = _study(MIN2)
    _add(uncapped, [9, 9], [0, 0])
    assert _run(uncapped, [[1, 1]] * 6)[0] == [False, False, False, True, False, False]


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("max_rungs", [1, 2])
def test_single_objective_rung_limit_matches_the_capped_pruner(direction, max_rungs):
    from honed.search.pruners import create_pruner
    from honed.search.rung_limit import RungLimit
    from honed.spec.schema import PrunerSpec

    capped = create_pruner(PrunerSpec(name="asha", max_rungs=max_rungs), epochs=12)
    assert isinstance(capped, RungLimit) and capped.last_step == 3 ** max_rungs - 1
    ours = MultiObjectiveSuccessiveHalvingPruner(min_trials_per_rung=1, max_rungs=max_rungs)
    expected = _decisions(direction, capped, _CASES["random"], vectors=False)
    assert sum(map(any, expected)) >= 10  # it still prunes...
    # ... but never past the last rung, where the uncapped pruner does
    assert not any(any(trial[capped.last_step + 1:]) for trial in expected)
    if max_rungs == 1:  # (in this case no trial lives to be cut at the third rung, step 9)
        uncapped = _decisions(direction, SuccessiveHalvingPruner(), _CASES["random"],
                              vectors=False)
        assert any(any(trial[capped.last_step + 1:]) for trial in uncapped)
    assert _decisions(direction, ours, _CASES["random"], vectors=True) == expected

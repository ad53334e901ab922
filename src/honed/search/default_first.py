"""The first trial of a fresh study sits at the spec's default point (``search.start_at_default``).

The default point is the spec author's best guess (a written ``default:``, else the first
option or the middle of the range) and the point ``honed train`` trains. Trying it first means
a search is never worse than training the spec as written, and gives the sampler one informed
point among its random start-up draws. SMAC offers the same (its ``DefaultInitialDesign``,
or the default configuration among ``additional_configs``).
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from honed.search.retry import FAIL_REASON_ATTR, dropped_trials
from honed.search.space import choice_labels
from honed.spec.space import Dimension, default_value, option_index

__all__ = ["default_params", "enqueue_default", "default_point_status", "describe_default_point",
           "DEFAULT_POINT_ATTR"]

#: study user attribute set once the default point was queued, so a continued study never
#: queues it again (a queued trial that is interrupted is re-queued by the worker loop)
QUEUED_ATTR = "honed.default_queued"
#: user attribute of the trial at the default point
DEFAULT_POINT_ATTR = "honed.default_point"


def default_params(dimensions: list[Dimension]) -> dict[str, Any]:
    """The default point as Optuna parameters: a choice by its label, conditional ones included."""
    params: dict[str, Any] = {}
    for dim in dimensions:
        value = default_value(dim)
        if dim.kind != "choice":
            params[dim.name] = value
            continue
        index = option_index(dim.choices, value)
        params[dim.name] = choice_labels(dim)[index]
        params.update(default_params(dim.nested.get(dim.option_label(index), [])))
    return params


def enqueue_default(study: optuna.Study, dimensions: list[Dimension]) -> bool:
    """Queue the default point as the study's first trial; False when the study is not new."""
    if study.user_attrs.get(QUEUED_ATTR) or study.get_trials(deepcopy=False):
        return False
    study.enqueue_trial(default_params(dimensions), user_attrs={DEFAULT_POINT_ATTR: True})
    study.set_user_attr(QUEUED_ATTR, True)
    return True


def default_point_status(study: optuna.Study) -> dict[str, Any] | None:
    """What became of the default point: its last trial's number and state, and why.

    ``state`` is a trial state's name, or ``DROPPED`` when its worker was killed too often to
    try again (``why`` says so); a failed one gives its reason. None when it was never queued.
    """
    trials = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(DEFAULT_POINT_ATTR)]
    if not trials:
        return None
    ended = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    last = ended[0] if ended else trials[-1]  # a retry comes after the trial it retries
    status: dict[str, Any] = {"trial": last.number, "state": last.state.name}
    dropped = dropped_trials(study)
    if last.number in dropped:
        status.update(state="DROPPED", why=dropped[last.number])
    elif last.state == TrialState.FAIL and last.user_attrs.get(FAIL_REASON_ATTR):
        status["why"] = last.user_attrs[FAIL_REASON_ATTR]
    return status


def describe_default_point(status: dict[str, Any] | None) -> str | None:
    """One line for a study that ended without evaluating its default point; None otherwise."""
    if status is None or status["state"] in ("COMPLETE", "PRUNED", "FAIL"):
        return None
    why = status.get("why") or f"its last trial is {status['state']}"
    return (f"the default point (trial {status['trial']}) was not evaluated: {why}; "
            "honed train trains it alone")

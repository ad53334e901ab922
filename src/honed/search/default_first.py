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

from honed.search.space import choice_labels
from honed.spec.space import Dimension, default_value, option_index

__all__ = ["default_params", "enqueue_default", "DEFAULT_POINT_ATTR"]

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

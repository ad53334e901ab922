"""Map the spec's search dimensions to Optuna's ``trial.suggest_*``.

Categorical options that Optuna cannot store (lists, mappings) are suggested by a label — the
option's ``name`` for a mapping, its JSON text otherwise — and mapped back, so trials.csv stays
readable. ``bounds`` lets coarse-to-fine search a narrowed copy of the same space under the same
parameter names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import optuna

from honed.spec.space import Dimension, option_label

if TYPE_CHECKING:
    from honed.spec.template import SpecTemplate

__all__ = ["suggest", "choice_labels", "distribution", "most_epochs"]

_PLAIN = (str, int, float, bool, type(None))


def choice_labels(dim: Dimension) -> list[Any]:
    """What Optuna stores for each option of a choice."""
    if all(isinstance(o, _PLAIN) for o in dim.choices):
        return list(dim.choices)
    labels = [option_label(o, i) if isinstance(o, Mapping) else json.dumps(o)
              for i, o in enumerate(dim.choices)]
    if len(set(labels)) != len(labels):
        labels = [str(i) for i in range(len(dim.choices))]
    return labels


def distribution(dim: Dimension, bounds: Mapping[str, Any] | None = None
                 ) -> optuna.distributions.BaseDistribution:
    """The Optuna distribution of ``dim``, narrowed by ``bounds[dim.name]`` when given."""
    narrowed = (bounds or {}).get(dim.name)
    if dim.kind == "choice":
        labels = choice_labels(dim)
        if narrowed is not None:
            labels = [label for label in labels if label in narrowed]
        return optuna.distributions.CategoricalDistribution(labels)
    low, high = narrowed if narrowed is not None else (dim.low, dim.high)
    if dim.kind == "int":
        return optuna.distributions.IntDistribution(int(low), int(high), log=dim.log,
                                                    step=int(dim.step or 1))
    return optuna.distributions.FloatDistribution(float(low), float(high), log=dim.log,
                                                  step=dim.step)


def suggest(trial: optuna.Trial, dim: Dimension, bounds: Mapping[str, Any] | None = None) -> Any:
    """The value of ``dim`` for ``trial`` (an option itself for a choice)."""
    dist = distribution(dim, bounds)
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        label = trial.suggest_categorical(dim.name, dist.choices)
        return dim.choices[choice_labels(dim).index(label)]
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(dim.name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(dim.name, dist.low, dist.high, step=dist.step, log=dist.log)


def most_epochs(template: SpecTemplate) -> int:
    """The most epochs a trial of ``template`` can train: the pruners' resource.

    ``train.epochs`` searched (``{int: [5, 60]}`` or a choice) gives its largest value, so
    that Hyperband's brackets reach the longest trials and the auto pruner cuts at a tenth of
    them; written once, it is that number.
    """
    searched = [max(dim.candidates()) for dim in template.dimensions
                if dim.path == "train.epochs"]
    return max([template.default.train.epochs, *searched])

"""Phase 2 of coarse-to-fine: TPE sampling a study seen through a narrowed space.

Why not a plain TPE on the study (Optuna 5.0, checked against its source and by experiment):

- A study's storage refuses a categorical parameter whose options change
  (``CategoricalDistribution does not support dynamic value space``), so a narrowed choice
  cannot be suggested as a smaller ``suggest_categorical``: phase-2 trials suggest every option
  and the sampler alone keeps to the options that survived. Floats and ints may change range.
- Multivariate TPE models the intersection search space, the parameters whose distribution is
  *identical* in every trial: once one narrowed trial exists, every narrowed number drops out of
  it and is sampled one at a time.
- Independent TPE turns every past value into its internal representation over the narrowed
  distribution, which raises for a dropped option, and a kernel centred outside the narrowed
  range only wastes mass.

So :class:`NarrowedSampler` hands its inner TPE a filtered view of the study, the way Optuna's
Hyperband hands its sampler the view of one bracket: phase-1 trials whose every value lies inside
the narrowed space, with their distributions rewritten to the narrowed ones, and phase-2 trials
with their (full) categoricals rewritten the same way; trials outside are left out. TPE then
learns from every trial inside the narrowed space, keeps its multivariate, grouped model of
conditional spaces, and proposes only narrowed values; the search space it reports to Optuna
gives categoricals back their stored options, which Optuna's compatibility check requires.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Container
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = ["NarrowedSampler"]


class NarrowedSampler(optuna.samplers.BaseSampler):
    """``inner`` (phase 2's TPE) sampling a study seen through narrowed distributions.

    Args:
        inner: the sampler that does the work.
        narrowed: the narrowed distribution of each narrowed parameter, by name: what ``inner``
            sees and samples from.
        stored: the distribution trials store for a parameter where it differs from the
            narrowed one (a narrowed categorical keeps all its options in storage).
    """

    def __init__(self, inner: optuna.samplers.BaseSampler,
                 narrowed: dict[str, BaseDistribution],
                 stored: dict[str, BaseDistribution] | None = None) -> None:
        self.inner, self.narrowed, self.stored = inner, narrowed, dict(stored or {})
        self._finished: dict[int, FrozenTrial | None] = {}  # finished trials never change

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        space = self.inner.infer_relative_search_space(_NarrowedView(study, self), trial)
        return {name: self.stored.get(name, dist) for name, dist in space.items()}

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        seen = {name: self.narrowed.get(name, dist) for name, dist in search_space.items()}
        return self.inner.sample_relative(_NarrowedView(study, self), trial, seen)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.inner.sample_independent(_NarrowedView(study, self), trial, param_name,
                                             self.narrowed.get(param_name, param_distribution))

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.inner.before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Any) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()

    def view(self, trial: FrozenTrial) -> FrozenTrial | None:
        """``trial`` with narrowed distributions, or None when a value lies outside them."""
        if trial._trial_id in self._finished:
            return self._finished[trial._trial_id]
        seen: FrozenTrial | None = trial
        if not all(_inside(self.narrowed[name], value) for name, value in trial.params.items()
                   if name in self.narrowed):
            seen = None
        elif any(dist != self.narrowed.get(name, dist)
                 for name, dist in trial.distributions.items()):
            seen = copy.copy(trial)  # never change the storage's cached trial
            seen.distributions = {name: self.narrowed.get(name, dist)
                                  for name, dist in trial.distributions.items()}
        if trial.state.is_finished():
            self._finished[trial._trial_id] = seen
        return seen


def _inside(dist: BaseDistribution, value: Any) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return value in dist.choices
    # phase-1 values sit on the original step grid; a last-bit difference is not "outside"
    return (dist.low <= value <= dist.high or math.isclose(value, dist.low, rel_tol=1e-9)
            or math.isclose(value, dist.high, rel_tol=1e-9))


class _NarrowedView:
    """A study whose trials are those :meth:`NarrowedSampler.view` keeps, as it shows them."""

    def __init__(self, study: Study, sampler: NarrowedSampler) -> None:
        self._study, self._sampler = study, sampler

    def __getattr__(self, name: str) -> Any:  # directions, _study_id, _storage, ...
        return getattr(self._study, name)

    def _get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None,
                    use_cache: bool = False) -> list[FrozenTrial]:
        trials = self._study._get_trials(deepcopy=False, states=states, use_cache=use_cache)
        kept = [seen for t in trials if (seen := self._sampler.view(t)) is not None]
        return copy.deepcopy(kept) if deepcopy else kept

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None
                   ) -> list[FrozenTrial]:
        return self._get_trials(deepcopy=deepcopy, states=states)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()

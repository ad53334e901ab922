"""Optuna samplers by name (``search.sampler``), never wrapped in classes of our own."""

from __future__ import annotations

import math

import optuna

from honed.errors import UserInputError
from honed.registry import Registry
from honed.search.space import choice_labels
from honed.spec.schema import SamplerSpec, SearchSpec
from honed.spec.space import Dimension, flatten

__all__ = ["create_sampler", "list_samplers", "grid_space", "grid_points", "trial_target"]

_SAMPLERS: Registry = Registry("sampler")


def create_sampler(spec: SamplerSpec, *, dimensions: list[Dimension], seed: int,
                   objectives: int = 1) -> optuna.samplers.BaseSampler | None:
    """The sampler ``spec`` names, seeded with ``seed`` (``default``: Optuna's own choice)."""
    return _SAMPLERS.get(spec.name)(spec, dimensions=dimensions, seed=seed, objectives=objectives)


def list_samplers() -> list[tuple[str, str]]:
    return _SAMPLERS.items()


@_SAMPLERS.register("auto", description="honed's default: multivariate TPE for one objective, "
                    "NSGA-II for several")
def _auto(spec, *, seed, objectives, **_):
    return _nsga2(spec, seed=seed) if objectives > 1 else _tpe(spec, seed=seed)


@_SAMPLERS.register("default", description="Optuna's default: TPESampler() at Optuna's "
                    "settings (multivariate, ungrouped; independent for several), seeded")
def _default(spec, *, seed, **_):
    # what optuna.create_study picks when given no sampler (Optuna 5: TPESampler() for one
    # objective or several), with the search's seed, so the same spec searches the same points
    return optuna.samplers.TPESampler(seed=seed)


@_SAMPLERS.register("tpe", description="Tree-structured Parzen estimator (Bayesian); "
                    "multivariate by default")
def _tpe(spec, *, seed, **_):
    extra = {} if spec.n_startup_trials is None else {"n_startup_trials": spec.n_startup_trials}
    # group=True lets multivariate TPE model conditional spaces (a choice of mappings) jointly
    return optuna.samplers.TPESampler(seed=seed, multivariate=spec.multivariate,
                                      group=spec.multivariate, **extra)


@_SAMPLERS.register("random", description="Independent uniform draws: the baseline")
def _random(spec, *, seed, **_):
    return optuna.samplers.RandomSampler(seed=seed)


@_SAMPLERS.register("gp", description="Gaussian-process Bayesian optimization")
def _gp(spec, *, seed, **_):
    extra = {} if spec.n_startup_trials is None else {"n_startup_trials": spec.n_startup_trials}
    return optuna.samplers.GPSampler(seed=seed, **extra)


@_SAMPLERS.register("cmaes", description="CMA evolution strategy for continuous spaces")
def _cmaes(spec, *, seed, **_):
    extra = {} if spec.n_startup_trials is None else {"n_startup_trials": spec.n_startup_trials}
    if spec.population_size is not None:
        extra["popsize"] = spec.population_size
    return optuna.samplers.CmaEsSampler(seed=seed, **extra)


@_SAMPLERS.register("qmc", description="Quasi-random (Sobol or Halton) space-filling design")
def _qmc(spec, *, seed, **_):
    return optuna.samplers.QMCSampler(qmc_type=spec.qmc_type, scramble=True, seed=seed)


@_SAMPLERS.register("nsga2", description="NSGA-II genetic algorithm, for several objectives")
def _nsga2(spec, *, seed, **_):
    extra = {} if spec.population_size is None else {"population_size": spec.population_size}
    return optuna.samplers.NSGAIISampler(seed=seed, **extra)


@_SAMPLERS.register("grid", description="Every combination of choices and integer ranges")
def _grid(spec, *, dimensions, **_):
    return optuna.samplers.GridSampler(grid_space(dimensions), seed=0)


def grid_space(dimensions: list[Dimension]) -> dict[str, list]:
    """The grid of every dimension; a continuous one is a one-line error."""
    space: dict[str, list] = {}
    for dim in flatten(dimensions):
        if dim.kind == "choice":
            space[dim.name] = choice_labels(dim)
        elif dim.kind == "int" and not dim.log:
            space[dim.name] = list(range(int(dim.low), int(dim.high) + 1, int(dim.step or 1)))
        elif dim.kind == "float" and dim.step:
            count = int(round((dim.high - dim.low) / dim.step)) + 1
            space[dim.name] = [dim.low + i * dim.step for i in range(count)]
        else:
            raise UserInputError(f"search.sampler grid cannot enumerate {dim.path}: a continuous "
                                 f"or log-scale dimension; give it a step or write it as "
                                 "{choice: [...]}")
    if not space:
        raise UserInputError("search.sampler grid: the spec has no search dimensions")
    return space


def grid_points(search: SearchSpec, dimensions: list[Dimension]) -> int | None:
    """The number of points of a grid search (``sampler: grid``); None for any other search."""
    if search.sampler.name != "grid" or search.strategy != "default":
        return None
    return math.prod(len(values) for values in grid_space(dimensions).values())


def trial_target(search: SearchSpec, dimensions: list[Dimension]) -> int:
    """The trials a study runs: ``search.trials``, or a smaller grid's points, each once.

    Optuna's grid sampler draws a visited point again once the grid is exhausted (and stops
    only the ``optimize`` call it runs in, which honed makes one trial long).
    """
    points = grid_points(search, dimensions)
    return search.trials if points is None else min(search.trials, points)

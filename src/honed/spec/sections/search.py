"""The ``search`` section: the hyperparameter study of ``honed tune`` and ``honed run``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from honed.spec.sections.common import Duration, Section, Seed, named

__all__ = ["SearchSpec", "SamplerSpec", "PrunerSpec"]


class SamplerSpec(Section):
    """An Optuna sampler by name, with its main knobs, seeded by the search's seed;
    ``sampler: tpe`` stands for ``sampler: {name: tpe}``."""

    name: Literal["auto", "default", "grid", "random", "tpe", "gp", "cmaes", "qmc",
                  "nsga2"] = Field(
        "auto", description="`auto`: multivariate TPE, NSGA-II for several objectives; "
                            "`default`: Optuna's own choice at its settings, seeded (see `honed list samplers`).")
    n_startup_trials: Annotated[int, Field(ge=0)] | None = Field(
        None, description="`tpe`, `gp`, `cmaes`: random trials before the model takes over.")
    multivariate: bool = Field(True, description="`tpe`: model the parameters jointly.")
    population_size: Annotated[int, Field(ge=2)] | None = Field(
        None, description="`nsga2`, `cmaes`: trials per generation.")
    qmc_type: Literal["sobol", "halton"] = Field(
        "sobol", description="`qmc`: the low-discrepancy sequence.")


class PrunerSpec(Section):
    """A pruner by name, with its main knobs; every epoch is one step; ``pruner: asha`` stands
    for ``pruner: {name: asha}``."""

    name: Literal["auto", "none", "median", "percentile", "asha", "hyperband"] = Field(
        "auto", description="`auto`: one successive-halving cut after a tenth of the "
                            "epochs (see `honed list pruners`).")
    n_startup_trials: Annotated[int, Field(ge=0)] = Field(
        5, description="`median`, `percentile`: trials completed before any pruning.")
    n_warmup_steps: Annotated[int, Field(ge=0)] = Field(
        1, description="`median`, `percentile`: epochs of a trial before it may be pruned.")
    percentile: Annotated[float, Field(gt=0.0, lt=100.0)] = Field(
        25.0, description="`percentile`: trials below this percentile of the others stop.")
    min_resource: Annotated[int, Field(ge=1)] | None = Field(
        None, description="`auto`, `asha`, `hyperband`: epochs before a first cut; null: "
                          "a tenth of them for `auto`, 1 otherwise.")
    reduction_factor: Annotated[int, Field(ge=2)] = Field(
        3, description="`auto`, `asha`, `hyperband`: 1 / `reduction_factor` of the trials go on at "
                       "each rung.")
    max_rungs: Annotated[int, Field(ge=1)] | None = Field(
        None, description="`auto` (1), `asha`: rungs judged at most; later epochs run uncut.")


class SearchSpec(Section):
    """Hyperparameter search: used by ``honed tune`` and ``honed run``."""

    sampler: Annotated[SamplerSpec, BeforeValidator(named)] = Field(
        SamplerSpec(), description="The sampler: a name or a mapping with its knobs.")
    pruner: Annotated[PrunerSpec, BeforeValidator(named)] = Field(
        PrunerSpec(), description="The pruner: a name or a mapping with its knobs.")
    trials: Annotated[int, Field(ge=1, le=100000)] = Field(
        20, description="Trials the study is to hold; those of a resumed study count.")
    timeout: Duration | None = Field(
        None, description="Stop starting trials after this long: seconds, or 90s, 5m, 2h, 1d.")
    objectives: list[str] | None = Field(
        default=None, min_length=1,
        description="`NAME:min` or `NAME:max`, NAME one of `val.<metric>`, `params`, "
                    "`latency_ms`, `size_mb`; several give a Pareto front; null: "
                    "`train.monitor` in its direction (`val.loss:min` by default).")
    strategy: Literal["default", "coarse-to-fine"] = Field(
        "default", description="`coarse-to-fine`: Sobol points first, then TPE in the space "
                               "narrowed around the best of them.")
    coarse_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.4, description="`coarse-to-fine`: the share of the trials in the first phase; with "
                         "`timeout`, the first phase also ends after this share of the time "
                         "(once max(5, D + 1) of its trials have ended).")
    cv: Annotated[int, Field(ge=2, le=50)] | None = Field(
        None, description="k-fold cross-validation over train+val as the objective; null: "
                          "the val split.")
    workers: Annotated[int, Field(ge=1, le=256)] = Field(
        1, description="Worker processes on this machine, sharing the study.")
    gpus_per_trial: Annotated[int, Field(ge=1, le=64)] = Field(
        1, description="GPUs each worker on this machine gets for its trials (its own "
                       "`CUDA_VISIBLE_DEVICES`, round-robin when workers outnumber the "
                       "groups); more than one trains each trial with DDP over them. "
                       "Ignored without a GPU.")
    storage: str | None = Field(
        None, description="An Optuna storage URL (`postgresql://...`); null: SQLite in "
                          "`DIR/study/study.db`.")
    refit: Literal["train+val", "best-trial"] = Field(
        "best-trial", description="`best-trial`: honed run keeps the best trial's model; "
                                  "`train+val` retrains it on train and val for its best "
                                  "epoch count.")
    seed: Seed | None = Field(
        None, description="The sampler's seed; null: the spec's seed.")
    start_at_default: bool = Field(
        True, description="The first trial trains the spec's default point.")

    @field_validator("objectives")
    @classmethod
    def _objective_form(cls, values: list[str] | None) -> list[str] | None:
        for value in values or ():
            name, sep, direction = value.rpartition(":")
            if not sep or direction not in ("min", "max") or not name:
                raise ValueError(f"each objective is NAME:min or NAME:max, e.g. val.accuracy:max;"
                                 f" got {value!r}")
        names = [v.rpartition(":")[0] for v in values or ()]
        if len(set(names)) != len(names):
            raise ValueError(f"an objective is listed twice: {values}")
        return values

"""What a study leaves in ``DIR/study/``: trials.csv and best.json."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from honed.errors import UserInputError
from honed.io import atomic_write_bytes, atomic_write_json
from honed.search.mo_pruner import nondominated_ranks
from honed.search.objectives import Objective
from honed.search.repeats import distinct

__all__ = ["write_results", "best_trials", "trained_points"]


def trained_points(study: optuna.Study) -> list[FrozenTrial]:
    """Complete trials with finite values, each point once, by the trial that trained it (a
    repeat reused its values: see :mod:`honed.search.repeats`)."""
    return distinct([t for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
                     if all(math.isfinite(v) for v in t.values)])


def best_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The best trial, or the Pareto front of a multi-objective study; only finite values.

    Each point once, by the trial that trained it (a repeat reused its values: see
    :mod:`honed.search.repeats`).
    """
    complete = trained_points(study)
    if not complete:
        return []
    if len(study.directions) == 1:
        sign = 1 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1
        return [min(complete, key=lambda t: sign * t.values[0])]
    # the front of the distinct points: a point two workers trained at once (values a little
    # apart) is on it by its earlier trial
    ranks = nondominated_ranks(np.array([t.values for t in complete]), study.directions)
    return [t for t, rank in zip(complete, ranks, strict=True) if rank == 0]


def write_results(study: optuna.Study, study_dir: Path, objectives: list[Objective], *,
                  extra: dict | None = None) -> list[FrozenTrial]:
    """Write trials.csv (every trial) and best.json (with ``extra``); return the best trials."""
    frame = study.trials_dataframe(multi_index=False)
    if len(objectives) > 1 and not frame.empty:
        frame = frame.rename(columns={f"values_{i}": o.name for i, o in enumerate(objectives)})
    elif not frame.empty:
        frame = frame.rename(columns={"value": objectives[0].name})
    atomic_write_bytes(study_dir / "trials.csv", frame.to_csv(index=False).encode())
    best = best_trials(study)
    atomic_write_json(study_dir / "best.json", {
        "study": study.study_name,
        "objectives": [{"name": o.name, "direction": o.direction} for o in objectives],
        "trials": [_describe(t, objectives) for t in best],
        **(extra or {}),
    })
    return best


def read_best(study_dir: Path) -> dict:
    import json

    path = Path(study_dir) / "best.json"
    if not path.is_file():
        raise UserInputError(f"{path} does not exist: the study has not finished a trial")
    return json.loads(path.read_text(encoding="utf-8"))


def _describe(trial: FrozenTrial, objectives: list[Objective]) -> dict:
    return {
        "number": trial.number,
        "values": {o.name: v for o, v in zip(objectives, trial.values, strict=True)},
        "params": trial.params,
        "best_epoch": trial.user_attrs.get("best_epoch"),
        "dir": trial.user_attrs.get("dir"),
    }

"""Study summaries for people: best trials, parameter importances, the Pareto front."""

from __future__ import annotations

import math

import optuna
from optuna.trial import TrialState
from rich.console import Console
from rich.table import Table

from honed.search.progress import describe
from honed.search.results import best_trials

__all__ = ["show_study", "importances"]


def importances(study: optuna.Study) -> dict[str, float]:
    """Optuna's fANOVA importances for the first objective; empty when too few trials."""
    complete = study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
    if len(complete) < 3:
        return {}
    try:
        return optuna.importance.get_param_importances(
            study, target=(lambda t: t.values[0]) if len(study.directions) > 1 else None)
    except (ValueError, RuntimeError):  # e.g. a single distinct value per parameter
        return {}


def show_study(study: optuna.Study, *, console: Console, top: int = 10) -> None:
    """Print the state counts, the best trials (or the Pareto front) and importances."""
    _, summary = describe(study)
    console.print(f"study {study.study_name}: {summary}")
    names = study.user_attrs.get("honed.objectives") or [
        f"value{i}" for i in range(len(study.directions))]
    best = best_trials(study)
    if not best:
        console.print("no complete trial with finite values yet")
        return
    multi = len(study.directions) > 1
    ranked = best if multi else sorted(
        [t for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
         if all(math.isfinite(v) for v in t.values)],
        key=lambda t: t.values[0], reverse=study.direction.name == "MAXIMIZE")[:top]
    params = sorted({p for t in ranked for p in t.params})
    table = Table(title="Pareto front" if multi else f"best {len(ranked)} trials")
    table.add_column("trial", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for param in params:
        table.add_column(param)
    for trial in ranked:
        table.add_row(str(trial.number), *(f"{v:.5g}" for v in trial.values),
                      *(_fmt(trial.params.get(p)) for p in params))
    console.print(table)
    scores = importances(study)
    if scores:
        bars = Table(title=f"parameter importance ({names[0]}, fANOVA)")
        bars.add_column("parameter")
        bars.add_column("importance", justify="right")
        bars.add_column("")
        for param, score in scores.items():
            bars.add_row(param, f"{score:.3f}", "█" * max(1, round(score * 30)))
        console.print(bars)


def _fmt(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value)

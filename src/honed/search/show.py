"""Study summaries for people: best trials, parameter importances, the Pareto front.

Also opens a study for reading (``honed study show``, ``honed run``), and names the trial that
``honed run`` refits: the best one, or on several objectives the Pareto-front trial best on the
first objective (ties: the next objectives in order, then the earlier trial).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from honed.errors import UserInputError
from honed.search.progress import describe
from honed.search.results import best_trials, trained_points
from honed.search.where import workers_table

__all__ = ["show_study", "importances", "pick_best_trial", "open_study", "open_run_study"]


def importances(study: optuna.Study) -> dict[str, float]:
    """PED-ANOVA importances for the first objective; empty when too few trials.

    The evaluator is named rather than left to Optuna's default, which changed between
    versions (fANOVA before Optuna 5). On several objectives the first one is scored, turned so
    that lower is better, as PED-ANOVA assumes of a ``target``.
    """
    complete = study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
    if len(complete) < 3:
        return {}
    target = None
    if len(study.directions) > 1:
        sign = 1.0 if study.directions[0] == StudyDirection.MINIMIZE else -1.0
        target = lambda t: sign * t.values[0]  # noqa: E731
    try:
        with warnings.catch_warnings():
            # it warns that a target is minimized: that is what the sign above is for
            warnings.simplefilter("ignore", UserWarning)
            return optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), target=target)
    except (ValueError, RuntimeError):  # e.g. a single distinct value per parameter
        return {}


def pick_best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The trial ``honed run`` refits; None while no trial is complete with finite values."""
    front = best_trials(study)
    if not front:
        return None
    return min(front, key=lambda t: (*_signed(study, t), t.number))


def open_study(url: str, name: str | None, *, missing_ok: bool = False) -> optuna.Study | None:
    """Load a study to read it; a missing one is None (``missing_ok``) or a one-line error.

    ``name`` may be None when the storage holds exactly one study.
    """
    from honed.search.storage import open_storage

    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        if missing_ok:
            return None  # opening would create an empty database file
        raise UserInputError(f"no study database at {url[len('sqlite:///'):]}")
    storage = open_storage(url)
    names = optuna.get_all_study_names(storage)
    if name is None and len(names) == 1:
        name = names[0]
    if name not in names:
        if missing_ok:
            return None
        listed = ", ".join(names) or "none"
        raise UserInputError(f"pass --name with one of the studies in this storage: {listed}"
                             if name is None else f"no study named {name!r} in this storage; "
                             f"it holds: {listed}")
    return optuna.load_study(study_name=name, storage=storage)


def open_run_study(run_dir: str | Path | None = None, *, storage: str | None = None,
                   name: str | None = None) -> optuna.Study:
    """The study of a run dir (``RUN_DIR/study/study.db``), or the one ``storage`` holds."""
    if storage is None:
        if run_dir is None:
            raise UserInputError("give a RUN_DIR, or --storage URL (with --name NAME)")
        root = Path(run_dir)
        if not root.is_dir():
            raise UserInputError(f"{root} is not a folder")
        database = root / "study" / "study.db"
        if not database.is_file():
            raise UserInputError(f"{root} is not a honed run dir with a study (no "
                                 "study/study.db); run honed tune or honed run into it first")
        storage = f"sqlite:///{database.resolve()}"
    return open_study(storage, name)


def show_study(study: optuna.Study, *, console: Console, top: int = 10) -> None:
    """Print the state counts, the best trials, the Pareto front, the importances and, when
    several workers or GPUs ran the trials, the workers with their hosts and devices."""
    _, summary = describe(study)
    console.print(f"study {study.study_name}: {summary}")
    names = study.user_attrs.get("honed.objectives") or [
        f"value{i}" for i in range(len(study.directions))]
    chosen = pick_best_trial(study)
    if chosen is None:
        console.print("no complete trial with finite values yet; importances and the best "
                      "trials appear once one finishes")
        _print_workers(study, console)
        return
    complete = trained_points(study)  # each point once
    ranked = sorted(complete, key=lambda t: (*_signed(study, t), t.number))[:top]
    multi = len(study.directions) > 1
    title = f"best {len(ranked)} trials" + (f" by {names[0]}" if multi else "")
    console.print(_trial_table(ranked, names, title, chosen))
    if multi:
        front = sorted(best_trials(study), key=lambda t: (*_signed(study, t), t.number))
        table = _trial_table(front, names, f"Pareto front ({len(front)} trials)", chosen)
        table.caption = f"▶ the trial honed run refits: the best {names[0]} on the front"
        console.print(table)
    scores = importances(study)
    if scores:
        bars = Table(title=f"parameter importance ({names[0]}, PED-ANOVA)")
        bars.add_column("parameter")
        bars.add_column("importance", justify="right")
        bars.add_column("")
        for param, score in scores.items():
            bars.add_row(escape(param), f"{score:.3f}", "█" * max(1, round(score * 30)))
        console.print(bars)
    _print_narrowing(study, console)
    _print_workers(study, console)


def _print_workers(study: optuna.Study, console: Console) -> None:
    table = workers_table(study.get_trials(deepcopy=False))
    if table is not None:
        console.print(table)


def _trial_table(trials: list[FrozenTrial], names: list[str], title: str,
                 chosen: FrozenTrial) -> Table:
    params = sorted({p for t in trials for p in t.params})
    table = Table(title=title)
    table.add_column("trial", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for param in params:
        table.add_column(escape(param))  # rich would read [sgd] in a.b[sgd].c as a style tag
    for trial in trials:
        mark = "▶ " if trial.number == chosen.number else ""
        table.add_row(f"{mark}{trial.number}", *(f"{v:.5g}" for v in trial.values),
                      *(escape(_fmt(trial.params.get(p))) for p in params))
    return table


def _print_narrowing(study: optuna.Study, console: Console) -> None:
    """The coarse-to-fine narrowing, when the study used that strategy."""
    from honed.search.coarse_to_fine import narrowing_table

    table = narrowing_table(study)
    if table is not None:
        console.print(table)


def _signed(study: optuna.Study, trial: FrozenTrial) -> tuple[float, ...]:
    """The trial's values turned so that smaller is better on every objective."""
    return tuple(v if d == StudyDirection.MINIMIZE else -v
                 for v, d in zip(trial.values, study.directions, strict=True))


def _fmt(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value)

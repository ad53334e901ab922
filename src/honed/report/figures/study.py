"""The study: history, trial states, importances, parallel coordinates, slices, Pareto front,
and the coarse-to-fine narrowing."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable

from honed.report.evidence import Evidence
from honed.report.figures.base import Section, figure, table

__all__ = ["section"]


def section(evidence: Evidence) -> Section:
    """Every study figure that the study's trials allow; what they do not allow is listed."""
    part = Section("study", "Search")
    database = evidence.root / "study" / "study.db"
    if not database.is_file():
        return part.lack("no study: this run trained one configuration (honed train, or a "
                         "spec without search dimensions)")
    study = evidence.study
    if study is None:
        return part.lack(f"{database} holds no readable study")
    import optuna.visualization as vis
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name.lower() for t in trials)
    names = study.user_attrs.get("honed.objectives") or [
        f"objective {i}" for i in range(len(study.directions))]
    part.add(table(["trials", *states], [[len(trials), *states.values()]],
                   caption=f"study {study.study_name}: trial states ({', '.join(names)})"))
    _try(part, "trial states", lambda: _states_figure(states))
    complete = study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
    if not complete:
        return part.lack("the study has no complete trial yet: the history, importances, "
                         "parallel coordinates, slices and Pareto front need one")
    multi = len(study.directions) > 1
    target = (lambda t: t.values[0]) if multi else None
    first = names[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna flags its plotting helpers as experimental
        _try(part, "optimization history", lambda: _history(study, first))
        _try(part, "parameter importances", lambda: _importances(study, first))
        if len(complete) >= 2:
            _try(part, "parallel coordinates", lambda: vis.plot_parallel_coordinate(
                study, target=target, target_name=first))
            _try(part, "slice plots", lambda: vis.plot_slice(study, target=target,
                                                             target_name=first))
        else:
            part.lack("one complete trial: parallel coordinates and slices need two")
        if multi and len(study.directions) <= 3:
            _try(part, "Pareto front", lambda: vis.plot_pareto_front(study, target_names=names))
        elif multi:
            part.lack("more than three objectives: no Pareto-front plot (see best.json)")
    _narrowing(part, study)
    return part


def _try(part: Section, what: str, make: Callable) -> None:
    """Add the figure ``make`` returns; a figure the trials cannot support becomes a note."""
    try:
        fig = make()
    except Exception as exc:  # plotting helpers refuse e.g. a single distinct value
        part.lack(f"{what}: not drawn ({type(exc).__name__}: {exc})")
        return
    if fig is None:
        part.lack(f"{what}: too few trials")
    else:
        part.add(figure(fig, height=420))


def _history(study, first: str):
    """The first objective of every complete trial and the best so far, and each pruned
    trial at the value it last reported, marked with the step that pruned it."""
    import math
    from itertools import accumulate

    import plotly.graph_objects as go
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    from honed.search.reporting import STEPS_ATTR, last_report

    trials = study.get_trials(deepcopy=False)
    complete = [(t.number, t.values[0]) for t in trials
                if t.state == TrialState.COMPLETE and math.isfinite(t.values[0])]
    better = min if study.directions[0] == StudyDirection.MINIMIZE else max
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[n for n, _ in complete], y=[v for _, v in complete],
                             mode="markers", name="complete", marker={"color": "#2a9d8f"}))
    best = list(accumulate((v for _, v in complete), better))
    fig.add_trace(go.Scatter(x=[n for n, _ in complete], y=best, mode="lines", name="best so far",
                             line={"shape": "hv", "color": "#1d3557"}))
    pruned = []
    for trial in trials:
        last = last_report(trial) if trial.state == TrialState.PRUNED else None
        if last is not None and math.isfinite(last[1]):
            unit = (trial.user_attrs.get(STEPS_ATTR) or {}).get("unit", "epoch")
            pruned.append((trial.number, last[1], f"{unit} {last[0] + 1}"))
    if pruned:
        fig.add_trace(go.Scatter(
            x=[n for n, _, _ in pruned], y=[v for _, v, _ in pruned], mode="markers",
            name="pruned (value when pruned)", customdata=[at for _, _, at in pruned],
            marker={"symbol": "x", "size": 9, "color": "#e76f51"},
            hovertemplate="trial %{x}: pruned after %{customdata}<br>"
                          f"{first} %{{y:.4g}}<extra></extra>"))
    title = f"optimization history ({first})"
    if pruned:
        title += f"; {len(pruned)} pruned trial(s) at their last reported value"
    return fig.update_layout(title=title, xaxis_title="trial", yaxis_title=first)


def _states_figure(states: Counter):
    import plotly.graph_objects as go

    colors = {"complete": "#2a9d8f", "pruned": "#e9c46a", "fail": "#e76f51",
              "running": "#8ab17d", "waiting": "#bbbbbb"}
    fig = go.Figure(go.Bar(x=list(states), y=list(states.values()),
                           marker_color=[colors.get(s, "#888") for s in states]))
    return fig.update_layout(title="trial states", yaxis_title="trials")


def _importances(study, first: str):
    import plotly.graph_objects as go

    from honed.search.show import importances

    scores = importances(study)
    if not scores:
        return None
    items = sorted(scores.items(), key=lambda item: item[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
    return fig.update_layout(title=f"parameter importances for {first} (PED-ANOVA)",
                             xaxis_title="importance")


def _narrowing(part: Section, study) -> None:
    from honed.search.coarse_to_fine import COARSE_ATTR, NARROWING_ATTR

    record = study.user_attrs.get(NARROWING_ATTR)
    if record is None:
        return
    rows = [(name, _bounds(entry.get("from")), _bounds(entry.get("to"))
             if entry.get("to") != entry.get("from") else "(unchanged)")
            for name, entry in record.items()]
    part.add(table(["dimension", "coarse space", "narrowed to"], rows,
                   caption=f"coarse-to-fine: narrowed after "
                           f"{study.user_attrs.get(COARSE_ATTR, '?')} coarse trials"))


def _bounds(values) -> str:
    return ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values or [])

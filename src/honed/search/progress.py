"""Live study progress: trial states as the storage holds them, the study's ETA and the
epoch of each running trial.

The display polls the study's storage, so it sees trials of every worker process, and reads a
running trial's epoch from the values the trial reports to Optuna after each epoch (see
:mod:`honed.search.reporting`): the training loop commits nothing for it.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from honed.search.repeats import repeat_count
from honed.search.reporting import STEPS_ATTR, reported_steps
from honed.search.results import best_trials
from honed.search.study import SURPLUS, counted_trials, retried
from honed.search.where import running_where

__all__ = ["StudyProgress", "StudySnapshot", "describe", "snapshot", "study_eta"]


@dataclass
class StudySnapshot:
    """What the display shows at one poll."""

    done: int  # ended trials that count toward ``search.trials``
    total: int
    states: str  # ``complete 2  pruned 1  failed 1 (1 requeued)  running 1  queued 1``
    best: str  # ``best 0.912 (trial 3)``, ``Pareto front 4`` or ""
    running: str  # ``trial 4 epoch 3/20`` for each running trial
    eta: float | None  # seconds until the study ends; None before anything can be estimated
    bounded: bool = False  # the ETA is the time left before search.timeout

    def eta_text(self) -> str:
        if self.eta is None:
            return "ETA ?"
        return f"ETA {'≤ ' if self.bounded else ''}{_clock(self.eta)}"

    def lines(self) -> list[str]:
        """The rows below the bar: the states, then the best value and the running trials."""
        return [self.states, "  ".join(part for part in (self.best, self.running) if part)]

    def render(self) -> Group:
        """The rows below the bar, each cut to the terminal's width rather than wrapped."""
        return Group(*(Text(line, no_wrap=True, overflow="ellipsis")
                       for line in self.lines() if line))


def describe(study: optuna.Study) -> tuple[int, str]:
    """Trials ended so far and a one-line summary of states and the best value."""
    shot = snapshot(study, 0)
    return shot.done, f"{shot.states}  {shot.best}".rstrip()


def snapshot(study: optuna.Study, total: int, *, deadline: float | None = None,
             now: datetime | None = None) -> StudySnapshot:
    """Read the study once: counts, best value, running trials' epochs and the ETA."""
    now = now or datetime.now()  # Optuna stamps trials with naive local times
    trials = study.get_trials(deepcopy=False)
    done = len(counted_trials(trials))
    eta = study_eta(trials, total, now=now)
    bounded = False
    if deadline is not None:
        left = max(0.0, deadline - time.time())
        bounded = eta is None or left < eta
        eta = left if bounded else eta
    return StudySnapshot(done, total, _states(trials), _best(study, trials), _running(trials),
                         eta, bounded)


def study_eta(trials: Sequence[FrozenTrial], total: int, *, now: datetime) -> float | None:
    """Seconds until ``total`` trials have ended, from the durations observed so far.

    A trial is expected to last as long as the ended trials did on average (pruned ones
    included: they are part of the mix); before any trial has ended, as long as the running
    ones project from their reported epochs. Trials run as many at a time as are running now.
    None when there is nothing to project from yet.
    """
    ended = [t for t in counted_trials(trials) if t.datetime_start and t.datetime_complete]
    running = [t for t in trials if t.state == TrialState.RUNNING and t.datetime_start]
    if ended:
        per_trial = statistics.fmean(
            (t.datetime_complete - t.datetime_start).total_seconds() for t in ended)
    else:
        projected = [p for p in (_projected(t, now) for t in running) if p is not None]
        if not projected:
            return None
        per_trial = statistics.fmean(projected)
    left = max(0, total - len(counted_trials(trials)))
    in_flight = running[:left]
    work = sum(max(0.0, per_trial - (now - t.datetime_start).total_seconds())
               for t in in_flight) + (left - len(in_flight)) * per_trial
    return work / max(1, len(in_flight))


def _projected(trial: FrozenTrial, now: datetime) -> float | None:
    """A running trial's whole duration, projected from its elapsed time and steps reported."""
    steps, planned = reported_steps(trial), _planned(trial)
    if not steps or not planned:
        return None
    return (now - trial.datetime_start).total_seconds() * planned["total"] / steps


def _planned(trial: FrozenTrial) -> dict | None:
    planned = trial.user_attrs.get(STEPS_ATTR)
    return planned if isinstance(planned, dict) and planned.get("total") else None


def _states(trials: Sequence[FrozenTrial]) -> str:
    """Every trial by the state the storage records; failed ones that do not count say why."""
    states = Counter(t.state for t in trials)
    uncounted = [t for t in trials if retried(t, list(trials))]
    requeued = sum(1 for t in uncounted if not t.user_attrs.get(SURPLUS))
    why = ", ".join(f"{n} {word}" for n, word in ((requeued, "requeued"),
                                                 (len(uncounted) - requeued, "surplus")) if n)
    repeats = repeat_count(trials)  # complete, at a point trained already: not trained
    again = f" ({repeats} repeats)" if repeats else ""
    text = (f"complete {states[TrialState.COMPLETE]}{again}  pruned {states[TrialState.PRUNED]}  "
            f"failed {states[TrialState.FAIL]}{f' ({why})' if why else ''}  "
            f"running {states[TrialState.RUNNING]}")
    if states[TrialState.WAITING]:
        text += f"  queued {states[TrialState.WAITING]}"
    return text


def _best(study: optuna.Study, trials: Sequence[FrozenTrial]) -> str:
    if not any(t.state == TrialState.COMPLETE for t in trials):
        return ""
    best = best_trials(study)  # each point once, by the trial that trained it
    if not best:
        return ""
    if len(study.directions) == 1:
        return f"best {best[0].values[0]:.5g} (trial {best[0].number})"
    return f"Pareto front {len(best)}"


def _running(trials: Sequence[FrozenTrial]) -> str:
    """``trial 4 epoch 3/20, trial 5 epoch 1/20`` (``starting`` before its first epoch);
    ``trial 4 epoch 3/20 on node7 GPU 1`` on several hosts or GPUs."""
    parts = []
    for trial in trials:
        if trial.state != TrialState.RUNNING:
            continue
        planned, steps = _planned(trial), reported_steps(trial)
        where = running_where(trial, trials)
        if planned is None:
            parts.append(f"trial {trial.number} starting{where}")
        else:
            parts.append(f"trial {trial.number} {planned.get('unit', 'step')} "
                         f"{steps}/{planned['total']}{where}")
    return ", ".join(parts)


def _clock(seconds: float) -> str:
    seconds = int(math.ceil(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _StudyBars(Progress):
    """The trials bar with the snapshot's lines below it (never squeezed into its columns)."""

    shot: StudySnapshot | None = None

    def get_renderables(self):
        yield self.make_tasks_table(self.tasks)
        if self.shot is not None:
            yield self.shot.render()


class StudyProgress:
    """Polls the study in a thread and draws a bar (terminal) or a line per change (logs).

    Args:
        study: the study, on the storage its workers write.
        total: the trials the study is to hold (``search.trials``).
        deadline: when ``search.timeout`` ends the study (``time.time()`` seconds), if set.
    """

    def __init__(self, study: optuna.Study, total: int, *, enabled: bool = True,
                 console: Console | None = None, interval: float = 1.0,
                 deadline: float | None = None):
        self.study, self.total, self.enabled, self.interval = study, total, enabled, interval
        self.deadline = deadline
        self.console = console or Console(stderr=True, highlight=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="honed-progress")
        self._last: StudySnapshot | None = None

    def __enter__(self) -> StudyProgress:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join(timeout=10)
            self._draw_final()

    def _run(self) -> None:
        if self.console.is_terminal:
            # about 60 columns, so that the bar fits an 80-column terminal
            with _StudyBars(TextColumn("[bold]trials"), BarColumn(bar_width=30),
                            MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.fields[eta]}"), console=self.console,
                            transient=True) as bar:
                task = bar.add_task("trials", total=self.total, eta="")
                while not self._stop.wait(self.interval):
                    shot = self._poll()
                    if shot is not None:
                        bar.shot = shot
                        bar.update(task, completed=min(shot.done, self.total),
                                   eta=shot.eta_text())
            return
        printed: list[str] = []
        while not self._stop.wait(self.interval):
            shot = self._poll()
            if shot is not None and shot.lines() != printed:  # not every tick of the ETA
                printed = shot.lines()
                self._print(shot)

    def _poll(self) -> StudySnapshot | None:
        try:
            self._last = snapshot(self.study, self.total, deadline=self.deadline)
        except Exception:  # a busy database: try again at the next tick
            pass
        return self._last

    def _print(self, shot: StudySnapshot, *, final: bool = False) -> None:
        """``trials 3/10  ETA 0:02:10`` and the rows below it, indented (logs, and the end)."""
        head = f"trials {shot.done}/{shot.total}"
        self.console.print(head if final else f"{head}  {shot.eta_text()}", highlight=False,
                           markup=False)
        # at the end nothing runs any more: the best value stays, the running trials go
        rows = [shot.states, shot.best] if final else shot.lines()
        for row in rows:
            if row:
                self.console.print(f"  {row}", highlight=False, markup=False)

    def _draw_final(self) -> None:
        shot = self._poll()
        if shot is not None:
            self._print(shot, final=True)

"""Live study progress: trials done, pruned and failed, and the best value so far."""

from __future__ import annotations

import threading
from collections import Counter

import optuna
from optuna.trial import TrialState
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from honed.search.study import counted_trials

__all__ = ["StudyProgress", "describe"]


def describe(study: optuna.Study) -> tuple[int, str]:
    """Trials ended so far and a one-line summary of states and the best value."""
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in counted_trials(trials, in_flight=True))
    done = states[TrialState.COMPLETE] + states[TrialState.PRUNED] + states[TrialState.FAIL]
    best = ""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete and len(study.directions) == 1:
        best = f"  best {study.best_value:.5g} (trial {study.best_trial.number})"
    elif complete:
        best = f"  Pareto front {len(study.best_trials)}"
    return done, (f"complete {states[TrialState.COMPLETE]}  pruned {states[TrialState.PRUNED]}  "
                  f"failed {states[TrialState.FAIL]}  running {states[TrialState.RUNNING]}{best}")


class StudyProgress:
    """Polls the study in a thread and draws a bar (terminal) or a line per change (logs)."""

    def __init__(self, study: optuna.Study, total: int, *, enabled: bool = True,
                 console: Console | None = None, interval: float = 1.0):
        self.study, self.total, self.enabled, self.interval = study, total, enabled, interval
        self.console = console or Console(stderr=True, highlight=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="honed-progress")
        self._last = ""

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
            with Progress(TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                          console=self.console, transient=True) as bar:
                task = bar.add_task("trials", total=self.total, info="")
                while not self._stop.wait(self.interval):
                    done, info = self._poll()
                    bar.update(task, completed=min(done, self.total), info=info)
            return
        while not self._stop.wait(self.interval):
            done, info = self._poll()
            if info != self._last:
                self._last = info
                self.console.print(f"trials {done}/{self.total}  {info}")

    def _poll(self) -> tuple[int, str]:
        try:
            return describe(self.study)
        except Exception:  # a busy database: try again at the next tick
            return 0, self._last

    def _draw_final(self) -> None:
        done, info = self._poll()
        self.console.print(f"trials {done}/{self.total}  {info}")

"""Why a study stopped, said once to people and kept for programs (``study/best.json``).

A study stops when its trials are done, when its grid is exhausted (a grid with fewer points
than ``search.trials`` runs each point once), when ``search.timeout`` passes, or when it is
interrupted. ``search.timeout`` starts no trial after the deadline but lets the running ones
finish (their time is spent already): :class:`DeadlineNotice` says so when it happens, so that
a ``--timeout 3m`` that runs 5 minutes is not a mystery.

``best.json`` holds ``stop_reason`` (one of :data:`STOP_REASONS`) and ``wall_seconds`` (this
session's time, from the start of ``tune`` to its end).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

from honed.search.study import finished_count

__all__ = ["DeadlineNotice", "stop_reason", "describe_stop", "STOP_REASONS"]

#: the values of ``stop_reason`` in ``best.json``
STOP_REASONS = ("trials", "grid-exhausted", "timeout", "interrupted")


class DeadlineNotice:
    """Context manager: at the deadline, one line about the trials still running, if any.

    Args:
        study: the study whose running trials are finished after the deadline.
        deadline: ``time.time()`` of the deadline; None for none.
        note: prints the line.
    """

    def __init__(self, study: optuna.Study, deadline: float | None,
                 note: Callable[[str], None]):
        self.study, self.deadline, self.note = study, deadline, note
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._wait, daemon=True, name="honed-deadline")

    def __enter__(self) -> DeadlineNotice:
        if self.deadline is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _wait(self) -> None:
        if self._stop.wait(max(0.0, self.deadline - time.time())):
            return  # the study ended first
        try:
            running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        except Exception:  # a busy database: the line is a courtesy, not worth a crash
            return
        if len(running) == 1:
            self.note(f"timeout reached: finishing trial {running[0].number} (Ctrl-C stops "
                      "now; it runs again later)")
        elif running:
            numbers = ", ".join(str(t.number) for t in running)
            self.note(f"timeout reached: finishing trials {numbers} (Ctrl-C stops now; they "
                      "run again later)")


def stop_reason(study: optuna.Study, *, trials: int, grid_points: int | None,
                deadline: float | None) -> str:
    """Why a study that ``tune`` ran to its end stopped (see :data:`STOP_REASONS`)."""
    if finished_count(study) >= trials:
        return "grid-exhausted" if grid_points is not None and grid_points <= trials else "trials"
    if deadline is not None and time.time() >= deadline:
        return "timeout"
    return "trials"  # a worker gave up on the others' trials; they count when they end


def describe_stop(reason: str, *, done: int, trials: int, asked: int, wall_seconds: float,
                  timeout: float | None) -> str:
    """One line: why the study stopped, after how long, and what comes next."""
    took = _duration(wall_seconds)
    if reason == "grid-exhausted":
        extra = f" (search.trials: {asked})" if asked > trials else ""
        return f"stopped: grid exhausted, all {trials} points tried in {took}{extra}"
    if reason == "timeout":
        return (f"stopped: timeout ({_duration(timeout or 0)}), {done} of {trials} trials in "
                f"{took}; rerun to go on")
    if reason == "interrupted":
        return f"stopped: interrupted, {done} of {trials} trials in {took}"
    return f"stopped: {trials} trials done in {took}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{rest} s" if not minutes else f"{minutes} m {rest} s" if rest else f"{minutes} m"

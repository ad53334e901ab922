"""honed's stale-trial sweeper: Optuna only looks for dead workers when a new trial starts.

A background thread calls ``optuna.storages.fail_stale_trials`` every few seconds, so the trial
of a worker killed with SIGKILL is marked failed (and re-queued by the retry callback) within
``HEARTBEAT + GRACE + INTERVAL`` seconds even if no other trial is starting.
"""

from __future__ import annotations

import threading

import optuna

__all__ = ["StaleTrialSweeper", "SWEEP_SECONDS"]

SWEEP_SECONDS = 2.0


class StaleTrialSweeper:
    """Context manager running the sweep in a daemon thread."""

    def __init__(self, study: optuna.Study, interval: float = SWEEP_SECONDS):
        self.study = study
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="honed-sweeper", daemon=True)

    def __enter__(self) -> StaleTrialSweeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def sweep(self) -> None:
        optuna.storages.fail_stale_trials(self.study)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:  # a locked database now and then must not kill the sweeper
                pass

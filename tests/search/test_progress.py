"""The study display: counts as stored, the study's ETA and the running trial's epoch, drawn
within 80 columns. Real Optuna studies in SQLite, real fits reporting through TrialReporter."""

from __future__ import annotations

import io
import time
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState
from rich.console import Console

from honed.search.objectives import Objective
from honed.search.progress import StudyProgress, describe, snapshot
from honed.search.reporting import TrialReporter
from honed.search.worker import work
from honed.train import fit
from honed.train.callbacks import Callback
from tests.helpers import blobs, tiny_net, wait_until


class _CutShort(Exception):
    """Ends a fit after some epochs, its trial left RUNNING in the storage (as mid-fit)."""


class _StopAfter(Callback):
    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_epoch_end(self, trainer, record):
        if record["epoch"] == self.epochs:
            raise _CutShort


def _study(tmp_path) -> optuna.Study:
    return optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}",
                               direction="maximize", study_name="s")


def _train_part(trial: optuna.Trial, *, epochs: int, stop_after: int) -> None:
    """A trial's fit reporting val.f1 each epoch, as the objective runs it, cut short."""
    reporter = TrialReporter(trial, [Objective("val.f1", "maximize")])
    with pytest.raises(_CutShort):
        fit(tiny_net(), blobs(), epochs=epochs, monitor="val.f1",
            callbacks=[reporter, _StopAfter(stop_after)])


def test_eta_and_the_running_trials_epoch_in_80_columns(tmp_path):
    study = _study(tmp_path)
    trial = study.ask()
    before = snapshot(study, 3)
    assert before.running == "trial 0 starting" and before.eta_text() == "ETA ?"

    _train_part(trial, epochs=4, stop_after=2)
    shot = snapshot(study, 3)
    assert shot.running == "trial 0 epoch 2/4"
    assert shot.eta is not None and shot.eta > 0  # projected from 2 of 4 epochs

    console = Console(width=80, record=True, force_terminal=True, file=io.StringIO())
    with StudyProgress(study, 3, console=console, interval=0.05):
        wait_until(lambda: "epoch 2/4" in console.export_text(clear=False),
                   what="the bar to show the epoch")
    # the recording keeps every refresh without the cursor moves; a frame is the bar and
    # the rows below it
    frames = ["trials " + part for part in console.export_text().split("trials ")[1:]]
    frame = next(f for f in reversed(frames) if "epoch 2/4" in f)
    bar, states, running = frame.splitlines()[:3]
    assert "0/3" in bar and "ETA 0:" in bar, frame
    assert states.startswith("complete 0  pruned 0  failed 0  running 1"), frame
    assert running.startswith("trial 0 epoch 2/4"), frame
    assert all(len(line) <= 80 for line in frame.splitlines()) and "…" not in frame, frame

    # once a trial has ended, a trial is expected to take as long as it did
    study.tell(trial, 0.5)
    ended = study.trials[0]
    shot = snapshot(study, 3)
    lasted = (ended.datetime_complete - ended.datetime_start).total_seconds()
    assert shot.eta == pytest.approx(2 * lasted)
    assert "best 0.5 (trial 0)" in shot.best
    # search.timeout bounds it: past the deadline nothing is left
    late = snapshot(study, 3, deadline=time.time() - 1)
    assert late.bounded and late.eta_text() == "ETA ≤ 0:00:00"


def test_counts_after_an_interrupted_trial_match_the_storage(tmp_path):
    study = _study(tmp_path)

    def interrupted(trial):
        raise KeyboardInterrupt  # Ctrl-C inside the trial

    console = Console(width=80, record=True, file=io.StringIO())
    with pytest.raises(KeyboardInterrupt), StudyProgress(study, 2, console=console,
                                                         interval=60):
        work(study, interrupted, trials=2)
    stored = Counter(t.state for t in study.get_trials())
    final = console.export_text()
    _, summary = describe(study)
    for text in (final, summary):
        assert (f"complete {stored[TrialState.COMPLETE]}  pruned {stored[TrialState.PRUNED]}"
                f"  failed {stored[TrialState.FAIL]}") in text, text
        assert f"running {stored[TrialState.RUNNING]}" in text, text
        assert (f"queued {stored[TrialState.WAITING]}" in text) == bool(
            stored[TrialState.WAITING]), text
    if stored[TrialState.FAIL]:  # failed, then queued again: it does not count
        assert "(1 requeued)" in summary and final.startswith("trials 0/2"), final

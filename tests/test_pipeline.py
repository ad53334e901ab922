"""The stage pipeline behind ``honed run``: order, skipping, and the pieces of the refit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from honed.errors import UserInputError
from honed.pipeline import RunContext, Stage, StageReport, run_pipeline
from honed.rundir import RunDir
from honed.spec.template import spec_from_dict
from honed.stages import Refit, Test, Tune
from honed.stages.trainval import with_val_in_train
from tests.helpers import blobs

RAW = {"name": "p", "data": {"source": "builtin:iris"},
       "model": {"family": "mlp", "hidden": {"int": [4, 16]}},
       "search": {"trials": 5, "refit": "train+val"}}


class Recorder(Stage):
    """A stage that is done once it ran, and says so in a shared log."""

    def __init__(self, name: str, log: list[str], *, on: bool = True, done: bool = False):
        self.name, self.log, self.on, self.finished = name, log, on, done

    def enabled(self, context):
        return self.on

    def done(self, context):
        return self.finished

    def run(self, context):
        self.log.append(self.name)
        self.finished = True


def context(tmp_path, raw=RAW, **settings) -> RunContext:
    notes: list[str] = []
    made = RunContext(spec_from_dict(raw, base_dir=tmp_path), RunDir(tmp_path / "run"),
                      note=notes.append, **settings)
    made.cache["notes"] = notes
    return made


def test_stages_run_in_order_and_are_skipped_when_done(tmp_path):
    log: list[str] = []
    stages = [Recorder("a", log), Recorder("b", log, on=False), Recorder("c", log, done=True),
              Recorder("d", log)]
    ctx = context(tmp_path)
    assert run_pipeline(ctx, stages) == [StageReport("a", "ran"), StageReport("b", "off"),
                                         StageReport("c", "skipped"), StageReport("d", "ran")]
    assert log == ["a", "d"]
    assert [r.status for r in run_pipeline(ctx, stages)] == ["skipped", "off", "skipped",
                                                             "skipped"]
    assert log == ["a", "d"] and any("a: already done" in n for n in ctx.cache["notes"])


def test_default_stages_run_in_pipeline_order():
    from honed.pipeline import default_stages

    assert [s.name for s in default_stages()] == ["tune", "refit", "test", "explain",
                                                  "compress", "export", "report"]
    assert [type(s) for s in default_stages()][:3] == [Tune, Refit, Test]


def test_command_line_settings_override_the_search_section(tmp_path):
    ctx = context(tmp_path, trials=2, workers=3)
    assert (ctx.search.trials, ctx.search.workers, ctx.search.refit) == (2, 3, "train+val")
    assert context(tmp_path).search.trials == 5
    assert ctx.storage_url.endswith("run/study/study.db")


def test_no_study_yet_is_none_and_creates_nothing(tmp_path):
    ctx = context(tmp_path)
    assert ctx.study() is None and not (tmp_path / "run").exists()
    assert ctx.model_fingerprint() is None
    assert Tune().enabled(ctx) and not Tune().done(ctx)
    plain = context(tmp_path, raw={**RAW, "model": {"family": "mlp", "hidden": 8}})
    assert not Tune().enabled(plain)


def test_a_run_dir_of_another_command_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text('{"val": {}, "test": {}}')
    with pytest.raises(UserInputError, match="did not make"):
        run_pipeline(context(tmp_path), [])


def test_test_stage_is_done_only_when_metrics_hold_test_and_baselines(tmp_path):
    ctx = context(tmp_path)
    assert not Test().done(ctx)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text('{"val": {}, "refit": {"fingerprint": "x"}}')
    assert not Test().done(ctx) and ctx.model_fingerprint() == "x"
    (tmp_path / "run" / "metrics.json").write_text('{"val": {}, "test": {}, "refit": {}}')
    assert not Test().done(ctx)  # a run dir from before baselines: the stage adds them
    (tmp_path / "run" / "metrics.json").write_text(
        '{"val": {}, "test": {}, "refit": {}, "baselines": {}}')
    assert Test().done(ctx)


def test_val_rows_join_train_and_val_stays():
    data = blobs()
    pooled = with_val_in_train(data)
    assert len(pooled.train) == len(data.train) + len(data.val)
    np.testing.assert_array_equal(pooled.train.x[len(data.train):], data.val.x)
    np.testing.assert_array_equal(pooled.train.y[len(data.train):], data.val.y)
    assert pooled.val is data.val and pooled.test is data.test


def test_a_study_without_a_complete_trial_has_nothing_to_refit(tmp_path):
    import optuna
    from optuna.trial import TrialState, create_trial

    from honed.errors import HonedError
    from honed.stages import refit_plan

    ctx = context(tmp_path)
    (tmp_path / "run" / "study").mkdir(parents=True)
    study = optuna.create_study(study_name="p", storage=ctx.storage_url)
    study.add_trial(create_trial(state=TrialState.FAIL, params={}, distributions={}))
    with pytest.raises(HonedError, match="no complete trial"):
        refit_plan(ctx)


def test_a_resumed_run_removes_the_temp_files_of_killed_writers_only(tmp_path):
    ctx = context(tmp_path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(gone.stdout)  # a process that has ended
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                            stdin=subprocess.DEVNULL)
    try:
        folder = ctx.run.root / "model"
        folder.mkdir(parents=True)
        stale = folder / f".weights.safetensors.{dead}.k2j4_x9a.tmp"
        writing = folder / f".weights.safetensors.{live.pid}.a8b7c6d5.tmp"
        other = folder / ".draft.tmp"
        for path in (stale, writing, other):
            path.write_bytes(b"x")
        run_pipeline(ctx, [Recorder("a", [])])
        assert not stale.exists()
        assert writing.exists() and other.exists()
    finally:
        live.kill()
        live.wait()


class Failing(Recorder):
    """A stage whose run raises ``error``."""

    def __init__(self, name: str, log: list[str], error: BaseException):
        super().__init__(name, log)
        self.error = error

    def run(self, context):
        raise self.error


class Salvager(Recorder):
    """A later stage that records the failures it is told of (or fails itself)."""

    def __init__(self, name: str, log: list[str], *, broken: bool = False, on: bool = True):
        super().__init__(name, log, on=on)
        self.failures: list = []
        self.broken = broken

    def after_failure(self, context, failure):
        if self.broken:
            raise OSError("disk full")
        self.failures.append(failure)


def test_a_failed_stage_lets_the_later_ones_salvage_then_raises_as_it_came(tmp_path):
    from honed.errors import CompressError
    from honed.pipeline import StageFailure

    log: list[str] = []
    error = CompressError("no variant stays within\n the budget")
    later, off = Salvager("report", log), Salvager("off", log, on=False)
    stages = [Recorder("a", log, done=True), Failing("compress", log, error), later, off]
    with pytest.raises(CompressError) as raised:
        run_pipeline(context(tmp_path), stages)
    assert raised.value is error and log == []  # nothing after the failed stage ran
    assert later.failures == [StageFailure("compress", "no variant stays within the budget")]
    assert off.failures == []  # an off stage is not asked
    # an unexpected error is named by its type
    assert StageFailure.of("x", KeyError("k")) == StageFailure("x", "KeyError: 'k'")


def test_a_failed_first_stage_or_an_interruption_salvages_nothing(tmp_path):
    log: list[str] = []
    later = Salvager("report", log)
    with pytest.raises(UserInputError):  # nothing before it: nothing to show
        run_pipeline(context(tmp_path), [Recorder("off", log, on=False),
                                         Failing("tune", log, UserInputError("bad")), later])
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C, SIGTERM: stop, resumable, as before
        run_pipeline(context(tmp_path), [Recorder("a", log, done=True),
                                         Failing("tune", log, KeyboardInterrupt()), later])
    assert later.failures == []


def test_a_salvage_that_fails_is_one_note_and_the_first_error_goes_on(tmp_path):
    from honed.errors import ExportError

    ctx = context(tmp_path)
    log: list[str] = []
    error = ExportError("parity failed")
    with pytest.raises(ExportError) as raised:
        run_pipeline(ctx, [Recorder("a", log), Failing("export", log, error),
                           Salvager("report", log, broken=True)])
    assert raised.value is error
    assert ctx.cache["notes"] == ["report: not written after export failed: OSError: disk full"]

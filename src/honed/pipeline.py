"""``run``: the stages of ``honed run`` in order, each skipped when its output exists.

A stage is a small object with a ``name`` and three methods:

- ``enabled(context)``: whether the spec asks for it at all (tuning needs search dimensions);
- ``done(context)``: whether its output is already in the run dir *and still belongs to the
  inputs it was made from*, so an interrupted or repeated ``honed run`` picks up where it stopped;
- ``run(context)``: make the output, writing only into the run dir;
- ``after_failure(context, failure)`` (optional): an earlier stage raised; salvage what can be
  made from the run dir as it is (the report stage writes report.html with a banner naming the
  failed stage). The error then goes on as it came, so the exit code and message stay the same;
  an interruption (Ctrl-C, SIGTERM) is no failure and calls nothing.

Stages talk through the run dir (``context.cache`` only saves reloading the study): ``refit``
writes ``model/`` and a ``metrics.json`` holding ``refit`` (a record with a ``fingerprint`` of
what the model was trained from), ``test`` adds ``metrics["test"]``. A later stage (compress,
export, report) subclasses :class:`Stage`, keeps the model fingerprint beside its output so that
its ``done`` turns false once a new best trial replaced the model, and is added to
:func:`default_stages`::

    class Export(Stage):
        name = "export"

        def done(self, context):
            card = context.run.root / "bundle" / "card.json"
            return card.is_file() and json.loads(card.read_text())["model"] == (
                context.model_fingerprint())

        def run(self, context):
            ...  # write bundle/, with "model": context.model_fingerprint() in card.json
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from honed.errors import UserInputError
from honed.interrupts import raise_if_interrupted
from honed.io import remove_stale_temp_files
from honed.rundir import RunDir
from honed.spec.schema import SearchSpec
from honed.spec.template import SpecTemplate

if TYPE_CHECKING:
    import optuna

__all__ = ["run", "RunOutcome", "Stage", "RunContext", "StageReport", "StageFailure",
           "run_pipeline", "default_stages"]


class Stage:
    """One step of ``honed run``; subclasses set ``name`` and implement ``done`` and ``run``."""

    name: str = "stage"

    def enabled(self, context: RunContext) -> bool:
        """Whether the spec asks for this stage (off stages are neither checked nor run)."""
        return True

    def done(self, context: RunContext) -> bool:
        """Whether the run dir already holds this stage's up-to-date output."""
        raise NotImplementedError

    def run(self, context: RunContext) -> None:
        """Produce the stage's output in ``context.run``."""
        raise NotImplementedError

    def after_failure(self, context: RunContext, failure: StageFailure) -> None:
        """An earlier stage failed: make what can be made without it (default: nothing).

        Its output must not count as ``done``, so that the next run makes it again in full.
        """


@dataclass
class RunContext:
    """What every stage may read: the spec, the run dir and the command-line settings.

    Attributes:
        template: the spec with its search dimensions.
        run: the run directory.
        storage, trials, timeout, workers: overrides of ``search.*`` (None keeps the spec's).
        progress: show progress bars.
        note: prints a one-line message for people (stderr in the CLI).
        cache: values a stage computed for later ones in the same process (e.g. the study).
    """

    template: SpecTemplate
    run: RunDir
    storage: str | None = None
    trials: int | None = None
    timeout: float | None = None
    workers: int | None = None
    progress: bool = True
    note: Callable[[str], None] = lambda text: None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.template.default.name

    @property
    def is_search(self) -> bool:
        return self.template.is_search

    @property
    def search(self) -> SearchSpec:
        """``search`` of the spec with the command-line overrides applied."""
        updates = {"storage": self.storage, "trials": self.trials, "timeout": self.timeout,
                   "workers": self.workers}
        return (self.template.default.search or SearchSpec()).model_copy(
            update={k: v for k, v in updates.items() if v is not None})

    @property
    def study_dir(self) -> Path:
        return self.run.root / "study"

    @property
    def storage_url(self) -> str:
        from honed.search.storage import sqlite_url

        return self.search.storage or sqlite_url(self.study_dir)

    def study(self) -> optuna.Study | None:
        """The run's study, or None when it was never created (loaded once, then cached)."""
        if "study" not in self.cache:
            from honed.search.show import open_study

            self.cache["study"] = open_study(self.storage_url, self.name, missing_ok=True)
        return self.cache["study"]

    def forget(self, *keys: str) -> None:
        """Drop cached values that a stage has just made stale."""
        for key in keys:
            self.cache.pop(key, None)

    def model_fingerprint(self) -> str | None:
        """The fingerprint of the model in ``run/model`` (None before the refit stage ran)."""
        if not self.run.metrics.is_file():
            return None
        return (self.run.read_metrics().get("refit") or {}).get("fingerprint")


@dataclass(frozen=True)
class StageReport:
    """What happened to one stage: ran, skipped (its output was there) or off."""

    name: str
    status: Literal["ran", "skipped", "off"]


@dataclass(frozen=True)
class StageFailure:
    """A stage that raised: its name and the error on one line (as the command line shows it)."""

    stage: str
    error: str

    @classmethod
    def of(cls, stage: str, exc: Exception) -> StageFailure:
        from honed.errors import HonedError

        text = " ".join(str(exc).split())
        if not isinstance(exc, HonedError):  # the type says what an unexpected error is
            text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return cls(stage, text)


def default_stages() -> list[Stage]:
    """The stages of ``honed run``, in order; later stages are appended here."""
    from honed.stages import Compress, Explain, Export, Refit, Report, Test, Tune

    return [Tune(), Refit(), Test(), Explain(), Compress(), Export(), Report()]


def run_pipeline(context: RunContext, stages: Sequence[Stage] | None = None) -> list[StageReport]:
    """Run every enabled stage whose output is missing or stale, in order.

    Args:
        context: the spec, run dir and settings.
        stages: the stages to run; :func:`default_stages` when None.

    Returns:
        One report per stage, in order.
    """
    _check_ours(context.run)
    # the leftovers of writes that a kill cut short (each stage's own output stays as it was)
    remove_stale_temp_files(context.run.root)
    reports: list[StageReport] = []
    stages = default_stages() if stages is None else list(stages)
    for index, stage in enumerate(stages):
        raise_if_interrupted()
        if not stage.enabled(context):
            reports.append(StageReport(stage.name, "off"))
            continue
        try:
            reports.append(_run_stage(stage, context))
        except Exception as exc:  # not KeyboardInterrupt: an interrupted run only stops
            if any(report.status != "off" for report in reports):  # something to show
                _after_failure(context, stages[index + 1:], StageFailure.of(stage.name, exc))
            raise
    return reports


def _run_stage(stage: Stage, context: RunContext) -> StageReport:
    if stage.done(context):
        context.note(f"{stage.name}: already done in {context.run.root}, skipped")
        return StageReport(stage.name, "skipped")
    stage.run(context)
    return StageReport(stage.name, "ran")


def _after_failure(context: RunContext, later: Sequence[Stage], failure: StageFailure) -> None:
    """Let the stages after a failed one salvage what they can; their own errors are notes."""
    for stage in later:
        try:
            if stage.enabled(context):
                stage.after_failure(context, failure)
        except Exception as exc:  # the failed stage's error is the one the user must see
            context.note(f"{stage.name}: not written after {failure.stage} failed: "
                         f"{StageFailure.of(stage.name, exc).error}")


@dataclass
class RunOutcome:
    """A finished ``honed run``: the run dir, its metrics and what each stage did."""

    run_dir: RunDir
    metrics: dict[str, Any]
    stages: list[StageReport]


def run(spec: SpecTemplate | str | Path, *, out_dir: str | Path, storage: str | None = None,
        trials: int | None = None, timeout: float | None = None, workers: int | None = None,
        progress: bool = True, note: Callable[[str], None] | None = None) -> RunOutcome:
    """Tune, refit the best trial and test it once into ``out_dir`` (what ``honed run`` calls).

    Calling it again with the same arguments redoes only what is missing, so an interrupted
    run resumes. Keyword settings override the spec's ``search`` section.

    Example:
        >>> outcome = run("examples/digits.yaml", out_dir="runs/digits", trials=10)
        >>> outcome.metrics["test"]["accuracy"], outcome.metrics["best_trial"]["number"]
    """
    if not isinstance(spec, SpecTemplate):
        from honed.spec.template import load_spec

        spec = load_spec(spec)
    context = RunContext(spec, RunDir(out_dir), storage=storage, trials=trials, timeout=timeout,
                         workers=workers, progress=progress, note=note or (lambda text: None))
    reports = run_pipeline(context)
    return RunOutcome(context.run, context.run.read_metrics(), reports)


def _check_ours(run: RunDir) -> None:
    """Refuse a run dir that another command made: its model would be replaced."""
    if run.metrics.is_file() and "refit" not in run.read_metrics():
        raise UserInputError(f"{run.root} holds a run that honed run did not make (honed "
                             "train?); pass --out to start a new one")

"""One trial = one honed fit of the spec at the trial's point (or k of them, with ``search.cv``).

The objective resolves the spec with ``trial.suggest_*``, trains with the trial reporter in the
callbacks, and returns the objectives at the best epoch (by the first validation objective).
Every trial writes ``study/trials/NNNN/`` with its resolved ``spec.yaml`` (retrain it exactly
with ``honed train``), ``history.jsonl``, ``metrics.json`` and, when complete, ``model/``.
A trial at the point of a complete trial reuses its values and writes nothing
(:mod:`honed.search.repeats`).
The trial's folders are fsynced once each when it ends (:func:`honed.io.deferred_folder_syncs`),
before Optuna records it complete, so a complete trial's files are all on disk.
With ``cv=k`` the value is the mean over k folds instead (see :mod:`honed.search.cv`).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import torch

from honed.data import make_augment, prepare_data, prepare_folds
from honed.data.dataset import PreparedData
from honed.data.preprocess import save_preprocess
from honed.errors import HonedError, NonFiniteLossError, UserInputError
from honed.io import atomic_write_json, atomic_write_text, deferred_folder_syncs, make_folder
from honed.models import count_parameters, save_model
from honed.search.objectives import Objective, measure_latency_ms, model_size_mb
from honed.search.repeats import earlier_trial, repeat_attrs, repeat_value
from honed.search.reporting import TrialReporter, planned_steps
from honed.search.space import suggest
from honed.search.trial_attrs import set_trial_user_attrs
from honed.search.trial_fit import fit_trial
from honed.search.where import where_attrs
from honed.spec.schema import Spec
from honed.spec.template import SpecTemplate, dump_spec
from honed.train.callbacks import Callback, HistoryLogger, Probes
from honed.train.metrics import metric_mode
from honed.train.precision import pick_device
from honed.train.session import absolute_paths, build_model, runtime_record, transfer_options

__all__ = ["TrialObjective", "TrialFailed", "FitOutcome", "trial_dir", "CATCH"]


class TrialFailed(HonedError):
    """A trial that cannot give a usable value (non-finite objective, impossible point)."""


#: exceptions that end one trial as FAIL without stopping the study
CATCH = (TrialFailed, NonFiniteLossError)


def trial_dir(study_dir: str | Path, number: int) -> Path:
    return Path(study_dir) / "trials" / f"{number:04d}"


class _KeepBest(Callback):
    """Hold the weights of the best epoch in memory (a trial writes no per-epoch checkpoints)."""

    def __init__(self, monitor: str, mode: str):
        self.monitor, self.mode = monitor, mode
        self.best: float | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.epoch = 0

    def on_validation_end(self, trainer, record):
        split, _, name = self.monitor.partition(".")
        value = record[split][name]
        if math.isfinite(value) and (self.best is None or (
                value < self.best if self.mode == "min" else value > self.best)):
            self.best, self.epoch = value, record["epoch"]
            self.state = copy.deepcopy(trainer.eval_model.state_dict())


@dataclass
class FitOutcome:
    """One fit of a trial: the model at its best epoch and what it measured there."""

    model: torch.nn.Module
    record: dict[str, Any]  # the history record of the best epoch
    best_epoch: int
    epochs_run: int
    fixed: dict[str, float]  # params / size_mb / latency_ms of the best model, when asked for
    values: list[float]  # the study's objectives, in order
    # where and how the fit ran and stopped (device, precision, threads, stop_reason), kept in
    # the trial's metrics.json for the run dir that keeps its model
    run: dict[str, Any] = field(default_factory=dict)


class TrialObjective:
    """Callable objective for ``study.optimize``; caches prepared data between trials.

    Args:
        template: the spec with its search dimensions.
        objectives: the study's objectives.
        study_dir: where per-trial folders go.
        bounds: narrowed ranges by dimension name (coarse-to-fine); None for the full space.
            Give numbers only within one study: Optuna refuses a categorical parameter whose
            options change, so coarse-to-fine narrows choices in its sampler instead.
        cv: k for a k-fold cross-validated objective (``search.cv``); None for one fit.
        attrs: user attributes set on every trial when it starts (coarse-to-fine's phase).
        gpus: ``search.gpus_per_trial`` (see :mod:`honed.search.trial_fit`).
    """

    def __init__(self, template: SpecTemplate, objectives: list[Objective], study_dir: Path,
                 *, bounds: Mapping[str, Any] | None = None, cv: int | None = None,
                 attrs: Mapping[str, Any] | None = None, gpus: int = 1):
        self.template = template
        self.objectives = objectives
        self.study_dir = Path(study_dir)
        self.bounds = bounds
        self.cv = cv
        self.attrs = dict(attrs or {})
        self.gpus = gpus
        self._data: dict[str, PreparedData | list[PreparedData]] = {}

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        # the trial's folders are fsynced once each when it ends, before Optuna records it
        # complete: every file of a COMPLETE trial is on disk, with 2 folder fsyncs, not 5
        with deferred_folder_syncs():
            return self._run(trial)

    def _run(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        try:
            spec = self.resolve(trial)
        except TrialFailed:
            set_trial_user_attrs(trial, self.attrs)
            raise
        earlier = earlier_trial(trial)
        if earlier is not None:  # trained already, with the same seed: reuse its values
            set_trial_user_attrs(trial, {**self.attrs, **repeat_attrs(earlier)})
            return repeat_value(earlier)
        folder = make_folder(trial_dir(self.study_dir, trial.number))
        atomic_write_text(folder / "spec.yaml", dump_spec(spec))
        # one commit for all: "dir" once spec.yaml is there; which worker ran it, where, with
        # how many torch threads (parallel studies, timings); the steps it plans (a display's
        # "epoch 4/20", so the reporter has nothing to set when the fit starts)
        steps = planned_steps(self.objectives, *(("fold", self.cv) if self.cv
                                                 else ("epoch", spec.train.epochs)))
        set_trial_user_attrs(trial, {
            **self.attrs, "dir": str(folder), **where_attrs(_device_name(spec.train.device)),
            "threads": torch.get_num_threads(), **steps})
        if self.cv:
            from honed.search.cv import cross_validate

            return cross_validate(self, trial, spec, folder)
        data = self.data(spec)
        reporter = TrialReporter(trial, self.objectives, self.measures(data))
        outcome = self.fit_once(spec, data, folder / "history.jsonl", [reporter])
        self.save(outcome, spec, data, folder, {"val": outcome.record["val"]})
        trial.set_user_attr("best_epoch", outcome.best_epoch)
        return outcome.values[0] if len(outcome.values) == 1 else tuple(outcome.values)

    def resolve(self, trial: optuna.Trial) -> Spec:
        """The trial's spec; a point the schema refuses (e.g. heads not dividing hidden) fails."""
        try:
            spec = self.template.resolve(lambda dim: suggest(trial, dim, self.bounds))
        except UserInputError as exc:
            raise TrialFailed(f"invalid point: {exc}") from None
        return absolute_paths(spec, self.template.base_dir)

    def fit_once(self, spec: Spec, data: PreparedData, history: Path,
                 callbacks: list[Callback], *, fold: int = 0) -> FitOutcome:
        """Train the spec's model on ``data`` (fold ``fold`` with ``cv``); keep the best epoch.

        The best epoch is the best by the monitor objective.
        """
        model = build_model(spec, data)
        monitor = self.monitor(spec)
        keeper = _KeepBest(monitor.name, monitor.mode)
        train = spec.train.model_copy(update={"monitor": monitor.name})
        augment = make_augment(spec.data.augment, kind=data.kind, task=data.task,
                               num_classes=data.num_classes,
                               scaler=data.preprocess.get("scaler"))
        logger = HistoryLogger(history)  # kept for pruned trials too
        extra: list[Callback] = [keeper, logger]
        if spec.train.probes:  # honed doctor reads them in the run dir the best trial becomes
            extra.append(Probes(history.with_name("probes.jsonl")))
        result = fit_trial(model, data, spec=spec, gpus=self.gpus, folds=self.cv, fold=fold,
                           train=train, seed=spec.seed,
                           augment=augment, callbacks=[*callbacks, *extra],
                           **transfer_options(spec, model))
        if keeper.state is None:
            raise TrialFailed(f"{monitor.name} was never finite")
        final = result.extra["trainer"].eval_model
        final.load_state_dict(keeper.state)
        record = result.history[keeper.epoch - 1]
        fixed = self.measures(data)(final)
        values = [float(record["val"][o.metric]) if o.metric else fixed[o.name]
                  for o in self.objectives]
        if not all(math.isfinite(v) for v in values):
            raise TrialFailed(f"non-finite objective values {values}")
        run = {**runtime_record(result.extra["trainer"]), "stop_reason": result.stop_reason,
               "train_seconds": round(sum(r["seconds"] for r in result.history), 3)}
        return FitOutcome(final, record, keeper.epoch, result.epochs_run, fixed, values, run)

    def save(self, outcome: FitOutcome, spec: Spec, data: PreparedData, folder: Path,
             metrics: dict[str, Any]) -> None:
        """Write the trial's ``model/`` and ``metrics.json`` (``metrics`` first, then the fit's)."""
        save_model(outcome.model.cpu(), folder / "model", family=spec.model.family,
                   knobs={**spec.model.knobs(), **data.model_knobs}, input_shape=data.input_shape,
                   num_outputs=data.num_outputs, task=data.task)
        save_preprocess(folder / "model", data.preprocess)
        atomic_write_json(folder / "metrics.json", {
            **metrics, "best_epoch": outcome.best_epoch, "epochs_run": outcome.epochs_run,
            **outcome.fixed, **outcome.run})

    def monitor(self, spec: Spec) -> Objective:
        """The objective that picks a trial's best epoch: the first validation objective."""
        for objective in self.objectives:
            if objective.metric is not None:
                return objective
        mode = metric_mode(spec.train.monitor.split(".")[-1])
        return Objective(spec.train.monitor, "minimize" if mode == "min" else "maximize")

    def data(self, spec: Spec) -> PreparedData:
        return self._cached(spec, None, lambda: prepare_data(spec.data, seed=spec.seed))

    def folds(self, spec: Spec, k: int) -> list[PreparedData]:
        """The ``k`` cross-validation folds of the spec's data, prepared once per data spec."""
        return self._cached(spec, k, lambda: prepare_folds(spec.data, seed=spec.seed, k=k))

    def _cached(self, spec: Spec, k: int | None, make: Callable[[], Any]) -> Any:
        # a dimension inside the data section changes the data, so the key is the section
        key = json.dumps([spec.data.model_dump(mode="json"), spec.seed, k], sort_keys=True)
        if key not in self._data:
            self._data[key] = make()
        return self._data[key]

    def measures(self, data: PreparedData) -> Callable[[torch.nn.Module], dict[str, float]]:
        """A function giving the model measures the objectives ask for."""
        wanted = {o.name for o in self.objectives if o.metric is None}

        def measure(model) -> dict[str, float]:
            out: dict[str, float] = {}
            if "params" in wanted:
                out["params"] = float(count_parameters(model))
            if "size_mb" in wanted:
                out["size_mb"] = model_size_mb(model)
            if "latency_ms" in wanted:
                out["latency_ms"] = measure_latency_ms(copy.deepcopy(model), data.input_shape)
            return out

        return measure


def _device_name(asked: str) -> str:
    """What ``train.device`` resolves to in this worker (the fit refuses an impossible one)."""
    try:
        return str(pick_device(asked))
    except UserInputError:
        return asked

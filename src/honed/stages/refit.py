"""Stage ``refit``: the final model of ``honed run``, made from the best trial as ``search.refit`` says.

- ``best-trial`` (default): copy the best trial's ``model/`` (the weights of its best epoch). When
  the trial's folder is not on this machine (a worker elsewhere ran it) or holds no model, its
  resolved spec is retrained with :func:`~honed.train.session.train_spec`: same seed, same data,
  the best epoch picked by the study's first validation objective as in the trial, so the same
  weights come back (up to nondeterminism of the device). With ``search.gpus_per_trial`` K > 1
  and K GPUs visible it trains as ``honed train --nproc K`` does (DDP), as the trial did.
- ``train+val``: retrain the trial's resolved spec on train and val together for the trial's
  best-epoch count, early stopping off (see :mod:`honed.stages.trainval`). Val is then seen in
  training: its metrics are kept as a record only (``refit.val_seen``).
- a spec without search dimensions: trained as ``honed train`` would (``mode: train``).

The best trial (:func:`~honed.search.show.pick_best_trial`) of a multi-objective study is the one
on the Pareto front that is best on the first objective; ties go to the next objectives in
order, then to the earlier trial.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import optuna
from optuna.trial import FrozenTrial

from honed.errors import HonedError
from honed.io import atomic_write_json
from honed.pipeline import RunContext, Stage
from honed.rundir import RunDir
from honed.search.show import pick_best_trial
from honed.spec.schema import Spec
from honed.spec.yaml_io import read_yaml

__all__ = ["Refit", "RefitPlan", "refit_plan", "pick_best_trial"]


@dataclass(frozen=True)
class RefitPlan:
    """What the final model is trained from; its fingerprint says whether ``model/`` is it."""

    mode: Literal["best-trial", "train+val", "train"]
    spec: Spec  # the trial's resolved spec, train.monitor set to the study's first val objective
    trial: FrozenTrial | None = None
    epochs: int | None = None  # train+val: the trial's best epoch
    objectives: tuple[str, ...] = ()

    @property
    def trial_number(self) -> int | None:
        return None if self.trial is None else self.trial.number

    @property
    def fingerprint(self) -> str:
        # compress, export and explain settings shape later stages, not the model: changing
        # them must not retrain it
        spec = self.spec.model_dump(mode="json", exclude={"compress", "export", "explain"})
        payload = {"mode": self.mode, "trial": self.trial_number, "epochs": self.epochs,
                   "spec": spec}
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def record(self) -> dict[str, Any]:
        """``metrics["refit"]``: how the model was made, for people and for ``done``."""
        return {"mode": self.mode, "trial": self.trial_number,
                "epochs": self.epochs, "val_seen": self.mode == "train+val",
                "fingerprint": self.fingerprint}

    def best_trial(self) -> dict[str, Any] | None:
        """``metrics["best_trial"]``: number, objective values, parameters and best epoch."""
        if self.trial is None:
            return None
        return {"number": self.trial.number,
                "values": dict(zip(self.objectives, self.trial.values, strict=True)),
                "params": self.trial.params,
                "best_epoch": self.trial.user_attrs.get("best_epoch")}


def refit_plan(context: RunContext) -> RefitPlan:
    """The plan for this run's final model (computed once per process, then cached)."""
    if "refit_plan" in context.cache:
        return context.cache["refit_plan"]
    from honed.train.session import absolute_paths

    if not context.is_search:
        plan = RefitPlan("train", absolute_paths(context.template.default,
                                                 context.template.base_dir))
    else:
        from honed.search.objective import TrialObjective
        from honed.search.objectives import Objective

        study = context.study()
        trial = pick_best_trial(study) if study is not None else None
        if trial is None:
            raise HonedError(f"the study in {context.study_dir} has no complete trial with "
                             "finite values, so there is nothing to refit; see its trials.csv")
        names = study.user_attrs.get("honed.objectives") or [
            f"value{i}" for i in range(len(study.directions))]
        objectives = [Objective(n, "minimize" if d == optuna.study.StudyDirection.MINIMIZE
                                else "maximize") for n, d in zip(names, study.directions,
                                                                 strict=True)]
        resolver = TrialObjective(context.template, objectives, context.study_dir)
        # FixedTrial replays the trial's parameters through the same suggest calls
        spec = resolver.resolve(optuna.trial.FixedTrial(trial.params))
        # the trial kept the epoch best by its first val objective; a retrain must do the same
        monitor = resolver.monitor(spec).name
        spec = spec.model_copy(update={"train": spec.train.model_copy(
            update={"monitor": monitor})})
        mode = context.search.refit
        epochs = _best_epoch(context, trial, spec) if mode == "train+val" else None
        plan = RefitPlan(mode, spec, trial, epochs, tuple(names))
    context.cache["refit_plan"] = plan
    return plan


class Refit(Stage):
    """Write ``spec.yaml``, ``model/``, ``history.jsonl`` and ``metrics.json`` (no test yet)."""

    name = "refit"

    def done(self, context: RunContext) -> bool:
        plan = refit_plan(context)
        return ((context.run.model / "weights.safetensors").is_file()
                and context.model_fingerprint() == plan.fingerprint)

    def run(self, context: RunContext) -> None:
        from honed.stages import trainval

        plan, run = refit_plan(context), context.run
        marker = run.checkpoints / "refit.json"  # which plan the checkpoints belong to
        source = _trial_model(context, plan) if plan.mode == "best-trial" else None
        # a refit cut short goes on from its last epoch when it was making this same model
        resume = (source is None and run.last_checkpoint.is_file()
                  and _read_json(marker) == plan.record())
        if not resume:
            _clear(run)
        if source is not None:
            metrics, how = trainval.copy_trial(run, plan.spec, source), "trial model"
        else:
            how = "trained on train+val" if plan.mode == "train+val" else "trained"
            if plan.mode == "best-trial":
                context.note(f"refit: trial {plan.trial.number}'s model is not in "
                             f"{context.study_dir}; retraining its spec (same seed, same data)")
            atomic_write_json(marker, plan.record())
            if plan.mode == "train+val":
                metrics = trainval.train_val(run, plan.spec, epochs=plan.epochs, resume=resume,
                                             progress=context.progress)
            else:  # on the GPUs of a trial, as the trial trained (search.gpus_per_trial)
                from honed.search.trial_fit import trial_ranks

                nproc = trial_ranks(context.search.gpus_per_trial, plan.spec.train.device)
                metrics = trainval.retrain(run, plan.spec, resume=resume, nproc=nproc,
                                           progress=context.progress)
        metrics.pop("test", None)  # the test stage alone reads the test split
        atomic_write_json(run.metrics, {**metrics, "best_trial": plan.best_trial(),
                                        "refit": {**plan.record(), "source": how}})


def _best_epoch(context: RunContext, trial: FrozenTrial, spec: Spec) -> int:
    epoch = trial.user_attrs.get("best_epoch")
    if epoch is None:
        saved = _read_json(_trial_folder(context, trial) / "metrics.json") or {}
        epoch = saved.get("best_epoch")
    if epoch is None:
        context.note(f"refit: trial {trial.number} recorded no best epoch; train+val runs all "
                     f"{spec.train.epochs} epochs of its spec")
        epoch = spec.train.epochs
    return int(epoch)


def _trial_folder(context: RunContext, trial: FrozenTrial) -> Path:
    from honed.search.objective import trial_dir

    return trial_dir(context.study_dir, trial.number)


def _trial_model(context: RunContext, plan: RefitPlan) -> Path | None:
    """The trial's saved model when it is here and was made from the plan's spec."""
    folder = _trial_folder(context, plan.trial)
    if not ((folder / "model" / "weights.safetensors").is_file()
            and (folder / "spec.yaml").is_file()):
        return None
    saved, ours = read_yaml(folder / "spec.yaml"), plan.spec.model_dump(mode="json")
    for spec in (saved, ours):  # the trial monitored its objective whatever its spec said
        spec.get("train", {}).pop("monitor", None)
    # a leftover folder of an older study under the same number is not this trial
    return folder / "model" if saved == ours else None


def _clear(run: RunDir) -> None:
    """Remove what an earlier refit left, so that nothing stale mixes with the new model."""
    for path in (run.model, run.checkpoints, run.root / ".model.partial"):
        shutil.rmtree(path, ignore_errors=True)
    for path in (run.metrics, run.history, run.probes):
        path.unlink(missing_ok=True)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

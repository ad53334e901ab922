"""The three ways the refit stage makes the final model; each returns the run's metrics (no test).

Each writes ``spec.yaml``, ``model/`` (weights.safetensors, model.json, preprocess.json) and,
when it trains, ``history.jsonl`` and resumable ``checkpoints/`` into the run dir.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from honed.data.dataset import PreparedData, Split
from honed.io import atomic_write_bytes, atomic_write_text
from honed.rundir import RunDir
from honed.spec.schema import Spec
from honed.spec.template import dump_spec

__all__ = ["copy_trial", "retrain", "train_val", "with_val_in_train"]

#: what a trial's metrics.json says about its fit that the run dir keeping its model repeats
_TRIAL_RECORD = ("stop_reason", "train_seconds", "device", "precision", "threads")


def copy_trial(run: RunDir, spec: Spec, source: Path) -> dict[str, Any]:
    """Keep the trial's own model: copy ``source`` (a trial's ``model/``) into the run dir."""
    from honed.data import prepare_data
    from honed.models import count_parameters, load_model
    from honed.train.evaluate import evaluate_arrays

    atomic_write_text(run.spec, dump_spec(spec))
    partial = run.root / ".model.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    os.replace(partial, run.model)  # the folder appears whole or not at all
    for name, target in (("history.jsonl", run.history), ("probes.jsonl", run.probes)):
        if (source.parent / name).is_file():
            atomic_write_bytes(target, (source.parent / name).read_bytes())
    data = prepare_data(spec.data, seed=spec.seed)
    model = load_model(run.model)
    val = evaluate_arrays(model, data.val.x, data.val.y, task=data.task,
                          target_scale=data.target_scale, with_confusion=True)
    saved = source.parent / "metrics.json"
    trial = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else {}
    # where the trial trained and why it stopped: the model is the trial's, so is its record
    kept = {k: trial[k] for k in _TRIAL_RECORD if k in trial}
    return {"val": val, "params": count_parameters(model), "task": data.task,
            "monitor": spec.train.monitor, "best_epoch": trial.get("best_epoch"),
            "epochs_run": trial.get("epochs_run"), **kept}


def retrain(run: RunDir, spec: Spec, *, epochs: int | None = None, resume: bool = False,
            progress: bool = True, nproc: int = 1) -> dict[str, Any]:
    """Train ``spec`` exactly as ``honed train --nproc nproc`` does (``epochs`` is unused:
    the spec's own)."""
    from honed.train.launch import train_distributed

    outcome = train_distributed(spec, nproc=nproc, out_dir=run.root, resume=resume,
                                progress=progress,
                                evaluate_test=False)  # the test stage reads the test split, once
    return dict(outcome.metrics)


def train_val(run: RunDir, spec: Spec, *, epochs: int | None = None, resume: bool = False,
              progress: bool = True) -> dict[str, Any]:
    """Train ``spec`` on train + val for ``epochs`` epochs, early stopping off; keep the last.

    The preprocessing stays the one fitted on train (it is what ``model/preprocess.json``
    describes and what val and test were transformed with); only the rows are pooled. The
    learning-rate schedule spans the ``epochs`` run here.
    """
    from honed.data import make_augment
    from honed.train.fit import fit
    from honed.train.session import preflight, save_final_model, transfer_options

    data, model = preflight(spec)
    train = spec.train.model_copy(update={"epochs": epochs or spec.train.epochs,
                                          "early_stopping": None})
    augment = make_augment(spec.data.augment, kind=data.kind, task=data.task,
                           num_classes=data.num_classes,
                           scaler=data.preprocess.get("scaler"))
    if not resume:
        atomic_write_text(run.spec, dump_spec(spec))
    started = time.perf_counter()
    result = fit(model, with_val_in_train(data), train=train, seed=spec.seed, augment=augment,
                 out_dir=run.root, resume=resume, progress=progress,
                 **transfer_options(spec, model))
    final = result.extra["trainer"].eval_model.eval()  # the last epoch (its EMA average when on)
    return save_final_model(run, spec, data, final, result, started=started)


def with_val_in_train(data: PreparedData) -> PreparedData:
    """The same data with the val rows appended to train (val itself is kept, for the record)."""
    train, val = data.train, data.val
    index = None
    if train.index is not None and val.index is not None:
        index = np.concatenate([train.index, val.index])
    pooled = Split(np.concatenate([train.x, val.x]), np.concatenate([train.y, val.y]), index)
    return dataclasses.replace(data, train=pooled)

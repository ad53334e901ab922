"""``train_spec``: a spec in, a finished run directory out (what ``honed train`` calls).

Everything that can be wrong with the input (spec, data, model knobs, init checkpoint, run dir)
is checked before the first file is written, so bad input leaves nothing behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from honed.data import make_augment, prepare_data
from honed.data.dataset import PreparedData
from honed.data.preprocess import save_preprocess
from honed.errors import SpecError, UserInputError
from honed.io import atomic_write_json, atomic_write_text, make_folder
from honed.models import (
    backbone_names,
    count_parameters,
    create_model,
    freeze,
    load_weights,
    pattern_errors,
    save_model,
    weight_names,
)
from honed.models.mixed import TEXT_PREFIX
from honed.models.tokens import TOKEN_WEIGHTS
from honed.rundir import RunDir
from honed.spec.memory import MEMORY_PREFIX
from honed.spec.schema import Spec
from honed.spec.template import SpecTemplate, dump_spec
from honed.spec.yaml_io import read_yaml
from honed.train.baselines import baseline_report
from honed.train.checkpoint import read_checkpoint
from honed.train.confused import write_confused
from honed.train.evaluate import evaluate_arrays
from honed.train.fit import fit
from honed.train.metrics import metrics_for_task
from honed.train.monitor import check_monitor
from honed.train.precision import pick_device, pick_precision
from honed.train.rng import seed_everything
from honed.train.threads import pick_threads
from honed.train.trainer import FitResult

if TYPE_CHECKING:
    from honed.train.distributed import DDPContext

__all__ = ["train_spec", "resolve_spec", "check_run_dir", "preflight", "save_final_model",
           "runtime_record", "TrainOutcome", "absolute_paths", "build_model", "transfer_options"]


@dataclass
class TrainOutcome:
    """A finished ``honed train``: where it is and what it measured."""

    run_dir: RunDir
    metrics: dict[str, Any]
    result: FitResult


def train_spec(spec: SpecTemplate | Spec, *, out_dir: str | Path, resume: bool = False,
               progress: bool = True, base_dir: str | Path | None = None,
               evaluate_test: bool = True, distributed: DDPContext | None = None) -> TrainOutcome:
    """Train the spec (at its default point when it holds search dimensions) into ``out_dir``.

    Writes ``spec.yaml``, ``history.jsonl``, ``checkpoints/``, ``model/`` and ``metrics.json``
    (with ``baselines``: see :mod:`honed.train.baselines`). ``evaluate_test=False`` leaves the
    test split untouched and fits no baselines (``honed run`` does both once, in its test
    stage).

    ``distributed`` (a joined DDP group, see :mod:`honed.train.distributed`): this process
    trains as one rank; rank 0 alone writes the run dir, the others return empty metrics.
    """
    spec = resolve_spec(spec, base_dir)
    run = RunDir(out_dir)
    check_run_dir(run, spec, resume, world_size=distributed.world_size if distributed else 1)
    data, model = preflight(spec)
    main = distributed is None or distributed.is_main
    if distributed is not None:
        model = distributed.prepare(model, data, spec)
    augment = make_augment(spec.data.augment, kind=data.kind, task=data.task,
                           num_classes=data.num_classes,
                           scaler=data.preprocess.get("scaler"))

    started = time.perf_counter()
    if not resume and main:
        make_folder(run.root)
        atomic_write_text(run.spec, dump_spec(spec))
    result = fit(model, data, train=spec.train, seed=spec.seed, augment=augment, out_dir=run.root,
                 resume=resume, progress=progress and main, distributed=distributed,
                 **transfer_options(spec, model))
    if not main:
        return TrainOutcome(run_dir=run, metrics={}, result=result)
    final = _restore_best(result.extra["trainer"], run)
    metrics = save_final_model(run, spec, data, final, result, started=started)
    if distributed is not None:
        metrics["world_size"] = distributed.world_size
    if evaluate_test:
        metrics["test"] = evaluate_arrays(final, data.test.x, data.test.y, task=data.task,
                                          target_scale=data.target_scale, with_confusion=True)
        # beside the test scores, so that both read the test split at the same moment
        metrics["baselines"] = baseline_report(data, metrics, monitor=spec.train.monitor,
                                               season=spec.data.window.season)
        write_confused(run.root, spec.data, data, final)  # text classification only
    atomic_write_json(run.metrics, metrics)
    return TrainOutcome(run_dir=run, metrics=metrics, result=result)


def resolve_spec(spec: SpecTemplate | Spec, base_dir: str | Path | None = None) -> Spec:
    """The spec to train (a template's default point) with its file paths made absolute."""
    if isinstance(spec, SpecTemplate):
        base_dir = spec.base_dir if base_dir is None else base_dir
        spec = spec.default
    return absolute_paths(spec, Path(base_dir or "."))


def save_final_model(run: RunDir, spec: Spec, data: PreparedData, final: torch.nn.Module,
                     result: FitResult, *, started: float) -> dict[str, Any]:
    """Write ``model/`` (weights, model.json, preprocess.json); return the run's metrics.

    The metrics hold validation scores and what the run was (parameters, epochs, time, device);
    the test split is left to the caller, which decides whether and when to read it.
    """
    trainer = result.extra["trainer"]
    metrics = {
        "val": evaluate_arrays(final, data.val.x, data.val.y, task=data.task,
                               target_scale=data.target_scale, with_confusion=True),
        "params": count_parameters(final),
        "task": data.task,
        "monitor": spec.train.monitor,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "stop_reason": result.stop_reason,
        "seconds": round(time.perf_counter() - started, 3),
        "train_seconds": round(sum(r["seconds"] for r in result.history), 3),
        **runtime_record(trainer),
    }
    if "lr_find" in result.extra:
        metrics["lr_auto"] = result.extra["lr_find"].suggested_lr
    save_model(final.cpu(), run.model, family=spec.model.family, knobs={**spec.model.knobs(), **data.model_knobs},
               input_shape=data.input_shape, num_outputs=data.num_outputs, task=data.task)
    save_preprocess(run.model, data.preprocess)
    return metrics


def runtime_record(trainer) -> dict[str, Any]:
    """Where a fit ran: ``{"device": "cpu", "precision": "fp32", "threads": 2}``.

    With ``train.batch_size: auto``, also the batch it chose; with streamed data, the
    DataLoader workers (``data_workers``, ``data_workers_chosen``).

    Kept in ``metrics.json`` by ``honed train`` and by every search trial, whose record a
    ``honed run`` that keeps the trial's model carries over.
    """
    # fit() sets the thread count only while it runs: read after it, the process's count is
    # not what the fit used, so the record is the choice the trainer made
    record = {"device": str(trainer.device), "precision": trainer.precision}
    if trainer.config.batch_size == "auto":  # what auto chose for this data
        record["batch_size"] = trainer.batch_size
    if trainer.data_workers is not None:  # the loader of a streamed split
        record.update(trainer.data_workers.record())
    if trainer.threads:
        return {**record, **trainer.threads.record()}
    return {**record, "threads": torch.get_num_threads()}


def preflight(spec: Spec, *, base_dir: str | Path | None = None
              ) -> tuple[PreparedData, torch.nn.Module]:
    """Check everything short of training: device, data, monitors, model, init checkpoint.

    Writes nothing; every problem is a one-line :class:`UserInputError`.
    """
    if base_dir is not None:
        spec = absolute_paths(spec, Path(base_dir))
    torch.set_num_threads(pick_threads(spec.train.threads).threads)
    pick_precision(spec.train.precision, pick_device(spec.train.device))
    data = prepare_data(spec.data, seed=spec.seed)
    _check_monitors(spec, data)
    return data, build_model(spec, data)


def build_model(spec: Spec, data: PreparedData) -> torch.nn.Module:
    """Seed, build the spec's model for ``data`` and apply init_from and freeze."""
    seed_everything(spec.seed)
    model = create_model(spec.model.family, input_shape=data.input_shape,
                         num_outputs=data.num_outputs, task=data.task,
                         **spec.model.knobs(), **data.model_knobs)
    _check_patterns(spec, model)
    if spec.model.init_from:
        _same_tokens(spec, data, model)
        load_weights(model, spec.model.init_from, exclude=spec.model.init_exclude)
    if spec.model.freeze:
        freeze(model, spec.model.freeze)
    return model


def transfer_options(spec: Spec, model: torch.nn.Module) -> dict[str, Any]:
    """The keywords of :func:`honed.train.fit` that the spec's transfer settings give:
    ``unfreeze_after`` and the ``backbone`` (what ``init_from`` fills) whose rate
    ``train.backbone_lr_factor`` scales."""
    backbone = (backbone_names(model, spec.model.init_exclude) if spec.model.init_from
                else [])
    return {"unfreeze_after": spec.model.unfreeze_after, "backbone": backbone}


def _check_patterns(spec: Spec, model: torch.nn.Module) -> None:
    """Every ``model.freeze`` pattern names a parameter, and every ``model.init_exclude``
    pattern a weight of the model or of ``model.init_from``; else one spec error lists each
    pattern that does not, before any weight is read."""
    errors = pattern_errors(model, spec.model.freeze, label="model.freeze pattern")
    if spec.model.init_from:
        names = [*model.state_dict(), *weight_names(spec.model.init_from)]
        errors += pattern_errors(model, spec.model.init_exclude, names, noun="weight",
                                 label="model.init_exclude pattern")
    if errors:
        raise SpecError(errors)


def _same_tokens(spec: Spec, data: PreparedData, model: torch.nn.Module) -> None:
    """Token embeddings transfer only with the tokenizer whose ids they were trained on."""
    filled = backbone_names(model, spec.model.init_exclude)  # by the text model's names too
    excluded = TOKEN_WEIGHTS not in {name.removeprefix(TEXT_PREFIX) for name in filled}
    if data.kind == "text" and spec.data.tokenizer.file is None and not excluded:
        raise UserInputError("model.init_from on text: set data.tokenizer.file to the "
                             "checkpoint run's tokenizer.json, so that each token id means the "
                             f"same word (or exclude {TOKEN_WEIGHTS} with model.init_exclude)")


def absolute_paths(spec: Spec, base_dir: Path) -> Spec:
    """The spec with relative file paths made absolute, so the saved spec.yaml stands alone."""
    data, model = spec.data, spec.model
    if (not data.source.startswith(("builtin:", MEMORY_PREFIX))
            and not Path(data.source).is_absolute()):
        data = data.model_copy(update={"source": str((base_dir / data.source).resolve())})
    if model.init_from and not Path(model.init_from).is_absolute():
        model = model.model_copy(update={"init_from": str((base_dir / model.init_from).resolve())})
    tokenizer = data.tokenizer
    if tokenizer.file and not Path(tokenizer.file).is_absolute():
        tokenizer = tokenizer.model_copy(
            update={"file": str((base_dir / tokenizer.file).resolve())})
        data = data.model_copy(update={"tokenizer": tokenizer})
    return spec.model_copy(update={"data": data, "model": model})


def check_run_dir(run: RunDir, spec: Spec, resume: bool, *, world_size: int = 1) -> None:
    """One-line error unless ``run`` can take a new run, or (``resume``) continue its own.

    A checkpoint resumes only with the number of processes that wrote it.
    """
    if resume:
        if not run.last_checkpoint.is_file():
            raise UserInputError(f"nothing to resume in {run.root}: no "
                                 "checkpoints/last.safetensors")
        saved = read_yaml(run.spec)
        ours = spec.model_dump(mode="json")
        for section in (saved, ours):
            for key in ("epochs", "checkpoint"):  # resuming may extend a run, save more often
                section.get("train", {}).pop(key, None)
        if saved != ours:
            key = _first_difference(saved, ours)
            raise UserInputError(f"--resume: the spec differs from {run.spec} at {key}; resume "
                                 "with the same spec (only train.epochs and train.checkpoint "
                                 "may change)")
        # fail now, before training, if it is corrupt or from another number of processes
        written = read_checkpoint(run.last_checkpoint)[1].get("world_size", 1)
        if written != world_size:
            raise UserInputError(f"--resume: {run.last_checkpoint} was written by {written} "
                                 f"process(es); resume with --nproc {written}, not {world_size}")
    elif run.last_checkpoint.exists() or run.metrics.exists():
        raise UserInputError(f"{run.root} already holds a run; pass --resume to continue it or "
                             "--out to start a new one")


def _check_monitors(spec: Spec, data: PreparedData) -> None:
    available = {"val": metrics_for_task(data.task), "train": ["loss"]}
    check_monitor(spec.train.monitor, available, field="train.monitor")
    stop = spec.train.early_stopping
    if stop is not None and stop.monitor:
        check_monitor(stop.monitor, available, field="train.early_stopping.monitor")


def _restore_best(trainer, run: RunDir) -> torch.nn.Module:
    """The model to keep: the best checkpoint by ``train.monitor`` (its EMA average when on)."""
    model = trainer.eval_model
    if run.best_checkpoint.is_file():
        tensors, _ = read_checkpoint(run.best_checkpoint)
        prefix = "ema." if any(k.startswith("ema.") for k in tensors) else "model."
        model.load_state_dict({k[len(prefix):]: v for k, v in tensors.items()
                               if k.startswith(prefix)})
    return model.eval()


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    return path or "<root>"

"""Making each variant ``honed compress`` measures: pruned, distilled, int8.

A :class:`Candidate` is a variant before it is measured: a PyTorch module (kind ``torch``) or
an ONNX file (kind ``onnx``), with how it was made. :class:`Source` holds what every maker
needs from the run: its spec, data, augmentation, model and the metric compared.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from honed.spec.schema import DistillSpec, ModelSpec, PruneSpec, QuantizeSpec, Spec

__all__ = ["Candidate", "Source", "float_onnx", "prune_candidate", "distill_candidate",
           "student_alone_candidate", "quantize_candidate", "scaled_student", "build_student"]


@dataclass
class Source:
    """The run being compressed."""

    spec: Spec
    data: Any  # PreparedData
    model: nn.Module  # the run's model, eval mode, never changed by a maker
    record: dict[str, Any]  # its model.json
    augment: Any = None
    metric: str = "accuracy"
    higher_is_better: bool = True
    max_drop: float | None = None
    threads: int = 1
    teacher: nn.Module | None = None  # distillation's teacher, when the spec distills
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the search's trials
    exporter: str = "auto"  # ONNX exporter for latency and int8 models (see export_onnx)
    baseline_outputs: Any = None  # the run's model's outputs on val, once computed (budget.py)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.data.input_shape)


@dataclass
class Candidate:
    """One variant before measuring."""

    name: str
    kind: str  # torch | onnx
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    module: nn.Module | None = None  # torch: the model; onnx: the float model it came from
    onnx_path: Path | None = None
    spec: Spec | None = None  # a variant trained from a spec (distilled students)
    resized: bool = False  # its layers were narrowed (structured pruning)
    note: str = ""
    float_path: Path | None = None  # torch: its float32 ONNX export, made once when needed
    val: float | None = None  # its val metric, where making it chose on it (keep_better_student)
    kept: bool = True  # False: measured and shown, but not written, quantized or chosen


def float_onnx(source: Source, candidate: Candidate, folder: Path) -> Path:
    """The float32 ONNX export of a torch candidate, exported once (ONNX export is slow)."""
    if candidate.float_path is None or not candidate.float_path.is_file():
        from honed.export.onnx import export_onnx

        folder.mkdir(parents=True, exist_ok=True)
        candidate.float_path = export_onnx(candidate.module, source.input_shape,
                                           folder / "float.onnx",
                                           exporter=source.exporter).path
    return candidate.float_path


def prune_candidate(source: Source, prune: PruneSpec, *, base: Candidate | None = None,
                    name: str | None = None) -> Candidate:
    """Prune a copy of the run's model (or of ``base``, e.g. a distilled student).

    Unset steps and fine-tuning come from :func:`~honed.compress.schedule.finetune_plan`;
    structured rounds stop before the first that breaks the budget on val (against the run's
    model, read by :mod:`honed.compress.budget`), and the note says so; ``settings["rounds"]``
    holds each round's val metric, drop and standard error.
    """
    from honed.compress.budget import budget_check
    from honed.compress.prune import sparsity
    from honed.compress.schedule import finetune_plan, iterative_prune

    model = copy.deepcopy(base.module if base is not None else source.model)
    steps, epochs = finetune_plan(prune.method, prune.steps, prune.finetune_epochs,
                                  source.spec.train.epochs)
    check = None
    if prune.method == "structured" and source.max_drop is not None:
        check = budget_check(source)
    # structured: the same share of every layer unless asked; a global ranking cut the first
    # conv of the digits CNN to 8 of 32 channels, which fine-tuning did not recover
    scope = prune.scope if prune.method == "magnitude" or "scope" in prune.model_fields_set \
        else "layer"
    outcome = iterative_prune(
        model, source.data, method=prune.method, amount=prune.amount, steps=steps,
        finetune_epochs=epochs, scope=scope, input_shape=source.input_shape,
        train=source.spec.train, seed=source.spec.seed, augment=source.augment,
        round_to=prune.round_to, check=check,
        # structured fine-tuning learns from the unpruned model too (distillation's defaults)
        teacher=copy.deepcopy(model) if prune.method == "structured" and epochs else None)
    pruned = outcome.model.eval()
    settings = {"amount": prune.amount, "scope": scope, "steps": steps,
                "finetune_epochs": epochs}
    note = outcome.stopped
    if prune.method == "structured":
        settings.update(round_to=prune.round_to, reached=round(outcome.reached, 6))
        if check is not None:
            settings["rounds"] = [{"amount": r["amount"], **r["budget"]} for r in outcome.rounds]
    else:
        note = (f"{sparsity(pruned):.0%} of the weights are zero; stored dense, so size and "
                "latency do not shrink")
    return Candidate(name or f"{prune.method}-{round(prune.amount * 100)}", "torch",
                     f"prune-{prune.method}", settings, module=pruned,
                     spec=base.spec if base is not None else None,
                     resized=prune.method == "structured" or (base is not None and base.resized),
                     note=note)


def scaled_student(student: ModelSpec, width: float) -> ModelSpec:
    """The student section with ``hidden`` and ``channels`` multiplied by ``width``."""
    if width == 1:
        return student
    update: dict[str, Any] = {}
    if student.hidden is not None:
        update["hidden"] = max(1, round(student.hidden * width))
    if student.channels is not None:
        update["channels"] = [max(1, round(c * width)) for c in student.channels]
    return student.model_copy(update=update)


def build_student(source: Source, student: ModelSpec) -> nn.Module:
    """The student model, seeded like the run's own model."""
    from honed.models import create_model
    from honed.train.rng import seed_everything

    seed_everything(source.spec.seed)
    return create_model(student.family, input_shape=source.input_shape,
                        num_outputs=source.data.num_outputs, task=source.data.task,
                        **student.knobs(), **source.data.model_knobs)


def distill_candidate(source: Source, distill: DistillSpec, *, teacher: nn.Module,
                      width: float = 1.0, temperature: float | None = None,
                      alpha: float | None = None, name: str = "distilled") -> Candidate:
    """Train the student of ``distill`` from ``teacher`` with the run's trainer."""
    temperature = distill.temperature if temperature is None else temperature
    alpha = distill.alpha if alpha is None else alpha
    trained, spec = _train_student(source, distill, width=width, teacher=teacher,
                                   temperature=temperature, alpha=alpha)
    settings = {"student": spec.model.model_dump(exclude_defaults=True),
                "temperature": temperature, "alpha": alpha, "epochs": spec.train.epochs,
                "width": width}
    return Candidate(name, "torch", "distill", settings, module=trained, spec=spec)


def student_alone_candidate(source: Source, distill: DistillSpec, *,
                            name: str = "student-alone") -> Candidate:
    """The control of distillation: the same student, epochs, optimizer, augmentation and
    seed (so the same initial weights and batches), trained on the labels alone."""
    trained, spec = _train_student(source, distill, width=1.0, teacher=None)
    settings = {"student": spec.model.model_dump(exclude_defaults=True),
                "epochs": spec.train.epochs, "width": 1.0}
    return Candidate(name, "torch", "student-alone", settings, module=trained, spec=spec)


def _train_student(source: Source, distill: DistillSpec, *, width: float,
                   teacher: nn.Module | None, temperature: float = 1.0,
                   alpha: float = 0.0) -> tuple[nn.Module, Spec]:
    """The trained student (from ``teacher`` when given) and the spec it was trained from."""
    student_spec = scaled_student(distill.student, width)
    student = build_student(source, student_spec)
    train = source.spec.train
    if distill.epochs is not None:
        train = train.model_copy(update={"epochs": distill.epochs})
    if teacher is None:
        from honed.train import fit

        result = fit(student, source.data, train=train, seed=source.spec.seed,
                     augment=source.augment)
    else:
        from honed.compress.distill import distill as run_distill

        result = run_distill(teacher, student, source.data, temperature=temperature,
                             alpha=alpha, train=train, seed=source.spec.seed,
                             augment=source.augment)
    trained = result.extra["trainer"].eval_model.cpu().eval()
    return trained, source.spec.model_copy(update={"model": student_spec, "train": train})


def quantize_candidate(source: Source, base: Candidate, quantize: QuantizeSpec, folder: Path,
                       *, mode: str | None = None) -> Candidate:
    """Export ``base`` to ONNX in ``folder`` and quantize it to int8 there.

    The accuracy budget is checked on the validation split: nodes that cost too much stay in
    float (QUANT's accuracy-aware fallback); the test split is only read when measuring.
    """
    from honed.compress.quantize import onnx_scorer, quantize_onnx

    mode = mode or quantize.mode
    float_path = float_onnx(source, base, folder)
    data = source.data
    calibration = None
    if mode == "static":
        rows = np.linspace(0, len(data.train) - 1, min(quantize.samples, len(data.train)))
        calibration = data.train.x[rows.astype(int)]
    score = onnx_scorer(data.val.x, data.val.y, data.task, source.metric,
                        target_scale=data.target_scale, threads=source.threads)
    result = quantize_onnx(float_path, folder / "model.onnx", mode=mode,
                           calibration=quantize.calibration, calibration_data=calibration,
                           per_channel=quantize.per_channel, score=score,
                           max_drop=source.max_drop, higher_is_better=source.higher_is_better,
                           threads=source.threads, measure=False)
    prefix = "" if base.name == "baseline" else f"{base.name}+"
    settings = {"mode": mode, "per_channel": quantize.per_channel, "from": base.name,
                "excluded": result.excluded}
    if mode == "static":
        settings.update(calibration=quantize.calibration, samples=int(len(calibration)))
    return Candidate(f"{prefix}int8-{mode}", "onnx", f"quantize-{mode}", settings,
                     module=base.module, onnx_path=result.path, spec=base.spec,
                     resized=base.resized, note=result.note)

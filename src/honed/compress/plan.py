"""What ``compress_run`` builds, and every check on it before the first write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from honed.compress.budget import val_metric
from honed.compress.candidates import (
    Candidate,
    Source,
    build_student,
    distill_candidate,
    prune_candidate,
    quantize_candidate,
    student_alone_candidate,
)
from honed.errors import UserInputError
from honed.rundir import RunDir
from honed.spec.schema import CompressSpec, Spec

__all__ = ["prepare_source", "build_candidates", "keep_better_student", "budget_of",
           "DEFAULT_MAX_DROP"]


#: the budget when the spec sets none: one point of accuracy (0.01 of r2). Without a default,
#: every variant would count as within budget and `honed run` could ship one that lost a
#: quarter of its accuracy.
DEFAULT_MAX_DROP = 0.01


def budget_of(compress: CompressSpec, task: str) -> tuple[str, bool, float]:
    """The metric compared, whether higher is better, and the largest drop allowed."""
    if task == "classification":
        budget = compress.max_accuracy_drop
        if budget is None:
            budget = compress.max_metric_drop
        return "accuracy", True, DEFAULT_MAX_DROP if budget is None else budget
    if compress.max_accuracy_drop is not None:
        raise UserInputError(f"compress.max_accuracy_drop applies to classification; this run's "
                             f"task is {task}: use compress.max_metric_drop (drop of r2)")
    budget = compress.max_metric_drop
    return "r2", True, DEFAULT_MAX_DROP if budget is None else budget


#: why structured pruning refuses every text model, cnn included (docs/text.md's table)
STRUCTURED_TEXT = ("compress.prune.method structured does not apply to text models (this run's "
                   "{family} reads token ids): the channel cut is only checked on mlp, cnn and "
                   "resnet over tables and images, not through a token embedding; use method "
                   "magnitude")


def prepare_source(run: RunDir, spec: Spec) -> Source:
    """Load the run's data and model and check the compress section against them.

    Raises:
        UserInputError: structured pruning of a family it does not support, a teacher run dir
            without a model, a student whose outputs do not fit, static quantization without
            training rows, a budget of the wrong kind for the task.
    """
    from honed.compress.distill import check_student
    from honed.compress.structured import STRUCTURED_FAMILIES
    from honed.data import make_augment, prepare_data
    from honed.models import load_model, read_model_json

    compress = spec.compress
    import torch

    from honed.train.threads import pick_threads

    # fine-tuning and students train like the run did
    torch.set_num_threads(pick_threads(spec.train.threads).threads)
    record = read_model_json(run.model)
    metric, higher, max_drop = budget_of(compress, record["task"])
    if (compress.prune is not None and compress.prune.method == "structured"
            and record["family"] not in STRUCTURED_FAMILIES):
        raise UserInputError(f"compress.prune.method structured supports the families "
                             f"{', '.join(STRUCTURED_FAMILIES)}; this run's model is "
                             f"{record['family']!r}: use method magnitude")
    data = prepare_data(spec.data, seed=spec.seed)
    if (compress.prune is not None and compress.prune.method == "structured"
            and data.kind == "text"):
        raise UserInputError(STRUCTURED_TEXT.format(family=record["family"]))
    wants_static = (compress.quantize is not None and compress.quantize.mode == "static") or (
        compress.search is not None and "static" in compress.search.quantize)
    if wants_static and len(data.train) == 0:
        raise UserInputError("static quantization calibrates on training rows, and this run's "
                             "data has none; use compress.quantize.mode: dynamic")
    model = load_model(run.model)
    source = Source(spec=spec, data=data, model=model, record=record,
                    augment=make_augment(spec.data.augment, kind=data.kind, task=data.task,
                                         num_classes=data.num_classes),
                    metric=metric, higher_is_better=higher, max_drop=max_drop,
                    threads=compress.threads or 1)
    if compress.distill is not None:
        teacher = model
        if compress.distill.teacher is not None:
            teacher_run = RunDir(compress.distill.teacher)
            try:
                teacher_run.require(model=True)
            except UserInputError as exc:
                raise UserInputError(f"compress.distill.teacher: {exc}") from None
            teacher = load_model(teacher_run.model)
        check_student(teacher, build_student(source, compress.distill.student),
                      source.input_shape)
        source.teacher = teacher
    return source


def build_candidates(source: Source, compress: CompressSpec, scratch: Path,
                     note: Callable[[str], None]) -> tuple[Candidate, list[Candidate]]:
    """The baseline and every variant the compress section asks for, unmeasured."""
    baseline = Candidate("baseline", "torch", "none", module=source.model)
    made: list[Candidate] = []
    if compress.prune is not None:
        note(f"pruning ({compress.prune.method}, {compress.prune.amount:.0%})")
        made.append(prune_candidate(source, compress.prune))
    if compress.distill is not None:
        family = compress.distill.student.family
        note(f"training the {family} student alone (the control of distillation)")
        alone = student_alone_candidate(source, compress.distill)
        note(f"distilling into the {family} student")
        distilled = distill_candidate(source, compress.distill, teacher=source.teacher)
        keep_better_student(source, alone, distilled)
        made += [alone, distilled]
    if compress.quantize is not None:
        for base in [baseline, *(c for c in made if c.kept)]:
            note(f"quantizing {base.name} to int8 ({compress.quantize.mode})")
            made.append(quantize_candidate(source, base, compress.quantize,
                                           scratch / base.name))
    if compress.search is not None:
        from honed.compress.search import compress_search

        note(f"searching compression settings ({compress.search.trials} trials)")
        made += compress_search(source, compress, scratch / "search", note=note)
    return baseline, made


def keep_better_student(source: Source, alone: Candidate, distilled: Candidate) -> None:
    """Keep the distilled student only when it beats the student trained alone on val.

    Both are the same model with the same budget and seed; the one not kept stays in the
    table (measured, marked) but is neither written, quantized nor chosen. A tie keeps the
    student alone: distillation that does not help is not worth its teacher.
    """
    for candidate in (alone, distilled):
        candidate.val = val_metric(source, candidate)
    gain = distilled.val - alone.val if source.higher_is_better else alone.val - distilled.val
    loser = alone if gain > 0 else distilled
    loser.kept = False
    scores = (f"val {source.metric}: distilled {distilled.val:.4f}, student alone "
              f"{alone.val:.4f}")
    loser.note = ("not kept: the distilled student beats it, " if loser is alone else
                  "not kept: no better than the student trained alone, ") + scores

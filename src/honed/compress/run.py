"""``compress_run``: a finished run in, ``DIR/compress/`` with every variant measured out.

What is built comes from the ``compress`` section (of the run's spec, of ``spec=``, or set by
``overrides``): a pruned model, a distilled student, int8 models of the baseline and of each
of those, and the Pareto set of the budgeted search. Everything is checked before anything is
written; the folder is assembled beside the run's files and renamed into place at the end, so
``DIR/compress/`` is either the old table or the complete new one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honed.compress.variants import COMPRESS_DIR, COMPRESS_FILE, FORMAT, VERSION
from honed.errors import UserInputError
from honed.io import atomic_write_json
from honed.rundir import RunDir
from honed.spec.schema import CompressSpec, Spec

__all__ = ["compress_run", "CompressReport", "resolve_compress"]


@dataclass
class CompressReport:
    """A finished ``honed compress``: where the table is, and the table itself."""

    folder: Path
    table: dict[str, Any]

    @property
    def chosen(self) -> str | None:
        return self.table["chosen"]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [self.table["baseline"], *self.table["variants"]]

    def row(self, name: str) -> dict[str, Any]:
        for row in self.rows:
            if row["name"] == name:
                return row
        raise KeyError(name)


def resolve_compress(run_spec: Spec, spec: CompressSpec | Mapping | Spec | None = None,
                     overrides: Iterable[str] = ()) -> Spec:
    """The run's spec with its ``compress`` section replaced by ``spec`` and ``overrides``.

    Overrides are dotted keys inside the compress section (``prune.amount=0.3``); a leading
    ``compress.`` is accepted too. Every problem is reported at once with its dotted path.
    """
    from honed.spec.overrides import apply_overrides
    from honed.spec.validate import validate_point

    if isinstance(spec, Spec):
        spec = spec.compress
    if isinstance(spec, CompressSpec):
        section = spec.model_dump(mode="json", exclude_unset=True)
    elif spec is not None:
        section = dict(spec)
    else:
        section = (run_spec.compress.model_dump(mode="json", exclude_unset=True)
                   if run_spec.compress is not None else {})
    raw = run_spec.model_dump(mode="json")
    raw["compress"] = section
    keys = [text if text.startswith("compress.") else f"compress.{text}" for text in overrides]
    return validate_point(apply_overrides(raw, keys))


def compress_run(run_dir: str | Path, spec: CompressSpec | Mapping | Spec | None = None, *,
                 overrides: Iterable[str] = (), timing: dict | None = None,
                 exporter: str = "auto",
                 note: Callable[[str], None] | None = None) -> CompressReport:
    """Build, measure and keep the compressed variants of the run in ``run_dir``.

    Args:
        run_dir: a finished run (``honed train`` or ``honed run``) holding ``model/``.
        spec: the compress section to use; None takes the run's own.
        overrides: dotted ``KEY=VALUE`` settings inside the compress section.
        timing: options of the interleaved latency rounds (``rounds``, ``repeats``,
            ``warmup``, ``budget_s``; see :func:`~honed.compress.timing.onnx_samples`).
        exporter: the ONNX exporter of :func:`~honed.export.onnx.export_onnx` used for the
            latency of PyTorch variants and as the float model of int8 ones.
        note: prints progress lines for people.

    Returns:
        The report; the same table is in ``DIR/compress/compress.json``.

    Raises:
        UserInputError: a run dir without a model, a bad compress section (a sparsity outside
            [0, 1), a negative budget, ...), a student whose outputs do not fit the teacher's.
            Nothing is written.

    Example:
        >>> report = compress_run("runs/mnist", overrides=["quantize.mode=dynamic"])
        >>> report.chosen, report.row(report.chosen)["latency_ms"]["batch1"]
    """
    from honed.compress.plan import prepare_source
    from honed.spec.validate import validate_point
    from honed.spec.yaml_io import read_yaml

    note = note or (lambda text: None)
    if exporter not in ("auto", "dynamo", "torchscript"):
        raise UserInputError(f"exporter must be auto, dynamo or torchscript; got {exporter!r}")
    run = RunDir(run_dir).require(model=True)

    full = resolve_compress(validate_point(read_yaml(run.spec)), spec, overrides)
    compress = full.compress
    if compress is None or not any((compress.prune, compress.quantize, compress.distill,
                                    compress.search)):
        raise UserInputError("nothing to compress: the spec's compress section names none of "
                             "prune, quantize, distill, search; e.g. honed compress "
                             f"{run_dir} prune.method=structured prune.amount=0.5")
    source = prepare_source(run, full)  # every check, before any write
    source.exporter = exporter
    fingerprint = (_read_json(run.metrics) or {}).get("refit", {}).get("fingerprint")
    partial = run.root / ".compress.partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        table = _build(source, compress, partial, fingerprint, timing or {}, note)
        _swap(partial, run.root / COMPRESS_DIR)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return CompressReport(run.root / COMPRESS_DIR, table)


def _build(source, compress: CompressSpec, partial: Path, fingerprint: str | None,
           timing: dict, note: Callable[[str], None]) -> dict[str, Any]:
    from honed.compress.budget import STANDARD_ERRORS
    from honed.compress.plan import build_candidates
    from honed.compress.table import choose, measure, time_rows, why_none, write_variant

    partial.mkdir(parents=True)
    scratch = partial / ".scratch"
    baseline, candidates = build_candidates(source, compress, scratch, note)
    note("measuring the baseline")
    base_row, base_path = measure(source, baseline, scratch)
    rows, paths = [], [base_path]
    for candidate in candidates:
        note(f"measuring {candidate.name}")
        row, path = measure(source, candidate, scratch, baseline=base_row)
        if candidate.method == "prune-structured":
            _note_speed_warnings(row, base_path, path)
        rows.append(row)
        paths.append(path)
    note(f"timing {len(paths)} models interleaved at batch 1 and 64")
    time_rows(source, [base_row, *rows], paths, timing=timing)
    for candidate, row in zip(candidates, rows, strict=True):
        if row["kept"]:  # timing may have dropped an int8 model slower than its float one
            write_variant(partial / candidate.name, source, candidate, row)
    shutil.rmtree(scratch, ignore_errors=True)
    max_drop = source.max_drop
    chosen = choose(base_row, rows)
    table = {
        "format": FORMAT, "version": VERSION, "model": fingerprint, "metric": source.metric,
        # the choice reads each row's drop on val, one standard error forgiven (budget.py)
        "budget": None if max_drop is None else {"max_drop": max_drop, "split": "val",
                                                 "standard_errors": STANDARD_ERRORS},
        "threads": source.threads, "baseline": base_row, "variants": rows,
        "chosen": chosen, "why": None if chosen else why_none(rows),
        "spec": compress.model_dump(mode="json"), **source.extra,
    }
    atomic_write_json(partial / COMPRESS_FILE, table)
    return table


def _note_speed_warnings(row: dict[str, Any], baseline: Path, pruned: Path) -> None:
    from honed.compress.graph_check import speed_warnings

    warning = speed_warnings(baseline, pruned, row["settings"].get("round_to"))
    if warning:
        row["note"] = "; ".join(filter(None, [row["note"], warning]))


def _swap(partial: Path, final: Path) -> None:
    """Put the new folder in place; the old one is removed only after the rename."""
    old = final.with_name(".compress.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

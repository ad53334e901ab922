"""Measuring variants the same way and writing their folders and compress.json rows.

Every latency is ONNX Runtime's (a PyTorch variant is exported to ONNX first), at batch 1 and
batch 64, with the same threads and inputs, so the rows compare like for like; the test split
gives the metric. All rows are timed together, interleaved over rounds
(:mod:`honed.compress.timing`), and each row's ``speedup`` is the median of its per-round
ratios to the baseline. Folders follow the layout in :mod:`honed.compress.variants`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from honed.compress.candidates import Candidate, Source, float_onnx
from honed.data.preprocess import save_preprocess
from honed.io import atomic_write_json, atomic_write_text

__all__ = ["measure", "time_rows", "write_variant", "choose", "why_none", "print_table",
           "distill_verdict", "BATCHES"]

BATCHES = (1, 64)
#: a chosen variant is at least 1/0.95 (5%) faster than the baseline at batch 64, and at most
#: 5% slower at batch 1 (where ONNX Runtime's per-call floor hides most gains): noise alone
#: must not pick a variant that is the same model underneath
MIN_SPEEDUP = 0.95


def _test_metrics(source: Source, candidate: Candidate) -> dict[str, Any]:
    data = source.data
    if candidate.kind == "onnx":
        from honed.compress.scoring import onnx_outputs
        from honed.train.metrics import compute_metrics

        outputs = onnx_outputs(candidate.onnx_path, data.test.x, threads=source.threads)
        return compute_metrics(data.task, data.test.y, outputs, target_scale=data.target_scale)
    from honed.train.evaluate import evaluate_arrays

    metrics = evaluate_arrays(candidate.module, data.test.x, data.test.y, task=data.task,
                              target_scale=data.target_scale)
    metrics.pop("loss", None)
    return metrics


def measure(source: Source, candidate: Candidate, scratch: Path, *,
            baseline: dict | None = None) -> tuple[dict[str, Any], Path]:
    """The compress.json row of ``candidate`` before timing, and the ONNX file to time.

    Args:
        source: the run.
        candidate: the variant.
        scratch: a folder for the ONNX export of a torch variant (removed by the caller).
        baseline: the baseline row; None when measuring the baseline itself.
    """
    from honed.compress.measure import count_macs, size_bytes
    from honed.models import count_parameters

    test = {k: float(v) for k, v in _test_metrics(source, candidate).items()
            if isinstance(v, (int, float))}
    if candidate.kind == "onnx":
        onnx_path, size = candidate.onnx_path, size_bytes(candidate.onnx_path)
    else:
        import safetensors.torch

        from honed.models.saving import _flat_state

        onnx_path = float_onnx(source, candidate, scratch / candidate.name)
        tensors, _ = _flat_state(candidate.module.state_dict())
        size = len(safetensors.torch.save(tensors))  # what weights.safetensors will hold
    value = test.get(source.metric)
    drop = None
    if baseline is not None and value is not None:
        reference = baseline["test"][source.metric]
        drop = reference - value if source.higher_is_better else value - reference
    row = {
        "name": candidate.name, "kind": candidate.kind, "method": candidate.method,
        "settings": candidate.settings, "test": test,
        "drop": None if drop is None else round(drop, 6),
        "parameters": count_parameters(candidate.module), "size_bytes": int(size),
        "macs": count_macs(candidate.module, source.input_shape),
        "latency_ms": None, "speedup": None, "runtime": "onnxruntime",
        "within_budget": drop is None or source.max_drop is None or drop <= source.max_drop + 1e-9,
        "val": None if candidate.val is None else {source.metric: round(candidate.val, 6)},
        "kept": candidate.kept, "note": candidate.note,
    }
    return row, onnx_path


def time_rows(source: Source, rows: list[dict[str, Any]], paths: list[Path], *,
              timing: dict | None = None) -> None:
    """Fill ``latency_ms`` and ``speedup`` of ``rows`` (the baseline first), timed interleaved.

    Args:
        source: the run (threads, input shape).
        rows: the rows, baseline first; changed in place.
        paths: each row's ONNX file.
        timing: keyword arguments of :func:`~honed.compress.timing.onnx_samples`
            (``rounds``, ``repeats``, ``warmup``, ``budget_s``).
    """
    from honed.compress.timing import latency_and_speedup, onnx_samples

    named = {row["name"]: path for row, path in zip(rows, paths, strict=True)}
    samples = onnx_samples(named, source.input_shape, batches=BATCHES, threads=source.threads,
                           **(timing or {}))
    for row in rows:
        row["latency_ms"], row["speedup"] = latency_and_speedup(samples, row["name"],
                                                                rows[0]["name"])
    _offer_faster_int8(rows)


def _offer_faster_int8(rows: list[dict[str, Any]]) -> None:
    """int8 is offered only where it beats the float model it came from at batch 1 or 64
    (ratios of ratios: each speed-up is against the same baseline, in the same rounds)."""
    by_name = {row["name"]: row for row in rows}
    for row in rows[1:]:
        source = by_name.get((row["settings"] or {}).get("from", ""))
        if row["kind"] != "onnx" or source is None or not row["kept"]:
            continue
        gains = {key: row["speedup"][key] / source["speedup"][key] for key in row["speedup"]}
        if max(gains.values()) < 1:
            row["kept"] = False
            row["note"] = (f"not kept: slower than its float model ({source['name']}) on this "
                           f"machine: {gains['batch1']:.2f}x at batch 1, "
                           f"{gains['batch64']:.2f}x at batch 64")


def write_variant(folder: Path, source: Source, candidate: Candidate, row: dict[str, Any]) -> None:
    """Write ``folder`` (``compress/NAME``) for a kept variant."""
    from honed.models import read_model_json, save_model
    from honed.spec.template import dump_spec

    folder.mkdir(parents=True)
    spec_model = candidate.spec.model if candidate.spec is not None else None
    # torch: the model folder; onnx: the record of the PyTorch model it was made from
    target = folder / "model" if candidate.kind == "torch" else folder / ".source"
    save_model(candidate.module.cpu(), target,
               family=spec_model.family if spec_model is not None else source.record["family"],
               knobs={**spec_model.knobs(), **source.data.model_knobs} if spec_model is not None
               else source.record["knobs"],
               input_shape=source.input_shape, num_outputs=source.data.num_outputs,
               task=source.data.task, resized=candidate.resized,
               extra={"variant": candidate.name})
    if candidate.kind == "torch":
        save_preprocess(folder / "model", source.data.preprocess)
    else:
        shutil.copyfile(candidate.onnx_path, folder / "model.onnx")
        atomic_write_json(folder / "model.json", read_model_json(target))
        shutil.rmtree(target)
        save_preprocess(folder, source.data.preprocess)
    atomic_write_json(folder / "metrics.json", {"test": row["test"], "drop": row["drop"]})
    if candidate.spec is not None:
        atomic_write_text(folder / "spec.yaml", dump_spec(candidate.spec))


def choose(baseline: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    """The kept variant within budget with the largest speed-up at batch 64, if it is clearly
    faster there (see :data:`MIN_SPEEDUP`) and not slower at batch 1.

    The speed-ups are medians of per-round ratios measured interleaved with the baseline
    (:func:`time_rows`), never latencies measured at different moments.
    """
    fit = [row for row in rows if _eligible(row)]
    if not fit:
        return None
    best = max(fit, key=lambda row: row["speedup"]["batch64"])
    return best["name"]


def _eligible(row: dict[str, Any]) -> bool:
    speedup = row["speedup"]
    return (row["kept"] and row["within_budget"] and speedup["batch64"] >= 1 / MIN_SPEEDUP
            and speedup["batch1"] >= MIN_SPEEDUP)


def why_none(rows: list[dict[str, Any]]) -> str:
    """Why :func:`choose` kept the baseline, in one line."""
    kept = [row for row in rows if row["kept"]]
    fit = [row for row in kept if row["within_budget"]]
    if not kept:
        return "no variant was kept"
    if not fit:
        best = min(kept, key=lambda row: row["drop"])
        return (f"no variant is within the accuracy budget (the closest, {best['name']}, "
                f"drops {best['drop']:.4f})")
    best = max(fit, key=lambda row: row["speedup"]["batch64"])
    return (f"no variant within budget is faster than the baseline at batch 64 without being "
            f"slower at batch 1 (the best, {best['name']}, runs "
            f"{best['speedup']['batch64']:.2f}x at batch 64, {best['speedup']['batch1']:.2f}x "
            f"at batch 1)")


def print_table(table: dict[str, Any], console=None) -> None:
    """The variant table with rich: metric, drop, parameters, size, MACs, latencies."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    metric = table["metric"]
    view = Table(title=f"compression: {metric} on test, latency in ms with ONNX Runtime "
                       f"({table['threads']} thread{'s' if table['threads'] != 1 else ''})",
                 box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("variant", metric, "drop", "params", "size", "MACs", "@1", "@64", "x@1",
                   "x@64", ""):
        view.add_column(header, no_wrap=header != "",
                        justify="left" if header in ("variant", "") else "right")
    for row in [table["baseline"], *table["variants"]]:
        drop = "" if row["drop"] is None else f"{row['drop']:+.4f}"
        flag = "chosen" if row["name"] == table["chosen"] else (
            "not kept" if not row["kept"] else "" if row["within_budget"] else "over budget")
        view.add_row(row["name"], f"{row['test'].get(metric, float('nan')):.4f}", drop,
                     f"{row['parameters']:,}", _size(row["size_bytes"]),
                     "" if row["macs"] is None else _count(row["macs"]),
                     f"{row['latency_ms']['batch1']:.3f}", f"{row['latency_ms']['batch64']:.3f}",
                     *_speedups(row), flag)
    # a narrow terminal would cut names and numbers short: let lines run long instead
    needed = console.measure(view, options=console.options.update_width(400)).maximum
    width = console.width
    try:
        console.width = max(width, needed)
        console.print(view)
    finally:
        console.width = width
    line = distill_verdict(table)
    if line:
        console.print(line, markup=False)


def distill_verdict(table: dict[str, Any]) -> str | None:
    """One line on distillation against its control, or None when the table has no student.

    Example: ``distillation: val accuracy 0.9444, student alone 0.9556: kept student-alone``
    """
    rows = {row["method"]: row for row in table["variants"]
            if row["method"] in ("distill", "student-alone") and row.get("val")}
    if len(rows) < 2:
        return None
    metric = table["metric"]
    kept = next(row["name"] for row in rows.values() if row["kept"])
    return (f"distillation: val {metric} {rows['distill']['val'][metric]:.4f}, student alone "
            f"{rows['student-alone']['val'][metric]:.4f}: kept {kept}")


def _speedups(row: dict[str, Any]) -> list[str]:
    speedup = row.get("speedup") or {}  # tables written before speed-ups were measured
    return [f"{speedup[key]:.2f}" if key in speedup else "" for key in ("batch1", "batch64")]


def _count(value: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return str(value)


def _size(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


"""Measuring variants the same way and writing their folders and compress.json rows.

Every latency is ONNX Runtime's (a PyTorch variant is exported to ONNX first), at batch 1 and
batch 64, with the same threads and inputs, so the rows compare like for like. The validation
split decides (each row's drop against the baseline, and so whether it is within the budget);
the test split is measured for the report only, never to choose. All rows are timed together,
interleaved over rounds (:mod:`honed.compress.timing`), and each row's ``speedup`` is the
median of its per-round ratios to the baseline. Folders follow the layout in
:mod:`honed.compress.variants`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from honed.compress.candidates import Candidate, Source, float_onnx
from honed.data.preprocess import save_preprocess
from honed.io import atomic_write_json, atomic_write_text

__all__ = ["measure", "time_rows", "write_variant", "choose", "why_none", "BATCHES"]

BATCHES = (1, 64)
#: a chosen variant is at least 1/0.95 (5%) faster than the baseline at batch 64, and at most
#: 5% slower at batch 1 (where ONNX Runtime's per-call floor hides most gains): noise alone
#: must not pick a variant that is the same model underneath
MIN_SPEEDUP = 0.95


def _drop(source: Source, reference: float, value: float) -> float:
    return reference - value if source.higher_is_better else value - reference


def measure(source: Source, candidate: Candidate, scratch: Path, *,
            baseline: dict | None = None) -> tuple[dict[str, Any], Path]:
    """The compress.json row of ``candidate`` before timing, and the ONNX file to time.

    The row holds every metric on val and on test (ONNX Runtime's outputs for an ONNX file,
    eager PyTorch's for a module). ``drop``, ``se`` and ``within_budget`` are read on val
    (:func:`~honed.compress.budget.judge`): they decide the choice. ``test_drop`` is the drop
    on test, read strictly, for the report only.

    Args:
        source: the run.
        candidate: the variant.
        scratch: a folder for the ONNX export of a torch variant (removed by the caller).
        baseline: the baseline row; None when measuring the baseline itself.
    """
    from honed.compress.budget import judge, split_metrics, split_outputs
    from honed.compress.measure import count_macs, size_bytes
    from honed.models import count_parameters

    val_outputs = split_outputs(source, candidate, "val")
    val = split_metrics(source, val_outputs, "val")
    test = split_metrics(source, split_outputs(source, candidate, "test"), "test")
    if candidate.kind == "onnx":
        onnx_path, size = candidate.onnx_path, size_bytes(candidate.onnx_path)
    else:
        import safetensors.torch

        from honed.models.saving import _flat_state

        onnx_path = float_onnx(source, candidate, scratch / candidate.name)
        tensors, _ = _flat_state(candidate.module.state_dict())
        size = len(safetensors.torch.save(tensors))  # what weights.safetensors will hold
    drop = se = test_drop = None
    within = True
    if baseline is not None:
        verdict = judge(source, candidate, val_outputs)
        drop, se, within = round(verdict.drop, 6), round(verdict.se, 6), verdict.within
        test_drop = round(_drop(source, baseline["test"][source.metric], test[source.metric]), 6)
    row = {
        "name": candidate.name, "kind": candidate.kind, "method": candidate.method,
        "settings": candidate.settings, "val": val, "test": test,
        "drop": drop, "se": se, "test_drop": test_drop, "within_budget": within,
        "parameters": count_parameters(candidate.module), "size_bytes": int(size),
        "macs": count_macs(candidate.module, source.input_shape),
        "latency_ms": None, "speedup": None, "runtime": "onnxruntime",
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
    atomic_write_json(folder / "metrics.json", {key: row[key] for key in
                                                ("val", "test", "drop", "se", "test_drop")})
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
        best = min(kept, key=lambda row: row["drop"] - row["se"])
        return (f"no variant is within the budget on val (the closest, {best['name']}, "
                f"drops {best['drop']:.4f} ± {best['se']:.4f} there)")
    best = max(fit, key=lambda row: row["speedup"]["batch64"])
    return (f"no variant within budget is faster than the baseline at batch 64 without being "
            f"slower at batch 1 (the best, {best['name']}, runs "
            f"{best['speedup']['batch64']:.2f}x at batch 64, {best['speedup']['batch1']:.2f}x "
            f"at batch 1)")

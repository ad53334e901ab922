"""int8 with ONNX Runtime against eager PyTorch: the MNIST MLP, same threads, one run.

    python bench/quantization.py [--epochs 5] [--threads 1] [--rounds 5] [--explore] [--json F]

Trains honed's default ``mlp`` (2 × 128, relu) on ``builtin:mnist`` for a few epochs, exports
it with ``export_onnx`` and quantizes it with ``quantize_onnx``: dynamic, and static QDQ with
min-max, entropy and percentile calibration on training samples (accuracy budget 1 point on
the validation split). Every model is timed at batch 1 and 64 with the same inputs and thread
count; the rounds alternate between the models, so machine noise hits all of them alike, and
each figure is the median over rounds of per-round medians. Prints the export gain (ORT fp32
over eager), the quantization gain (ORT int8 over ORT fp32) and their product (target: int8 at
least 3× faster than eager fp32 at batch 1 with at most 1 point of accuracy lost).
``--explore`` adds what a practitioner would try next: per-tensor weights, and ORT's QOperator
format for static int8 (QLinearMatMul kernels instead of QDQ pairs that ORT fuses).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from honed.compress.measure import onnx_latency_ms, size_bytes, torch_latency_ms
from honed.compress.quantize import onnx_scorer, quantize_onnx
from honed.data import prepare_data
from honed.export.onnx import export_onnx
from honed.io import atomic_write_json
from honed.models import create_model
from honed.spec.schema import DataSpec
from honed.train import fit
from honed.train.evaluate import evaluate_arrays

BATCHES = (1, 64)


def qoperator_static(float_path: Path, out: Path, calibration: np.ndarray) -> Path:
    """ORT's other static format, written by ORT directly (honed ships QDQ)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from honed.compress.calibration import array_reader, calibration_rows

    logging.getLogger().setLevel(logging.ERROR)  # ORT's advice to pre-process, printed twice
    quantize_static(float_path, out, array_reader(calibration_rows(calibration), "input"),
                    quant_format=QuantFormat.QOperator, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return out


def build_variants(args, data, model, folder: Path) -> dict[str, dict]:
    """Every model to time: name → {"path" or "model", "accuracy", "note"}."""
    test = onnx_scorer(data.test.x, data.test.y, "classification", threads=args.threads)
    val = onnx_scorer(data.val.x, data.val.y, "classification", threads=args.threads)
    float_path = export_onnx(model, data.input_shape, folder / "fp32.onnx").path
    eager = evaluate_arrays(model, data.test.x, data.test.y, task="classification")["accuracy"]
    rows = {"eager fp32": {"model": model, "accuracy": eager, "note": "torch.inference_mode"},
            "ORT fp32": {"path": float_path, "accuracy": test(float_path), "note": ""}}
    settings = [("ORT int8 dynamic", {"mode": "dynamic"})]
    settings += [(f"ORT int8 static {c}", {"mode": "static", "calibration": c})
                 for c in ("minmax", "entropy", "percentile")]
    if args.explore:
        settings += [("ORT int8 dynamic per-tensor", {"mode": "dynamic", "per_channel": False}),
                     ("ORT int8 static per-tensor", {"mode": "static", "per_channel": False})]
    for name, kwargs in settings:
        out = folder / (name.replace(" ", "_") + ".onnx")
        result = quantize_onnx(float_path, out, calibration_data=data.train.x, score=val,
                               max_drop=0.01, threads=args.threads, measure=False, **kwargs)
        rows[name] = {"path": out, "accuracy": test(out), "note": result.note}
    if args.explore:
        out = qoperator_static(float_path, folder / "qoperator.onnx", data.train.x)
        rows["ORT int8 static QOperator"] = {"path": out, "accuracy": test(out),
                                             "note": "QOperator, per-channel, minmax"}
    return rows


def time_variants(rows: dict[str, dict], input_shape, *, threads: int, rounds: int) -> None:
    """Median over ``rounds`` of each model's median latency, the models taken in turn."""
    samples = {name: {b: [] for b in BATCHES} for name in rows}
    for _ in range(rounds):
        for batch in BATCHES:
            for name, row in rows.items():
                if "model" in row:
                    ms = torch_latency_ms(row["model"], input_shape, batch=batch, threads=threads)
                else:
                    ms = onnx_latency_ms(row["path"], batch=batch, threads=threads)
                samples[name][batch].append(ms)
    for name, row in rows.items():
        row["latency_ms"] = {f"batch{b}": statistics.median(samples[name][b]) for b in BATCHES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--explore", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = prepare_data(DataSpec(source="builtin:mnist"), seed=0)
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=data.input_shape, num_outputs=data.num_outputs)
    fit(model, data, epochs=args.epochs, batch_size=64, optimizer={"name": "adamw", "lr": 1e-3})
    model.eval()
    with tempfile.TemporaryDirectory() as folder:
        rows = build_variants(args, data, model, Path(folder))
        time_variants(rows, data.input_shape, threads=args.threads, rounds=args.rounds)
        for row in rows.values():
            row["size_bytes"] = size_bytes(row["path"]) if "path" in row else None
    eager, fp32 = rows["eager fp32"], rows["ORT fp32"]
    print(f"MNIST MLP (784-128-128-10), {len(data.train)} training rows, {args.epochs} epochs; "
          f"{args.threads} thread(s), median of {args.rounds} rounds")
    print(f"{'variant':30} {'test acc':>8} {'drop':>6} {'size KB':>8} {'b1 ms':>8} {'b64 ms':>8} "
          f"{'b1 ×eager':>9} {'b64 ×eager':>10}")
    for name, row in rows.items():
        b1, b64 = row["latency_ms"]["batch1"], row["latency_ms"]["batch64"]
        size = f"{row['size_bytes'] / 1024:8.0f}" if row["size_bytes"] else f"{'-':>8}"
        drop = 100 * (eager["accuracy"] - row["accuracy"])
        gain1, gain64 = eager["latency_ms"]["batch1"] / b1, eager["latency_ms"]["batch64"] / b64
        print(f"{name:30} {row['accuracy']:8.4f} {drop:+6.2f} {size} {b1:8.4f} {b64:8.4f} "
              f"{gain1:9.2f} {gain64:10.2f}")
    best = min((n for n in rows if n.startswith("ORT int8")),
               key=lambda n: rows[n]["latency_ms"]["batch1"])
    for batch in ("batch1", "batch64"):
        export_gain = eager["latency_ms"][batch] / fp32["latency_ms"][batch]
        quant_gain = fp32["latency_ms"][batch] / rows["ORT int8 dynamic"]["latency_ms"][batch]
        print(f"{batch}: export gain (ORT fp32 / eager) {export_gain:.2f}×, quantization gain "
              f"(ORT int8 dynamic / ORT fp32) {quant_gain:.2f}×, int8 dynamic over eager "
              f"{export_gain * quant_gain:.2f}×")
    print(f"fastest int8 at batch 1: {best}, "
          f"{eager['latency_ms']['batch1'] / rows[best]['latency_ms']['batch1']:.2f}× over eager "
          f"fp32 (target >= 3×), accuracy drop "
          f"{100 * (eager['accuracy'] - rows[best]['accuracy']):.2f} points (target <= 1)")
    if args.json:
        kept = {name: {k: v for k, v in row.items() if k not in ("model", "path")}
                for name, row in rows.items()}  # the models and temp paths are gone by now
        atomic_write_json(args.json, kept)


if __name__ == "__main__":
    main()

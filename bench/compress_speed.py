"""Before/after figures of ``honed compress``: accuracy drop, MAC ratio and speed-up against the
fp32 ONNX model, at batch 1 and 64, for the digits CNN, the MNIST-subset MLP and a ResNet.

    python bench/compress_speed.py RUN_DIR [KEY=VALUE ...] [--threads 1] [--rounds 9]
    python bench/compress_speed.py --train resnet OUT_DIR   # the ResNet run used below

``compress_run`` builds the variants the overrides ask for (the same overrides as the issue:
``max_accuracy_drop=0.01 prune={method: structured, amount: 0.5} quantize={method: int8}``);
then the baseline's fp32 ONNX export and every written variant are timed here, interleaved
over ``--rounds`` rounds (each round times every model; the ratio of a variant is taken
against the baseline of the same round, and the median over rounds is reported), so that load
on a shared machine hits every model alike. It uses only ``compress_run``, ``load_variant`` and
``export_onnx``, so the same script measures an older honed (``PYTHONPATH=old/src``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

RESNET = {"name": "digits-resnet", "seed": 0,
          "data": {"source": "builtin:digits", "scale": "standard",
                   "split": {"val": 0.15, "test": 0.15, "stratify": True}},
          "model": {"family": "resnet", "channels": [32, 64], "depth": 1},
          "train": {"epochs": 20, "batch_size": 64, "threads": 1,
                    "optimizer": {"name": "adamw", "lr": 3.0e-3}}}


def _timed(session, x, calls: int) -> float:
    feed = {session.get_inputs()[0].name: x}
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def interleaved(paths: dict[str, Path], shape, batch: int, *, threads: int, rounds: int
                ) -> dict[str, list[float]]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    sessions = {name: ort.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
                for name, path in paths.items()}
    x = np.random.default_rng(0).standard_normal((batch, *shape), dtype=np.float32)
    calls = 50 if batch == 1 else 15
    for session in sessions.values():
        _timed(session, x, 5)
    names, out = list(sessions), {name: [] for name in sessions}
    for index in range(rounds):
        for name in names[index % len(names):] + names[:index % len(names)]:
            out[name].append(_timed(sessions[name], x, calls))
    return out


def measure(run_dir: Path, overrides: list[str], *, threads: int, rounds: int) -> dict:
    from machine import cpu_model

    from honed.compress import compress_run, load_variant
    from honed.export.onnx import export_onnx
    from honed.models import load_model

    began = time.perf_counter()
    report = compress_run(run_dir, overrides=[*overrides, f"threads={threads}"],
                          exporter="torchscript")
    seconds = time.perf_counter() - began
    table = report.table
    shape = json.loads((run_dir / "model" / "model.json").read_text())["input_shape"]
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"baseline": export_onnx(load_model(run_dir / "model"), shape,
                                         Path(tmp) / "base.onnx", exporter="torchscript").path}
        for row in table["variants"]:
            if not row["kept"]:
                continue
            variant = load_variant(run_dir, row["name"])
            paths[row["name"]] = variant.onnx_path or export_onnx(
                variant.module, shape, Path(tmp) / f"{row['name']}.onnx",
                exporter="torchscript").path
        samples = {b: interleaved(paths, shape, b, threads=threads, rounds=rounds)
                   for b in (1, 64)}
    base = table["baseline"]
    rows = []
    for row in [base, *table["variants"]]:
        if row["name"] not in paths:
            continue
        figures = {"name": row["name"], "accuracy": row["test"]["accuracy"],
                   "drop": row["test_drop"] or 0.0, "val_drop": row["drop"] or 0.0,
                   "mac_ratio": base["macs"] / row["macs"],
                   "chosen": row["name"] == table["chosen"], "honed_latency": row["latency_ms"]}
        for b in (1, 64):
            own, ref = samples[b][row["name"]], samples[b]["baseline"]
            figures[f"ms{b}"] = statistics.median(own)
            figures[f"x{b}"] = statistics.median(r / o for r, o in zip(ref, own, strict=True))
        rows.append(figures)
    return {"run": str(run_dir), "cpu": cpu_model(), "overrides": overrides,
            "threads": threads, "rounds": rounds,
            "compress_seconds": round(seconds, 1), "chosen": table["chosen"],
            "why": table.get("why"), "rows": rows}


def show(result: dict) -> None:
    print(f"{result['run']} on {result['cpu']}  ({result['rounds']} interleaved rounds, "
          f"{result['threads']} thread(s); compress took {result['compress_seconds']} s)")
    print(f"  {'variant':<28} {'acc':>6} {'drop':>7} {'MACs/':>6} {'ms@1':>6} {'ms@64':>6} "
          f"{'x@1':>5} {'x@64':>5}")
    for r in result["rows"]:
        print(f"  {r['name']:<28} {r['accuracy']:>6.4f} {r['drop']:>+7.4f} "
              f"{r['mac_ratio']:>6.2f} {r['ms1']:>6.3f} {r['ms64']:>6.3f} {r['x1']:>5.2f} "
              f"{r['x64']:>5.2f}{'  chosen' if r['chosen'] else ''}")
    print(f"  chosen: {result['chosen']}" + (f" ({result['why']})" if result["why"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--train", choices=["resnet"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.train:
        from honed.spec import spec_from_dict
        from honed.train.session import train_spec

        train_spec(spec_from_dict(RESNET), out_dir=args.run_dir, progress=False)
        return
    result = measure(args.run_dir, args.overrides, threads=args.threads, rounds=args.rounds)
    show(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

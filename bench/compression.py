"""Compression figures, each measured in one run with the same threads.

    python bench/compression.py [--figure mlp|cnn|distill|all] [--threads 1] [--json F]

- ``mlp``: an MLP on the MNIST subset goes through ``compress_run`` with dynamic int8; the
  table's ONNX Runtime latencies are set beside the eager PyTorch fp32 latency of the same model
  (export gain = eager / ORT fp32, quantization gain = ORT fp32 / ORT int8; target: int8 at
  least 3× faster than eager at batch 1, at most 1 point of accuracy lost).
- ``cnn``: a CNN (64, 128 channels) on digits (``--cnn-data mnist`` for the MNIST subset),
  structurally pruned in steps with fine-tuning, against the unpruned model fine-tuned for the
  same extra epochs (target: at least 2× faster in measured latency, at most 1 point lost),
  timed both eagerly and with ONNX Runtime.
- ``distill``: a small MLP student on MNIST-1D, distilled from a CNN teacher against the same
  student trained alone with the same settings, 5 seeds (target: +1.5 points, median).

Latencies are medians of many calls after warm-up, with the models timed in turn over several
rounds (median of round medians) so that load on a shared machine hits every model alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from honed.compress.measure import onnx_latency_ms, torch_latency_ms
from honed.io import atomic_write_json

BATCHES = (1, 64)


def _train_run(folder: Path, raw: dict) -> Path:
    from honed.spec import spec_from_dict
    from honed.train.session import train_spec

    train_spec(spec_from_dict(raw), out_dir=folder, progress=False)
    return folder


def _latencies(models: dict, input_shape, *, threads: int, rounds: int) -> dict:
    """``{name: {"batch1": ms, "batch64": ms}}``; a model is an nn.Module or an .onnx path."""
    samples = {name: {b: [] for b in BATCHES} for name in models}
    for _ in range(rounds):
        for batch in BATCHES:
            for name, model in models.items():
                if isinstance(model, Path):
                    ms = onnx_latency_ms(model, batch=batch, threads=threads,
                                         input_shape=input_shape)
                else:
                    ms = torch_latency_ms(model, input_shape, batch=batch, threads=threads)
                samples[name][batch].append(ms)
    return {name: {f"batch{b}": statistics.median(s[b]) for b in BATCHES}
            for name, s in samples.items()}


def figure_mlp(args, work: Path) -> dict:
    from honed.compress import compress_run
    from honed.models import load_model

    run = _train_run(work / "mlp", {
        "name": "mlp", "data": {"source": "builtin:mnist"},
        "model": {"family": "mlp", "depth": 2, "hidden": 256},
        "train": {"epochs": args.epochs, "batch_size": 128, "threads": args.threads,
                  "optimizer": {"name": "adamw", "lr": 1e-3}}})
    report = compress_run(run, {"quantize": {"mode": "dynamic"}, "max_accuracy_drop": 0.01,
                                "threads": args.threads})
    base = report.table["baseline"]
    model = load_model(run / "model")
    from honed.export.onnx import export_onnx

    fp32 = export_onnx(model, (1, 28, 28), work / "mlp-fp32.onnx").path
    lat = _latencies({"eager fp32": model, "ORT fp32": fp32,
                      "ORT int8": run / "compress" / "int8-dynamic" / "model.onnx"},
                     (1, 28, 28), threads=args.threads, rounds=args.rounds)
    int8 = report.row("int8-dynamic")
    out = {"accuracy_fp32": base["test"]["accuracy"], "accuracy_int8": int8["test"]["accuracy"],
           "drop_points": 100 * int8["test_drop"], "latency_ms": lat}  # on test, as the accuracies
    for batch in ("batch1", "batch64"):
        out[f"export_gain_{batch}"] = lat["eager fp32"][batch] / lat["ORT fp32"][batch]
        out[f"quant_gain_{batch}"] = lat["ORT fp32"][batch] / lat["ORT int8"][batch]
        out[f"int8_over_eager_{batch}"] = lat["eager fp32"][batch] / lat["ORT int8"][batch]
    print(f"MLP on MNIST ({args.threads} thread(s)): accuracy fp32 {out['accuracy_fp32']:.4f}, "
          f"int8 {out['accuracy_int8']:.4f} (drop {out['drop_points']:+.2f} points)")
    for batch in ("batch1", "batch64"):
        print(f"  {batch}: eager {lat['eager fp32'][batch]:.4f} ms, ORT fp32 "
              f"{lat['ORT fp32'][batch]:.4f} ms, ORT int8 {lat['ORT int8'][batch]:.4f} ms; "
              f"export gain {out[f'export_gain_{batch}']:.2f}x, quantization gain "
              f"{out[f'quant_gain_{batch}']:.2f}x, int8 over eager "
              f"{out[f'int8_over_eager_{batch}']:.2f}x")
    return out


def figure_cnn(args, work: Path) -> dict:
    from honed.compress.candidates import prune_candidate
    from honed.compress.plan import prepare_source
    from honed.compress.run import resolve_compress
    from honed.rundir import RunDir
    from honed.spec.schema import PruneSpec
    from honed.spec.validate import validate_point
    from honed.spec.yaml_io import read_yaml
    from honed.train.evaluate import evaluate_arrays

    run = _train_run(work / "cnn", {
        "name": "cnn", "data": {"source": f"builtin:{args.cnn_data}"},
        "model": {"family": "cnn", "channels": args.channels, "hidden": 128},
        "train": {"epochs": args.cnn_epochs, "batch_size": 64, "threads": args.threads,
                  "optimizer": {"name": "adamw", "lr": 3e-3},
                  "schedule": {"name": "cosine", "warmup_epochs": 1}}})
    steps, finetune = args.steps, args.finetune
    spec = resolve_compress(validate_point(read_yaml(RunDir(run).spec)),
                            {"prune": {"method": "structured"}, "threads": args.threads})
    source = prepare_source(RunDir(run), spec)
    # the unpruned model gets the same extra epochs as the pruned one's fine-tuning
    base = prune_candidate(source, PruneSpec(method="magnitude", amount=0.0,
                                             finetune_epochs=steps * finetune), name="base")
    pruned = prune_candidate(source, PruneSpec(method="structured", amount=args.amount,
                                               scope=args.scope, steps=steps,
                                               finetune_epochs=finetune))
    from honed.export.onnx import export_onnx

    models = {"base eager": base.module, "pruned eager": pruned.module,
              "base ORT": export_onnx(base.module, source.input_shape, work / "b.onnx").path,
              "pruned ORT": export_onnx(pruned.module, source.input_shape, work / "p.onnx").path}
    lat = _latencies(models, source.input_shape, threads=args.threads, rounds=args.rounds)
    data = source.data
    acc = {name: evaluate_arrays(c.module, data.test.x, data.test.y,
                                 task="classification")["accuracy"]
           for name, c in (("base", base), ("pruned", pruned))}
    params = {name: sum(p.numel() for p in c.module.parameters())
              for name, c in (("base", base), ("pruned", pruned))}
    out = {"accuracy": acc, "drop_points": 100 * (acc["base"] - acc["pruned"]),
           "parameters": params, "amount": args.amount, "extra_epochs": steps * finetune,
           "latency_ms": lat}
    print(f"CNN {args.channels} on {args.cnn_data} ({args.threads} thread(s)), channels removed "
          f"{args.amount:.0%} "
          f"({args.scope}) in {steps} steps, {steps * finetune} extra epochs each: accuracy base "
          f"{acc['base']:.4f}, pruned {acc['pruned']:.4f} (drop {out['drop_points']:+.2f} "
          f"points); parameters {params['base']:,} -> {params['pruned']:,}")
    for batch in ("batch1", "batch64"):
        for runtime in ("eager", "ORT"):
            gain = lat[f"base {runtime}"][batch] / lat[f"pruned {runtime}"][batch]
            out[f"speedup_{runtime}_{batch}"] = gain
            print(f"  {batch} {runtime}: base {lat[f'base {runtime}'][batch]:.4f} ms, pruned "
                  f"{lat[f'pruned {runtime}'][batch]:.4f} ms, {gain:.2f}x faster")
    return out


def figure_distill(args, work: Path) -> dict:
    from honed.compress.distill import distill
    from honed.data import prepare_data
    from honed.models import create_model
    from honed.spec.schema import DataSpec
    from honed.train import fit
    from honed.train.evaluate import evaluate_arrays

    data = prepare_data(DataSpec(source="builtin:mnist1d"), seed=0)
    torch.manual_seed(0)
    teacher = create_model("cnn", input_shape=data.input_shape, num_outputs=10,
                           channels=[32, 64], hidden=128)
    settings = {"optimizer": {"name": "adamw", "lr": 3e-3, "weight_decay": 0.01},
                "schedule": {"name": "cosine"}}
    fit(teacher, data, epochs=30, **settings)

    def accuracy(model):
        return evaluate_arrays(model, data.test.x, data.test.y,
                               task="classification")["accuracy"]

    alone, distilled = [], []
    for seed in range(args.seeds):
        for scores, teach in ((alone, False), (distilled, True)):
            torch.manual_seed(seed)
            student = create_model("mlp", input_shape=data.input_shape, num_outputs=10,
                                   hidden=args.student_hidden)
            if teach:
                distill(teacher, student, data, temperature=args.temperature, alpha=args.alpha,
                        seed=seed, epochs=args.student_epochs, **settings)
            else:
                fit(student, data, seed=seed, epochs=args.student_epochs, **settings)
            scores.append(accuracy(student))
    gains = [100 * (d - a) for a, d in zip(alone, distilled, strict=True)]
    out = {"teacher": accuracy(teacher), "alone": alone, "distilled": distilled,
           "median_alone": statistics.median(alone),
           "median_distilled": statistics.median(distilled),
           "median_gain_points": statistics.median(gains),
           "gain_of_medians_points": 100 * (statistics.median(distilled)
                                            - statistics.median(alone)),
           "student_hidden": args.student_hidden, "temperature": args.temperature,
           "alpha": args.alpha, "epochs": args.student_epochs}
    print(f"distillation on MNIST-1D: teacher CNN {out['teacher']:.4f}; MLP student "
          f"(hidden {args.student_hidden}, T={args.temperature}, alpha={args.alpha}, "
          f"{args.student_epochs} epochs), {args.seeds} seeds: alone median "
          f"{out['median_alone']:.4f}, distilled median {out['median_distilled']:.4f}: gain "
          f"of the medians {out['gain_of_medians_points']:+.2f} points (target >= 1.5), "
          f"median of the per-seed gains {out['median_gain_points']:+.2f} points")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", choices=["mlp", "cnn", "distill", "all"], default="all")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8, help="mlp: training epochs")
    parser.add_argument("--cnn-epochs", type=int, default=30, help="cnn: training epochs")
    parser.add_argument("--cnn-data", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--channels", type=lambda text: [int(c) for c in text.split(",")],
                        default=[64, 128], help="cnn: channels per block, e.g. 64,128")
    parser.add_argument("--amount", type=float, default=0.5, help="cnn: channels removed")
    parser.add_argument("--scope", choices=["layer", "global"], default="layer")
    parser.add_argument("--steps", type=int, default=2, help="cnn: pruning rounds")
    parser.add_argument("--finetune", type=int, default=5, help="cnn: epochs after each round")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--student-hidden", type=int, default=64)
    parser.add_argument("--student-epochs", type=int, default=60)
    parser.add_argument("--temperature", type=float, default=3.0)
    parser.add_argument("--alpha", type=float, default=0.8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    figures = ["mlp", "cnn", "distill"] if args.figure == "all" else [args.figure]
    results = {}
    with tempfile.TemporaryDirectory(prefix="honed-bench-") as folder:
        for name in figures:
            began = time.perf_counter()
            results[name] = globals()[f"figure_{name}"](args, Path(folder))
            results[name]["seconds"] = round(time.perf_counter() - began, 1)
    if args.json:
        atomic_write_json(args.json, json.loads(json.dumps(results, default=str)))


if __name__ == "__main__":
    main()

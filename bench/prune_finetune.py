"""Structured pruning of a finished run under the fine-tuning budget and the budget rule on val.

    python bench/prune_finetune.py RUN_DIR [--amount 0.5] [--seeds 3] [--shares 0.4,1.0]
                                   [--rules strict,1se] [--budget 0.01] [--json F]

For each share of the run's epochs given to fine-tuning (0.4 was the old default, 1.0 the new
one), each rule of reading the budget on val (``strict``: drop <= budget; ``1se``: drop minus
one standard error of the paired drop <= budget, honed.compress.budget) and each fine-tuning
seed (the data split is the run's), this calls ``prune_candidate`` as ``honed compress`` does
(2 rounds, per-layer, widths multiples of 16, distillation from the unpruned model, the best
epoch kept) and prints the share reached, each round's val accuracy, drop and standard error,
and the test accuracy of the model kept. Accuracy only: nothing is timed.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path


def run(run_dir: Path, *, amount: float, seeds: int, shares: list[float], rules: list[str],
        budget: float) -> list[dict]:
    import honed.compress.budget as budget_module
    from honed.compress.candidates import prune_candidate
    from honed.compress.plan import prepare_source
    from honed.compress.run import resolve_compress
    from honed.rundir import RunDir
    from honed.spec.schema import PruneSpec
    from honed.spec.validate import validate_point
    from honed.spec.yaml_io import read_yaml
    from honed.train.evaluate import evaluate_arrays

    rundir = RunDir(run_dir)
    spec = resolve_compress(validate_point(read_yaml(rundir.spec)),
                            {"max_accuracy_drop": budget, "prune": {"amount": amount}})
    source = prepare_source(rundir, spec)
    data = source.data

    def test(model) -> float:
        return float(evaluate_arrays(model, data.test.x, data.test.y, task=data.task)["accuracy"])

    base_test = test(source.model)
    print(f"{run_dir}: val {len(data.val)} rows, test {len(data.test)}; baseline test "
          f"{base_test:.4f}; {spec.train.epochs} epochs", flush=True)
    out = []
    original_seed, epochs = spec.seed, spec.train.epochs
    for share in shares:
        per_round = max(1, math.ceil(epochs * share / 2))
        for rule in rules:
            budget_module.STANDARD_ERRORS = 0.0 if rule == "strict" else 1.0
            for seed in range(original_seed, original_seed + seeds):
                source.spec = spec.model_copy(update={"seed": seed})
                began = time.perf_counter()
                candidate = prune_candidate(source, PruneSpec(
                    method="structured", amount=amount, steps=2, finetune_epochs=per_round))
                row = {"share": share, "rule": rule, "seed": seed, "epochs_per_round": per_round,
                       "reached": candidate.settings["reached"],
                       "rounds": candidate.settings["rounds"],
                       "test": test(candidate.module), "base_test": base_test,
                       "seconds": round(time.perf_counter() - began, 1)}
                out.append(row)
                rounds = "; ".join(f"{r['amount']:.0%}: val {r['val']:.4f} drop "
                                   f"{r['drop']:+.4f}±{r['se']:.4f}"
                                   f"{'' if r['within_budget'] else ' OUT'}"
                                   for r in row["rounds"])
                print(f"  share {share:g} ({per_round}/round) {rule:<6} seed {seed}: reached "
                      f"{row['reached']:.0%}, test {row['test']:.4f} "
                      f"(drop {100 * (base_test - row['test']):+.2f} pt) [{rounds}] "
                      f"{row['seconds']} s", flush=True)
    source.spec = spec
    budget_module.STANDARD_ERRORS = 1.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--amount", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shares", default="0.4,1.0")
    parser.add_argument("--rules", default="strict,1se")
    parser.add_argument("--budget", type=float, default=0.01)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = run(args.run_dir, amount=args.amount, seeds=args.seeds,
               shares=[float(s) for s in args.shares.split(",")],
               rules=args.rules.split(","), budget=args.budget)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

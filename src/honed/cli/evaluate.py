"""``honed evaluate RUN_DIR [--split test]``"""

from __future__ import annotations

import argparse
import json

from honed.cli.common import console, metrics_table


def add_parser(commands) -> None:
    parser = commands.add_parser("evaluate", help="score a run's model on one of its splits")
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.train.run_eval import evaluate_run

    metrics = evaluate_run(args.run_dir, split=args.split)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    console.print(metrics_table({args.split: metrics}, title=f"{args.run_dir}"))
    if "confusion_matrix" in metrics:
        console.print("confusion matrix (rows: true class, columns: predicted):")
        for row in metrics["confusion_matrix"]:
            console.print("  " + " ".join(f"{v:4d}" for v in row))
    return 0

"""``honed compress RUN_DIR [KEY=VALUE ...] [--threads N] [--json]``"""

from __future__ import annotations

import argparse
import json

from honed.cli.common import console, err_console


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "compress", help="prune, distill and quantize a run's model; measure every variant",
        description="Build the variants the compress section asks for (of the run's spec, "
        "changed by KEY=VALUE overrides inside it, e.g. prune.method=structured "
        "prune.amount=0.5 quantize.mode=dynamic max_accuracy_drop=0.01), measure each with "
        "ONNX Runtime and write RUN_DIR/compress/.")
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("overrides", metavar="KEY=VALUE", nargs="*",
                        help="settings inside the compress section, e.g. prune.amount=0.3")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="threads for every latency measurement (compress.threads)")
    parser.add_argument("--exporter", default="auto", choices=["auto", "dynamo", "torchscript"],
                        help="ONNX exporter for latency and int8 models (default: auto)")
    parser.add_argument("--json", action="store_true", help="print compress.json")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.compress.run import compress_run
    from honed.compress.view import print_table
    from honed.errors import UserInputError

    overrides = list(args.overrides)
    if args.threads is not None:
        if args.threads < 1:
            raise UserInputError(f"--threads must be at least 1; got {args.threads}")
        overrides.append(f"threads={args.threads}")
    note = (lambda text: None) if args.quiet else (
        lambda text: err_console.print(f"[dim]{text}[/]"))
    report = compress_run(args.run_dir, overrides=overrides, exporter=args.exporter, note=note)
    if args.json:
        print(json.dumps(report.table, indent=2))
        return 0
    print_table(report.table, console)
    chosen = report.chosen
    console.print(f"chosen: {chosen}" if chosen else
                  f"chosen: none ({report.table.get('why') or 'no variant is faster'})")
    console.print(f"written: {report.folder}")
    return 0

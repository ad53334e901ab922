"""``honed export RUN_DIR [--variant NAME] [--format onnx|triton]``"""

from __future__ import annotations

import argparse
import json

from honed.cli.common import console


def add_parser(commands) -> None:
    parser = commands.add_parser("export", help="write a verified ONNX bundle of a run's model")
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--variant", metavar="NAME",
                        help="a compression variant in RUN_DIR/compress (default: the model)")
    parser.add_argument("--format", choices=["onnx", "triton"], default=None,
                        help="triton also writes a Triton model repository (default: the "
                        "spec's export.format, else onnx)")
    parser.add_argument("--opset", type=int, help="ONNX opset (default: the exporter's)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from honed.export.bundle import export_bundle
    from honed.rundir import RunDir

    fmt = args.format or _spec_format(RunDir(args.run_dir))
    folder = export_bundle(args.run_dir, variant=args.variant,
                           formats=("onnx", "triton") if fmt == "triton" else ("onnx",),
                           opset=args.opset)
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    check = card["verification"]
    if check["method"] == "parity":
        parity = f"max |onnx - eager| {max(check['max_abs_diff'].values()):.2g}"
    elif "class_agreement" in check:
        parity = f"class agreement {check['class_agreement']:.1%} with the base model"
    else:
        parity = f"max |onnx - base| {max(check['max_abs_diff'].values()):.2g}"
    made = (f"copied from {card['copied_from']}" if card["exporter"] == "compress"
            else f"{card['exporter']} exporter")
    # a line of its own, not the table's title: a title wraps at the table's width and would
    # break a long path in two
    console.print(f"{folder} ({card['variant']}, {made}, opset {card['opset']})",
                  soft_wrap=True, highlight=False)
    table = Table()
    for column in ("file", "size", "sha256"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for name, digest in card["files"].items():
        table.add_row(name, _size((folder / name).stat().st_size), digest[:12])
    table.add_row("card.json", _size((folder / "card.json").stat().st_size), "")
    console.print(table)
    console.print(f"verified: onnx.checker passed; batches {check['batches']}; {parity}")
    for note in card.get("notes") or []:
        console.print(f"note: {note}")
    return 0


def _spec_format(run) -> str:
    """The run's ``export.format``; onnx when the spec has none (or cannot be read yet)."""
    from honed.spec.yaml_io import read_yaml

    try:
        spec = read_yaml(run.spec)
    except Exception:  # export_bundle reports an unreadable run dir with its own message
        return "onnx"
    export = spec.get("export") if isinstance(spec, dict) else None
    return (export or {}).get("format") or "onnx"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"

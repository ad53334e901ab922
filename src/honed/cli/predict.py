"""``honed predict BUNDLE INPUT [--out FILE]``"""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "predict", help="predict a file (CSV, Parquet, .npz, image or .txt folder) with a bundle")
    parser.add_argument("bundle", metavar="BUNDLE",
                        help="bundle folder (e.g. runs/NAME/bundle), or a run dir holding one")
    parser.add_argument("input", metavar="INPUT",
                        help="CSV (or .csv.gz, .csv.bz2, .csv.xz) or Parquet table, .npz "
                        "(array x), or a folder of images; for a text model, a table of its "
                        "text columns, a .txt file or a folder of them (one file, one text)")
    parser.add_argument("--out", metavar="FILE",
                        help="write .csv or .json here (default: CSV on standard output)")
    parser.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.cli.common import err_console
    from honed.errors import UserInputError
    from honed.serve.predict import predict_file

    if args.threads is not None and args.threads < 1:
        raise UserInputError(f"--threads must be at least 1; got {args.threads}")
    rows = predict_file(args.bundle, args.input, args.out, progress=not args.quiet,
                        threads=args.threads)
    cut = sum(1 for row in rows if row.get("truncated"))
    if cut:
        err_console.print(f"{cut} of {len(rows)} texts were longer than the model's max_length "
                          "tokens and were cut (column 'truncated')", markup=False)
    if args.out:
        err_console.print(f"{len(rows)} predictions written to {args.out}")
    return 0

"""``honed report RUN_DIR [--out FILE]``: write the run's self-contained HTML report."""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "report", help="write RUN_DIR/report.html: curves, search, classes, compression, export",
        description="Write one self-contained HTML page (plotly inlined, opens offline) with "
        "the run summary, the doctor's findings, learning curves, the study, the confusion "
        "matrix or predictions, compression and export. Sections the run dir cannot fill say "
        "what is missing.")
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--out", metavar="FILE", help="where to write (default RUN_DIR/report.html)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.report.html import write_report

    path = write_report(args.run_dir, out=args.out)
    print(f"report: {path}")  # plain print: a long path must stay on one line
    return 0

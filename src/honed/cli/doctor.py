"""``honed doctor RUN_DIR [--json]``: diagnose a run from its history and probes."""

from __future__ import annotations

import argparse
import json


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "doctor", help="diagnose training pathologies and name the spec keys to change",
        description="Read a run dir's history, probes (gradient norms, dead units, update "
        "ratios), metrics and study; print each finding with its evidence and spec changes.")
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.report.doctor import diagnose, format_diagnosis

    diagnosis = diagnose(args.run_dir)
    if args.json:
        print(json.dumps(diagnosis.as_dict(), indent=2))
    else:
        print(format_diagnosis(diagnosis))
    return 0

"""``honed explain RUN_DIR [INPUT] [--method M] [--out DIR] [--json]``"""

from __future__ import annotations

import argparse
import json
from typing import get_args

from honed.spec.schema import ExplainSpec

#: the spec's own choices (auto first), without importing torch to build the parser
METHODS = get_args(ExplainSpec.model_fields["method"].annotation)

#: importances printed on the terminal (the rest are in importance.json and the page)
_SHOWN = 15


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "explain", help="which inputs drive a run's model: globally, or per row of a file")
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("input", metavar="INPUT", nargs="?",
                        help="CSV or Parquet table, .npz (array x), a folder of images, or for "
                        "text a .txt file, a folder of .txt files or a CSV with the text "
                        "column, to explain row by row (default: global importance on the "
                        "test split)")
    parser.add_argument("--method", choices=METHODS,
                        help="attribution method (default: the spec's explain.method, auto)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/explain)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from honed.cli.common import console, err_console
    from honed.errors import UserInputError
    from honed.explain import explain_run

    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise UserInputError(f"--out {args.out} is a file; give a folder")
    say = None if args.quiet or args.json else (lambda text: err_console.print(text))
    result = explain_run(args.run_dir, args.input, method=args.method, out=args.out,
                         progress=say)
    if args.json:
        print(json.dumps(result.summary, indent=1))
        return 0
    summary = result.summary
    if "importance" in summary:
        _print_global(console, summary)
    else:
        console.print(f"{summary['inputs']} inputs explained with {summary['method']}")
        console.print(f"baseline: {summary['baseline']}")
    for path in result.files:
        console.print(f"wrote {path}")
    return 0


def _print_global(console, summary: dict) -> None:
    """The ranked importances and the sanity checks, in 80 columns."""
    importance = summary["importance"]
    text = "how" in importance  # each token deleted once, an interval over the texts
    done = ("deleted or shuffled" if "columns" in importance else
            "deleted" if text else "shuffled")
    console.print(f"importance: test {importance['metric']} drop when {done} "
                  f"(base {importance['baseline']:.4g}, {importance['rows']} rows)")
    console.print("95% interval " + ("over the texts" if text else
                                     f"over the {importance.get('interval', 'repeats')} "
                                     f"({importance['repeats']} repeats)"), highlight=False)
    header = "token or column" if "columns" in importance else "token" if text else "input"
    console.print(f"  {header:<36} {'mean':>8} 95% interval", highlight=False)
    for item in importance["importances"][:_SHOWN]:
        span = ("" if item["low"] is None else
                f"[{item['low']:+.3f}, {item['high']:+.3f}]")
        console.print(f"  {item.get('label', item['name'])[:36]:<36} {item['mean']:+8.4f} {span}",
                      highlight=False, markup=False)
    rest = len(importance["importances"]) - _SHOWN
    if rest > 0:
        console.print(f"  ... {rest} more in importance.json")
    random, complete = summary["sanity"]["randomization"], summary["sanity"]["completeness"]
    console.print(f"sanity: randomized weights rank correlation {random['rank_correlation']:.3f}"
                  f" (self-agreement {random['self_agreement']:.3f}): "
                  f"{'ok' if random['passed'] else 'FAILED'}", highlight=False)
    if not complete.get("applies", True):  # gradient-free only (text beside columns)
        return
    console.print(f"sanity: integrated gradients completeness error "
                  f"{complete['max_relative_error']:.3f} (tolerance {complete['tolerance']}): "
                  f"{'ok' if complete['passed'] else 'FAILED'}", highlight=False)

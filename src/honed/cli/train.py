"""``honed train SPEC [KEY=VALUE ...] [--out DIR] [--resume]``"""

from __future__ import annotations

import argparse

from honed.cli.common import (
    add_spec_arguments,
    console,
    default_out,
    err_console,
    load_template,
    metrics_table,
    print_baselines,
    sigterm_interrupts,
)


def add_parser(commands) -> None:
    parser = commands.add_parser("train", help="train one model from a spec into a run dir",
                                 description="Train the spec (at its default point if it holds "
                                 "search dimensions) into a run directory.")
    add_spec_arguments(parser)
    parser.add_argument("--out", metavar="DIR", help="run directory (default runs/NAME)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.train.session import train_spec

    template = load_template(args)
    out = default_out(args, template.default.name)
    dims = template.dimensions
    if dims:
        point = ", ".join(f"{d.name}={d.default_value()!r}" for d in dims)
        err_console.print(f"[yellow]note:[/] the spec holds {len(dims)} search dimension(s); "
                          f"training at the default point: {point}. Fix them with KEY=VALUE "
                          "overrides.")
    sigterm_interrupts()  # saves the last finished epoch, as Ctrl-C does
    outcome = train_spec(template, out_dir=out, resume=args.resume, progress=not args.quiet)
    metrics = outcome.metrics
    console.print(metrics_table(metrics, title=f"{template.default.name}: final metrics"))
    console.print(f"{metrics['params']:,} parameters, {metrics['epochs_run']} epochs "
                  f"({metrics['stop_reason']}), best epoch {metrics['best_epoch']}, "
                  f"{metrics['seconds']:.1f}s")
    print_baselines(metrics)
    console.print(f"run dir: {outcome.run_dir.root}")
    _skipped_summary(outcome.run_dir.model / "preprocess.json")
    _doctor_summary(outcome.run_dir.root)
    return 0


def _skipped_summary(path) -> None:
    """The image files ``data.skip_bad`` left out, counted."""
    import json

    from rich.markup import escape

    from honed.data.images import skipped_line

    line = skipped_line(json.loads(path.read_text())) if path.is_file() else None
    if line:
        err_console.print(f"[yellow]note:[/] {escape(line)}")


def _doctor_summary(run_dir) -> None:
    """The doctor's verdicts, one line each (``honed doctor RUN_DIR`` gives the evidence)."""
    from honed.report.doctor import diagnose, summary_lines

    for line in summary_lines(diagnose(run_dir)):
        console.print(line, markup=False)

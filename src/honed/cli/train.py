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
from honed.errors import UserInputError


def add_parser(commands) -> None:
    parser = commands.add_parser("train", help="train one model from a spec into a run dir",
                                 description="Train the spec (at its default point if it holds "
                                 "search dimensions) into a run directory.")
    add_spec_arguments(parser)
    parser.add_argument("--out", metavar="DIR", help="run directory (default runs/NAME)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.add_argument("--nproc", type=int, metavar="N",
                        help="train with DistributedDataParallel over N processes on this "
                        "machine (one per GPU on CUDA); under torchrun, leave it out")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.train.distributed import torchrun_env
    from honed.train.launch import run_rank, train_distributed
    from honed.train.session import resolve_spec, train_spec

    template = load_template(args)
    out = default_out(args, template.default.name)
    ranks = torchrun_env()
    if ranks is not None and args.nproc not in (None, ranks[1]):
        raise UserInputError(f"--nproc {args.nproc} under torchrun, which started "
                             f"{ranks[1]} processes; leave --nproc out")
    rank = ranks[0] if ranks else 0
    dims = template.dimensions
    if dims and rank == 0:
        point = ", ".join(f"{d.name}={d.default_value()!r}" for d in dims)
        err_console.print(f"[yellow]note:[/] the spec holds {len(dims)} search dimension(s); "
                          f"training at the default point: {point}. Fix them with KEY=VALUE "
                          "overrides.")
    sigterm_interrupts()  # saves the last finished epoch, as Ctrl-C does
    options = {"out_dir": out, "resume": args.resume, "progress": not args.quiet}
    if ranks is not None and ranks[1] > 1:  # torchrun started us: one rank of the group
        code, outcome = run_rank(train_spec, resolve_spec(template), rank=rank,
                                 world_size=ranks[1], local_rank=ranks[2], **options)
        if code or rank:
            return code
    elif args.nproc is not None:
        outcome = train_distributed(template, nproc=args.nproc, **options)
    else:
        outcome = train_spec(template, **options)
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

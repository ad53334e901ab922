"""``honed lr-find SPEC [KEY=VALUE ...]``: the learning-rate range test."""

from __future__ import annotations

import argparse

from honed.cli.common import add_spec_arguments, console, default_out, load_template
from honed.cli.textplot import line_plot


def add_parser(commands) -> None:
    parser = commands.add_parser("lr-find", help="learning-rate range test",
                                 description="Sweep the learning rate exponentially over a short "
                                 "run; print the loss curve and a suggested value; save "
                                 "DIR/lr_find.json.")
    add_spec_arguments(parser)
    parser.add_argument("--out", metavar="DIR", help="run directory (default runs/NAME)")
    parser.add_argument("--steps", type=int, default=100, help="number of steps (default 100)")
    parser.add_argument("--start-lr", type=float, default=1e-7)
    parser.add_argument("--end-lr", type=float, default=10.0)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.errors import UserInputError
    from honed.io import atomic_write_json
    from honed.rundir import RunDir
    from honed.train.lr_find import lr_find
    from honed.train.session import preflight

    if args.steps < 10:
        raise UserInputError(f"--steps must be at least 10; got {args.steps}")
    if not 0 < args.start_lr < args.end_lr:
        raise UserInputError(f"need 0 < --start-lr < --end-lr; got {args.start_lr}, "
                             f"{args.end_lr}")
    template = load_template(args)
    spec = template.default
    data, model = preflight(spec, base_dir=template.base_dir)
    try:
        result = lr_find(model, data, spec.train, start_lr=args.start_lr, end_lr=args.end_lr,
                         steps=args.steps, seed=spec.seed)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    run_dir = RunDir(default_out(args, spec.name))
    atomic_write_json(run_dir.lr_find, result.to_dict())
    console.print(line_plot(result.lrs, result.smoothed, log_x=True,
                            title="smoothed loss vs learning rate",
                            marks={"suggested": result.suggested_lr}))
    low, high = result.search_range
    console.print(f"suggested lr: {result.suggested_lr:.3g} (steepest descent); lowest loss at "
                  f"{result.min_loss_lr:.3g}; diverges at "
                  f"{'—' if result.diverged_at is None else f'{result.diverged_at:.3g}'}")
    console.print(f"search range: train.optimizer.lr={{float: [{low:.2g}, {high:.2g}], "
                  f"log: true}}")
    console.print(f"saved {run_dir.lr_find}")
    return 0

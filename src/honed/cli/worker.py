"""``honed worker SPEC --storage URL``: join a running study from any machine."""

from __future__ import annotations

import argparse
import time

from honed.cli.common import add_spec_arguments, default_out, err_console


def add_parser(commands) -> None:
    parser = commands.add_parser("worker", help="join a running study from any machine",
                                 description="Take trials of the study that honed tune started "
                                 "in --storage until it holds enough of them.")
    add_spec_arguments(parser)
    parser.add_argument("--storage", metavar="URL", required=True)
    parser.add_argument("--out", metavar="DIR",
                        help="where this worker writes its trials' folders (default runs/NAME)")
    parser.add_argument("--trials", type=int, help="stop when the study holds this many trials")
    parser.add_argument("--threads", type=int, help="torch threads for this worker")
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--base-dir", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from honed.search.study import load_study
    from honed.search.tune import prepare_study
    from honed.search.worker import work

    template = load_template_for_worker(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    setup = prepare_study(template, out_dir=default_out(args, template.default.name),
                          storage=args.storage, trials=args.trials)
    study = load_study(setup.url, setup.name, sampler=setup.sampler(args.index),
                       pruner=setup.pruner())
    deadline = args.deadline
    if deadline is None and setup.search.timeout:
        deadline = time.time() + setup.search.timeout
    ran = work(study, setup.objective(), trials=setup.search.trials, deadline=deadline)
    err_console.print(f"worker {args.index}: ran {ran} trial(s)")
    return 0


def load_template_for_worker(args: argparse.Namespace):
    """The spec, with relative data paths read from --base-dir when the coordinator gives it."""
    from honed.cli.common import load_template

    template = load_template(args)
    if args.base_dir:
        import dataclasses
        from pathlib import Path

        template = dataclasses.replace(template, base_dir=Path(args.base_dir))
    return template

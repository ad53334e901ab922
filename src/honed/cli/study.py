"""``honed study show RUN_DIR [--top N]`` (or ``--storage URL --name NAME``)."""

from __future__ import annotations

import argparse

from honed.cli.common import console


def add_parser(commands) -> None:
    parser = commands.add_parser("study", help="inspect a study: best trials, importances, "
                                 "Pareto front")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    show = actions.add_parser("show", help="print the best trials, parameter importances and "
                              "the Pareto front",
                              description="Print a study's best trials, parameter importances "
                              "(PED-ANOVA, from 3 complete trials) and, with several objectives, "
                              "the Pareto front; the trial honed run refits is marked ▶.")
    show.add_argument("run_dir", metavar="RUN_DIR", nargs="?",
                      help="run dir of honed tune or honed run (reads RUN_DIR/study/study.db)")
    show.add_argument("--top", type=int, default=10, help="best trials to list (default 10)")
    show.add_argument("--storage", metavar="URL", help="read the study from this storage")
    show.add_argument("--name", help="study name (needed when the storage holds several)")
    show.set_defaults(handler=run_show)


def run_show(args: argparse.Namespace) -> int:
    from honed.errors import UserInputError
    from honed.search.show import open_run_study, show_study

    if args.top < 1:
        raise UserInputError(f"--top must be at least 1; got {args.top}")
    study = open_run_study(args.run_dir, storage=args.storage, name=args.name)
    show_study(study, console=console, top=args.top)
    return 0

"""``honed tune SPEC [KEY=VALUE ...] [--out DIR] [--workers N] [--storage URL] [--trials N]
[--timeout DURATION]``"""

from __future__ import annotations

import argparse

from honed.cli.common import (
    add_search_arguments,
    add_spec_arguments,
    console,
    default_out,
    err_console,
    load_template,
    search_options,
)


def add_parser(commands) -> None:
    parser = commands.add_parser("tune", help="search the spec's dimensions with Optuna",
                                 description="Run (or continue) an Optuna study over the spec's "
                                 "search dimensions; every trial is one honed fit.")
    add_spec_arguments(parser)
    add_search_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.search.show import show_study
    from honed.search.tune import tune

    template = load_template(args)
    outcome = tune(template, out_dir=default_out(args, template.default.name),
                   **search_options(args),
                   note=lambda text: err_console.print(text, markup=False))
    show_study(outcome.study, console=console, top=5)
    console.print(f"study: {outcome.run_dir.root / 'study'}")
    return 0

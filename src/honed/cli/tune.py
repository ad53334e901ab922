"""``honed tune SPEC [KEY=VALUE ...] [--out DIR] [--workers N] [--storage URL] [--trials N]
[--timeout DURATION]``"""

from __future__ import annotations

import argparse

from honed.cli.common import add_spec_arguments, console, default_out, load_template


def add_parser(commands) -> None:
    parser = commands.add_parser("tune", help="search the spec's dimensions with Optuna",
                                 description="Run (or continue) an Optuna study over the spec's "
                                 "search dimensions; every trial is one honed fit.")
    add_spec_arguments(parser)
    parser.add_argument("--out", metavar="DIR", help="run directory (default runs/NAME)")
    parser.add_argument("--workers", type=int, help="worker processes on this machine")
    parser.add_argument("--storage", metavar="URL",
                        help="study storage (default: SQLite in DIR/study/study.db)")
    parser.add_argument("--trials", type=int, help="number of trials (search.trials)")
    parser.add_argument("--timeout", metavar="DURATION", help="e.g. 90s, 5m, 2h")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.search.show import show_study
    from honed.search.tune import tune

    template = load_template(args)
    outcome = tune(template, out_dir=default_out(args, template.default.name),
                   storage=args.storage, trials=_positive(args.trials, "--trials"),
                   timeout=_duration(args.timeout), workers=_positive(args.workers, "--workers"),
                   progress=not args.quiet)
    show_study(outcome.study, console=console, top=5)
    console.print(f"study: {outcome.run_dir.root / 'study'}")
    return 0


def _positive(value: int | None, flag: str) -> int | None:
    if value is not None and value < 1:
        from honed.errors import UserInputError

        raise UserInputError(f"{flag} must be at least 1; got {value}")
    return value


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    from honed.errors import UserInputError
    from honed.spec.duration import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UserInputError(f"--timeout: {exc}") from None
    if seconds <= 0:
        raise UserInputError(f"--timeout must be positive; got {text}")
    return seconds

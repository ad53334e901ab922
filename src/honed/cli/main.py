"""``honed`` command line: parse arguments, dispatch to one module per command.

Exit codes (docs/command-line.md): 0 done; 2 bad input, one line naming what is wrong,
nothing written; 130 interrupted, state saved so the same command resumes; 1 anything else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from honed import __version__
from honed.cli import (
    compress,
    dashboard,
    doctor,
    evaluate,
    explain,
    export,
    listing,
    lr_find,
    predict,
    report,
    run,
    serve,
    study,
    train,
    tune,
    validate,
    worker,
)

__all__ = ["main", "build_parser"]

COMMANDS = (run, train, tune, worker, study, validate, evaluate, compress, export, lr_find,
            predict, serve, report, doctor, dashboard, listing, explain)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line and exits with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="honed", description="From a dataset and a model family to the "
                           "best regularized, compressed, deployable PyTorch model.")
    parser.add_argument("--version", action="version", version=f"honed {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    commands.required = True
    for module in COMMANDS:
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``honed`` console script; returns the exit code."""
    from honed.errors import HonedError, UserInputError
    from honed.interrupts import handling_interrupts

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # overrides may follow options (`honed train s.yaml --quiet train.epochs=3`), which plain
    # argparse cannot tell from a stray argument
    stray = [item for item in extra if item.startswith("-") or "=" not in item]
    if stray or (extra and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(stray or extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    try:
        with handling_interrupts():
            return int(args.handler(args) or 0)
    except UserInputError as exc:
        print(f"honed {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = _ON_INTERRUPT.get(args.command, "the last finished epoch is saved, run the same "
                                 "command with --resume to continue")
        print(f"\nhoned {args.command}: interrupted; {hint}", file=sys.stderr)
        return 130
    except HonedError as exc:
        print(f"honed {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader went away (`honed doctor RUN | head`): not an error of ours. Point stdout
        # at devnull so that Python's flush at exit does not raise a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


#: what an interrupted command kept, and how to go on, where that is not --resume
_ON_INTERRUPT = {
    "tune": "finished trials are kept and interrupted ones queued again; run the same command "
            "to continue the study",
    "worker": "its trial in progress is queued again for the study's workers",
}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

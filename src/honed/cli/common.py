"""Argument helpers and output shared by the commands."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from honed.interrupts import interrupt_on

__all__ = ["add_spec_arguments", "add_search_arguments", "search_options", "load_template",
           "default_out", "metrics_table", "print_baselines", "sigterm_interrupts", "console",
           "err_console"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def sigterm_interrupts() -> None:
    """SIGTERM (a scheduler pre-empting, ``kill``, a coordinator stopping) acts like Ctrl-C, once.

    The command then saves what it must before leaving (``honed train`` its last finished
    epoch, a worker its trial in progress); further signals are ignored so that nothing cuts
    that short.
    """
    interrupt_on(signal.SIGTERM, once=True)


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="YAML spec file")
    parser.add_argument("overrides", metavar="KEY=VALUE", nargs="*",
                        help="dotted overrides, e.g. train.epochs=5 model.dropout=0.2")
    parser.add_argument("--allow-import", action="store_true",
                        help="let model.family name 'package.module:function', which imports "
                        "and runs that module (or set HONED_ALLOW_IMPORT=1, or =MODULE,...)")


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``honed tune`` and ``honed run`` share."""
    parser.add_argument("--out", metavar="DIR", help="run directory (default runs/NAME)")
    parser.add_argument("--workers", type=int, help="worker processes on this machine")
    parser.add_argument("--storage", metavar="URL",
                        help="study storage (default: SQLite in DIR/study/study.db)")
    parser.add_argument("--trials", type=int, help="number of trials (search.trials)")
    parser.add_argument("--timeout", metavar="DURATION", help="e.g. 90s, 5m, 2h")
    parser.add_argument("--quiet", action="store_true", help="no progress display")


def search_options(args: argparse.Namespace) -> dict[str, Any]:
    """Checked keyword arguments for ``tune``/``run`` from :func:`add_search_arguments`."""
    from honed.errors import UserInputError
    from honed.spec.duration import parse_duration

    for flag in ("trials", "workers"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserInputError(f"--{flag} must be at least 1; got {value}")
    timeout = None
    if args.timeout is not None:
        try:
            timeout = parse_duration(args.timeout)
        except ValueError as exc:
            raise UserInputError(f"--timeout: {exc}") from None
        if timeout <= 0:
            raise UserInputError(f"--timeout must be positive; got {args.timeout}")
    return {"storage": args.storage, "trials": args.trials, "timeout": timeout,
            "workers": args.workers, "progress": not args.quiet}


def load_template(args: argparse.Namespace):
    from honed.spec import load_spec
    from honed.spec.imports import allow_import

    if getattr(args, "allow_import", False):
        allow_import()  # also for the workers this command starts

    for item in args.overrides:
        if "=" not in item:
            from honed.errors import SpecError

            raise SpecError(f"override {item!r} must be KEY=VALUE, e.g. train.epochs=5")
    return load_spec(args.spec, args.overrides)


def default_out(args: argparse.Namespace, name: str) -> Path:
    return Path(args.out) if getattr(args, "out", None) else Path("runs") / name


def metrics_table(metrics: Mapping[str, Mapping[str, Any]], *, title: str = "metrics") -> Table:
    """One row per split, one column per scalar metric."""
    splits = [s for s in ("train", "val", "test") if isinstance(metrics.get(s), Mapping)]
    names: list[str] = []
    for split in splits:
        names += [k for k, v in metrics[split].items() if isinstance(v, (int, float))
                  and k not in names]
    table = Table(title=title)
    table.add_column("split")
    for name in names:
        table.add_column(name, justify="right")
    for split in splits:
        row = metrics[split]
        table.add_row(split, *(f"{row[n]:.4f}" if n in row else "" for n in names))
    return table


def print_baselines(metrics: Mapping[str, Any]) -> None:
    """The run's baselines, one line each, the warning line in yellow when the model loses."""
    from honed.train.baselines import summary_lines

    for line in summary_lines(dict(metrics)):
        console.print(line, markup=False, soft_wrap=True,
                      style="bold yellow" if line.startswith("warning") else None)

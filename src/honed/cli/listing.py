"""``honed list datasets|models|optimizers|schedules|samplers|pruners``"""

from __future__ import annotations

import argparse

from rich.table import Table

from honed.cli.common import console

WHAT = ("datasets", "models", "optimizers", "schedules", "samplers", "pruners")


def add_parser(commands) -> None:
    parser = commands.add_parser("list", help="list what a spec can name")
    parser.add_argument("what", choices=WHAT)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    table = Table(title=args.what)
    if args.what == "datasets":
        from honed.data import list_datasets

        table.add_column("source", no_wrap=True)
        for column in ("task", "kind", "shape", "size", "description"):
            table.add_column(column)
        for info in list_datasets():
            table.add_row(f"builtin:{info.name}", info.task, info.kind, str(list(info.shape)),
                          str(info.size), info.description)
    elif args.what == "models":
        from honed.models import list_models

        table.add_column("family", no_wrap=True)
        for column in ("inputs", "knobs", "description"):
            table.add_column(column)
        for info in list_models():
            table.add_row(info.name, ", ".join(info.kinds), ", ".join(info.knobs),
                          info.description)
    else:
        entries = _named_entries(args.what)
        table.add_column("name", no_wrap=True)
        table.add_column("description")
        for name, description in entries:
            table.add_row(name, description)
    console.print(table)
    return 0


def _named_entries(what: str) -> list[tuple[str, str]]:
    if what in ("optimizers", "schedules"):
        from honed.train import list_optimizers, list_schedules

        return list_optimizers() if what == "optimizers" else list_schedules()
    from honed.search import list_pruners, list_samplers

    return list_samplers() if what == "samplers" else list_pruners()

"""Argument helpers and output shared by the commands."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["add_spec_arguments", "load_template", "default_out", "metrics_table", "console",
           "err_console"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="YAML spec file")
    parser.add_argument("overrides", metavar="KEY=VALUE", nargs="*",
                        help="dotted overrides, e.g. train.epochs=5 model.dropout=0.2")


def load_template(args: argparse.Namespace):
    from honed.spec import load_spec

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

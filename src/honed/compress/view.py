"""The variant table of ``honed compress`` for people: what decided the choice, in 80 columns.

The drop shown is the one the choice reads: on the validation split, against the baseline. The
metric shown is the test split's, measured once for the record. Parameters, MACs, each
variant's latencies and its test drop are in compress.json (``honed compress --json``) and in
report.html.
"""

from __future__ import annotations

from typing import Any

__all__ = ["print_table", "distill_verdict"]


def print_table(table: dict[str, Any], console=None) -> None:
    """Print the table of a fresh compress.json with rich, then the distillation line."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    metric, threads = table["metric"], table["threads"]
    budget = (table.get("budget") or {}).get("max_drop")
    view = Table(title=f"compression ({metric})", box=box.SIMPLE_HEAD, pad_edge=False,
                 show_edge=False, collapse_padding=True)
    # numbers never wrap; a long variant name or flag folds onto a second line instead
    for header in ("variant", "val drop", "test", "size", "x@1", "x@64", ""):
        number = header not in ("variant", "")
        view.add_column(header, no_wrap=number, overflow="fold",
                        justify="right" if number else "left")
    for row in [table["baseline"], *table["variants"]]:
        drop = "" if row["drop"] is None else f"{row['drop']:+.4f}"
        flag = "chosen" if row["name"] == table["chosen"] else (
            "not kept" if not row["kept"] else "" if row["within_budget"] else "over budget")
        view.add_row(row["name"], drop, f"{row['test'].get(metric, float('nan')):.4f}",
                     _size(row["size_bytes"]), *_speedups(row), flag)
    console.print(view)
    latency = table["baseline"]["latency_ms"]
    console.print(f"val drop: against the baseline on val, which decides (within budget: val "
                  f"drop - se <= {budget}); test: {metric} on test, for the record only; "
                  f"x@1, x@64: speed-ups at batch 1 and 64 with ONNX Runtime "
                  f"({threads} thread{'s' if threads != 1 else ''}); baseline "
                  f"{latency['batch1']:.3f} ms at batch 1, {latency['batch64']:.3f} ms at "
                  f"batch 64", markup=False)
    line = distill_verdict(table)
    if line:
        console.print(line, markup=False)


def distill_verdict(table: dict[str, Any]) -> str | None:
    """One line on distillation against its control, or None when the table has no student.

    Example: ``distillation: val accuracy 0.9444, student alone 0.9556: kept student-alone``
    """
    rows = {row["method"]: row for row in table["variants"]
            if row["method"] in ("distill", "student-alone") and row.get("val")}
    if len(rows) < 2:
        return None
    metric = table["metric"]
    kept = next(row["name"] for row in rows.values() if row["kept"])
    return (f"distillation: val {metric} {rows['distill']['val'][metric]:.4f}, student alone "
            f"{rows['student-alone']['val'][metric]:.4f}: kept {kept}")


def _speedups(row: dict[str, Any]) -> list[str]:
    speedup = row.get("speedup") or {}
    return [f"{speedup[key]:.2f}" if key in speedup else "" for key in ("batch1", "batch64")]


def _size(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"

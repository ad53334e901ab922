"""Baselines beside the model: the table of ``metrics["baselines"]`` and a warning when the
model does not beat the best of them (see :mod:`honed.train.baselines.compare`)."""

from __future__ import annotations

from typing import Any

from honed.report.figures.base import esc, num, table
from honed.train.baselines.compare import cost_note

__all__ = ["fragment"]


def fragment(metrics: dict[str, Any]) -> str:
    """The baselines table for the evaluation section ("" when the run has none).

    One row for the model and one per baseline, with the compared metric on val and test; a
    skipped baseline says why. The best baseline is marked, and a run whose model does not
    beat it gets a finding box above the table.
    """
    report = metrics.get("baselines")
    if not report:
        return ""
    split, name = report["compared_on"]["split"], report["compared_on"]["metric"]
    rows = [["<b>the model</b>", *(_cell(metrics.get(s), name) for s in ("val", "test")), ""]]
    for row in report["rows"]:
        if "skipped" in row:
            rows.append([esc(row["name"]), "—", "—", esc(f"skipped: {row['skipped']}")])
            continue
        note = "best baseline" if row["name"] == report["best"] else ""
        rows.append([esc(row["name"]), _cell(row.get("val"), name), _cell(row.get("test"), name),
                     esc(" · ".join(filter(None, [note, row.get("description", "")])))])
    caption = (f"Baselines on the same prepared data, compared on {split} {name} "
               f"({cost_note(report)})")
    warning = ""
    if report["beats_baseline"] is False:
        warning = (f'<div class="finding"><h3>the model does not beat the {esc(report["best"])}'
                   f" baseline</h3><p><b>evidence:</b> {esc(split)} {esc(name)} of the model "
                   f"{num(report['model_value'])}, of {esc(report['best'])} "
                   f"{num(report['best_value'])}</p></div>")
    return warning + table(["", f"val {name}", f"test {name}", ""], rows, caption=caption,
                           raw=True)


def _cell(scores: dict[str, Any] | None, name: str) -> str:
    value = (scores or {}).get(name)
    return num(value) if isinstance(value, (int, float)) else "—"

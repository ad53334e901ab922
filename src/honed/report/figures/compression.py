"""Compression: the trade-off table and an accuracy–latency–size chart."""

from __future__ import annotations

from honed.report.evidence import Evidence
from honed.report.figures.base import Section, figure, table

__all__ = ["section"]


def section(evidence: Evidence) -> Section:
    """Every variant of ``compress/compress.json`` against the baseline."""
    part = Section("compression", "Compression")
    record = evidence.read_json("compress/compress.json")
    if record is None:
        return part.lack("no compress/compress.json: the spec has no compress section, or "
                         "honed compress has not run")
    metric = record.get("metric") or "accuracy"
    rows = [r for r in [record.get("baseline"), *(record.get("variants") or [])]
            if isinstance(r, dict)]
    if not rows:
        return part.lack("compress.json lists no variant")
    chosen = record.get("chosen")
    # version 1 (before honed chose on val) read drop and within_budget on the test split
    on_test = record.get("version", 1) < 2
    table_rows = []
    for row in rows:
        latency = row.get("latency_ms") or {}
        mark = " ◀ chosen" if row.get("name") == chosen else ""
        val_drop, test_drop = ((None, row.get("drop")) if on_test
                               else (row.get("drop"), row.get("test_drop")))
        table_rows.append((f"{row.get('name')}{mark}", row.get("method"),
                           (row.get("val") or {}).get(metric), val_drop, row.get("se"),
                           (row.get("test") or {}).get(metric), test_drop,
                           row.get("parameters"), row.get("size_bytes"),
                           latency.get("batch1"), latency.get("batch64"),
                           row.get("within_budget"), row.get("note") or ""))
    budget = (record.get("budget") or {}).get("max_drop")
    if on_test:
        caption = (f"compress.json version 1: drop and budget read on the test split, which "
                   f"also chose the variant (its test {metric} is optimistic); rerun honed "
                   f"compress to choose on val")
    else:
        caption = (f"the choice reads the drop on val: within budget when val drop − se ≤ "
                   f"{budget}; test is measured for the record only" if budget is not None
                   else "the choice reads the drop on val; test is measured for the record")
    part.add(table(["variant", "method", f"val {metric}", "val drop", "se", f"test {metric}",
                    "test drop", "parameters", "bytes", "ms (batch 1)", "ms (batch 64)",
                    "within budget", "note"], table_rows,
                   caption=caption + f"; latency on {record.get('threads', '?')} thread(s)"))
    import plotly.graph_objects as go

    sizes = [float(r.get("size_bytes") or 0) for r in rows]
    biggest = max(sizes) or 1.0
    fig = go.Figure(go.Scatter(
        x=[(r.get("latency_ms") or {}).get("batch1") for r in rows],
        y=[(r.get("test") or {}).get(metric) for r in rows], mode="markers+text",
        text=[r.get("name") for r in rows], textposition="top center",
        marker={"size": [12 + 30 * (s / biggest) ** 0.5 for s in sizes], "opacity": 0.7},
        customdata=sizes, hovertemplate="%{text}<br>%{x} ms<br>%{y}<br>%{customdata} bytes"))
    fig.update_layout(title=f"test {metric} against batch-1 latency (marker area: size)",
                      xaxis_title="latency, batch 1 (ms)", yaxis_title=metric)
    part.add(figure(fig, height=420))
    if chosen is None:
        part.lack("no variant beat the baseline within the budget: the baseline is exported")
    return part

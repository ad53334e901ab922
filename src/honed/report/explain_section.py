"""The report's explanation section: what ``explain/`` holds, drawn as ``honed explain`` does.

The figures are :mod:`honed.explain`'s own (ranked importances with intervals, the per-class
heat map, attributions over test examples), so the page and the report cannot disagree.
"""

from __future__ import annotations

from honed.report.evidence import Evidence
from honed.report.figures.base import Section

__all__ = ["section"]


def section(evidence: Evidence) -> Section:
    """Global importances, sanity checks and example attributions, or what is missing."""
    from honed.explain.outputs import global_parts, read_global

    part = Section("explain", "Explanations")
    found = read_global(evidence.root / "explain")
    if found is None:
        return part.lack("no explain/importance.json in the run dir: add `explain: {}` to the "
                         "spec, or run `honed explain RUN_DIR`")
    summary, arrays = found
    refit = ((evidence.metrics or {}).get("refit") or {}).get("fingerprint")
    if summary.get("model") and refit and summary["model"] != refit:
        part.lack("explain/ was made from an earlier model of this run; run `honed explain "
                  "RUN_DIR` again")
    for fragment in global_parts(summary, arrays):
        part.add(fragment)
    return part

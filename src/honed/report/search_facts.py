"""How long the search of a run took and why it stopped, for the run summary.

``honed tune`` (and so ``honed run``) keeps both in ``study/best.json`` as ``wall_seconds``
and ``stop_reason``. A study written before those keys existed, or cut short before its summary
was written, still tells its wall time through its trials' start and end times; its stop
reason then says only what the counts show.
"""

from __future__ import annotations

from typing import Any

from honed.report.evidence import Evidence

__all__ = ["search_rows", "trial_span_seconds"]

#: ``stop_reason`` in best.json, in words (``{done}`` trials ended of ``{trials}``)
_REASONS = {
    "trials": "its {done} trials ended (search.trials)",
    "grid-exhausted": "the grid was exhausted ({done} points)",
    "timeout": "search.timeout passed ({done} of {trials} trials ended)",
    "interrupted": "it was interrupted ({done} of {trials} trials ended)",
}


def search_rows(evidence: Evidence) -> list[tuple[str, Any]]:
    """``[("search wall time", "41.2 s (...)"), ("search stopped because", "...")]``; empty
    without a study."""
    study = evidence.study
    if study is None:
        return []
    from honed.search.study import TARGET, finished_count

    record = evidence.read_json("study/best.json") or {}
    done = finished_count(study)
    trials = study.user_attrs.get(TARGET) or (evidence.spec.get("search") or {}).get("trials")
    rows: list[tuple[str, Any]] = []
    span = trial_span_seconds(study)
    wall = record.get("wall_seconds")
    if isinstance(wall, (int, float)):
        # a study continued over several sessions: best.json times the last one only
        more = f"; its trials span {span:.1f} s" if span is not None and span > wall else ""
        rows.append(("search wall time", f"{wall:.1f} s (the last session{more})"))
    elif span is not None:
        rows.append(("search wall time", f"{span:.1f} s (first trial start to last trial end)"))
    reason = record.get("stop_reason")
    if reason in _REASONS:
        rows.append(("search stopped because", _REASONS[reason].format(done=done,
                                                                      trials=trials or "?")))
    elif reason:
        rows.append(("search stopped because", str(reason)))
    elif isinstance(trials, int) and done >= trials:
        rows.append(("search stopped because", _REASONS["trials"].format(done=done,
                                                                       trials=trials)))
    elif isinstance(trials, int):
        rows.append(("search stopped because", f"{done} of {trials} trials ended (a timeout or "
                                               "an interruption; best.json does not say)"))
    return rows


def trial_span_seconds(study) -> float | None:
    """Seconds from the first trial's start to the last trial's end; None before one ended."""
    trials = study.get_trials(deepcopy=False)
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    if not starts or not ends:
        return None
    return (max(ends) - min(starts)).total_seconds()

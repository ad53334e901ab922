"""Leakage and dead inputs, read from the global importances in ``explain/importance.json``.

- ``leakage``: one input carries almost all the importance and the model is near-perfect on
  the test split: a column that gives the label away (an id, a date, the target recoded) rather
  than a feature the model learned from.
- ``dead_inputs`` (tables): shuffling a column left the model's outputs where they were in
  every repeat while other columns matter: the model ignores it, and it can go. A score that
  did not move is no evidence on its own: on a few dozen test rows, accuracy stays put while
  the outputs behind it move.

Both need ``honed explain RUN_DIR`` (or ``explain:`` in the spec) to have run; without it they
find nothing.
"""

from __future__ import annotations

import json
from typing import Any

from honed.report.checks.base import Finding, fmt
from honed.report.evidence import Evidence

__all__ = ["leakage", "dead_inputs", "read_importance", "LEAK_SHARE", "NEAR_PERFECT"]

#: the top input's share of all positive importance that counts as "almost all"
LEAK_SHARE = 0.9
#: a test accuracy or R² at or above this is near-perfect
NEAR_PERFECT = 0.99
_PERFECT_METRICS = ("accuracy", "r2", "f1", "precision", "recall")
#: a mean absolute output change at or below this is no change (float32 round-off)
OUTPUT_TOLERANCE = 1e-6


def read_importance(evidence: Evidence) -> dict[str, Any] | None:
    """``explain/importance.json`` of the run, or None when absent, unreadable or made from an
    earlier model of the run (``honed run`` records the model's fingerprint in it)."""
    try:
        record = json.loads((evidence.root / "explain" / "importance.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or "importance" not in record:
        return None
    refit = ((evidence.metrics or {}).get("refit") or {}).get("fingerprint")
    return None if record.get("model") and refit and record["model"] != refit else record


def _features(record: dict[str, Any], keep: list[str]) -> list[str]:
    """``data.features=[...]`` keeping ``keep`` (tables only: other kinds have no columns)."""
    return [f"data.features=[{', '.join(keep)}]"] if record.get("kind") == "table" else []


def leakage(evidence: Evidence) -> Finding | None:
    """One input carries almost all the importance of a near-perfect model."""
    record = read_importance(evidence)
    if record is None:
        return None
    importance = record["importance"]
    items = importance["importances"]
    positive = [max(item["mean"], 0.0) for item in items]
    if (len(items) < 2 or importance["metric"] not in _PERFECT_METRICS
            or importance["baseline"] < NEAR_PERFECT or not sum(positive)):
        return None
    top = items[0]
    share = max(top["mean"], 0.0) / sum(positive)
    if share < LEAK_SHARE:
        return None
    rest = [item["name"] for item in items[1:]]
    verb = "deleting" if record.get("kind") == "text" else "shuffling"  # text: per token
    return Finding(
        "leakage", f"possible leakage: '{top['name']}' alone decides the predictions",
        f"{verb} '{top['name']}' drops test {importance['metric']} by {fmt(top['mean'])}, "
        f"{share:.0%} of all importance (threshold {LEAK_SHARE:.0%}), with test "
        f"{importance['metric']} {fmt(importance['baseline'])} (near-perfect: "
        f"≥ {NEAR_PERFECT}); does it give the label away?", _features(record, rest))


def dead_inputs(evidence: Evidence) -> Finding | None:
    """Table columns whose shuffling changed no test score in any repeat."""
    record = read_importance(evidence)
    if record is None or record.get("kind") != "table":
        return None  # a constant image border or time step is no column to drop
    items = record["importance"]["importances"]
    dead = [item["name"] for item in items if _ignored(item)]
    live = [item["name"] for item in items if item["name"] not in dead]
    if not dead or not any(item["mean"] > 0 for item in items):
        return None  # nothing matters: a model that learned nothing, which chance reports
    shown = ", ".join(dead[:8]) + (f" and {len(dead) - 8} more" if len(dead) > 8 else "")
    return Finding(
        "dead_inputs", f"dead inputs: the model ignores {len(dead)} of {len(items)} columns",
        f"shuffling {shown} moved neither the model's outputs nor its test "
        f"{record['importance']['metric']} in any of {record['importance']['repeats']} "
        "repeats", _features(record, live))


def _ignored(item: dict[str, Any]) -> bool:
    """Whether permuting this input left the outputs unchanged (files written before
    ``output_change`` existed: the scores alone)."""
    unmoved = all(drop == 0 for drop in item["drops"])
    change = item.get("output_change")
    return unmoved and (change is None or change <= OUTPUT_TOLERANCE)

"""The check contract: a function of the run's evidence returning a Finding or None."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Finding", "already_set", "finite", "fmt", "last", "relative_change"]


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem.

    Attributes:
        check: the check's name, e.g. ``overfitting``.
        verdict: one line saying what is wrong.
        evidence: the numbers from the run that show it.
        changes: spec changes to try, as ``KEY=VALUE`` overrides.
    """

    check: str
    verdict: str
    evidence: str
    changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"check": self.check, "verdict": self.verdict, "evidence": self.evidence,
                "changes": list(self.changes)}


def finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def last(values: Sequence[float], n: int) -> list[float]:
    return finite(values)[-n:]


def relative_change(before: float, after: float) -> float:
    """(after − before) / |before|, 0 when before is 0."""
    return (after - before) / abs(before) if before else 0.0


def fmt(value: float | None) -> str:
    """A number for people: 4 significant digits, or 'n/a'."""
    if value is None or not math.isfinite(value):
        return "n/a" if value is None else str(value)
    return f"{value:.4g}"


def already_set(spec: dict, change: str) -> bool:
    """Whether the ``KEY=VALUE`` override ``change`` would leave the resolved spec as it is.

    A mapping value counts as set when every key it names has that value already
    (``train.clip={norm: 1.0}`` against ``clip: {norm: 1.0, value: null}``).
    """
    from honed.spec.overrides import parse_override

    try:
        parts, value = parse_override(change)
    except ValueError:  # SpecError: not an override at all, keep it for the reader
        return False
    node = spec
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return _same(node, value)


def _same(current, wanted) -> bool:
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            key in current and _same(current[key], value) for key, value in wanted.items())
    if isinstance(wanted, (int, float)) and isinstance(current, (int, float)) and \
            not isinstance(wanted, bool):
        return math.isclose(float(current), float(wanted), rel_tol=1e-9, abs_tol=1e-12)
    return current == wanted

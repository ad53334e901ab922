"""The check contract: a function of the run's evidence returning a Finding or None."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Finding", "finite", "fmt", "last", "relative_change"]


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

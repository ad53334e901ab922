"""A small text line plot for terminals (no plotting library needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["line_plot"]


def line_plot(xs: Sequence[float], ys: Sequence[float], *, width: int = 64, height: int = 14,
              log_x: bool = False, title: str = "", marks: dict[str, float] | None = None) -> str:
    """Plot ``ys`` against ``xs`` with block characters; ``marks`` draws labelled verticals."""
    if not xs:
        return f"{title}: no points"
    tx = [math.log10(x) for x in xs] if log_x else list(xs)
    finite = [y for y in ys if math.isfinite(y)]
    y_low, y_high = min(finite), max(finite)
    x_low, x_high = min(tx), max(tx)
    span_x, span_y = (x_high - x_low) or 1.0, (y_high - y_low) or 1.0
    grid = [[" "] * width for _ in range(height)]
    column = lambda x: min(width - 1, int((x - x_low) / span_x * (width - 1)))  # noqa: E731
    for value in (marks or {}).values():
        if value and (not log_x or value > 0):
            c = column(math.log10(value) if log_x else value)
            for row in grid:
                row[c] = "┊"
    for x, y in zip(tx, ys, strict=False):
        if math.isfinite(y):
            r = height - 1 - int((y - y_low) / span_y * (height - 1))
            grid[r][column(x)] = "●"
    lines = [title] if title else []
    for index, row in enumerate(grid):
        label = y_high if index == 0 else y_low if index == height - 1 else None
        lines.append(f"{'' if label is None else f'{label:.3g}':>9} │" + "".join(row))
    lines.append(" " * 10 + "└" + "─" * width)
    left = f"{xs[0]:.0e}" if log_x else f"{xs[0]:.3g}"
    right = f"{xs[-1]:.0e}" if log_x else f"{xs[-1]:.3g}"
    lines.append(" " * 11 + left + " " * max(1, width - len(left) - len(right)) + right)
    if marks:
        lines.append(" " * 11 + "┊ " + ", ".join(f"{k} {v:.3g}" for k, v in marks.items() if v))
    return "\n".join(lines)

"""What every section builder returns, and the HTML pieces they share."""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Section", "figure", "table", "missing", "esc", "num"]

#: plotly's per-figure options: no logo, fit the page width
_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class Section:
    """One part of the report: an anchor id, a title and HTML fragments.

    ``missing`` lists what the run dir lacks for this section, shown instead of a figure.
    """

    id: str
    title: str
    parts: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def add(self, fragment: str) -> Section:
        self.parts.append(fragment)
        return self

    def lack(self, text: str) -> Section:
        self.missing.append(text)
        return self


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: Any) -> str:
    """A cell value: numbers with 4 significant digits, the rest as text."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return esc(value)


def figure(fig, *, height: int = 380) -> str:
    """A plotly figure as a div (plotly.js itself is inlined once in the page head)."""
    import plotly.io as pio

    fig.update_layout(height=height, margin={"l": 50, "r": 20, "t": 50, "b": 45})
    # the template joins as plain JSON: set on the figure, plotly validates and copies the
    # whole template each time, most of a small figure's cost (~45 ms of ~55)
    data = fig.to_plotly_json()
    data["layout"]["template"] = _white()
    return '<div class="figure">' + pio.to_html(data, full_html=False, include_plotlyjs=False,
                                                config=_CONFIG, validate=False) + "</div>"


@functools.cache
def _white() -> dict[str, Any]:
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str = "",
          raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (cells already HTML)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell if raw else num(cell)}</td>" for cell in row)
                   + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def missing(text: str) -> str:
    return f'<p class="missing">{esc(text)}</p>'

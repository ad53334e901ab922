"""Text explanations drawn as text: each token a span shaded by its attribution.

Red pushes the explained output up, blue down, the shade's strength the score's size against
the largest score shown (one scale for every text of the figure, stated under it); hovering a
token shows its score. Plain HTML with inline styles, so that it needs no script and reads the
same in ``honed explain``'s page and in the run report. Also the per-example JSON (tokens and
scores, padding left out) that goes beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["tokens_figure", "token_rows", "per_class_tokens_table"]

_RED, _BLUE = (178, 24, 43), (33, 102, 172)
#: WordPiece marks a piece that continues the previous word like this
_CONTINUES = "##"


def token_rows(tokens: np.ndarray, values: np.ndarray) -> list[dict[str, Any]]:
    """Each text's tokens and scores, padding left out: ``[{"tokens", "scores"}]``."""
    rows = []
    for words, scores in zip(tokens, values, strict=True):
        keep = words != ""
        rows.append({"tokens": [str(w) for w in words[keep]],
                     "scores": [float(v) for v in scores[keep]]})
    return rows


def _span(token: str, score: float, limit: float) -> str:
    from honed.report.figures.base import esc

    red, green, blue = _RED if score > 0 else _BLUE
    alpha = min(abs(score) / limit, 1.0) if limit > 0 else 0.0
    glue = token.startswith(_CONTINUES)
    shown = token[len(_CONTINUES):] if glue else token
    gap = "" if glue else " "
    return (f'{gap}<span title="{score:+.4g}" style="background:rgba({red},{green},{blue},'
            f'{alpha:.2f});padding:1px 2px;border-radius:3px">{esc(shown)}</span>')


def tokens_figure(tokens: np.ndarray, values: np.ndarray, titles: Sequence[str], *,
                  method: str, baseline: str) -> str:
    """The texts, one per line under its title, each token shaded by its score."""
    from honed.report.figures.base import esc

    rows = token_rows(tokens, values)
    limit = max((abs(s) for row in rows for s in row["scores"]), default=0.0)
    lines = []
    for title, row in zip(titles, rows, strict=True):
        spans = "".join(_span(t, s, limit) for t, s in zip(row["tokens"], row["scores"],
                                                           strict=True))
        lines.append(f'<p style="line-height:1.9;margin:6px 0"><b>{esc(title)}</b><br>'
                     f"{spans.strip() or '<i>(no tokens)</i>'}</p>")
    return (f'<div class="figure tokens"><h3>{esc(method)} per token (red: for the explained '
            f"output, blue: against)</h3>{''.join(lines)}<p><small>shade: |score| against the "
            f"largest shown ({limit:.3g}); hover a token for its score; baseline: "
            f"{esc(baseline)}</small></p></div>")


def per_class_tokens_table(importance: dict[str, Any]) -> str | None:
    """A table of the tokens whose deletion lowers each class's probability the most."""
    from honed.report.figures.base import table

    listed = importance.get("per_class_tokens")
    if not listed:
        return None
    return table(["class", "tokens pushing towards it, strongest first"],
                 [[name, ", ".join(tokens) or "—"] for name, tokens in listed.items()],
                 caption="per class: mean drop of the class's probability on the test texts "
                         "holding the token when it is deleted")

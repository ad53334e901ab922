"""Writing and reading ``explain/``: JSON for numbers, ``.npz`` for arrays, one HTML page.

Every file is written atomically, arrays without pickle; the page inlines plotly.js once so
that it opens offline, like the run report (and draws the same figures).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from honed.errors import UserInputError
from honed.io import atomic_write_bytes, atomic_write_json, atomic_write_text, make_folder

from .attributions import Attributions
from .figures import example_figure, example_titles, importance_figure, per_class_figure
from .text_figure import per_class_tokens_table, token_rows, tokens_figure

__all__ = ["write_global", "write_local", "read_global", "global_parts", "render_page", "sanity_rows",
           "GLOBAL_FILES"]

GLOBAL_FILES = ("importance.json", "attributions.npz", "explain.html")
#: what examples.json repeats from the summary, so that it reads on its own
_RECORD = ("kind", "task", "method", "baseline", "class_names")


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    """Arrays written without pickle (token texts as a fixed-width unicode array)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def write_global(out: Path, summary: dict[str, Any], x: np.ndarray, y: np.ndarray,
                 outputs: np.ndarray, found: Attributions, grouped: np.ndarray,
                 tokens: np.ndarray | None = None) -> list[Path]:
    """``importance.json``, ``attributions.npz`` (the drawn test examples) and the page; for
    text (``tokens``: each example's token texts) also ``examples.json``, tokens and scores."""
    make_folder(out)
    arrays = {"x": x, "values": found.values, "grouped": grouped, "explained": found.targets,
              "labels": np.asarray(y), "outputs": outputs}
    if tokens is not None:
        arrays["tokens"] = tokens
    files = [_npz(out / "attributions.npz", **arrays)]
    if tokens is not None:
        titles = _titles(summary, arrays)
        rows = [{"title": title, "explained": _explained(summary, int(target)), **row}
                for title, target, row in zip(titles, found.targets,
                                              _token_rows(summary, tokens, found.values,
                                                          grouped), strict=True)]
        atomic_write_json(out / "examples.json",
                          {key: summary[key] for key in _RECORD} | {"rows": rows})
        files.append(out / "examples.json")
    atomic_write_json(out / "importance.json", summary)
    page = out / "explain.html"
    atomic_write_text(page, render_page(summary, global_parts(summary, arrays)))
    return [out / "importance.json", *files, page]


def write_local(out: Path, summary: dict[str, Any], x: np.ndarray, ids: list[str],
                found: Attributions, grouped: np.ndarray,
                tokens: np.ndarray | None = None) -> list[Path]:
    """``local.json`` (each row's attribution per group, or for text its tokens and scores),
    ``local.npz`` and ``local.html``."""
    from honed.report.figures.base import figure

    make_folder(out)
    names = summary["groups"]
    if tokens is None:
        scores = [{"attributions": {n: float(v) for n, v in zip(names, values, strict=True)}}
                  for values in grouped]
    else:
        scores = _token_rows(summary, tokens, found.values, grouped)
    rows = [{"id": ident, "explained": _explained(summary, int(target)), **score}
            for ident, target, score in zip(ids, found.targets, scores, strict=True)]
    arrays = _npz(out / "local.npz", x=x, values=found.values, grouped=grouped,
                  explained=found.targets, ids=np.asarray(ids, dtype=str),
                  **({} if tokens is None else {"tokens": tokens}))
    atomic_write_json(out / "local.json", {**summary, "rows": rows})
    titles = [f"{r['id']}: {r['explained']}" for r in rows]
    if tokens is not None:
        part = tokens_figure(tokens, found.values[:, :tokens.shape[1]], titles,
                             method=summary["method"], baseline=summary["baseline"])
        part += _columns_table(names, grouped, titles)
    else:
        fig = example_figure(summary["kind"], x, found.values, titles, groups=names,
                             grouped=grouped, method=summary["method"])
        part = figure(fig, height=fig.layout.height)
    page = out / "local.html"
    atomic_write_text(page, render_page(summary, [part]))
    return [out / "local.json", arrays, page]


def read_global(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """``importance.json`` and ``attributions.npz`` of ``folder``, or None when absent."""
    summary, arrays = folder / "importance.json", folder / "attributions.npz"
    if not (summary.is_file() and arrays.is_file()):
        return None
    try:
        with np.load(arrays, allow_pickle=False) as data:
            loaded = {key: data[key] for key in data.files}
        return json.loads(summary.read_text(encoding="utf-8")), loaded
    except (OSError, ValueError) as exc:
        raise UserInputError(f"cannot read {folder}: {exc}") from None


def _explained(summary: dict[str, Any], target: int) -> str:
    names = summary.get("class_names")
    if summary["task"] == "classification":
        return f"class {names[target] if names else target}"
    return f"output {target}"


def global_parts(summary: dict[str, Any], arrays) -> list[str]:
    """The figures of a global explanation, as HTML divs (shared with the report)."""
    from honed.report.figures.base import figure, table

    parts = [table(["check", "value", "rule", "passed"], sanity_rows(summary["sanity"]),
                   caption="sanity checks (Adebayo et al. 2018)")]
    bars = importance_figure(summary["importance"])
    parts.append(figure(bars, height=bars.layout.height))
    per_class = per_class_figure(summary["importance"])
    if per_class is not None:
        parts.append(figure(per_class, height=per_class.layout.height))
    per_token = per_class_tokens_table(summary["importance"])
    if per_token is not None:
        parts.append(per_token)
    titles = _titles(summary, arrays)
    if "tokens" in arrays:
        tokens = arrays["tokens"]
        parts.append(tokens_figure(tokens, arrays["values"][:, :tokens.shape[1]], titles,
                                   method=summary["method"], baseline=summary["baseline"]))
        parts.append(_columns_table(summary["groups"], arrays["grouped"], titles))
        return parts
    examples = example_figure(summary["kind"], arrays["x"], arrays["values"], titles,
                              groups=summary["groups"], grouped=arrays["grouped"],
                              method=summary["method"])
    parts.append(figure(examples, height=examples.layout.height))
    return parts


def _token_rows(summary: dict[str, Any], tokens: np.ndarray, values: np.ndarray,
                grouped: np.ndarray) -> list[dict[str, Any]]:
    """Each text's tokens and scores; with table columns beside the text (``groups``), each
    column's attribution too."""
    rows = token_rows(tokens, values[:, :tokens.shape[1]])
    names = summary["groups"]
    for row, columns in zip(rows, grouped if names else [], strict=False):
        row["attributions"] = {n: float(v) for n, v in zip(names, columns, strict=True)}
    return rows


def _columns_table(names: list[str], grouped: np.ndarray, titles: list[str]) -> str:
    """The columns' attributions beside a text, one row per example ("" without columns)."""
    if not names:
        return ""
    from honed.report.figures.base import table

    return table(["example", *names], [[title, *(float(v) for v in values)]
                                       for title, values in zip(titles, grouped, strict=True)],
                 caption="columns beside the text: the explained output's drop when the "
                         "column is set to its baseline")


def _titles(summary: dict[str, Any], arrays) -> list[str]:
    return example_titles(arrays["labels"], _predicted(summary, arrays["outputs"]),
                          task=summary["task"], class_names=summary.get("class_names"))


def _predicted(summary: dict[str, Any], outputs: np.ndarray) -> np.ndarray:
    return outputs.argmax(1) if summary["task"] == "classification" else outputs


def sanity_rows(sanity: dict[str, Any]) -> list[list[Any]]:
    """The sanity checks as table rows: check, value, rule, passed."""
    random, complete = sanity["randomization"], sanity["completeness"]
    if not complete.get("applies", True):
        completeness = ["integrated gradients: completeness", "not applicable", complete["why"],
                        complete["passed"]]
    else:
        completeness = ["integrated gradients: completeness error",
                        complete["max_relative_error"],
                        f"≤ {complete['tolerance']} of |f(x) − f(baseline)|", complete["passed"]]
    return [["randomized weights: rank correlation", random["rank_correlation"],
             f"< {random['rule'].split()[1]} × self-agreement "
             f"({random['self_agreement']:.3g})", random["passed"]], completeness]


def render_page(summary: dict[str, Any], parts: list[str]) -> str:
    """A self-contained HTML page (plotly.js inlined) of an explanation's figures."""
    from plotly.offline import get_plotlyjs

    from honed.report.figures.base import esc

    head = (f"{summary['kind']} inputs, {summary['task']}; method {summary['method']}, "
            f"baseline: {summary['baseline']}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>honed explain</title><style>body{{font-family:system-ui,sans-serif;"
            f"margin:20px 28px;color:#222}}table{{border-collapse:collapse;font-size:13px}}"
            f"td,th{{border:1px solid #ddd;padding:4px 8px}}</style>"
            f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
            f"<h1>honed explain</h1><p>{esc(head)}</p>{''.join(parts)}</body></html>\n")

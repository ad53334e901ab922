"""Text runs: the vocabulary, how long the texts are against ``max_length``, how many were cut
per split, and the test texts the model got most wrong.

The lengths come from ``model/preprocess.json`` (``text.lengths``, recorded while the splits
were tokenized) and the examples from ``text_examples.json`` (written when the test split was
scored): the report reads neither the data nor the tokenizer again.
"""

from __future__ import annotations

from typing import Any

from honed.report.evidence import Evidence
from honed.report.figures.base import Section, esc, figure, num, table

__all__ = ["section", "is_text_run", "SECTION_ID"]

SECTION_ID = "text"
_SPLITS = ("train", "val", "test")


def is_text_run(evidence: Evidence) -> bool:
    """Whether the run's model reads text (its preprocess.json, else its spec's data.text)."""
    preprocess = evidence.read_json("model/preprocess.json")
    if preprocess is not None:
        return preprocess.get("kind") == "text"
    return bool((evidence.spec.get("data") or {}).get("text"))


def section(evidence: Evidence) -> Section:
    """Vocabulary, length histogram with ``max_length`` marked, cuts per split, examples."""
    part = Section(SECTION_ID, "Text")
    text = (evidence.read_json("model/preprocess.json") or {}).get("text")
    if not isinstance(text, dict):
        return part.lack("no model/preprocess.json with a text recipe (the run did not finish)")
    settings = text.get("tokenizer") or {}
    part.add(f"<p>vocabulary: <b>{num(text.get('vocab_size'))}</b> tokens "
             f"({esc(settings.get('kind', '?'))} tokenizer fitted on the training split, "
             f"specials included) · max_length: <b>{num(text.get('max_length'))}</b> tokens"
             f" · text columns: {esc(', '.join(text.get('columns') or []))}</p>")
    lengths = text.get("lengths")
    if isinstance(lengths, dict) and lengths:
        part.add(_histogram(lengths, int(text["max_length"])))
        part.add(_cut_table(lengths, int(text["max_length"])))
    else:
        part.lack("preprocess.json holds no token lengths (a run made before honed recorded "
                  "them): train it again to see them")
    baseline = _tfidf(evidence.metrics or {})
    if baseline:
        part.add(f"<p>{baseline}</p>")
    _examples(part, evidence.read_json("text_examples.json"))
    return part


def _histogram(lengths: dict[str, Any], max_length: int) -> str:
    import plotly.graph_objects as go

    fig = go.Figure()
    for split in _SPLITS:
        hist = (lengths.get(split) or {}).get("histogram")
        if not hist or not hist.get("counts"):
            continue
        edges, counts = hist["edges"], hist["counts"]
        labels = [f"{a}–{b - 1}" if b - a > 1 else str(a) for a, b in zip(edges, edges[1:],
                                                                              strict=False)]
        labels.append(f"≥{edges[-1]}")
        fig.add_bar(x=labels, y=counts, name=split)
    fig.update_layout(title=f"token lengths before the cut (max_length {max_length} marked)",
                      xaxis_title="tokens", yaxis_title="texts", barmode="group",
                      xaxis_type="category")
    if fig.data:
        # the bin holding max_length + 1: everything from it rightwards was cut
        labels = list(fig.data[0].x)
        cut = next((i for i, label in enumerate(labels) if _low(label) > max_length), len(labels))
        fig.add_vline(x=cut - 0.5, line_dash="dash", line_color="#e76f51")
        fig.add_annotation(x=cut - 0.5, y=1, yref="paper", text=f"max_length {max_length}",
                           showarrow=False, xanchor="right", font={"color": "#e76f51"})
    return figure(fig)


def _low(label: str) -> int:
    """The first length in a bin label (``"12–15"``, ``"7"``, ``"≥256"``)."""
    return int(label.lstrip("≥").split("–")[0])


def _cut_table(lengths: dict[str, Any], max_length: int) -> str:
    rows = []
    for split in _SPLITS:
        stats = lengths.get(split)
        if not stats:
            continue
        texts, cut = stats.get("texts", 0), stats.get("truncated", 0)
        share = f"{cut / texts:.1%}" if texts else "—"
        rows.append([split, num(texts), f"{num(cut)} ({share})", num(stats.get("empty")),
                     num(stats.get("median")), num(stats.get("p95")), num(stats.get("max"))])
    return table(["split", "texts", f"cut at {max_length} tokens", "empty", "median tokens",
                  "95th percentile", "longest"], rows,
                 caption="texts per split, and how many were longer than max_length", raw=True)


def _tfidf(metrics: dict[str, Any]) -> str:
    report = metrics.get("baselines") or {}
    row = next((r for r in report.get("rows", []) if r.get("name") == "tfidf_logistic"), None)
    if not row or "skipped" in row:
        return ""
    name = (report.get("compared_on") or {}).get("metric", "accuracy")
    scores = " · ".join(f"{split} {esc(name)} {num(row[split].get(name))} (the model "
                        f"{num((metrics.get(split) or {}).get(name))})"
                        for split in ("val", "test") if isinstance(row.get(split), dict))
    return (f"the TF-IDF + logistic regression baseline on the same tokens: {scores} "
            '(see <a href="#evaluation">Evaluation</a>)')


def _examples(part: Section, record: dict[str, Any] | None) -> None:
    if record is None:
        part.lack("no text_examples.json in the run dir: the test split was not scored "
                  "(honed run scores it in its test stage)")
        return
    if "unavailable" in record:
        part.lack(str(record["unavailable"]))
        return
    examples = record.get("examples") or []
    caption = (f"the most confused test examples: the {len(examples)} wrong predictions with "
               f"the highest loss, of {num(record.get('wrong'))} wrong in "
               f"{num(record.get('rows'))} test texts")
    if not examples:
        part.add(f"<p class=\"ok\">no wrong prediction on the {num(record.get('rows'))} test "
                 "texts</p>")
        return
    rows = [[num(e.get("row")), esc(e.get("text", "")), esc(e.get("true")),
             esc(e.get("predicted")), num(e.get("probability")), num(e.get("loss"))]
            for e in examples]
    part.add(table(["source row", "text (start)", "true", "predicted",
                    "probability of the prediction", "loss"], rows, caption=caption, raw=True))

"""Classification: the confusion matrix and per-class precision, recall and F1."""

from __future__ import annotations

from honed.report.evidence import Evidence
from honed.report.figures.base import Section, figure, table

__all__ = ["section", "per_class"]


def per_class(matrix: list[list[int]]) -> list[tuple[float, float, float, int]]:
    """``(precision, recall, f1, support)`` per class from a confusion matrix (rows: true)."""
    size = len(matrix)
    out = []
    for k in range(size):
        tp = matrix[k][k]
        predicted = sum(matrix[i][k] for i in range(size))
        support = sum(matrix[k])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.append((precision, recall, f1, support))
    return out


def section(evidence: Evidence) -> Section:
    """The confusion matrix of the test split (val when the test split was never scored)."""
    part = Section("evaluation", "Classes")
    metrics = evidence.metrics or {}
    split = "test" if (metrics.get("test") or {}).get("confusion_matrix") else "val"
    matrix = (metrics.get(split) or {}).get("confusion_matrix")
    if not matrix:
        return part.lack("no confusion matrix in metrics.json (the run did not finish)")
    names = _class_names(evidence, len(matrix))
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(z=matrix, x=names, y=names, colorscale="Blues",
                               text=matrix, texttemplate="%{text}", hoverongaps=False))
    fig.update_layout(title=f"confusion matrix ({split} split)", xaxis_title="predicted",
                      yaxis_title="true", yaxis_autorange="reversed")
    part.add(figure(fig, height=max(360, 28 * len(names) + 160)))
    rows = [(name, *values) for name, values in zip(names, per_class(matrix), strict=True)]
    part.add(table(["class", "precision", "recall", "F1", "support"], rows,
                   caption=f"per-class scores ({split} split)"))
    return part


def _class_names(evidence: Evidence, size: int) -> list[str]:
    preprocess = evidence.read_json("model/preprocess.json") or {}
    names = preprocess.get("class_names")
    if isinstance(names, list) and len(names) == size:
        return [str(n) for n in names]
    return [str(i) for i in range(size)]

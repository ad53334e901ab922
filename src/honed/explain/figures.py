"""Plotly figures of explanations, shared by ``honed explain``'s page and the run report.

One figure per question: which inputs matter (ranked bars with 95 % intervals), for which
class (a heat map of recall drops), and where in one example (attribution heat maps over images,
attribution along a signal, per-feature attributions of table rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["importance_figure", "per_class_figure", "example_figure", "example_titles"]

#: groups shown in the ranked bar chart (the rest are in importance.json)
TOP = 20
#: examples per figure at most
MAX_EXAMPLES = 48
_DIVERGING = "RdBu_r"  # red pushes the explained output up, blue down
#: the same colours fading to transparent at zero, so that the image shows through
_OVERLAY = [[0.0, "rgba(33,102,172,0.95)"], [0.5, "rgba(247,247,247,0)"],
            [1.0, "rgba(178,24,43,0.95)"]]


def importance_figure(importance: dict[str, Any], *, top: int = TOP):
    """Ranked horizontal bars of the metric drop per input group, with 95 % intervals."""
    import plotly.graph_objects as go

    items = importance["importances"][:top][::-1]  # plotly draws the first bar at the bottom
    means = [i["mean"] for i in items]
    upper = [(i["high"] - i["mean"]) if i["high"] is not None else 0.0 for i in items]
    lower = [(i["mean"] - i["low"]) if i["low"] is not None else 0.0 for i in items]
    fig = go.Figure(go.Bar(x=means, y=[i.get("label", i["name"]) for i in items], orientation="h",
                           marker_color="#457b9d",
                           error_x={"type": "data", "array": upper, "arrayminus": lower,
                                    "color": "#1d3557"}))
    shown = f"top {len(items)} of {len(importance['importances'])}"
    if "columns" in importance:  # text beside columns: tokens deleted, columns shuffled
        title = (f"importance ({shown}): drop of test {importance['metric']} when a token is "
                 f"deleted or a column shuffled ({importance['repeats']} repeats)")
    elif "how" in importance:  # text: each token deleted, once
        title = (f"token importance ({shown}): drop of test {importance['metric']} when the "
                 "token is deleted, 95% interval over the texts")
    else:
        title = (f"permutation importance ({shown}): drop of test {importance['metric']} when "
                 f"shuffled, {importance['repeats']} repeats, 95% interval over the "
                 f"{importance.get('interval', 'repeats')}")
    fig.update_layout(title=title, xaxis_title=f"{importance['metric']} drop",
                      height=max(300, 24 * len(items) + 120))
    return fig


def per_class_figure(importance: dict[str, Any], *, top: int = TOP):
    """Heat map of each class's recall drop when each of the top groups is shuffled."""
    import plotly.graph_objects as go

    items = [i for i in importance["importances"][:top] if "per_class" in i]
    if not items:
        return None
    classes = list(items[0]["per_class"])
    z = [[i["per_class"][c] for c in classes] for i in items]
    fig = go.Figure(go.Heatmap(z=z, x=classes, y=[i["name"] for i in items],
                               colorscale=_DIVERGING, zmid=0, colorbar={"title": "recall drop"}))
    verb = "deleted" if "how" in importance else "shuffled"
    fig.update_layout(title=f"per class: drop of each class's recall when an input is {verb}",
                      xaxis_title="class", yaxis={"autorange": "reversed"},
                      height=max(300, 22 * len(items) + 120))
    return fig


def example_titles(targets: np.ndarray | None, predicted: np.ndarray, *,
                   task: str, class_names: Sequence[str] | None, ids=None) -> list[str]:
    """One short title per example: ``true 3 → 3 ✓`` or ``true 1.2, predicted 1.5``."""
    def name(code) -> str:
        return class_names[int(code)] if class_names else str(int(code))

    titles = []
    for i, guess in enumerate(predicted):
        head = f"{ids[i]}: " if ids is not None else ""
        if task == "classification":
            if targets is None:
                titles.append(f"{head}predicted {name(guess)}")
            else:
                mark = "✓" if int(targets[i]) == int(guess) else "✗"
                titles.append(f"{head}true {name(targets[i])} → {name(guess)} {mark}")
        else:
            value = float(np.ravel(guess)[0])
            truth = "" if targets is None else f"true {float(np.ravel(targets[i])[0]):.3g}, "
            titles.append(f"{head}{truth}predicted {value:.3g}")
    return titles


def example_figure(kind: str, x: np.ndarray, values: np.ndarray, titles: Sequence[str], *,
                   groups: Sequence[str] = (), grouped: np.ndarray | None = None,
                   method: str = ""):
    """Attributions of a few examples, drawn the way the input is read."""
    count = min(len(x), MAX_EXAMPLES)
    if kind == "image":
        return _images(x[:count], values[:count], titles[:count], method)
    if kind == "sequence":
        return _sequences(x[:count], values[:count], titles[:count], method)
    return _table(grouped[:count], groups, titles[:count], method)


def _images(x: np.ndarray, values: np.ndarray, titles: Sequence[str], method: str):
    """The examples tiled into one mosaic: two heat maps (image, attribution) in all, since a
    subplot per example costs plotly about 25 ms each."""
    import plotly.graph_objects as go

    cols = min(8, len(x))
    rows = -(-len(x) // cols)
    height, width = x.shape[2], x.shape[3]
    gap = max(1, height // 4)
    cell_h, cell_w = height + 2 * gap, width + gap  # room above each tile for its title
    image = np.full((rows * cell_h, cols * cell_w), np.nan)
    heat = np.full_like(image, np.nan)
    notes = []
    for i in range(len(x)):
        top, left = (i // cols) * cell_h + 2 * gap, (i % cols) * cell_w
        image[top:top + height, left:left + width] = x[i].mean(axis=0)
        heat[top:top + height, left:left + width] = values[i].mean(axis=0)  # over channels
        notes.append({"x": left + (width - 1) / 2, "y": top - gap, "text": titles[i],
                      "showarrow": False, "font": {"size": 10}})
    limit = float(np.nanmax(np.abs(heat))) or 1.0
    fig = go.Figure([go.Heatmap(z=image, colorscale="gray", showscale=False, hoverinfo="skip"),
                     go.Heatmap(z=heat, colorscale=_OVERLAY, zmin=-limit, zmax=limit,
                                name="attribution", colorbar={"title": "attribution"})])
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False,
                     scaleanchor="x", zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(title=f"{method} over the input (red: for the explained output, blue: "
                            "against)", annotations=notes, height=170 * rows + 90,
                      plot_bgcolor="white")
    return fig


def _sequences(x: np.ndarray, values: np.ndarray, titles: Sequence[str], method: str):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=len(x), cols=1, subplot_titles=list(titles), shared_xaxes=True,
                        vertical_spacing=min(0.08, 0.6 / len(x)))
    heat = values.sum(axis=2)  # over channels: (N, T)
    limit = float(np.abs(heat).max()) or 1.0
    steps = np.arange(x.shape[1])
    for i in range(len(x)):
        fig.add_trace(go.Scatter(x=steps, y=x[i, :, 0], mode="lines", line={"color": "#999"},
                                 showlegend=False, hoverinfo="skip"), row=i + 1, col=1)
        fig.add_trace(go.Scatter(
            x=steps, y=x[i, :, 0], mode="markers", showlegend=False,
            marker={"color": heat[i], "colorscale": _DIVERGING, "cmin": -limit, "cmax": limit,
                    "size": 7, "showscale": i == 0, "colorbar": {"title": "attribution"}},
            hovertemplate="t=%{x}<br>value %{y:.3g}<br>attribution %{marker.color:.3g}"),
            row=i + 1, col=1)
    fig.update_xaxes(title_text="time step", row=len(x), col=1)
    fig.update_layout(title=f"{method} along the signal (channel 0; colour: attribution "
                            "summed over channels)", height=150 * len(x) + 100)
    return fig


def _table(grouped: np.ndarray, groups: Sequence[str], titles: Sequence[str], method: str):
    import plotly.graph_objects as go

    limit = float(np.abs(grouped).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=grouped, x=list(groups), y=list(titles), zmin=-limit,
                               zmax=limit, colorscale=_DIVERGING,
                               colorbar={"title": "attribution"}))
    fig.update_layout(title=f"{method} per feature (red: for the explained output, blue: "
                            "against)", yaxis={"autorange": "reversed"},
                      height=max(300, 26 * len(titles) + 160))
    return fig

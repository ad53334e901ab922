"""Learning curves: train and val loss and metric per epoch, and the learning rate."""

from __future__ import annotations

from honed.report.evidence import Evidence, series
from honed.report.figures.base import Section, figure

__all__ = ["section"]


def section(evidence: Evidence) -> Section:
    """Loss, the task's main metric and the learning rate against the epoch."""
    part = Section("curves", "Learning curves")
    history = evidence.history
    if not history:
        return part.lack("no history.jsonl (or an empty one): training never finished an epoch")
    from plotly.subplots import make_subplots

    metric = "accuracy" if evidence.task == "classification" else "r2"
    epochs = [record.get("epoch", i + 1) for i, record in enumerate(history)]
    fig = make_subplots(rows=1, cols=3, subplot_titles=("loss", metric, "learning rate"))
    for split, dash in (("train", "solid"), ("val", "dot")):
        for col, name in ((1, "loss"), (2, metric)):
            values = series(history, split, name)
            if any(v == v for v in values):
                fig.add_scatter(x=epochs, y=values, name=f"{split} {name}", row=1, col=col,
                                mode="lines+markers", line={"dash": dash})
    fig.add_scatter(x=epochs, y=[record.get("lr") for record in history], name="lr", row=1,
                    col=3, mode="lines+markers")
    if any("lr_backbone" in record for record in history):  # train.backbone_lr_factor < 1
        fig.add_scatter(x=epochs, y=[record.get("lr_backbone") for record in history],
                        name="lr (backbone)", row=1, col=3, mode="lines+markers",
                        line={"dash": "dot"})
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(type="log", row=1, col=3)
    part.add(figure(fig))
    if len(history) == 1:
        part.lack("only one epoch recorded: no trend to see")
    return part

"""Regression and forecasting: predicted against true values, and the residuals."""

from __future__ import annotations

import numpy as np

from honed.report.evidence import Evidence
from honed.report.figures.base import Section, figure

__all__ = ["section", "test_predictions"]


def test_predictions(evidence: Evidence) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted test values in the target's own units (rebuilds the test split)."""
    from honed.data import prepare_data
    from honed.models import load_model
    from honed.spec.validate import validate_point
    from honed.train.evaluate import predict

    spec = validate_point(evidence.spec)
    data = prepare_data(spec.data, seed=spec.seed)
    outputs = predict(load_model(evidence.root / "model"), data.test.x).numpy()
    truth = np.asarray(data.test.y, dtype=np.float64).reshape(outputs.shape)
    if data.target_scale is not None:
        means, stds = (np.asarray(part, dtype=np.float64) for part in data.target_scale)
        truth, outputs = truth * stds + means, outputs * stds + means
    return truth.ravel(), outputs.astype(np.float64).ravel()


def section(evidence: Evidence) -> Section:
    """Scatter of predicted against true, and residuals against predicted, on the test split."""
    part = Section("evaluation", "Predictions")
    if not (evidence.root / "model" / "weights.safetensors").is_file():
        return part.lack("no model/ in the run dir: the run did not finish")
    truth, pred = test_predictions(evidence)
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("predicted against true (test split)",
                                                        "residuals (predicted − true)"))
    fig.add_scatter(x=truth, y=pred, mode="markers", name="test rows", row=1, col=1,
                    marker={"size": 5, "opacity": 0.6})
    low, high = float(min(truth.min(), pred.min())), float(max(truth.max(), pred.max()))
    fig.add_scatter(x=[low, high], y=[low, high], mode="lines", name="perfect",
                    line={"dash": "dash", "color": "#888"}, row=1, col=1)
    fig.add_scatter(x=pred, y=pred - truth, mode="markers", name="residual", row=1, col=2,
                    marker={"size": 5, "opacity": 0.6})
    fig.update_xaxes(title_text="true", row=1, col=1)
    fig.update_yaxes(title_text="predicted", row=1, col=1)
    fig.update_xaxes(title_text="predicted", row=1, col=2)
    part.add(figure(fig, height=420))
    return part

"""The in-memory form every data source is turned into before training."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Split", "PreparedData", "Task", "InputKind", "TASKS", "INPUT_KINDS"]

Task = Literal["classification", "regression", "forecasting"]
InputKind = Literal["table", "image", "sequence", "text"]
TASKS: tuple[str, ...] = ("classification", "regression", "forecasting")
INPUT_KINDS: tuple[str, ...] = ("table", "image", "sequence", "text")


@dataclass
class Split:
    """One split, preprocessed and ready for a model.

    ``x`` is float32 of shape ``(N, *input_shape)``: ``(N, F)`` for tables, ``(N, C, H, W)`` for
    images, ``(N, T, C)`` for sequences; for text, int64 token ids ``(N, max_length)`` padded
    with 0 (models take them as ids whatever their dtype). ``y`` is int64 class indices of shape ``(N,)`` for
    classification, float32 ``(N, num_outputs)`` for regression and forecasting (scaled when
    ``PreparedData.target_scale`` is set). ``index`` says where each sample came from: its
    0-based row (or file, or sample) in the source, or for forecasting the position in the series
    of its first target step; ``None`` when unknown.
    """

    x: np.ndarray
    y: np.ndarray
    index: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class PreparedData:
    """Train/val/test splits plus everything needed to rebuild the same inputs at serving time."""

    train: Split
    val: Split
    test: Split
    task: Task
    kind: InputKind
    input_shape: tuple[int, ...]
    num_outputs: int
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    # (mean, std) per target column: models train on scaled targets, metrics are reported in
    # the original units after undoing it.
    target_scale: tuple[list[float], list[float]] | None = None
    # JSON-ready description of the fitted preprocessing (written to model/preprocess.json).
    preprocess: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def model_knobs(self) -> dict[str, Any]:
        """Knobs the data fixes for the model: ``vocab_size`` for token ids (and
        ``tabular_features`` with table columns beside the text), else none."""
        if self.kind == "text":
            tabular = self.preprocess.get("tabular")
            return {"vocab_size": int(self.preprocess["text"]["vocab_size"]),
                    **({"tabular_features": len(tabular["feature_names"])} if tabular else {})}
        return {}

    @property
    def num_classes(self) -> int | None:
        return self.num_outputs if self.task == "classification" else None

"""The test texts a text classifier gets most wrong, kept for the report's text section.

Written as ``DIR/text_examples.json`` when the test split is scored (``honed train``, and the
test stage of ``honed run``): the wrong predictions with the highest loss, each with the start
of its text (the data.text columns joined, as the tokenizer read them), its true and
predicted class and the probabilities the model gave them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from honed.data.dataset import PreparedData
from honed.io import atomic_write_json

__all__ = ["CONFUSED_FILE", "most_confused", "write_confused"]

CONFUSED_FILE = "text_examples.json"
#: examples kept, and characters of each text
TOP, SNIPPET = 10, 300


def most_confused(probabilities: np.ndarray, y: np.ndarray, texts: list[str],
                  class_names: list[str], *, top: int = TOP) -> list[dict[str, Any]]:
    """The ``top`` wrong predictions by loss (``-ln p(true class)``), highest first.

    Example:
        >>> p = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
        >>> [e["row"] for e in most_confused(p, np.array([1, 0, 1]), ["a", "b", "c"],
        ...                                  ["neg", "pos"])]
        [0, 1]
    """
    predicted = probabilities.argmax(axis=1)
    true_p = probabilities[np.arange(len(y)), y]
    wrong = np.flatnonzero(predicted != y)
    order = wrong[np.argsort(true_p[wrong], kind="stable")]  # lowest p(true): highest loss
    examples = []
    for row in order[:top]:
        text = texts[row]
        examples.append({
            "row": int(row), "text": text[:SNIPPET] + ("…" if len(text) > SNIPPET else ""),
            "true": class_names[y[row]], "predicted": class_names[predicted[row]],
            "probability": round(float(probabilities[row, predicted[row]]), 4),
            "true_probability": round(float(true_p[row]), 4),
            "loss": round(float(-np.log(max(true_p[row], 1e-12))), 4)})
    return examples


def write_confused(run_root: str | Path, data_spec, data: PreparedData, model: nn.Module) -> None:
    """Write ``run_root/text_examples.json`` for a text classification run (else nothing).

    The texts are read again from the source (the prepared data holds token ids only); when
    that fails, the file says why instead of listing examples.
    """
    if data.kind != "text" or data.task != "classification" or not data.class_names:
        return
    from honed.data import load_source
    from honed.data.text import joined_texts
    from honed.errors import HonedError
    from honed.train.evaluate import predict

    record: dict[str, Any] = {"split": "test", "rows": len(data.test)}
    try:
        raw = load_source(data_spec)
        rows = data.test.index if data.test.index is not None else np.arange(len(data.test))
        texts = joined_texts(data.preprocess, raw.x.iloc[rows])
    except (HonedError, OSError, KeyError, IndexError) as exc:
        record["unavailable"] = f"the test texts could not be read again: {exc}"
    else:
        outputs = predict(model, data.test.x)
        probabilities = torch.softmax(outputs.float(), dim=1).numpy() if len(outputs) else (
            np.zeros((0, len(data.class_names))))
        y = np.asarray(data.test.y, dtype=np.int64)
        record["wrong"] = int((probabilities.argmax(axis=1) != y).sum()) if len(y) else 0
        examples = most_confused(probabilities, y, texts, data.class_names)
        for example in examples:  # the row in the source (0-based), not in the test split
            example["row"] = int(rows[example["row"]])
        record["examples"] = examples
    atomic_write_json(Path(run_root) / CONFUSED_FILE, record)

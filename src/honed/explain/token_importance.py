"""Global importance of text models, per vocabulary token: what the metric loses without it.

Each candidate token (one that at least :data:`MIN_TEXTS` test texts hold; the
:data:`TOKENS` most widespread of them) is deleted from every test text that holds it (set to
padding and the text closed up, as if the word had not been written), and the run's metric is
measured again. Deleting is deterministic, so there are no repeats; the 95 % interval of an
accuracy drop is the t interval of the per-text change (1 right -> wrong, -1 wrong -> right, 0
otherwise; texts without the token change nothing), for other metrics there is none.

Per class: the drop of each class's recall (as for the other input kinds) and the push, the
mean change of each class's probability on the texts that hold the token when it is deleted
(positive: the token pushes towards that class); the summary lists each class's top tokens.
Only the texts that hold a token are run through the model again, all tokens of a call
batched together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from honed.train.evaluate import predict
from honed.train.metrics import metric_mode

from .importance import interval, scorer
from .token_ids import close_up

__all__ = ["token_importance", "TOKENS", "MIN_TEXTS"]

#: candidate tokens at most (the most widespread in the test texts)
TOKENS = 200
#: test texts a token must appear in to be scored
MIN_TEXTS = 2
#: tokens listed per class in ``per_class_tokens``
PER_CLASS = 10
#: rows per model call at most
_ROWS = 4096


def token_importance(model: nn.Module, x: np.ndarray, y: np.ndarray, *, vocabulary: Sequence[str],
                     task: str, metric: str, target_scale=None,
                     class_names: Sequence[str] | None = None, tokens: int = TOKENS,
                     outputs: torch.Tensor | None = None, offset: int | None = None
                     ) -> dict[str, Any]:
    """The drop of ``metric`` when each widespread token is deleted, most important first.

    ``offset``: text beside table columns (:mod:`honed.data.mixed`): the ids are the first
    ``offset`` columns of ``x``, the table features after them go to the model unchanged.

    Returns:
        As :func:`~honed.explain.importance.permutation_importance` (``repeats`` is 1, ``drops``
        holds the one drop), each entry with ``texts`` (test texts holding it) and, for
        classification, ``push`` (per class) and ``confidence_drop`` (the true class's
        probability drop, averaged over all test texts), and at the top level
        ``per_class_tokens``.
    """
    ids = np.asarray(x)[:, :offset].astype(np.int64)
    features = np.asarray(x, dtype=np.float32)[:, ids.shape[1]:]
    sign = 1.0 if metric_mode(metric) == "max" else -1.0
    score = scorer(task, metric, y, target_scale, len(class_names or ()))
    base_outputs = (predict(model, _beside(ids, features)) if outputs is None else
                    torch.as_tensor(outputs))
    base, base_recall = score(base_outputs)
    labels = np.asarray(y) if task == "classification" else None
    hits = None if labels is None else (base_outputs.argmax(1).numpy() == labels)
    candidates = _candidates(ids, tokens)
    results = []
    for chunk in _chunks(ids, candidates):
        batch = np.concatenate([_deleted(ids[rows], token) for token, rows in chunk])
        beside = features[np.concatenate([rows for _, rows in chunk])]
        outputs = predict(model, torch.as_tensor(_beside(close_up(batch), beside))).split(
            [len(rows) for _, rows in chunk])
        for (token, rows), changed in zip(chunk, outputs, strict=True):
            full = base_outputs.clone()
            full[torch.as_tensor(rows)] = changed
            value, recall = score(full)
            entry = {"name": vocabulary[token] if token < len(vocabulary) else str(token),
                     "kind": "token", "id": int(token), "texts": len(rows),
                     "mean": sign * (base - value), "std": 0.0, "low": None, "high": None,
                     "drops": [sign * (base - value)],
                     "output_change": float((changed - base_outputs[rows]).abs().mean()
                                            * len(rows) / len(ids))}
            if hits is not None:
                entry.update(_per_class(hits, rows, changed, base_outputs, labels,
                                        base_recall - recall, class_names, metric))
                # how much the true class's probability fell, over all test texts: a tie
                # breaker that ranks a neutral word (whose deletion only sharpens a
                # mean-pooled text) below one that carries the label
                truth = torch.as_tensor(labels[rows])
                fell = (base_outputs[rows].softmax(1) - changed.softmax(1)).gather(
                    1, truth[:, None]).sum()
                entry["confidence_drop"] = float(fell) / len(ids)
            results.append(entry)
    # ties (no metric change on a small test split) are broken by the true class's
    # probability (classification) or by how far the outputs moved
    results.sort(key=lambda item: (item["mean"], item.get("confidence_drop",
                                                          item["output_change"])), reverse=True)
    found = {"metric": metric, "baseline": float(base), "repeats": 1, "rows": len(ids),
             "how": "each token deleted from the test texts that hold it", "candidates":
             len(candidates), "interval": "rows" if metric == "accuracy" else None,
             "importances": results}
    if hits is not None:
        found["per_class_tokens"] = {
            name: [i["name"] for i in sorted(results, key=lambda i: -i["push"][name])
                   if i["push"][name] > 0][:PER_CLASS] for name in _names(class_names, results)}
    return found


def _candidates(ids: np.ndarray, tokens: int) -> np.ndarray:
    """Token ids that at least MIN_TEXTS rows hold, the ``tokens`` most widespread."""
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])
    pairs = np.unique(np.stack([ids.ravel(), rows]), axis=1)  # (token, row), each once
    counts = np.bincount(pairs[0][pairs[0] != 0])
    order = np.argsort(-counts, kind="stable")
    return order[counts[order] >= MIN_TEXTS][:tokens]


def _chunks(ids: np.ndarray, candidates: np.ndarray):
    """``[(token, rows holding it)]`` lists of at most _ROWS rows in all (one at least)."""
    chunk, size = [], 0
    for token in candidates:
        rows = np.flatnonzero((ids == token).any(axis=1))
        if chunk and size + len(rows) > _ROWS:
            yield chunk
            chunk, size = [], 0
        chunk.append((int(token), rows))
        size += len(rows)
    if chunk:
        yield chunk


def _beside(ids: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The model's input: the ids alone, or ``[ids | features]`` in float32 (mixed)."""
    if not features.shape[1]:
        return ids
    return np.concatenate([ids.astype(np.float32), features], axis=1)


def _deleted(rows: np.ndarray, token: int) -> np.ndarray:
    return np.where(rows == token, 0, rows).astype(np.float32)


def _names(class_names, results) -> list[str]:
    return list(class_names) if class_names else list(results[0]["push"]) if results else []


def _per_class(hits, rows, changed, base_outputs, labels, recall_drop, class_names, metric):
    """The accuracy interval, each class's recall drop and each class's push."""
    names = [str(n) for n in class_names] if class_names else [
        str(c) for c in range(base_outputs.shape[1])]
    extra = {"per_class": {n: float(v) for n, v in zip(names, recall_drop, strict=True)}}
    push = (base_outputs[rows].softmax(1) - changed.softmax(1)).mean(0).numpy()
    extra["push"] = {n: float(v) for n, v in zip(names, push, strict=True)}
    if metric == "accuracy":
        per_text = np.zeros(len(hits))
        per_text[rows] = hits[rows].astype(float) - (changed.argmax(1).numpy() == labels[rows])
        low_high = interval(per_text)
        extra["low"], extra["high"] = low_high
        extra["std"] = float(per_text.std(ddof=1))
    return extra

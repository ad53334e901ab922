"""How long the texts of each split are, in tokens, and how many the cut to ``max_length`` hit.

Recorded once, while the splits are tokenized (:func:`honed.data.prepare.prepare_data`), as
``preprocess["text"]["lengths"]``, so that the report draws them from the run dir without
reading the data or the tokenizer again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["length_stats", "BINS_TO_MAX"]

#: the histogram has this many bins up to ``max_length``, as many again up to twice it, and
#: one open bin for longer texts, whatever the split: every split shares the same edges
BINS_TO_MAX = 25


def length_stats(lengths: np.ndarray, max_length: int) -> dict[str, Any]:
    """Counts, quantiles and a histogram of token lengths (before the cut).

    Example:
        >>> s = length_stats(np.array([0, 3, 5, 40]), 8)
        >>> s["texts"], s["truncated"], s["empty"], s["max"]
        (4, 1, 1, 40)
    """
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    width = max(1, math.ceil(max_length / BINS_TO_MAX))
    edges = list(range(0, 2 * max_length + 1, width))
    if edges[-1] < 2 * max_length:
        edges.append(edges[-1] + width)
    inner = np.histogram(lengths[lengths < edges[-1]], bins=edges)[0]
    counts = [int(c) for c in inner] + [int((lengths >= edges[-1]).sum())]
    stats: dict[str, Any] = {"texts": int(lengths.size),
                             "truncated": int((lengths > max_length).sum()),
                             "empty": int((lengths == 0).sum()),
                             "histogram": {"edges": edges, "counts": counts}}
    if lengths.size:
        stats.update(mean=round(float(lengths.mean()), 3), median=float(np.median(lengths)),
                     p95=float(np.percentile(lengths, 95)), max=int(lengths.max()))
    return stats

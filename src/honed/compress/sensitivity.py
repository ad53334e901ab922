"""Accuracy-aware fallback: keep the nodes that cost the most accuracy in float.

When the int8 model drops more than the budget allows, each weighted node (Conv, Gemm, MatMul,
...) is measured alone: the model is re-quantized with only that node kept in float, and its
sensitivity is the score recovered. Nodes are then kept in float in order of sensitivity, the
most responsible first, re-quantizing and re-scoring after each, until the model is within
budget or every candidate is in float. That costs at most ``2 × candidates`` evaluations, all on
the caller's held-out split; static calibration ranges are computed once and reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["WEIGHTED_OPS", "candidate_nodes", "Fallback", "fallback_search", "drop_of"]

#: Op types whose weights int8 quantizes; the nodes the fallback may keep in float.
WEIGHTED_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul", "Gather", "LSTM", "GRU",
                          "Attention", "EmbedLayerNormalization"})
_TOLERANCE = 1e-9  # a drop equal to the budget is within it, whatever float rounding says


def drop_of(baseline: float, score: float, higher_is_better: bool) -> float:
    """How much worse ``score`` is than ``baseline`` (negative when it is better)."""
    return baseline - score if higher_is_better else score - baseline


def candidate_nodes(model) -> list[str]:
    """Names of the nodes that hold weights, in graph order, of an ONNX file or ModelProto."""
    if isinstance(model, (str, Path)):
        import onnx

        model = onnx.load(str(model))
    initializers = {init.name for init in model.graph.initializer}
    return [node.name for node in model.graph.node
            if node.op_type in WEIGHTED_OPS and any(i in initializers for i in node.input)]


@dataclass
class Fallback:
    """Outcome of :func:`fallback_search`."""

    excluded: list[str]
    path: Path
    score: float
    drop: float
    within_budget: bool
    sensitivity: dict[str, float] = field(default_factory=dict)  # score recovered per node
    evaluations: int = 0


def fallback_search(quantize: Callable[[list[str]], Path], score: Callable[[Path], float],
                    candidates: list[str], *, baseline: float, max_drop: float,
                    higher_is_better: bool = True, first: tuple[Path, float] | None = None
                    ) -> Fallback:
    """Keep nodes in float, most sensitive first, until the drop is within ``max_drop``.

    Args:
        quantize: writes a quantized model with the given nodes kept in float; returns its path.
        score: the caller's metric of an ONNX file on a held-out split.
        candidates: node names that may be kept in float (graph order).
        baseline: the float model's score.
        max_drop: the largest drop allowed.
        higher_is_better: whether a larger score is better.
        first: the already scored fully quantized model, ``(path, score)``.

    Returns:
        The first within-budget model found, or, when none is, the one with every candidate in
        float (``within_budget`` False).
    """
    scored: dict[tuple[str, ...], tuple[Path, float]] = {}
    if first is not None:
        scored[()] = first

    def evaluate(excluded: list[str]) -> tuple[Path, float]:
        key = tuple(sorted(excluded))
        if key not in scored:
            path = quantize(list(excluded))
            scored[key] = (path, float(score(path)))
        return scored[key]

    def result(excluded: list[str], sensitivity: dict[str, float]) -> Fallback:
        path, value = evaluate(excluded)
        drop = drop_of(baseline, value, higher_is_better)
        return Fallback(list(excluded), path, value, drop, drop <= max_drop + _TOLERANCE,
                        sensitivity, len(scored) - (first is not None))

    _, base_score = evaluate([])
    sensitivity = {}
    for name in candidates:
        _, value = evaluate([name])
        sensitivity[name] = drop_of(value, base_score, higher_is_better)  # score recovered
    # Ties (common with accuracy on a small split) go to nodes nearer the output, which are
    # usually the most sensitive: the logits layer sees every rounding error before it.
    position = {name: i for i, name in enumerate(candidates)}
    order = sorted(candidates, key=lambda n: (-sensitivity[n], -position[n]))
    excluded: list[str] = []
    for name in order:
        excluded.append(name)
        outcome = result(excluded, sensitivity)
        if outcome.within_budget:
            return outcome
    return result(excluded, sensitivity)

"""What in a pruned ONNX graph can defeat the speed-up its fewer MACs promise.

Two things were seen to: widths that ONNX Runtime's blocked kernels handle poorly (the digits
CNN pruned to 24, 48, 96 channels ran no faster than unpruned; to 16, 48, 96, 2.4x faster),
and ops the unpruned graph did not have (an index or pad op left by a channel cut runs on
every call). :func:`speed_warnings` names both, for the variant's note.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["speed_warnings", "layer_widths"]

_WEIGHTED = ("Conv", "Gemm", "MatMul")


def layer_widths(path: str | Path) -> dict[str, int]:
    """Output width of every Conv, Gemm and MatMul whose weight is stored in the file."""
    import onnx

    model = onnx.load(str(path))
    weights = {init.name: list(init.dims) for init in model.graph.initializer}
    widths = {}
    for node in model.graph.node:
        if node.op_type not in _WEIGHTED or len(node.input) < 2:
            continue
        dims = weights.get(node.input[1])
        if not dims or len(dims) < 2:
            continue
        if node.op_type == "Conv":
            widths[node.name or node.output[0]] = dims[0]
        elif node.op_type == "Gemm":
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            widths[node.name or node.output[0]] = dims[0] if trans_b else dims[1]
        else:
            widths[node.name or node.output[0]] = dims[-1]
    return widths


def speed_warnings(baseline: str | Path, pruned: str | Path, round_to: int | None) -> str:
    """One line naming odd widths and new op types of ``pruned``; empty when there are none.

    Args:
        baseline: the unpruned model's ONNX file.
        pruned: the pruned model's ONNX file.
        round_to: the multiple widths should be; None or 1 checks no widths. The output
            layer, whose width is the number of outputs, is left out.
    """
    import onnx

    parts = []
    if round_to and round_to > 1:
        widths = list(layer_widths(pruned).values())[:-1]  # the last one is the head
        base = list(layer_widths(baseline).values())[:-1]
        # a layer kept whole (narrower than round_to) is not odd: it was never cut
        odd = sorted({w for w in widths if w % round_to and w not in base})
        if odd:
            parts.append(f"widths not multiples of {round_to}: {', '.join(map(str, odd))}")
    before = {node.op_type for node in onnx.load(str(baseline)).graph.node}
    new = sorted({node.op_type for node in onnx.load(str(pruned)).graph.node} - before)
    if new:
        parts.append(f"ops the unpruned graph has not: {', '.join(new)}")
    return ("may run slower than its MACs suggest: " + "; ".join(parts)) if parts else ""

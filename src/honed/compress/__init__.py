"""Compression: pruning, distillation, int8 quantization and the accuracy-budgeted search.

Every name loads on first use, so ``import honed.compress`` stays free of torch, torch-pruning
and ONNX Runtime. :func:`compress_run` is what ``honed compress RUN_DIR`` calls.
"""

from __future__ import annotations

from honed._lazy import lazy_attributes

_LAZY = {
    "Compressor": "honed.compress.base",
    "MagnitudePruner": "honed.compress.prune",
    "magnitude_prune": "honed.compress.prune",
    "sparsity": "honed.compress.prune",
    "StructuredPruner": "honed.compress.structured",
    "structured_prune": "honed.compress.structured",
    "iterative_prune": "honed.compress.schedule",
    "DistillationLoss": "honed.compress.distill",
    "Distill": "honed.compress.distill",
    "KeepZeros": "honed.compress.schedule",
    "distill": "honed.compress.distill",
    "quantize_onnx": "honed.compress.quantize",
    "Quantized": "honed.compress.quantize",
    "onnx_latency_ms": "honed.compress.measure",
    "torch_latency_ms": "honed.compress.measure",
    "size_bytes": "honed.compress.measure",
    "count_macs": "honed.compress.measure",
    "Variant": "honed.compress.variants",
    "load_variant": "honed.compress.variants",
    "list_variants": "honed.compress.variants",
    "compress_search": "honed.compress.search",
    "compress_run": "honed.compress.run",
    "CompressReport": "honed.compress.run",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)

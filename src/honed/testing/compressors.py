"""Conformance suite for compressors: the compressed model answers like the original does.

Every compressor must give back a model that takes the same inputs and returns outputs of the
same shape, finite, in eval mode as in train mode, and that survives a save/load round trip
(structurally pruned architectures included). Use it for a compressor of your own::

    from honed.testing import check_compressor
    check_compressor(MyPruner(0.5), model, input_shape=(1, 8, 8))
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn

__all__ = ["COMPRESSORS", "check_compressor", "conformance_cases"]


def _magnitude(scope: str) -> Callable:
    def make(input_shape: Sequence[int]):
        from honed.compress.prune import MagnitudePruner

        return MagnitudePruner(0.5, scope=scope)
    return make


def _structured(scope: str) -> Callable:
    def make(input_shape: Sequence[int]):
        from honed.compress.structured import StructuredPruner

        return StructuredPruner(0.5, input_shape, scope=scope)
    return make


#: every shipped compressor by name: ``factory(input_shape) -> Compressor``, and the families
#: it accepts (None: any model)
COMPRESSORS: dict[str, tuple[Callable, tuple[str, ...] | None]] = {
    "magnitude-global": (_magnitude("global"), None),
    "magnitude-layer": (_magnitude("layer"), None),
    "structured-layer": (_structured("layer"), ("mlp", "cnn", "resnet")),
    "structured-global": (_structured("global"), ("mlp", "cnn", "resnet")),
}

# one small input per family kind that the family accepts
_CASES = {
    "mlp": [(6,), (1, 8, 8)],
    "cnn": [(1, 8, 8), (16, 2)],
    "resnet": [(1, 8, 8), (16, 2)],
    "rnn": [(16, 2)],
    "lstm": [(16, 2)],
    "gru": [(16, 2)],
    "transformer": [(16, 2)],
}
_SMALL = {"mlp": {"hidden": 16}, "cnn": {"channels": [8, 16], "hidden": 16},
          "resnet": {"channels": [8, 16], "depth": 1}, "rnn": {"hidden": 8},
          "lstm": {"hidden": 8}, "gru": {"hidden": 8}, "transformer": {"hidden": 16, "heads": 2}}


def conformance_cases() -> Iterator[tuple[str, str, tuple[int, ...]]]:
    """``(compressor, family, input_shape)`` for every compressor and family it accepts."""
    for name, (_, families) in COMPRESSORS.items():
        for family, shapes in _CASES.items():
            if families is None or family in families:
                for shape in shapes:
                    yield name, family, shape


def check_compressor(compressor, model: nn.Module, input_shape: Sequence[int], *,
                     family: str | None = None, knobs: dict | None = None,
                     num_outputs: int | None = None) -> nn.Module:
    """Compress a copy of ``model`` and check what a deployable model must keep.

    When ``family`` is given, the compressed model is also saved and loaded back with
    :mod:`honed.models.saving` and must give the same outputs.

    Returns:
        The compressed model.
    """
    x = torch.randn(4, *input_shape, generator=torch.Generator().manual_seed(0))
    model.eval()
    with torch.no_grad():
        before = model(x)
    compressed = compressor.apply(copy.deepcopy(model))
    for mode in ("eval", "train"):
        getattr(compressed, mode)()
        with torch.no_grad():
            after = compressed(x)
        assert after.shape == before.shape, (
            f"{type(compressor).__name__} changed the output shape in {mode} mode: "
            f"{tuple(before.shape)} -> {tuple(after.shape)}")
        assert torch.isfinite(after).all(), f"{type(compressor).__name__}: non-finite outputs"
    compressed.eval()
    leftovers = [name for name, _ in compressed.named_buffers() if name.endswith("_mask")]
    assert not leftovers, f"pruning masks were not made permanent: {leftovers[:3]}"
    if family is not None:
        from honed.models import load_model, save_model

        with tempfile.TemporaryDirectory(prefix="honed-conformance-") as folder, torch.no_grad():
            save_model(compressed, folder, family=family, knobs=knobs or {},
                       input_shape=input_shape, num_outputs=num_outputs or before.shape[1],
                       task="classification", resized=getattr(compressor, "resizes", False))
            loaded = load_model(folder)
            assert torch.allclose(loaded(x), compressed(x), atol=1e-5), (
                f"{type(compressor).__name__}: the saved and loaded model answers differently")
    return compressed

"""A recurrent text model exported twice in one process (``honed run``: compress measures an
fp32 ONNX, then the export stage writes the bundle) gets the dynamo exporter both times, with a
dynamic sequence axis, and both files match eager PyTorch."""

from __future__ import annotations

import numpy as np
import torch

from honed.export.onnx import export_onnx
from honed.export.rnn_dispatch import clear_rnn_dispatch_cache
from honed.export.verify import verify_parity
from honed.models import create_model

MAX_LENGTH = 8
VOCAB = 16


def token_ids() -> np.ndarray:
    """Right-padded ids of mixed lengths (a length-1 row included)."""
    rng = np.random.default_rng(0)
    ids = np.zeros((5, MAX_LENGTH), dtype=np.int64)
    for row, length in enumerate([8, 1, 4, 6, 2]):
        ids[row, :length] = rng.integers(1, VOCAB, length)
    return ids


def test_a_second_export_in_one_process_uses_dynamo_too(tmp_path):
    # one LSTM keeps this file short; GRU and bidirectional models go through the same
    # operators' memo (the test below) and are timed twice over in bench/rnn_reexport.py
    torch.manual_seed(0)
    model = create_model("lstm", input_shape=(MAX_LENGTH,), num_outputs=2, vocab_size=VOCAB,
                         embedding_dim=4, hidden=4).eval()
    for name in ("compress.onnx", "bundle.onnx"):
        result = export_onnx(model, (MAX_LENGTH,), tmp_path / name, vocab_size=VOCAB)
        assert (result.exporter, result.notes) == ("dynamo", ()), name
        assert result.dynamic_axes == ("batch", "sequence")
        assert verify_parity(model, result.path, token_ids())["passed"]


def test_the_torch_dispatch_cache_it_clears_is_still_there():
    """honed clears a private torch attribute (see honed.export.rnn_dispatch): a torch that
    renames it fails here, by name, rather than silently falling back to TorchScript."""
    assert isinstance(torch.ops.aten.lstm.input._dispatch_cache, dict)
    assert isinstance(torch.ops.aten.gru.input._dispatch_cache, dict)
    assert clear_rnn_dispatch_cache() == 4  # lstm and gru, .input and .data overloads

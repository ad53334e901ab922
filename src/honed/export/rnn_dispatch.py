"""Keep every dynamo export of an LSTM or GRU dynamic in its sequence, not only the first.

The dynamo exporter keeps a recurrent model's sequence axis dynamic by capturing
``aten.lstm`` / ``aten.gru`` through a ``while_loop`` decomposition. PyTorch (2.13, and its
main branch as read on 2026-12-06) installs that decomposition around the capture by assigning
it into the operator's ``py_kernels`` (``torch.export._patches._register_rnn_while_loop_decomposition``)
but leaves the operator's ``_dispatch_cache`` as it was: the memo of which kernel each dispatch
key (``AutogradCPU`` here) resolves to. The first export fills that memo, and by the time it
returns the ONNX exporter's own retracing has left the default decomposition there, a Python
loop over the time steps. A second export in the same process finds the memo and runs the loop,
which reads the sequence length as a constant: ``torch.export`` reports the constraint
violation ("You marked sequence as dynamic but your code specialized it to be a constant"),
``torch.onnx.export`` quietly pins the axis from the suggested fix, and :func:`export_onnx`
sees the fixed axis and falls back to the TorchScript exporter. ``honed run`` exports twice
(compress measures an fp32 ONNX, then the bundle is written), so every recurrent text model's
bundle came from TorchScript, several seconds later.

No public API resets the memo (``torch.compiler.reset()`` and ``torch._dynamo.reset()`` do
not). Clearing it is what PyTorch itself does whenever it changes ``py_kernels``
(``OpOverload.py_impl``, ``torch.export``'s ``_override_composite_implicit_decomp``); it only
costs one re-resolve at the next call. The attribute is private, but its name is fixed by
PyTorch's C++ side (``python_variable.cpp`` reads it for every ``OpOverload``). Where a later
PyTorch renames it, nothing is cleared and exports behave as before (TorchScript after the
first); ``tests/export/test_rnn_reexport.py`` fails then, naming the attribute.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["clear_rnn_dispatch_cache", "fresh_rnn_dispatch"]

#: the operators whose while_loop decomposition torch.onnx installs around a capture
RNN_OPS = ("lstm", "gru")


def clear_rnn_dispatch_cache() -> int:
    """Forget which kernels ``aten.lstm`` and ``aten.gru`` (every overload) dispatch to.

    Returns:
        How many overloads' memos were cleared (0 where PyTorch has no ``_dispatch_cache``).
    """
    cleared = 0
    for name in RNN_OPS:
        packet = getattr(torch.ops.aten, name)
        for overload in packet.overloads():
            cache = getattr(getattr(packet, overload), "_dispatch_cache", None)
            if isinstance(cache, dict):
                cache.clear()
                cleared += 1
    return cleared


@contextlib.contextmanager
def fresh_rnn_dispatch() -> Iterator[None]:
    """Clear the recurrent operators' dispatch memo before a dynamo export and after it.

    Before: the capture resolves to the ``while_loop`` decomposition it installs. After: no
    memo of that decomposition outlives the export (in case it stopped before PyTorch's own
    retracing replaced it), so later tracing resolves the default kernels afresh.
    """
    clear_rnn_dispatch_cache()
    try:
        yield
    finally:
        clear_rnn_dispatch_cache()

"""Multiply-accumulates of a PyTorch model, counted with forward hooks on one example.

Each hook reads the shapes its module saw, so the count follows the real forward pass (skipped
branches, flattened inputs, sequence lengths) rather than a static walk over the modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import torch
from torch import nn

__all__ = ["count_module_macs"]

_GATES = {nn.RNN: 1, nn.GRU: 3, nn.LSTM: 4}


def _linear(module: nn.Linear, inputs, output) -> int:
    return output.numel() * module.in_features


def _conv(module: nn.modules.conv._ConvNd, inputs, output) -> int:
    if module.transposed:  # every input value meets every kernel tap of its group's outputs
        per_input = module.out_channels // module.groups * prod(module.kernel_size)
        return inputs[0].numel() * per_input
    per_output = module.in_channels // module.groups * prod(module.kernel_size)
    return output.numel() * per_output


def _recurrent(module: nn.RNNBase, inputs, output) -> int:
    x = inputs[0]
    if isinstance(x, nn.utils.rnn.PackedSequence):
        steps_times_batch = int(x.data.shape[0])
    elif x.dim() == 2:  # unbatched (steps, features)
        steps_times_batch = int(x.shape[0])
    else:
        steps_times_batch = int(x.shape[0] * x.shape[1])
    gates = next(g for cls, g in _GATES.items() if isinstance(module, cls))
    directions = 2 if module.bidirectional else 1
    hidden = module.hidden_size
    out = module.proj_size if getattr(module, "proj_size", 0) else hidden
    total = 0
    for layer in range(module.num_layers):
        width = module.input_size if layer == 0 else out * directions
        per_step = gates * hidden * (width + out)
        if out != hidden:  # LSTM projection of the hidden state
            per_step += hidden * out
        total += per_step * directions
    return total * steps_times_batch


def _attention(module: nn.MultiheadAttention, inputs, output) -> int:
    query, key = inputs[0], inputs[1]
    seq_axis = 1 if (module.batch_first and query.dim() == 3) else 0
    batch = query.numel() // (query.shape[seq_axis] * query.shape[-1])
    q_len, k_len = int(query.shape[seq_axis]), int(key.shape[seq_axis])
    dim, kdim, vdim = module.embed_dim, module.kdim, module.vdim
    projections = q_len * dim * dim + k_len * kdim * dim + k_len * vdim * dim
    products = 2 * q_len * k_len * dim  # Q·Kᵀ and softmax(·)·V over all heads
    return batch * (projections + products + q_len * dim * dim)  # + output projection


_COUNTERS = (
    (nn.Linear, _linear),
    (nn.modules.conv._ConvNd, _conv),
    (nn.RNNBase, _recurrent),
    (nn.MultiheadAttention, _attention),
)


def count_module_macs(model: nn.Module, input_shape: Sequence[int]) -> int | None:
    """MACs of ``model`` on one zero example shaped ``input_shape`` (see ``count_macs``)."""
    total = [0]
    handles = []

    def hook_for(counter):
        def hook(module, inputs, output):
            total[0] += int(counter(module, inputs, output))
        return hook

    for module in model.modules():
        for cls, counter in _COUNTERS:
            if isinstance(module, cls):
                handles.append(module.register_forward_hook(hook_for(counter)))
                break
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    was_training = model.training
    try:
        model.eval()
        # Gradients on: without them nn.TransformerEncoderLayer takes a fused fast path that
        # never calls its submodules, so their hooks would not fire.
        with torch.enable_grad():
            model(torch.zeros(1, *map(int, input_shape), device=device))
    except Exception:  # a model that cannot run this input has no count, not a crash
        return None
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total[0]
